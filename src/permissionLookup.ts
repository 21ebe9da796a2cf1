// Ask Meta before refusing for lack of permission (whatsapp.cloudApi.permissionLookup, SPEC §2):
// a step between the state's `no_permission` and the SIP answer. The policy and the admission
// script stay as they are: this step asks Meta's call_permissions within a tight deadline, keeps a
// permission Meta holds (source meta_lookup, through the grant script) and admits again, or gives
// Meta's own refusal (daily_limit with Retry-After). A Meta error never refuses a call: the local
// answer stands, the error is counted and logged once per kind.
import { LRUCache } from 'lru-cache';
import type { Config } from './config/schema.js';
import { numberEntry } from './config/derived.js';
import { credentialsFor, fleetOf } from './tenants/fleet.js';
import type { Clock } from './domain/clock.js';
import { capAboveMeta, metaDailyCallCap, metaVerdict, type MetaPermissionView, type MetaVerdict } from './domain/metaPermission.js';
import { fetchCallPermissions, type CloudApiConfig } from './http/cloudApi.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Admission, CallState, OutboundCall } from './state/calls.js';
import { numberKeys } from './state/keys.js';
import type { PermissionState } from './state/permissions.js';
import { DEFAULT_TENANT } from './tenants/schema.js';

export interface LookupSettings {
  api: CloudApiConfig;
  timeoutMs: number;
  negativeCacheSeconds: number;
}

/**
 * The lookup's settings for a business number, or undefined when it is off (no Cloud API, or its
 * permissionLookup false). The Cloud API is the one the number's permission requests use
 * (credentialsFor, SPEC §2a): its tenant's own `whatsapp.cloudApi` block, whole (base URL, token,
 * permissionLookup), else the file's. A tenant's block never borrows the file's token, and the
 * file's never serves a number whose tenant has its own.
 */
export function lookupSettings(config: Readonly<Config>, business: string): LookupSettings | undefined {
  const api = credentialsFor(config, business).cloudApi;
  const on = api?.permissionLookup;
  if (!api || !on) return undefined;
  return { api, ...on };
}

/** What Meta said about a pair, as the API and the console show it. */
export type MetaAnswer =
  | { asked: false; why: string }
  | { asked: true; at: number; cached: boolean; result: 'allowed' | 'refused'; view: MetaPermissionView; verdict: MetaVerdict }
  | { asked: true; at: number; cached: boolean; result: 'error'; error: string };

type Asked = Extract<MetaAnswer, { asked: true }>;

/** Meta's cap in force for a number, as recorded from the last lookup that named one. */
export interface MetaCap {
  connected24h: number;
  seenAt: number;
}

const CACHE_ENTRIES = 10_000;

/** Where the setting that governs a lookup lives: the file's, or a tenant's credentials. */
function settingName(owner: string): string {
  return owner === DEFAULT_TENANT ? 'whatsapp.cloudApi.permissionLookup' : `tenant ${owner}'s credentials.whatsapp.cloudApi.permissionLookup`;
}

export interface PermissionLookupDeps {
  config: () => Readonly<Config>;
  calls: CallState;
  permissions: PermissionState;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  fetch?: typeof fetch;
}

export class PermissionLookup {
  /** Per instance: the last answer for each pair, reused within negativeCacheSeconds (a "yes" only by the read-only view). */
  private readonly recent = new LRUCache<string, Asked>({ max: CACHE_ENTRIES });
  private readonly loggedErrors = new Set<string>();

  constructor(private readonly deps: PermissionLookupDeps) {}

  /**
   * Whether the step runs for this number at all, and on whose Cloud API: `owner` is the tenant
   * whose own block it is, or `default` for the file's (which is also every tenant's fallback).
   */
  private target(business: string): { settings: LookupSettings; phoneNumberId: string; owner: string } | { why: string } {
    const config = this.deps.config();
    const fleet = fleetOf(config);
    const tenant = fleet.ofNumber(business);
    const owner = tenant !== undefined && fleet.credentialsOf(tenant)?.whatsapp.cloudApi ? tenant : DEFAULT_TENANT;
    const settings = lookupSettings(config, business);
    if (!settings) return { why: `${settingName(owner)} is off` };
    const phoneNumberId = numberEntry(config.numbers, business)?.phoneNumberId;
    if (!phoneNumberId) return { why: `${business} has no phoneNumberId` };
    return { settings, phoneNumberId, owner };
  }

