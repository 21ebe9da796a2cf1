// SPEC §7 (Meta's SIP guide, "Custom SIP headers") and §2 `numbers[].inboundRoutes`: what Meta says
// about a user's call, and how a call button's or deep link's payload chooses where it rings.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readMetaCallHeaders } from '../../src/domain/metaCallHeaders.js';
import { chooseInboundTargets } from '../../src/domain/inboundTargets.js';
import { parseConfig } from '../../src/config/load.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

describe("Meta's x-wa-meta-* headers on a user's INVITE", () => {
  it('every documented header, whatever its case, becomes a record field', () => {
    expect(
      readMetaCallHeaders({
        'x-wa-meta-wacid': 'wacid.HBgLMTIx',
        'X-Wa-Meta-User-Id': 'US.13491208655302741918',
        'x-wa-meta-parent-user-id': 'US.ENT.11815799212886844830',
        'x-wa-meta-username': '@jane',
        'x-wa-meta-cta-payload': 'sales',
        'x-wa-meta-deeplink-payload': 'spring-campaign',
        'x-wa-meta-call-duration': '12',
        from: '<sip:+447911123456@192.0.2.1>',
      }),
    ).toEqual({
      waCallId: 'wacid.HBgLMTIx',
      waUserId: 'US.13491208655302741918',
      waParentUserId: 'US.ENT.11815799212886844830',
      waUsername: '@jane',
      ctaPayload: 'sales',
      deeplinkPayload: 'spring-campaign',
    });
  });
  it('none of them (Telnyx did not pass them on): nothing, and nothing else changes', () => {
    expect(readMetaCallHeaders({ from: '<sip:+447911123456@192.0.2.1>' })).toEqual({});
  });
  it('an empty, over-long or control-character value is left out, never a reason to refuse the call', () => {
    expect(readMetaCallHeaders({ 'x-wa-meta-cta-payload': '  ', 'x-wa-meta-username': 'x'.repeat(513), 'x-wa-meta-user-id': 'a\u0007b' })).toEqual({});
  });
});

describe('the targets a user call rings (numbers[].inboundRoutes, then inbound)', () => {
  const sales = [{ kind: 'sip' as const, uri: 'sip:sales@pbx.example' }];
  const support = [{ kind: 'device' as const, name: 'alice' }];
  const plain = [{ kind: 'sip' as const, uri: 'sip:100@pbx.example' }];
  const number = { inbound: plain, inboundRoutes: [{ payload: 'sales', targets: sales }, { payload: 'support', targets: support }] };
  it('the call button\'s payload "sales" rings the sales route', () => {
    expect(chooseInboundTargets(number, { ctaPayload: 'sales' })).toEqual({ targets: sales, route: 'sales' });
  });
  it('the deep link\'s payload "support" rings the support route', () => {
    expect(chooseInboundTargets(number, { deeplinkPayload: 'support' })).toEqual({ targets: support, route: 'support' });
  });
  it('no payload, or one no route names: the plain inbound list', () => {
    expect(chooseInboundTargets(number, {})).toEqual({ targets: plain });
    expect(chooseInboundTargets(number, { ctaPayload: 'Sales' })).toEqual({ targets: plain });
  });
  it('a call button payload no route names, with a deep-link payload one does: the deep link chooses', () => {
    expect(chooseInboundTargets(number, { ctaPayload: 'other', deeplinkPayload: 'support' })).toEqual({ targets: support, route: 'support' });
  });
});

describe('numbers[].inboundRoutes in the configuration', () => {
  const withRoutes = (routes: unknown, extra: Record<string, unknown> = {}) => {
    const base = baseConfigObject(extra) as { numbers: Record<string, unknown>[] };
    base.numbers = [{ ...base.numbers[0], inboundRoutes: routes }];
    return base;
  };
  const problems = (obj: unknown) => configProblems(() => parseConfig(stringify(obj), 'x.yaml', {}));
  it('typed with the same target rules as inbound', () => {
    const c = parseConfig(stringify(withRoutes([{ payload: 'sales', targets: ['sip:sales@pbx.example:5060'] }])), 'x', {});
    expect(c.numbers[0]?.inboundRoutes).toEqual([{ payload: 'sales', targets: [{ kind: 'sip', uri: 'sip:sales@pbx.example:5060' }] }]);
  });
  it('absent: no routes', () => {
    expect(parseConfig(stringify(baseConfigObject()), 'x', {}).numbers[0]?.inboundRoutes).toEqual([]);
  });
  it('a bad target or no targets: each named by its key path', () => {
    expect(problems(withRoutes([{ payload: 'sales', targets: ['mailto:x@y'] }, { payload: 'empty', targets: [] }]))).toEqual([
      'numbers[0].inboundRoutes[0].targets[0]: not a sip: URI or device:NAME',
      expect.stringMatching(/^numbers\[0\]\.inboundRoutes\[1\]\.targets: /),
    ]);
  });
  it('a duplicate payload, or a device no devices[] entry names', () => {
    expect(
      problems(
        withRoutes([
          { payload: 'sales', targets: ['sip:a@b'] },
          { payload: 'sales', targets: ['sip:c@d'] },
          { payload: 'support', targets: ['device:nobody'] },
        ]),
      ),
    ).toEqual(['numbers[0].inboundRoutes[1].payload: duplicate payload', 'numbers[0].inboundRoutes[2].targets[0]: no device with that username']);
  });
});
