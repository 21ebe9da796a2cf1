// GET /v1/numbers/{number}/users/{user}, PUT and DELETE .../permission (SPEC §4).
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, HOUR, T0, newCallId } from '../helpers/state.js';
import { recentPermissionEvents } from '../../src/state/records.js';
import { useHttpFixtures, type HttpFixture } from './fixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeEach(async () => {
  f = await openFixture();
});

const USER_URL = `/v1/numbers/${BUSINESS}/users/${USER}`;
const iso = (ms: number) => new Date(ms).toISOString();
const noRequests = { last24h: 0, last7d: 0, remaining24h: 1, remaining7d: 2, waitSeconds: 0, viaCloudApi: false, via: null, last: null };
/** The configuration defaults every view carries, so a client can show figures against them. */
const limits = { connected24h: 100, unanswered: { nudgeAt: 2, revokeAt: 4, stopAt: null }, permissionRequests: { per24h: 1, per7d: 2 } };

describe('GET /v1/numbers/{number}/users/{user}', () => {
  it('a user nobody has heard of: no permission, nothing counted, the full request allowance', async () => {
    const res = await f.api('GET', USER_URL);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      number: BUSINESS,
      user: USER,
      phone: USER,
      permission: { kind: 'none' },
      consecutiveUnanswered: 0,
      connected24h: 0,
      permissionRequests: noRequests,
      metaHolds: {},
      limits,
    });
  });

  it('reports unanswered run, connected calls and used requests', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    for (const outcome of ['connected', 'unanswered'] as const) {
      const callId = newCallId();
      await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false });
      await f.calls.settle(BUSINESS, USER, callId, outcome);
      if (outcome === 'connected') await f.calls.settle(BUSINESS, USER, callId, 'ended');
    }
    await f.permissions.revoke(BUSINESS, USER, 'user');
    await f.permissions.reservePermissionRequest(BUSINESS, USER);
    const body = (await f.api('GET', `/v1/numbers/${BUSINESS.slice(1)}/users/${USER.slice(1)}`)).json();
    expect(body).toEqual({
      number: BUSINESS,
      user: USER,
      phone: USER,
      permission: { kind: 'none', cause: 'user' },
      consecutiveUnanswered: 1,
      connected24h: 1,
      permissionRequests: { last24h: 1, last7d: 1, remaining24h: 0, remaining7d: 1, waitSeconds: 24 * 3600, viaCloudApi: false, via: null, last: null },
      metaHolds: {},
      limits,
    });
  });

  it("after Meta refused a call for want of a permission: none, source meta_refused, Meta's words (ask again); and the holds Meta's limits left", async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const sentAt = f.clock.now + 1;
    f.clock.now += 10;
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'no_permission', text: 'No Approved Call Permission Found' }, sentAt, 60);
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'daily_limit', text: 'Connected Call Per Day Limit Hit' }, sentAt, 60);
    await f.calls.noteUpstreamRefusal(BUSINESS, USER, { lesson: 'attempt_limit', text: 'Call rate limit exceeded' }, sentAt, 60);
    const body = (await f.api('GET', USER_URL)).json();
    expect(body.permission).toEqual({ kind: 'none', source: 'meta_refused', cause: 'meta_refused', text: 'No Approved Call Permission Found' });
    expect(body.metaHolds).toEqual({ pairCapUntil: iso(f.clock.now + DAY), numberRateUntil: iso(f.clock.now + 60_000) });
  });

  it.each([
    ['a bad business number', `/v1/numbers/12/users/${USER}`, 400, 'invalid_request'],
    ['a bad user number', `/v1/numbers/${BUSINESS}/users/bob`, 400, 'invalid_request'],
    ['an unknown business number', `/v1/numbers/+447911123457/users/${USER}`, 404, 'unknown_number'],
  ])('%s → %i', async (_what, url, status, error) => {
    const res = await f.api('GET', url);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toBe(error);
  });
});

