// SPEC §2 telnyx.api, §4: one calling switch. The edge reads each number's calling_settings from a
// stand-in Telnyx, records it in Redis for every instance, refuses business-initiated calls
// 403 calling_disabled while Telnyx says off, and PUT /v1/numbers/{n}/calling changes it at Telnyx
// (PATCH). A Telnyx API outage never blocks calls: the last known state stays, and /readyz and
// GET /v1/numbers say it is stale.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { HOUR, T0 } from '../helpers/state.js';
import { startFakeTelnyx, type FakeTelnyx } from '../helpers/fakeTelnyx.js';
import { useHttpFixtures, type HttpFixture } from './fixture.js';
import { PermissionState } from '../../src/state/permissions.js';
import { StateStore } from '../../src/state/store.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let telnyx: FakeTelnyx;
let f: HttpFixture;
beforeAll(async () => {
  telnyx = await startFakeTelnyx({ now: () => T0 });
});
afterAll(async () => {
  await telnyx.close();
});

beforeEach(async () => {
  telnyx.requests.length = 0;
  telnyx.faults = {};
  telnyx.calling.clear();
  f = await openFixture({
    telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'], api: { key: telnyx.key, baseUrl: telnyx.baseUrl, timeoutMs: 400, callingPollSeconds: 60 } },
  });
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
});

const decision = () => f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false });
const refusedDisabled = { admitted: false, refusal: { reason: 'calling_disabled', code: 403 } };
const numberView = async () => (await f.api('GET', '/v1/numbers')).json().numbers[0];
const readyz = async () => (await f.app.inject({ method: 'GET', url: '/readyz' })).json();
const calls = (method: string) => telnyx.requests.filter((r) => r.method === method && r.path.endsWith('/calling_settings'));

describe("Telnyx's calling_settings, read into Redis", () => {
  it('off at Telnyx (Mission Control): business-initiated calls refused 403 calling_disabled; on again: admitted', async () => {
    telnyx.calling.set(BUSINESS, false);
    await f.telnyxCalling.poll();
    expect(calls('GET')[0]!.path).toBe(`/v2/whatsapp/phone_numbers/${encodeURIComponent(BUSINESS)}/calling_settings`);
    expect(calls('GET')[0]!.headers.authorization).toBe(`Bearer ${telnyx.key}`);
    expect((await decision()).result).toEqual(refusedDisabled);
    expect(await numberView()).toMatchObject({ calling: false, telnyxCalling: { enabled: false, checkedAt: new Date(T0).toISOString() } });
    expect((await readyz()).telnyxCalling).toEqual([{ number: BUSINESS, state: 'current', enabled: false }]);

    telnyx.calling.set(BUSINESS, true);
    await f.telnyxCalling.poll();
    expect((await decision()).result).toEqual({ admitted: true });
    expect(await numberView()).toMatchObject({ calling: true, telnyxCalling: { enabled: true } });
  });

  it('another instance sees what one read: the state is in Redis, not in the process', async () => {
    telnyx.calling.set(BUSINESS, false);
    await f.telnyxCalling.poll();
    const other = new PermissionState(new StateStore(f.redis, () => f.config.current, () => f.clock.now, () => {}));
    expect(await other.telnyxCalling(BUSINESS)).toEqual({ enabled: false, checkedAt: T0 });
  });

  it('Telnyx down (5xx, then no answer): the last known state stays, calls are not blocked by the outage, /readyz says stale with 200', async () => {
    await f.telnyxCalling.poll(); // on
    telnyx.faults.calling_settings_get = { status: 503, body: { errors: [{ code: '10001', title: 'Service Unavailable', detail: 'try again' }] } };
    f.clock.now = T0 + HOUR;
    await f.telnyxCalling.poll();
    expect((await decision()).result).toEqual({ admitted: true });
    const r = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(r.json().telnyxCalling).toEqual([{ number: BUSINESS, state: 'stale', enabled: true, error: 'Telnyx answered 503 (code 10001): Service Unavailable: try again' }]);
    expect(await numberView()).toMatchObject({
      calling: true,
      telnyxCalling: { enabled: true, checkedAt: new Date(T0).toISOString(), error: 'Telnyx answered 503 (code 10001): Service Unavailable: try again', errorAt: new Date(T0 + HOUR).toISOString() },
    });

    telnyx.faults.calling_settings_get = 'hang';
    await f.telnyxCalling.poll();
    expect((await readyz()).telnyxCalling[0]).toMatchObject({ state: 'stale', enabled: true, error: expect.stringContaining('did not answer') });
    expect((await decision()).result).toEqual({ admitted: true });
    // One warning per reason, not one per round of the outage.
    expect(f.logs.filter((l) => l.includes('calling_settings not read')).length).toBe(2);
  });

  it('an outage before the first answer: unknown, and calls are not blocked', async () => {
    telnyx.faults.calling_settings_get = { status: 500, body: 'oops' };
    await f.telnyxCalling.poll();
    expect((await readyz()).telnyxCalling).toEqual([{ number: BUSINESS, state: 'unknown', error: 'Telnyx answered 500: "oops"' }]);
    expect((await decision()).result).toEqual({ admitted: true });
    expect((await numberView()).telnyxCalling).toMatchObject({ enabled: null, checkedAt: null });
  });

  it('an answer to a read that started before a newer recorded one does not overwrite it', async () => {
    expect(await f.permissions.setTelnyxCalling(BUSINESS, T0 + 10, false)).toBe('recorded');
    expect(await f.permissions.setTelnyxCalling(BUSINESS, T0 + 5, true)).toBe('stale');
    expect((await decision()).result).toEqual(refusedDisabled);
  });
});

describe('PUT /v1/numbers/{number}/calling with telnyx.api: the switch at Telnyx itself', () => {
  it('PATCHes calling_settings, names the number and says Mission Control changes too; admission follows', async () => {
    const res = await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ number: BUSINESS, calling: false, changedAtTelnyx: true, message: `WhatsApp calling for ${BUSINESS} turned off at Telnyx: Mission Control shows the change too.` });
    expect(calls('PATCH').map((r) => r.body)).toEqual([{ enabled: false }]);
    expect(telnyx.calling.get(BUSINESS)).toBe(false);
    expect((await decision()).result).toEqual(refusedDisabled);
    // Off is Telnyx's alone: turned on again in Mission Control, the next read admits calls.
    expect(await f.permissions.calling(BUSINESS)).toBe(true);
    telnyx.calling.set(BUSINESS, true);
    await f.telnyxCalling.poll();
    expect((await decision()).result).toEqual({ admitted: true });
    await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false });

    expect((await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: true })).json()).toMatchObject({ calling: true, changedAtTelnyx: true });
    expect(telnyx.calling.get(BUSINESS)).toBe(true);
    expect((await decision()).result).toEqual({ admitted: true });
  });

  it("Telnyx refuses or fails the change: its answer with Telnyx's code, and nothing changes at the edge", async () => {
    telnyx.faults.calling_settings_patch = { status: 403, body: { errors: [{ code: '10010', title: 'Authorization failed', detail: 'not allowed' }] } };
    let res = await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'telnyx_unauthorized', upstream: { service: 'telnyx', status: 403, code: '10010' } });
    telnyx.faults.calling_settings_patch = 'hang';
    res = await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false });
    expect(res.statusCode).toBe(504);
    expect(await f.permissions.calling(BUSINESS)).toBe(true);
    expect((await decision()).result).toEqual({ admitted: true });
  });
});
