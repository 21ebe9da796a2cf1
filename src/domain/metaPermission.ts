// What Meta's call_permissions answer means for a call the edge would refuse `no_permission`
// (SPEC §7): admit, refuse for another reason, or let the local answer stand. Pure: no I/O, the
// clock is passed in. Meta's answer (GET /{PHONE_NUMBER_ID}/call_permissions?user_wa_id=…):
//   { permission: { status: no_permission|temporary|permanent, expiration_time (unix s) },
//     actions: [{ action_name: send_call_permission_request|start_call, can_perform_action,
//                 limits: [{ time_period: "PT24H", max_allowed, current_usage, limit_expiration_time }] }] }
import { refusal, type Refusal } from './reasons.js';

export interface MetaLimit {
  /** ISO 8601 duration as Meta writes it (PT24H, P7D). */
  timePeriod: string;
  maxAllowed: number;
  currentUsage: number;
  /** Epoch ms when the used-up allowance frees again; Meta sends it once the limit is reached. */
  freesAt?: number;
}

export interface MetaPermissionView {
  status: 'no_permission' | 'temporary' | 'permanent';
  /** Epoch ms; temporary permissions. */
  expiresAt?: number;
  /** The start_call action, when Meta listed it. */
  startCall?: { canPerform: boolean; limits: MetaLimit[] };
}

export type MetaVerdict =
  /** Meta holds a permission and start_call can be performed: admit, and keep what Meta said. */
  | { verdict: 'allowed'; kind: 'temporary' | 'permanent'; expiresAt?: number }
  /** Meta says no: the refusal to give (no_permission, or daily_limit with Retry-After). */
  | { verdict: 'refused'; refusal: Refusal; why: string };

/** Meta's 24 h window, the one SPEC §7's connected-calls cap is stated in. */
export const DAY_PERIOD = 'PT24H';

const DEFAULT_LIMIT_WAIT_SECONDS = 3600;

function exhausted(l: MetaLimit): boolean {
  return l.currentUsage >= l.maxAllowed;
}

export function metaVerdict(view: MetaPermissionView, now: number): MetaVerdict {
  const live = view.status === 'permanent' || (view.status === 'temporary' && (view.expiresAt === undefined || view.expiresAt > now));
  if (!live) {
    return { verdict: 'refused', refusal: refusal('no_permission'), why: view.status === 'temporary' ? 'Meta: the temporary permission has expired' : 'Meta: no permission' };
  }
  const start = view.startCall;
  if (start?.canPerform) {
    const kind = view.status === 'permanent' ? 'permanent' : 'temporary';
    return { verdict: 'allowed', kind, ...(kind === 'temporary' && view.expiresAt !== undefined ? { expiresAt: view.expiresAt } : {}) };
  }
  if (!start) return { verdict: 'refused', refusal: refusal('no_permission'), why: 'Meta: permission held, but start_call not listed' };
  // start_call cannot be performed. A used-up limit is Meta's cap: daily_limit, free again at its
  // limit_expiration_time (the latest of several, since all must free).
  const used = start.limits.filter(exhausted);
  if (used.length > 0) {
    const freesAt = Math.max(...used.map((l) => l.freesAt ?? now + DEFAULT_LIMIT_WAIT_SECONDS * 1000));
    const caps = used.map((l) => `${l.currentUsage}/${l.maxAllowed} per ${l.timePeriod}`).join(', ');
    return { verdict: 'refused', refusal: refusal('daily_limit', (freesAt - now) / 1000), why: `Meta: start_call limit reached (${caps})` };
  }
  return { verdict: 'refused', refusal: refusal('no_permission'), why: 'Meta: start_call cannot be performed (no reason given)' };
}

/** Meta's start_call cap over 24 h, when the answer names one. */
export function metaDailyCallCap(view: MetaPermissionView): number | undefined {
  return view.startCall?.limits.find((l) => l.timePeriod === DAY_PERIOD)?.maxAllowed;
}

/**
 * A configured per-user cap above Meta's lets the edge admit calls Meta will refuse; `null`
 * (no cap) is above any. Undefined when Meta named no cap.
 */
export function capAboveMeta(configured: number | null, meta: number | undefined): boolean | undefined {
  if (meta === undefined) return undefined;
  return configured === null || configured > meta;
}
