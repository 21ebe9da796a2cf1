// One configuration for every tenant (SPEC §2a). The SIP side and the API keep reading one frozen
// Config: its `trunks`, `devices` and `numbers` are those of the file (tenant `default`) followed by
// every tenant's from Redis. A number belongs to one tenant, so everything keyed by number (policy,
// permissions, admission, records) needs nothing more. Two things are per tenant and read through
// `fleetOf(config)`: which tenant a number, trunk or device is of, and a softphone's name.
//
// Softphones: usernames are unique within a tenant, so two tenants may each have an `alice`. A
// softphone names its tenant by the host of its address-of-record (the To URI of a REGISTER, the
// From URI of an INVITE or OPTIONS): a tenant's `domain`, or anything else for `default`. It is
// challenged with that domain as the digest realm, so its credentials are bound to its tenant. In
// the merged configuration a tenant's device is `alice@acme` (`@` is not allowed in a username, so
// no file device can collide): its registrations, its `device:alice` targets and its metrics use that
// name, and the file's devices keep their plain names (a single-business deployment changes nothing).
import type { Config, DeviceConfig, NumberConfig, TrunkConfig } from '../config/schema.js';
import { perConfig } from '../config/derived.js';
import { deepFreeze } from '../config/load.js';
import { overlappingRanges } from '../domain/sources.js';
import { DEFAULT_TENANT, type Tenant, type TenantCredentials, type TenantLimits } from './schema.js';

export interface TenantView {
  name: string;
  domain?: string;
  limits: TenantLimits;
  /** Its own Meta / Telnyx credentials; none for `default` (the file's are everyone's fallback). */
  credentials?: TenantCredentials;
  /** `file`: tenant `default`, whose trunks, devices and numbers only the file changes. */
  source: 'file' | 'api';
  numbers: readonly NumberConfig[];
  trunks: readonly TrunkConfig[];
  /** As in the merged configuration: usernames qualified (`alice@acme`) outside `default`. */
  devices: readonly DeviceConfig[];
}

const NO_LIMITS: TenantLimits = Object.freeze({ maxConcurrentCalls: null, callsPerSecond: null, devices: null });

/** The name a tenant's softphone has in the merged configuration (registrations, targets, metrics). */
export function deviceName(tenant: string, username: string): string {
  return tenant === DEFAULT_TENANT ? username : `${username}@${tenant}`;
}

