// Admission, settlement and leases of calls: thin typed wrappers around one Lua script each.
import type { Config } from '../config/schema.js';
import { refusal, isRefusalReason, type Refusal } from '../domain/reasons.js';
import { numberKeys } from './keys.js';
import type { RedisClient } from './redis.js';
import { replyFields, replyList, replyString, type ScriptCall } from './scripts.js';
import type { StateStore } from './store.js';
import { numberEntry } from '../config/derived.js';
import type { UpstreamRefusal } from '../domain/upstreamRefusals.js';

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

/** What noting a relayed refusal did: revoked (from `previous`), held until a time, or nothing (a newer permission). */
export type UpstreamNote = { status: 'revoked' | 'newer'; previous: string } | { status: 'held'; until: number };

const DAY_MS = 86_400_000;
const b = (v: boolean) => (v ? '1' : '0');
const cap = (v: number | null) => (v === null ? 0 : v);

export class CallState {
  constructor(readonly store: StateStore) {}

  /** The shared connection (records, health, nonces read and write through it). */
  get redis(): RedisClient {
    return this.store.redis;
  }

  private config(): Config {
    return this.store.config();
  }

  private clock(): number {
    return this.store.clock();
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

  private outboundCall(c: OutboundCall, mode: 'admit' | 'explain'): ScriptCall<'admitOutbound'> {
    const w = this.config().whatsapp;
    const k = numberKeys(c.business);
    return {
      keys: {
        number: k.number, perm: k.perm(c.user), unanswered: k.unanswered, active: k.active, activeUser: k.activeUser, inflight: k.inflight,
        connected: k.connected, userConnected: k.userConnected(c.user), attempts: k.attempts, call: k.call(c.callId),
      },
      args: {
        nowMs: this.clock(), user: c.user, callId: c.callId, regionBlocked: b(c.regionBlocked), callingDefault: b(this.callingDefault(c.business)),
        stopAt: cap(w.unanswered.stopAt), maxConcurrent: w.maxConcurrentCalls, perNumberCap: cap(w.connectedCallsPer24h.perNumber),
        perUserCap: cap(w.connectedCallsPer24h.perUser), attemptsCap: cap(w.callAttemptsPer24h), windowMs: DAY_MS, leaseMs: this.leaseMs(),
        callTtlMs: this.callTtlMs(), mode, business: c.business,
      },
    };
  }

  private static toAdmission(status: string, reason: string, retryMs: string): Admission {
    if (status === 'ok') return { admitted: true };
    // The edge already released this id (it gave up on it): nothing is reserved under it.
    if (status === 'released') return { admitted: false, refusal: refusal('state_unavailable', 5) };
    if (!isRefusalReason(reason)) throw new Error(`admit script returned unknown reason ${reason}`);
    return { admitted: false, refusal: refusal(reason, Number(retryMs) / 1000) };
  }

  /** SPEC §3 state checks and, when all pass, the reservation: one round trip. */
  async admitOutbound(c: OutboundCall): Promise<Admission> {
    const [status, reason, retryMs, event] = replyFields('admitOutbound', await this.store.script('admitOutbound', this.outboundCall(c, 'admit')), 4);
    if (event === 'expired') await this.store.emit('expired', c.business, c.user, 'expired', { kind: 'none' });
    return CallState.toAdmission(status, reason, retryMs);
  }

  /**
   * Gives back an outbound admission by its id, whether or not Redis applied it (idempotent; see
   * release_admission.lua). `dropAttempt`: the call never reached Telnyx, so it is no attempt either.
   */
  async releaseAdmission(business: string, callId: string, dropAttempt: boolean): Promise<'released' | 'none'> {
    const k = numberKeys(business);
    const status = replyString(
      'releaseAdmission',
      await this.store.script('releaseAdmission', {
        keys: { call: k.call(callId), active: k.active, activeUser: k.activeUser, inflight: k.inflight, attempts: k.attempts },
        args: { nowMs: this.clock(), callId, callTtlMs: this.callTtlMs(), dropAttempt: b(dropAttempt) },
      }),
    );
    return status === 'released' ? 'released' : 'none';
  }

  /** What admitOutbound would answer now, with every check, reserving nothing. */
  async explainOutbound(c: Omit<OutboundCall, 'callId'>): Promise<Decision> {
    const [status = '', reason = '', retryMs = '', , ...flat] = replyList('admitOutbound', await this.store.script('admitOutbound', this.outboundCall({ ...c, callId: 'explain' }, 'explain')));
    const checks: Decision['checks'] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) checks.push({ check: flat[i] ?? '', result: flat[i + 1] === 'pass' ? 'pass' : 'fail' });
    return { result: CallState.toAdmission(status, reason, retryMs), checks };
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
    // With callbackPermission the admission may grant a permission: kept.
    const call: ScriptCall<'admitInbound'> = {
      keys: { active: k.active, activeUser: k.activeUser, call: k.call(callId), perm: k.perm(user), userIds: k.userIds },
      args: {
        nowMs: this.clock(), user, callId, maxConcurrent: w.maxConcurrentCalls, leaseMs: this.leaseMs(), callTtlMs: this.callTtlMs(),
        grantCallback: b(w.callbackPermission), temporaryMs: w.temporaryPermissionHours * 3_600_000, business, identity: kind,
      },
    };
    const reply = w.callbackPermission ? await this.store.kept('admitInbound', call) : await this.store.script('admitInbound', call);
    const [status, reason, retryMs, granted] = replyFields('admitInbound', reply, 4);
    if (status === 'linked') return this.admitInbound(business, reason, callId, 'phone');
    const grantedUntil = granted ? Number(granted) : undefined;
    if (grantedUntil !== undefined) {
      await this.store.emit('granted', business, user, 'callback', { kind: 'temporary', expiresAt: grantedUntil });
    }
    return { ...CallState.toAdmission(status, reason, retryMs), grantedUntil, user };
  }

