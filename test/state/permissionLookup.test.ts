// Ask Meta before refusing for lack of permission (SPEC §2 whatsapp.cloudApi.permissionLookup, §5
// wa_edge_permission_lookups_total): the step after a local no_permission, against real Redis and a
// local stand-in that answers in Meta's documented shape, slowly, with errors, and not at all.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { stateFixture, newCallId, T0, DAY, HOUR, type StateFixture } from '../helpers/state.js';
import { startFakeMeta, type FakeMeta } from '../http/fakeMeta.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { PermissionLookup } from '../../src/permissionLookup.js';
import { numberKeys } from '../../src/state/keys.js';

const PHONE_NUMBER_ID = '1234567890';
const TOKEN = 'cloud-api-token-xyz';
const redis = useRedisServer();
let meta: FakeMeta;
let f: StateFixture;
let metrics: Metrics;
let logs: { level: number; msg: string; lookupError?: string }[];
let lookup: PermissionLookup;

beforeAll(async () => {
  meta = await startFakeMeta();
});
afterAll(async () => {
  await f?.close();
  await meta.close();
});

async function fixture(permissionLookup: unknown = { timeoutMs: 300, negativeCacheSeconds: 60 }, number: Record<string, unknown> = { phoneNumberId: PHONE_NUMBER_ID }) {
  await f?.close();
  f = await stateFixture(redis.url, {
    whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: TOKEN, permissionLookup } },
    numbers: [{ number: BUSINESS, calling: true, inbound: [], ...number }],
  });
  await f.redis.flushall();
  metrics = createMetrics();
  logs = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) });
  lookup = new PermissionLookup({ config: () => f.config.current, calls: f.calls, permissions: f.permissions, metrics, logger, clock: () => f.clock.now });
  meta.requests.length = 0;
}
beforeEach(async () => fixture());

const seconds = (ms: number) => ms / 1000;
const startCall = (can: boolean, limits: Record<string, unknown>[] = [{ time_period: 'PT24H', max_allowed: 100, current_usage: 3 }]) => ({
  action_name: 'start_call',
  can_perform_action: can,
  limits,
});
const requestAction = { action_name: 'send_call_permission_request', can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 1, current_usage: 0 }] };
/** Meta's documented answer. */
const answer = (status: string, actions: unknown[], expiration?: number) => ({
  status: 200,
  body: { messaging_product: 'whatsapp', permission: { status, ...(expiration !== undefined ? { expiration_time: expiration } : {}) }, actions },
});

const call = () => ({ business: BUSINESS, user: USER, callId: newCallId(), regionBlocked: false });
/** The SIP flow: the admission script, then the lookup step when it says no_permission. */
async function admit() {
  const c = call();
  const first = await f.calls.admitOutbound(c);
  if (first.admitted || first.refusal.reason !== 'no_permission') return first;
  return (await lookup.admitAfterNoPermission(c, {})) ?? first;
}
const counted = async () => Object.fromEntries((await metrics.permissionLookupsTotal.get()).values.map((v) => [v.labels.result, v.value]));

describe('Meta holds a permission the edge has not seen', () => {
  it('temporary, start_call possible: admitted, kept under source meta_lookup with Meta\'s expiry, counted allowed', async () => {
    meta.answer = answer('temporary', [requestAction, startCall(true)], seconds(T0 + 3 * DAY));
    expect(await admit()).toEqual({ admitted: true });
    expect(meta.requests).toHaveLength(1);
    expect(meta.requests[0]).toMatchObject({ method: 'GET', url: `/v23.0/${PHONE_NUMBER_ID}/call_permissions?user_wa_id=${USER.slice(1)}` });
    expect(meta.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'temporary', expiresAt: T0 + 3 * DAY, source: 'meta_lookup' });
    expect(f.events).toMatchObject([{ event: 'granted', source: 'meta_lookup' }]);
    expect(await counted()).toMatchObject({ allowed: 1, refused: 0, error: 0 });
    // The next call is admitted locally: Meta is not asked again.
    expect(await admit()).toMatchObject({ admitted: false, refusal: { reason: 'user_busy' } });
    expect(meta.requests).toHaveLength(1);
  });

  it('permanent: kept as permanent; every other check still holds (calls admitted again through the script)', async () => {
    meta.answer = answer('permanent', [startCall(true)]);
    f.config.current = { ...f.config.current, whatsapp: { ...f.config.current.whatsapp, maxConcurrentCalls: 1 } };
    await f.calls.admitInbound(BUSINESS, '+447911000001', newCallId());
    expect(await admit()).toMatchObject({ admitted: false, refusal: { reason: 'concurrency_limit' } });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'meta_lookup' });
  });
});

