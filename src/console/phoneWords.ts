// How a phone call ended, in the console's words: the edge's reason (SPEC §3 Reason header) first,
// said to the agent on the phone; any other end reason in the words of the call-end table
// (src/domain/endReasons.ts, as Recent calls says it); then the SIP code, then what JsSIP saw.
import { endReasonWords } from '../domain/endReasons.js';

/** The edge's refusal and end reasons, as an agent would say them. */
export const EDGE_REASON_WORDS: Record<string, string> = {
  no_permission: 'The customer has not given permission to be called (or it expired or was revoked).',
  unanswered_guard: 'Calling this customer is stopped after too many unanswered calls.',
  user_busy: 'A call with this customer is already in progress on this number.',
  concurrency_limit: 'The business number is at its limit of simultaneous calls.',
  daily_limit: "This customer's 24-hour cap of connected calls is reached.",
  attempt_limit: 'The 24-hour cap of call attempts is reached.',
  tenant_limit: 'Your organisation is at its limit of simultaneous calls or calls per second.',
  calling_disabled: 'Calling is switched off for this business number.',
  account_restricted: 'Meta has restricted business-initiated calls from this number for a while.',
  region_blocked: "Meta does not allow business-initiated calls from this number's country.",
  number_not_enabled: 'This device may not call from that business number.',
  invalid_destination: 'That is not a phone number WhatsApp can call.',
  state_unavailable: "The edge cannot reach its shared state (Redis): calls are refused until it can.",
  media_unavailable: 'No media relay (rtpengine) is available: a browser call cannot be placed.',
  draining: 'The edge is shutting down; try again in a moment.',
  codec_mismatch: 'The browser and WhatsApp share no audio codec.',
  ring_timeout: 'The customer did not answer in time.',
  telnyx_unreachable: 'Telnyx did not answer: the call could not leave the edge.',
  no_media: 'The call was ended because no audio flowed.',
  auth_failed: "The edge refused this device's password.",
  rate_limited: 'The edge is refusing this address for a while after too many failures.',
};

const SIP_CODE_WORDS: Record<number, string> = {
  403: 'Refused.',
  404: 'Not found.',
  408: 'No answer in time.',
  480: 'The customer is unavailable.',
  486: 'The customer is busy.',
  487: 'The call was cancelled.',
  488: 'No common audio codec.',
  503: 'Service unavailable.',
  603: 'The customer declined the call.',
};

export interface EndFacts {
  /** JsSIP's cause (`Terminated` for a BYE, `Canceled`, `Rejected`, `Busy`, `Connection Error`…). */
  cause: string;
  code?: number;
  reason?: string;
  /** Who ended it: `local` (this tab), `remote` (the other side or the edge), `system`. */
  originator: string;
}

export function phoneEndWords(e: EndFacts): string {
  if (e.reason && EDGE_REASON_WORDS[e.reason]) return EDGE_REASON_WORDS[e.reason] as string;
  const recorded = e.reason ? endReasonWords(e.reason) : undefined;
  if (recorded) return `${recorded.charAt(0).toUpperCase()}${recorded.slice(1)}.`;
  // JsSIP's causes.BYE is the string 'Terminated'.
  if (e.cause === 'Terminated' || e.cause === 'BYE') return e.originator === 'local' ? 'You hung up.' : 'The customer hung up.';
  if (e.cause === 'Canceled') return e.originator === 'local' ? 'You cancelled the call.' : 'The caller hung up before it was answered.';
  if (e.cause === 'Rejected' && e.originator === 'local') return 'You declined the call.';
  if (e.cause === 'User Denied Media Access') return 'The browser gave no microphone: allow it for this page and try again.';
  if (e.cause === 'Connection Error') return "The connection to the edge's WebSocket was lost.";
  if (e.cause === 'RTP Timeout' || e.cause === 'WebRTC Error') return 'The audio connection could not be made (ICE/DTLS with the media relay failed).';
  if (e.code && SIP_CODE_WORDS[e.code]) return `${SIP_CODE_WORDS[e.code]}${e.reason ? ` (${e.reason})` : ''}`;
  if (e.code) return `The call ended with SIP ${e.code}${e.reason ? ` ${e.reason}` : ''}.`;
  return `The call ended (${e.cause}).`;
}