  /** Applies a call's outcome exactly once. */
  async settle(business: string, user: string, callId: string, outcome: Outcome): Promise<SettleResult> {
    const w = this.config().whatsapp;
    const k = numberKeys(business);
    // `connected` adds to the 24 h counts and `unanswered` to the streak: kept. The others only
    // release a lease, which expires by itself if a crash loses the release.
    const call: ScriptCall<'settle'> = {
      keys: {
        call: k.call(callId), active: k.active, activeUser: k.activeUser, inflight: k.inflight, connected: k.connected,
        userConnected: k.userConnected(user), unanswered: k.unanswered, perm: k.perm(user), permissionRequests: k.permissionRequests(user),
      },
      args: { nowMs: this.clock(), callId, outcome, nudgeAt: cap(w.unanswered.nudgeAt), revokeAt: cap(w.unanswered.revokeAt), leaseMs: this.leaseMs(), windowMs: DAY_MS },
    };
    const reply = outcome === 'connected' || outcome === 'unanswered' ? await this.store.kept('settle', call) : await this.store.script('settle', call);
    const [status, count, event] = replyFields('settle', reply, 3);
    if (status !== 'applied' && status !== 'duplicate' && status !== 'unknown') throw new Error(`settle answered ${status}`);
    const result: SettleResult = { status, consecutiveUnanswered: Number(count) };
    if (event === 'nudged' || event === 'revoked') {
      result.event = event;
      await this.store.emit(event, business, user, 'unanswered', event === 'revoked' ? { kind: 'none' } : {});
    }
    return result;
  }

  /**
   * Learns Meta's refusal of a call to `user` (note_upstream_refusal.lua): the pair's permission
   * becomes none (appended to wa:permissions as revoked, source meta_refused), or the pair is held
   * at daily_limit, or the number at attempt_limit for `holdSeconds`. `sentAt`: when the call went
   * to Telnyx; a permission written after it is newer than the refusal and stays.
   */
  async noteUpstreamRefusal(business: string, user: string, refusal: UpstreamRefusal, sentAt: number, holdSeconds: number): Promise<UpstreamNote> {
    const k = numberKeys(business);
    const reply = await this.store.kept('noteUpstreamRefusal', {
      keys: { number: k.number, perm: k.perm(user), userConnected: k.userConnected(user) },
      args: { nowMs: this.clock(), lesson: refusal.lesson, text: refusal.text, holdMs: holdSeconds * 1000, windowMs: DAY_MS, sinceMs: sentAt },
    });
    const [status, detail] = replyFields('noteUpstreamRefusal', reply, 2);
    if (status === 'revoked') {
      await this.store.emit('revoked', business, user, 'meta_refused', { kind: 'none', text: refusal.text });
      return { status, previous: detail };
    }
    if (status === 'held') return { status, until: Number(detail) };
    return { status: 'newer', previous: detail };
  }

  /** Extends the leases of live calls on one number; returns how many were still alive. */
  async renewLeases(business: string, callIds: string[]): Promise<number> {
    if (callIds.length === 0) return 0;
    const k = numberKeys(business);
    const alive = await this.store.script('renewLeases', { keys: { active: k.active, inflight: k.inflight }, args: { nowMs: this.clock(), leaseMs: this.leaseMs() }, rest: callIds });
    return Number(alive);
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
