// Call records and permission changes as capped Redis streams (SPEC §6).
import type { RedisClient } from './redis.js';
import { STREAMS, STREAM_MAXLEN } from './keys.js';
import type { EndReason } from '../domain/endReasons.js';

export type PermissionEventKind = 'granted' | 'revoked' | 'nudged' | 'expired';

export interface PermissionEvent {
  event: PermissionEventKind;
  number: string;
  user: string;
  kind?: 'temporary' | 'permanent' | 'none';
  expiresAt?: number;
  /** Who or what caused it: callback, api, webhook, unanswered, expired, meta_refused. */
  source: string;
  /** With meta_refused: Meta's words as Telnyx relayed them. */
  text?: string;
  at: number;
}

export interface CallRecord {
  callId: string;
  direction: 'outbound' | 'inbound';
  number: string;
  user: string;
  /** `ended` only for a call closed before any answer by the edge itself (shutdown). */
  outcome: 'connected' | 'unanswered' | 'failed' | 'ended';
  sipStatus: number;
  /** Written from the end-reason table; records of older edges may hold other strings (readers stay tolerant). */
  reason: EndReason;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** With media.anchor: `anchored` (then the figures below, as rtpengine reported them) or `unanchored`. */
  media?: 'anchored' | 'unanchored';
  /** The rtpengine (its ng host:port) that relayed the call. */
  rtpengine?: string;
  /** The side that sent no RTP when the call ended `no_media`. */
  silentSide?: string;
  rtpPacketsFromPbx?: number;
  rtpBytesFromPbx?: number;
  rtpPacketsFromTelnyx?: number;
  rtpBytesFromTelnyx?: number;
  packetsLostFromPbx?: number;
  packetsLostFromTelnyx?: number;
  jitterMsFromPbx?: number;
  jitterMsFromTelnyx?: number;
  /** Inbound, from Meta's INVITE headers when Telnyx passed them on (SPEC §7): x-wa-meta-wacid, -user-id, -parent-user-id, -username. */
  waCallId?: string;
  waUserId?: string;
  waParentUserId?: string;
  waUsername?: string;
  /** Inbound: the call button's (x-wa-meta-cta-payload) or deep link's (x-wa-meta-deeplink-payload) payload. */
  ctaPayload?: string;
  deeplinkPayload?: string;
  /** Inbound: the numbers[].inboundRoutes payload that chose the targets (absent: the plain `inbound` list). */
  inboundRoute?: string;
  /** Outbound: Meta's refusal relayed by Telnyx, as the refusal it taught (no_permission, daily_limit, attempt_limit), and its words. */
  upstreamRefusal?: string;
  upstreamText?: string;
}

/** What a call learns about itself on the way (Meta's headers, a relayed refusal), written into its record. */
export type CallAnnotations = Pick<
  CallRecord,
  'waCallId' | 'waUserId' | 'waParentUserId' | 'waUsername' | 'ctaPayload' | 'deeplinkPayload' | 'inboundRoute' | 'upstreamRefusal' | 'upstreamText'
>;

function fields(obj: object): string[] {
  return Object.entries(obj).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
}

export async function appendPermissionEvent(redis: RedisClient, e: PermissionEvent): Promise<void> {
  await redis.xadd(STREAMS.permissions, 'MAXLEN', '~', STREAM_MAXLEN, '*', ...fields(e));
}

export async function appendCallRecord(redis: RedisClient, r: CallRecord): Promise<void> {
  await redis.xadd(STREAMS.calls, 'MAXLEN', '~', STREAM_MAXLEN, '*', ...fields(r));
}

const NUMERIC = new Set([
  'sipStatus', 'startedAt', 'answeredAt', 'endedAt', 'expiresAt', 'at',
  'rtpPacketsFromPbx', 'rtpBytesFromPbx', 'rtpPacketsFromTelnyx', 'rtpBytesFromTelnyx',
  'packetsLostFromPbx', 'packetsLostFromTelnyx', 'jitterMsFromPbx', 'jitterMsFromTelnyx',
]);

function toObject(flat: string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i] as string;
    const v = flat[i + 1] as string;
    out[k] = NUMERIC.has(k) ? Number(v) : v;
  }
  return out;
}

/** How far back a filtered read looks: the newest this many records (the stream keeps up to STREAM_MAXLEN). */
export const CALL_FILTER_SCAN = 10_000;
const SCAN_PAGE = 1000;

export interface CallFilter {
  /** The user as records hold it (the admission key: E.164, else the BSUID). */
  user?: string;
  number?: string;
  /** Only records of these numbers (a tenant's: src/http/scope.ts). */
  numbers?: ReadonlySet<string>;
}

/** Newest first; with a filter, the matching records among the newest CALL_FILTER_SCAN (a stream has no index). */
export async function recentCalls(redis: RedisClient, limit: number, filter: CallFilter = {}): Promise<Record<string, string | number>[]> {
  if (filter.user === undefined && filter.number === undefined && filter.numbers === undefined) {
    const rows = await redis.xrevrange(STREAMS.calls, '+', '-', 'COUNT', limit);
    return rows.map(([id, flat]) => ({ id, ...toObject(flat) }));
  }
  const found: Record<string, string | number>[] = [];
  let end = '+';
  for (let scanned = 0; scanned < CALL_FILTER_SCAN && found.length < limit; ) {
    const rows = await redis.xrevrange(STREAMS.calls, end, '-', 'COUNT', SCAN_PAGE);
    for (const [id, flat] of rows) {
      const r = toObject(flat);
      const ofNumbers = filter.numbers === undefined || (typeof r.number === 'string' && filter.numbers.has(r.number));
      if ((filter.user === undefined || r.user === filter.user) && (filter.number === undefined || r.number === filter.number) && ofNumbers) found.push({ id, ...r });
      if (found.length === limit) break;
    }
    scanned += rows.length;
    const last = rows.at(-1);
    if (rows.length < SCAN_PAGE || !last) break;
    end = `(${last[0]}`; // exclusive: the page after the last one read
  }
  return found;
}

export async function recentPermissionEvents(redis: RedisClient, limit: number): Promise<Record<string, string | number>[]> {
  const rows = await redis.xrevrange(STREAMS.permissions, '+', '-', 'COUNT', limit);
  return rows.map(([id, flat]) => ({ id, ...toObject(flat) }));
}