describe('PUT .../permission', () => {
  it('temporary without expiresAt lasts temporaryPermissionHours', async () => {
    const res = await f.api('PUT', `${USER_URL}/permission`, { kind: 'temporary' });
    expect(res.statusCode).toBe(200);
    expect(res.json().permission).toEqual({ kind: 'temporary', expiresAt: iso(T0 + 168 * HOUR), source: 'api' });
  });

  it('temporary with an ISO 8601 expiresAt (any offset)', async () => {
    const res = await f.api('PUT', `${USER_URL}/permission`, { kind: 'temporary', expiresAt: '2026-11-26T13:00:00+01:00' });
    expect(res.json().permission).toEqual({ kind: 'temporary', expiresAt: iso(T0 + DAY), source: 'api' });
  });

  it('temporary with expiresAt in epoch seconds', async () => {
    const res = await f.api('PUT', `${USER_URL}/permission`, { kind: 'temporary', expiresAt: (T0 + 2 * HOUR) / 1000 });
    expect(res.json().permission).toEqual({ kind: 'temporary', expiresAt: iso(T0 + 2 * HOUR), source: 'api' });
  });

  it('permanent', async () => {
    const res = await f.api('PUT', `${USER_URL}/permission`, { kind: 'permanent' });
    expect(res.json().permission).toEqual({ kind: 'permanent', source: 'api' });
  });

  it.each([
    ['expiresAt now', { kind: 'temporary', expiresAt: T0 / 1000 }, 'body.expiresAt: must be in the future'],
    ['expiresAt in the past', { kind: 'temporary', expiresAt: '2026-11-25T11:59:59Z' }, 'body.expiresAt: must be in the future'],
  ])('%s → 400 with a message saying why', async (_what, body, message) => {
    const res = await f.api('PUT', `${USER_URL}/permission`, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', message });
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['an unknown kind', { kind: 'forever' }],
    ['a permanent permission with expiresAt', { kind: 'permanent', expiresAt: '2027-01-01T00:00:00Z' }],
    ['expiresAt in milliseconds', { kind: 'temporary', expiresAt: T0 + DAY }],
    ['expiresAt without an offset', { kind: 'temporary', expiresAt: '2026-12-01T00:00:00' }],
    ['expiresAt not a date', { kind: 'temporary', expiresAt: 'next week' }],
  ])('%s → 400 invalid_request, nothing written', async (_what, body) => {
    const res = await f.api('PUT', `${USER_URL}/permission`, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_request');
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('an unknown business number → 404', async () => {
    const res = await f.api('PUT', `/v1/numbers/+447911123457/users/${USER}/permission`, { kind: 'permanent' });
    expect(res.statusCode).toBe(404);
    expect(await f.redis.keys('*')).toEqual([]);
  });
});

describe('grant, read, revoke round trip', () => {
  it('each change shows in GET, in admission, in wa:permissions and in the permission event counter', async () => {
    expect((await f.api('PUT', `${USER_URL}/permission`, { kind: 'permanent' })).statusCode).toBe(200);
    expect((await f.api('GET', USER_URL)).json().permission).toEqual({ kind: 'permanent', source: 'api' });
    expect((await f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false })).result.admitted).toBe(true);

    const revoked = await f.api('DELETE', `${USER_URL}/permission`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().permission).toEqual({ kind: 'none', cause: 'api' });
    expect((await f.api('GET', USER_URL)).json().permission).toEqual({ kind: 'none', cause: 'api' });
    expect((await f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false })).result).toEqual({
      admitted: false,
      refusal: { reason: 'no_permission', code: 480 },
    });

    const stream = (await recentPermissionEvents(f.redis, 10)).reverse();
    expect(stream.map(({ event, source, kind, number, user }) => ({ event, source, kind, number, user }))).toEqual([
      { event: 'granted', source: 'api', kind: 'permanent', number: BUSINESS, user: USER },
      { event: 'revoked', source: 'api', kind: 'none', number: BUSINESS, user: USER },
    ]);
    const text = await f.metrics.registry.metrics();
    expect(text).toContain('wa_edge_permission_events_total{event="granted",tenant="default"} 1');
    expect(text).toContain('wa_edge_permission_events_total{event="revoked",tenant="default"} 1');
  });

  it('a temporary permission reads as none (cause expired) once the clock passes expiresAt', async () => {
    await f.api('PUT', `${USER_URL}/permission`, { kind: 'temporary', expiresAt: (T0 + HOUR) / 1000 });
    f.clock.now = T0 + HOUR;
    expect((await f.api('GET', USER_URL)).json().permission).toEqual({ kind: 'none', cause: 'expired', source: 'api' });
  });
});
