// Inbound calls through rtpengine (SPEC §3 "Media"): Telnyx's offer is anchored once, and every
// target (PBX or softphone contact) gets rtpengine's offer; the answer that wins goes back through
// rtpengine. With no rtpengine answering the call is routed unanchored and counted (never refused).
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
