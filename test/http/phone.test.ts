// GET /v1/phone and the console's CSP with the phone (SPEC §4a Phone): the page learns where the
// phone's WebSocket is and which devices it may sign in as (never a password), and may connect
// to that WebSocket and nowhere else.
import { beforeEach, describe, expect, it } from 'vitest';
import { BUSINESS } from '../helpers/config.js';
import { useRedisServer } from '../helpers/redis.js';
import { CONSOLE_CSP } from '../../src/http/console.js';
import { TOKEN, useHttpFixtures, type HttpFixture } from './fixture.js';

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
    expect(res.json()).toEqual({ enabled: true, url: 'wss://edge.example.com:8443', domain: 'edge.example.com', media: false, devices: [{ username: 'agent1', numbers: [BUSINESS], callerId: BUSINESS }] });
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
