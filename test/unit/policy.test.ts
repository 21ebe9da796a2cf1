import { describe, expect, it } from 'vitest';
import { planOutbound } from '../../src/domain/policy.js';
import { headerMatcher, pickHeaders } from '../../src/sip/headers.js';

const rules = { blockedRegions: ['US', 'CA', 'EG', 'VN', 'NG'], dialDomain: 'sip.telnyx.com' };
const trunk = { name: 'acme', numbers: ['+447418613982', '+12025550123'], defaultRegion: 'GB' };

describe('static outbound policy (SPEC §3 order)', () => {
  it('plans the dial string from any dialled form', () => {
    for (const dialled of ['+447911123456', '447911123456', '00447911123456', '07911123456']) {
      expect(planOutbound(dialled, '+447418613982', trunk, rules)).toMatchObject({
        dialString: 'sip:+447911123456@whatsapp-447418613982.sip.telnyx.com',
        regionBlocked: false,
      });
    }
  });
  it('invalid_destination 484 comes before number_not_enabled', () => {
    expect(planOutbound('12', '+449999', trunk, rules)).toEqual({ reason: 'invalid_destination', code: 484 });
  });
  it('From must be one of the trunk numbers → number_not_enabled 403', () => {
    expect(planOutbound('+447911123456', '+447418000000', trunk, rules)).toEqual({ reason: 'number_not_enabled', code: 403 });
    expect(planOutbound('+447911123456', 'anonymous', trunk, rules)).toEqual({ reason: 'number_not_enabled', code: 403 });
  });
  it('a national From is read with the trunk region', () => {
    expect(planOutbound('+447911123456', '07418613982', trunk, rules)).toMatchObject({ business: { e164: '+447418613982' } });
  });
  it('flags a blocked business region for the state script to order', () => {
    expect(planOutbound('+447911123456', '+12025550123', trunk, rules)).toMatchObject({ regionBlocked: true });
  });
});

describe('header hygiene', () => {
  it('passes only listed headers, prefix patterns included, never with line breaks', () => {
    const m = headerMatcher(['X-Wa-Meta-*', 'X-Keep']);
    expect(
      pickHeaders({ 'x-wa-meta-call-id': 'abc', 'X-Keep': '1', 'X-Pbx-Internal': 'secret', 'Session-Expires': '1800', 'X-Wa-Meta-Evil': 'a\r\nVia: x' }, m),
    ).toEqual({ 'x-wa-meta-call-id': 'abc', 'X-Keep': '1' });
  });
});
