// Permissions, permission requests and the calling toggle of a business number (SPEC §4, §7).
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { isBsuid } from '../domain/identity.js';
import { permissionRequestWaitMs } from '../domain/permissionRequests.js';
import { numberKeys } from './keys.js';
import type { StateStore } from './store.js';
import { replyFields } from './scripts.js';
import { numberEntry } from '../config/derived.js';
import { NumberRestrictions } from './restrictions.js';

export type PermissionKind = 'none' | 'temporary' | 'permanent';

export interface Permission {
  kind: PermissionKind;
  expiresAt?: number;
  source?: string;
  /** Why it is `none` when it once was something: revoked by the user, unanswered, expired, meta_refused. */
  cause?: string;
  /** With cause meta_refused: Meta's words as Telnyx relayed them. */
  text?: string;
}

/** How a user is known on one business number: by phone number, by BSUID, or both. */
export interface KnownUser {
  /** The key the state holds the user under: the phone number when known, else the BSUID. */
  user: string;
  phone?: string;
  bsuid?: string;
}

export interface UserState {
  identity: KnownUser;
  permission: Permission;
  consecutiveUnanswered: number;
  connected24h: number;
  permissionRequests: {
    last24h: number;
    last7d: number;
    remaining24h: number;
    remaining7d: number;
    /** Seconds until another request is allowed; 0 when one is allowed now. */
    waitSeconds: number;
  };
  /** Holds Meta's relayed refusals put in place (note_upstream_refusal.lua), while they last. */
  metaHolds: {
    /** The pair is refused daily_limit until then (ms): Meta said its connected-calls cap is reached. */
    pairCapUntil?: number;
    /** The number is refused attempt_limit until then (ms): Meta said its call rate is reached. */
    numberRateUntil?: number;
  };
}

export type PermissionRequestReservation =
  | { status: 'reserved'; release: () => Promise<void> }
  | { status: 'limited'; retryAfterSeconds: number }
  | { status: 'permanent' };

/** How a permission request went out (SPEC §4): the channel that sent it, and what it sent. */
export type RequestChannel = 'cloud_api' | 'telnyx' | 'elsewhere';
export type RequestKind = 'template' | 'interactive';
/** A sent request's delivery as Telnyx's webhooks report it. */
export type DeliveryStatus = 'sent' | 'delivered' | 'failed' | 'unconfirmed';

export interface LastPermissionRequest {
  channel: RequestChannel;
  kind?: RequestKind;
  messageId?: string;
  sentAt: number;
  delivery?: { status: DeliveryStatus; at: number; error?: string };
}

/** What Telnyx last said of a number's calling switch (telnyx.api), and the last failure to ask. */
export interface TelnyxCalling {
  enabled?: boolean;
  checkedAt?: number;
  error?: string;
  errorAt?: number;
}

const DAY_MS = 86_400_000;
/** A request's record lives as long as the allowance it counts against (SPEC §7: 7 days). */
const REQUEST_RECORD_TTL_MS = 7 * DAY_MS;
/** A delivery event for a message id no request has claimed yet waits this long for the send's answer. */
const EARLY_DELIVERY_TTL_MS = 3_600_000;
/** Meta redelivers an unacknowledged webhook for up to 7 days: remember a message id that long. */
const WEBHOOK_MESSAGE_TTL_SECONDS = 7 * 86_400;
const webhookMessageKey = (messageId: string) => `wa:webhook:${messageId}`;

export class PermissionState {
  /** Meta's restrictions and warnings per number (beside the calling toggle, below). */
  readonly restrictions: NumberRestrictions;

  constructor(private readonly store: StateStore) {
    this.restrictions = new NumberRestrictions(store);
  }

  private get redis() {
    return this.store.redis;
  }

  private config(): Config {
    return this.store.config();
  }

  private clock(): number {
    return this.store.clock();
  }

  /** The live permission: a temporary one past its expiry reads as `none` (cause expired). */
  async read(business: string, user: string): Promise<Permission> {
    const { user: key } = await this.identify(business, user);
    const h = await this.redis.hgetall(numberKeys(business).perm(key));
    return PermissionState.live(h, this.clock());
  }

