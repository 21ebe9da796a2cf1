// SPEC §3 "Outcome of an admitted outbound call": what counts toward Meta's unanswered rule, and
// why the call ended in the end-reason table's words (SPEC §7: 480 unanswered, 486 declined, 487 cancelled).
import { describe, expect, it } from 'vitest';
import { EDGE_FAILURE, classifyUnconnected } from '../../src/domain/outcome.js';

const CODES = [408, 480, 486, 487, 603];
const call = (over: Partial<Parameters<typeof classifyUnconnected>[0]>) =>
  classifyUnconnected({ status: 480, fromTelnyx: true, ringTimedOut: false, canceled: false, ...over }, CODES);

describe('a business-initiated call that did not connect', () => {
  it.each([
    [408, 'unanswered'],
    [480, 'unanswered'],
    [486, 'declined'],
    [487, 'canceled'],
    [603, 'declined'],
  ] as const)('Telnyx answers %i: unanswered, reason %s', (status, reason) => {
    expect(call({ status })).toEqual({ outcome: 'unanswered', status, reason });
  });
  it.each([404, 403, 500, 503])('Telnyx answers %i: failed, refused by Telnyx/Meta, no permission bookkeeping', (status) => {
    expect(call({ status })).toEqual({ outcome: 'failed', status, reason: 'refused_by_telnyx' });
  });
  it('a code outside unanswered.codes keeps its reason: 600 from Telnyx is failed, declined', () => {
    expect(call({ status: 600 })).toEqual({ outcome: 'failed', status: 600, reason: 'declined' });
  });
  it.each([403, 480, 486])("Meta's refusal relayed by Telnyx with %i: failed, refused_by_meta, never unanswered (Meta rang nobody)", (status) => {
    expect(call({ status, metaRefused: true })).toEqual({ outcome: 'failed', status, reason: 'refused_by_meta' });
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
  it('a bridge that fails without any SIP status is a locally made 500: failed at the edge, not a Telnyx answer', () => {
    expect(EDGE_FAILURE).toEqual({ outcome: 'failed', status: 500, reason: 'edge_failed' });
  });
});
