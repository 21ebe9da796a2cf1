// How an admitted business-initiated call that did not connect counts (SPEC §3 "Outcome of an
// admitted outbound call"). Only what Meta saw may count toward its unanswered rule: a final
// response the local SIP stack made up because Telnyx never answered (Timer B's 408, a refused
// connection or TLS handshake) is a failure of the carrier path, not a user who did not pick up;
// counting it would nudge and then revoke permissions Meta still holds during a carrier outage.

export interface UnconnectedCall {
  /** Final status of the Telnyx leg. */
  status: number;
  /** False when the final response came from the local SIP stack, not from Telnyx. */
  fromTelnyx: boolean;
  /** The edge cancelled the leg after `ringTimeoutSeconds`. */
  ringTimedOut: boolean;
  /** The PBX cancelled. */
  canceled: boolean;
}

export interface UnconnectedVerdict {
  outcome: 'unanswered' | 'failed';
  /** The status recorded, and answered to the PBX. */
  status: number;
  reason: 'ring_timeout' | 'telnyx_unreachable' | 'canceled' | 'telnyx_final';
}

export function classifyUnconnected(call: UnconnectedCall, unansweredCodes: readonly number[]): UnconnectedVerdict {
  if (call.ringTimedOut) return { outcome: 'unanswered', status: 480, reason: 'ring_timeout' };
  const reason = call.canceled ? 'canceled' : 'telnyx_final';
  if (!call.fromTelnyx) return { outcome: 'failed', status: call.canceled ? call.status : 503, reason: call.canceled ? reason : 'telnyx_unreachable' };
  return { outcome: unansweredCodes.includes(call.status) ? 'unanswered' : 'failed', status: call.status, reason };
}
