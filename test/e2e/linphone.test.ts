// A second real softphone as it comes (issue 13): Linphone's console client (Debian's
// linphone-cli), headless through `linphonecsh` (linphonec --pipe behind a Unix socket), bound to
// 127.0.0.6, sound through `soundcard use files` (no sound device). It registers with digest as
// `alice` with its own AOR in From, calls a WhatsApp user through the edge to SIPp as Telnyx, and
// auto-answers a WhatsApp user's call to `device:alice`.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { addrs } from '../helpers/drachtio.js';
import { describeWithLinphone, startLinphone, type Linphone } from '../helpers/linphone.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { ALICE, BUSINESS, USER, aliceRingsForBusiness } from '../helpers/config.js';
import { sipp, messagesOf } from '../helpers/sipp.js';
import { expectOk } from './call.js';

const LINPHONE_ADDRESS = '127.0.0.6';

describeWithLinphone('linphone, a real softphone: registers and calls a WhatsApp user as its business number', () => {
  let fx: EdgeFixture;
  let phone: Linphone | undefined;

  beforeAll(async () => {
    fx = await startEdgeFixture(aliceRingsForBusiness);
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    phone = await startLinphone({ address: LINPHONE_ADDRESS, edge: fx.sip, ...ALICE });
    await phone.waitForRegistration();
  }, 30_000);
  afterEach(async () => {
    const p = phone;
    phone = undefined;
    await p?.stop();
    await fx.expectIdle(15_000);
  });

  it('registers with digest under its own AOR at 127.0.0.6', async () => {
    const [binding] = await fx.edge.devices.list('alice');
    expect(binding).toMatchObject({ source: { address: LINPHONE_ADDRESS, transport: 'udp' } });
    expect(binding!.userAgent).toMatch(/linphone/i);
  });

  it('dials a WhatsApp user: Telnyx sees the business number in From; connected, hung up by linphone, one record', async () => {
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const telnyx = sipp({
      scenario: 'telnyx_uas_answer.xml',
      localAddress: addrs.telnyx,
      localPort: fx.telnyxPort,
      vars: { expected_ruri: `sip:${USER}@whatsapp-${BUSINESS.slice(1)}.sip.telnyx.com`, expected_from: BUSINESS },
      timeoutSec: 30,
    });
    await telnyx.ready;
    await phone!.command(`call sip:${USER}@${fx.sip}`);
    try {
      await phone!.waitForCallState(/Call\s+\d+\s+with\s+.*connected|StreamsRunning|Connected/i, 15_000);
    } catch (e) {
      telnyx.kill();
      throw e;
    }
    await new Promise((r) => setTimeout(r, 500));
    await phone!.command('terminate');
    const t = await telnyx.done;
    expectOk(t, fx);
    const invite = messagesOf(t).find((m) => /message received/.test(m) && /^INVITE /m.test(m))!;
    const headers = invite.slice(0, invite.search(/^v=0/m));
    expect(headers).toMatch(new RegExp(`^From: .*<sip:\\${BUSINESS}@`, 'm'));
    expect(headers).not.toMatch(/alice|linphone/i);
    await fx.expectIdle();
    const all = await fx.edge.redis.xrange('wa:calls', '-', '+');
    expect(all).toHaveLength(1);
    expect(all[0]![1]).toEqual(expect.arrayContaining(['direction', 'outbound', 'outcome', 'connected']));
  });

  it("rings for a WhatsApp user's call to device:alice and answers by itself", async () => {
    await phone!.command('autoanswer enable');
    const telnyx = sipp({ scenario: 'telnyx_call.xml', localAddress: addrs.telnyx, remote: fx.sip, vars: { hold: 800 }, timeoutSec: 30 });
    expectOk(await telnyx.done, fx);
    await fx.expectIdle();
    const all = await fx.edge.redis.xrange('wa:calls', '-', '+');
    expect(all).toHaveLength(1);
    expect(all[0]![1]).toEqual(expect.arrayContaining(['direction', 'inbound', 'outcome', 'connected', 'user', USER]));
  });
});
