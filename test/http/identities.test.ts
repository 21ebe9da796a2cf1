// Users as Meta names them, through the API and the webhook (SPEC §3 "Numbers", §4, §7): a
// possible number the metadata does not list, a BSUID-only webhook, a webhook naming both
// identities followed by a call dialled by the phone number, an impossible number. Real Redis.
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, T0, newCallId } from '../helpers/state.js';
import { numberKeys } from '../../src/state/keys.js';
import { useHttpFixtures, numbersWithId, PHONE_NUMBER_ID, type HttpFixture } from './fixture.js';
import { startFakeMeta } from './fakeMeta.js';

const APP_SECRET = 'meta-app-secret-123';
const WEBHOOK = { appSecret: APP_SECRET, verifyToken: 'verify-token-456' };
/** Possible for +44, in a range the bundled metadata does not list. */
const UNLISTED = '+445912345678';
const BSUID = 'US.13491208655302741918';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;
beforeEach(async () => {
  f = await openFixture({ whatsapp: { webhook: WEBHOOK }, numbers: numbersWithId() });
});

type Sender = { from?: string; from_user_id?: string; contacts?: Record<string, unknown>[] };

/** One call_permission_reply message as Meta sends it, from a sender named however the test says. */
function replyMessage(id: string, sender: Sender, reply: Record<string, unknown> = { response: 'accept', is_permanent: true }) {
  const { contacts: _c, ...ids } = sender;
  return { ...ids, id, timestamp: String(T0 / 1000), type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: { ...reply, response_source: 'user_action' } } };
}

function change(messages: unknown[], contacts: Record<string, unknown>[] = [], metadata: Record<string, string> = { display_phone_number: BUSINESS.slice(1), phone_number_id: PHONE_NUMBER_ID }) {
  return { field: 'messages', value: { messaging_product: 'whatsapp', metadata, contacts, messages } };
}

const envelope = (...changes: unknown[]) => ({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes }] });

function deliver(payload: unknown) {
  const raw = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
  return f.app.inject({ method: 'POST', url: '/v1/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, payload: raw });
}

const userUrl = (user: string) => `/v1/numbers/${BUSINESS}/users/${encodeURIComponent(user)}`;
const admitOutbound = (user: string) => f.calls.admitOutbound({ business: BUSINESS, user, callId: newCallId(), regionBlocked: false });
const metric = async (line: string) => (await f.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(line));

describe('a possible number the metadata does not list', () => {
  it('is a user of the API: granted, shown, and a call dialled to it is admitted', async () => {
    const put = await f.api('PUT', `${userUrl(UNLISTED)}/permission`, { kind: 'permanent' });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ user: UNLISTED, phone: UNLISTED, permission: { kind: 'permanent', source: 'api' } });
    expect((await f.api('GET', userUrl(UNLISTED.slice(1)))).json()).toMatchObject({ user: UNLISTED, permission: { kind: 'permanent' } });
    const decision = await f.api('GET', `/v1/decisions?from=${encodeURIComponent(BUSINESS)}&to=${encodeURIComponent(UNLISTED)}`);
    expect(decision.json()).toMatchObject({ to: UNLISTED, admitted: true });
  });

  it("its signed call_permission_reply is applied, not set aside as 'not an E.164 number'", async () => {
    const res = await deliver(envelope(change([replyMessage('wamid.U1', { from: UNLISTED.slice(1) })], [{ wa_id: UNLISTED.slice(1), profile: { name: 'New' } }])));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await f.permissions.read(BUSINESS, UNLISTED)).toEqual({ kind: 'permanent', source: 'webhook' });
    expect((await admitOutbound(UNLISTED)).admitted).toBe(true);
  });
});

describe('an impossible number', () => {
  it.each([
    ['too short', '+4479111234'],
    ['too long', '+44791112345678'],
    ['letters', '+4479111abcde'],
    ['an unknown country code', '+99912345678'],
  ])('%s → 400 invalid_request, nothing written', async (_what, user) => {
    const res = await f.api('PUT', `${userUrl(user)}/permission`, { kind: 'permanent' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^params\.user: neither a possible E\.164 number/) });
    expect((await f.api('GET', `/v1/decisions?from=${encodeURIComponent(BUSINESS)}&to=${encodeURIComponent(user)}`)).statusCode).toBe(400);
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('in a webhook reply, with no BSUID beside it: counted and logged with why, never silently dropped', async () => {
    const res = await deliver(envelope(change([replyMessage('wamid.I1', { from: '4479111234' })])));
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 1, linked: 0 });
    expect(await metric('wa_edge_webhook_replies_unusable_total{reason="no_user_identity"}')).toMatch(/ 1$/);
    expect(f.logs.join('\n')).toMatch(/"messageId":"wamid\.I1".*"reason":"no_user_identity".*names neither a possible phone number nor a BSUID/);
  });
});