describe('Meta says no', () => {
  it('no_permission: refused no_permission, the "no" reused for negativeCacheSeconds, then asked again', async () => {
    meta.answer = answer('no_permission', [requestAction, startCall(false, [])]);
    expect(await admit()).toMatchObject({ admitted: false, refusal: { reason: 'no_permission', code: 480 } });
    f.clock.now += 59_000;
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(meta.requests).toHaveLength(1);
    f.clock.now += 2000;
    meta.answer = answer('permanent', [startCall(true)]);
    expect(await admit()).toEqual({ admitted: true });
    expect(meta.requests).toHaveLength(2);
    expect(await counted()).toMatchObject({ allowed: 1, refused: 1 });
  });

  it("start_call limit used up: daily_limit with Retry-After from limit_expiration_time; Meta's cap recorded and a higher configured cap flagged", async () => {
    const freesAt = T0 + 5 * HOUR;
    meta.answer = answer('permanent', [startCall(false, [{ time_period: 'PT24H', max_allowed: 5, current_usage: 5, limit_expiration_time: seconds(freesAt) }])]);
    expect(await admit()).toEqual({ admitted: false, refusal: { reason: 'daily_limit', code: 480, retryAfter: 5 * 3600 } });
    await expect.poll(() => f.redis.hget(numberKeys(BUSINESS).number, 'metaCallCap24h')).toBe('5');
    expect(await lookup.metaCap(BUSINESS)).toEqual({ connected24h: 5, seenAt: T0 });
    expect((await metrics.metaCallCap.get()).values).toEqual([expect.objectContaining({ labels: { number: BUSINESS, tenant: 'default' }, value: 5 })]);
    // whatsapp.connectedCallsPer24h.perUser is 100 by default: above Meta's 5.
    expect((await metrics.capAboveMeta.get()).values).toEqual([expect.objectContaining({ labels: { number: BUSINESS, tenant: 'default' }, value: 1 })]);
    expect(await counted()).toMatchObject({ refused: 1 });
  });

  it('an expired temporary permission at Meta is no permission', async () => {
    meta.answer = answer('temporary', [startCall(true)], seconds(T0 - HOUR));
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none' });
  });
});

describe('Meta fails: the local answer stands, counted, logged once per kind', () => {
  const warnings = (key: string) => logs.filter((l) => l.level === 40 && l.lookupError === key);

  it('slower than the deadline: refused no_permission within the deadline, not after Meta answers', async () => {
    meta.answer = { ...answer('permanent', [startCall(true)]), delayMs: 3000 };
    const t = performance.now();
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(await counted()).toMatchObject({ error: 1, allowed: 0 });
    expect(warnings('timeout')).toHaveLength(1);
  });

  it('no answer at all: the deadline ends it', async () => {
    meta.answer = 'hang';
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(await counted()).toMatchObject({ error: 1 });
  });

  it('Meta\'s error ("not available with SIP"): logged once at warn, then at debug; errors are reused like a "no"', async () => {
    meta.answer = { status: 400, body: { error: { message: 'This endpoint is not available when SIP calling is enabled', type: 'OAuthException', code: 138013 } } };
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    f.clock.now += 61_000;
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(meta.requests).toHaveLength(2);
    expect(warnings('meta_138013')).toHaveLength(1);
    expect(warnings('meta_138013')[0]!.msg).toMatch(/not available when SIP calling is enabled.*local answer stands/);
    expect(logs.filter((l) => l.level === 20 && l.lookupError === 'meta_138013')).toHaveLength(1);
    expect(await counted()).toMatchObject({ error: 2 });
    // Within negativeCacheSeconds the error is not asked again.
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(meta.requests).toHaveLength(2);
  });

  it('a 5xx without Meta\'s envelope, and an answer that is not call_permissions, are errors of their own kind', async () => {
    meta.answer = { status: 503, body: 'upstream down' };
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    f.clock.now += 61_000;
    meta.answer = { status: 200, body: { data: [] } };
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(warnings('http_503')).toHaveLength(1);
    expect(warnings('malformed')).toHaveLength(1);
  });

  it('Meta unreachable (nothing listens): error, local answer', async () => {
    const gone = await startFakeMeta();
    await gone.close();
    f.config.current = { ...f.config.current, whatsapp: { ...f.config.current.whatsapp, cloudApi: { ...f.config.current.whatsapp.cloudApi!, baseUrl: gone.baseUrl } } };
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(warnings('unreachable')).toHaveLength(1);
  });
});

describe('when the step does not run', () => {
  it('permissionLookup off (the default), or a number without phoneNumberId: Meta is never asked', async () => {
    await fixture(false);
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    await fixture(true, { phoneNumberId: undefined });
    expect(await admit()).toMatchObject({ refusal: { reason: 'no_permission' } });
    expect(await lookup.ask(BUSINESS, USER, 'any')).toEqual({ asked: false, why: `${BUSINESS} has no phoneNumberId` });
    expect(meta.requests).toHaveLength(0);
    expect(await counted()).toMatchObject({ allowed: 0, refused: 0, error: 0 });
  });

  it('true takes the defaults: 800 ms deadline', async () => {
    await fixture(true);
    meta.answer = { ...answer('permanent', [startCall(true)]), delayMs: 500 };
    expect(await admit()).toEqual({ admitted: true });
  });
});
