// Calls through rtpengine (SPEC §3 "Media"), both directions.
// Outbound: the PBX's (or the browser's) offer is anchored, Telnyx gets rtpengine's; with no
// rtpengine answering the call is refused 503 media_unavailable.
// Inbound: Telnyx's offer is anchored once, and every target (PBX or softphone contact) gets
// rtpengine's offer; the answer that wins goes back through rtpengine. With no rtpengine answering
// the call is routed unanchored and counted (never refused).
import type { CallSession } from './callSession.js';
import type { SipDeps } from './context.js';
import type { SipRequest } from './srf.js';

/** The SDP a target is offered, and the turning of its answer into the answer to Telnyx. */
export interface AnchoredSdp {
  offer: string;
  answer: (targetAnswer: string) => Promise<string>;
  /** The offer for a browser (the console's phone): ICE and DTLS-SRTP, asked of rtpengine once. */
  browserOffer: () => Promise<string>;
}

/** The SDP offered to Telnyx, and the turning of Telnyx's answer into the answer to the caller. */
export interface OutboundSdp {
  toTelnyx: string;
  answerToCaller: (telnyxAnswer: string) => string | Promise<string>;
}

/**
 * Outbound: `plain` is the offer and answer without rtpengine. With media.anchor the call goes
 * through rtpengine (a browser's leg as ICE and DTLS-SRTP); undefined when no rtpengine took it.
 */
export async function anchorOutbound(deps: SipDeps, session: CallSession, plain: OutboundSdp, browser: boolean): Promise<OutboundSdp | undefined> {
  if (!deps.media) return plain;
  try {
    const anchored = await deps.media.open(session.callId, 'pbx', plain.toTelnyx, session.log, browser ? 'pbx' : undefined);
    session.anchor(anchored.media);
    return { toTelnyx: anchored.sdp, answerToCaller: async (telnyxAnswer) => plain.answerToCaller(await anchored.media.answer(telnyxAnswer)) };
  } catch (err) {
    session.log.warn({ err }, 'no rtpengine took the call');
    return undefined;
  }
}

export async function anchorInbound(deps: SipDeps, req: SipRequest, session: CallSession): Promise<AnchoredSdp | undefined> {
  if (!deps.media || !req.body) return undefined;
  try {
    const { media, sdp } = await deps.media.open(session.callId, 'telnyx', req.body, session.log);
    session.anchor(media);
    const telnyxOffer = req.body;
    let browserOffer: Promise<string> | undefined;
    return { offer: sdp, answer: (targetAnswer) => media.answer(targetAnswer), browserOffer: () => (browserOffer ??= media.offerToBrowser(telnyxOffer)) };
  } catch (err) {
    session.unanchored();
    deps.metrics.mediaUnanchoredTotal.inc();
    session.log.warn({ err }, 'no rtpengine took the call: routed unanchored');
    return undefined;
  }
}
