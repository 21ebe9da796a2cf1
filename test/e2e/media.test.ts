// Media through the edge (SPEC §2 `media.anchor`, §3 "Media", §5, §6): a real rtpengine on
// 127.0.0.7, SIPp parties that stream PCMU audio (rtp_stream), the edge in between.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { describeWithMedia, freeMediaPort, mediaScenarios, RTPENGINE_ADDRESS, startRtpengine, type RtpengineServer } from '../helpers/rtpengine.js';
import { messagesOf, scenarioPath, sipp, type SippResult } from '../helpers/sipp.js';
import { recentCalls } from '../../src/state/records.js';
import { edgeHttpServer } from '../../src/edgeHttp.js';
import { expectOk, expectRefused, inboundCall, outboundCall } from './call.js';
import { until } from '../helpers/until.js';

const NO_MEDIA_SECONDS = 3;

interface Party {
  scenario: string;
  address: string;
  port?: number;
  service?: string;
  vars?: Record<string, string | number>;
}

/** Callee first (listening), then the caller; both with a media address and port of their own. */
async function callWithMedia(fx: EdgeFixture, caller: Party, callee: Party): Promise<{ caller: SippResult; callee: SippResult }> {
  const media = async (address: string) => ['-mi', address, '-mp', String(await freeMediaPort(address))];
  const uas = sipp({ scenario: callee.scenario, localAddress: callee.address, localPort: callee.port, vars: callee.vars, timeoutSec: 30, extraArgs: await media(callee.address) });
  await uas.ready;
  const uac = sipp({ scenario: caller.scenario, localAddress: caller.address, remote: fx.sip, service: caller.service, vars: caller.vars, timeoutSec: 30, extraArgs: await media(caller.address) });
  const callerResult = await uac.done;
  if (callerResult.code !== 0) uas.kill();
  return { caller: callerResult, callee: await uas.done };
}

/** The SDP body of the first message matching `firstLine` that SIPp received. */
function receivedSdp(r: SippResult, firstLine: RegExp): string {
  const msg = messagesOf(r).find((m) => /message received/.test(m) && m.split('\n').some((l) => firstLine.test(l)));
  expect(msg, `a received message matching ${firstLine}`).toBeDefined();
  return msg!.slice(msg!.indexOf('v=0'));
}

function expectOnlyRtpengine(sdp: string, notThere: string): void {
  expect(sdp).toMatch(new RegExp(`^c=IN IP4 ${RTPENGINE_ADDRESS.replaceAll('.', '\\.')}\\s*$`, 'm'));
  expect(sdp).not.toContain(notThere);
}

async function lastRecord(fx: EdgeFixture) {
  const [record] = await recentCalls(fx.edge.redis, 1);
  return record!;
}

async function counter(fx: EdgeFixture, name: string): Promise<number> {
  const text = await fx.edge.metrics.registry.getSingleMetricAsString(name);
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** GET /readyz of the fixture's edge, wired the way main.ts wires it. */
async function readyz(fx: EdgeFixture): Promise<{ status: number; body: unknown }> {
  const app = await edgeHttpServer(fx.edge);
  try {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: res.statusCode, body: res.json() };
  } finally {
    await app.close();
  }
}

