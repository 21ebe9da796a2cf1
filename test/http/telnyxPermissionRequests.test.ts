// SPEC §2 telnyx.api, §4: a permission request sent through Telnyx's WhatsApp API (a business
// onboarded in Mission Control, no Meta app), against a stand-in Telnyx on its own port: the window
// check decides template or interactive, only a request Telnyx accepted spends the allowance, and
// Telnyx's refusals reach the caller with Telnyx's code. Its delivery events are recorded against it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { T0 } from '../helpers/state.js';
import { startFakeTelnyx, type FakeTelnyx } from '../helpers/fakeTelnyx.js';
import { startFakeMeta, type FakeMeta } from './fakeMeta.js';
import { useHttpFixtures, PHONE_NUMBER_ID, type HttpFixture } from './fixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let telnyx: FakeTelnyx;
let meta: FakeMeta;
let f: HttpFixture;
beforeAll(async () => {
  telnyx = await startFakeTelnyx({ now: () => T0 });
  meta = await startFakeMeta();
});
afterAll(async () => {
  await telnyx.close();
  await meta.close();
});

const TEMPLATE = { name: 'call_permission_request_v1', language: 'en', bodyParameters: [{ name: 'business_name', text: 'Acme' }] };
const telnyxApi = (extra: Record<string, unknown> = {}) => ({ key: telnyx.key, baseUrl: telnyx.baseUrl, timeoutMs: 400, ...extra });
const telnyxBlock = (api: Record<string, unknown> = telnyxApi()) => ({
  dialDomain: 'sip.telnyx.com',
  outboundProxy: 'sip:127.0.0.2:5060',
  sources: ['127.0.0.2/32'],
  webhook: { publicKey: telnyx.publicKey },
  api,
});
const number = (extra: Record<string, unknown> = {}) => ({ number: BUSINESS, calling: true, inbound: [], permissionTemplate: TEMPLATE, ...extra });

async function fixture(overrides: Record<string, unknown> = {}) {
  f = await openFixture({ telnyx: telnyxBlock(), numbers: [number()], ...overrides });
}
beforeEach(async () => {
  telnyx.requests.length = 0;
  telnyx.faults = {};
  telnyx.templates = new Set([TEMPLATE.name]);
  telnyx.openWindows.clear();
  meta.requests.length = 0;
  await fixture();
});

const REQUESTS_URL = `/v1/numbers/${BUSINESS}/users/${USER}/permission-requests`;
const request = (body?: unknown) => f.api('POST', REQUESTS_URL, body);
const view = async () => (await f.api('GET', `/v1/numbers/${BUSINESS}/users/${USER}`)).json().permissionRequests;
const counted = async () =>
  Object.fromEntries((await f.metrics.permissionRequestsTotal.get()).values.filter((v) => v.value > 0).map((v) => [`${v.labels.channel}/${v.labels.result}`, v.value]));
const windowChecks = () => telnyx.requests.filter((r) => r.path.endsWith('/conversation_window'));

describe('outside the 24 h window: the approved template', () => {
  it("checks the window, sends the template with its body parameters, answers 202 with Telnyx's message id; the allowance is spent", async () => {
    const res = await request();
    expect(res.statusCode).toBe(202);
    const answer = res.json();
    expect(answer).toEqual({ sent: true, channel: 'telnyx', kind: 'template', messageId: expect.any(String), windowCheck: 'closed' });

    expect(windowChecks()).toHaveLength(1);
    expect(windowChecks()[0]!.path).toBe(`/v2/whatsapp/phone_numbers/${encodeURIComponent(BUSINESS)}/conversation_window`);
    expect(windowChecks()[0]!.query.get('destination_number')).toBe(USER);
    expect(telnyx.sent()).toHaveLength(1);
    const sent = telnyx.sent()[0]!;
    expect(sent.headers.authorization).toBe(`Bearer ${telnyx.key}`);
    expect(sent.body).toEqual({
      from: BUSINESS,
      to: USER,
      type: 'WHATSAPP',
      whatsapp_message: {
        type: 'template',
        template: { name: TEMPLATE.name, language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'business_name', text: 'Acme' }] }] },
      },
    });
    expect(await view()).toMatchObject({
      last24h: 1,
      via: 'telnyx',
      viaCloudApi: false,
      last: { channel: 'telnyx', kind: 'template', messageId: answer.messageId, sentAt: new Date(T0).toISOString() },
    });
    expect(await counted()).toEqual({ 'telnyx/sent': 1 });
  });

  it('a window check that fails (5xx) sends the template anyway (valid inside and outside the window), and says so', async () => {
    telnyx.faults.conversation_window = { status: 503, body: { errors: [{ code: '10001', title: 'Service unavailable', detail: 'try later' }] } };
    const res = await request();
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ kind: 'template', windowCheck: 'failed' });
    expect((telnyx.sent()[0]!.body as { whatsapp_message: { type: string } }).whatsapp_message.type).toBe('template');
    expect(f.logs.some((l) => l.includes('conversation_window check failed'))).toBe(true);
  });
});

