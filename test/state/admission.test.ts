// SPEC §3 rows that the shared state decides, against a real redis-server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { stateFixture, newCallId, T0, DAY, HOUR, type StateFixture } from '../helpers/state.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';

let server: RedisServer;
let f: StateFixture;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await f?.close();
  await server.stop();
});

async function fixture(overrides: Record<string, unknown> = {}) {
  await f?.close();
  f = await stateFixture(server.url, overrides);
  return f;
}

beforeEach(async () => {
  await fixture();
  await f.redis.flushall();
});

const user = (i: number) => `+4479111${String(i).padStart(5, '0')}`;

async function admit(u = USER, opts: { regionBlocked?: boolean; callId?: string } = {}) {
  const callId = opts.callId ?? newCallId();
  const r = await f.calls.admitOutbound({ business: BUSINESS, user: u, callId, regionBlocked: opts.regionBlocked ?? false });
  return { callId, ...r, reason: r.admitted ? undefined : r.refusal.reason, refusal: r.admitted ? undefined : r.refusal };
}

async function permit(u = USER) {
  await f.permissions.grant(BUSINESS, u, 'permanent', 'test');
}

describe('admitOutbound, checks in SPEC §3 order', () => {
  it('no permission → no_permission 480', async () => {
    const r = await admit();
    expect(r.refusal).toEqual({ reason: 'no_permission', code: 480 });
  });

  it('a live temporary permission admits; an expired one is no_permission and emits expired', async () => {
    await f.permissions.grant(BUSINESS, USER, 'temporary', 'test', T0 + HOUR);
    const a = await admit();
    expect(a.admitted).toBe(true);
    await f.calls.settle(BUSINESS, USER, a.callId, 'failed');
    f.clock.now = T0 + HOUR;
    expect((await admit()).reason).toBe('no_permission');
    expect(f.events.map((e) => e.event)).toEqual(['granted', 'expired']);
  });

  it('calling toggle off → calling_disabled, before region and permission', async () => {
    await f.permissions.setCalling(BUSINESS, false);
    expect((await admit(USER, { regionBlocked: true })).refusal).toEqual({ reason: 'calling_disabled', code: 403 });
  });

  it('the config default applies until an operator sets the toggle', async () => {
    await fixture({ numbers: [{ number: BUSINESS, calling: false }] });
    expect((await admit()).reason).toBe('calling_disabled');
    await f.permissions.setCalling(BUSINESS, true);
    expect((await admit()).reason).toBe('no_permission');
  });

  it('region blocked → region_blocked 403, before permission', async () => {
    expect((await admit(USER, { regionBlocked: true })).refusal).toEqual({ reason: 'region_blocked', code: 403 });
  });

  it('unanswered guard at stopAt → unanswered_guard 480', async () => {
    await fixture({ whatsapp: { unanswered: { stopAt: 2, revokeAt: null } } });
    await permit();
    for (let i = 0; i < 2; i++) {
      const a = await admit();
      await f.calls.settle(BUSINESS, USER, a.callId, 'unanswered');
    }
    expect((await admit()).refusal).toEqual({ reason: 'unanswered_guard', code: 480 });
  });

  it('an active call with the user → user_busy 486, and free again once settled', async () => {
    await permit();
    const a = await admit();
    expect((await admit()).refusal).toEqual({ reason: 'user_busy', code: 486 });
    await f.calls.settle(BUSINESS, USER, a.callId, 'failed');
    expect((await admit()).admitted).toBe(true);
  });

  it('an inbound call from the user also makes them busy', async () => {
    await permit();
    await f.calls.admitInbound(BUSINESS, USER, newCallId());
    expect((await admit()).reason).toBe('user_busy');
  });

  it('active calls ≥ maxConcurrentCalls → concurrency_limit 486', async () => {
    await fixture({ whatsapp: { maxConcurrentCalls: 3 } });
    for (let i = 0; i < 4; i++) await permit(user(i));
    for (let i = 0; i < 3; i++) expect((await admit(user(i))).admitted).toBe(true);
    expect((await admit(user(3))).refusal).toEqual({ reason: 'concurrency_limit', code: 486 });
  });

  it('connected + in-flight ≥ perNumber cap → daily_limit 480 with the exact Retry-After', async () => {
    await fixture({ whatsapp: { connectedCallsPer24h: { perNumber: 3, perUser: null } } });
    for (let i = 0; i < 4; i++) await permit(user(i));
    for (let i = 0; i < 2; i++) {
      f.clock.now = T0 + i * HOUR;
      const a = await admit(user(i));
      await f.calls.settle(BUSINESS, user(i), a.callId, 'connected');
      await f.calls.settle(BUSINESS, user(i), a.callId, 'ended');
    }
    f.clock.now = T0 + 2 * HOUR;
    expect((await admit(user(2))).admitted).toBe(true); // in flight: 2 connected + 1 reserved = cap
    const r = await admit(user(3));
    // Both connected calls and the in-flight one count; the oldest connected leaves the window at T0 + 24 h.
    expect(r.refusal).toEqual({ reason: 'daily_limit', code: 480, retryAfter: 22 * 3600 });
  });

  it('the window slides: a connected call stops counting 24 h after it connected, not at midnight', async () => {
    await fixture({ whatsapp: { connectedCallsPer24h: { perNumber: 1, perUser: null } } });
    await permit(user(1));
    await permit(user(2));
    f.clock.now = T0 + 23 * HOUR; // 11:00 the next day is still within the window
    const a = await admit(user(1));
    await f.calls.settle(BUSINESS, user(1), a.callId, 'connected');
    await f.calls.settle(BUSINESS, user(1), a.callId, 'ended');
    f.clock.now = T0 + 23 * HOUR + DAY - 1;
    expect((await admit(user(2))).refusal).toMatchObject({ reason: 'daily_limit', retryAfter: 1 });
    f.clock.now = T0 + 23 * HOUR + DAY;
    expect((await admit(user(2))).admitted).toBe(true);
  });

  it('connected calls with one user ≥ perUser cap → daily_limit', async () => {
    await fixture({ whatsapp: { connectedCallsPer24h: { perNumber: null, perUser: 2 } } });
    await permit();
    for (let i = 0; i < 2; i++) {
      f.clock.now = T0 + i * 60_000;
      const a = await admit();
      await f.calls.settle(BUSINESS, USER, a.callId, 'connected');
      await f.calls.settle(BUSINESS, USER, a.callId, 'ended');
    }
    expect((await admit()).refusal).toEqual({ reason: 'daily_limit', code: 480, retryAfter: 24 * 3600 - 60 });
    await permit(user(9));
    expect((await admit(user(9))).admitted).toBe(true);
  });

  it('attempts ≥ callAttemptsPer24h → attempt_limit 480 with Retry-After', async () => {
    await fixture({ whatsapp: { callAttemptsPer24h: 2 } });
    await permit();
    for (let i = 0; i < 2; i++) {
      f.clock.now = T0 + i * 1000;
      const a = await admit();
      await f.calls.settle(BUSINESS, USER, a.callId, 'failed');
    }
    expect((await admit()).refusal).toEqual({ reason: 'attempt_limit', code: 480, retryAfter: 24 * 3600 - 1 });
  });
});