describeWithMedia('media anchored in rtpengine', () => {
  let fx: EdgeFixture;
  let rtp: RtpengineServer;
  let scenarios: ReturnType<typeof mediaScenarios>;

  beforeAll(async () => {
    scenarios = mediaScenarios();
    rtp = await startRtpengine();
    fx = await startEdgeFixture(() => ({ media: { anchor: { rtpengine: [rtp.ng], noMediaSeconds: NO_MEDIA_SECONDS, pingSeconds: 1 } } }));
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
    await rtp?.stop();
    scenarios?.remove();
  });
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  });
  afterEach(async () => {
    await fx.expectIdle(10_000);
    expect(await rtp.calls(), 'calls left on rtpengine').toEqual([]);
  });

  it('outbound: each side sees only rtpengine, audio flows both ways, the record has the figures', async () => {
    const { caller: pbx, callee: telnyx } = await callWithMedia(
      fx,
      { scenario: scenarios.caller, address: addrs.pbx, service: USER, vars: { hold: 3000 } },
      { scenario: scenarios.answerer, address: addrs.telnyx, port: fx.telnyxPort },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    expectOnlyRtpengine(receivedSdp(telnyx, /^INVITE sip:/), addrs.pbx);
    expectOnlyRtpengine(receivedSdp(pbx, /^SIP\/2\.0 200/), addrs.telnyx);
    await fx.expectIdle(10_000);
    const record = await lastRecord(fx);
    expect(record).toMatchObject({ direction: 'outbound', outcome: 'connected', media: 'anchored', rtpengine: rtp.ng });
    // 3 s of 20 ms packets each way; a loaded box may start a stream late, so at least a third.
    expect(record.rtpPacketsFromPbx).toBeGreaterThan(50);
    expect(record.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    expect(record.rtpBytesFromPbx).toBeGreaterThan(50 * 172);
    expect(record.rtpBytesFromTelnyx).toBeGreaterThan(50 * 172);
  });

  it('inbound: the PBX and Telnyx see only rtpengine, audio both ways is recorded', async () => {
    const { caller: telnyx, callee: pbx } = await callWithMedia(
      fx,
      { scenario: scenarios.caller, address: addrs.telnyx, service: BUSINESS, vars: { from: USER, hold: 3000 } },
      { scenario: scenarios.answerer, address: addrs.pbx, port: fx.pbxPort },
    );
    expectOk(telnyx, fx);
    expectOk(pbx, fx);
    expectOnlyRtpengine(receivedSdp(pbx, /^INVITE sip:/), addrs.telnyx);
    expectOnlyRtpengine(receivedSdp(telnyx, /^SIP\/2\.0 200/), addrs.pbx);
    await fx.expectIdle(10_000);
    const record = await lastRecord(fx);
    expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected', media: 'anchored' });
    expect(record.rtpPacketsFromPbx).toBeGreaterThan(50);
    expect(record.rtpPacketsFromTelnyx).toBeGreaterThan(50);
  });

  it(`a Telnyx side that sends nothing ends the call no_media within noMediaSeconds + 2 s`, async () => {
    const timeoutsBefore = await counter(fx, 'wa_edge_media_timeouts_total');
    const { caller: pbx, callee: telnyx } = await callWithMedia(
      fx,
      { scenario: scenarios.callerWaitsBye, address: addrs.pbx, service: USER },
      { scenario: 'telnyx_uas_answer.xml', address: addrs.telnyx, port: fx.telnyxPort },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle(10_000);
    const record = await lastRecord(fx);
    expect(record).toMatchObject({ outcome: 'connected', reason: 'no_media', silentSide: 'telnyx', media: 'anchored' });
    const upFor = Number(record.endedAt) - Number(record.answeredAt);
    expect(upFor).toBeGreaterThanOrEqual(NO_MEDIA_SECONDS * 1000);
    expect(upFor).toBeLessThanOrEqual((NO_MEDIA_SECONDS + 2) * 1000);
    expect(record.rtpPacketsFromPbx).toBeGreaterThan(0);
    expect(record.rtpPacketsFromTelnyx).toBe(0);
    expect(await counter(fx, 'wa_edge_media_timeouts_total')).toBe(timeoutsBefore + 1);
    expect(fx.logs()).toMatch(/"silentSide":"telnyx".*"msg":"no media from telnyx"/);
  });

  it('CANCEL while Telnyx rings and a BYE from Telnyx each leave no call on rtpengine', async () => {
    const canceled = await outboundCall(fx, { scenario: 'pbx_call_cancel.xml', vars: { ring: 300 } }, { scenario: 'telnyx_uas_ring.xml' });
    expectOk(canceled.pbx, fx);
    expectOk(canceled.telnyx, fx);
    await fx.expectIdle(10_000);
    expect(await lastRecord(fx)).toMatchObject({ outcome: 'unanswered', media: 'anchored' });
    expect(await rtp.calls()).toEqual([]);
    const hungUp = await outboundCall(fx, { scenario: 'pbx_call_wait_bye.xml' }, { scenario: 'telnyx_uas_answer_bye.xml', vars: { hold: 300 } });
    expectOk(hungUp.pbx, fx);
    expectOk(hungUp.telnyx, fx);
    await fx.expectIdle(10_000);
    expect(await lastRecord(fx)).toMatchObject({ outcome: 'connected', reason: 'bye_from_callee', media: 'anchored' });
  });

  it('rtpengine stopped: outbound 503 media_unavailable, inbound routed unanchored and counted; back again: anchored', async () => {
    await rtp.kill();
    try {
      await expectRefused(fx, 503, 'media_unavailable', { retryAfter: true });
      await fx.expectIdle();
      expect(await lastRecord(fx)).toMatchObject({ direction: 'outbound', outcome: 'failed', reason: 'media_unavailable', sipStatus: 503 });
      expect(await counter(fx, 'wa_edge_rejections_total')).toBeGreaterThan(0);
      // Named, not part of readiness (SPEC §4): inbound calls still go through, unanchored.
      expect(await readyz(fx)).toEqual({
        status: 200,
        body: { drachtio: 'up', redis: 'up', rtpengine: 'down', rtpengines: [{ rtpengine: rtp.ng, state: 'down' }], telnyxTls: 'no_tls' },
      });

      const unanchoredBefore = await counter(fx, 'wa_edge_media_unanchored_calls_total');
      const inbound = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } }, [{ scenario: 'pbx_uas_answer.xml', port: fx.pbxPort }]);
      expectOk(inbound.telnyx, fx);
      expectOk(inbound.pbx[0], fx);
      await fx.expectIdle();
      expect(await lastRecord(fx)).toMatchObject({ direction: 'inbound', outcome: 'connected', media: 'unanchored' });
      expect(await counter(fx, 'wa_edge_media_unanchored_calls_total')).toBe(unanchoredBefore + 1);
    } finally {
      await rtp.start();
    }
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 200 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    expect(await lastRecord(fx)).toMatchObject({ outcome: 'connected', media: 'anchored' });
    expect(await readyz(fx)).toMatchObject({ status: 200, body: { rtpengine: 'up' } });
  });
});

