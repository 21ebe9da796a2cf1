// The call-end table (src/domain/endReasons.ts): `CallSession.close()` takes only its reasons (the
// type checker holds the SIP code to it); here, every one of them has words for the console.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { END_REASONS, endReasonWords, isEndReason, telnyxEndReason } from '../../src/domain/endReasons.js';

describe('call-end reasons (SPEC §6 records)', () => {
  it('every reason has words an agent reads, not a code', () => {
    for (const [reason, row] of Object.entries(END_REASONS)) {
      expect(row.words, reason).toMatch(/^[a-z].* .*[a-z)]$/);
      expect(row.words, reason).not.toContain('_');
    }
  });

  it('docs/call-records.md lists every reason with its words', () => {
    const doc = readFileSync(new URL('../../docs/call-records.md', import.meta.url), 'utf8');
    for (const [reason, row] of Object.entries(END_REASONS)) expect(doc, reason).toContain(`| \`${reason}\` | ${row.words} |`);
  });

  it.each([
    [480, 'unanswered'],
    [408, 'unanswered'],
    [486, 'declined'],
    [603, 'declined'],
    [600, 'declined'],
    [487, 'canceled'],
    [404, 'refused_by_telnyx'],
    [503, 'refused_by_telnyx'],
  ] as const)("Telnyx's final %i means %s", (status, reason) => {
    expect(telnyxEndReason(status)).toBe(reason);
  });

  it('a record from an older edge still reads: telnyx_final has words, an unknown string has none (shown as its code)', () => {
    expect(endReasonWords('telnyx_final')).toContain('older edge');
    expect(endReasonWords('declined')).toBe(END_REASONS.declined.words);
    expect(endReasonWords('<b>busy</b>')).toBeUndefined();
    expect(isEndReason('telnyx_final')).toBe(false); // never written again
  });
});