describe("Meta's connected-calls cap is per customer (SPEC §7), by default", () => {
  it('150 connected calls from one number to 150 different customers in 24 h all connect', async () => {
    expect(f.config.current.whatsapp.connectedCallsPer24h).toEqual({ perUser: 100, perNumber: null });
    for (let i = 0; i < 150; i++) {
      await permit(user(i));
      f.clock.now = T0 + i * 60_000;
      const a = await admit(user(i));
      expect(a.admitted, `call ${i + 1}`).toBe(true);
      await f.calls.settle(BUSINESS, user(i), a.callId, 'connected');
      await f.calls.settle(BUSINESS, user(i), a.callId, 'ended');
    }
    expect(await f.calls.connected24h(BUSINESS)).toBe(150);
  });

  it("the 101st connected call to one customer in 24 h is daily_limit 480, Retry-After until the oldest leaves the window; another customer still goes", async () => {
    await permit();
    for (let i = 0; i < 100; i++) {
      f.clock.now = T0 + i * 60_000;
      const a = await admit();
      expect(a.admitted, `call ${i + 1}`).toBe(true);
      await f.calls.settle(BUSINESS, USER, a.callId, 'connected');
      await f.calls.settle(BUSINESS, USER, a.callId, 'ended');
    }
    f.clock.now = T0 + 100 * 60_000;
    expect((await admit()).refusal).toEqual({ reason: 'daily_limit', code: 480, retryAfter: 24 * 3600 - 100 * 60 });
    await permit(user(1));
    expect((await admit(user(1))).admitted).toBe(true);
    // The first call leaves the window 24 h after it connected: the customer may be called again.
    f.clock.now = T0 + DAY;
    expect((await admit()).admitted).toBe(true);
  });
});

