// A real softphone as it comes (SPEC §1, issue 13): Debian's baresip, account `alice`, registers
// with digest under its own address-of-record and puts that (and its display name) in From, as
// every softphone does by default. It calls a WhatsApp user through the edge to SIPp as Telnyx,
// and is rung for (and answers) a WhatsApp user's call to `device:alice`. Real drachtio-server,
// SIPp and Redis.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { addrs } from '../helpers/drachtio.js';
import { describeWithBaresip, startBaresip, type Baresip } from '../helpers/baresip.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { ALICE, BUSINESS, USER, aliceRingsForBusiness } from '../helpers/config.js';
import { sipp, messagesOf } from '../helpers/sipp.js';
import { expectOk } from './call.js';

const DIAL_STRING = `sip:${USER}@whatsapp-${BUSINESS.slice(1)}.sip.telnyx.com`;

describeWithBaresip('baresip, a real softphone: registers, calls WhatsApp users as its business number, answers their calls', () => {
  let fx: EdgeFixture;
  let phone: Baresip | undefined;

  beforeAll(async () => {
    fx = await startEdgeFixture(aliceRingsForBusiness);
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    phone = await startBaresip({ address: addrs.softphone, edge: fx.sip, ...ALICE, displayName: 'Alice Agent', autoAnswer: true });
    await phone.waitForRegistration();
  }, 30_000);
  afterEach(async () => {
    const p = phone;
    phone = undefined;
    await p?.stop();
    await fx.expectIdle(15_000);
  });

  const records = async () => (await fx.edge.redis.xrange('wa:calls', '-', '+')).map(([, flat]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : []))));

  it('registers with digest under its own AOR: the edge holds its contact at 127.0.0.4', async () => {
    const [binding, ...more] = await fx.edge.devices.list('alice');
    expect(more).toEqual([]);
    expect(binding).toMatchObject({ source: { address: addrs.softphone, port: phone!.sipPort, transport: 'udp' } });
    expect(binding!.userAgent).toMatch(/baresip/i);
  });

  it('dials a WhatsApp user with From = its own AOR: Telnyx sees the business number only; connected, hung up by baresip, one record, no lease', async () => {
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS }, timeoutSec: 30 });
    await telnyx.ready;
    const dialled = await phone!.command('dial', `sip:${USER}@${fx.sip}`);
    expect(dialled.ok, dialled.data).toBe(true);
    try {
      await phone!.waitForEvent('CALL_ESTABLISHED', 15_000);
    } catch (e) {
      telnyx.kill();
      throw new Error(`${(e as Error).message}\n--- edge log\n${fx.logs().split('\n').slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 500)); // a moment of the tone flowing
    expect((await phone!.command('hangup')).ok).toBe(true);
    await phone!.waitForEvent('CALL_CLOSED');
    const t = await telnyx.done;
    expectOk(t, fx);
    const invite = messagesOf(t).find((m) => /message received/.test(m) && /^INVITE /m.test(m))!;
    const bodyAt = invite.search(/^v=0/m);
    const [headers, sdp] = [invite.slice(0, bodyAt), invite.slice(bodyAt)];
    expect(headers).toMatch(new RegExp(`^From: .*<sip:\\${BUSINESS}@`, 'm'));
    expect(headers).not.toMatch(/alice|Alice Agent|baresip/i); // neither its name, its AOR nor its User-Agent
    expect(sdp).not.toMatch(/alice/i); // nor its AOR as the RTP CNAME (a=ssrc:… cname:sip:alice@…)
    await fx.expectIdle();
    const all = await records();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ direction: 'outbound', outcome: 'connected', number: BUSINESS, user: USER });
  });

  it("rings for a WhatsApp user's call to device:alice and answers by itself", async () => {
    const telnyx = sipp({ scenario: 'telnyx_call.xml', localAddress: addrs.telnyx, remote: fx.sip, vars: { hold: 800 }, timeoutSec: 30 });
    // answermode=auto: baresip 1.0.0 answers without a CALL_INCOMING event.
    const answered = await phone!.waitForEvent('CALL_ESTABLISHED', 15_000).catch((e: unknown) => {
      telnyx.kill();
      throw e;
    });
    expect(answered).toMatchObject({ direction: 'incoming' });
    expect(String(answered.peeruri)).toContain(USER);
    expectOk(await telnyx.done, fx);
    await phone!.waitForEvent('CALL_CLOSED', 10_000);
    await fx.expectIdle();
    const all = await records();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ direction: 'inbound', outcome: 'connected', number: BUSINESS, user: USER });
  });
});