describe('a BSUID-only webhook', () => {
  const bsuidOnly = (id: string, reply?: Record<string, unknown>) => envelope(change([replyMessage(id, { from_user_id: BSUID }, reply)], [{ user_id: BSUID, profile: { name: 'Hidden', username: '@hidden' } }]));

  it('keeps the grant under the BSUID; the API shows it by BSUID', async () => {
    const res = await deliver(bsuidOnly('wamid.B1', { response: 'accept', expiration_timestamp: (T0 + DAY) / 1000 }));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    const view = await f.api('GET', userUrl(BSUID));
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({ number: BUSINESS, user: BSUID, bsuid: BSUID, permission: { kind: 'temporary', expiresAt: new Date(T0 + DAY).toISOString(), source: 'webhook' } });
    expect(view.json().phone).toBeUndefined();
    expect(await f.redis.hgetall(numberKeys(BUSINESS).perm(BSUID))).toMatchObject({ kind: 'temporary', source: 'webhook' });
  });

  it('the BSUID may come in `from` or in contacts[].user_id alone', async () => {
    await deliver(envelope(change([replyMessage('wamid.B2', { from: BSUID })])));
    expect((await f.permissions.read(BUSINESS, BSUID)).kind).toBe('permanent');
    await f.redis.flushall();
    await deliver(envelope(change([replyMessage('wamid.B3', {})], [{ user_id: BSUID }])));
    expect((await f.permissions.read(BUSINESS, BSUID)).kind).toBe('permanent');
  });

  it('a reject under the BSUID revokes what it holds', async () => {
    await deliver(bsuidOnly('wamid.B4'));
    await deliver(bsuidOnly('wamid.B5', { response: 'reject' }));
    expect((await f.api('GET', userUrl(BSUID))).json().permission).toEqual({ kind: 'none', cause: 'user' });
  });

  it('and a later webhook naming both moves that grant to the phone number: a call dialled by it is admitted', async () => {
    await deliver(bsuidOnly('wamid.B6'));
    expect((await admitOutbound(USER)).admitted).toBe(false);
    // Any message naming both (here a text message) teaches the edge the link.
    const text = { from: USER.slice(1), from_user_id: BSUID, id: 'wamid.T1', type: 'text', text: { body: 'hi' } };
    const res = await deliver(envelope(change([text], [{ wa_id: USER.slice(1), user_id: BSUID }])));
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 0, linked: 1 });
    expect(await f.redis.exists(numberKeys(BUSINESS).perm(BSUID))).toBe(0);
    expect((await admitOutbound(USER)).admitted).toBe(true);
  });
});

describe('a webhook naming both identities, followed by a call dialled by the phone number', () => {
  const both = (id: string, reply?: Record<string, unknown>) =>
    envelope(change([replyMessage(id, { from: USER.slice(1), from_user_id: BSUID }, reply)], [{ wa_id: USER.slice(1), user_id: BSUID, profile: { name: 'Ada' } }]));

  it('the grant lands under the phone number and the call is admitted', async () => {
    const res = await deliver(both('wamid.P1'));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 1 });
    expect((await admitOutbound(USER)).admitted).toBe(true);
  });

  it('the user answers the same under either identity', async () => {
    await deliver(both('wamid.P2'));
    const byPhone = await f.api('GET', userUrl(USER));
    const byBsuid = await f.api('GET', userUrl(BSUID));
    expect(byPhone.json()).toEqual(byBsuid.json());
    expect(byPhone.json()).toMatchObject({ user: USER, phone: USER, bsuid: BSUID, permission: { kind: 'permanent', source: 'webhook' } });
  });

  it('a later grant or revoke under the BSUID alone (reply, API) applies to the phone number', async () => {
    await deliver(both('wamid.P3'));
    await deliver(envelope(change([replyMessage('wamid.P4', { from_user_id: BSUID }, { response: 'reject' })])));
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none', cause: 'user' });
    expect((await admitOutbound(USER)).admitted).toBe(false);
    const put = await f.api('PUT', `${userUrl(BSUID)}/permission`, { kind: 'permanent' });
    expect(put.json()).toMatchObject({ user: USER, bsuid: BSUID, permission: { kind: 'permanent', source: 'api' } });
    expect((await admitOutbound(USER)).admitted).toBe(true);
    expect(await f.redis.exists(numberKeys(BUSINESS).perm(BSUID))).toBe(0);
  });

  it("a newer grant under the phone number is not overwritten by an older one held under the BSUID", async () => {
    await deliver(envelope(change([replyMessage('wamid.O1', { from_user_id: BSUID }, { response: 'reject' })])));
    f.clock.now = T0 + 1000;
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'api');
    await deliver(both('wamid.O2', { response: 'accept', expiration_timestamp: (T0 + DAY) / 1000 }));
    // The reply itself is the newest word: temporary until T0 + 1 day.
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'temporary', expiresAt: T0 + DAY, source: 'webhook' });
    await f.redis.flushall();
    await deliver(envelope(change([replyMessage('wamid.O3', { from_user_id: BSUID }, { response: 'reject' })])));
    f.clock.now = T0 + 2000;
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'api');
    await f.permissions.link(BUSINESS, BSUID, USER);
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
  });

  it('a status webhook (recipient_id + recipient_user_id) also teaches the link', async () => {
    await deliver(envelope(change([replyMessage('wamid.S0', { from_user_id: BSUID })])));
    const status = { field: 'messages', value: { metadata: { phone_number_id: PHONE_NUMBER_ID }, statuses: [{ id: 'wamid.X', status: 'read', recipient_id: USER.slice(1), recipient_user_id: BSUID }] } };
    expect((await deliver(envelope(status))).json()).toMatchObject({ linked: 1 });
    expect((await admitOutbound(USER)).admitted).toBe(true);
  });
});