describe("Meta's restriction of business-initiated calling (SPEC §3 account_restricted)", () => {
  const restrict = (until: number, numbers = [BUSINESS]) => f.permissions.restrictions.apply({ kind: 'restriction', numbers, until, expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }, 'meta');

  it('refused 403 account_restricted with Retry-After = seconds until the expiry; after it, calls go', async () => {
    await permit();
    await restrict(T0 + 3 * DAY + 500);
    expect((await admit()).refusal).toEqual({ reason: 'account_restricted', code: 403, retryAfter: 3 * 24 * 3600 + 1 });
    f.clock.now = T0 + 3 * DAY + 500;
    expect((await admit()).admitted).toBe(true);
  });

  it('checked right after calling_disabled, before region_blocked and the permission', async () => {
    await restrict(T0 + DAY);
    expect((await admit(USER, { regionBlocked: true })).reason).toBe('account_restricted');
    await f.permissions.setCalling(BUSINESS, false);
    expect((await admit(USER, { regionBlocked: true })).reason).toBe('calling_disabled');
  });

  it("a user's call is never refused for it, and still grants the callback permission", async () => {
    await restrict(T0 + DAY);
    const r = await f.calls.admitInbound(BUSINESS, USER, newCallId());
    expect(r.admitted).toBe(true);
    expect(r.grantedUntil).toBe(T0 + 168 * HOUR);
  });

  it('lifted by hand: calls go at once, recorded in wa:restrictions; a second lift finds none', async () => {
    await permit();
    await restrict(T0 + DAY);
    expect(await f.permissions.restrictions.lift(BUSINESS, 'api')).toBe(true);
    expect((await admit()).admitted).toBe(true);
    expect(await f.permissions.restrictions.lift(BUSINESS, 'api')).toBe(false);
    const events = (await f.redis.xrange('wa:restrictions', '-', '+')).map(([, flat]) => flat[1]);
    expect(events).toEqual(['restricted', 'lifted']);
    expect(await f.permissions.restrictions.read(BUSINESS)).toEqual({ lifted: { at: T0, by: 'api' } });
  });

  it('shared by every instance: another state store on the same Redis refuses too', async () => {
    await permit();
    await restrict(T0 + DAY);
    const other = await stateFixture(server.url);
    try {
      const r = await other.calls.admitOutbound({ business: BUSINESS, user: USER, callId: newCallId(), regionBlocked: false });
      expect(r).toEqual({ admitted: false, refusal: { reason: 'account_restricted', code: 403, retryAfter: 24 * 3600 } });
    } finally {
      await other.close();
    }
  });

  it('only the numbers it names', async () => {
    await restrict(T0 + DAY, ['+447418613983']);
    await permit();
    expect((await admit()).admitted).toBe(true);
  });
});

