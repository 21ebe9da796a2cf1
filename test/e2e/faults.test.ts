// Faults (issue: load, faults and hostile input): an edge instance dying with calls up while
// another keeps serving, duplicate events that must change nothing twice, and Redis stopping
// with a call up. Inbound calls routed while Redis is down are in inbound.test.ts (fails open,
// counted later); a drachtio-server restart in process.test.ts.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { sipp, describeSipp, timeOf } from '../helpers/sipp.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';
import { expectOk, outboundCall } from './call.js';
import { redisReady } from '../../src/state/redis.js';

describeWithDrachtio('faults', () => {
  let redis: RedisServer;
  let a: EdgeFixture;
  let b: EdgeFixture;
  const lease = 10;

  beforeAll(async () => {
    redis = await startRedis();
    const overrides = () => ({ whatsapp: { leaseSeconds: lease, maxConcurrentCalls: 2 } });
    a = await startEdgeFixture(overrides, { redis });
    b = await startEdgeFixture(overrides, { redis });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop().catch(() => {});
    await redis?.stop();
  });

  /** A permitted outbound call on B whose PBX side plays `pbxScenario`; both SIPp sides pass and B is idle after. */
  async function permittedCall(pbxScenario: string): Promise<void> {
    await b.edge.redis.flushall();
    await b.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const { pbx, telnyx } = await outboundCall(b, { scenario: pbxScenario, vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, b);
    expectOk(telnyx, b);
    await b.expectIdle();
  }

  it('a second BYE changes nothing: one connected count, one record, no lease left', async () => {
    await permittedCall('pbx_call_double_bye.xml');
    expect(await b.edge.calls.connected24h(BUSINESS)).toBe(1);
    expect(await b.edge.redis.xlen('wa:calls')).toBe(1);
  });

  it('a CANCEL that crosses the 200 changes nothing: the call is connected once, ends on the BYE, one record, no lease left', async () => {
    await permittedCall('pbx_call_late_cancel.xml');
    expect(await b.edge.calls.connected24h(BUSINESS)).toBe(1);
    const records = await b.edge.redis.xrange('wa:calls', '-', '+');
    expect(records).toHaveLength(1);
    expect(records[0]![1]).toEqual(expect.arrayContaining(['outcome', 'connected']));
  });

  it("an instance killed with a call up: the other keeps serving, and the dead one's lease stops counting within one lease period", async () => {
    await b.edge.redis.flushall();
    await b.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    await b.edge.permissions.grant(BUSINESS, '+447911000003', 'permanent', 'test');
    await b.edge.permissions.grant(BUSINESS, '+447911000004', 'permanent', 'test');

    // A call through instance A, held for a long time.
    const telnyxA = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: a.telnyxPort, timeoutSec: 60 });
    await telnyxA.ready;
    const pbxA = sipp({ scenario: 'pbx_call.xml', localAddress: addrs.pbx, remote: a.sip, service: USER, vars: { hold: 60_000 }, timeoutSec: 60 });
    await vi.waitFor(async () => {
      expect(a.edge.sessions.size, `call through A never came up\n${a.logs().slice(-2000)}`).toBe(1);
      expect(await b.edge.calls.activeCalls(BUSINESS)).toBe(1);
    }, { timeout: 5_000, interval: 50 });

    // A dies: no settle, no more renewals, its drachtio-server gone too.
    a.edge.leases.stop();
    a.edge.redis.disconnect();
    a.edge.drachtio.close();
    await a.drachtio.kill('SIGKILL');
    const diedAt = Date.now();

    // B still admits and connects a call while A's lease still counts (cap 2: 1 + 1).
    expect(await b.edge.calls.activeCalls(BUSINESS)).toBe(1);
    const held = sipp({ scenario: 'pbx_call.xml', localAddress: addrs.pbx, remote: b.sip, service: '+447911000003', vars: { hold: 1500 }, timeoutSec: 20 });
    const telnyxB = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: b.telnyxPort, timeoutSec: 20 });
    await telnyxB.ready;
    // ...and with both slots taken, a third call is refused.
    await vi.waitFor(async () => expect(await b.edge.calls.activeCalls(BUSINESS)).toBe(2), { timeout: 5_000, interval: 50 });
    const third = await sipp({
      scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.pbx, remote: b.sip, service: '+447911000004', vars: { code: '486', reason: 'concurrency_limit' }, timeoutSec: 10,
    }).done;
    expect(third.code, describeSipp(third)).toBe(0);
    const [h, t] = await Promise.all([held.done, telnyxB.done]);
    expectOk(h, b);
    expectOk(t, b);

    // A's call stops counting once its lease runs out, without anyone settling it.
    await vi.waitFor(
      async () => expect(await b.edge.redis.zcount(numberKeys(BUSINESS).active, `(${Date.now()}`, '+inf'), 'the dead instance still counts').toBe(0),
      { timeout: (lease + 2) * 1000, interval: 200 },
    );
    expect(Date.now() - diedAt).toBeLessThanOrEqual((lease + 2) * 1000);
    pbxA.kill();
    telnyxA.kill();
    await Promise.all([pbxA.done, telnyxA.done]);
  }, 40_000);
});

describeWithDrachtio('Redis stopped with a call up', () => {
  let redis: RedisServer;
  let fx: EdgeFixture;
  const OTHER = '+447911000005';

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: true });
    fx = await startEdgeFixture(() => ({}), { redis });
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
    await redis?.stop();
  });

  it('the call up goes on, a new outbound call gets 503 state_unavailable within 200 ms, and once Redis is back admissions resume with every count right', async () => {
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    await fx.edge.permissions.grant(BUSINESS, OTHER, 'permanent', 'test');
    const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: 30 });
    await telnyx.ready;
    const pbx = sipp({ scenario: 'pbx_call.xml', localAddress: addrs.pbx, remote: fx.sip, service: USER, vars: { hold: 3000 }, timeoutSec: 30 });
    const deadline = Date.now() + 5000;
    while ((await fx.edge.calls.connected24h(BUSINESS)) < 1) {
      if (Date.now() > deadline) throw new Error(`the call never connected\n${fx.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    await redis.kill();
    const refused = await sipp({
      scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.pbx, remote: fx.sip, service: OTHER,
      vars: { code: '503', reason: 'state_unavailable', retry_after: 'yes' }, timeoutSec: 10,
    }).done;
    expectOk(refused, fx);
    expect(timeOf(refused, 'received', /^SIP\/2\.0 503/) - timeOf(refused, 'sent', /^INVITE /)).toBeLessThan(200);

    // The call up ends normally while Redis is still away: its outcome waits in the edge.
    const [p, t] = await Promise.all([pbx.done, telnyx.done]);
    expectOk(p, fx);
    expectOk(t, fx);
    expect(fx.edge.sessions.size).toBe(1);

    await redis.start();
    await redisReady(fx.edge.redis, 10_000);
    await fx.expectIdle(20_000); // settled: no lease, no reservation left
    expect(await fx.edge.calls.connected24h(BUSINESS)).toBe(1);
    expect(await fx.edge.redis.xlen('wa:calls')).toBe(1);

    const again = await outboundCall(fx, { scenario: 'pbx_call.xml', service: OTHER, vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(again.pbx, fx);
    expectOk(again.telnyx, fx);
    await fx.expectIdle();
    expect(await fx.edge.calls.connected24h(BUSINESS)).toBe(2);
    expect(await fx.edge.redis.xlen('wa:calls')).toBe(2);
  }, 60_000);
});
