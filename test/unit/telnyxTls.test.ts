// Whether TLS to Telnyx is verified (src/sip/telnyxTls.ts): /readyz telnyxTls, the metric, the
// start-up lines. The engine's verification itself: test/e2e/tlsVerify.test.ts.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { TelnyxTls, telnyxTlsState, telnyxTlsWarnings } from '../../src/sip/telnyxTls.js';
import { testConfig } from '../helpers/config.js';
import { Writable } from 'node:stream';

const PATCHED = 'v0.9.10-1-g9c2dd4cb6a+tlsverify.1';
const UNPATCHED = 'v0.9.10-1-g9c2dd4cb6a';
const telnyx = (over: Record<string, unknown> = {}) =>
  testConfig({ telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:sip.telnyx.com;transport=tls', sources: ['192.0.2.0/24'], ...over } }).telnyx;

describe('telnyxTlsState', () => {
  it.each([
    ['calls over TLS, verify on, patched engine', telnyx(), true, PATCHED, 'verified'],
    ['calls over TLS, verify on, engine without the patch', telnyx(), true, UNPATCHED, 'not_verified'],
    ['calls over TLS, verify on, engine version not known', telnyx(), true, undefined, 'not_verified'],
    ['calls over TLS, telnyx.tls.verify false', telnyx(), false, PATCHED, 'off'],
    ['calls over UDP', telnyx({ outboundProxy: 'sip:sip.telnyx.com' }), true, UNPATCHED, 'no_tls'],
    [
      'calls over UDP, the registration over TLS',
      telnyx({ outboundProxy: 'sip:sip.telnyx.com', auth: { username: 'u', password: 'p' }, register: { registrar: 'sips:sip.telnyx.com' } }),
      true,
      UNPATCHED,
      'not_verified',
    ],
  ])('%s → %s', (_what, t, verify, version, state) => expect(telnyxTlsState(t, verify, version)).toBe(state));
});

describe('telnyxTlsWarnings: the lines an operator must see', () => {
  const withRegistration = telnyx({ auth: { username: 'u', password: 'p' }, register: { registrar: 'sip:sip.telnyx.com;transport=tls' } });
  it('off: one loud line per thing sent unverified, naming the switch', () => {
    const lines = telnyxTlsWarnings(withRegistration, 'off', PATCHED);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/verification is OFF \(telnyx\.tls\.verify: false\): calls go to sip:sip\.telnyx\.com;transport=tls/);
    expect(lines[1]).toMatch(/the registration \(and its digest credentials\) go to/);
  });
  it('an engine without the patch: NOT VERIFIED, with its version and the ways out', () => {
    expect(telnyxTlsWarnings(telnyx(), 'not_verified', UNPATCHED)).toEqual([expect.stringMatching(/NOT VERIFIED: drachtio-server v0\.9\.10-1-g9c2dd4cb6a \(without the patch.*install-drachtio-server\.sh.*telnyx-tls-hop\.cfg/)]);
  });
  it('verified or no TLS: nothing to warn about', () => {
    expect(telnyxTlsWarnings(telnyx(), 'verified', PATCHED)).toEqual([]);
    expect(telnyxTlsWarnings(telnyx({ outboundProxy: 'sip:sip.telnyx.com' }), 'no_tls', undefined)).toEqual([]);
  });
});

describe('TelnyxTls: state, wa_edge_telnyx_tls_verified and the log follow the engine', () => {
  const setup = (t = telnyx(), verify = true) => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const metrics = createMetrics();
    return { tls: new TelnyxTls(() => t, verify, logger, metrics), metrics, lines };
  };
  const metric = async (metrics: ReturnType<typeof createMetrics>) => /^wa_edge_telnyx_tls_verified (\d)$/m.exec(await metrics.registry.metrics())?.[1];

  it('an external engine without the patch, then one with it: 0 and NOT VERIFIED once, then 1', async () => {
    const { tls, metrics, lines } = setup();
    expect(tls.state).toBeUndefined();
    expect(tls.update(UNPATCHED)).toBe('not_verified');
    tls.update(UNPATCHED); // a reconnect: said once
    expect(await metric(metrics)).toBe('0');
    expect(lines.filter((l) => /NOT VERIFIED/.test(l))).toHaveLength(1);
    expect(tls.update(PATCHED)).toBe('verified');
    expect(await metric(metrics)).toBe('1');
    expect(lines.at(-1)).toMatch(/"level":30.*TLS to Telnyx is verified by drachtio-server/);
  });
  it('turned off by the operator: 0 and a warning', async () => {
    const { tls, metrics, lines } = setup(telnyx(), false);
    expect(tls.update(PATCHED)).toBe('off');
    expect(await metric(metrics)).toBe('0');
    expect(lines.join('')).toMatch(/"level":40.*verification is OFF/);
  });
  it('nothing over TLS: the metric is not exported', async () => {
    const { tls, metrics } = setup(telnyx({ outboundProxy: 'sip:sip.telnyx.com' }));
    expect(tls.update(UNPATCHED)).toBe('no_tls');
    expect(await metric(metrics)).toBeUndefined();
  });
});
