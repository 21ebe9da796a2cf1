// The console's words and times (src/console/words.ts, format.ts): pure, no browser needed.
import { describe, expect, it } from 'vitest';
import { isRefusalReason } from '../../src/domain/reasons.js';
import { formatDuration, formatRelative, formatWait } from '../../src/console/format.js';
import { CHECK_WORDS, REASON_ADVICE, callReasonWords, checkWords } from '../../src/console/words.js';
import { END_REASONS } from '../../src/domain/endReasons.js';

describe('console words', () => {
  it('every check and every piece of advice is named after a SPEC §3 reason', () => {
    for (const name of [...Object.keys(CHECK_WORDS), ...Object.keys(REASON_ADVICE)]) expect(isRefusalReason(name), name).toBe(true);
    expect(Object.keys(REASON_ADVICE).sort()).toEqual(Object.keys(CHECK_WORDS).sort());
  });

  it('a check it does not know still reads as pass or fail, never as nothing', () => {
    expect(checkWords('a_future_check', 'fail')).toBe('Fails.');
    expect(checkWords('no_permission', 'pass')).toBe('The customer has given permission to be called.');
  });
});

describe('call records in words', () => {
  it("every end reason reads in the end-reason table's words; an older edge's reason still reads; an unknown one has none (its code is shown)", () => {
    for (const [reason, row] of Object.entries(END_REASONS)) expect(callReasonWords(reason)).toBe(row.words);
    expect(callReasonWords('telnyx_final')).toContain('older edge');
    expect(callReasonWords('something_new')).toBeUndefined();
    expect(callReasonWords(undefined)).toBeUndefined();
  });
});

describe('console times', () => {
  it.each([
    [0, '0:00'],
    [42_400, '0:42'],
    [725_000, '12:05'],
    [3_729_000, '1:02:09'],
  ])('a call of %i ms lasts "%s"', (ms, words) => {
    expect(formatDuration(ms)).toBe(words);
  });

  it.each([
    [40, '40 s'],
    [300, '5 min'],
    [3600, '1 h'],
    [86_399, '23 h 59 min'],
    [86_400, '24 h'],
    [2 * 86_400 - 60, '47 h 59 min'],
    [3 * 86_400 + 4 * 3600, '3 d 4 h'],
    [7 * 86_400, '7 d'],
  ])('a wait of %i s reads "%s"', (seconds, words) => {
    expect(formatWait(seconds)).toBe(words);
  });

  it.each([
    [3 * 86_400_000, 'in 3 days'],
    [-2 * 3_600_000, '2 hours ago'],
    [50 * 60_000, 'in 50 minutes'],
    [0, 'now'],
  ])('an instant %i ms away reads "%s"', (offset, words) => {
    const now = Date.UTC(2026, 10, 25, 12);
    expect(formatRelative(now + offset, now)).toBe(words);
  });
});