describe('inside the 24 h window: the free-form interactive request', () => {
  it("sends Meta's interactive call_permission_request with the operator's text", async () => {
    telnyx.openWindows.add(`${BUSINESS}|${USER}`);
    const res = await request({ text: 'About order 12853: may we call you?' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ channel: 'telnyx', kind: 'interactive', windowCheck: 'open' });
    expect(telnyx.sent()[0]!.body).toEqual({
      from: BUSINESS,
      to: USER,
      type: 'WHATSAPP',
      whatsapp_message: {
        type: 'interactive',
        interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text: 'About order 12853: may we call you?' } },
      },
    });
    expect(await view()).toMatchObject({ last24h: 1, last: { kind: 'interactive' } });
  });
});

describe("Telnyx's refusals: a clear answer with Telnyx's code, and nothing counted", () => {
  const nothingCounted = async () => expect(await view()).toMatchObject({ last24h: 0, last7d: 0, waitSeconds: 0, last: null });

  it('a wrong API key: 502 telnyx_unauthorized with code 10009; the window check failed too, so the template was tried', async () => {
    f = await openFixture({ telnyx: telnyxBlock(telnyxApi({ key: 'KEY-wrong' })), numbers: [number()] });
    const res = await request();
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({
      error: 'telnyx_unauthorized',
      message: "Telnyx refused the edge's API key (telnyx.api.key): Telnyx answered 401 (code 10009): Authentication failed: The API key is not valid; nothing was counted",
      upstream: { service: 'telnyx', status: 401, code: '10009' },
    });
    await nothingCounted();
    expect(await counted()).toEqual({ 'telnyx/failed': 1 });
  });

  it('an unknown template: 422 telnyx_refused quoting Telnyx (40008) and Meta (132001)', async () => {
    telnyx.templates.clear();
    const res = await request();
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      error: 'telnyx_refused',
      message: `Telnyx answered 400 (code 40008): Meta error: Template name does not exist in the translation (132001): ${TEMPLATE.name} (Meta 132001); nothing was counted`,
      upstream: { service: 'telnyx', status: 400, code: '40008', metaCode: '132001' },
    });
    await nothingCounted();
    expect(await counted()).toEqual({ 'telnyx/refused': 1 });
  });

  it('the 24 h window closed between the check and the send (Meta 131047): 422 with the reason in words', async () => {
    telnyx.faults.conversation_window = { status: 200, body: { data: { window_active: true, window_expires_at: new Date(T0 + 1000).toISOString() } } };
    const res = await request();
    expect(res.statusCode).toBe(422);
    expect(res.json().message).toContain('(Meta 131047: outside the 24 h window only the template may be sent)');
    expect(res.json().upstream).toEqual({ service: 'telnyx', status: 400, code: '40008', metaCode: '131047' });
    await nothingCounted();
  });

  it('Meta 138017 inside the error body (the user has a permanent permission): 409 permission_exists as when the edge knows it, and the permanent permission recorded (source meta); 138009: 422 quoted; nothing counted', async () => {
    const meta = (code: string) => ({ status: 400, body: { errors: [{ code: '40008', title: 'Meta error', detail: `Call permission request not allowed (${code})` }] } });
    telnyx.faults.send = meta('138017');
    let res = await request();
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'permission_exists', upstream: { code: '40008', metaCode: '138017' } });
    expect(await f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'meta' });
    expect(res.json().message).toContain('(Meta 138017: the user has already granted a permanent permission)');
    await f.permissions.revoke(BUSINESS, USER, 'api'); // so the next request reaches Telnyx again
    telnyx.faults.send = meta('138009');
    res = await request();
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ error: 'telnyx_refused', upstream: { code: '40008', metaCode: '138009' } });
    expect(res.json().message).toContain('(Meta 138009); nothing was counted');
    await nothingCounted();
  });

  it('Telnyx answers 500 on the send: 502 upstream_failed; it does not answer within timeoutMs: 504 upstream_timeout; neither counted', async () => {
    telnyx.faults.send = { status: 500, body: { errors: [{ code: '10007', title: 'Unexpected error', detail: 'An unexpected error occured.' }] } };
    let res = await request();
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'upstream_failed', message: 'Telnyx answered 500 (code 10007): Unexpected error: An unexpected error occured.; nothing was counted', upstream: { status: 500 } });
    await nothingCounted();

    telnyx.faults.send = 'hang';
    const started = Date.now();
    res = await request();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.statusCode).toBe(504);
    expect(res.json()).toEqual({ error: 'upstream_timeout', message: 'Telnyx did not answer POST /messages/whatsapp within 400 ms; nothing was counted', upstream: { service: 'telnyx' } });
    await nothingCounted();
    expect(await counted()).toEqual({ 'telnyx/failed': 2 });

    // Telnyx back: the same request goes through, and now it counts.
    telnyx.faults = {};
    expect((await request()).statusCode).toBe(202);
    expect(await view()).toMatchObject({ last24h: 1 });
  });

  it('over the limit: 429 before anything reaches Telnyx', async () => {
    expect((await request()).statusCode).toBe(202);
    telnyx.requests.length = 0;
    const res = await request();
    expect(res.statusCode).toBe(429);
    expect(telnyx.requests).toEqual([]);
    expect(await counted()).toEqual({ 'telnyx/sent': 1, 'telnyx/limited': 1 });
  });

  it('a number without permissionTemplate: 409 before anything is counted or sent', async () => {
    f = await openFixture({ telnyx: telnyxBlock(), numbers: [number({ permissionTemplate: undefined })] });
    const res = await request();
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'permission_template_missing' });
    expect(telnyx.requests).toEqual([]);
    await nothingCounted();
  });
});

