// Softphones end to end (SPEC §1, §2 `devices`, issue 8): SIPp as a registered SIP softphone on
// 127.0.0.4 (a second contact on 127.0.0.6), Telnyx on 127.0.0.2, the PBX on 127.0.0.1, the edge's
// drachtio-server on 127.0.0.3, real Redis.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { baseConfigObject, testConfig, BUSINESS } from '../helpers/config.js';
import { sipp, type SippResult } from '../helpers/sipp.js';
import { expectOk } from './call.js';

const REALM = 'edge.wa-test';
const ALICE = { user: 'alice', password: 'alice-secret-1' };

/** Messages of a SIPp -trace_msg file, one string each. */
function messagesOf(r: SippResult): string[] {
  return r.messages.split(/\n(?=-{5,} )/).filter((m) => /message (sent|received)/.test(m));
}

describeWithDrachtio('softphone: REGISTER, calls out, gets WhatsApp calls', () => {
  let fx: EdgeFixture;
  let base: Record<string, unknown>;

  function reconfigure(overrides: Record<string, unknown> = {}) {
    fx.edge.reload(testConfig({ ...base, ...overrides }));
  }

  beforeAll(async () => {
    fx = await startEdgeFixture((p) => {
      base = baseConfigObject({
        telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${p.telnyxPort}`, sources: [`${addrs.telnyx}/32`] },
        sip: { realm: REALM, registration: { minExpires: 60, maxExpires: 3600 }, inboundTargetTimeoutSeconds: 10 },
        devices: [{ username: ALICE.user, password: ALICE.password, numbers: [BUSINESS], defaultRegion: 'GB' }],
        numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice', `sip:100@${addrs.pbx}:${p.pbxPort}`] }],
      });
      const { drachtio: _d, redis: _r, ...rest } = base;
      return rest;
    });
    base = { ...base, drachtio: fx.edge.config.current.drachtio, redis: fx.edge.config.current.redis };
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    reconfigure();
    await fx.edge.redis.flushall();
  });
  afterEach(async () => fx.expectIdle());

  it('REGISTER: 401 with the configured realm and qop=auth, then 200 with the Contact, expiry clamped to maxExpires; Redis has the binding at the source address', async () => {
    const phone = sipp({ scenario: 'phone_register.xml', localAddress: addrs.softphone, remote: fx.sip, vars: { ...ALICE, expires: 7200, realm: REALM }, timeoutSec: 10 });
    const port = await phone.port;
    const r = await phone.done;
    expectOk(r, fx);
    const msgs = messagesOf(r);
    console.log(msgs.join('\n====\n'));
  });
});