  static live(h: Record<string, string>, now: number): Permission {
    const kind = h.kind as PermissionKind | undefined;
    if (kind === 'permanent') return { kind, source: h.source };
    if (kind === 'temporary') {
      const expiresAt = Number(h.expiresAt);
      if (expiresAt > now) return { kind, expiresAt, source: h.source };
      return { kind: 'none', cause: 'expired', source: h.source };
    }
    if (h.cause === 'meta_refused') return { kind: 'none', cause: h.cause, source: 'meta_refused', ...(h.text ? { text: h.text } : {}) };
    return h.cause ? { kind: 'none', cause: h.cause } : { kind: 'none' };
  }

  private static holds(pairCapUntil: number, numberRateUntil: number, now: number): UserState['metaHolds'] {
    return { ...(pairCapUntil > now ? { pairCapUntil } : {}), ...(numberRateUntil > now ? { numberRateUntil } : {}) };
  }

  /** A phone number (E.164) or a BSUID, as the state keys it: a BSUID linked to a phone number is that number. */
  async identify(business: string, user: string): Promise<KnownUser> {
    const k = numberKeys(business);
    if (isBsuid(user)) {
      const phone = await this.redis.hget(k.userIds, user);
      return phone ? { user: phone, phone, bsuid: user } : { user, bsuid: user };
    }
    const bsuid = await this.redis.hget(k.userBsuids, user);
    return bsuid ? { user, phone: user, bsuid } : { user, phone: user };
  }

  /**
   * Learns that a BSUID and a phone number are one user (a webhook named both). A permission held
   * under the BSUID alone moves to the phone number unless the number's own is newer.
   */
  async link(business: string, bsuid: string, phone: string): Promise<{ known: boolean; moved: boolean }> {
    const k = numberKeys(business);
    const reply = await this.store.script('linkUserIdentity', {
      keys: { userIds: k.userIds, userBsuids: k.userBsuids, bsuidPerm: k.perm(bsuid), phonePerm: k.perm(phone) },
      args: { bsuid, phone },
    });
    const [status, moved] = replyFields('linkUserIdentity', reply, 2);
    return { known: status === 'known', moved: moved === '1' };
  }

  /** `user` is a phone number (E.164) or a BSUID; a BSUID known to be a phone number is granted under the number. */
  async grant(business: string, user: string, kind: 'temporary' | 'permanent', source: string, expiresAt?: number): Promise<Permission> {
    const r = await this.write(business, user, kind, source, expiresAt, false);
    return r.permission;
  }

  /**
   * A seeded permission (POST /v1/numbers/{number}/permissions): the grant script, but `kept`
   * when the pair already holds at least as much (permanent; or a temporary one that lasts as
   * long, or any live one when the row names no expiry), so a seed applied twice changes nothing
   * and never shortens what a webhook or a callback gave.
   */
  async seed(business: string, user: string, kind: 'temporary' | 'permanent', source: string, expiresAt?: number): Promise<{ status: 'granted' | 'kept'; user: string; permission: Permission }> {
    return this.write(business, user, kind, source, expiresAt, true);
  }

  private async write(
    business: string,
    user: string,
    kind: 'temporary' | 'permanent',
    source: string,
    expiresAt: number | undefined,
    keepStronger: boolean,
  ): Promise<{ status: 'granted' | 'kept'; user: string; permission: Permission }> {
    const now = this.clock();
    const until = kind === 'temporary' ? (expiresAt ?? now + this.config().whatsapp.temporaryPermissionHours * 3_600_000) : undefined;
    const k = numberKeys(business);
    const reply = await this.store.kept('grantPermission', {
      keys: { perm: k.perm(user), userIds: k.userIds },
      args: {
        nowMs: now, kind, expiresAtMs: until ?? '', source, bsuid: isBsuid(user) ? user : '',
        keepStronger: keepStronger ? '1' : '', expiryDefaulted: expiresAt === undefined ? '1' : '',
      },
    });
    const [status, detail, heldExpiry, heldSource] = replyFields('grantPermission', reply, 4);
    if (status === 'linked') return this.write(business, detail, kind, source, expiresAt, keepStronger);
    if (status === 'kept') {
      const heldKind = detail === 'permanent' ? 'permanent' : 'temporary';
      const held: Permission = { kind: heldKind, ...(heldExpiry ? { expiresAt: Number(heldExpiry) } : {}), ...(heldSource ? { source: heldSource } : {}) };
      return { status, user, permission: held };
    }
    await this.store.emit('granted', business, user, source, { kind, expiresAt: until });
    return { status: 'granted', user, permission: kind === 'temporary' ? { kind, expiresAt: until, source } : { kind, source } };
  }

