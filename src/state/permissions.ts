// Permissions, permission requests and the calling toggle of a business number (SPEC §4, §7).
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import { numberKeys } from './keys.js';
import type { CallState } from './calls.js';

export type PermissionKind = 'none' | 'temporary' | 'permanent';

export interface Permission {
  kind: PermissionKind;
  expiresAt?: number;
  source?: string;
  /** Why it is `none` when it once was something: revoked by the user, unanswered, expired. */
  cause?: string;
}

export interface UserState {
  permission: Permission;
  consecutiveUnanswered: number;
  connected24h: number;
  permissionRequests: { last24h: number; last7d: number; remaining24h: number; remaining7d: number };
}

export type PermissionRequestReservation =
  | { status: 'reserved'; release: () => Promise<void> }
  | { status: 'limited'; retryAfterSeconds: number }
  | { status: 'permanent' };

const DAY_MS = 86_400_000;
/** Meta redelivers an unacknowledged webhook for up to 7 days: remember a message id that long. */
const WEBHOOK_MESSAGE_TTL_SECONDS = 7 * 86_400;
const webhookMessageKey = (messageId: string) => `wa:webhook:${messageId}`;

export class PermissionState {
  constructor(
    private readonly calls: CallState,
    private readonly config: () => Config,
    private readonly clock: Clock,
  ) {}

  private get redis() {
    return this.calls.redis;
  }

  /** The live permission: a temporary one past its expiry reads as `none` (cause expired). */
  async read(business: string, user: string): Promise<Permission> {
    const h = await this.redis.hgetall(numberKeys(business).perm(user));
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
    return h.cause ? { kind: 'none', cause: h.cause } : { kind: 'none' };
  }

  async grant(business: string, user: string, kind: 'temporary' | 'permanent', source: string, expiresAt?: number): Promise<Permission> {
    const now = this.clock();
    const until = kind === 'temporary' ? (expiresAt ?? now + this.config().whatsapp.temporaryPermissionHours * 3_600_000) : undefined;
    await this.calls.scripts('grantPermission', [numberKeys(business).perm(user)], [now, kind, until ?? '', source]);
    await this.calls.emit('granted', business, user, source, { kind, expiresAt: until });
    return kind === 'temporary' ? { kind, expiresAt: until, source } : { kind, source };
  }

  async revoke(business: string, user: string, cause: string): Promise<PermissionKind> {
    const prev = (await this.calls.scripts('revokePermission', [numberKeys(business).perm(user)], [this.clock(), cause])) as PermissionKind;
    await this.calls.emit('revoked', business, user, cause, { kind: 'none' });
    return prev;
  }

  /** Reserves a permission-request slot; `release` gives it back when the request was not sent. */
  async reservePermissionRequest(business: string, user: string): Promise<PermissionRequestReservation> {
    const limits = this.config().whatsapp.permissionRequests;
    const k = numberKeys(business);
    const id = `${this.clock()}-${randomUUID()}`;
    const [status, retryMs] = (await this.calls.scripts('reservePermissionRequest', [k.permissionRequests(user), k.perm(user)], [this.clock(), limits.per24h, limits.per7d, id])) as string[];
    if (status === 'permanent') return { status };
    if (status === 'limited') return { status, retryAfterSeconds: Math.max(1, Math.ceil(Number(retryMs) / 1000)) };
    return { status: 'reserved', release: async () => void (await this.redis.zrem(k.permissionRequests(user), id)) };
  }

  async userState(business: string, user: string): Promise<UserState> {
    const now = this.clock();
    const k = numberKeys(business);
    const limits = this.config().whatsapp.permissionRequests;
    // Read-only: one pipeline, no atomicity needed.
    const res = await this.redis
      .multi()
      .hgetall(k.perm(user))
      .hget(k.unanswered, user)
      .zcount(k.userConnected(user), `(${now - DAY_MS}`, '+inf')
      .zcount(k.permissionRequests(user), `(${now - DAY_MS}`, '+inf')
      .zcount(k.permissionRequests(user), `(${now - 7 * DAY_MS}`, '+inf')
      .exec();
    if (!res) throw new Error('read of user state was aborted');
    const [perm, unans, conn, r24, r7] = res.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const last24h = Number(r24);
    const last7d = Number(r7);
    return {
      permission: PermissionState.live(perm as Record<string, string>, now),
      consecutiveUnanswered: Number(unans ?? 0),
      connected24h: Number(conn),
      permissionRequests: {
        last24h,
        last7d,
        remaining24h: Math.max(0, limits.per24h - last24h),
        remaining7d: Math.max(0, limits.per7d - last7d),
      },
    };
  }

  async setCalling(business: string, enabled: boolean): Promise<void> {
    await this.redis.hset(numberKeys(business).number, 'calling', enabled ? '1' : '0');
  }

  /** The shared toggle, or the config default when no operator has set it. */
  async calling(business: string): Promise<boolean> {
    const v = await this.redis.hget(numberKeys(business).number, 'calling');
    if (v === null) return this.config().numbers.find((n) => n.number === business)?.calling ?? false;
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
