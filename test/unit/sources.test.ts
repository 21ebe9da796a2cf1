import { describe, expect, it } from 'vitest';
import { CidrSet, SourceClassifier, isValidCidr } from '../../src/domain/sources.js';

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
