// Rings every registered contact of a softphone at once; the first to answer wins and the others
// get CANCEL (SPEC §2 `device:NAME`). Each contact is reached where its REGISTER came from (NAT).
import type { RegisteredBinding } from '../state/devices.js';
import type { SipDeps } from './context.js';
import type { Dialog, SipError, SipRequest, SipResponse } from './srf.js';
import type { AnchoredSdp } from './anchoring.js';
import { isWebrtcTransport } from '../domain/sipContact.js';
import { CancellableLeg } from './ringingLeg.js';

export type ForkResult = { answered: { uas: Dialog; uac: Dialog } } | { status: number };

/** Picks the answer to pass on when nobody answered: a decline, then a busy, then a no-answer, then anything else. */
function bestFailure(statuses: number[]): number {
  // The person declined (the console phone's Decline, a softphone's reject button): Telnyx hears so.
  if (statuses.includes(603)) return 603;
  if (statuses.includes(486) || statuses.includes(600)) return 486;
  if (statuses.length === 0) return 480;
  return Math.min(...statuses.filter((s) => s >= 400), 480);
}

export async function forkToBindings(
  deps: SipDeps,
  req: SipRequest,
  res: SipResponse,
  bindings: RegisteredBinding[],
  opts: { callingNumber: string; headers: Record<string, string>; timeoutMs: number; sdp?: AnchoredSdp },
): Promise<ForkResult> {
  // One cancellable leg per contact: a contact whose INVITE is still being sent is cancelled too.
  const legs = bindings.map(() => new CancellableLeg(req));
  let winner: Dialog | undefined;
  // Resolved by the first 2xx: the answer goes to Telnyx then, not once every other contact's
  // INVITE has ended (a vanished phone cannot be CANCELled before it sends a 1xx: Timer B, 32 s).
  let announceWinner: (d: Dialog) => void = () => {};
  const firstAnswer = new Promise<Dialog>((resolve) => (announceWinner = resolve));
  let ringing = false;
  const ended = new Set<number>();
  const cancelOthers = () => legs.forEach((leg, i) => ended.has(i) || leg.cancel());
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cancelOthers();
  }, opts.timeoutMs);
  const cancelOnA = () => cancelOthers();
  req.on('cancel', cancelOnA);

  const attempts = bindings.map(async (b, i) => {
    try {
      // A browser (the console's phone) gets rtpengine's ICE and DTLS-SRTP offer; without rtpengine it cannot take the call.
      const browser = isWebrtcTransport(b.source.transport);
      const notSent = (status: number) => (ended.add(i), status);
      if (browser && !opts.sdp) return notSent(488);
      const localSdp = browser && opts.sdp ? await opts.sdp.browserOffer() : (opts.sdp?.offer ?? req.body);
      if (winner || req.canceled || timedOut) return notSent(487);
      const uac = await deps.srf.createUAC(
        b.uri,
        {
          localSdp,
          callingNumber: opts.callingNumber,
          headers: opts.headers,
          proxy: `sip:${b.source.address}:${b.source.port};transport=${b.source.transport}`,
        },
        {
          cbRequest: legs[i]?.onSent,
          cbProvisional: (p) => {
            if (!ringing && p.status === 180 && !res.finalResponseSent) {
              ringing = true;
              res.send(180);
            }
          },
        },
      );
      ended.add(i);
      if (winner || req.canceled) {
        await uac.destroy().catch(() => {}); // answered too late: another contact won
        return 487;
      }
      winner = uac;
      cancelOthers();
      announceWinner(uac);
      return 200;
    } catch (e) {
      ended.add(i);
      const status = (e as SipError).status ?? 500;
      // A 6xx is the person's answer for every contact (RFC 3261 §16.7): stop ringing the others.
      if (status >= 600) cancelOthers();
      return status;
    }
  });
  const allEnded = Promise.all(attempts);
  const first = await Promise.race([firstAnswer, allEnded.then(() => undefined)]);
  clearTimeout(timer);
  req.off('cancel', cancelOnA);
  if (!first) {
    const statuses = await allEnded;
    return { status: req.canceled ? 487 : timedOut ? 408 : bestFailure(statuses.filter((s) => s !== 487)) };
  }
  const uac: Dialog = first;
  try {
    const localSdp = opts.sdp ? await opts.sdp.answer(uac.remote.sdp) : uac.remote.sdp;
    if (req.canceled) throw new Error('canceled while rtpengine answered');
    const uas = await deps.srf.createUAS(req, res, { localSdp });
    return { answered: { uas, uac } };
  } catch (err) {
    // The softphone answered but the call could not be bridged: hang the phone up either way.
    await uac.destroy().catch((e: unknown) => deps.logger.debug({ err: e }, 'answered softphone leg already gone'));
    if (req.canceled) return { status: 487 };
    deps.logger.warn({ err, callId: req.get('Call-ID') }, 'a softphone answered but the call could not be bridged to it');
    return { status: 500 };
  }
}
