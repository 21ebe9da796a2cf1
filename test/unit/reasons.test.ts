import { describe, expect, it } from 'vitest';
import { refusal, refusalHeaders } from '../../src/domain/reasons.js';

describe('reason → SIP answer table (SPEC §3)', () => {
  it.each([
    ['unknown_source', 403, false],
    ['invalid_destination', 484, false],
    ['number_not_enabled', 403, false],
    ['calling_disabled', 403, false],
    ['account_restricted', 403, true],
    ['region_blocked', 403, false],
    ['no_permission', 480, false],
    ['unanswered_guard', 480, false],
    ['user_busy', 486, false],
    ['concurrency_limit', 486, false],
    ['daily_limit', 480, true],
    ['attempt_limit', 480, true],
    ['state_unavailable', 503, true],
    ['media_unavailable', 503, true],
    ['draining', 503, true],
  ] as const)('%s → %i (Retry-After: %s)', (reason, code, hasRetry) => {
    const r = refusal(reason, 12.2);
    expect(r.code).toBe(code);
    const h = refusalHeaders(r);
    expect(h.Reason).toBe(`SIP;cause=${code};text="${reason}"`);
    expect('Retry-After' in h).toBe(hasRetry);
    if (hasRetry) expect(h['Retry-After']).toBe('13');
  });
});
