// Business-initiated calls end to end (SPEC §1, §3): SIPp as the PBX on 127.0.0.1 and as Telnyx
// on 127.0.0.2, a real drachtio-server, real Redis, the edge app.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';
import { recentCalls } from '../../src/state/records.js';
import { expectOk, expectRefused, outboundCall } from './call.js';
import { until } from '../helpers/until.js';

const DIAL_STRING = 'sip:+447911123456@whatsapp-447418613982.sip.telnyx.com';
const US_NUMBER = '+12025550123';

describeWithDrachtio('outbound: PBX → edge → Telnyx', () => {
  let fx: EdgeFixture;
  /** The newest call record (SPEC §6), once the session has written it. */
  const lastRecord = async () => (await recentCalls(fx.edge.redis, 1))[0];
  const reconfigure = (overrides?: Record<string, unknown>) => fx.reconfigure(overrides);

  beforeAll(async () => {
    fx = await startEdgeFixture(() => ({
      trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS, US_NUMBER], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS }, { number: US_NUMBER }],
    }));
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    reconfigure();
    fx.edge.draining.on = false;
    await fx.edge.redis.flushall();
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  });
  afterEach(async () => fx.expectIdle());

  it('connected call: Telnyx sees the exact dial string and From, the PBX dialled digits without +', async () => {
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call.xml', service: '447911123456', vars: { hold: 300 } },
      { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    // Header hygiene: no session timers towards Telnyx.
    const invite = telnyx!.messages.split(/\n(?=-{5,})/).find((m) => /INVITE sip:/.test(m)) ?? '';
    expect(invite).toMatch(/INVITE sip:\+447911123456@whatsapp-447418613982\.sip\.telnyx\.com/);
    expect(invite).not.toMatch(/Session-Expires|Min-SE/i);
    await fx.expectIdle();
    expect(await fx.edge.calls.connected24h(BUSINESS)).toBe(1);
    const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record![1]).toEqual(expect.arrayContaining(['direction', 'outbound', 'outcome', 'connected', 'user', USER, 'number', BUSINESS]));
  });

  it('00-prefixed and national numbers reach the same dial string', async () => {
    for (const service of ['00447911123456', '07911123456']) {
      const { pbx, telnyx } = await outboundCall(
        fx,
        { scenario: 'pbx_call.xml', service, vars: { hold: 100 } },
        { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
      );
      expectOk(pbx, fx);
      expectOk(telnyx, fx);
      await fx.expectIdle();
    }
  });

  describe('each rejection row of SPEC §3, with its code and Reason', () => {
    it('unknown_source 403 from an address that is no trunk', async () => {
      await expectRefused(fx, 403, 'unknown_source', { localAddress: addrs.unknown });
    });
    it('invalid_destination 484', async () => {
      await expectRefused(fx, 484, 'invalid_destination', { service: '12' });
    });
    it('number_not_enabled 403 when From is not one of the trunk numbers', async () => {
      await expectRefused(fx, 403, 'number_not_enabled', { from: '+447418000001' });
    });
    it('calling_disabled 403 when the toggle is off', async () => {
      await fx.edge.permissions.setCalling(BUSINESS, false);
      await expectRefused(fx, 403, 'calling_disabled');
    });
    it('account_restricted 403 with Retry-After while Meta restricts business-initiated calls', async () => {
      await fx.edge.permissions.restrictions.apply({ kind: 'restriction', numbers: [BUSINESS], until: Date.now() + 3_600_000, expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }, 'meta');
      await expectRefused(fx, 403, 'account_restricted', { retryAfter: true });
    });
    it('region_blocked 403 for a US business number', async () => {
      await fx.edge.permissions.grant(US_NUMBER, USER, 'permanent', 'test');
      await expectRefused(fx, 403, 'region_blocked', { from: US_NUMBER });
    });
    it('no_permission 480 without a live permission', async () => {
      await fx.edge.permissions.revoke(BUSINESS, USER, 'user');
      await expectRefused(fx, 480, 'no_permission', { retryAfter: false });
    });
    it('unanswered_guard 480 at stopAt consecutive unanswered', async () => {
      reconfigure({ whatsapp: { unanswered: { stopAt: 2 } } });
      await fx.edge.redis.hset(numberKeys(BUSINESS).unanswered, USER, '2');
      await expectRefused(fx, 480, 'unanswered_guard');
    });
    it('user_busy 486 while the user is on another call with this number', async () => {
      await fx.edge.calls.admitInbound(BUSINESS, USER, 'other-call');
      await expectRefused(fx, 486, 'user_busy');
      await fx.edge.calls.settle(BUSINESS, USER, 'other-call', 'failed');
    });
    it('concurrency_limit 486 at maxConcurrentCalls', async () => {
      reconfigure({ whatsapp: { maxConcurrentCalls: 1 } });
      await fx.edge.calls.admitInbound(BUSINESS, '+447911000001', 'other-call');
      await expectRefused(fx, 486, 'concurrency_limit');
      await fx.edge.calls.settle(BUSINESS, '+447911000001', 'other-call', 'failed');
    });
    it('attempt_limit 480 with Retry-After at callAttemptsPer24h', async () => {
      reconfigure({ whatsapp: { callAttemptsPer24h: 1 } });
      await fx.edge.redis.zadd(numberKeys(BUSINESS).attempts, Date.now(), 'earlier');
      await expectRefused(fx, 480, 'attempt_limit', { retryAfter: true });
    });
    it('state_unavailable 503 with Retry-After when Redis stays down past redis.failoverWaitMs', async () => {
      reconfigure({ redis: { url: fx.redis.url, failoverWaitMs: 500 } });
      await fx.redis.kill();
      try {
        const started = Date.now();
        await expectRefused(fx, 503, 'state_unavailable', { retryAfter: true });
        expect(Date.now() - started).toBeGreaterThanOrEqual(500);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await fx.redis.start();
        await waitReady(fx);
      }
    });
    it('draining 503 with Retry-After while shutting down', async () => {
      fx.edge.draining.on = true;
      await expectRefused(fx, 503, 'draining', { retryAfter: true });
    });
    it('488 when the offer has no allowed codec', async () => {
      reconfigure({ media: { codecs: ['G722'] } });
      await expectRefused(fx, 488, 'codec_mismatch');
    });
  });

  describe('trunk digest auth', () => {
    const withAuth = () =>
      reconfigure({ trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], auth: { username: 'acme', password: 'trunk-secret-9' } }] });

    it('challenges with 401, then admits the call with the right credentials', async () => {
      withAuth();
      const { pbx, telnyx } = await outboundCall(
        fx,
        { scenario: 'pbx_call_auth.xml', vars: { hold: 100 }, extraArgs: ['-au', 'acme', '-ap', 'trunk-secret-9'] },
        { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING } },
      );
      expectOk(pbx, fx);
      expectOk(telnyx, fx);
      // Telnyx never sees the trunk's credentials.
      expect(telnyx!.messages).not.toMatch(/Authorization/i);
    });

    it('answers wrong credentials with 403 and creates nothing', async () => {
      withAuth();
      const { pbx } = await outboundCall(fx, { scenario: 'pbx_call_auth_refused.xml', extraArgs: ['-au', 'acme', '-ap', 'wrong-password'] });
      expectOk(pbx, fx);
      expect(await fx.edge.redis.zcard(numberKeys(BUSINESS).attempts)).toBe(0);
    });
  });

  it('100 connected calls of the number to other customers: not refused by default (Meta caps per customer)', async () => {
    const now = Date.now();
    const args: (string | number)[] = [];
    for (let i = 0; i < 100; i++) args.push(now - 2 * 3_600_000 + i * 1000, `earlier-${i}`);
    await fx.edge.redis.zadd(numberKeys(BUSINESS).connected, ...args);
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('with a perNumber cap of 100 (the seed guide\'s reading, an option), the 101st connected call of the day is refused with daily_limit and Retry-After', async () => {
    reconfigure({ whatsapp: { connectedCallsPer24h: { perUser: 100, perNumber: 100 } } });
    const now = Date.now();
    // 100 connected calls earlier today, the oldest 2 hours ago.
    const args: (string | number)[] = [];
    for (let i = 0; i < 100; i++) args.push(now - 2 * 3_600_000 + i * 1000, `earlier-${i}`);
    await fx.edge.redis.zadd(numberKeys(BUSINESS).connected, ...args);
    await expectRefused(fx, 480, 'daily_limit', { retryAfter: true });
  });

  it('CANCEL while ringing: 487 to the PBX, CANCEL to Telnyx, counted unanswered', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call_cancel.xml', vars: { ring: 300 } }, { scenario: 'telnyx_uas_ring.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    expect((await fx.edge.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(1);
    await expect.poll(lastRecord).toMatchObject({ outcome: 'unanswered', sipStatus: 487, reason: 'canceled' });
  });

  it('ring timeout: the Telnyx leg is cancelled, the PBX gets 480, counted unanswered', async () => {
    reconfigure({ whatsapp: { ringTimeoutSeconds: 1 } });
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call_expect_reject.xml', vars: { code: '480', reason: 'ring_timeout' } },
      { scenario: 'telnyx_uas_ring.xml' },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    expect((await fx.edge.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(1);
  });

  it('Telnyx 480 four times → permission revoked → the next call gets 480 no_permission', async () => {
    for (let i = 0; i < 4; i++) {
      const { pbx, telnyx } = await outboundCall(
        fx,
        { scenario: 'pbx_call_expect_reject.xml', vars: { code: '480' } },
        { scenario: 'telnyx_uas_reject.xml', vars: { code: '480' } },
      );
      expectOk(pbx, fx);
      expectOk(telnyx, fx);
      await fx.expectIdle();
    }
    const st = await fx.edge.permissions.userState(BUSINESS, USER);
    expect(st.permission).toEqual({ kind: 'none', cause: 'unanswered' });
    expect(st.consecutiveUnanswered).toBe(4);
    await expect.poll(lastRecord).toMatchObject({ outcome: 'unanswered', sipStatus: 480, reason: 'unanswered' });
    await expectRefused(fx, 480, 'no_permission');
  });

  it.each([
    [486, 'unanswered', 'declined'],
    [503, 'failed', 'refused_by_telnyx'],
  ] as const)('Telnyx %i: recorded %s, reason %s (no longer one telnyx_final for all)', async (code, outcome, reason) => {
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call_expect_reject.xml', vars: { code: String(code) } },
      { scenario: 'telnyx_uas_reject.xml', vars: { code: String(code) } },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    await expect.poll(lastRecord).toMatchObject({ outcome, sipStatus: code, reason });
  });

  it('Telnyx unreachable four times: 503 telnyx_unreachable to the PBX, recorded failed, never counted unanswered (Meta saw nothing)', async () => {
    const closed = await freeSipPort(addrs.telnyx); // nothing listens: the local stack answers, not Telnyx
    reconfigure({ telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${closed};transport=tcp`, sources: [`${addrs.telnyx}/32`] } });
    for (let i = 0; i < 4; i++) {
      const { pbx } = await outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '503', reason: 'telnyx_unreachable' } });
      expectOk(pbx, fx);
      await fx.expectIdle();
    }
    const st = await fx.edge.permissions.userState(BUSINESS, USER);
    expect(st.permission.kind).toBe('permanent');
    expect(st.consecutiveUnanswered).toBe(0);
    const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record![1]).toEqual(expect.arrayContaining(['outcome', 'failed', 'reason', 'telnyx_unreachable']));
  });

  it('a re-INVITE from the PBX is answered by the edge and never reaches Telnyx', async () => {
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call_reinvite.xml', vars: { hold: 200 } },
      { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING } },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('a DTMF INFO from the PBX is relayed to Telnyx', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call_info.xml', vars: { hold: 200 } }, { scenario: 'telnyx_uas_answer_info.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('BYE from Telnyx ends both legs', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call_wait_bye.xml' }, { scenario: 'telnyx_uas_answer_bye.xml', vars: { hold: 300 } });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    expect(await fx.edge.calls.connected24h(BUSINESS)).toBe(1);
  });

  it('a video offer: Telnyx gets audio only, the PBX gets both m-lines back with video at port 0', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call_video.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    expect(telnyx!.messages).not.toMatch(/m=video/);
    expect(pbx.messages).toMatch(/m=video 0 /);
  });
});

async function waitReady(fx: EdgeFixture) {
  await until(() => fx.edge.redis.status === 'ready', 10_000, 'Redis to come back', () => fx.logs());
}
