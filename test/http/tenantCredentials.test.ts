// SPEC §2a: a tenant owns its Meta / Telnyx credentials and webhook secrets. Set through the API
// by the operator, never read back; a webhook reaches the tenant whose number it names and is
// verified with the platform's secret or that tenant's; a delivery signed with one tenant's secret
// that names another's number is refused 401 and applies nothing; a tenant's permission requests and
// Telnyx calling switch go through its own Telnyx key or Meta app, and so does Meta's call_permissions
// lookup (stand-in Telnyx and Meta servers on their own ports record the Authorization).
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { USER } from '../helpers/config.js';
import { T0 } from '../helpers/state.js';
import { startFakeTelnyx, telnyxPermissionReply, type FakeTelnyx } from '../helpers/fakeTelnyx.js';
import { tenantFixture, type TenantFixture } from './tenantFixture.js';
import { startFakeMeta, type FakeMeta } from './fakeMeta.js';
import { permissionReply } from './metaWebhook.js';
import { TelnyxCallingSwitch } from '../../src/telnyxCalling.js';
import { PermissionLookup } from '../../src/permissionLookup.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';

const A_NUMBER = '+447418600001';
const B_NUMBER = '+447418600101';
const A_PNID = '5550001';
const B_PNID = '5550101';
const PLATFORM_SECRET = 'platform-app-secret-000';
const A_SECRET = 'acme-app-secret-111';
const B_SECRET = 'bravo-app-secret-222';
const TEMPLATE = { name: 'call_permission_request_v1', language: 'en' };

const redis = useRedisServer();
let platformTelnyx: FakeTelnyx;
let acmeTelnyx: FakeTelnyx;
let f: TenantFixture;
const open: TenantFixture[] = [];
beforeAll(async () => {
  platformTelnyx = await startFakeTelnyx({ key: 'KEY-platform-0123456789', now: () => T0 });
  acmeTelnyx = await startFakeTelnyx({ key: 'KEY-acme-own-0123456789', now: () => T0 });
});
afterAll(async () => {
  for (const x of open) await x.close();
  await platformTelnyx.close();
  await acmeTelnyx.close();
});

const fileConfig = () => ({
  whatsapp: { webhook: { appSecret: PLATFORM_SECRET, verifyToken: 'platform-verify' } },
  telnyx: {
    dialDomain: 'sip.telnyx.com',
    outboundProxy: 'sip:127.0.0.2:5060',
    sources: ['127.0.0.2/32'],
    webhook: { publicKey: platformTelnyx.publicKey },
    api: { key: platformTelnyx.key, baseUrl: platformTelnyx.baseUrl, timeoutMs: 1000 },
  },
});
const acmeCredentials = () => ({
  whatsapp: { webhook: { appSecret: A_SECRET, verifyToken: 'acme-verify-token' } },
  telnyx: { webhook: { publicKey: acmeTelnyx.publicKey }, api: { key: acmeTelnyx.key, baseUrl: acmeTelnyx.baseUrl, timeoutMs: 1000 } },
});
const number = (n: string, pnid: string) => ({ number: n, phoneNumberId: pnid, permissionTemplate: TEMPLATE });

beforeEach(async () => {
  for (const fake of [platformTelnyx, acmeTelnyx]) {
    fake.requests.length = 0;
    fake.templates = new Set([TEMPLATE.name]);
  }
  f = await tenantFixture(redis.url, fileConfig());
  open.push(f);
  await f.redis.flushall();
  await f.directory.refresh();
  expect((await f.api('POST', '/v1/tenants', { name: 'acme', numbers: [number(A_NUMBER, A_PNID)], credentials: acmeCredentials() })).statusCode).toBe(201);
  expect((await f.api('POST', '/v1/tenants', { name: 'bravo', numbers: [number(B_NUMBER, B_PNID)] })).statusCode).toBe(201);
  const b = await f.api('PUT', '/v1/tenants/bravo/credentials', { whatsapp: { webhook: { appSecret: B_SECRET, verifyToken: 'bravo-verify-token' } } });
  expect(b.statusCode).toBe(200);
});

async function tokenFor(tenant: string): Promise<string> {
  const res = await f.api('POST', `/v1/tenants/${tenant}/tokens`, { name: 'test' });
  expect(res.statusCode).toBe(201);
  return res.json().token as string;
}

/** Meta's envelope around one permanent call_permission_reply from USER to the number with that phone_number_id. */
const metaReply = (business: string, pnid: string, id: string) =>
  permissionReply({ response: 'accept', is_permanent: true }, { id, metadata: { display_phone_number: business.slice(1), phone_number_id: pnid } });