  /** As grant: a BSUID known to be a phone number is revoked under the number. */
  async revoke(business: string, user: string, cause: string): Promise<PermissionKind> {
    const k = numberKeys(business);
    const reply = await this.store.kept('revokePermission', {
      keys: { perm: k.perm(user), userIds: k.userIds },
      args: { nowMs: this.clock(), cause, bsuid: isBsuid(user) ? user : '' },
    });
    const [status, prev] = replyFields('revokePermission', reply, 2);
    if (status === 'linked') return this.revoke(business, prev, cause);
    await this.store.emit('revoked', business, user, cause, { kind: 'none' });
    return prev === 'temporary' || prev === 'permanent' ? prev : 'none';
  }

  /** Reserves a permission-request slot; `release` gives it back when the request was not sent. */
  async reservePermissionRequest(business: string, user: string): Promise<PermissionRequestReservation> {
    const limits = this.config().whatsapp.permissionRequests;
    const k = numberKeys(business);
    const id = `${this.clock()}-${randomUUID()}`;
    const reply = await this.store.script('reservePermissionRequest', {
      keys: { permissionRequests: k.permissionRequests(user), perm: k.perm(user) },
      args: { nowMs: this.clock(), per24h: limits.per24h, per7d: limits.per7d, requestId: id },
    });
    const [status, retryMs] = replyFields('reservePermissionRequest', reply, 2);
    if (status === 'permanent') return { status };
    if (status === 'limited') return { status, retryAfterSeconds: Math.max(1, Math.ceil(Number(retryMs) / 1000)) };
    return { status: 'reserved', release: async () => void (await this.redis.zrem(k.permissionRequests(user), id)) };
  }

  /** The state of a user named by phone number or BSUID; a user known under both answers the same under either. */
  async userState(business: string, named: string): Promise<UserState> {
    const identity = await this.identify(business, named);
    const user = identity.user;
    const now = this.clock();
    const k = numberKeys(business);
    const limits = this.config().whatsapp.permissionRequests;
    // Read-only: one pipeline, no atomicity needed.
    const res = await this.redis
      .multi()
      .hgetall(k.perm(user))
      .hget(k.unanswered, user)
      .zcount(k.userConnected(user), `(${now - DAY_MS}`, '+inf')
      .zrangebyscore(k.permissionRequests(user), `(${now - 7 * DAY_MS}`, '+inf', 'WITHSCORES')
      .hget(k.number, 'attemptsHeldUntil')
      .exec();
    if (!res) throw new Error('read of user state was aborted');
    const [perm, unans, conn, requests, numberHeld] = res.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    // [member, score, member, score, ...]: the times the requests were made.
    const times = (requests as string[]).filter((_, i) => i % 2 === 1).map(Number);
    const last24h = times.filter((t) => t > now - DAY_MS).length;
    const last7d = times.length;
    return {
      identity,
      permission: PermissionState.live(perm as Record<string, string>, now),
      consecutiveUnanswered: Number(unans ?? 0),
      connected24h: Number(conn),
      permissionRequests: {
        last24h,
        last7d,
        remaining24h: Math.max(0, limits.per24h - last24h),
        remaining7d: Math.max(0, limits.per7d - last7d),
        waitSeconds: Math.ceil(permissionRequestWaitMs(times, now, limits) / 1000),
      },
      metaHolds: PermissionState.holds(Number((perm as Record<string, string>).capHeldUntil ?? 0), Number(numberHeld ?? 0), now),
    };
  }

  /** A request the channel accepted (already counted by reservePermissionRequest). */
  async recordRequestSent(business: string, user: string, r: { channel: RequestChannel; kind?: RequestKind; messageId?: string }): Promise<void> {
    const k = numberKeys(business);
    const messageId = r.messageId ?? '';
    await this.store.script('recordPermissionRequestSent', {
      keys: { last: k.lastPermissionRequest(user), delivery: k.requestDelivery(messageId || '-') },
      args: { nowMs: this.clock(), user, channel: r.channel, kind: r.kind ?? '', messageId, ttlMs: REQUEST_RECORD_TTL_MS },
    });
  }

