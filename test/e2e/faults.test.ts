// Faults (issue: load, faults and hostile input): an edge instance dying with calls up while
// another keeps serving, and duplicate events that must change nothing twice. Redis stopping is
// covered in outbound.test.ts (503 state_unavailable) and inbound.test.ts (fails open, counted
// later); a drachtio-server restart in process.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { sipp, describeSipp } from '../helpers/sipp.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';
import { expectOk, outboundCall } from './call.js';

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

  it('a second BYE changes nothing: one connected count, one record, no lease left', async () => {
    await b.edge.redis.flushall();
    await b.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const { pbx, telnyx } = await outboundCall(b, { scenario: 'pbx_call_double_bye.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, b);
    expectOk(telnyx, b);
    await b.expectIdle();
    expect(await b.edge.calls.connected24h(BUSINESS)).toBe(1);
    expect(await b.edge.redis.xlen('wa:calls')).toBe(1);
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
    const deadline = Date.now() + 5000;
    while ((await b.edge.calls.activeCalls(BUSINESS)) < 1 || a.edge.sessions.size === 0) {
      if (Date.now() > deadline) throw new Error(`call through A never came up\n${a.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }

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
    await new Promise((r) => setTimeout(r, 500));
    const third = await sipp({
      scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.pbx, remote: b.sip, service: '+447911000004', vars: { code: '486', reason: 'concurrency_limit' }, timeoutSec: 10,
    }).done;
    expect(third.code, describeSipp(third)).toBe(0);
    const [h, t] = await Promise.all([held.done, telnyxB.done]);
    expectOk(h, b);
    expectOk(t, b);

    // A's call stops counting once its lease runs out, without anyone settling it.
    while ((await b.edge.redis.zcount(numberKeys(BUSINESS).active, `(${Date.now()}`, '+inf')) > 0) {
      if (Date.now() - diedAt > (lease + 2) * 1000) throw new Error('the dead instance still counts');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(Date.now() - diedAt).toBeLessThanOrEqual((lease + 2) * 1000);
    pbxA.kill();
    telnyxA.kill();
    await Promise.all([pbxA.done, telnyxA.done]);
  }, 40_000);
});