function deliverMeta(payload: unknown, secret: string) {
  const raw = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  return f.app.inject({ method: 'POST', url: '/v1/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, payload: raw });
}

function deliverTelnyx(payload: unknown, signer: FakeTelnyx) {
  const raw = JSON.stringify(payload);
  return f.app.inject({ method: 'POST', url: '/v1/webhooks/telnyx', headers: signer.signatureHeaders(raw), payload: raw });
}

const status = async (business: string) => (await f.permissions.read(business, USER)).kind;

describe('credentials through the API', () => {
  it('the operator sets them; reads show only that they are set, to the operator and to the tenant', async () => {
    const res = await f.api('GET', '/v1/tenants/acme/credentials');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      whatsapp: { webhook: { appSecret: 'set', verifyToken: 'set' }, cloudApi: null },
      telnyx: { webhook: { publicKey: acmeTelnyx.publicKey }, api: { baseUrl: acmeTelnyx.baseUrl, key: 'set', timeoutMs: 1000, callingPollSeconds: 300 } },
    });
    const token = await tokenFor('acme');
    const own = await f.as(token, 'GET', '/v1/tenants/acme/credentials');
    expect(own.json()).toEqual(res.json());
    for (const r of [res, own, await f.api('GET', '/v1/tenants/acme'), await f.api('GET', '/v1/tenants')]) {
      expect(r.body).not.toContain(A_SECRET);
      expect(r.body).not.toContain('acme-verify-token');
      expect(r.body).not.toContain(acmeTelnyx.key);
    }
    // Another tenant's: 404, as anything of another tenant.
    expect((await f.as(token, 'GET', '/v1/tenants/bravo/credentials')).statusCode).toBe(404);
  });

  it("a tenant's token may not set them; a bad block is refused with the file's key path and changes nothing", async () => {
    const token = await tokenFor('acme');
    const mine = await f.as(token, 'PUT', '/v1/tenants/acme/credentials', { whatsapp: { webhook: { appSecret: 'x', verifyToken: 'y' } } });
    expect(mine.statusCode).toBe(403);
    expect(mine.json().error).toBe('operator_only');
    const bad = await f.api('PUT', '/v1/tenants/acme/credentials', { telnyx: { webhook: { publicKey: 'not-a-key' } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('credentials.telnyx.webhook.publicKey: not a base64 Ed25519 public key (32 bytes)');
    expect((await f.api('GET', '/v1/tenants/acme/credentials')).json().telnyx.api.key).toBe('set');
    expect((await f.api('PUT', '/v1/tenants/default/credentials', {})).json().error).toBe('managed_by_file');
  });

  it('another instance applies them within a second', async () => {
    const other = await tenantFixture(redis.url, fileConfig());
    open.push(other);
    const started = Date.now();
    expect((await f.api('DELETE', '/v1/tenants/acme/credentials')).statusCode).toBe(204);
    await expect.poll(async () => (await other.api('GET', '/v1/tenants/acme/credentials')).json().telnyx.api, { timeout: 1000, interval: 20 }).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("Meta's webhook reaches the tenant whose number it names", () => {
  it("tenant A's signed reply grants on A's number", async () => {
    const res = await deliverMeta(metaReply(A_NUMBER, A_PNID, 'wamid.A1'), A_SECRET);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: 1 });
    expect(await status(A_NUMBER)).toBe('permanent');
  });

  it("a reply naming B's number signed with A's secret is refused 401 and applies nothing; B's own secret and the platform's are taken", async () => {
    const forged = await deliverMeta(metaReply(B_NUMBER, B_PNID, 'wamid.B1'), A_SECRET);
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error).toBe('invalid_signature');
    expect(await status(B_NUMBER)).toBe('none');
    // Nor did it take the message id: B's genuine delivery of it applies.
    expect((await deliverMeta(metaReply(B_NUMBER, B_PNID, 'wamid.B1'), B_SECRET)).json()).toMatchObject({ applied: 1 });
    expect(await status(B_NUMBER)).toBe('permanent');
    expect((await deliverMeta(metaReply(A_NUMBER, A_PNID, 'wamid.A2'), PLATFORM_SECRET)).json()).toMatchObject({ applied: 1 });
  });

  it("one delivery naming both A's and B's numbers, signed with A's secret: 401, neither applied", async () => {
    const both = metaReply(A_NUMBER, A_PNID, 'wamid.A3');
    both.entry.push(metaReply(B_NUMBER, B_PNID, 'wamid.B3').entry[0]!);
    expect((await deliverMeta(both, A_SECRET)).statusCode).toBe(401);
    expect(await status(A_NUMBER)).toBe('none');
    expect(await status(B_NUMBER)).toBe('none');
  });

  it("an account_update naming no number reaches the tenant by its WABA: signed with A's secret it restricts A's numbers only; naming B's WABA: 401", async () => {
    for (const [t, n, pnid, waba] of [['acme', A_NUMBER, A_PNID, 'WABA-A'], ['bravo', B_NUMBER, B_PNID, 'WABA-B']] as const) {
      expect((await f.api('PUT', `/v1/tenants/${t}/numbers/${n}`, { ...number(n, pnid), wabaId: waba })).statusCode).toBe(200);
    }
    const restriction = (waba: string) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: waba, time: T0 / 1000, changes: [{ field: 'account_update', value: { event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }] } }] }],
    });
    const restricted = async () => ((await f.api('GET', '/v1/numbers')).json().numbers as { number: string; restriction: unknown }[]).filter((n) => n.restriction !== null).map((n) => n.number);
    expect((await deliverMeta(restriction('WABA-B'), A_SECRET)).statusCode).toBe(401);
    expect(await restricted()).toEqual([]);
    const own = await deliverMeta(restriction('WABA-A'), A_SECRET);
    expect(own.json()).toMatchObject({ account: { restricted: 1, unusable: 0 } });
    expect(await restricted()).toEqual([A_NUMBER]);
  });

  it("the subscription check takes a tenant's verify token as well as the file's", async () => {
    const check = (token: string) => f.app.inject({ method: 'GET', url: `/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=42` });
    expect((await check('acme-verify-token')).body).toBe('42');
    expect((await check('platform-verify')).body).toBe('42');
    expect((await check('nobody-s-token')).statusCode).toBe(403);
  });
});

