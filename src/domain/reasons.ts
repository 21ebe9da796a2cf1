// Every refusal the edge can give, and its SIP answer, in one table (SPEC §3).
// Policy and state code return `Refusal` values; only the SIP layer turns them into responses.

export const REFUSALS = {
  unknown_source: { code: 403, retryAfter: false },
  invalid_destination: { code: 484, retryAfter: false },
  number_not_enabled: { code: 403, retryAfter: false },
  calling_disabled: { code: 403, retryAfter: false },
  account_restricted: { code: 403, retryAfter: true },
  region_blocked: { code: 403, retryAfter: false },
  no_permission: { code: 480, retryAfter: false },
  unanswered_guard: { code: 480, retryAfter: false },
  user_busy: { code: 486, retryAfter: false },
  concurrency_limit: { code: 486, retryAfter: false },
  daily_limit: { code: 480, retryAfter: true },
  attempt_limit: { code: 480, retryAfter: true },
  // The business number's tenant is at its concurrent-call or calls-per-second limit (SPEC §2a).
  tenant_limit: { code: 503, retryAfter: true },
  state_unavailable: { code: 503, retryAfter: true },
  media_unavailable: { code: 503, retryAfter: true },
  draining: { code: 503, retryAfter: true },
  // Inbound and in-dialog refusals.
  unknown_number: { code: 404, retryAfter: false },
  codec_mismatch: { code: 488, retryAfter: false },
  transfer_refused: { code: 403, retryAfter: false },
  bad_request: { code: 400, retryAfter: false },
  auth_failed: { code: 403, retryAfter: false },
  rate_limited: { code: 503, retryAfter: true },
  interval_too_brief: { code: 423, retryAfter: false },
} as const satisfies Record<string, { code: number; retryAfter: boolean }>;

export type RefusalReason = keyof typeof REFUSALS;

export interface Refusal {
  reason: RefusalReason;
  code: number;
  /** Seconds, only for reasons marked † in SPEC §3. */
  retryAfter?: number;
}

/** Default Retry-After for † reasons whose wait is not computed from state. */
const DEFAULT_RETRY_AFTER_SECONDS = 30;

export function refusal(reason: RefusalReason, retryAfterSeconds?: number): Refusal {
  const row = REFUSALS[reason];
  if (!row.retryAfter) return { reason, code: row.code };
  const wait = Math.max(1, Math.ceil(retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
  return { reason, code: row.code, retryAfter: wait };
}

export function isRefusalReason(s: string): s is RefusalReason {
  return Object.hasOwn(REFUSALS, s);
}

/**
 * The headers every rejection carries: `Reason` (RFC 3326) and, for † reasons, `Retry-After`. Also
 * for an admitted call's own final answer that names its cause (ring_timeout, telnyx_unreachable).
 */
export function refusalHeaders(r: { reason: string; code: number; retryAfter?: number }): Record<string, string> {
  const headers: Record<string, string> = { Reason: `SIP;cause=${r.code};text="${r.reason}"` };
  if (r.retryAfter !== undefined) headers['Retry-After'] = String(r.retryAfter);
  return headers;
}
