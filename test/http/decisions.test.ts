// GET /v1/decisions?from=&to= (SPEC §4): what an outbound call would get now, reserving nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { HOUR, T0, newCallId } from '../helpers/state.js';
import { useHttpFixtures, type HttpFixture } from './fixture.js';

const US_NUMBER = '+12024561111';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;

async function fixture(whatsapp: Record<string, unknown> = {}) {
  f = await openFixture({
    whatsapp,
    numbers: [
      { number: BUSINESS, calling: true, inbound: [] },
      { number: US_NUMBER, calling: true, inbound: [] },
    ],
  });
}
beforeEach(async () => {
  await fixture();
});

const decide = (from: string, to: string) => f.api('GET', `/v1/decisions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
const checks = (failing: string[]) =>
  ['calling_disabled', 'account_restricted', 'region_blocked', 'no_permission', 'unanswered_guard', 'user_busy', 'concurrency_limit', 'daily_limit', 'attempt_limit'].map((check) => ({
    check,
    result: failing.includes(check) ? 'fail' : 'pass',
  }));

/** Every key with its serialised value and expiry. */
async function snapshot() {
  const keys = (await f.redis.keys('*')).sort();
  return Promise.all(keys.map(async (k) => ({ k, value: (await f.redis.dumpBuffer(k))?.toString('hex'), pttl: await f.redis.pttl(k) })));
}

/** Without whatsapp.cloudApi.permissionLookup, Meta is not asked (test/http/decisionsMeta.test.ts asks it). */
const notAsked = { asked: false, why: 'whatsapp.cloudApi.permissionLookup is off', differs: false };

describe('GET /v1/decisions', () => {
  it('admitted: reason and code null, every check passes', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const res = await decide(BUSINESS, USER);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ from: BUSINESS, to: USER, admitted: true, reason: null, code: null, checks: checks([]), meta: notAsked });
  });

  it('no permission → no_permission 480; `to` may be dialled as 00… and `from` without +', async () => {
    const res = await decide(BUSINESS.slice(1), `00${USER.slice(1)}`);
    expect(res.json()).toEqual({ from: BUSINESS, to: USER, admitted: false, reason: 'no_permission', code: 480, checks: checks(['no_permission']), meta: notAsked });
  });

  it('a raw + in the query (decoded as a space) still reads as E.164', async () => {
    const res = await f.api('GET', `/v1/decisions?from=${BUSINESS}&to=${USER}`);
    expect(res.json()).toMatchObject({ from: BUSINESS, to: USER, reason: 'no_permission' });
  });

  it("a business number of a blocked region → region_blocked 403, with every other check's result", async () => {
    await f.permissions.grant(US_NUMBER, USER, 'permanent', 'test');
    const res = await decide(US_NUMBER, USER);
    expect(res.json()).toMatchObject({ admitted: false, reason: 'region_blocked', code: 403, checks: checks(['region_blocked']) });
  });

  it('a † reason carries retryAfter', async () => {
    await fixture({ callAttemptsPer24h: 1 });
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const callId = newCallId();
    await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false });
    await f.calls.settle(BUSINESS, USER, callId, 'failed');
    f.clock.now = T0 + HOUR;
    const res = await decide(BUSINESS, USER);
    expect(res.json()).toEqual({ from: BUSINESS, to: USER, admitted: false, reason: 'attempt_limit', code: 480, retryAfter: 23 * 3600, checks: checks(['attempt_limit']), meta: notAsked });
  });

  it('reserves nothing and expires nothing: Redis is byte-for-byte the same afterwards', async () => {
    await f.permissions.grant(BUSINESS, USER, 'temporary', 'test', T0 + HOUR);
    await f.permissions.grant(BUSINESS, '+447911123457', 'permanent', 'test');
    f.clock.now = T0 + 2 * HOUR; // USER's temporary permission has expired: admission would record that
    const before = await snapshot();
    expect((await decide(BUSINESS, USER)).json().reason).toBe('no_permission');
    expect((await decide(BUSINESS, '+447911123457')).json().admitted).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(f.events.map((e) => e.event)).toEqual(['granted', 'granted']);
  });

  it.each([
    ['from not a number', '?from=abc&to=%2B447911123456', 400, 'invalid_request'],
    ['to not a number', `?from=${BUSINESS.slice(1)}&to=bob`, 400, 'invalid_request'],
    ['from missing', '?to=%2B447911123456', 400, 'invalid_request'],
    ['to missing', `?from=${BUSINESS.slice(1)}`, 400, 'invalid_request'],
    ['from not configured', '?from=%2B447911123457&to=%2B447911123456', 404, 'unknown_number'],
  ])('%s → %i %s, nothing touched', async (_what, query, status, error) => {
    const res = await f.api('GET', `/v1/decisions${query}`);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toBe(error);
    expect(await f.redis.keys('*')).toEqual([]);
  });
});
