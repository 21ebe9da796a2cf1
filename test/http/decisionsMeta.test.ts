// Meta's view beside the edge's (whatsapp.cloudApi.permissionLookup): GET /v1/decisions says what
// Meta's call_permissions answers and when it differs; GET /v1/numbers shows Meta's cap in force.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { HOUR, T0 } from '../helpers/state.js';
import { startFakeMeta, type FakeMeta } from './fakeMeta.js';
import { useHttpFixtures, numbersWithId, type HttpFixture } from './fixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
let meta: FakeMeta;
beforeAll(async () => {
  meta = await startFakeMeta();
});
afterAll(async () => meta.close());
beforeEach(async () => {
  f = await openFixture({ whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: 'tok-123', permissionLookup: true } }, numbers: numbersWithId() });
  meta.requests.length = 0;
});

const decide = async () => (await f.api('GET', `/v1/decisions?from=%2B${BUSINESS.slice(1)}&to=%2B${USER.slice(1)}`)).json();
const metaSays = (status: string, startCall: Record<string, unknown>) => ({
  status: 200,
  body: { messaging_product: 'whatsapp', permission: { status }, actions: [{ action_name: 'start_call', ...startCall }] },
});

describe('GET /v1/decisions with the permission lookup', () => {
  it('Meta holds a permission the edge has not seen: the call would be admitted, and the view says they differ; nothing is written', async () => {
    meta.answer = metaSays('permanent', { can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 100, current_usage: 0 }] });
    const d = await decide();
    expect(d).toMatchObject({ admitted: true, reason: null, meta: { asked: true, result: 'allowed', permission: { status: 'permanent' }, differs: true, note: expect.stringMatching(/has not seen/) } });
    expect(d.checks).toContainEqual({ check: 'no_permission', result: 'fail' });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none' });
  });

  it("the edge holds a permission Meta does not: the edge's answer, flagged", async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'webhook');
    meta.answer = metaSays('no_permission', { can_perform_action: false, limits: [] });
    expect(await decide()).toMatchObject({ admitted: true, meta: { result: 'refused', reason: 'no_permission', differs: true, note: expect.stringMatching(/revocation the edge missed/) } });
  });

  it("Meta's start_call limit used up: daily_limit with Retry-After; Meta's cap shows on /v1/numbers, flagged when the configured one is higher", async () => {
    meta.answer = metaSays('temporary', { can_perform_action: false, limits: [{ time_period: 'PT24H', max_allowed: 10, current_usage: 10, limit_expiration_time: (T0 + 2 * HOUR) / 1000 }] });
    expect(await decide()).toMatchObject({ admitted: false, reason: 'daily_limit', code: 480, retryAfter: 7200, meta: { differs: false, startCall: { canPerform: false } } });
    await expect.poll(async () => (await f.api('GET', '/v1/numbers')).json().numbers[0].metaCap).toEqual({ connected24hPerUser: 10, seenAt: new Date(T0).toISOString(), configuredAbove: true });
    expect((await f.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/wa_edge_cap_above_meta\{number="\+447418613982",tenant="default"\} 1/);
  });

  it("Meta's error: the edge's answer stands, the view says so", async () => {
    meta.answer = { status: 500, body: { error: { message: 'An unknown error occurred', code: 1 } } };
    expect(await decide()).toMatchObject({ admitted: false, reason: 'no_permission', meta: { asked: true, result: 'error', error: expect.stringMatching(/unknown error/), differs: false } });
  });
});
