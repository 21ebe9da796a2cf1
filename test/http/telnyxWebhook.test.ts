// POST /v1/webhooks/telnyx (SPEC §4): Telnyx's Ed25519 signature over `${telnyx-timestamp}|${raw
// body}`, 300 s tolerance; a WhatsApp permission reply in Meta's shape anywhere in data.payload is
// applied by the Meta webhook's rule; everything else acknowledged and counted.
import { generateKeyPairSync, sign } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DAY, T0 } from '../helpers/state.js';
import { createLogger } from '../../src/log.js';
import { redactSecrets } from '../../src/http/secrets.js';
import { useHttpFixtures, numbersWithId, PHONE_NUMBER_ID, type HttpFixture } from './fixture.js';
import { telnyxPermissionReply } from '../helpers/fakeTelnyx.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
/** As Telnyx's portal shows it: the raw 32-byte key, base64. */
const PUBLIC_KEY = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
let f: HttpFixture;
let debugLines: { level: number; msg: string; payload?: unknown; eventType?: string }[];

beforeEach(async () => {
  debugLines = [];
  const logger = createLogger('debug', { write: (line: string) => void debugLines.push(JSON.parse(line)) });
  f = await openFixture({ telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'], webhook: { publicKey: PUBLIC_KEY } }, numbers: numbersWithId() }, { logger });
});

const seconds = (ms: number) => Math.floor(ms / 1000);
function deliver(body: unknown, opts: { timestamp?: number; signWith?: typeof privateKey; tamper?: boolean; headers?: Record<string, string> } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = String(opts.timestamp ?? seconds(T0));
  const signature = sign(null, Buffer.from(`${ts}|${raw}`), opts.signWith ?? privateKey).toString('base64');
  return f.app.inject({
    method: 'POST',
    url: '/v1/webhooks/telnyx',
    headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts, ...opts.headers },
    payload: opts.tamper ? raw.replace('}', ' }') : raw,
  });
}

/** Telnyx's documented envelope around a payload. */
const telnyx = (eventType: string, payload: Record<string, unknown>, id = 'evt-1') => ({
  data: { record_type: 'event', id, event_type: eventType, occurred_at: new Date(T0).toISOString(), payload: { record_type: 'message', direction: 'inbound', id: `msg-${id}`, ...payload } },
  meta: { attempt: 1, delivered_to: 'https://edge.example/v1/webhooks/telnyx' },
});
/** Meta's call_permission_reply message. */
const replyMessage = (reply: Record<string, unknown>, id = 'wamid.TELNYX1') => ({
  from: USER.slice(1),
  id,
  type: 'interactive',
  interactive: { type: 'call_permission_reply', call_permission_reply: { ...reply, response_source: 'user_action' } },
});
const parties = { from: { phone_number: USER }, to: [{ phone_number: BUSINESS }], type: 'WhatsApp' };
const counted = async () => Object.fromEntries((await f.metrics.telnyxWebhooksTotal.get()).values.map((v) => [v.labels.event, v.value]));

describe('POST /v1/webhooks/telnyx: signature', () => {
  it('refuses a missing, wrong or tampered signature, and a timestamp more than 300 s away, with 401; nothing applied', async () => {
    const body = telnyx('message.received', { ...parties, whatsapp_message: replyMessage({ response: 'accept', is_permanent: true }) });
    const other = generateKeyPairSync('ed25519').privateKey;
    const noHeaders = await f.app.inject({ method: 'POST', url: '/v1/webhooks/telnyx', headers: { 'content-type': 'application/json' }, payload: body });
    for (const res of [noHeaders, await deliver(body, { signWith: other }), await deliver(body, { tamper: true }), await deliver(body, { timestamp: seconds(T0) - 301 }), await deliver(body, { timestamp: seconds(T0) + 301 })]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_telnyx_signature' });
    }
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'none' });
    expect((await deliver(body, { timestamp: seconds(T0) - 299 })).statusCode).toBe(200);
  });

  it('without telnyx.webhook: 404, and a key that is not base64 Ed25519 is a configuration error', async () => {
    f = await openFixture({ numbers: numbersWithId() });
    expect((await deliver(telnyx('message.received', parties))).statusCode).toBe(404);
    await expect(openFixture({ telnyx: { sources: ['127.0.0.2/32'], webhook: { publicKey: 'bm90LWEta2V5' } } })).rejects.toThrow(/telnyx.webhook.publicKey: not a base64 Ed25519 public key/);
  });
});

