// The tenants' configuration and tokens in Redis (SPEC §2a), under one {hash tag}:
//   wa:{tenants}:version  a counter, moved on by every change (the instances poll it)
//   wa:{tenants}:docs     tenant name → the tenant as the API took it (JSON, StoredTenant)
//   wa:{tenants}:tokens   token id → its record (JSON, TokenRecord: the secret's SHA-256, never the secret)
// A change is read, validated against everything else at that version, and written only if the
// version has not moved (tenant_write.lua); otherwise it is done again on the newer state.
import type { RedisClient } from '../state/redis.js';
import { replyList } from '../state/scripts.js';
import type { StateStore } from '../state/store.js';
import type { StoredTenant } from './schema.js';

export const TENANT_KEYS = { version: 'wa:{tenants}:version', tenants: 'wa:{tenants}:docs', tokens: 'wa:{tenants}:tokens' } as const;

export interface TokenRecord {
  id: string;
  tenant: string;
  /** What the operator called it ("pbx-provisioning"). */
  name: string;
  /** Hex SHA-256 of the secret. */
  sha256: string;
  createdAt: number;
  /** Epoch ms; null: does not expire. */
  expiresAt: number | null;
}

export interface Snapshot {
  version: string;
  /** As stored (the API's input form), by name. */
  tenants: Map<string, StoredTenant>;
  /** The stored JSON of each tenant: a reader validates again only what changed (src/tenants/directory.ts). */
  texts: Map<string, string>;
  tokens: Map<string, TokenRecord>;
}

/** One hash field to set (a value) or delete (null). */
export type Write = { hash: 'tenants' | 'tokens'; field: string; value: unknown | null };

/** Tries of one change before giving up (each lost only to another writer's change). */
const MAX_TRIES = 8;

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

export class TenantStore {
  constructor(private readonly store: StateStore) {}

  get redis(): RedisClient {
    return this.store.redis;
  }

  /** The version alone: what an instance polls. */
  async version(): Promise<string> {
    return (await this.redis.get(TENANT_KEYS.version)) ?? '0';
  }

  /** Every stored tenant and token at one version. Unreadable JSON is reported by `onBad`, left out. */
  async snapshot(onBad: (what: string, err: unknown) => void = () => {}): Promise<Snapshot> {
    const reply = (await this.store.script('tenantRead', { keys: TENANT_KEYS, args: {} })) as [string, string[], string[]];
    const [version, tenants, tokens] = reply;
    const parse = <T>(what: string, text: string): T | undefined => {
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        onBad(what, err);
        return undefined;
      }
    };
    const snap: Snapshot = { version: String(version), tenants: new Map(), texts: new Map(), tokens: new Map() };
    for (const [name, text] of pairs(tenants)) {
      const t = parse<StoredTenant>(`tenant ${name}`, text);
      if (t) {
        snap.tenants.set(name, t);
        snap.texts.set(name, text);
      }
    }
    for (const [id, text] of pairs(tokens)) {
      const t = parse<TokenRecord>(`token ${id}`, text);
      if (t) snap.tokens.set(id, t);
    }
    return snap;
  }

  /**
   * Applies `plan` to the latest state: it returns the writes (having validated them against that
   * state), or throws to change nothing. Done again when another writer got in first.
   */
  async change<R>(plan: (snap: Snapshot) => { writes: Write[]; result: R }): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const snap = await this.snapshot();
      const { writes, result } = plan(snap);
      if (writes.length === 0) return result;
      const flat = writes.flatMap((w) => [w.hash === 'tenants' ? 't' : 'k', w.field, w.value === null ? '' : JSON.stringify(w.value)]);
      const [status] = replyList('tenantWrite', await this.store.kept('tenantWrite', { keys: TENANT_KEYS, args: { expectedVersion: snap.version }, rest: flat }));
      if (status === 'ok') return result;
      if (attempt >= MAX_TRIES) throw new Error(`tenant configuration changed ${MAX_TRIES} times while this change was being made`);
    }
  }
}
