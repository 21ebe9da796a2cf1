// Meta's restriction of business-initiated calling through the API (SPEC §3 account_restricted, §4):
// account_update on POST /v1/webhooks/whatsapp (signed as Meta signs), whatsapp.account.restricted
// on POST /v1/webhooks/telnyx (signed as Telnyx signs), GET /v1/numbers, GET /v1/decisions,
// DELETE /v1/numbers/{number}/restriction, the gauge and the counter.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, HOUR, T0 } from '../helpers/state.js';
import { useHttpFixtures, numbersWithId, PHONE_NUMBER_ID, type HttpFixture } from './fixture.js';

const APP_SECRET = 'meta-app-secret-123';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_KEY = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
const OTHER = '+447418613983';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeEach(async () => {
  f = await openFixture({
    whatsapp: { webhook: { appSecret: APP_SECRET, verifyToken: 'verify-token-456' } },
    telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'], webhook: { publicKey: PUBLIC_KEY } },
    numbers: numbersWithId([{ number: OTHER, calling: true, phoneNumberId: '222', inbound: [] }]),
  });
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
});

/** Meta's documented account_update envelope. */
const accountUpdate = (value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA-1', time: T0 / 1000, changes: [{ field: 'account_update', value }] }],
});
const callingRestriction = (expiration?: unknown, extra: Record<string, unknown> = { phone_number: BUSINESS.slice(1) }) =>
  accountUpdate({ ...extra, event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', ...(expiration === undefined ? {} : { expiration }) }] });

function deliverMeta(payload: unknown) {
  const raw = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
  return f.app.inject({ method: 'POST', url: '/v1/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, payload: raw });
}

function deliverTelnyx(eventType: string, payload: Record<string, unknown>) {
  const raw = JSON.stringify({ data: { record_type: 'event', id: 'evt-acct-1', event_type: eventType, occurred_at: new Date(T0).toISOString(), payload }, meta: { attempt: 1 } });
  const ts = String(Math.floor(T0 / 1000));
  const signature = sign(null, Buffer.from(`${ts}|${raw}`), privateKey).toString('base64');
  return f.app.inject({ method: 'POST', url: '/v1/webhooks/telnyx', headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts }, payload: raw });
}

const numberView = async (n = BUSINESS) => ((await f.api('GET', '/v1/numbers')).json().numbers as { number: string }[]).find((x) => x.number === n) as Record<string, unknown>;
const decide = async (from = BUSINESS) => (await f.api('GET', `/v1/decisions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(USER)}`)).json();
const metrics = async () => (await f.app.inject({ method: 'GET', url: '/metrics' })).body;

describe("POST /v1/webhooks/whatsapp: Meta's account_update", () => {
  it('ACCOUNT_RESTRICTION of business-initiated calling → the number refuses 403 account_restricted until the expiration (Retry-After), shown and counted', async () => {
    const until = T0 + 5 * DAY;
    const res = await deliverMeta(callingRestriction(until / 1000));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 0, linked: 0, account: { restricted: 1, warned: 0, unusable: 0 } });

    expect(await numberView()).toMatchObject({ restriction: { until: new Date(until).toISOString(), types: ['RESTRICTED_BIZ_INITIATED_CALLING'], source: 'meta', since: new Date(T0).toISOString() }, warning: null });
    expect(await numberView(OTHER)).toMatchObject({ restriction: null });
    const d = await decide();
    expect(d).toMatchObject({ admitted: false, reason: 'account_restricted', code: 403, retryAfter: 5 * 24 * 3600 });
    expect(d.checks).toContainEqual({ check: 'account_restricted', result: 'fail' });
    expect((await decide(OTHER)).admitted).toBe(false); // no permission there, but not restricted
    expect((await decide(OTHER)).reason).toBe('no_permission');

    const text = await metrics();
    expect(text).toContain(`wa_edge_account_restricted{number="${BUSINESS}",tenant="default"} 1`);
    expect(text).toContain(`wa_edge_account_restricted{number="${OTHER}",tenant="default"} 0`);
    expect(text).toContain('wa_edge_account_updates_total{result="restricted"} 1');
    expect(f.logs.join('\n')).toContain('Meta restricted business-initiated calling');

    f.clock.now = until;
    expect((await decide()).admitted).toBe(true);
    expect(await numberView()).toMatchObject({ restriction: null });
  });

  it('no expiration: 7 days (whatsapp.accountRestrictionHours); ISO 8601 with +0000 is read', async () => {
    await deliverMeta(callingRestriction());
    expect((await decide()).retryAfter).toBe(7 * 24 * 3600);
    await deliverMeta(callingRestriction('2026-11-27T12:00:00+0000'));
    expect((await decide()).retryAfter).toBe(2 * 24 * 3600);
  });

  it('names no number: every number of the account is restricted', async () => {
    const res = await deliverMeta(callingRestriction((T0 + DAY) / 1000, {}));
    expect(res.json().account).toEqual({ restricted: 2, warned: 0, unusable: 0 });
    expect((await numberView(OTHER)).restriction).toMatchObject({ source: 'meta' });
  });

  it('by phone_number_id', async () => {
    await deliverMeta(callingRestriction((T0 + DAY) / 1000, { phone_number_id: PHONE_NUMBER_ID }));
    expect((await numberView()).restriction).not.toBeNull();
    expect((await numberView(OTHER)).restriction).toBeNull();
  });

  it('ACCOUNT_VIOLATION → a warning on the number, calls still go', async () => {
    const res = await deliverMeta(accountUpdate({ phone_number: BUSINESS, event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'SCAM' } }));
    expect(res.json().account).toEqual({ restricted: 0, warned: 1, unusable: 0 });
    expect(await numberView()).toMatchObject({ restriction: null, warning: { text: expect.stringContaining('(SCAM)'), source: 'meta', at: new Date(T0).toISOString() } });
    expect((await decide()).admitted).toBe(true);
    // Shown for accountRestrictionHours, then gone.
    f.clock.now = T0 + 7 * DAY + 1;
    expect((await numberView()).warning).toBeNull();
  });

  it('a number that is not ours → 200, nothing written, counted and logged once with why', async () => {
    const before = await f.redis.keys('*');
    const res = await deliverMeta(callingRestriction((T0 + DAY) / 1000, { phone_number: '+447911000999' }));
    expect(res.statusCode).toBe(200);
    expect(res.json().account).toEqual({ restricted: 0, warned: 0, unusable: 1 });
    expect((await f.redis.keys('*')).sort()).toEqual(before.sort());
    expect(await metrics()).toContain('wa_edge_account_updates_total{result="unknown_business_number"} 1');
    expect(f.logs.filter((l) => l.includes('account update not applied'))).toHaveLength(1);
    expect(f.logs.join('\n')).toContain('+447911000999');
  });

  it('redelivered: the same restriction, no second refusal state, one more stream entry', async () => {
    const body = callingRestriction((T0 + DAY) / 1000);
    await deliverMeta(body);
    await deliverMeta(body);
    expect((await decide()).retryAfter).toBe(24 * 3600);
  });

  it('a permission reply and an account update in one delivery: both applied', async () => {
    const update = callingRestriction((T0 + DAY) / 1000);
    const reply = {
      field: 'messages',
      value: {
        metadata: { display_phone_number: BUSINESS.slice(1), phone_number_id: PHONE_NUMBER_ID },
        messages: [{ from: '447911123457', id: 'wamid.R', type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept', is_permanent: true } } }],
      },
    };
    const both = { ...update, entry: [{ ...update.entry[0]!, changes: [...update.entry[0]!.changes, reply] }] };
    expect((await deliverMeta(both)).json()).toMatchObject({ applied: 1, account: { restricted: 1 } });
  });
});

describe("POST /v1/webhooks/telnyx: whatsapp.account.restricted", () => {
  it("Meta's restriction as Telnyx forwards it → refused account_restricted", async () => {
    const res = await deliverTelnyx('whatsapp.account.restricted', {
      record_type: 'whatsapp_account',
      waba_id: 'WABA-1',
      phone_number: BUSINESS,
      restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: new Date(T0 + 2 * DAY).toISOString() }],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 0, linked: 0, account: { restricted: 1, warned: 0, unusable: 0 } });
    expect(await decide()).toMatchObject({ reason: 'account_restricted', retryAfter: 2 * 24 * 3600 });
    expect((await numberView()).restriction).toMatchObject({ source: 'telnyx' });
    expect(await metrics()).toContain('wa_edge_telnyx_webhooks_total{event="whatsapp.account.restricted"} 1');
  });

  it("Telnyx's documented example (waba_id, ban_info, no restriction list): a warning on every number, not enforced, counted malformed", async () => {
    const res = await deliverTelnyx('whatsapp.account.restricted', { record_type: 'whatsapp_account', waba_id: 'WABA-1', ban_info: { waba_ban_state: 'SCHEDULE_FOR_DISABLE', waba_ban_date: '2026-12-10' } });
    expect(res.json().account).toEqual({ restricted: 0, warned: 2, unusable: 1 });
    expect((await decide()).admitted).toBe(true);
    expect((await numberView()).warning).toMatchObject({ source: 'telnyx', text: expect.stringContaining('without saying what') });
    expect(await metrics()).toContain('wa_edge_account_updates_total{result="malformed"} 1');
  });
});