/** The username a softphone signs in with, from its merged name. */
export function plainUsername(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

export class Fleet {
  readonly tenants: ReadonlyMap<string, TenantView>;
  private readonly numberTenant = new Map<string, string>();
  private readonly trunkTenant = new Map<TrunkConfig, string>();
  private readonly byDomain = new Map<string, TenantView>();
  private readonly devices = new Map<string, DeviceConfig>();

  constructor(tenants: TenantView[]) {
    this.tenants = new Map(tenants.map((t) => [t.name, t]));
    for (const t of tenants) {
      for (const n of t.numbers) this.numberTenant.set(n.number, t.name);
      for (const tr of t.trunks) this.trunkTenant.set(tr, t.name);
      for (const d of t.devices) this.devices.set(d.username, d);
      if (t.domain) this.byDomain.set(t.domain, t);
    }
  }

  /** The tenant a business number belongs to; undefined for a number no tenant has. */
  ofNumber(e164: string): string | undefined {
    return this.numberTenant.get(e164);
  }

  ofTrunk(trunk: TrunkConfig): string {
    return this.trunkTenant.get(trunk) ?? DEFAULT_TENANT;
  }

  /** The tenant of a softphone by its merged name. */
  ofDevice(name: string): string {
    const at = name.indexOf('@');
    return at < 0 ? DEFAULT_TENANT : name.slice(at + 1);
  }

  /** The tenant a softphone's address-of-record host names: its domain's, else `default`. */
  forHost(host: string | undefined): TenantView {
    return (host !== undefined ? this.byDomain.get(host.toLowerCase()) : undefined) ?? (this.tenants.get(DEFAULT_TENANT) as TenantView);
  }

  /** A softphone of that tenant by the username it signs in with. */
  device(tenant: string, username: string): DeviceConfig | undefined {
    return this.devices.get(deviceName(tenant, username));
  }

  /** The tenant's own credentials, if any (undefined for `default` and for a number no tenant has). */
  credentialsOf(tenant: string | undefined): TenantCredentials | undefined {
    return tenant === undefined ? undefined : this.tenants.get(tenant)?.credentials;
  }

  limits(tenant: string): TenantLimits {
    return this.tenants.get(tenant)?.limits ?? NO_LIMITS;
  }
}

/** The tenants behind a merged configuration (a configuration never merged has `default` only). */
const merged = new WeakMap<object, TenantView[]>();

function fileTenant(file: Readonly<Config>, stored: Tenant | undefined): TenantView {
  return { name: DEFAULT_TENANT, limits: stored?.limits ?? NO_LIMITS, source: 'file', numbers: file.numbers, trunks: file.trunks, devices: file.devices };
}

/** The view of a tenant all of whose numbers are its own, made once per validated tenant (most merges change one tenant of many). */
const views = new WeakMap<Tenant, TenantView>();

/** A stored tenant's entries as the merged configuration holds them: device names qualified. */
function apiTenant(t: Tenant, numbers: NumberConfig[]): TenantView {
  const whole = numbers.length === t.numbers.length;
  const known = whole ? views.get(t) : undefined;
  if (known) return known;
  const view = buildView(t, numbers);
  if (whole) views.set(t, view);
  return view;
}

function buildView(t: Tenant, numbers: NumberConfig[]): TenantView {
  const devices = t.devices.map((d) => ({ ...d, username: deviceName(t.name, d.username) }));
  // `device:alice` of a tenant is its own alice, wherever a target is written.
  const own = (targets: NumberConfig['inbound']) => targets.map((target) => (target.kind === 'device' ? { kind: 'device' as const, name: deviceName(t.name, target.name) } : target));
  const qualified = numbers.map((n) => ({ ...n, inbound: own(n.inbound), inboundRoutes: n.inboundRoutes.map((r) => ({ ...r, targets: own(r.targets) })) }));
  return { name: t.name, ...(t.domain ? { domain: t.domain } : {}), ...(t.credentials ? { credentials: t.credentials } : {}), limits: t.limits, source: 'api', numbers: qualified, trunks: t.trunks, devices };
}

/**
 * A tenant's trunk ranges the file's trunks overlap. The API refuses such a change (src/tenants/changes.ts),
 * so only the file can cause it (edited into a tenant's range, or differing between instances); the
 * file's trunks are listed first, so they take the calls from there. Said, not repaired.
 */
function fileOverlaps(file: Readonly<Config>, t: Tenant): string[] {
  const known = overlapsSeen.get(t);
  if (known?.file === file) return known.problems;
  const problems = findFileOverlaps(file, t);
  overlapsSeen.set(t, { file, problems });
  return problems;
}

/** What fileOverlaps found for a validated tenant against one file: most merges change one tenant of many. */
const overlapsSeen = new WeakMap<Tenant, { file: Readonly<Config>; problems: string[] }>();

function findFileOverlaps(file: Readonly<Config>, t: Tenant): string[] {
  const out: string[] = [];
  if (file.trunks.length === 0) return out;
  const fileSources = file.trunks.flatMap((tr) => tr.sources);
  for (const trunk of t.trunks) {
    const pair = overlappingRanges(trunk.sources, fileSources);
    if (!pair) continue;
    const owner = file.trunks.find((tr) => tr.sources.includes(pair[1]));
    out.push(`tenant ${t.name}: trunk ${trunk.name}'s ${pair[0]} overlaps the file's trunk ${owner?.name ?? '?'} (${pair[1]}): calls from there are the file's`);
  }
  return out;
}

export interface MergeResult {
  config: Readonly<Config>;
  /** Entries left out, each with why (a number the file or an earlier tenant already has), and tenant trunk ranges the file's trunks take. */
  problems: string[];
}

/**
 * The file's configuration with every stored tenant added. A number the file (or an earlier tenant)
 * already has stays with it: the API refuses such a write, so this only happens when the file is
 * changed to take a tenant's number; the tenant's entry is then left out and reported.
 */
export function mergeTenants(file: Readonly<Config>, tenants: readonly Tenant[]): MergeResult {
  const problems: string[] = [];
  const owner = new Map(file.numbers.map((n) => [n.number, DEFAULT_TENANT]));
  const domains = new Set<string>();
  const views: TenantView[] = [fileTenant(file, tenants.find((t) => t.name === DEFAULT_TENANT))];
  for (const t of tenants) {
    if (t.name === DEFAULT_TENANT) continue;
    if (t.domain && domains.has(t.domain)) {
      problems.push(`tenant ${t.name}: domain ${t.domain} is another tenant's; left out`);
      continue;
    }
    if (t.domain) domains.add(t.domain);
    const numbers = t.numbers.filter((n) => {
      const other = owner.get(n.number);
      if (other === undefined) return owner.set(n.number, t.name);
      problems.push(`tenant ${t.name}: ${n.number} belongs to tenant ${other}; left out`);
      return false;
    });
    views.push(apiTenant(t, numbers));
    problems.push(...fileOverlaps(file, t));
  }
  const config = deepFreeze({
    ...file,
    trunks: views.flatMap((v) => v.trunks),
    devices: views.flatMap((v) => v.devices),
    numbers: views.flatMap((v) => v.numbers),
  }) as Readonly<Config>;
  merged.set(config, views);
  return { config, problems };
}

/** The tenants of a configuration, indexed once per configuration. */
export const fleetOf = perConfig((config: Readonly<Config>) => new Fleet(merged.get(config) ?? [fileTenant(config, undefined)]));

type ApiCredentials = { telnyxApi: Config['telnyx']['api']; cloudApi: Config['whatsapp']['cloudApi'] };

/** The Telnyx and Cloud API credentials a number's requests and calling switch use: its tenant's when set, else the file's. */
export function credentialsFor(config: Readonly<Config>, number: string): ApiCredentials {
  const own = fleetOf(config).credentialsOf(fleetOf(config).ofNumber(number));
  return { telnyxApi: own?.telnyx.api ?? config.telnyx.api, cloudApi: own?.whatsapp.cloudApi ?? config.whatsapp.cloudApi };
}
