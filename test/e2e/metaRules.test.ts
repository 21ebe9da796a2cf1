// Meta's calling rules as Meta enforces them (issue #31, SPEC §3, §7) over real SIP: SIPp as the
// PBX on 127.0.0.1 and as Telnyx on 127.0.0.2, a real drachtio-server and Redis, the edge app and
// its HTTP API, the webhooks signed as Meta and Telnyx sign them.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { sipp, type SippResult } from '../helpers/sipp.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { until } from '../helpers/until.js';
import { numberKeys } from '../../src/state/keys.js';
import { edgeHttpServer } from '../../src/edgeHttp.js';
import { expectOk, inboundCall, outboundCall } from './call.js';

const APP_SECRET = 'meta-app-secret-e2e';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const PUBLIC_KEY = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');

/** The Retry-After of the final response the PBX received. */
function retryAfterOf(r: SippResult): number | undefined {
  const m = /^Retry-After:\s*(\d+)/im.exec(r.messages);
  return m ? Number(m[1]) : undefined;
}

describeWithDrachtio("Meta's rules over SIP: the cap per customer, restrictions", () => {
  let fx: EdgeFixture;
  let redis: RedisServer;
  let http: FastifyInstance;

  beforeAll(async () => {
    // Append-only, as production runs it: a restriction survives a Redis restart.
    redis = await startRedis({ appendOnly: true });
    fx = await startEdgeFixture(
      ({ pbxPort, telnyxPort }) => ({
        trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
        numbers: [{ number: BUSINESS, calling: true, inbound: [`sip:100@${addrs.pbx}:${pbxPort}`] }],
        whatsapp: { webhook: { appSecret: APP_SECRET, verifyToken: 'verify-e2e' } },
        telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`], webhook: { publicKey: PUBLIC_KEY } },
      }),
      { redis },
    );
    http = await edgeHttpServer(fx.edge);
    await http.ready();
  }, 60_000);
  afterAll(async () => {
    await http?.close();
    await fx?.stop();
    await redis?.stop();
  });
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  });
  afterEach(async () => fx.expectIdle());

  const api = (method: 'GET' | 'DELETE', url: string) => http.inject({ method, url, headers: { authorization: `Bearer ${fx.edge.config.current.http.adminToken}` } });
  const deliverMeta = (payload: unknown) => {
    const raw = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
    return http.inject({ method: 'POST', url: '/v1/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, payload: raw });
  };
  const deliverTelnyx = (eventType: string, payload: unknown) => {
    const raw = JSON.stringify({ data: { record_type: 'event', id: `evt-${Date.now()}`, event_type: eventType, occurred_at: new Date().toISOString(), payload } });
    const ts = String(Math.floor(Date.now() / 1000));
    return http.inject({
      method: 'POST',
      url: '/v1/webhooks/telnyx',
      headers: { 'content-type': 'application/json', 'telnyx-signature-ed25519': sign(null, Buffer.from(`${ts}|${raw}`), privateKey).toString('base64'), 'telnyx-timestamp': ts },
      payload: raw,
    });
  };
  const metaRestriction = (expiration: number | string) => ({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA-E2E', time: Math.floor(Date.now() / 1000), changes: [{ field: 'account_update', value: { phone_number: BUSINESS.slice(1), event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration }] } }] }],
  });
  const refusedCall = () => outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '403', reason: 'account_restricted', retry_after: 'yes' } });
  const connectedCall = () => outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });

  describe("the cap is Meta's: 100 connected calls per customer, none per number (by default)", () => {
    it('150 connected calls from one number to 150 different customers all connect', async () => {
      const users = Array.from({ length: 150 }, (_, i) => `+4479111${String(i).padStart(5, '0')}`);
      for (const u of users) await fx.edge.permissions.grant(BUSINESS, u, 'permanent', 'test');
      const dir = mkdtempSync(join(tmpdir(), 'wa-edge-users-'));
      try {
        const csv = join(dir, 'users.csv');
        writeFileSync(csv, ['SEQUENTIAL', ...users.map((u) => u.slice(1))].join('\n') + '\n');
        const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, calls: 150, timeoutSec: 150 });
        await telnyx.ready;
        const pbx = await sipp({ scenario: 'pbx_call_users.xml', localAddress: addrs.pbx, remote: fx.sip, injectFile: csv, calls: 150, rate: 10, limit: 5, vars: { hold: 50 }, timeoutSec: 150 }).done;
        if (pbx.code !== 0) telnyx.kill();
        const uas = await telnyx.done;
        expectOk(pbx, fx);
        expectOk(uas, fx);
        expect(pbx.stdout + pbx.messages).not.toMatch(/daily_limit/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      await fx.expectIdle(10_000);
      await until(async () => (await fx.edge.calls.connected24h(BUSINESS)) === 150, 10_000, '150 connected calls to be counted');
      expect(fx.edge.config.current.whatsapp.connectedCallsPer24h).toEqual({ perUser: 100, perNumber: null });
    }, 240_000);

    it("the 101st connected call to one customer in 24 h: 480 daily_limit, Retry-After until the oldest leaves the window", async () => {
      // 100 connected calls with this customer, the oldest 1 h ago (the rows SPEC §3 counts; filled
      // directly, as 100 real calls would take minutes and test nothing more).
      const now = Date.now();
      const k = numberKeys(BUSINESS).userConnected(USER);
      for (let i = 0; i < 100; i++) await fx.edge.redis.zadd(k, now - 3_600_000 + i * 1000, `earlier-${i}`);
      const { pbx } = await outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '480', reason: 'daily_limit', retry_after: 'yes' } });
      expectOk(pbx, fx);
      const wait = retryAfterOf(pbx)!;
      expect(wait).toBeGreaterThan(23 * 3600 - 30);
      expect(wait).toBeLessThanOrEqual(23 * 3600 + 1);
    });
  });

  describe("Meta's restriction of business-initiated calling", () => {
    it("signed account_update → 403 account_restricted with Retry-After; a user's call still rings the PBX; DELETE lifts it", async () => {
      const expiry = Math.floor(Date.now() / 1000) + 3 * 86400;
      const res = await deliverMeta(metaRestriction(expiry));
      expect(res.json()).toMatchObject({ account: { restricted: 1 } });
      const { pbx } = await refusedCall();
      expectOk(pbx, fx);
      const wait = retryAfterOf(pbx)!;
      expect(Math.abs(wait - (expiry - Date.now() / 1000))).toBeLessThan(10);

      // The WhatsApp user's own call is never refused for it.
      const inbound = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 100 } }, [{ scenario: 'pbx_uas_answer.xml', port: fx.pbxPort }]);
      expectOk(inbound.telnyx, fx);
      expectOk(inbound.pbx[0], fx);
      await fx.expectIdle();

      expect((await api('DELETE', `/v1/numbers/${BUSINESS}/restriction`)).json()).toEqual({ number: BUSINESS, lifted: true });
      const after = await connectedCall();
      expectOk(after.pbx, fx);
      expectOk(after.telnyx, fx);
    });

    it('after its expiration, calls go again by themselves', async () => {
      const expiry = new Date(Date.now() + 2500).toISOString();
      await deliverMeta(metaRestriction(expiry));
      expectOk((await refusedCall()).pbx, fx);
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiry) - Date.now()) + 200));
      const { pbx, telnyx } = await connectedCall();
      expectOk(pbx, fx);
      expectOk(telnyx, fx);
    });

    it("signed whatsapp.account.restricted from Telnyx → refused; it survives a Redis restart", async () => {
      const res = await deliverTelnyx('whatsapp.account.restricted', {
        record_type: 'whatsapp_account',
        waba_id: 'WABA-E2E',
        phone_number: BUSINESS,
        restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: new Date(Date.now() + 86_400_000).toISOString() }],
      });
      expect(res.json()).toMatchObject({ account: { restricted: 1 } });
      expectOk((await refusedCall()).pbx, fx);

      await redis.kill();
      await redis.start();
      await until(() => fx.edge.redis.status === 'ready', 10_000, 'the edge to reconnect to Redis');
      const { pbx } = await refusedCall();
      expectOk(pbx, fx);
      expect(retryAfterOf(pbx)).toBeGreaterThan(86_400 - 60);
      expect((await api('GET', '/v1/numbers')).json().numbers[0].restriction).toMatchObject({ source: 'telnyx', types: ['RESTRICTED_BIZ_INITIATED_CALLING'] });
    });
  });
});