describe('caps under concurrency', () => {
  it('5 simultaneous calls at 99/100 admit exactly 1', async () => {
    await fixture({ whatsapp: { connectedCallsPer24h: { perNumber: 100, perUser: null } } });
    const k = `wa:{${BUSINESS.slice(1)}}:connected`;
    for (let i = 0; i < 99; i++) await f.redis.zadd(k, T0 - 1000 - i, `old-${i}`);
    for (let i = 0; i < 5; i++) await permit(user(i));
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => admit(user(i))));
    expect(results.filter((r) => r.admitted)).toHaveLength(1);
    expect(results.filter((r) => r.reason === 'daily_limit')).toHaveLength(4);
  });

  it('200 parallel admits from 4 clients never exceed maxConcurrentCalls', async () => {
    await fixture({ whatsapp: { maxConcurrentCalls: 25 } });
    for (let i = 0; i < 200; i++) await permit(user(i));
    const clients = [f, ...await Promise.all([1, 2, 3].map(() => stateFixture(server.url, { whatsapp: { maxConcurrentCalls: 25 } })))];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => clients[i % 4]!.calls.admitOutbound({ business: BUSINESS, user: user(i), callId: newCallId(), regionBlocked: false })),
    );
    expect(results.filter((r) => r.admitted)).toHaveLength(25);
    expect(await f.calls.activeCalls(BUSINESS)).toBe(25);
    await Promise.all(clients.slice(1).map((c) => c.close()));
  });
});

