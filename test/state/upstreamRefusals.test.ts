// SPEC §3 "Outcome": what a refusal Meta relayed through Telnyx leaves in the shared state
// (note_upstream_refusal.lua), and how the next admission meets it (admit_outbound.lua), against
// a real redis-server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { stateFixture, newCallId, T0, DAY, HOUR, type StateFixture } from '../helpers/state.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';
import { recentPermissionEvents } from '../../src/state/records.js';

const OTHER = '+447911000777';
let server: RedisServer;
let f: StateFixture;
beforeAll(async () => {
  server = await startRedis();
  f = await stateFixture(server.url);
});
afterAll(async () => {
  await f?.close();
  await server?.stop();
});
beforeEach(async () => {
  await f.redis.flushall();
  f.clock.now = T0;
  f.events.length = 0;
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
  await f.permissions.grant(BUSINESS, OTHER, 'permanent', 'webhook');
  f.clock.now = T0 + 1000;
});

const admit = async (user = USER) => {
  const r = await f.calls.admitOutbound({ business: BUSINESS, user, callId: newCallId(), regionBlocked: false });
  return r.admitted ? { admitted: true as const } : r.refusal;
};
const text = 'No Approved Call Permission Found';

describe('no approved permission (138006)', () => {
  it("the pair's permission becomes none, source meta_refused, Meta's words kept; revoked is appended; the next call is no_permission", async () => {
    const note = await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'no_permission', text }, T0 + 500, 60);
    expect(note).toEqual({ status: 'revoked', previous: 'permanent' });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none', cause: 'meta_refused', source: 'meta_refused', text });
    expect(f.events.at(-1)).toMatchObject({ event: 'revoked', number: BUSINESS, user: USER, source: 'meta_refused', kind: 'none', text });
    expect((await recentPermissionEvents(f.redis, 1))[0]).toMatchObject({ event: 'revoked', source: 'meta_refused', text });
    expect(await admit()).toEqual({ reason: 'no_permission', code: 480 });
    expect(await admit(OTHER)).toEqual({ admitted: true });
  });
  it('a permission written after the call went to Telnyx is newer than the refusal and stays', async () => {
    f.clock.now = T0 + 2000;
    await f.permissions.grant(BUSINESS, USER, 'temporary', 'webhook', T0 + DAY);
    const note = await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'no_permission', text }, T0 + 1500, 60);
    expect(note).toEqual({ status: 'newer', previous: 'temporary' });
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('temporary');
  });
  it('a new grant afterwards clears it (the text goes with the cause)', async () => {
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'no_permission', text }, T0 + 500, 60);
    f.clock.now = T0 + 5000;
    await f.permissions.grant(BUSINESS, USER, 'temporary', 'webhook', T0 + DAY);
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'temporary', expiresAt: T0 + DAY, source: 'webhook' });
    expect(await admit()).toEqual({ admitted: true });
  });
});

describe("the pair's connected-call cap (138012)", () => {
  it('with connected calls in the edge\'s window: daily_limit until the oldest leaves it, for this user only', async () => {
    const k = numberKeys(BUSINESS);
    await f.redis.zadd(k.userConnected(USER), T0 - 3 * HOUR, 'a', T0 - HOUR, 'b');
    f.clock.now = T0;
    const note = await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'daily_limit', text: 'Connected Call Per Day Limit Hit' }, T0 - 100, 60);
    expect(note).toEqual({ status: 'held', until: T0 - 3 * HOUR + DAY });
    expect(await admit()).toEqual({ reason: 'daily_limit', code: 480, retryAfter: (DAY - 3 * HOUR) / 1000 });
    expect(await admit(OTHER)).toEqual({ admitted: true });
    expect((await f.permissions.userState(BUSINESS, USER)).metaHolds).toEqual({ pairCapUntil: T0 - 3 * HOUR + DAY });
    f.clock.now = T0 - 3 * HOUR + DAY + 1;
    expect(await admit()).toEqual({ admitted: true });
    expect((await f.permissions.userState(BUSINESS, USER)).metaHolds).toEqual({});
  });
  it('with none in the edge\'s window: 24 h from the refusal; the permission stays', async () => {
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'daily_limit', text: 'Connected Call Per Day Limit Hit' }, T0, 60);
    expect(await admit()).toEqual({ reason: 'daily_limit', code: 480, retryAfter: DAY / 1000 });
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
  });
  it('GET /v1/decisions shows it in the daily_limit check, reserving nothing', async () => {
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'daily_limit', text: 'limit' }, T0, 60);
    const d = await f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false });
    expect(d.checks.find((c) => c.check === 'daily_limit')).toEqual({ check: 'daily_limit', result: 'fail' });
    expect(d.checks.find((c) => c.check === 'no_permission')).toEqual({ check: 'no_permission', result: 'pass' });
  });
});

describe("the number's call rate (138005)", () => {
  it('every call from the number: attempt_limit for the hold given, then admitted again', async () => {
    const note = await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'attempt_limit', text: 'Call rate limit exceeded', retryAfterSeconds: 120 }, T0, 120);
    expect(note).toEqual({ status: 'held', until: T0 + 1000 + 120_000 });
    expect(await admit()).toEqual({ reason: 'attempt_limit', code: 480, retryAfter: 120 });
    expect(await admit(OTHER)).toEqual({ reason: 'attempt_limit', code: 480, retryAfter: 120 });
    expect((await f.permissions.userState(BUSINESS, OTHER)).metaHolds).toEqual({ numberRateUntil: T0 + 121_000 });
    f.clock.now = T0 + 121_001;
    expect(await admit()).toEqual({ admitted: true });
    expect(await f.redis.zcard(numberKeys(BUSINESS).attempts)).toBe(1);
  });
});
