// A tenant's own limits (SPEC §2a, §3 `tenant_limit`): concurrent calls and calls per second over
// all its numbers, outbound and inbound alike (a WhatsApp user's call: src/sip/inboundAdmission.ts).
// The edge asks the tenant (tenant_admit.lua) at the same moment as the number (admit_outbound.lua,
// admit_inbound.lua): both scripts are on the wire together, so a tenant with limits waits one
// round trip, not two (bench/RESULTS.md). The number's answer is read first, as SPEC §3 orders the
// checks: a number's refusal gives the tenant's place back, a tenant's refusal gives the number's
// admission back by its id (src/sip/outbound.ts). Two scripts, not one: a tenant
// spans numbers, whose keys live in other Cluster slots, so the tenant's keys have their own hash tag
// (`wa:t{acme}:…`). Between the two nothing is lost: a crash after the first leaves the number's
// lease to expire (leases are renewed only by the instance holding the call), and a tenant lease
// is the same kind of lease, renewed here and expiring on its own when this instance dies.
// A tenant with no limits costs nothing: no script runs.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { refusal, type Refusal } from '../domain/reasons.js';
import { replyFields } from '../state/scripts.js';
import type { StateStore } from '../state/store.js';
import type { RedisClient } from '../state/redis.js';
import { fleetOf } from './fleet.js';
import { LeaseKeeper } from '../sip/leases.js';

export function tenantKeys(tenant: string) {
  return { active: `wa:t{${tenant}}:active`, rate: `wa:t{${tenant}}:rate` };
}

/** A call's place in its tenant's limits, given back exactly once. */
export interface TenantHold {
  tenant: string;
  /** `refused`: the call never went out, so its second of callsPerSecond is given back too. */
  release(refused: boolean): void;
}

/** The tenant's answer as a value (a Redis error is an answer too), asked beside the number's admission. */
export type TenantAnswer = { answer: TenantHold | Refusal | undefined } | { err: unknown };

export const isTenantHold = (a: TenantHold | Refusal | undefined): a is TenantHold => a !== undefined && 'release' in a;

/**
 * What `tenant_admit.lua` would answer now for a call of `business`, reading only (GET
 * /v1/decisions); undefined when its tenant has no limits.
 */
export async function explainTenantLimit(redis: RedisClient, config: Readonly<Config>, business: string, now: number): Promise<{ result: 'pass' | 'fail'; retryAfter?: number } | undefined> {
  const fleet = fleetOf(config);
  const tenant = fleet.ofNumber(business);
  if (tenant === undefined) return undefined;
  const { maxConcurrentCalls, callsPerSecond } = fleet.limits(tenant);
  if (maxConcurrentCalls === null && callsPerSecond === null) return undefined;
  const k = tenantKeys(tenant);
  const [active, lastSecond] = await Promise.all([
    maxConcurrentCalls === null ? 0 : redis.zcount(k.active, `(${now}`, '+inf'),
    callsPerSecond === null ? 0 : redis.zcount(k.rate, `(${now - 1000}`, '+inf'),
  ]);
  const full = (maxConcurrentCalls !== null && active >= maxConcurrentCalls) || (callsPerSecond !== null && lastSecond >= callsPerSecond);
  return full ? { result: 'fail', retryAfter: 1 } : { result: 'pass' };
}

export class TenantGate {
  /** This instance's calls holding a tenant lease, renewed per tenant (tenant_renew.lua). */
  private readonly leases: LeaseKeeper;

  constructor(
    private readonly store: StateStore,
    private readonly config: () => Readonly<Config>,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    const renewer = {
      renewLeases: (tenant: string, callIds: string[]) =>
        this.store.script('tenantRenew', { keys: { active: tenantKeys(tenant).active }, args: { nowMs: this.store.clock(), leaseMs: this.leaseMs() }, rest: callIds }),
    };
    this.leases = new LeaseKeeper(renewer, () => this.config().whatsapp.leaseSeconds, logger.child({ leases: 'tenant' }), metrics);
  }

  private leaseMs(): number {
    return this.config().whatsapp.leaseSeconds * 1000;
  }

  start(): void {
    this.leases.start();
  }

  stop(): void {
    this.leases.stop();
  }

  /** Calls this instance holds a tenant lease for. */
  get size(): number {
    return this.leases.size;
  }

  renewAll(): Promise<void> {
    return this.leases.renewAll();
  }

  /**
   * admit() as a value that never rejects, sent now so it rides beside the number's own admission
   * (one round trip's wait, not two).
   */
  ask(business: string, callId: string): Promise<TenantAnswer> {
    return this.admit(business, callId).then(
      (answer) => ({ answer }),
      (err: unknown) => ({ err }),
    );
  }

  /** The number refused the call: its tenant's place (if it got one) is given back, second included. */
  static giveBack(asked: Promise<TenantAnswer> | undefined): void {
    void asked?.then((t) => 'answer' in t && isTenantHold(t.answer) && t.answer.release(true));
  }

  /**
   * The tenant's limits for this call of `business`: a hold, a `tenant_limit` refusal, or undefined
   * when the tenant has no limits. Throws when Redis does not answer (the caller fails closed).
   */
  async admit(business: string, callId: string): Promise<TenantHold | Refusal | undefined> {
    const fleet = fleetOf(this.config());
    const tenant = fleet.ofNumber(business);
    if (tenant === undefined) return undefined;
    const { maxConcurrentCalls, callsPerSecond } = fleet.limits(tenant);
    if (maxConcurrentCalls === null && callsPerSecond === null) return undefined;
    const k = tenantKeys(tenant);
    const [status, retryMs] = replyFields(
      'tenantAdmit',
      await this.store.script('tenantAdmit', {
        keys: k,
        args: { nowMs: this.store.clock(), callId, maxConcurrent: maxConcurrentCalls ?? 0, callsPerSecond: callsPerSecond ?? 0, leaseMs: this.leaseMs() },
      }),
      2,
    );
    if (status !== 'ok') return refusal('tenant_limit', Number(retryMs) / 1000);
    const counted = maxConcurrentCalls !== null;
    if (counted) this.leases.add(tenant, callId);
    let released = false;
    return {
      tenant,
      release: (refused) => {
        if (released) return;
        released = true;
        if (counted) this.leases.remove(tenant, callId);
        this.store
          .script('tenantRelease', { keys: k, args: { callId, refused: refused ? '1' : '0' } })
          .catch((err: unknown) => {
            // The lease expires by itself within leaseSeconds: the tenant is over-counted until then.
            this.metrics.redisErrorsTotal.inc();
            this.logger.warn({ err, tenant, admission: callId }, 'tenant lease not released: it expires by itself');
          });
      },
    };
  }
}