describe('settle applies each outcome exactly once', () => {
  it('connected counts once however often and from however many instances it is settled', async () => {
    await permit();
    const a = await admit();
    const other = await stateFixture(server.url);
    const results = await Promise.all([
      f.calls.settle(BUSINESS, USER, a.callId, 'connected'),
      other.calls.settle(BUSINESS, USER, a.callId, 'connected'),
      f.calls.settle(BUSINESS, USER, a.callId, 'connected'),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await f.calls.connected24h(BUSINESS)).toBe(1);
    expect(await f.calls.activeCalls(BUSINESS)).toBe(1);
    const ends = await Promise.all([f.calls.settle(BUSINESS, USER, a.callId, 'ended'), other.calls.settle(BUSINESS, USER, a.callId, 'ended')]);
    expect(ends.map((r) => r.status).sort()).toEqual(['applied', 'duplicate']);
    expect(await f.calls.activeCalls(BUSINESS)).toBe(0);
    expect(await f.calls.connected24h(BUSINESS)).toBe(1);
    await other.close();
  });

  it('a late unanswered after connected changes nothing', async () => {
    await permit();
    const a = await admit();
    await f.calls.settle(BUSINESS, USER, a.callId, 'connected');
    expect((await f.calls.settle(BUSINESS, USER, a.callId, 'unanswered')).status).toBe('duplicate');
    expect((await f.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(0);
  });

  it('an unknown call id settles nothing', async () => {
    expect((await f.calls.settle(BUSINESS, USER, 'nope', 'connected')).status).toBe('unknown');
  });
});

describe('consecutive unanswered (SPEC §3, §7)', () => {
  it('nudge at 2, revoke at 4, then no_permission', async () => {
    await permit();
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await admit();
      expect(a.admitted).toBe(true);
      const s = await f.calls.settle(BUSINESS, USER, a.callId, 'unanswered');
      expect(s.consecutiveUnanswered).toBe(i + 1);
      seen.push(s.event);
    }
    expect(seen).toEqual([undefined, 'nudged', undefined, 'revoked']);
    expect((await admit()).reason).toBe('no_permission');
    const st = await f.permissions.userState(BUSINESS, USER);
    expect(st.permission).toEqual({ kind: 'none', cause: 'unanswered' });
    expect(f.events.map((e) => e.event)).toEqual(['granted', 'nudged', 'revoked']);
    const stream = await f.redis.xrange('wa:permissions', '-', '+');
    expect(stream.map(([, fl]) => fl[1])).toEqual(['granted', 'nudged', 'revoked']);
  });

  it('a connected call resets the run; a failed one leaves it alone', async () => {
    await permit();
    for (const outcome of ['unanswered', 'unanswered', 'failed'] as const) {
      const a = await admit();
      await f.calls.settle(BUSINESS, USER, a.callId, outcome);
    }
    expect((await f.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(2);
    const a = await admit();
    await f.calls.settle(BUSINESS, USER, a.callId, 'connected');
    expect((await f.permissions.userState(BUSINESS, USER)).consecutiveUnanswered).toBe(0);
  });
});

describe('leases', () => {
  it("a dead instance's calls stop counting after one lease period; a live one's are renewed", async () => {
    await fixture({ whatsapp: { maxConcurrentCalls: 2, leaseSeconds: 90 } });
    await permit(user(1));
    await permit(user(2));
    await permit(user(3));
    const dead = await admit(user(1)); // its instance "crashes": never renewed, never settled
    const alive = await admit(user(2));
    expect((await admit(user(3))).reason).toBe('concurrency_limit');
    for (const t of [30, 60, 89]) {
      f.clock.now = T0 + t * 1000;
      expect(await f.calls.renewLeases(BUSINESS, [alive.callId])).toBe(1);
    }
    f.clock.now = T0 + 90_000;
    expect(await f.calls.activeCalls(BUSINESS)).toBe(1);
    expect(await f.calls.renewLeases(BUSINESS, [dead.callId])).toBe(0); // an expired lease is not revived
    expect((await admit(user(3))).admitted).toBe(true);
    // The dead call's reservation is gone too: settling it late changes nothing that counts.
    await f.calls.settle(BUSINESS, user(1), dead.callId, 'connected');
    expect(await f.calls.activeCalls(BUSINESS)).toBe(2);
  });

  it("a dead instance's user is no longer busy after the lease", async () => {
    await permit();
    await admit();
    f.clock.now = T0 + 90_000;
    expect((await admit()).admitted).toBe(true);
  });
});

describe('admitInbound (SPEC §3 inbound)', () => {
  it('grants a temporary callback permission that lets an outbound call through', async () => {
    expect((await admit()).reason).toBe('no_permission');
    const r = await f.calls.admitInbound(BUSINESS, USER, newCallId());
    expect(r).toMatchObject({ admitted: true, grantedUntil: T0 + 168 * HOUR });
    const st = await f.permissions.userState(BUSINESS, USER);
    expect(st.permission).toEqual({ kind: 'temporary', expiresAt: T0 + 168 * HOUR, source: 'callback' });
  });

  it('never downgrades a permanent permission', async () => {
    await permit();
    const r = await f.calls.admitInbound(BUSINESS, USER, newCallId());
    expect(r.grantedUntil).toBeUndefined();
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
  });

  it('grants nothing when callbackPermission is off', async () => {
    await fixture({ whatsapp: { callbackPermission: false } });
    await f.calls.admitInbound(BUSINESS, USER, newCallId());
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('none');
  });

  it('refuses past maxConcurrentCalls (486) but still grants the callback permission', async () => {
    await fixture({ whatsapp: { maxConcurrentCalls: 1 } });
    await f.calls.admitInbound(BUSINESS, user(1), newCallId());
    const r = await f.calls.admitInbound(BUSINESS, user(2), newCallId());
    expect(r.admitted).toBe(false);
    expect(!r.admitted && r.refusal).toEqual({ reason: 'concurrency_limit', code: 486 });
    expect((await f.permissions.read(BUSINESS, user(2))).kind).toBe('temporary');
  });

  it('a connected inbound call resets unanswered and request limits, and counts nothing toward the caps', async () => {
    await permit();
    const a = await admit();
    await f.calls.settle(BUSINESS, USER, a.callId, 'unanswered');
    await f.permissions.revoke(BUSINESS, USER, 'user');
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
    const id = newCallId();
    await f.calls.admitInbound(BUSINESS, USER, id);
    await f.calls.settle(BUSINESS, USER, id, 'connected');
    const st = await f.permissions.userState(BUSINESS, USER);
    expect(st.consecutiveUnanswered).toBe(0);
    expect(st.permissionRequests.last24h).toBe(0);
    expect(await f.calls.connected24h(BUSINESS)).toBe(0);
  });
});

describe('explainOutbound (GET /v1/decisions)', () => {
  it('reports every check and reserves nothing', async () => {
    await f.permissions.setCalling(BUSINESS, false);
    const d = await f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false });
    expect(d.result).toEqual({ admitted: false, refusal: { reason: 'calling_disabled', code: 403 } });
    expect(d.checks).toEqual([
      { check: 'calling_disabled', result: 'fail' },
      { check: 'account_restricted', result: 'pass' },
      { check: 'region_blocked', result: 'pass' },
      { check: 'no_permission', result: 'fail' },
      { check: 'unanswered_guard', result: 'pass' },
      { check: 'user_busy', result: 'pass' },
      { check: 'concurrency_limit', result: 'pass' },
      { check: 'daily_limit', result: 'pass' },
      { check: 'attempt_limit', result: 'pass' },
    ]);
    expect(await f.redis.keys('*')).toEqual([`wa:{${BUSINESS.slice(1)}}:number`]);
  });
});

describe('permission requests (SPEC §7: 1 per 24 h, 2 per 7 days, reset by a connected call)', () => {
  it('limits with exact Retry-After at the 24 h and 7 day edges', async () => {
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
    f.clock.now = T0 + HOUR;
    expect(await f.permissions.reservePermissionRequest(BUSINESS, USER)).toEqual({ status: 'limited', retryAfterSeconds: 23 * 3600 });
    f.clock.now = T0 + DAY;
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
    f.clock.now = T0 + 2 * DAY;
    // 2 in the last 7 days: the first leaves the week at T0 + 7 d.
    expect(await f.permissions.reservePermissionRequest(BUSINESS, USER)).toEqual({ status: 'limited', retryAfterSeconds: 5 * 24 * 3600 });
    f.clock.now = T0 + 7 * DAY;
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
  });

  it('a released reservation (request not sent) does not consume the allowance', async () => {
    const r = await f.permissions.reservePermissionRequest(BUSINESS, USER);
    if (r.status !== 'reserved') throw new Error('expected a reservation');
    await r.release();
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
  });

  it('a permanent permission refuses requests', async () => {
    await permit();
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('permanent');
  });

  it('a connected call resets the limits', async () => {
    await f.permissions.reservePermissionRequest(BUSINESS, USER);
    await f.permissions.grant(BUSINESS, USER, 'temporary', 'webhook', T0 + DAY);
    const a = await admit();
    await f.calls.settle(BUSINESS, USER, a.callId, 'connected');
    await f.calls.settle(BUSINESS, USER, a.callId, 'ended');
    expect((await f.permissions.reservePermissionRequest(BUSINESS, USER)).status).toBe('reserved');
  });
});

describe('an admission id: one reservation whatever the retries, released by its id (issue #26)', () => {
  const live = async () => ({
    active: await f.calls.activeCalls(BUSINESS),
    busy: await f.redis.hget(numberKeys(BUSINESS).activeUser, USER),
    attempts: await f.redis.zcard(numberKeys(BUSINESS).attempts),
  });

  it('a retry of an admitted id answers admitted again and reserves nothing more (not user_busy against itself)', async () => {
    await permit();
    const a = await admit();
    const again = await admit(USER, { callId: a.callId });
    expect(again.admitted).toBe(true);
    expect(await live()).toEqual({ active: 1, busy: a.callId, attempts: 1 });
    // Another id for the same user is still refused: the lock is the call's, not the id's.
    expect((await admit()).reason).toBe('user_busy');
  });

  it('releasing an admitted id frees its lease, its user_busy lock and its attempt; twice changes nothing more', async () => {
    await permit();
    const a = await admit();
    expect(await f.calls.releaseAdmission(BUSINESS, a.callId, true)).toBe('released');
    expect(await live()).toEqual({ active: 0, busy: null, attempts: 0 });
    expect(await f.calls.releaseAdmission(BUSINESS, a.callId, true)).toBe('none');
    expect((await admit()).admitted).toBe(true);
  });

  it('an id released before Redis ever saw it stays refused: a late copy of the admission reserves nothing', async () => {
    await permit();
    const callId = newCallId();
    expect(await f.calls.releaseAdmission(BUSINESS, callId, true)).toBe('none');
    expect((await admit(USER, { callId })).reason).toBe('state_unavailable');
    expect(await live()).toEqual({ active: 0, busy: null, attempts: 0 });
  });

  it('a settle after a release finds nothing to settle twice', async () => {
    await permit();
    const a = await admit();
    await f.calls.releaseAdmission(BUSINESS, a.callId, false);
    expect((await f.calls.settle(BUSINESS, USER, a.callId, 'connected')).status).toBe('duplicate');
    expect(await f.calls.connected24h(BUSINESS)).toBe(0);
  });
});
