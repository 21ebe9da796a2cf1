// Whose secret signed a webhook delivery (SPEC §2a): the file's (the platform's own Meta app or
// Telnyx account: every number), or the tenant's own whose numbers the delivery names. A delivery
// signed with a tenant's secret is read against that tenant's numbers only, and one that also
// names another tenant's number (by phone number, phone_number_id or WABA) is refused whole (401,
// nothing applied): a tenant's Meta app or Telnyx account never reports on another's numbers, so
// such a delivery is forged or misrouted, and applying part of it would hide that.
import type { Config, NumberConfig } from '../config/schema.js';
import { fleetOf } from '../tenants/fleet.js';
import type { TenantCredentials } from '../tenants/schema.js';

export type Signer = { ok: true; tenant?: string; numbers: readonly NumberConfig[] } | { ok: false; why: string };

export interface SignerQuery<K> {
  config: Readonly<Config>;
  /** The configured business numbers the (not yet verified) delivery names, read against `numbers`. */
  named: (numbers: readonly NumberConfig[]) => Iterable<string>;
  fileKey: K | undefined;
  tenantKey: (credentials: TenantCredentials) => K | undefined;
  verifies: (key: K) => boolean;
}

export function signerOf<K>(q: SignerQuery<K>): Signer {
  const { config } = q;
  if (q.fileKey !== undefined && q.verifies(q.fileKey)) return { ok: true, numbers: config.numbers };
  const fleet = fleetOf(config);
  const tenants = new Set<string>();
  for (const n of q.named(config.numbers)) {
    const t = fleet.ofNumber(n);
    if (t !== undefined) tenants.add(t);
  }
  for (const t of tenants) {
    const creds = fleet.credentialsOf(t);
    const key = creds ? q.tenantKey(creds) : undefined;
    if (key === undefined || !q.verifies(key)) continue;
    if (tenants.size > 1) return { ok: false, why: `signed with tenant ${t}'s secret but names numbers of another tenant` };
    return { ok: true, tenant: t, numbers: config.numbers.filter((n) => fleet.ofNumber(n.number) === t) };
  }
  return { ok: false, why: tenants.size === 0 ? "does not verify with the platform's secret, and names no tenant's number" : "verifies neither with the platform's secret nor with that of the tenant whose numbers it names" };
}

/** Whether the file or any tenant has such a key configured. */
export function anyKey<K>(config: Readonly<Config>, fileKey: K | undefined, tenantKey: (credentials: TenantCredentials) => K | undefined): boolean {
  if (fileKey !== undefined) return true;
  for (const t of fleetOf(config).tenants.values()) if (t.credentials && tenantKey(t.credentials) !== undefined) return true;
  return false;
}