describeWithMedia('media: several rtpengines, SRTP towards Telnyx, drain', () => {
  let scenarios: ReturnType<typeof mediaScenarios>;
  const engines: RtpengineServer[] = [];
  const fixtures: EdgeFixture[] = [];

  beforeAll(async () => {
    scenarios = mediaScenarios();
    engines.push(await startRtpengine(), await startRtpengine());
  }, 60_000);
  afterAll(async () => {
    for (const fx of fixtures) await fx.stop();
    for (const e of engines) await e.stop();
    scenarios?.remove();
  });

  async function edgeWith(anchor: Record<string, unknown>, more: (p: { pbxPort: number }) => Record<string, unknown> = () => ({})): Promise<EdgeFixture> {
    const fx = await startEdgeFixture((p) => ({ media: { anchor: { pingSeconds: 1, ...anchor } }, ...more(p) }));
    fixtures.push(fx);
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    return fx;
  }

  async function anchoredCall(fx: EdgeFixture) {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle(10_000);
    return lastRecord(fx);
  }

  it('calls spread across the rtpengines; a dead one is skipped, and used again once it answers', async () => {
    const [a, b] = engines as [RtpengineServer, RtpengineServer];
    const fx = await edgeWith({ rtpengine: [a.ng, b.ng] });
    const first = await anchoredCall(fx);
    const second = await anchoredCall(fx);
    expect(new Set([first.rtpengine, second.rtpengine])).toEqual(new Set([a.ng, b.ng]));

    await a.kill();
    try {
      for (let i = 0; i < 3; i++) expect((await anchoredCall(fx)).rtpengine).toBe(b.ng);
      expect(fx.edge.media!.state()).toEqual([
        { rtpengine: a.ng, state: 'down' },
        { rtpengine: b.ng, state: 'up' },
      ]);
    } finally {
      await a.start();
    }
    await until(() => fx.edge.media!.state()[0]!.state === 'up', 10_000, 'the restarted rtpengine to be seen up', () => fx.logs());
    const used = new Set([(await anchoredCall(fx)).rtpengine, (await anchoredCall(fx)).rtpengine]);
    expect(used).toEqual(new Set([a.ng, b.ng]));
    expect(await a.calls()).toEqual([]);
    expect(await b.calls()).toEqual([]);
  });

  it('telnyxSrtp: Telnyx is offered SDES-SRTP (AES_CM_128 suites only), the PBX gets plain RTP', async () => {
    const fx = await edgeWith({ rtpengine: [engines[0]!.ng], telnyxSrtp: true });
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 200 } }, { scenario: 'telnyx_uas_answer_srtp.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    const toTelnyx = receivedSdp(telnyx!, /^INVITE sip:/);
    expect(toTelnyx).toMatch(/^m=audio \d+ RTP\/SAVP /m);
    const suites = [...toTelnyx.matchAll(/^a=crypto:\d+ (\S+) inline:/gm)].map((m) => m[1]);
    expect(suites).toEqual(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
    expect(toTelnyx).not.toMatch(/a=fingerprint|a=setup/);
    const toPbx = receivedSdp(pbx, /^SIP\/2\.0 200/);
    expect(toPbx).toMatch(/^m=audio \d+ RTP\/AVP /m);
    expect(toPbx).not.toMatch(/a=crypto/);
    await fx.expectIdle(10_000);
    expect(await engines[0]!.calls()).toEqual([]);
  });

  it('a softphone rung for a WhatsApp call is offered rtpengine, and Telnyx gets rtpengine in the answer', async () => {
    const engine = engines[0]!;
    const alice = { user: 'alice', password: 'alice-secret-1' };
    const fx = await edgeWith({ rtpengine: [engine.ng] }, (p) => ({
      sip: { realm: 'edge.wa-test' },
      devices: [{ username: alice.user, password: alice.password, numbers: [BUSINESS] }],
      numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice', `sip:100@${addrs.pbx}:${p.pbxPort}`] }],
    }));
    const softphone = sipp({
      scenario: 'phone_register_wait.xml',
      localAddress: addrs.softphone,
      remote: fx.sip,
      vars: { ...alice, realm: 'edge.wa-test', expected_from: USER },
      timeoutSec: 20,
      extraArgs: ['-oocsf', scenarioPath('phone_ooc_answer.xml')],
    });
    await until(async () => (await fx.edge.devices.list('alice')).length > 0, 10_000, 'alice to register', () => fx.logs());
    const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 300 } });
    if (telnyx.code !== 0) softphone.kill();
    const phone = await softphone.done;
    expectOk(telnyx, fx);
    expectOk(phone, fx);
    expectOnlyRtpengine(receivedSdp(phone, /^INVITE sip:/), addrs.telnyx);
    expectOnlyRtpengine(receivedSdp(telnyx, /^SIP\/2\.0 200/), addrs.softphone);
    await fx.expectIdle(10_000);
    expect(await lastRecord(fx)).toMatchObject({ direction: 'inbound', outcome: 'connected', media: 'anchored' });
    expect(await engine.calls()).toEqual([]);
  });

  it('a drain that ends calls in progress leaves no call on rtpengine', async () => {
    const engine = engines[1]!;
    const fx = await edgeWith({ rtpengine: [engine.ng] });
    const call = callWithMedia(
      fx,
      { scenario: scenarios.callerWaitsBye, address: addrs.pbx, service: USER },
      { scenario: scenarios.answerer, address: addrs.telnyx, port: fx.telnyxPort },
    );
    await until(
      async () => [...fx.edge.sessions].some((s) => s.isConnected) && (await engine.calls()).length === 1,
      10_000,
      'the call to be answered through rtpengine',
      () => fx.logs(),
    );
    await fx.edge.shutdown(200);
    const { caller, callee } = await call;
    expectOk(caller, fx);
    expectOk(callee, fx);
    expect(await engine.calls()).toEqual([]);
  });
});