describe("Telnyx's webhook reaches the tenant whose number it names", () => {
  it("signed with A's Telnyx key: applied on A's number; naming B's number: 401, nothing applied", async () => {
    const ok = await deliverTelnyx(telnyxPermissionReply({ business: A_NUMBER, user: USER, reply: { response: 'accept', is_permanent: true }, at: T0 }), acmeTelnyx);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ applied: 1 });
    expect(await status(A_NUMBER)).toBe('permanent');
    const forged = await deliverTelnyx(telnyxPermissionReply({ business: B_NUMBER, user: USER, reply: { response: 'accept', is_permanent: true }, at: T0 }), acmeTelnyx);
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error).toBe('invalid_telnyx_signature');
    expect(await status(B_NUMBER)).toBe('none');
    // The platform's key still serves every number.
    expect((await deliverTelnyx(telnyxPermissionReply({ business: B_NUMBER, user: USER, reply: { response: 'accept', is_permanent: true }, at: T0 }), platformTelnyx)).json()).toMatchObject({ applied: 1 });
  });
});

describe("a tenant's number sends through the tenant's own Telnyx account", () => {
  it("A's permission request goes to A's Telnyx with A's key; B's (no Telnyx credentials of its own) to the platform's", async () => {
    const a = await f.api('POST', `/v1/numbers/${A_NUMBER}/users/${USER}/permission-requests`);
    expect(a.statusCode).toBe(202);
    expect(acmeTelnyx.sent()).toHaveLength(1);
    expect(acmeTelnyx.sent()[0]!.headers.authorization).toBe(`Bearer ${acmeTelnyx.key}`);
    expect(platformTelnyx.requests).toHaveLength(0);

    const b = await f.api('POST', `/v1/numbers/${B_NUMBER}/users/${USER}/permission-requests`);
    expect(b.statusCode).toBe(202);
    expect(platformTelnyx.sent()).toHaveLength(1);
    expect(platformTelnyx.sent()[0]!.headers.authorization).toBe(`Bearer ${platformTelnyx.key}`);
    expect(acmeTelnyx.sent()).toHaveLength(1);
  });
});

