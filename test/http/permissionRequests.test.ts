// POST /v1/numbers/{number}/users/{user}/permission-requests (SPEC §4, §7: 1 per 24 h, 2 per 7 days).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, HOUR, T0 } from '../helpers/state.js';
import { DEFAULT_REQUEST_TEXT } from '../../src/http/cloudApi.js';
import { useHttpFixtures, numbersWithId, PHONE_NUMBER_ID, TOKEN, type HttpFixture } from './fixture.js';
import { startFakeMeta, type FakeMeta } from './fakeMeta.js';

const redis = useRedisServer();
let meta: FakeMeta;
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeAll(async () => {
  meta = await startFakeMeta();
});
afterAll(async () => {
  await meta.close();
});

async function fixture(overrides: Record<string, unknown> = {}) {
  f = await openFixture(overrides);
}

const REQUESTS_URL = `/v1/numbers/${BUSINESS}/users/${USER}/permission-requests`;
const request = () => f.api('POST', REQUESTS_URL);
const allowance = async () => (await f.api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).json().permissionRequests;

const recordElsewhere = () => f.api('POST', REQUESTS_URL, { sentElsewhere: true });
const unused = { last24h: 0, last7d: 0, remaining24h: 1, remaining7d: 2, waitSeconds: 0, viaCloudApi: false, via: null, last: null };

describe('without cloudApi: nothing is sent, so nothing is counted unless the operator records one sent elsewhere', () => {
  beforeEach(async () => {
    await fixture();
  });

  it('409 cloud_api_not_configured, saying so in words, and the allowance is untouched', async () => {
    const res = await request();
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'cloud_api_not_configured', message: expect.stringContaining('not sent: the edge has no WhatsApp Cloud API configured') });
    expect(await allowance()).toEqual(unused);
    expect(await f.redis.keys('*preq*')).toEqual([]);
  });

  it('{"sentElsewhere": true} → 202 {sent:false}: recorded, the allowance is used and the wait shows in the view', async () => {
    const res = await recordElsewhere();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ sent: false, channel: 'elsewhere' });
    expect(await allowance()).toEqual({ last24h: 1, last7d: 1, remaining24h: 0, remaining7d: 1, waitSeconds: 24 * 3600, viaCloudApi: false, via: null, last: { channel: 'elsewhere', sentAt: new Date(T0).toISOString() } });
  });

  it('over the limit, an unsendable request still answers 429 with the wait (the agent must not send one elsewhere either)', async () => {
    expect((await recordElsewhere()).statusCode).toBe(202);
    f.clock.now = T0 + HOUR;
    const res = await request();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(String(23 * 3600));
    expect((await allowance()).waitSeconds).toBe(23 * 3600);
  });

  it('429 with the exact Retry-After at the 24 h edge, then at the 7 day edge', async () => {
    expect((await recordElsewhere()).statusCode).toBe(202);

    f.clock.now = T0 + HOUR;
    let res = await recordElsewhere();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(String(23 * 3600));
    expect(res.json()).toEqual({ error: 'permission_request_limited', message: `next request possible in ${23 * 3600} s` });

    f.clock.now = T0 + DAY - 1000;
    res = await recordElsewhere();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');

    f.clock.now = T0 + DAY;
    expect((await recordElsewhere()).statusCode).toBe(202);

    // Two in the last 7 days: the first leaves the week at T0 + 7 d.
    f.clock.now = T0 + 2 * DAY;
    res = await recordElsewhere();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(String(5 * 24 * 3600));
    expect((await allowance()).waitSeconds).toBe(5 * 24 * 3600);

    f.clock.now = T0 + 7 * DAY - 1000;
    expect((await recordElsewhere()).headers['retry-after']).toBe('1');

    f.clock.now = T0 + 7 * DAY;
    expect((await recordElsewhere()).statusCode).toBe(202);
  });

  it('409 when the user granted a permanent permission, allowance untouched', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    for (const res of [await request(), await recordElsewhere()]) {
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toBe('permission_exists');
    }
    expect(await allowance()).toEqual(unused);
  });

  it('bad numbers, unknown number and a bad body are refused before Redis', async () => {
    expect((await f.api('POST', `/v1/numbers/${BUSINESS}/users/x/permission-requests`)).statusCode).toBe(400);
    expect((await f.api('POST', `/v1/numbers/+447911123457/users/${USER}/permission-requests`)).statusCode).toBe(404);
    expect((await f.api('POST', REQUESTS_URL, { text: '' })).statusCode).toBe(400);
    expect((await f.api('POST', REQUESTS_URL, { text: 'hi', extra: true })).statusCode).toBe(400);
    expect((await f.api('POST', REQUESTS_URL, { sentElsewhere: 'yes' })).statusCode).toBe(400);
    expect(await f.redis.keys('*')).toEqual([]);
  });
});