describe('a webhook with several entries, changes and messages', () => {
  it('applies each one independently: a broken or unusable one hides none of the others', async () => {
    const other = '+447911123457';
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        'not an entry',
        { changes: 'not a list' },
        {
          changes: [
            { value: { metadata: { phone_number_id: '999' }, messages: [replyMessage('wamid.M1', { from: USER.slice(1) })] } }, // not our number
            change([
              replyMessage('wamid.M2', { from: USER.slice(1) }),
              { id: 'wamid.M3', type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'maybe' } } },
              null,
              replyMessage('wamid.M4', { from_user_id: BSUID }),
            ]),
            42,
          ],
        },
        { changes: [change([replyMessage('wamid.M5', { from: other.slice(1) }, { response: 'reject' })])] },
      ],
    };
    await f.permissions.grant(BUSINESS, other, 'permanent', 'api');
    const res = await deliver(payload);
    expect(res.json()).toEqual({ applied: 3, duplicates: 0, unusable: 2, linked: 0 });
    expect((await f.permissions.read(BUSINESS, USER)).kind).toBe('permanent');
    expect((await f.permissions.read(BUSINESS, BSUID)).kind).toBe('permanent');
    expect(await f.permissions.read(BUSINESS, other)).toEqual({ kind: 'none', cause: 'user' });
    expect(await metric('wa_edge_webhook_replies_unusable_total{reason="unknown_business_number"}')).toMatch(/ 1$/);
    expect(await metric('wa_edge_webhook_replies_unusable_total{reason="malformed_reply"}')).toMatch(/ 1$/);
    expect(f.logs.join('\n')).toContain('"messageId":"wamid.M3"');
  });
});

describe('a permission request to a user named by BSUID', () => {
  it('goes to the phone number once known, else to the BSUID as Meta\'s `recipient`; the allowance is the user\'s under either name', async () => {
    const meta = await startFakeMeta();
    try {
      meta.answer = { status: 200, body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.REQ' }] } };
      f = await openFixture({ whatsapp: { webhook: WEBHOOK, cloudApi: { baseUrl: meta.baseUrl, token: 'meta-token-xyz' } }, numbers: numbersWithId() });
      const requestTo = (user: string) => f.api('POST', `${userUrl(user)}/permission-requests`);
      expect((await requestTo(BSUID)).statusCode).toBe(202);
      expect(meta.requests[0]?.body).toMatchObject({ recipient: BSUID });
      expect((meta.requests[0]?.body as Record<string, unknown>).to).toBeUndefined();

      await f.redis.flushall();
      await f.permissions.link(BUSINESS, BSUID, USER);
      expect((await requestTo(BSUID)).statusCode).toBe(202);
      expect(meta.requests[1]?.body).toMatchObject({ to: USER.slice(1) });
      expect((await requestTo(USER)).statusCode).toBe(429); // one per 24 h for the user, whichever name is used
    } finally {
      await meta.close();
    }
  });
});

describe('an inbound call, at the state layer', () => {
  it('from a caller that cannot be keyed: a lease and a record, no permission, no busy user', async () => {
    const callId = newCallId();
    const r = await f.calls.admitInbound(BUSINESS, 'anonymous', callId, 'unkeyed');
    expect(r).toMatchObject({ admitted: true, user: 'anonymous' });
    expect(r.grantedUntil).toBeUndefined();
    expect(await f.redis.keys('*:perm:*')).toEqual([]);
    expect(await f.redis.hgetall(numberKeys(BUSINESS).activeUser)).toEqual({});
    expect(await f.calls.activeCalls(BUSINESS)).toBe(1);
    await f.calls.settle(BUSINESS, 'anonymous', callId, 'connected');
    await f.calls.settle(BUSINESS, 'anonymous', callId, 'ended');
    expect(await f.calls.activeCalls(BUSINESS)).toBe(0);
  });

  it('from a BSUID known to be a phone number: admitted, granted and busy under the number', async () => {
    await f.permissions.link(BUSINESS, BSUID, USER);
    const r = await f.calls.admitInbound(BUSINESS, BSUID, newCallId(), 'bsuid');
    expect(r).toMatchObject({ admitted: true, user: USER, grantedUntil: T0 + 168 * 3_600_000 });
    expect(await admitOutbound(USER)).toEqual({ admitted: false, refusal: { reason: 'user_busy', code: 486 } }); // the same person is on a call
    expect(await f.redis.exists(numberKeys(BUSINESS).perm(BSUID))).toBe(0);
  });
});
