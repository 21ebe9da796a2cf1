// Every way a call can end, and its words for the console, in one table: the call-end twin of the
// refusal table (reasons.ts). `CallSession.close()` takes only these; records carry them (SPEC §6).
// The final status of a Telnyx leg becomes one of them in one place: `telnyxEndReason` here, used
// by `classifyUnconnected` (outcome.ts).

export const END_REASONS = {
  // An answered call.
  bye_from_caller: { words: 'ended: the caller hung up' },
  bye_from_callee: { words: 'ended: the called party hung up' },
  no_media: { words: 'ended: no audio from one side (the media stopped)' },
  shutdown: { words: 'ended: the edge shut down' },
  // An admitted call that was never answered.
  ring_timeout: { words: 'unanswered: no answer within the ring timeout' },
  unanswered: { words: 'unanswered: the customer did not pick up' },
  declined: { words: 'declined: the customer was busy or rejected the call' },
  canceled: { words: 'cancelled: the caller hung up before an answer' },
  canceled_during_admission: { words: 'cancelled: the caller hung up during the checks' },
  refused_by_telnyx: { words: 'refused by Telnyx/Meta' },
  refused_by_meta: { words: 'refused by Meta (no permission, a cap or a rate limit): the edge refuses the next call itself' },
  telnyx_unreachable: { words: 'failed: Telnyx did not answer (network or TLS)' },
  edge_failed: { words: 'failed at the edge (an internal error; see its log)' },
  media_unavailable: { words: 'failed: no media relay (rtpengine) took the call' },
  no_target_answered: { words: 'unanswered: nobody at the PBX answered' },
} as const satisfies Record<string, { words: string }>;

export type EndReason = keyof typeof END_REASONS;

export function isEndReason(s: string): s is EndReason {
  return Object.hasOwn(END_REASONS, s);
}

/** Words for a recorded reason; a record written before this table (e.g. `telnyx_final`) keeps its code. */
export function endReasonWords(reason: string): string | undefined {
  if (isEndReason(reason)) return END_REASONS[reason].words;
  return LEGACY_WORDS[reason];
}

/** Reasons that older edges recorded, so their records still read (they are never written again). */
const LEGACY_WORDS: Record<string, string> = {
  telnyx_final: 'final answer from Telnyx/WhatsApp (recorded by an older edge)',
};

/** What Telnyx's final answer to an unanswered call means (SPEC §7: 480 unanswered, 486 declined, 487 cancelled). */
export function telnyxEndReason(status: number): EndReason {
  if (status === 480 || status === 408) return 'unanswered';
  if (status === 486 || status === 600 || status === 603) return 'declined';
  if (status === 487) return 'canceled';
  return 'refused_by_telnyx';
}
