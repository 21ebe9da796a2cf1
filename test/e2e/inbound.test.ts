// User-initiated calls end to end (SPEC §1, §3 inbound): SIPp as Telnyx on 127.0.0.2 calls the
// business number; the edge routes to SIPp as the PBX on 127.0.0.1.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { expectOk, inboundCall, outboundCall } from './call.js';

describeWithDrachtio('inbound: Telnyx → edge → PBX', () => {
  let fx: EdgeFixture;
  const target = (port: number, user = '100') => `sip:${user}@${addrs.pbx}:${port}`;

  beforeAll(async () => {
    fx = await startEdgeFixture();
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    fx.reconfigure();
    await fx.edge.redis.flushall();
  });
  afterEach(async () => fx.expectIdle(15_000));

  it('routes to the first target with the user in From as E.164 and Meta headers passed on; grants callback permission', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200, meta_call_id: 'wacid.ABC' } }, [
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: target(fx.pbxPort), expected_from: USER } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    expect(pbx[0]!.messages).toMatch(/X-Wa-Meta-Call-Id: wacid\.ABC/i);
    await fx.expectIdle();
    const st = await fx.edge.permissions.userState(BUSINESS, USER);
    expect(st.permission.kind).toBe('temporary');
    expect(st.permission.source).toBe('callback');
    const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record![1]).toEqual(expect.arrayContaining(['direction', 'inbound', 'outcome', 'connected']));
  });

  it('fails over to the second target on 503', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } }, [
      { scenario: 'pbx_uas_reject.xml', port: fx.pbxPort, vars: { code: '503' } },
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort2, vars: { expected_ruri: target(fx.pbxPort2, '200') } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    expectOk(pbx[1], fx);
  });

  it("passes the PBX's final failure back to Telnyx when no target answers", async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.telnyx, vars: { from: USER, code: '486' }, service: BUSINESS }, [
      { scenario: 'pbx_uas_reject.xml', port: fx.pbxPort, vars: { code: '486' } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
  });

  it('an unknown business number gets 404', async () => {
    const { telnyx } = await inboundCall(fx, {
      scenario: 'pbx_call_expect_reject.xml',
      localAddress: addrs.telnyx,
      vars: { from: USER, code: '404', reason: 'unknown_number' },
      service: '+447418000001',
    });
    expectOk(telnyx, fx);
  });

  it('the permission an inbound call grants lets a following outbound call through; without it 480', async () => {
    const refused = await outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '480', reason: 'no_permission' } });
    expectOk(refused.pbx, fx);
    const inbound = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 100 } }, [{ scenario: 'pbx_uas_answer.xml', port: fx.pbxPort }]);
    expectOk(inbound.telnyx, fx);
    await fx.expectIdle();
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('concurrency cap: 486 past maxConcurrentCalls', async () => {
    fx.reconfigure({ whatsapp: { maxConcurrentCalls: 1 } });
    await fx.edge.calls.admitInbound(BUSINESS, '+447911000002', 'other-call');
    const { telnyx } = await inboundCall(fx, {
      scenario: 'pbx_call_expect_reject.xml',
      localAddress: addrs.telnyx,
      vars: { from: USER, code: '486', reason: 'concurrency_limit' },
      service: BUSINESS,
    });
    expectOk(telnyx, fx);
    await fx.edge.calls.settle(BUSINESS, '+447911000002', 'other-call', 'failed');
  });

  it('Redis down: the call is still routed, and counted once Redis is back', async () => {
    await fx.redis.kill();
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } }, [{ scenario: 'pbx_uas_answer.xml', port: fx.pbxPort }]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    await expect(fx.edge.metrics.unrecordedCalls.get()).resolves.toMatchObject({ values: [{ value: 1 }] });
    await fx.redis.start();
    await fx.expectIdle(20_000);
    expect((await fx.edge.permissions.read(BUSINESS, USER)).kind).toBe('temporary');
    expect(await fx.edge.redis.xlen('wa:calls')).toBe(1);
  });

  it('CANCEL from Telnyx while the PBX rings ends the call; the callback permission stays', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call_cancel.xml', vars: { ring: 300 } }, [{ scenario: 'telnyx_uas_ring.xml', port: fx.pbxPort }]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    await fx.expectIdle();
    expect((await fx.edge.permissions.read(BUSINESS, USER)).kind).toBe('temporary');
  });
});
