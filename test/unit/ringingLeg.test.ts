// A leg the edge gives up on before it is answered (src/sip/ringingLeg.ts): a cancel that comes
// before drachtio-srf has handed the INVITE over still reaches it.
import { describe, expect, it, vi } from 'vitest';
import { CancellableLeg, ringWithTimeout } from '../../src/sip/ringingLeg.js';
import type { SipRequest } from '../../src/sip/srf.js';

const caller = (canceled = false) => ({ canceled }) as unknown as SipRequest;

describe('CancellableLeg', () => {
  it('cancels an INVITE already sent', () => {
    const leg = new CancellableLeg(caller());
    const sent = { cancel: vi.fn() };
    leg.onSent(null, sent);
    expect(sent.cancel).not.toHaveBeenCalled();
    leg.cancel();
    expect(sent.cancel).toHaveBeenCalledOnce();
  });

  it('cancels an INVITE the moment it is sent when the cancel came first', () => {
    const leg = new CancellableLeg(caller());
    leg.cancel();
    const sent = { cancel: vi.fn() };
    leg.onSent(null, sent);
    expect(sent.cancel).toHaveBeenCalledOnce();
  });

  it('cancels an INVITE sent after the caller CANCELled', () => {
    const sent = { cancel: vi.fn() };
    new CancellableLeg(caller(true)).onSent(null, sent);
    expect(sent.cancel).toHaveBeenCalledOnce();
  });
});

describe('ringWithTimeout', () => {
  it('the timer cancels the leg and says so', async () => {
    vi.useFakeTimers();
    try {
      const sent = { cancel: vi.fn() };
      let fail: (e: Error) => void = () => {};
      const result = ringWithTimeout(caller(), 1_000, (onSent) => {
        onSent(null, sent);
        return new Promise<never>((_, reject) => (fail = reject));
      });
      vi.advanceTimersByTime(1_000);
      expect(sent.cancel).toHaveBeenCalledOnce();
      fail(Object.assign(new Error('487'), { status: 487 }));
      expect(await result).toMatchObject({ timedOut: true, error: { status: 487 } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('an answer before the timer is the answer', async () => {
    expect(await ringWithTimeout(caller(), 1_000, async () => 'dialog')).toEqual({ answered: 'dialog' });
  });
});
