// A leg the edge places and may have to give up on before it is answered: the ring timer or the
// caller's CANCEL ends it. drachtio-srf cancels a B leg itself when the A leg is CANCELled, but
// only once that leg exists; a CANCEL that came while the INVITE was still being sent found
// nothing to cancel, so the leg is cancelled the moment drachtio-srf hands it over (cbRequest).
import type { SipError, SipRequest } from './srf.js';

type SentInvite = { cancel(opts?: object): void };

/** The INVITE of one leg, cancellable before and after drachtio-srf has sent it. */
export class CancellableLeg {
  private sent: SentInvite | undefined;
  private cancelled = false;

  constructor(private readonly caller?: SipRequest) {}

  /** drachtio-srf's `cbRequest`. */
  readonly onSent = (err: Error | null, sent: SentInvite): void => {
    if (err) return;
    this.sent = sent;
    if (this.cancelled || this.caller?.canceled) sent.cancel();
  };

  cancel(): void {
    this.cancelled = true;
    this.sent?.cancel();
  }
}

export type RingResult<T> = { answered: T } | { error: SipError; timedOut: boolean };

/**
 * Places a leg (`dial` is a createB2BUA or createUAC given `onSent` as its cbRequest) and cancels
 * it when it rings past `timeoutMs`; the caller's CANCEL ends it too. Resolves with the answer, or
 * the error it ended with and whether the timer ended it.
 */
export async function ringWithTimeout<T>(caller: SipRequest, timeoutMs: number, dial: (onSent: CancellableLeg['onSent']) => Promise<T>): Promise<RingResult<T>> {
  const leg = new CancellableLeg(caller);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    leg.cancel();
  }, timeoutMs);
  try {
    return { answered: await dial(leg.onSent) };
  } catch (e) {
    return { error: e as SipError, timedOut };
  } finally {
    clearTimeout(timer);
  }
}