  /** A delivery event of a message sent from `business`; `user` is set when it was one of the edge's permission requests. */
  async recordRequestDelivery(business: string, messageId: string, status: DeliveryStatus, error = ''): Promise<{ recorded: boolean; user?: string }> {
    const reply = await this.store.script('recordRequestDelivery', {
      keys: { delivery: numberKeys(business).requestDelivery(messageId) },
      args: { nowMs: this.clock(), status, error, ttlMs: REQUEST_RECORD_TTL_MS, earlyTtlMs: EARLY_DELIVERY_TTL_MS },
    });
    const [result, user] = replyFields('recordRequestDelivery', reply, 2);
    return { recorded: result === 'recorded', ...(user ? { user } : {}) };
  }

  /** The last request sent to a user (any channel) and, through Telnyx, its delivery. */
  async lastPermissionRequest(business: string, user: string): Promise<LastPermissionRequest | undefined> {
    const k = numberKeys(business);
    const last = await this.redis.hgetall(k.lastPermissionRequest(user));
    if (!last.channel) return undefined;
    const d = last.messageId ? await this.redis.hgetall(k.requestDelivery(last.messageId)) : {};
    return {
      channel: last.channel as RequestChannel,
      ...(last.kind ? { kind: last.kind as RequestKind } : {}),
      ...(last.messageId ? { messageId: last.messageId } : {}),
      sentAt: Number(last.sentAt),
      ...(d.status ? { delivery: { status: d.status as DeliveryStatus, at: Number(d.statusAt), ...(d.error ? { error: d.error } : {}) } } : {}),
    };
  }

  /** Records Telnyx's answer about the calling switch (enabled undefined: the question failed, `error` says why). */
  async setTelnyxCalling(business: string, askedAt: number, enabled: boolean | undefined, error = ''): Promise<'recorded' | 'error' | 'stale'> {
    const reply = await this.store.script('setTelnyxCalling', {
      keys: { number: numberKeys(business).number },
      args: { nowMs: this.clock(), askedAtMs: askedAt, enabled: enabled === undefined ? '' : enabled ? '1' : '0', error },
    });
    return replyFields('setTelnyxCalling', reply, 1)[0] as 'recorded' | 'error' | 'stale';
  }

  async telnyxCalling(business: string): Promise<TelnyxCalling> {
    const [enabled, at, error, errorAt] = await this.redis.hmget(numberKeys(business).number, 'telnyxCalling', 'telnyxCallingAt', 'telnyxCallingError', 'telnyxCallingErrorAt');
    return {
      ...(enabled === '1' || enabled === '0' ? { enabled: enabled === '1', checkedAt: Number(at) } : {}),
      ...(error ? { error, errorAt: Number(errorAt) } : {}),
    };
  }

  /** Without telnyx.api nothing keeps Telnyx's switch current: forget it, so an old "off" cannot block calls. */
  async forgetTelnyxCalling(business: string): Promise<void> {
    await this.redis.hdel(numberKeys(business).number, 'telnyxCalling', 'telnyxCallingAt', 'telnyxCallingAskedAt', 'telnyxCallingError', 'telnyxCallingErrorAt');
  }

  async setCalling(business: string, enabled: boolean): Promise<void> {
    await this.redis.hset(numberKeys(business).number, 'calling', enabled ? '1' : '0');
  }

  /** The shared toggle, or the config default when no operator has set it. */
  async calling(business: string): Promise<boolean> {
    const v = await this.redis.hget(numberKeys(business).number, 'calling');
    if (v === null) return numberEntry(this.config().numbers, business)?.calling ?? false;
    return v === '1';
  }

  /** True only the first time a webhook message id is claimed: the change it carries is applied once. */
  async claimWebhookMessage(messageId: string): Promise<boolean> {
    return (await this.redis.set(webhookMessageKey(messageId), '1', 'EX', WEBHOOK_MESSAGE_TTL_SECONDS, 'NX')) === 'OK';
  }

  /** Unclaims a message whose change could not be applied, so Meta's redelivery applies it. */
  async releaseWebhookMessage(messageId: string): Promise<void> {
    await this.redis.del(webhookMessageKey(messageId));
  }
}