describe("a tenant's number sends through the tenant's own Meta app", () => {
  it("cloud_api, which the file does not configure, is taken for the tenant's number and uses the tenant's token", async () => {
    const meta = await startFakeMeta();
    try {
      meta.answer = { status: 200, body: { messages: [{ id: 'wamid.REQ1' }] } };
      const creds = await f.api('PUT', '/v1/tenants/bravo/credentials', {
        whatsapp: { webhook: { appSecret: B_SECRET, verifyToken: 'bravo-verify-token' }, cloudApi: { baseUrl: meta.baseUrl, token: 'bravo-graph-token' } },
      });
      expect(creds.json().whatsapp.cloudApi).toEqual({ baseUrl: meta.baseUrl, token: 'set', timeoutMs: 5000, permissionLookup: false });
      const via = await f.api('PUT', `/v1/tenants/bravo/numbers/${B_NUMBER}`, { ...number(B_NUMBER, B_PNID), permissionRequestsVia: 'cloud_api' });
      expect(via.statusCode).toBe(200);
      const res = await f.api('POST', `/v1/numbers/${B_NUMBER}/users/${USER}/permission-requests`);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ sent: true, channel: 'cloud_api', messageId: 'wamid.REQ1' });
      expect(meta.requests.map((r) => [r.url, r.headers.authorization])).toEqual([[`/v23.0/${B_PNID}/messages`, 'Bearer bravo-graph-token']]);
      expect(platformTelnyx.requests).toHaveLength(0);
      // acme has no Cloud API of its own and the file none: cloud_api is refused for its number, with the key path.
      const refused = await f.api('PUT', `/v1/tenants/acme/numbers/${A_NUMBER}`, { ...number(A_NUMBER, A_PNID), permissionRequestsVia: 'cloud_api' });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().message).toContain('numbers[0].permissionRequestsVia: cloud_api needs whatsapp.cloudApi');
    } finally {
      await meta.close();
    }
  });
});

describe("a tenant's number's Telnyx calling switch is read and changed with the tenant's own key", () => {
  it("polls A's number at A's Telnyx and B's at the platform's; PUT /calling on A's number PATCHes A's Telnyx", async () => {
    // Wired as src/app.ts wires it, on the first instance's configuration (the same tenants, from the same Redis).
    const sw = new TelnyxCallingSwitch({ config: () => f.config.current, permissions: f.permissions, metrics: createMetrics(), logger: createLogger('silent'), clock: () => f.clock.now });
    const withSwitch = await tenantFixture(redis.url, fileConfig(), 50, { telnyxCalling: sw });
    open.push(withSwitch);
    await withSwitch.directory.refresh();
    await sw.poll();
    const reads = (fake: FakeTelnyx) => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/calling_settings'));
    expect(reads(acmeTelnyx).map((r) => [decodeURIComponent(r.path.split('/')[4]!), r.headers.authorization])).toEqual([[A_NUMBER, `Bearer ${acmeTelnyx.key}`]]);
    expect(reads(platformTelnyx).map((r) => decodeURIComponent(r.path.split('/')[4]!))).not.toContain(A_NUMBER);
    expect(reads(platformTelnyx).map((r) => decodeURIComponent(r.path.split('/')[4]!))).toContain(B_NUMBER);

    const off = await withSwitch.api('PUT', `/v1/numbers/${A_NUMBER}/calling`, { enabled: false });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ calling: false, changedAtTelnyx: true });
    const patches = acmeTelnyx.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.headers.authorization)).toEqual([`Bearer ${acmeTelnyx.key}`]);
    expect(platformTelnyx.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
    acmeTelnyx.calling.clear();
  });
});