describe('DELETE /v1/numbers/{number}/restriction', () => {
  it('lifts it for every instance (Meta lifted it early), recorded in wa:restrictions; again → lifted false', async () => {
    await deliverMeta(callingRestriction((T0 + 3 * DAY) / 1000));
    f.clock.now = T0 + HOUR;
    const res = await f.api('DELETE', `/v1/numbers/${BUSINESS}/restriction`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ number: BUSINESS, lifted: true });
    expect((await decide()).admitted).toBe(true);
    expect(await numberView()).toMatchObject({ restriction: null });
    expect(await metrics()).toContain(`wa_edge_account_restricted{number="${BUSINESS}",tenant="default"} 0`);
    const [, lifted] = await f.redis.xrange('wa:restrictions', '-', '+');
    expect(lifted?.[1]).toEqual(['event', 'lifted', 'number', BUSINESS, 'source', 'api', 'at', String(T0 + HOUR), 'until', String(T0 + 3 * DAY)]);
    expect((await f.api('DELETE', `/v1/numbers/${BUSINESS.slice(1)}/restriction`)).json()).toEqual({ number: BUSINESS, lifted: false });
  });

  it('an unknown number → 404, a bad one → 400, nothing written', async () => {
    expect((await f.api('DELETE', '/v1/numbers/+447911123457/restriction')).statusCode).toBe(404);
    expect((await f.api('DELETE', '/v1/numbers/nope/restriction')).statusCode).toBe(400);
    expect(await f.redis.exists('wa:restrictions')).toBe(0);
  });

  it('needs the admin token', async () => {
    expect((await f.app.inject({ method: 'DELETE', url: `/v1/numbers/${BUSINESS}/restriction` })).statusCode).toBe(401);
  });
});
