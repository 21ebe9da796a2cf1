import { describe, expect, it } from 'vitest';
import { isRegionBlocked, normaliseDialled, parseBusinessNumber, userPart } from '../../src/domain/numbers.js';
import { buildDialString, parseDialString } from '../../src/domain/dialString.js';

describe('dialled numbers normalise to E.164 (SPEC §3 invalid_destination)', () => {
  it.each([
    ['+447911123456', undefined],
    ['447911123456', undefined],
    ['00447911123456', undefined],
    ['07911123456', 'GB'],
    ['07911 123 456', 'GB'],
    ['tel:+44-7911-123456', undefined],
    ['sip:+447911123456@edge.example;user=phone', undefined],
    ['sips:00447911123456@10.0.0.1:5061', undefined],
    ['<sip:447911123456@edge>', undefined],
  ])('%s (region %s) → +447911123456', (input, region) => {
    expect(normaliseDialled(input, region)?.e164).toBe('+447911123456');
  });

  it.each([['abc'], ['+44791112'], [''], ['+44 7911\r\nVia: evil'], ['"+447911123456"'], ['sip:alice@example.com'], ['07911123456']])(
    'refuses %j',
    (input) => {
      // A national number needs the trunk's defaultRegion; without it it is not a number.
      expect(normaliseDialled(input)).toBeUndefined();
    },
  );

  it('takes the user part of URIs only', () => {
    expect(userPart('sip:+447911123456@host;transport=udp')).toBe('+447911123456');
    expect(userPart('tel:+447911123456;phone-context=+44')).toBe('+447911123456');
  });
});

describe('business number region (SPEC §7)', () => {
  const blocked = ['US', 'CA', 'EG', 'VN', 'NG'];
  it.each([
    ['+12025550123', 'US', true],
    ['+14165550123', 'CA', true],
    ['+201001234567', 'EG', true],
    ['+84912345678', 'VN', true],
    ['+2348031234567', 'NG', true],
    ['+18765551234', 'JM', false],
    ['+447418613982', 'GB', false],
    ['+34612345678', 'ES', false],
  ])('%s is in %s, blocked=%s', (n, region, isBlocked) => {
    const p = parseBusinessNumber(n);
    expect(p?.region).toBe(region);
    expect(isRegionBlocked(p!, blocked)).toBe(isBlocked);
  });

  it('lets an operator block another +1 region such as JM', () => {
    expect(isRegionBlocked(parseBusinessNumber('+18765551234')!, [...blocked, 'JM'])).toBe(true);
  });
});

describe('WhatsApp dial string (SPEC §1)', () => {
  it('is sip:+<user>@whatsapp-<business digits>.<dialDomain>', () => {
    const uri = buildDialString(parseBusinessNumber('+447911123456')!, parseBusinessNumber('+447418613982')!, 'sip.telnyx.com');
    expect(uri).toBe('sip:+447911123456@whatsapp-447418613982.sip.telnyx.com');
    const back = parseDialString(uri)!;
    expect(back.user.e164).toBe('+447911123456');
    expect(back.business.e164).toBe('+447418613982');
    expect(back.dialDomain).toBe('sip.telnyx.com');
  });
  it('parses nothing else', () => {
    expect(parseDialString('sip:+447911123456@sip.telnyx.com')).toBeUndefined();
  });
});