describe("Meta's call_permissions lookup of a tenant's number asks the tenant's own Meta app (GET /v1/decisions)", () => {
  const C_NUMBER = '+447418600201';
  const C_PNID = '5550201';
  /** Meta's answer: a temporary permission whose start_call limit is used up (daily_limit, not the edge's no_permission). */
  const usedUp = { status: 200, body: { messaging_product: 'whatsapp', permission: { status: 'temporary' }, actions: [{ action_name: 'start_call', can_perform_action: false, limits: [{ time_period: 'PT24H', max_allowed: 100, current_usage: 100, limit_expiration_time: (T0 + 3600_000) / 1000 }] }] } };
  // A generous deadline: on a loaded box the stand-in must not be mistaken for a silent Meta.
  const cloudApi = (meta: FakeMeta, token: string, permissionLookup: unknown = { timeoutMs: 10_000, negativeCacheSeconds: 60 }) => ({ baseUrl: meta.baseUrl, token, permissionLookup });
  let metaA: FakeMeta;
  let metaB: FakeMeta;
  let metaFile: FakeMeta;
  beforeAll(async () => {
    [metaA, metaB, metaFile] = await Promise.all([startFakeMeta(), startFakeMeta(), startFakeMeta()]);
  });
  afterAll(async () => Promise.all([metaA, metaB, metaFile].map((m) => m.close())));
  beforeEach(async () => {
    for (const m of [metaA, metaB, metaFile]) {
      m.requests.length = 0;
      m.answer = usedUp;
    }
    expect((await f.api('PUT', '/v1/tenants/acme/credentials', { ...acmeCredentials(), whatsapp: { ...acmeCredentials().whatsapp, cloudApi: cloudApi(metaA, 'acme-graph-token') } })).statusCode).toBe(200);
    expect((await f.api('PUT', '/v1/tenants/bravo/credentials', { whatsapp: { cloudApi: cloudApi(metaB, 'bravo-graph-token') } })).statusCode).toBe(200);
    // charlie brings no Meta credentials of its own.
    expect((await f.api('POST', '/v1/tenants', { name: 'charlie', numbers: [number(C_NUMBER, C_PNID)] })).statusCode).toBe(201);
  });

  /** An instance on the same Redis (so the same tenants) whose file has this whatsapp block, with the lookup wired as src/app.ts wires it. */
  async function instance(whatsapp: Record<string, unknown>): Promise<TenantFixture> {
    // Its configuration is the new instance's own (its file merged with the tenants), read once it is built.
    const lookup = new PermissionLookup({ config: () => x.config.current, calls: f.calls, permissions: f.permissions, metrics: createMetrics(), logger: createLogger('silent'), clock: () => f.clock.now });
    const x = await tenantFixture(redis.url, { ...fileConfig(), whatsapp: { ...fileConfig().whatsapp, ...whatsapp } }, 50, { permissionLookup: lookup });
    open.push(x);
    await x.directory.refresh();
    return x;
  }
  const decide = async (x: TenantFixture, from: string) => {
    const res = await x.api('GET', `/v1/decisions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(USER)}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const seen = (m: FakeMeta) => m.requests.map((r) => [r.url, r.headers.authorization]);
  const lookupUrl = (pnid: string) => `/v23.0/${pnid}/call_permissions?user_wa_id=${USER.slice(1)}`;

  it("A's number asks A's Meta app with A's token and phone-number id, B's asks B's; a tenant without its own, and the file without a Cloud API: not asked, the edge's answer stands", async () => {
    const x = await instance({});
    expect(await decide(x, A_NUMBER)).toMatchObject({ admitted: false, reason: 'daily_limit', meta: { asked: true, result: 'refused' } });
    expect(seen(metaA)).toEqual([[lookupUrl(A_PNID), 'Bearer acme-graph-token']]);
    expect(await decide(x, B_NUMBER)).toMatchObject({ admitted: false, reason: 'daily_limit', meta: { asked: true, result: 'refused' } });
    expect(seen(metaB)).toEqual([[lookupUrl(B_PNID), 'Bearer bravo-graph-token']]);
    expect(seen(metaA)).toHaveLength(1);
    // As the file's own number without a Cloud API today: not asked, no_permission.
    expect(await decide(x, C_NUMBER)).toMatchObject({ admitted: false, reason: 'no_permission', meta: { asked: false, why: 'whatsapp.cloudApi.permissionLookup is off' } });
    expect([...metaA.requests, ...metaB.requests, ...metaFile.requests]).toHaveLength(2);
  });

  it("with the file's Cloud API: a tenant without its own falls back to it (the file's token); A and B still ask only their own", async () => {
    const x = await instance({ cloudApi: cloudApi(metaFile, 'platform-graph-token') });
    expect(await decide(x, C_NUMBER)).toMatchObject({ reason: 'daily_limit', meta: { asked: true } });
    expect(seen(metaFile)).toEqual([[lookupUrl(C_PNID), 'Bearer platform-graph-token']]);
    await decide(x, A_NUMBER);
    await decide(x, B_NUMBER);
    expect(seen(metaA)).toEqual([[lookupUrl(A_PNID), 'Bearer acme-graph-token']]);
    expect(seen(metaB)).toEqual([[lookupUrl(B_PNID), 'Bearer bravo-graph-token']]);
    expect(metaFile.requests).toHaveLength(1);
  });

  it("a tenant's own Cloud API with the lookup off is off for its numbers: never the file's token instead", async () => {
    expect((await f.api('PUT', '/v1/tenants/bravo/credentials', { whatsapp: { cloudApi: cloudApi(metaB, 'bravo-graph-token', false) } })).statusCode).toBe(200);
    const x = await instance({ cloudApi: cloudApi(metaFile, 'platform-graph-token') });
    expect((await x.api('GET', '/v1/tenants/bravo/credentials')).json().whatsapp.cloudApi).toEqual({ baseUrl: metaB.baseUrl, token: 'set', timeoutMs: 5000, permissionLookup: false });
    expect(await decide(x, B_NUMBER)).toMatchObject({ reason: 'no_permission', meta: { asked: false, why: "tenant bravo's credentials.whatsapp.cloudApi.permissionLookup is off" } });
    expect([...metaB.requests, ...metaFile.requests]).toEqual([]);
  });
});
