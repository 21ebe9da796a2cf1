// SPEC §3 "Outcome": Meta's refusals relayed by Telnyx teach the edge. SIPp as the PBX on
// 127.0.0.1 and as Telnyx on 127.0.0.2 relaying Meta's words in its reason phrase, a Reason or a
// Warning header; a real drachtio-server, real Redis, the edge app. The PBX gets Telnyx's answer;
// the next call is refused by the edge itself, without reaching Telnyx (no SIPp listens there then:
// a call that left would come back 503 telnyx_unreachable, not the refusal the test expects).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { recentCalls, recentPermissionEvents } from '../../src/state/records.js';
import { messagesOf } from '../helpers/sipp.js';
import { expectOk, expectRefused, outboundCall } from './call.js';

const OTHER_USER = '+447911000321';
const PERMISSION_WORDS = 'No Approved Call Permission Found';

describeWithDrachtio("Meta's refusals relayed by Telnyx", () => {
  let fx: EdgeFixture;
  const lastRecord = async () => (await recentCalls(fx.edge.redis, 1))[0];
  const learned = async (reason: string) => (await fx.edge.metrics.upstreamRefusalsTotal.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  /** A call Telnyx answers with Meta's refusal in `mode` (telnyx_uas_meta_refusal.xml); the PBX must get that 403. */
  const refusedByMeta = async (mode: string, service = '+447911123456') => {
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call_expect_reject.xml', service, vars: { code: '403' } },
      { scenario: 'telnyx_uas_meta_refusal.xml', vars: { mode } },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    return messagesOf(pbx).find((m) => /message received/.test(m) && /SIP\/2\.0 403/.test(m)) ?? '';
  };

  beforeAll(async () => {
    fx = await startEdgeFixture(() => ({
      trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS }],
    }));
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    fx.reconfigure();
    await fx.edge.redis.flushall();
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    await fx.edge.permissions.grant(BUSINESS, OTHER_USER, 'permanent', 'webhook');
  });
  afterEach(async () => fx.expectIdle());

  describe.each([
    ['the reason phrase', 'phrase', new RegExp(`^SIP/2\\.0 403 ${PERMISSION_WORDS}`, 'm')],
    ['a Reason header', 'reason', new RegExp(`^Reason: SIP;cause=403;text="${PERMISSION_WORDS}"`, 'mi')],
    ['a Warning header', 'warning', new RegExp(`^Warning: 399 wa\\.meta\\.vc "${PERMISSION_WORDS}"`, 'mi')],
  ])('"No Approved Call Permission Found" in %s', (_where, mode, relayed) => {
    it("the PBX gets Telnyx's answer; the pair's permission becomes none (meta_refused); the next call is 480 no_permission at the edge; not unanswered", async () => {
      const before = await learned('no_permission');
      const answer = await refusedByMeta(mode);
      expect(answer).toMatch(relayed);
      expect(await fx.edge.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none', cause: 'meta_refused', source: 'meta_refused', text: PERMISSION_WORDS });
      expect((await recentPermissionEvents(fx.edge.redis, 1))[0]).toMatchObject({ event: 'revoked', user: USER, source: 'meta_refused', text: PERMISSION_WORDS });
      await expect.poll(lastRecord).toMatchObject({ outcome: 'failed', sipStatus: 403, reason: 'refused_by_meta', upstreamRefusal: 'no_permission', upstreamText: PERMISSION_WORDS });
      expect((await fx.edge.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(0);
      expect(await learned('no_permission')).toBe(before + 1);
      // No Telnyx this time: the edge answers by itself.
      await expectRefused(fx, 480, 'no_permission', { retryAfter: false });
    });
  });

  it("the pair's cap (\"Connected Call Per Day Limit Hit\"): the pair is held at 480 daily_limit with Retry-After; the permission stays", async () => {
    const answer = await refusedByMeta('paircap');
    expect(answer).toMatch(/^SIP\/2\.0 403 Connected Call Per Day Limit Hit/m);
    await expect.poll(lastRecord).toMatchObject({ outcome: 'failed', reason: 'refused_by_meta', upstreamRefusal: 'daily_limit' });
    expect((await fx.edge.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
    const holds = (await fx.edge.permissions.userState(BUSINESS, USER)).metaHolds;
    expect(holds.pairCapUntil).toBeGreaterThan(Date.now() + 23 * 3_600_000); // no connected call in the edge's window: 24 h
    await expectRefused(fx, 480, 'daily_limit', { retryAfter: true });
    // Another customer of the same number is not held.
    expect((await fx.edge.permissions.userState(BUSINESS, OTHER_USER)).metaHolds).toEqual({});
  });

  it("the number's rate (138005) with Retry-After 120: every call from the number is 480 attempt_limit for 120 s", async () => {
    const answer = await refusedByMeta('rate');
    expect(answer).toMatch(/^Retry-After: 120/im);
    await expect.poll(lastRecord).toMatchObject({ outcome: 'failed', reason: 'refused_by_meta', upstreamRefusal: 'attempt_limit' });
    const until = (await fx.edge.permissions.userState(BUSINESS, OTHER_USER)).metaHolds.numberRateUntil ?? 0;
    expect(until - Date.now()).toBeGreaterThan(100_000);
    expect(until - Date.now()).toBeLessThanOrEqual(120_000);
    await expectRefused(fx, 480, 'attempt_limit', { retryAfter: true, service: OTHER_USER });
  });

  it('a plain 403 with other words teaches nothing: refused_by_telnyx, and the next call reaches Telnyx', async () => {
    const before = await Promise.all(['no_permission', 'daily_limit', 'attempt_limit'].map(learned));
    await refusedByMeta('plain');
    await expect.poll(lastRecord).toMatchObject({ outcome: 'failed', sipStatus: 403, reason: 'refused_by_telnyx' });
    expect(await lastRecord()).not.toHaveProperty('upstreamRefusal');
    expect((await fx.edge.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
    expect((await fx.edge.permissions.userState(BUSINESS, USER)).metaHolds).toEqual({});
    expect(await Promise.all(['no_permission', 'daily_limit', 'attempt_limit'].map(learned))).toEqual(before);
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });
});
