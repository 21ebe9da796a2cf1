// How a console phone call ended, in words (src/console/phoneWords.ts, src/console/phoneLine.ts):
// the edge's Reason first, then who hung up, then the SIP code.
import { describe, expect, it } from 'vitest';
import { edgeReason } from '../../src/console/phoneLine.js';
import { EDGE_REASON_WORDS, phoneEndWords } from '../../src/console/phoneWords.js';
import { REFUSALS } from '../../src/domain/reasons.js';

describe('the end of a phone call in words', () => {
  it("reads the edge's Reason header: cause and text", () => {
    expect(edgeReason('SIP;cause=480;text="no_permission"')).toEqual({ code: 480, reason: 'no_permission' });
    expect(edgeReason(undefined)).toEqual({});
  });

  it('every outbound refusal of SPEC §3 has words', () => {
    const outbound = ['invalid_destination', 'number_not_enabled', 'calling_disabled', 'region_blocked', 'no_permission', 'unanswered_guard', 'user_busy', 'concurrency_limit', 'daily_limit', 'attempt_limit', 'state_unavailable', 'media_unavailable', 'draining'];
    for (const r of outbound) {
      expect(Object.keys(REFUSALS)).toContain(r);
      expect(EDGE_REASON_WORDS[r], r).toBeTruthy();
    }
  });

  it("the edge's reason wins; then who hung up; then the SIP code", () => {
    expect(phoneEndWords({ cause: 'Unavailable', code: 503, reason: 'media_unavailable', originator: 'remote' })).toMatch(/No media relay/);
    expect(phoneEndWords({ cause: 'Terminated', originator: 'local' })).toBe('You hung up.');
    expect(phoneEndWords({ cause: 'Terminated', originator: 'remote' })).toBe('The customer hung up.');
    expect(phoneEndWords({ cause: 'Canceled', originator: 'remote' })).toBe('The caller hung up before it was answered.');
    expect(phoneEndWords({ cause: 'Busy', code: 486, originator: 'remote' })).toBe('The customer is busy.');
    expect(phoneEndWords({ cause: 'SIP Failure Code', code: 499, originator: 'remote' })).toBe('The call ended with SIP 499.');
  });
});

describe('end reasons the phone has no words of its own for', () => {
  it("are said in the call-end table's words (as Recent calls says them)", () => {
    expect(phoneEndWords({ cause: 'Rejected', code: 486, reason: 'declined', originator: 'remote' })).toBe('Declined: the customer was busy or rejected the call.');
  });
});