describe('with cloudApi: sent through a fake Meta', () => {
  const cloudApi = () => ({ baseUrl: meta.baseUrl, token: 'meta-token-xyz', timeoutMs: 300 });

  beforeEach(async () => {
    meta.requests.length = 0;
    meta.answer = {
      status: 200,
      body: { messaging_product: 'whatsapp', contacts: [{ input: USER.slice(1), wa_id: USER.slice(1) }], messages: [{ id: 'wamid.HBgLNDQ3OTExMTIzNDU2' }] },
    };
    await fixture({ whatsapp: { cloudApi: cloudApi() }, numbers: numbersWithId() });
  });

  it("202 with Meta's message id; Meta received exactly the interactive call_permission_request", async () => {
    const res = await request();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ sent: true, channel: 'cloud_api', kind: 'interactive', messageId: 'wamid.HBgLNDQ3OTExMTIzNDU2' });
    expect(meta.requests).toHaveLength(1);
    const [got] = meta.requests;
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe(`/v23.0/${PHONE_NUMBER_ID}/messages`);
    expect(got?.headers.authorization).toBe('Bearer meta-token-xyz');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '447911123456',
      type: 'interactive',
      interactive: {
        type: 'call_permission_request',
        action: { name: 'call_permission_request' },
        body: { text: DEFAULT_REQUEST_TEXT },
      },
    });
    expect(await allowance()).toMatchObject({ last24h: 1 });
  });

  it("sends the operator's text when given", async () => {
    await f.api('POST', REQUESTS_URL, { text: 'About your order ON-12853: may we call you?' });
    expect(meta.requests[0]?.body).toMatchObject({ interactive: { body: { text: 'About your order ON-12853: may we call you?' } } });
  });

  it('Meta answers 500 → 502 with its error, and the allowance is not consumed', async () => {
    meta.answer = { status: 500, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2 } } };
    const res = await request();
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: 'upstream_failed', message: 'Cloud API answered 500: Service temporarily unavailable (code 2)' });
    expect(await allowance()).toEqual({ ...unused, viaCloudApi: true, via: 'cloud_api' });
    meta.answer = { status: 200, body: { messages: [{ id: 'wamid.2' }] } };
    expect((await request()).json()).toEqual({ sent: true, channel: 'cloud_api', kind: 'interactive', messageId: 'wamid.2' });
  });

  it("Meta answers error 138017 (the user has a permanent permission) → 409 permission_exists, nothing counted, the permanent permission recorded (source meta)", async () => {
    meta.answer = { status: 400, body: { error: { message: 'Business has permanent call permission for this user', type: 'OAuthException', code: 138017, fbtrace_id: 'A1' } } };
    const res = await request();
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'permission_exists', message: expect.stringContaining('code 138017') });
    expect(await allowance()).toEqual({ ...unused, viaCloudApi: true, via: 'cloud_api' });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'meta' });
    // The next request is answered by the edge alone: Meta is not asked again.
    expect((await request()).json().error).toBe('permission_exists');
    expect(meta.requests).toHaveLength(1);
  });

  it('Meta does not answer within timeoutMs → 502, allowance not consumed', async () => {
    meta.answer = 'hang';
    const started = Date.now();
    const res = await request();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: 'upstream_failed', message: 'Cloud API no answer within 300 ms' });
    expect(await allowance()).toMatchObject({ last24h: 0 });
  });

  it('Meta unreachable → 502, allowance not consumed', async () => {
    const closed = await startFakeMeta();
    await closed.close();
    await fixture({ whatsapp: { cloudApi: { ...cloudApi(), baseUrl: closed.baseUrl } }, numbers: numbersWithId() });
    const res = await request();
    expect(res.statusCode).toBe(502);
    expect(res.json().message).toMatch(/^Cloud API unreachable \(.*ECONNREFUSED/);
    expect(await allowance()).toMatchObject({ last24h: 0 });
  });

  it('the number has no phoneNumberId → 409 before anything is reserved or sent', async () => {
    await fixture({ whatsapp: { cloudApi: cloudApi() } });
    const res = await request();
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe('phone_number_id_missing');
    expect(meta.requests).toHaveLength(0);
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('the view says requests are sent from here', async () => {
    expect(await allowance()).toMatchObject({ viaCloudApi: true, waitSeconds: 0 });
  });

  it('{"sentElsewhere": true}: recorded against the allowance, nothing sent to Meta', async () => {
    const res = await recordElsewhere();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ sent: false, channel: 'elsewhere' });
    expect(meta.requests).toHaveLength(0);
    expect(await allowance()).toMatchObject({ last24h: 1, viaCloudApi: true });
  });

  it('limited requests never reach Meta', async () => {
    await request();
    const res = await request();
    expect(res.statusCode).toBe(429);
    expect(meta.requests).toHaveLength(1);
  });

  it("Meta's token never appears in a log line", async () => {
    meta.answer = { status: 401, body: { error: { message: 'Invalid OAuth access token', code: 190 } } };
    await request();
    expect(f.logs.join('\n')).not.toContain('meta-token-xyz');
    expect(f.logs.join('\n')).not.toContain(TOKEN);
  });
});
