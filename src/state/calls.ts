// Admission, settlement and leases of calls: thin typed wrappers around one Lua script each.
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import { refusal, isRefusalReason, type Refusal } from '../domain/reasons.js';
import { numberKeys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';
import { appendPermissionEvent, type PermissionEvent, type PermissionEventKind } from './records.js';
import { numberEntry } from '../config/derived.js';

export type Outcome = 'connected' | 'unanswered' | 'failed' | 'ended';

export type Admission = { admitted: true } | { admitted: false; refusal: Refusal };

export interface Decision {
  result: Admission;
  /** Every state check in SPEC §3 order, with pass/fail. */
  checks: { check: string; result: 'pass' | 'fail' }[];
}

export interface OutboundCall {
  business: string; // E.164
  user: string; // E.164
  callId: string; // unique per admission
  /** Static verdicts from policy that the script orders among the state checks. */
  regionBlocked: boolean;
}

export interface SettleResult {
  status: 'applied' | 'duplicate' | 'unknown';
  consecutiveUnanswered: number;
  event?: 'nudged' | 'revoked';
}

const DAY_MS = 86_400_000;
const b = (v: boolean) => (v ? '1' : '0');
const cap = (v: number | null) => (v === null ? 0 : v);

export class CallState {
  private readonly run: ReturnType<typeof defineScripts>;

  constructor(
    readonly redis: RedisClient,
    private readonly config: () => Config,
    private readonly clock: Clock,
    /** Told of every permission change (metrics); the stream append happens here. */
    private readonly onPermissionEvent: (e: PermissionEvent) => void = () => {},
  ) {
    this.run = defineScripts(redis);
  }

  get scripts() {
    return this.run;
  }

  private leaseMs() {
    return this.config().whatsapp.leaseSeconds * 1000;
  }

  private callTtlMs() {
    // A call record outlives any call; settle after that finds `unknown` and does nothing.
    return 2 * DAY_MS;
  }

  private callingDefault(business: string): boolean {
    return numberEntry(this.config().numbers, business)?.calling ?? false;
  }

  async emit(event: PermissionEventKind, business: string, user: string, source: string, extra: Partial<PermissionEvent> = {}) {
    const e: PermissionEvent = { event, number: business, user, source, at: this.clock(), ...extra };
    this.onPermissionEvent(e);
    await appendPermissionEvent(this.redis, e);
  }

  private outboundArgs(c: OutboundCall, mode: 'admit' | 'explain') {
    const w = this.config().whatsapp;
    const k = numberKeys(c.business);
    const keys = [k.number, k.perm(c.user), k.unanswered, k.active, k.activeUser, k.inflight, k.connected, k.userConnected(c.user), k.attempts, k.call(c.callId)];
    const args = [
      this.clock(), c.user, c.callId, b(c.regionBlocked), b(this.callingDefault(c.business)), cap(w.unanswered.stopAt),
      w.maxConcurrentCalls, cap(w.connectedCallsPer24h.perNumber), cap(w.connectedCallsPer24h.perUser), cap(w.callAttemptsPer24h),
      DAY_MS, this.leaseMs(), this.callTtlMs(), mode, c.business,
    ];
    return { keys, args };
  }

  private static toAdmission(status: string, reason: string, retryMs: string): Admission {
    if (status === 'ok') return { admitted: true };
    if (!isRefusalReason(reason)) throw new Error(`admit script returned unknown reason ${reason}`);
    return { admitted: false, refusal: refusal(reason, Number(retryMs) / 1000) };
  }

  /** SPEC §3 state checks and, when all pass, the reservation: one round trip. */
  async admitOutbound(c: OutboundCall): Promise<Admission> {
    const { keys, args } = this.outboundArgs(c, 'admit');
    const [status, reason, retryMs, event] = (await this.run('admitOutbound', keys, args)) as string[];
    if (event === 'expired') await this.emit('expired', c.business, c.user, 'expired', { kind: 'none' });
    return CallState.toAdmission(status as string, reason as string, retryMs as string);
  }

  /** What admitOutbound would answer now, with every check, reserving nothing. */
  async explainOutbound(c: Omit<OutboundCall, 'callId'>): Promise<Decision> {
    const { keys, args } = this.outboundArgs({ ...c, callId: 'explain' }, 'explain');
    const [status, reason, retryMs, , ...flat] = (await this.run('admitOutbound', keys, args)) as string[];
    const checks: Decision['checks'] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) checks.push({ check: flat[i] as string, result: flat[i + 1] as 'pass' | 'fail' });
    return { result: CallState.toAdmission(status as string, reason as string, retryMs as string), checks };
  }

  /**
   * A WhatsApp user's call: lease, and the callback permission when enabled. `kind` says what
   * `user` is: a phone number (E.164), a BSUID (admitted under its phone number when one is
   * known), or a caller that cannot be keyed (lease and record only, no permission).
   * `user` in the answer is the key the call was admitted under.
   */
  async admitInbound(business: string, user: string, callId: string, kind: 'phone' | 'bsuid' | 'unkeyed' = 'phone'): Promise<Admission & { grantedUntil?: number; user: string }> {
    const w = this.config().whatsapp;
    const k = numberKeys(business);
    const [status, reason, retryMs, granted] = (await this.run(
      'admitInbound',
      [k.active, k.activeUser, k.call(callId), k.perm(user), k.userIds],
      [this.clock(), user, callId, w.maxConcurrentCalls, this.leaseMs(), this.callTtlMs(), b(w.callbackPermission), w.temporaryPermissionHours * 3_600_000, business, kind],
    )) as string[];
    if (status === 'linked') return this.admitInbound(business, reason as string, callId, 'phone');
    const grantedUntil = granted ? Number(granted) : undefined;
    if (grantedUntil !== undefined) {
      await this.emit('granted', business, user, 'callback', { kind: 'temporary', expiresAt: grantedUntil });
    }
    return { ...CallState.toAdmission(status as string, reason as string, retryMs as string), grantedUntil, user };
  }

  /** Applies a call's outcome exactly once. */
  async settle(business: string, user: string, callId: string, outcome: Outcome): Promise<SettleResult> {
    const w = this.config().whatsapp;
    const k = numberKeys(business);
    const [status, count, event] = (await this.run(
      'settle',
      [k.call(callId), k.active, k.activeUser, k.inflight, k.connected, k.userConnected(user), k.unanswered, k.perm(user), k.permissionRequests(user)],
      [this.clock(), callId, outcome, cap(w.unanswered.nudgeAt), cap(w.unanswered.revokeAt), this.leaseMs(), DAY_MS],
    )) as string[];
    const result: SettleResult = { status: status as SettleResult['status'], consecutiveUnanswered: Number(count) };
    if (event === 'nudged' || event === 'revoked') {
      result.event = event;
      await this.emit(event, business, user, 'unanswered', event === 'revoked' ? { kind: 'none' } : {});
    }
    return result;
  }

  /** Extends the leases of live calls on one number; returns how many were still alive. */
  async renewLeases(business: string, callIds: string[]): Promise<number> {
    if (callIds.length === 0) return 0;
    const k = numberKeys(business);
    return Number(await this.run('renewLeases', [k.active, k.inflight], [this.clock(), this.leaseMs(), ...callIds]));
  }

  /** Live leases on a number (both directions). */
  async activeCalls(business: string): Promise<number> {
    return this.redis.zcount(numberKeys(business).active, `(${this.clock()}`, '+inf');
  }

  /** Connected business-initiated calls in the rolling 24 h. */
  async connected24h(business: string, user?: string): Promise<number> {
    const k = numberKeys(business);
    return this.redis.zcount(user ? k.userConnected(user) : k.connected, `(${this.clock() - DAY_MS}`, '+inf');
  }
}
