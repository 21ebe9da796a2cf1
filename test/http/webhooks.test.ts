// GET/POST /v1/webhooks/whatsapp (SPEC §4, §7: signed payloads; call_permission_reply grants or revokes).
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, T0 } from '../helpers/state.js';
import { recentPermissionEvents } from '../../src/state/records.js';
import { parseWebhook } from '../../src/http/webhook.js';
import { useHttpFixtures, numbersWithId, PHONE_NUMBER_ID, type HttpFixture } from './fixture.js';
import { permissionReply } from './metaWebhook.js';

const APP_SECRET = 'meta-app-secret-123';
const VERIFY_TOKEN = 'verify-token-456';
const WEBHOOK = { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN };

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let f: HttpFixture;

async function fixture(overrides: Record<string, unknown> = { whatsapp: { webhook: WEBHOOK }, numbers: numbersWithId() }) {
  f = await openFixture(overrides);
}
beforeEach(async () => {
  await fixture();
});

const sign = (raw: string, secret = APP_SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

function deliver(payload: unknown, signature?: string) {
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return f.app.inject({
    method: 'POST',
    url: '/v1/webhooks/whatsapp',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? { 'x-hub-signature-256': sign(raw) } : signature ? { 'x-hub-signature-256': signature } : {}) },
    payload: raw,
  });
}

const permission = () => f.permissions.read(BUSINESS, USER);
const streamLength = () => f.redis.xlen('wa:permissions');

