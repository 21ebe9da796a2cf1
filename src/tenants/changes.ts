// The rules a change to a tenant must keep beyond its own schema (SPEC §2a): a number belongs to one
// tenant (the file's numbers are tenant `default`'s), a SIP domain to one tenant, a trunk source
// range to one tenant. Checked against the
// state the change was read from; src/tenants/store.ts writes it only if that state is still current.
import type { Config, DeviceConfig, NumberConfig, TrunkConfig } from '../config/schema.js';
import { formatPath } from '../config/load.js';
import { parseBusinessNumber } from '../domain/numbers.js';
import { overlappingRanges } from '../domain/sources.js';
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

/**
 * `doc`, validated as the file is and against every other tenant at this state. `revealOthers`:
 * the caller is the operator, whose refusals may name another tenant and its entries.
 */
export function validateTenant(doc: StoredTenant, snap: Snapshot, file: Readonly<Config>, { revealOthers = false }: { revealOthers?: boolean } = {}): Tenant {
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
    // A channel is the tenant's own (credentials) or the platform's (the file's): one of them must be configured.
    const via = n.permissionRequestsVia;
    if (via === 'telnyx' && !(t.credentials?.telnyx.api ?? file.telnyx.api)) throw new HttpError('invalid_config', `numbers[${i}].permissionRequestsVia: telnyx needs telnyx.api (the file's or credentials.telnyx.api)`);
    if (via === 'cloud_api' && !(t.credentials?.whatsapp.cloudApi ?? file.whatsapp.cloudApi)) throw new HttpError('invalid_config', `numbers[${i}].permissionRequestsVia: cloud_api needs whatsapp.cloudApi (the file's or credentials.whatsapp.cloudApi)`);
    const o = owner.get(n.number);
    // Which tenant has it is not said: a tenant's token must not learn another tenant's numbers.
    if (o !== undefined && o !== t.name) throw new HttpError('number_taken', `numbers[${i}].number: ${n.number} belongs to another tenant`);
  });
  checkTrunkSources(t, snap, file, revealOthers);
  return t;
}

/** A stored trunk's sources as the schema reads them: an item may hold several, comma-separated. */
function storedSources(trunk: unknown): string[] {
  const sources = (trunk as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(sources)) return [];
  return sources.flatMap((s: unknown) => (typeof s === 'string' ? s.split(',').map((c) => c.trim()).filter((c) => c !== '') : []));
}

/**
 * A trunk is told apart by its source address (src/domain/sources.ts: the first trunk whose range
 * holds the source is the caller), so a range two tenants share would let one tenant's PBX call as
 * the other's trunk, or silently lose its own calls to it: refused, `409 trunk_overlap`. Within one
 * tenant ranges may overlap (as in the file: its own trunks, its own numbers). The message names the
 * other tenant, its trunk and range to the operator only; a tenant's token learns no more than that
 * its own range is taken (the other range would hand out another business's network, e.g. to a
 * tenant that asks for 0.0.0.0/0).
 */
function checkTrunkSources(t: Tenant, snap: Snapshot, file: Readonly<Config>, revealOthers: boolean): void {
  if (t.trunks.length === 0) return;
  const others: { tenant: string; trunk: string; sources: string[] }[] = file.trunks.map((tr) => ({ tenant: DEFAULT_TENANT, trunk: tr.name, sources: [...tr.sources] }));
  for (const [name, other] of snap.tenants) {
    if (name === t.name || name === DEFAULT_TENANT || !Array.isArray(other.trunks)) continue;
    for (const tr of other.trunks) others.push({ tenant: name, trunk: String((tr as Entry).name), sources: storedSources(tr) });
  }
  t.trunks.forEach((trunk, i) => {
    for (const other of others) {
      const pair = overlappingRanges(trunk.sources, other.sources);
      if (!pair) continue;
      const [mine, theirs] = pair;
      const where = `trunks[${i}].sources[${trunk.sources.indexOf(mine)}]`;
      throw new HttpError(
        'trunk_overlap',
        revealOthers
          ? `${where}: ${mine} overlaps ${theirs} of tenant ${other.tenant}'s trunk ${other.trunk}${other.tenant === DEFAULT_TENANT ? ' (the configuration file)' : ''}`
          : `${where}: ${mine} overlaps a source range of another tenant's trunk; the platform's operator can say which`,
      );
    }
  });
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
