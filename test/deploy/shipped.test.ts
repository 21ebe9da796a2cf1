// The shipped configuration files booted as shipped: docker/edge.yaml and the production template
// config/example.yaml, read byte for byte from the repository (never copied or rewritten), with the
// variables of .env.example as docs/quickstart.md has the operator fill them, and nothing else in
// the environment. The compose host names are mapped to this machine's loopback by the template's
// own variables, the ones docs/quickstart.md lists for systemd's edge.env: DRACHTIO_HOST,
// DRACHTIO_PORT, REDIS_URL, WA_EDGE_HTTP_PORT, and Telnyx's address by TELNYX_OUTBOUND_PROXY and
// TELNYX_SOURCES. Real drachtio-server, real Redis with a password, SIPp as Telnyx and as a PBX
// that answers the edge's digest challenge with the trunk settings of docs/quickstart.md.
// The first call goes as docs/quickstart.md, "First call", says: a business-initiated call before
// any permission is refused 480 no_permission; the customer calls in (7-day permission); the agent
// calls back; a permission request is recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { addrs, describeWithDrachtio, freeSipPort, startDrachtio, type DrachtioServer } from '../helpers/drachtio.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freePort } from '../helpers/ports.js';
import { describeSipp, sipp } from '../helpers/sipp.js';
import { filledEnv, quickStartEnv, ROOT } from './tools.js';

const BUSINESS = '+447418613982';
const CUSTOMER = '+447911123456';