describe('GET /v1/webhooks/whatsapp (verification)', () => {
  const verify = (query: string) => f.app.inject({ method: 'GET', url: `/v1/webhooks/whatsapp?${query}` });

  it('the right verify token → 200 with hub.challenge as text/plain', async () => {
    const res = await verify(`hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe('1158201444');
  });

  it.each([
    ['a wrong token', `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}x&hub.challenge=1`],
    ['another mode', `hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`],
    ['no token', 'hub.mode=subscribe&hub.challenge=1'],
    ['no challenge', `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}`],
  ])('%s → 403', async (_what, query) => {
    const res = await verify(query);
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('verification_failed');
  });

  it('the verify token never reaches a log line', async () => {
    await verify(`hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`);
    const logs = f.logs.join('\n');
    expect(logs).toContain('hub.verify_token=[redacted]');
    expect(logs).not.toContain(VERIFY_TOKEN);
  });

  it('no whatsapp.webhook configured → 404 on both routes', async () => {
    await fixture({});
    expect((await verify('hub.mode=subscribe&hub.verify_token=x&hub.challenge=1')).json().error).toBe('webhook_not_configured');
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: true }), 'sha256=00');
    expect(res.statusCode).toBe(404);
  });
});

describe('POST /v1/webhooks/whatsapp (signature)', () => {
  it('a wrong signature → 401, nothing applied', async () => {
    const raw = JSON.stringify(permissionReply({ response: 'accept', is_permanent: true }));
    const res = await deliver(raw, sign(raw, 'another-secret'));
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_signature');
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('no signature → 401, nothing applied', async () => {
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: true }), '');
    expect(res.statusCode).toBe(401);
    expect(await f.redis.keys('*')).toEqual([]);
  });

  it('is checked over the raw bytes: the same JSON re-serialised no longer matches', async () => {
    const raw = JSON.stringify(permissionReply({ response: 'accept', is_permanent: true }), null, 2);
    const res = await deliver(JSON.stringify(JSON.parse(raw)), sign(raw));
    expect(res.statusCode).toBe(401);
  });

  it('accepts any Content-Type Meta may send', async () => {
    const raw = JSON.stringify(permissionReply({ response: 'accept', is_permanent: true }));
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/webhooks/whatsapp',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-hub-signature-256': sign(raw) },
      payload: raw,
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /v1/webhooks/whatsapp (call_permission_reply)', () => {
  it('accept with expiration_timestamp → temporary permission until then (source webhook)', async () => {
    const until = T0 + 7 * DAY;
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: false, expiration_timestamp: until / 1000 }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await permission()).toEqual({ kind: 'temporary', expiresAt: until, source: 'webhook' });
    expect((await f.metrics.registry.metrics())).toContain('wa_edge_permission_events_total{event="granted",tenant="default"} 1');
  });

  it("accept with Meta's expiration_timestamp → that expiry, not the edge's 7 days", async () => {
    const until = T0 + 3 * DAY + 1234_000;
    await deliver(permissionReply({ response: 'accept', is_permanent: false, expiration_timestamp: until / 1000 }));
    expect(await permission()).toEqual({ kind: 'temporary', expiresAt: until, source: 'webhook' });
  });

  it('accept without expiration_timestamp → temporary for whatsapp.temporaryPermissionHours from now', async () => {
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: false }));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await permission()).toEqual({ kind: 'temporary', expiresAt: T0 + 168 * 3_600_000, source: 'webhook' });
  });

  it('accept with is_permanent → permanent permission', async () => {
    await deliver(permissionReply({ response: 'accept', is_permanent: true }));
    expect(await permission()).toEqual({ kind: 'permanent', source: 'webhook' });
  });

  it('reject → revoked, cause user', async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const res = await deliver(permissionReply({ response: 'reject' }));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await permission()).toEqual({ kind: 'none', cause: 'user' });
    const [latest] = await recentPermissionEvents(f.redis, 1);
    expect(latest).toMatchObject({ event: 'revoked', source: 'user', number: BUSINESS, user: USER });
  });

  it('the same delivery twice applies once: one wa:permissions entry', async () => {
    const payload = permissionReply({ response: 'accept', is_permanent: false, expiration_timestamp: (T0 + DAY) / 1000 });
    expect((await deliver(payload)).json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    await f.permissions.revoke(BUSINESS, USER, 'api'); // a later change the redelivery must not undo
    const before = await streamLength();
    const again = await deliver(payload);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ applied: 0, duplicates: 1, unusable: 0, linked: 0 });
    expect(await streamLength()).toBe(before);
    expect(await permission()).toEqual({ kind: 'none', cause: 'api' });
    expect(await f.redis.ttl('wa:webhook:wamid.REPLY1')).toBe(7 * 24 * 3600);
  });

  it('maps the business number by display_phone_number when phone_number_id is unknown', async () => {
    await deliver(permissionReply({ response: 'accept', is_permanent: true }, { metadata: { display_phone_number: '+44 7418 613982', phone_number_id: '999' } }));
    expect(await permission()).toEqual({ kind: 'permanent', source: 'webhook' });
  });

  it('a reply for a number that is not ours → 200, nothing applied, logged', async () => {
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: true }, { metadata: { display_phone_number: '447911123457', phone_number_id: '999' } }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 1, linked: 0 });
    expect(await f.redis.keys('*')).toEqual([]);
    expect(f.logs.join('\n')).toContain('metadata names no configured business number');
    expect(await f.metrics.registry.metrics()).toContain('wa_edge_webhook_replies_unusable_total{reason="unknown_business_number"} 1');
  });

  it('a temporary grant that already expired is acknowledged and not applied', async () => {
    const res = await deliver(permissionReply({ response: 'accept', is_permanent: false, expiration_timestamp: T0 / 1000 }));
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 0, linked: 0 });
    expect(await permission()).toEqual({ kind: 'none' });
    expect(await f.metrics.registry.metrics()).toContain('wa_edge_webhook_replies_unusable_total{reason="already_expired"} 1');
  });

  it.each([
    ['a message status update', { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { statuses: [{ id: 'wamid.X', status: 'read' }] } }] }] }],
    ['a text message', { object: 'whatsapp_business_account', entry: [{ changes: [{ value: { metadata: { phone_number_id: PHONE_NUMBER_ID }, messages: [{ id: 'wamid.T', from: USER.slice(1), type: 'text', text: { body: 'hi' } }] } }] }] }],
    ['another object', { object: 'page', entry: [] }],
    ['unknown fields everywhere', { object: 'whatsapp_business_account', extra: 1, entry: [{ changes: [{ value: { novel: true } }], more: [] }] }],
    ['a signed body that is not JSON', 'not json'],
  ])('%s → 200 and ignored', async (_what, payload) => {
    const res = await deliver(payload);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 0, duplicates: 0, unusable: 0, linked: 0 });
    expect(await f.redis.keys('*')).toEqual([]);
  });
});

describe('parseWebhook (pure)', () => {
  const numbers = () => f.config.current.numbers;

  it('reads every reply of a delivery, in order, and an expiration_timestamp sent as a string', () => {
    const first = permissionReply({ response: 'accept', expiration_timestamp: String((T0 + DAY) / 1000) }, { id: 'wamid.A' });
    const second = permissionReply({ response: 'reject' }, { id: 'wamid.B', from: '447911123457' });
    const both = { ...first, entry: [...first.entry, ...second.entry] };
    expect(parseWebhook(both, numbers())).toEqual({
      replies: [
        { messageId: 'wamid.A', business: BUSINESS, user: USER, named: { phone: USER }, decision: { kind: 'temporary', expiresAt: T0 + DAY } },
        { messageId: 'wamid.B', business: BUSINESS, user: '+447911123457', named: { phone: '+447911123457' }, decision: { kind: 'revoke' } },
      ],
      links: [],
      unusable: [],
    });
  });

  it('accept without expiration_timestamp and without is_permanent is temporary, for temporaryPermissionHours (never permanent)', () => {
    expect(parseWebhook(permissionReply({ response: 'accept' }), numbers()).replies[0]?.decision).toEqual({ kind: 'temporary' });
    expect(parseWebhook(permissionReply({ response: 'accept', is_permanent: false }), numbers()).replies[0]?.decision).toEqual({ kind: 'temporary' });
  });

  it("is_permanent wins over an expiration_timestamp; a timestamp in milliseconds is read as such", () => {
    expect(parseWebhook(permissionReply({ response: 'accept', is_permanent: true, expiration_timestamp: (T0 + DAY) / 1000 }), numbers()).replies[0]?.decision).toEqual({ kind: 'permanent' });
    expect(parseWebhook(permissionReply({ response: 'accept', expiration_timestamp: T0 + DAY }), numbers()).replies[0]?.decision).toEqual({ kind: 'temporary', expiresAt: T0 + DAY });
  });

  it('a reply naming no user at all (no from, no contacts) is unusable, with why', () => {
    const payload = permissionReply({ response: 'accept' }, { from: '' });
    payload.entry[0]!.changes[0]!.value.contacts = [];
    expect(parseWebhook(payload, numbers())).toMatchObject({ replies: [], unusable: [{ messageId: 'wamid.REPLY1', reason: 'no_user_identity' }] });
  });
});