describe('both telnyx.api and whatsapp.cloudApi: the operator picks per number', () => {
  const both = (via: string | undefined) =>
    fixture({
      whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: 'meta-token', timeoutMs: 300 } },
      numbers: [number({ phoneNumberId: PHONE_NUMBER_ID, ...(via ? { permissionRequestsVia: via } : {}) })],
    });

  it('default telnyx; permissionRequestsVia: cloud_api sends through Meta instead', async () => {
    meta.answer = { status: 200, body: { messages: [{ id: 'wamid.X' }] } };
    await both(undefined);
    expect((await request()).json()).toMatchObject({ channel: 'telnyx' });
    expect(meta.requests).toEqual([]);

    await both('cloud_api');
    expect((await request()).json()).toEqual({ sent: true, channel: 'cloud_api', kind: 'interactive', messageId: 'wamid.X' });
    expect(telnyx.sent()).toHaveLength(1); // only the first fixture's
    expect(await view()).toMatchObject({ via: 'cloud_api', viaCloudApi: true });
  });

  it('permissionRequestsVia names a sender that is not configured: a configuration error', async () => {
    await expect(openFixture({ numbers: [number({ permissionRequestsVia: 'telnyx' })] })).rejects.toThrow(/numbers\[0\]\.permissionRequestsVia: telnyx needs telnyx.api/);
  });
});

describe("Telnyx's delivery events of a request: recorded against it, shown as delivered or failed", () => {
  const deliver = (body: unknown) => {
    const raw = JSON.stringify(body);
    return f.app.inject({ method: 'POST', url: '/v1/webhooks/telnyx', headers: telnyx.signatureHeaders(raw, Math.floor(T0 / 1000)), payload: raw });
  };
  const event = (type: string, id: string, status: string, extra: Record<string, unknown> = {}) => ({
    data: { record_type: 'event', id: `evt-${type}-${status}`, event_type: type, occurred_at: new Date(T0).toISOString(), payload: { record_type: 'message', direction: 'outbound', id, type: 'WHATSAPP', from: { phone_number: BUSINESS }, to: [{ phone_number: USER, status }], ...extra } },
  });

  it('message.sent then message.finalized delivered; a late message.sent does not go back', async () => {
    const { messageId } = (await request()).json();
    expect((await deliver(event('message.sent', messageId, 'sent'))).statusCode).toBe(200);
    expect((await view()).last.delivery).toEqual({ status: 'sent', at: new Date(T0).toISOString() });
    await deliver(event('message.finalized', messageId, 'delivered'));
    await deliver(event('message.sent', messageId, 'sent'));
    expect((await view()).last.delivery).toEqual({ status: 'delivered', at: new Date(T0).toISOString() });
  });

  it("message.finalized delivery_failed: failed, with Telnyx's error", async () => {
    const { messageId } = (await request()).json();
    await deliver(event('message.finalized', messageId, 'delivery_failed', { errors: [{ code: '40008', title: 'Meta error', detail: 'Message undeliverable (131026)' }] }));
    expect((await view()).last.delivery).toEqual({ status: 'failed', at: new Date(T0).toISOString(), error: 'code 40008: Meta error: Message undeliverable (131026)' });
  });

  it('an event that beats the send answer is kept and applied when the send is recorded', async () => {
    // The delivery of a message id nobody claimed yet: kept briefly, not dropped.
    await deliver(event('message.finalized', 'early-id', 'delivered'));
    await f.permissions.reservePermissionRequest(BUSINESS, USER);
    await f.permissions.recordRequestSent(BUSINESS, USER, { channel: 'telnyx', kind: 'template', messageId: 'early-id' });
    expect((await view()).last).toMatchObject({ messageId: 'early-id', delivery: { status: 'delivered' } });
  });

  it('an unreadable delivery event is acknowledged, counted and logged once per reason', async () => {
    const unreadable = event('message.finalized', 'x', 'teleported');
    expect((await deliver(unreadable)).statusCode).toBe(200);
    expect((await deliver(unreadable)).statusCode).toBe(200);
    expect(f.logs.filter((l) => l.includes('a delivery event the edge cannot read'))).toHaveLength(1);
    expect((await f.metrics.telnyxWebhooksTotal.get()).values.find((v) => v.labels.event === 'message.finalized')?.value).toBe(2);
  });
});
