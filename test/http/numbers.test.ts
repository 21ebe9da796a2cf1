// GET /v1/numbers and PUT /v1/numbers/{number}/calling (SPEC §4).
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { newCallId } from '../helpers/state.js';
import { useHttpFixtures, type HttpFixture } from './fixture.js';

const US_NUMBER = '+12024561111';
/** The caps the figures are held against (configuration defaults). */
const limits = { activeCalls: 1000, connected24h: null, connected24hPerUser: 100 };

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeEach(async () => {
  f = await openFixture({
    numbers: [
      { number: BUSINESS, calling: true, inbound: [] },
      { number: US_NUMBER, calling: false, inbound: [] },
    ],
  });
  await f.redis.flushall();
});

describe('GET /v1/numbers', () => {
  it('each configured number with its toggle, region, eligibility and shared counts', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const a = await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId: newCallId(), regionBlocked: false });
    expect(a.admitted).toBe(true);
    const res = await f.api('GET', '/v1/numbers');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      numbers: [
        { number: BUSINESS, calling: true, telnyxCalling: null, region: 'GB', businessInitiatedEligible: true, activeCalls: 1, connected24h: 0, limits, metaCap: null, restriction: null, warning: null },
        { number: US_NUMBER, calling: false, telnyxCalling: null, region: 'US', businessInitiatedEligible: false, activeCalls: 0, connected24h: 0, limits, metaCap: null, restriction: null, warning: null },
      ],
    });
  });

  it('connected24h counts connected outbound calls', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const callId = newCallId();
    await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false });
    await f.calls.settle(BUSINESS, USER, callId, 'connected');
    await f.calls.settle(BUSINESS, USER, callId, 'ended');
    const [gb] = (await f.api('GET', '/v1/numbers')).json().numbers;
    expect(gb).toMatchObject({ activeCalls: 0, connected24h: 1 });
  });

  it('limits follow the configuration; a disabled cap is null', async () => {
    f = await openFixture({ whatsapp: { maxConcurrentCalls: 5, connectedCallsPer24h: { perNumber: null, perUser: 3 } } });
    const [gb] = (await f.api('GET', '/v1/numbers')).json().numbers;
    expect(gb.limits).toEqual({ activeCalls: 5, connected24h: null, connected24hPerUser: 3 });
    const user = (await f.api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).json();
    expect(user.limits.connected24h).toBe(3);
  });
});

describe('PUT /v1/numbers/{number}/calling', () => {
  it('turns the shared toggle off and on; GET /v1/numbers and admission see it', async () => {
    const off = await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toEqual({ number: BUSINESS, calling: false, changedAtTelnyx: false, message: `WhatsApp calling for ${BUSINESS} turned off at the edge (every instance).` });
    expect((await f.api('GET', '/v1/numbers')).json().numbers[0].calling).toBe(false);
    const d = await f.calls.explainOutbound({ business: BUSINESS, user: USER, regionBlocked: false });
    expect(d.result).toEqual({ admitted: false, refusal: { reason: 'calling_disabled', code: 403 } });
    // Without `+`, overriding a config default of false.
    expect((await f.api('PUT', `/v1/numbers/${US_NUMBER.slice(1)}/calling`, { enabled: true })).json()).toMatchObject({ number: US_NUMBER, calling: true, changedAtTelnyx: false });
    expect(await f.permissions.calling(US_NUMBER)).toBe(true);
  });

  it('accepts %2B for the +', async () => {
    const res = await f.api('PUT', `/v1/numbers/%2B${BUSINESS.slice(1)}/calling`, { enabled: false });
    expect(res.json()).toMatchObject({ number: BUSINESS, calling: false });
  });

  it('a number that is not E.164 → 400, nothing written', async () => {
    const res = await f.api('PUT', '/v1/numbers/not-a-number/calling', { enabled: false });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', message: 'params.number: not a possible E.164 number (country code and number, `+` optional)' });
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('a valid number that is not configured → 404 unknown_number, nothing written', async () => {
    const res = await f.api('PUT', '/v1/numbers/+447911123457/calling', { enabled: false });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'unknown_number', message: '+447911123457 is not a configured business number' });
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['enabled as a string', { enabled: 'false' }],
    ['enabled missing', {}],
    ['an unknown field', { enabled: true, extra: 1 }],
  ])('%s → 400 invalid_request, nothing written', async (_what, body) => {
    const res = await f.api('PUT', `/v1/numbers/${BUSINESS}/calling`, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_request');
    expect(await f.redis.keys('*')).toEqual([]);
  });
});
