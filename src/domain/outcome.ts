// How an admitted business-initiated call that did not connect counts (SPEC §3 "Outcome of an
// admitted outbound call"). Only what Meta saw may count toward its unanswered rule: a final
// response the local SIP stack made up because Telnyx never answered (Timer B's 408, a refused
// connection or TLS handshake) is a failure of the carrier path, not a user who did not pick up;
// counting it would nudge and then revoke permissions Meta still holds during a carrier outage.
// Why it ended, in the end-reason table's terms, is decided here too (one failure mapping).
import { telnyxEndReason, type EndReason } from './endReasons.js';

export interface UnconnectedCall {
  /** Final status of the Telnyx leg. */
  status: number;
  /** False when the final response came from the local SIP stack, not from Telnyx. */
  fromTelnyx: boolean;
  /** The edge cancelled the leg after `ringTimeoutSeconds`. */
  ringTimedOut: boolean;
  /** The PBX cancelled. */
  canceled: boolean;
  /**
   * Telnyx's answer carried one of Meta's own refusals (upstreamRefusals.ts): no permission, the
   * pair's cap, the number's rate. Meta refused before ringing anyone, so it is never unanswered.
   */
  metaRefused?: boolean;
}

export interface UnconnectedVerdict {
  outcome: 'unanswered' | 'failed';
  /** The status recorded, and answered to the PBX. */
  status: number;
  reason: EndReason;
}

export function classifyUnconnected(call: UnconnectedCall, unansweredCodes: readonly number[]): UnconnectedVerdict {
  if (call.ringTimedOut) return { outcome: 'unanswered', status: 480, reason: 'ring_timeout' };
  if (!call.fromTelnyx) {
    return call.canceled ? { outcome: 'failed', status: call.status, reason: 'canceled' } : { outcome: 'failed', status: 503, reason: 'telnyx_unreachable' };
  }
  if (call.metaRefused && !call.canceled) return { outcome: 'failed', status: call.status, reason: 'refused_by_meta' };
  const reason = call.canceled ? 'canceled' : telnyxEndReason(call.status);
  return { outcome: unansweredCodes.includes(call.status) ? 'unanswered' : 'failed', status: call.status, reason };
}

/** The bridge failed without a SIP status (an exception in the edge or drachtio): a locally made 500. */
export const EDGE_FAILURE: UnconnectedVerdict = { outcome: 'failed', status: 500, reason: 'edge_failed' };
