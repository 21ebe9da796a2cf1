// The rules a change to a tenant must keep beyond its own schema (SPEC §2a): a number belongs to one
// tenant (the file's numbers are tenant `default`'s), a SIP domain to one tenant. Checked against the
// state the change was read from; src/tenants/store.ts writes it only if that state is still current.
import type { Config, DeviceConfig, NumberConfig, TrunkConfig } from '../config/schema.js';
import { formatPath } from '../config/load.js';
import { parseBusinessNumber } from '../domain/numbers.js';
import { inboundTargetText } from '../domain/inboundTargets.js';
import { HttpError } from '../http/errors.js';
import { DEFAULT_TENANT, tenantSchema, type StoredTenant, type Tenant } from './schema.js';
import type { Snapshot } from './store.js';

export type Collection = 'numbers' | 'trunks' | 'devices';
/** The field that names an entry of each collection in its URL. */
export const ENTRY_KEY = { numbers: 'number', trunks: 'name', devices: 'username' } as const satisfies Record<Collection, string>;

type Entry = Record<string, unknown>;

const canonical = (n: unknown) => (typeof n === 'string' ? (parseBusinessNumber(n)?.e164 ?? n) : undefined);

/** Whether a stored entry is the one a URL names (numbers compare as E.164, `+` optional). */
export function isEntry(collection: Collection, entry: Entry, key: string): boolean {
  const field = ENTRY_KEY[collection];
  return collection === 'numbers' ? canonical(entry[field]) === canonical(key) : entry[field] === key;
}

export function tenantExists(snap: Snapshot, name: string): boolean {
  return name === DEFAULT_TENANT || snap.tenants.has(name);
}

/** A tenant's stored document, or its empty form (tenant `default` before its limits were set). */
export function storedOrEmpty(snap: Snapshot, name: string): StoredTenant {
  const t = snap.tenants.get(name);
  if (t) return t;
  if (name === DEFAULT_TENANT) return { name };
  throw new HttpError('unknown_tenant');
}

/** `doc`, validated as the file is and against every other tenant at this state. */
export function validateTenant(doc: StoredTenant, snap: Snapshot, file: Readonly<Config>): Tenant {
  const parsed = tenantSchema.safeParse(doc);
  if (!parsed.success) throw new HttpError('invalid_config', parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));
  const t = parsed.data;
  if (t.name === DEFAULT_TENANT && (t.domain || t.trunks.length > 0 || t.devices.length > 0 || t.numbers.length > 0)) throw new HttpError('managed_by_file');
  const owner = new Map<string, string>(file.numbers.map((n) => [n.number, DEFAULT_TENANT]));
  for (const [name, other] of snap.tenants) {
    if (name === t.name) continue;
    for (const n of other.numbers ?? []) {
      const e164 = canonical((n as Entry).number);
      if (e164) owner.set(e164, name);
    }
    if (t.domain && typeof other.domain === 'string' && other.domain.trim().toLowerCase() === t.domain) {
      throw new HttpError('domain_taken', `domain: ${t.domain} is another tenant's`);
    }
  }
  t.numbers.forEach((n, i) => {
    // The channels are the platform's (the file's): a tenant's number may use only those configured.
    const via = n.permissionRequestsVia;
    if (via === 'telnyx' && !file.telnyx.api) throw new HttpError('invalid_config', `numbers[${i}].permissionRequestsVia: telnyx needs telnyx.api`);
    if (via === 'cloud_api' && !file.whatsapp.cloudApi) throw new HttpError('invalid_config', `numbers[${i}].permissionRequestsVia: cloud_api needs whatsapp.cloudApi`);
    const o = owner.get(n.number);
    // Which tenant has it is not said: a tenant's token must not learn another tenant's numbers.
    if (o !== undefined && o !== t.name) throw new HttpError('number_taken', `numbers[${i}].number: ${n.number} belongs to another tenant`);
  });
  return t;
}

/** An entry as the API shows it: secrets left out (they are written, never read back). */
export function redacted(collection: Collection, entry: Entry): Entry {
  if (collection === 'devices') {
    const { password: _p, ...rest } = entry;
    return rest;
  }
  if (collection === 'trunks' && entry.auth && typeof entry.auth === 'object') {
    const { password: _p, ...auth } = entry.auth as Entry;
    return { ...entry, auth };
  }
  return entry;
}

/** A file entry in the API's (input) form: inbound targets written back as text. */
export function fileEntry(entry: NumberConfig | TrunkConfig | DeviceConfig): Entry {
  if ('inbound' in entry) {
    return { ...entry, inbound: entry.inbound.map(inboundTargetText), inboundRoutes: entry.inboundRoutes.map((r) => ({ ...r, targets: r.targets.map(inboundTargetText) })) };
  }
  return { ...entry };
}