describe('docker/edge.yaml and config/example.yaml are one template', () => {
  it('load to the same configuration from the same variables, switches off and on', () => {
    const base = { ...filledEnv(), DRACHTIO_HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:6379' };
    const telnyxApi = { WA_EDGE_TELNYX_API: 'true', TELNYX_API_KEY: 'KEY-test', WA_PERMISSION_TEMPLATE: 'call_permission_request_v1' };
    for (const env of [base, { ...base, WA_EDGE_MEDIA: 'true', WA_EDGE_META_WEBHOOK: 'true', WA_EDGE_CLOUD_API: 'true', WA_EDGE_TELNYX_REGISTER: 'true', WA_EDGE_PHONE: 'true', ...telnyxApi }]) {
      expect(loadConfig(`${ROOT}docker/edge.yaml`, env)).toEqual(loadConfig(`${ROOT}config/example.yaml`, env));
    }
    // The phone: off as shipped; on, the WSS listener the drachtio service opens, the page's URL from its host.
    expect(loadConfig(`${ROOT}docker/edge.yaml`, base).sip.webrtc).toBeUndefined();
    const phone = { ...base, WA_EDGE_PHONE: 'true' };
    expect(loadConfig(`${ROOT}config/example.yaml`, phone).sip.webrtc).toEqual({ contact: 'sips:*:8443;transport=wss' });
    expect(loadConfig(`${ROOT}config/example.yaml`, { ...phone, WA_EDGE_PHONE_URL: 'wss://edge.example.com:8443' }).sip.webrtc?.url).toBe('wss://edge.example.com:8443');
  });
});

for (const file of ['docker/edge.yaml', 'config/example.yaml']) {
  describeWithDrachtio(`${file} booted as shipped, first call as docs/quickstart.md says`, () => {
    let redis: RedisServer;
    let drachtio: DrachtioServer;
    let edge: ChildProcess;
    let env: Record<string, string>;
    let http: string;
    let telnyxPort: number;
    let pbxPort: number;
    let out = '';
    const token = () => env.WA_EDGE_ADMIN_TOKEN as string;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${http}${path}`, { ...init, headers: { authorization: `Bearer ${token()}`, ...(init.headers ?? {}) } });

    beforeAll(async () => {
      const quickStart = quickStartEnv(); // .env.example with its Required values filled in, nothing else
      redis = await startRedis({ requirePass: quickStart.REDIS_PASSWORD });
      drachtio = await startDrachtio({ secret: quickStart.DRACHTIO_SECRET });
      telnyxPort = await freeSipPort(addrs.telnyx);
      pbxPort = await freeSipPort(addrs.pbx);
      const httpPort = await freePort();
      http = `http://127.0.0.1:${httpPort}`;
      env = {
        ...quickStart,
        WA_BUSINESS_NUMBER: BUSINESS,
        PBX_SOURCE_CIDR: `${addrs.pbx}/32`,
        PBX_INBOUND_URI: `sip:100@${addrs.pbx}:${pbxPort}`,
        // compose's host names → this machine's services
        DRACHTIO_HOST: drachtio.adminHost,
        DRACHTIO_PORT: String(drachtio.adminPort),
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        WA_EDGE_HTTP_PORT: String(httpPort),
        TELNYX_OUTBOUND_PROXY: `sip:${addrs.telnyx}:${telnyxPort}`,
        TELNYX_SOURCES: `${addrs.telnyx}/32`,
      };
      // What the edge process sees: these variables, and PATH to find node.
      edge = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', `${ROOT}${file}`], {
        cwd: ROOT,
        env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      edge.stdout!.on('data', (d) => (out += d));
      edge.stderr!.on('data', (d) => (out += d));
      await vi.waitFor(
        async () => {
          const status = (await fetch(`${http}/readyz`).catch(() => undefined))?.status;
          if (status !== 200) throw new Error(`/readyz ${status ?? 'not answering'}\n${out.slice(-2000)}`);
        },
        { timeout: 30_000, interval: 200 },
      );
    }, 60_000);

    afterAll(async () => {
      if (edge && edge.exitCode === null) {
        const exited = new Promise((r) => edge.once('exit', r));
        edge.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (edge.exitCode === null) edge.kill('SIGKILL');
      }
      await drachtio?.stop();
      await redis?.stop();
    });

    it('is ready with drachtio-server and a password-protected Redis, HTTP on 127.0.0.1, no Meta values, the switches off', async () => {
      const ready = (await (await fetch(`${http}/readyz`)).json()) as Record<string, unknown>;
      expect(ready).toMatchObject({ drachtio: 'up', redis: 'up' });
      expect(ready.telnyxRegistration).toBeUndefined();
      expect(out).toMatch(/"http":"127\.0\.0\.1:\d+"/);
      for (const k of ['META_APP_SECRET', 'META_VERIFY_TOKEN', 'META_CLOUD_API_TOKEN', 'WA_PHONE_NUMBER_ID']) expect(env[k], k).toBe(''); // as .env.example ships them
    });

    it('a first business-initiated call is refused 480 no_permission, and /v1/decisions says why', async () => {
      const r = await api('/v1/decisions?from=%2B447418613982&to=%2B447911123456'); // as docs/quickstart.md writes it
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('"admitted":false,"reason":"no_permission","code":480'); // as docs/quickstart.md quotes it
    });

    it('the customer calls the business number from WhatsApp: it rings the PBX, and grants a 7-day permission', async () => {
      const pbx = sipp({ scenario: 'pbx_uas_answer.xml', localAddress: addrs.pbx, localPort: pbxPort, vars: { expected_ruri: env.PBX_INBOUND_URI as string, expected_from: CUSTOMER }, timeoutSec: 20 });
      await pbx.ready;
      const telnyx = await sipp({ scenario: 'telnyx_call.xml', localAddress: addrs.telnyx, remote: drachtio.sipHostPort, vars: { business: BUSINESS, user: CUSTOMER, hold: 300 }, timeoutSec: 20 }).done;
      if (telnyx.code !== 0) pbx.kill();
      const answered = await pbx.done;
      expect(telnyx.code, `${describeSipp(telnyx)}\n${out.slice(-3000)}`).toBe(0);
      expect(answered.code, describeSipp(answered)).toBe(0);
      const user = (await (await api(`/v1/numbers/${BUSINESS}/users/${CUSTOMER}`)).json()) as { permission?: { kind?: string; expiresAt?: string | number; source?: string } };
      expect(user.permission).toMatchObject({ kind: 'temporary', source: 'callback' });
      const days = (new Date(user.permission!.expiresAt!).getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(6.9);
      expect(days).toBeLessThanOrEqual(7);
    });

    it('the agent calls back through the PBX trunk, answering the digest challenge with PBX_TRUNK_USERNAME / PBX_TRUNK_PASSWORD', async () => {
      const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: telnyxPort, vars: { expected_ruri: `sip:${CUSTOMER}@whatsapp-${BUSINESS.slice(1)}.sip.telnyx.com` }, timeoutSec: 20 });
      await telnyx.ready;
      const pbx = await sipp({
        scenario: 'pbx_call_auth.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: CUSTOMER,
        vars: { from: BUSINESS, hold: 300 }, extraArgs: ['-au', env.PBX_TRUNK_USERNAME as string, '-ap', env.PBX_TRUNK_PASSWORD as string], timeoutSec: 20,
      }).done;
      if (pbx.code !== 0) telnyx.kill();
      const far = await telnyx.done;
      expect(pbx.code, `${describeSipp(pbx)}\n${out.slice(-3000)}`).toBe(0);
      expect(far.code, describeSipp(far)).toBe(0);
      const { calls: list } = (await (await api('/v1/calls?limit=5')).json()) as { calls: { direction?: string; outcome?: string }[] };
      expect(list.map((c) => `${c.direction}:${c.outcome}`)).toEqual(expect.arrayContaining(['outbound:connected', 'inbound:connected']));
    });

    it('a permission request without the Cloud API is not sent and not counted, one sent elsewhere is recorded, and an accepted one recorded by hand', async () => {
      const other = '+447911000000';
      const path = `/v1/numbers/${BUSINESS}/users/${other}`; // a literal +, as docs/quickstart.md writes it
      const notSent = await api(`${path}/permission-requests`, { method: 'POST' });
      expect(notSent.status).toBe(409);
      expect(await notSent.json()).toMatchObject({ error: 'cloud_api_not_configured' });
      const r = await api(`${path}/permission-requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sentElsewhere":true}' });
      expect(r.status).toBe(202);
      expect(await r.json()).toMatchObject({ sent: false });
      const put = await api(`${path}/permission`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"kind":"temporary"}' });
      expect(put.status).toBe(200);
      const decision = await api(`/v1/decisions?from=${encodeURIComponent(BUSINESS)}&to=${encodeURIComponent(other)}`);
      expect(await decision.json()).toMatchObject({ admitted: true });
    });
  });
}