describe('POST /v1/webhooks/telnyx: permission replies', () => {
  it("a bare Meta message anywhere in data.payload: applied with Telnyx's to/from as business and user; a redelivery is a duplicate", async () => {
    const body = telnyx('message.received', { ...parties, whatsapp: { messages: [replyMessage({ response: 'accept', expiration_timestamp: seconds(T0 + 7 * DAY) })] } });
    const res = await deliver(body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'temporary', expiresAt: seconds(T0 + 7 * DAY) * 1000, source: 'webhook' });
    expect((await deliver(body)).json()).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await counted()).toMatchObject({ permission_reply: 2, 'message.received': 0 });
  });

  it("a whole Meta envelope nested in data.payload: Meta's own rule (phone_number_id, BSUID links); reject revokes", async () => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'api');
    const envelope = {
      object: 'whatsapp_business_account',
      entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { metadata: { phone_number_id: PHONE_NUMBER_ID }, contacts: [{ wa_id: USER.slice(1), user_id: 'GB.1234567890' }], messages: [replyMessage({ response: 'reject' }, 'wamid.REJ')] } }] }],
    };
    const res = await deliver(telnyx('whatsapp.message.received', { raw: envelope }));
    expect(res.json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 1 });
    expect(await f.permissions.read(BUSINESS, USER)).toMatchObject({ kind: 'none', cause: 'user' });
  });

  it("Telnyx's WHATSAPP message.received with Meta's content in payload.body (no wamid): applied under Telnyx's message id, once", async () => {
    const body = telnyxPermissionReply({ business: BUSINESS, user: USER, reply: { response: 'accept', is_permanent: true }, id: 'tx-msg-1', at: T0 });
    expect((await deliver(body)).json()).toEqual({ applied: 1, duplicates: 0, unusable: 0, linked: 0 });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'webhook' });
    expect((await deliver(body)).json()).toMatchObject({ applied: 0, duplicates: 1 });
    // A reject in the same shape revokes, through the same rule.
    const reject = telnyxPermissionReply({ business: BUSINESS, user: USER, reply: { response: 'reject' }, id: 'tx-msg-2', at: T0 });
    expect((await deliver(reject)).json()).toMatchObject({ applied: 1 });
    expect(await f.permissions.read(BUSINESS, USER)).toMatchObject({ kind: 'none', cause: 'user' });
  });

  it('payload.body naming the user by BSUID too (from_user_id): the phone and the BSUID are linked, as by the Meta webhook', async () => {
    const body = telnyxPermissionReply({ business: BUSINESS, user: USER, reply: { response: 'accept', expiration_timestamp: seconds(T0 + DAY) }, id: 'tx-msg-3', at: T0 });
    (body.data.payload.body as Record<string, unknown>).from_user_id = 'GB.1234567890';
    expect((await deliver(body)).json()).toMatchObject({ applied: 1 });
    expect(await f.permissions.read(BUSINESS, 'GB.1234567890')).toMatchObject({ kind: 'temporary' });
  });

  it('a reply without a business number the edge knows is acknowledged and counted unusable, never an error', async () => {
    const res = await deliver(telnyx('message.received', { from: { phone_number: USER }, to: [{ phone_number: '+447400000001' }], whatsapp_message: replyMessage({ response: 'accept' }) }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: 0, unusable: 1 });
    expect((await f.metrics.webhookRepliesUnusableTotal.get()).values.find((v) => v.labels.reason === 'unknown_business_number')?.value).toBe(1);
  });
});

describe('POST /v1/webhooks/telnyx: everything else', () => {
  it('acknowledged 200 and counted by event type (an undocumented one as other), logged at debug with secrets redacted', async () => {
    expect((await deliver(telnyx('message.received', { ...parties, text: 'hello' }))).statusCode).toBe(200);
    expect((await deliver(telnyx('message.finalized', { to: [{ phone_number: USER }] }))).statusCode).toBe(200);
    expect((await deliver(telnyx('call.initiated', { api_token: 'KEY-SECRET-1', nested: { Authorization: 'Bearer x' } }))).statusCode).toBe(200);
    expect((await deliver('not json')).statusCode).toBe(200);
    expect((await deliver({ something: 'else' })).statusCode).toBe(200);
    expect(await counted()).toMatchObject({ 'message.received': 1, 'message.finalized': 1, other: 3, permission_reply: 0 });
    const logged = debugLines.filter((l) => l.msg.startsWith('telnyx webhook: no permission reply'));
    expect(logged.map((l) => l.eventType)).toEqual(['message.received', 'message.finalized', 'call.initiated', undefined]);
    expect(JSON.stringify(logged)).not.toMatch(/KEY-SECRET-1|Bearer x/);
    expect(redactSecrets({ a: { api_key: 1, token: 2, ok: 3 } })).toEqual({ a: { api_key: '[redacted]', token: '[redacted]', ok: 3 } });
  });
});