  /**
   * Meta's answer for a pair. `reuse` says which recent answers may stand in for a new question:
   * `negative` (a call: only a "no" or an error may, a "yes" is always asked again) or `any`
   * (the read-only view of /v1/decisions and the console).
   */
  async ask(business: string, user: string, reuse: 'negative' | 'any'): Promise<MetaAnswer> {
    const t = this.target(business);
    if (!('settings' in t)) return { asked: false, why: t.why };
    const now = this.deps.clock();
    const key = `${business}|${user}`;
    const hit = this.recent.get(key);
    if (hit && now - hit.at < t.settings.negativeCacheSeconds * 1000 && (reuse === 'any' || hit.result !== 'allowed')) return { ...hit, cached: true };

    const answer = await fetchCallPermissions(t.settings.api, t.phoneNumberId, user.replace(/^\+/, ''), t.settings.timeoutMs, this.deps.fetch);
    const at = this.deps.clock();
    let asked: Asked;
    if (!answer.ok) {
      this.deps.metrics.permissionLookupsTotal.inc({ result: 'error' });
      this.logError(t.owner, answer.key, answer.detail, business);
      asked = { asked: true, at, cached: false, result: 'error', error: answer.detail };
    } else {
      const verdict = metaVerdict(answer.view, at);
      this.deps.metrics.permissionLookupsTotal.inc({ result: verdict.verdict });
      asked = { asked: true, at, cached: false, result: verdict.verdict, view: answer.view, verdict };
      const cap = metaDailyCallCap(answer.view);
      if (cap !== undefined) void this.recordCap(business, cap, at);
    }
    if (t.settings.negativeCacheSeconds > 0) this.recent.set(key, asked);
    return asked;
  }

  /**
   * The SIP step after a local `no_permission`: Meta's allowance admits (the permission is kept
   * under source meta_lookup, then the admission script runs again, so every other check still
   * holds), Meta's refusal refuses; undefined when the local answer stands (off, error).
   * Rejects only on a Redis failure, as admission does.
   */
  async admitAfterNoPermission(call: OutboundCall, log: Record<string, unknown>): Promise<Admission | undefined> {
    const a = await this.ask(call.business, call.user, 'negative');
    if (!a.asked || a.result === 'error') return undefined;
    const { verdict } = a;
    if (verdict.verdict === 'refused') {
      this.deps.logger.info({ ...log, reason: verdict.refusal.reason, cached: a.cached }, `permission lookup: ${verdict.why}`);
      return { admitted: false, refusal: verdict.refusal };
    }
    await this.deps.permissions.grant(call.business, call.user, verdict.kind, 'meta_lookup', verdict.expiresAt);
    this.deps.logger.info({ ...log, kind: verdict.kind, expiresAt: verdict.expiresAt }, 'permission lookup: Meta holds a permission the edge had not seen; kept and admitted again');
    // A new recent answer would say "no" to the next call only if Meta changed its mind: drop ours.
    this.recent.delete(`${call.business}|${call.user}`);
    return this.deps.calls.admitOutbound(call);
  }

  /**
   * Each kind of error once per Cloud API (the file's, each tenant's own) at warn, with what to do,
   * then at debug: a broken lookup must not flood the log, and one tenant's bad token must not hide another's.
   */
  private logError(owner: string, kind: string, detail: string, business: string): void {
    const key = `${owner}|${kind}`;
    if (this.loggedErrors.has(key)) {
      this.deps.logger.debug({ number: business, cloudApiOf: owner, lookupError: kind }, `permission lookup failed: ${detail}`);
      return;
    }
    this.loggedErrors.add(key);
    this.deps.logger.warn(
      { number: business, cloudApiOf: owner, lookupError: kind },
      `permission lookup failed (${detail}); the local answer stands. Logged once per kind; wa_edge_permission_lookups_total{result="error"} counts them. ` +
        `If Meta says the endpoint is not available with SIP calling, set ${settingName(owner)} to false.`,
    );
  }

  /** Keeps Meta's cap in force per number (shared by all instances) and flags a configured cap above it. */
  private async recordCap(business: string, cap: number, at: number): Promise<void> {
    try {
      await this.deps.calls.redis.hset(numberKeys(business).number, 'metaCallCap24h', cap, 'metaCallCapAt', at);
    } catch (err) {
      this.deps.metrics.redisErrorsTotal.inc();
      this.deps.logger.warn({ err, number: business }, "Meta's call cap not recorded: Redis did not answer");
    }
    this.exportCap(business, { connected24h: cap, seenAt: at });
  }

  /** Sets the cap gauges of a number (also called when /v1/numbers reads what another instance recorded). */
  exportCap(business: string, cap: MetaCap | undefined): void {
    if (!cap) return;
    const above = capAboveMeta(this.deps.config().whatsapp.connectedCallsPer24h.perUser, cap.connected24h);
    const series = this.deps.metrics.ofNumber(this.deps.config(), business);
    series.metaCallCap.set({ number: business }, cap.connected24h);
    series.capAboveMeta.set({ number: business }, above ? 1 : 0);
  }

  /** The cap Meta last named for a number, from Redis. */
  async metaCap(business: string): Promise<MetaCap | undefined> {
    const [cap, at] = await this.deps.calls.redis.hmget(numberKeys(business).number, 'metaCallCap24h', 'metaCallCapAt');
    if (cap === null || cap === undefined) return undefined;
    const found = { connected24h: Number(cap), seenAt: Number(at) };
    this.exportCap(business, found);
    return found;
  }
}
