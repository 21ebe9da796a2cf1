// GET /v1/phone and the console's CSP with the phone (SPEC §4a Phone): the page learns where the
// phone's WebSocket is and which devices it may sign in as (never a password), each at the domain
// that names its tenant (SPEC §2a); a tenant's token learns of its own devices only; and the page
// may connect to that WebSocket and nowhere else.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BUSINESS } from '../helpers/config.js';
import { useRedisServer } from '../helpers/redis.js';
import { CONSOLE_CSP } from '../../src/http/console.js';
import { TOKEN, useHttpFixtures, type HttpFixture } from './fixture.js';
import { tenantFixture, type TenantFixture } from './tenantFixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
const DEVICES = [{ username: 'agent1', password: 'agent1-secret-42', numbers: [BUSINESS] }];
const WEBRTC = { contact: 'sips:0.0.0.0:8443;transport=wss' };
let f: HttpFixture;

const get = (url: string, host = 'edge.example.com:8080') => f.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}`, host } });

describe('GET /v1/phone', () => {
  beforeEach(async () => {
    f = await openFixture({ devices: DEVICES, sip: { webrtc: WEBRTC } });
  });

  it('the WebSocket on the host the console was reached at, the devices without their passwords', async () => {
    const res = await get('/v1/phone');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ enabled: true, url: 'wss://edge.example.com:8443', media: false, devices: [{ username: 'agent1', tenant: 'default', domain: 'edge.example.com', numbers: [BUSINESS], callerId: BUSINESS }] });
    expect(res.body).not.toContain('agent1-secret-42');
  });

  it('needs the admin token', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/phone' })).statusCode).toBe(401);
  });

  it("the console's CSP adds the phone's WebSocket origin to connect-src, and only that", async () => {
    const res = await f.app.inject({ method: 'GET', url: '/console', headers: { host: 'edge.example.com:8080' } });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("connect-src 'self' wss://edge.example.com:8443;");
    expect(csp.replace(" wss://edge.example.com:8443", '')).toBe(CONSOLE_CSP);
  });
});

describe('GET /v1/phone without sip.webrtc', () => {
  beforeEach(async () => {
    f = await openFixture({ devices: DEVICES });
  });

  it('says there is no phone and lists no device; the CSP stays as it was', async () => {
    expect((await get('/v1/phone')).json()).toEqual({ enabled: false, media: false, devices: [] });
    const res = await f.app.inject({ method: 'GET', url: '/console' });
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });
});

describe("GET /v1/phone with tenants: each device at its tenant's domain, a tenant's token sees its own", () => {
  const A_NUMBER = '+447418600001';
  const B_NUMBER = '+447418600101';
  const C_NUMBER = '+447418600201';
  let t: TenantFixture;
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t?.close();
    t = await tenantFixture(redis.url, { devices: DEVICES, sip: { webrtc: WEBRTC } });
    await t.redis.flushall();
    await t.directory.refresh();
    const tenants = [
      { name: 'acme', domain: 'acme.sip.example', numbers: [{ number: A_NUMBER }], devices: [{ username: 'alice', password: 'acme-alice-1', numbers: [A_NUMBER] }] },
      { name: 'bravo', domain: 'bravo.sip.example', numbers: [{ number: B_NUMBER }], devices: [{ username: 'alice', password: 'bravo-alice-2', numbers: [B_NUMBER] }, { username: 'bob', password: 'bravo-bob-3', numbers: [B_NUMBER] }] },
      // No domain: no softphone can name this tenant, so the phone has none of its devices.
      { name: 'carol', numbers: [{ number: C_NUMBER }], devices: [{ username: 'carl', password: 'carol-carl-4', numbers: [C_NUMBER] }] },
    ];
    for (const body of tenants) expect((await t.api('POST', '/v1/tenants', body)).statusCode).toBe(201);
  });
  const phoneAs = async (token: string) => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/phone', headers: { authorization: `Bearer ${token}`, host: 'edge.example.com:8080' } });
    expect(res.statusCode).toBe(200);
    for (const secret of ['agent1-secret-42', 'acme-alice-1', 'bravo-alice-2', 'bravo-bob-3', 'carol-carl-4']) expect(res.body).not.toContain(secret);
    return res.json() as { devices: { username: string; tenant: string; domain: string }[] };
  };
  const tokenOf = async (tenant: string) => (await t.api('POST', `/v1/tenants/${tenant}/tokens`, { name: 'console' })).json().token as string;

  it("the operator: every device whose tenant a softphone can name, by its username at its tenant's domain", async () => {
    expect((await phoneAs(TOKEN)).devices).toEqual([
      { username: 'agent1', tenant: 'default', domain: 'edge.example.com', numbers: [BUSINESS], callerId: BUSINESS },
      { username: 'alice', tenant: 'acme', domain: 'acme.sip.example', numbers: [A_NUMBER], callerId: A_NUMBER },
      { username: 'alice', tenant: 'bravo', domain: 'bravo.sip.example', numbers: [B_NUMBER], callerId: B_NUMBER },
      { username: 'bob', tenant: 'bravo', domain: 'bravo.sip.example', numbers: [B_NUMBER], callerId: B_NUMBER },
    ]);
  });

  it("a tenant's token: its own devices only, nothing of another tenant or of the file", async () => {
    expect((await phoneAs(await tokenOf('acme'))).devices).toEqual([{ username: 'alice', tenant: 'acme', domain: 'acme.sip.example', numbers: [A_NUMBER], callerId: A_NUMBER }]);
    expect((await phoneAs(await tokenOf('bravo'))).devices.map((d) => `${d.username}@${d.domain}`)).toEqual(['alice@bravo.sip.example', 'bob@bravo.sip.example']);
    expect((await phoneAs(await tokenOf('carol'))).devices).toEqual([]);
  });
});
