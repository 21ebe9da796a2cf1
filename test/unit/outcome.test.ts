// SPEC §3 "Outcome of an admitted outbound call": what counts toward Meta's unanswered rule.
import { describe, expect, it } from 'vitest';
import { classifyUnconnected } from '../../src/domain/outcome.js';

const CODES = [408, 480, 486, 487, 603];
const call = (over: Partial<Parameters<typeof classifyUnconnected>[0]>) =>
  classifyUnconnected({ status: 480, fromTelnyx: true, ringTimedOut: false, canceled: false, ...over }, CODES);

describe('a business-initiated call that did not connect', () => {
  it.each([408, 480, 486, 487, 603])('Telnyx answers %i: unanswered', (status) => {
    expect(call({ status })).toEqual({ outcome: 'unanswered', status, reason: 'telnyx_final' });
  });
  it('Telnyx answers 404: failed, no permission bookkeeping', () => {
    expect(call({ status: 404 })).toEqual({ outcome: 'failed', status: 404, reason: 'telnyx_final' });
  });
  it('the ring timeout: unanswered, 480 ring_timeout', () => {
    expect(call({ status: 487, ringTimedOut: true })).toEqual({ outcome: 'unanswered', status: 480, reason: 'ring_timeout' });
  });
  it('the PBX cancels and Telnyx answers 487: unanswered (Meta saw a cancelled call)', () => {
    expect(call({ status: 487, canceled: true })).toEqual({ outcome: 'unanswered', status: 487, reason: 'canceled' });
  });
  it("the local stack's 408 (Telnyx never answered): failed, 503 telnyx_unreachable, not unanswered", () => {
    expect(call({ status: 408, fromTelnyx: false })).toEqual({ outcome: 'failed', status: 503, reason: 'telnyx_unreachable' });
  });
  it("the local stack's 503 (connection refused): failed, telnyx_unreachable", () => {
    expect(call({ status: 503, fromTelnyx: false })).toEqual({ outcome: 'failed', status: 503, reason: 'telnyx_unreachable' });
  });
  it('the PBX cancels before Telnyx answered anything: failed, canceled', () => {
    expect(call({ status: 487, fromTelnyx: false, canceled: true })).toEqual({ outcome: 'failed', status: 487, reason: 'canceled' });
  });
});
