import { describe, expect, it } from 'vitest';
import { CidrSet, SourceClassifier, isValidCidr, overlappingRanges } from '../../src/domain/sources.js';

describe('source classification (SPEC §1)', () => {
  const trunks = [
    { name: 'acme', sources: ['203.0.113.0/24'] },
    { name: 'v6', sources: ['2001:db8::/32'] },
  ];
  const c = new SourceClassifier(['192.76.120.10/32', '64.16.250.10'], trunks);

  it('Telnyx sources are inbound', () => expect(c.classify('192.76.120.10')).toEqual({ kind: 'telnyx' }));
  it('a bare address is a /32', () => expect(c.classify('64.16.250.10').kind).toBe('telnyx'));
  it('trunk sources are outbound with their trunk', () => expect(c.classify('203.0.113.77')).toEqual({ kind: 'trunk', trunk: trunks[0] }));
  it('IPv6 and IPv4-mapped addresses match', () => {
    expect(c.classify('2001:db8::5')).toEqual({ kind: 'trunk', trunk: trunks[1] });
    expect(c.classify('::ffff:203.0.113.9')).toEqual({ kind: 'trunk', trunk: trunks[0] });
  });
  it('anything else is unknown', () => {
    expect(c.classify('198.51.100.1').kind).toBe('unknown');
    expect(c.classify('not-an-ip').kind).toBe('unknown');
  });
  it('Telnyx wins over an overlapping trunk range', () => {
    const overlap = new SourceClassifier(['10.0.0.1/32'], [{ sources: ['10.0.0.0/8'] }]);
    expect(overlap.classify('10.0.0.1').kind).toBe('telnyx');
  });
  it('validates CIDRs', () => {
    expect(isValidCidr('10.0.0.0/8')).toBe(true);
    expect(isValidCidr('10.0.0.0/33')).toBe(false);
    expect(isValidCidr('banana')).toBe(false);
    expect(() => new CidrSet(['x'])).toThrow(/not a CIDR/);
  });
});

describe('overlappingRanges: two tenants\' trunk sources that share an address (SPEC §2a)', () => {
  it.each([
    ['a /24 holds a /32 inside it', ['10.1.0.0/24'], ['10.1.0.7/32'], ['10.1.0.0/24', '10.1.0.7/32']],
    ['a bare address inside a /24, either way round', ['10.1.0.7'], ['10.1.0.0/24'], ['10.1.0.7', '10.1.0.0/24']],
    ['a /16 holds a /24', ['10.1.0.0/24'], ['10.1.0.0/16'], ['10.1.0.0/24', '10.1.0.0/16']],
    ['a range written with host bits set is its block', ['10.1.0.99/24'], ['10.1.0.200'], ['10.1.0.99/24', '10.1.0.200']],
    ['the same address', ['192.0.2.10'], ['192.0.2.10/32'], ['192.0.2.10', '192.0.2.10/32']],
    ['everything', ['0.0.0.0/0'], ['203.0.113.5'], ['0.0.0.0/0', '203.0.113.5']],
    ['IPv6: a /48 holds a /64', ['2001:db8:1::/48'], ['2001:db8:1:2::/64'], ['2001:db8:1::/48', '2001:db8:1:2::/64']],
    ['the second of mine against the second of theirs', ['10.9.0.0/24', '10.1.0.0/24'], ['10.2.0.0/24', '10.1.0.128/25'], ['10.1.0.0/24', '10.1.0.128/25']],
  ])('%s', (_why, mine, theirs, pair) => {
    expect(overlappingRanges(mine, theirs)).toEqual(pair);
  });

  it.each([
    ['neighbouring /24s', ['10.1.0.0/24'], ['10.1.1.0/24']],
    ['an address just past a /25', ['10.1.0.0/25'], ['10.1.0.128']],
    ['IPv4 and IPv6 (even IPv4-mapped): a source is matched in its own family', ['10.1.0.0/24'], ['::ffff:10.1.0.7/128', '2001:db8::/32']],
    ['neighbouring IPv6 /64s', ['2001:db8:1:1::/64'], ['2001:db8:1:2::/64']],
    ['an entry that is not a range', ['nonsense'], ['10.1.0.0/24', 'also-nonsense']],
  ])('%s: none', (_why, mine, theirs) => {
    expect(overlappingRanges(mine, theirs)).toBeUndefined();
  });
});
