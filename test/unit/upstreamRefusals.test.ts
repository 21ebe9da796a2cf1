// SPEC §3 "Outcome": Meta's own refusals, relayed by Telnyx in its final answer's reason phrase,
// Reason or Warning header, and what each teaches the edge; anything else teaches nothing.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileUpstreamPatterns, readUpstreamRefusal, retryAfterSeconds, type FinalResponseText } from '../../src/domain/upstreamRefusals.js';
import { parseConfig } from '../../src/config/load.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

const defaults = parseConfig(stringify(baseConfigObject()), 'x', {}).whatsapp.upstreamRefusals;
const read = (res: Partial<FinalResponseText>) => readUpstreamRefusal({ status: 403, ...res }, compileUpstreamPatterns(defaults));

describe("Meta's refusals in Telnyx's final answer (default patterns, Meta's published texts)", () => {
  it('the reason phrase "No Approved Call Permission Found" (138006): no_permission, the words kept', () => {
    expect(read({ reasonPhrase: 'No Approved Call Permission Found' })).toEqual({ lesson: 'no_permission', text: 'No Approved Call Permission Found' });
  });
  it('the same words in a Reason header (RFC 3326 text="...")', () => {
    expect(read({ reasonPhrase: 'Forbidden', reason: ['SIP;cause=403;text="No Approved Call Permission Found"'] })).toEqual({
      lesson: 'no_permission',
      text: 'No Approved Call Permission Found',
    });
  });
  it("the same words in a Warning header, as Meta's SIP guide shows its errors (399 wa.meta.vc \"...\")", () => {
    expect(read({ reasonPhrase: 'Forbidden', warning: ['399 wa.meta.vc "No approved call permission from the recipient"'] })).toEqual({
      lesson: 'no_permission',
      text: 'No approved call permission from the recipient',
    });
  });
  it('several Reason entries in one header value (a repeated header joined by commas): each is read', () => {
    expect(read({ reason: ['Q.850;cause=21;text="CALL_REJECTED, by policy", SIP;cause=403;text="No Approved Call Permission Found"'] })?.lesson).toBe('no_permission');
  });
  it('the error code alone names it too (138006)', () => {
    expect(read({ warning: ['399 telnyx.com "Meta error 138006"'] })?.lesson).toBe('no_permission');
  });
  it.each(['Connected Call Per Day Limit Hit', 'Business initiated calls limit hit', 'Limit reached for business-initiated calls in 24 hours (138012)'])(
    "the pair's cap (%s): daily_limit",
    (phrase) => {
      expect(read({ reasonPhrase: phrase })).toMatchObject({ lesson: 'daily_limit', text: phrase });
    },
  );
  it('a pair cap ignores Retry-After (the hold follows the 24 h window)', () => {
    expect(read({ reasonPhrase: 'Connected Call Per Day Limit Hit', retryAfter: '120' })).toEqual({ lesson: 'daily_limit', text: 'Connected Call Per Day Limit Hit' });
  });
  it("the number's rate (138005) with Retry-After: attempt_limit for that long", () => {
    expect(read({ status: 503, reasonPhrase: 'Service Unavailable', reason: ['SIP;cause=503;text="Call rate limit exceeded"'], retryAfter: '120 (busy)' })).toEqual({
      lesson: 'attempt_limit',
      text: 'Call rate limit exceeded',
      retryAfterSeconds: 120,
    });
  });
  it("the number's rate without Retry-After: attempt_limit, no time (the configured hold applies)", () => {
    expect(read({ reasonPhrase: 'Limit reached for maximum calls from this phone number' })).toEqual({
      lesson: 'attempt_limit',
      text: 'Limit reached for maximum calls from this phone number',
    });
  });
  it.each([
    ['a plain 403 Forbidden', { reasonPhrase: 'Forbidden' }],
    ['a 403 with another text', { reasonPhrase: 'Caller Not Authorized', warning: ['399 sip.telnyx.com "Destination not allowed"'] }],
    ['a 480 from the user', { status: 480, reasonPhrase: 'Temporarily Unavailable' }],
    ['a 2xx', { status: 200, reasonPhrase: 'No Approved Call Permission Found' }],
  ] as const)('%s teaches nothing', (_what, res) => {
    expect(read(res)).toBeUndefined();
  });
  it('a text naming both a permission and a limit is about the permission', () => {
    expect(read({ reasonPhrase: 'No approved call permission; call rate limit' })?.lesson).toBe('no_permission');
  });
});

describe('the patterns are configuration', () => {
  it('an operator adds the wording Telnyx really relays', () => {
    const compiled = compileUpstreamPatterns({ ...defaults, noPermission: [...defaults.noPermission, '^WA permission missing$'] });
    expect(readUpstreamRefusal({ status: 403, reasonPhrase: 'wa permission MISSING' }, compiled)?.lesson).toBe('no_permission');
  });
  it('an empty list switches a lesson off', () => {
    const compiled = compileUpstreamPatterns({ ...defaults, noPermission: [] });
    expect(readUpstreamRefusal({ status: 403, reasonPhrase: 'No Approved Call Permission Found' }, compiled)).toBeUndefined();
  });
  it('a pattern that is no regular expression is refused at load, with its key path', () => {
    const problems = configProblems(() => parseConfig(stringify(baseConfigObject({ whatsapp: { upstreamRefusals: { pairCap: ['(unclosed'] } } })), 'x.yaml', {}));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^whatsapp\.upstreamRefusals\.pairCap\[0\]: not a regular expression/);
  });
  it('defaults: 60 s of attempt_limit when the rate refusal names no Retry-After', () => {
    expect(defaults.numberRateHoldSeconds).toBe(60);
  });
});

describe('Retry-After (RFC 3261 §20.33)', () => {
  it.each([
    ['120', 120],
    [' 18000;duration=3600', 18000],
    ['300 (in a meeting)', 300],
    ['0', undefined],
    ['soon', undefined],
    [undefined, undefined],
  ] as const)('%s → %s', (value, seconds) => {
    expect(retryAfterSeconds(value)).toBe(seconds);
  });
});
