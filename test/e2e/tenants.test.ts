// Tenants over SIP (SPEC §2a, §3 tenant_limit), configured through the API of the running edge:
// A's trunk cannot call from B's number, A's softphone cannot register as B's, and A at its
// concurrent limit gets 503 tenant_limit under load while B's calls all go through, and A's WhatsApp
// users' calls count against the same limit. SIPp as the PBXs (A on 127.0.0.7, B on 127.0.0.8) and
// as Telnyx (127.0.0.2; a user's call held until the test hangs it up is a hand-driven UDP client),
// a real drachtio-server, real Redis.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort } from '../helpers/drachtio.js';
import { operatorApi, startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { sipp, describeSipp } from '../helpers/sipp.js';
import { challengeOf, digestAuthorization, rawClient } from '../helpers/digestClient.js';
import { recentCalls } from '../../src/state/records.js';
import { tenantKeys } from '../../src/tenants/gate.js';
import { until } from '../helpers/until.js';
import { expectOk, expectRefused, inboundCall, outboundCall } from './call.js';
import { numberKeys } from '../../src/state/keys.js';

const A_PBX = '127.0.0.7';
const B_PBX = '127.0.0.8';
const A_NUMBER = '+447418600001';
const B_NUMBER = '+447418600101';

describeWithDrachtio('tenants over SIP: isolation and per-tenant limits', () => {
  let fx: EdgeFixture;
  let api: Awaited<ReturnType<typeof operatorApi>>;
  const call = (method: 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => api.call(method, url, body);

  beforeAll(async () => {
    fx = await startEdgeFixture(() => ({
      sip: { realm: 'edge.wa-test' },
      trunks: [{ name: 'main', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS }],
    }));
    api = await operatorApi(fx);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fx?.stop();
  });
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    await fx.edge.tenants.refresh();
    for (const [name, domain, number, pbx, password] of [
      ['acme', 'acme.test', A_NUMBER, A_PBX, 'acme-alice-1'],
      ['bravo', 'bravo.test', B_NUMBER, B_PBX, 'bravo-alice-2'],
    ] as const) {
      const res = await call('POST', '/v1/tenants', {
        name,
        domain,
        numbers: [{ number, inbound: ['device:alice'] }],
        trunks: [{ name: 'pbx', sources: [`${pbx}/32`], numbers: [number], defaultRegion: 'GB' }],
        devices: [{ username: 'alice', password, numbers: [number] }],
      });
      expect(res.statusCode, res.body).toBe(201);
      await fx.edge.permissions.grant(number, USER, 'permanent', 'test');
    }
  });
  afterEach(async () => fx.expectIdle(10_000));

  it("A's trunk cannot place a call from B's number (403 number_not_enabled), nor from the file's", async () => {
    await expectRefused(fx, 403, 'number_not_enabled', { from: B_NUMBER, localAddress: A_PBX });
    await expectRefused(fx, 403, 'number_not_enabled', { from: BUSINESS, localAddress: A_PBX });
  });

  it("A's softphone registers under A's domain only: never as B's alice, never into B's registrations", async () => {
    const phone = await rawClient(addrs.softphone);
    const edge = { host: addrs.edge, port: Number(fx.sip.split(':')[1]) };
    try {
      const register = async (domain: string, password: string) => {
        const first = await phone.request(edge, 'REGISTER', { user: 'alice', domain });
        expect(first.status).toBe(401);
        const c = challengeOf(first);
        // The challenge's realm is the tenant's domain: credentials are bound to the tenant.
        expect(c.realm).toBe(domain);
        return phone.request(edge, 'REGISTER', { user: 'alice', domain, auth: digestAuthorization(c, 'REGISTER', `sip:${edge.host}:${edge.port}`, 'alice', password) });
      };
      expect((await register('acme.test', 'acme-alice-1')).status).toBe(200);
      expect(await fx.edge.devices.list('alice@acme')).toHaveLength(1);
      // A's password against B's domain: B's alice is another softphone with another password.
      expect((await register('bravo.test', 'acme-alice-1')).status).toBe(403);
      expect(await fx.edge.devices.list('alice@bravo')).toHaveLength(0);
      // A's realm answered to B's domain is refused too.
      const toB = await phone.request(edge, 'REGISTER', { user: 'alice', domain: 'bravo.test' });
      const realmOfA = { ...challengeOf(toB), realm: 'acme.test' };
      const crossed = await phone.request(edge, 'REGISTER', { user: 'alice', domain: 'bravo.test', auth: digestAuthorization(realmOfA, 'REGISTER', `sip:${edge.host}:${edge.port}`, 'alice', 'acme-alice-1') });
      expect(crossed.status).toBe(403);
      expect(await fx.edge.devices.list('alice@bravo')).toHaveLength(0);
    } finally {
      phone.close();
    }
  });

  it("A's metrics show nothing of B: A's connected call and B's refusal each in its own tenant's view; the operator's has both", async () => {
    const tokenOf = async (tenant: string) => {
      const res = await call('POST', `/v1/tenants/${tenant}/tokens`, { name: 'prometheus' });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().token as string;
    };
    const [a, b] = [await tokenOf('acme'), await tokenOf('bravo')];
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', service: USER, vars: { from: A_NUMBER, hold: 100 }, localAddress: A_PBX }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    // B's trunk tries A's number: refused, and counted as B's (the caller's), never shown to A.
    await expectRefused(fx, 403, 'number_not_enabled', { from: A_NUMBER, localAddress: B_PBX });
    const view = async (tenant: string, token: string) => {
      const res = await api.inject({ method: 'GET', url: `/v1/tenants/${tenant}/metrics`, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, res.body).toBe(200);
      return res.body;
    };
    // The call's outcome is counted when it closes, just after SIPp's BYE is answered.
    await until(async () => (await view('acme', a)).includes('wa_edge_calls_total{direction="outbound",outcome="connected",tenant="acme"} 1'), 10_000, "A's connected call in A's view");
    const ofA = await view('acme', a);
    // prom-client orders a histogram's labels its own way: the line is found by its labels.
    const setupCount = ofA.split('\n').filter((l) => l.startsWith('wa_edge_call_setup_seconds_count{') && l.includes('direction="outbound"'));
    expect(setupCount, ofA).toEqual([expect.stringMatching(/tenant="acme".* 1$/)]);
    expect(ofA).not.toMatch(/reason="number_not_enabled"[^\n]*\} [1-9]/);
    for (const other of ['bravo', B_NUMBER, 'tenant="default"']) expect(ofA).not.toContain(other);
    const ofB = await view('bravo', b);
    expect(ofB).toContain('wa_edge_rejections_total{direction="outbound",reason="number_not_enabled",tenant="bravo"} 1');
    expect(ofB).toContain('wa_edge_calls_total{direction="outbound",outcome="connected",tenant="bravo"} 0');
    expect(ofB).not.toContain('wa_edge_call_setup_seconds_count');
    for (const other of ['acme', A_NUMBER, 'tenant="default"']) expect(ofB).not.toContain(other);
    expect((await api.inject({ method: 'GET', url: '/v1/tenants/acme/metrics', headers: { authorization: `Bearer ${b}` } })).statusCode).toBe(404);
    const all = (await api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(all).toContain('wa_edge_calls_total{direction="outbound",outcome="connected",tenant="acme"} 1');
    expect(all).toContain('wa_edge_rejections_total{direction="outbound",reason="number_not_enabled",tenant="bravo"} 1');
  });

  it("a permission of A never lets B call the same user", async () => {
    await fx.edge.permissions.revoke(B_NUMBER, USER, 'test');
    expect((await fx.edge.permissions.userState(A_NUMBER, USER)).permission.kind).toBe('permanent');
    await expectRefused(fx, 480, 'no_permission', { from: B_NUMBER, localAddress: B_PBX });
  });

  it("a WhatsApp call to B's number never rings A's softphone of the same name; one to A's does", async () => {
    fx.reconfigure({ sip: { realm: 'edge.wa-test', inboundTargetTimeoutSeconds: 1 }, trunks: [{ name: 'main', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }], numbers: [{ number: BUSINESS }] });
    await fx.edge.tenants.refresh();
    const phone = await rawClient(addrs.softphone);
    const telnyx = await rawClient(addrs.telnyx);
    const closeLater: (() => void)[] = [];
    const edge = { host: addrs.edge, port: Number(fx.sip.split(':')[1]) };
    try {
      const challenge = challengeOf(await phone.request(edge, 'REGISTER', { user: 'alice', domain: 'acme.test' }));
      const ok = await phone.request(edge, 'REGISTER', { user: 'alice', domain: 'acme.test', auth: digestAuthorization(challenge, 'REGISTER', `sip:${edge.host}:${edge.port}`, 'alice', 'acme-alice-1') });
      expect(ok.status).toBe(200);
      const toB = await telnyx.request(edge, 'INVITE', { user: '+447911123456', ruriUser: B_NUMBER });
      expect(toB.status).toBeGreaterThanOrEqual(400);
      expect(phone.heard.filter((m) => m.startsWith('INVITE '))).toEqual([]);
      // The control: a call to A's number does ring it (the answer does not matter here).
      const telnyx2 = await rawClient(addrs.telnyx);
      closeLater.push(() => telnyx2.close());
      const toA = telnyx2.request(edge, 'INVITE', { user: '+447911123456', ruriUser: A_NUMBER }).catch(() => undefined);
      await until(() => phone.heard.some((m) => m.startsWith('INVITE ')), 5000, "the edge to ring A's alice");
      await toA;
    } finally {
      phone.close();
      telnyx.close();
      for (const close of closeLater) close();
      fx.reconfigure({ sip: { realm: 'edge.wa-test' }, trunks: [{ name: 'main', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }], numbers: [{ number: BUSINESS }] });
    }
  });

  it("A's WhatsApp users' calls fill A's concurrent limit: A's next user's call and A's outbound call get 503 tenant_limit, B's call goes through, every lease is gone after the hang-ups", async () => {
    const LIMIT = 3;
    expect((await call('PUT', '/v1/tenants/acme/limits', { maxConcurrentCalls: LIMIT })).statusCode).toBe(200);
    // A's number rings A's PBX (SIPp answering on A's address).
    const aPbxPort = await freeSipPort(A_PBX);
    const routed = await call('PUT', `/v1/tenants/acme/numbers/${A_NUMBER}`, { number: A_NUMBER, inbound: [`sip:100@${A_PBX}:${aPbxPort}`] });
    expect(routed.statusCode, routed.body).toBe(200);
    const aPbx = sipp({ scenario: 'pbx_uas_answer.xml', localAddress: A_PBX, localPort: aPbxPort, calls: LIMIT, timeoutSec: 60 });
    await aPbx.ready;
    // Telnyx delivers LIMIT calls of another user to A's number (A's outbound call below is to USER,
    // not busy), each held up until this test hangs it up.
    const edge = { host: addrs.edge, port: Number(fx.sip.split(':')[1]) };
    const telnyxLegs = await Promise.all(Array.from({ length: LIMIT }, () => rawClient(addrs.telnyx)));
    try {
      const answers = await Promise.all(telnyxLegs.map((t) => t.request(edge, 'INVITE', { user: '+447911000111', ruriUser: A_NUMBER, timeoutMs: 30_000 })));
      expect(answers.map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
      await Promise.all(telnyxLegs.map((t, i) => t.ack(edge, answers[i]!)));
      await until(async () => (await fx.edge.redis.zcard(tenantKeys('acme').active)) === LIMIT, 20_000, `A to hold ${LIMIT} inbound calls`);
      await until(() => fx.edge.sessions.size === LIMIT, 10_000, 'the held calls to be answered on the edge');

      // One more user calls A: refused with Retry-After, and still granted the callback permission (SPEC §7).
      const refusedUser = '+447911000333';
      const { telnyx: refused } = await inboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.telnyx, service: A_NUMBER, vars: { from: refusedUser, code: '503', reason: 'tenant_limit', retry_after: 'yes' } });
      expectOk(refused, fx);
      expect((await fx.edge.permissions.userState(A_NUMBER, refusedUser)).permission).toMatchObject({ kind: 'temporary', source: 'callback' });
      // The only inbound tenant_limit of this edge's life (the other tests refuse outbound calls).
      const rejections = (await fx.edge.metrics.rejectionsTotal.get()).values;
      expect(rejections.find((v) => v.labels.direction === 'inbound' && v.labels.reason === 'tenant_limit' && v.labels.tenant === 'acme')?.value).toBe(1);
      // A's PBX may not place a call either: A's inbound calls count against the same limit.
      await expectRefused(fx, 503, 'tenant_limit', { from: A_NUMBER, localAddress: A_PBX, retryAfter: true });
      // B is untouched.
      const { pbx: bCall, telnyx: bTelnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', localAddress: B_PBX, vars: { from: B_NUMBER, hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
      expectOk(bCall, fx);
      expectOk(bTelnyx, fx);

      // Telnyx hangs up the held calls: every tenant and number lease is given back.
      expect((await Promise.all(telnyxLegs.map((t, i) => t.bye(edge, answers[i]!)))).map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    } finally {
      telnyxLegs.forEach((t) => t.close());
    }
    expectOk(await aPbx.done, fx);
    await until(async () => (await fx.edge.redis.zcard(tenantKeys('acme').active)) === 0, 20_000, "A's tenant leases to be released");
    await until(() => fx.edge.sessions.size === 0, 20_000, 'the held calls to end on the edge');
    expect(await fx.edge.redis.zcard(numberKeys(A_NUMBER).active)).toBe(0);
  }, 120_000);

  it('under load, A at its concurrent limit gets 503 tenant_limit (Retry-After) while every call of B goes through', async () => {
    const res = await call('PUT', '/v1/tenants/acme/limits', { maxConcurrentCalls: 5 });
    expect(res.statusCode, res.body).toBe(200);
    // The edge's counters live as long as it does: this test counts what it adds.
    const tenantLimitRefusals = async (tenant: string) => (await fx.edge.metrics.rejectionsTotal.get()).values.find((v) => v.labels.direction === 'outbound' && v.labels.reason === 'tenant_limit' && v.labels.tenant === tenant)?.value ?? 0;
    const refusedBefore = { acme: await tenantLimitRefusals('acme'), bravo: await tenantLimitRefusals('bravo') };
    const A_CALLS = 20;
    const B_CALLS = 10;
    const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, calls: 5 + B_CALLS, timeoutSec: 40 });
    await telnyx.ready;
    // One user per call: a user has one call at a time on a number (SPEC §3 user_busy).
    const dir = mkdtempSync(join(tmpdir(), 'wa-edge-tenants-'));
    const pbx = async (address: string, from: string, calls: number) => {
      const users = Array.from({ length: calls }, (_, i) => `+4479110${String(i).padStart(5, '0')}`);
      for (const user of users) await fx.edge.permissions.grant(from, user, 'permanent', 'test');
      const injectFile = join(dir, `${address}.csv`);
      writeFileSync(injectFile, ['SEQUENTIAL', ...users.map((u) => `${u};`)].join('\n') + '\n');
      return sipp({ scenario: 'pbx_call_users.xml', localAddress: address, remote: fx.sip, injectFile, vars: { from, hold: 4000 }, calls, rate: 20, limit: calls, timeoutSec: 30 });
    };
    const a = await pbx(A_PBX, A_NUMBER, A_CALLS);
    const b = await pbx(B_PBX, B_NUMBER, B_CALLS);
    const [aResult, bResult, telnyxResult] = await Promise.all([a.done, b.done, telnyx.done]);
    rmSync(dir, { recursive: true, force: true });
    expectOk(bResult, fx);
    expectOk(telnyxResult, fx);
    // A: SIPp counts its refused calls as failed; the edge says which and why.
    expect(aResult.code, describeSipp(aResult)).toBe(1);
    // Counted as A's, and as nobody else's (each series carries its tenant: src/tenantMetrics.ts).
    expect((await tenantLimitRefusals('acme')) - refusedBefore.acme).toBe(A_CALLS - 5);
    expect((await tenantLimitRefusals('bravo')) - refusedBefore.bravo).toBe(0);
    expect(aResult.messages).toMatch(/SIP\/2\.0 503[^\n]*\n(?:[^\n]+\n)*?Reason: SIP;cause=503;text="tenant_limit"/);
    expect(aResult.messages).toMatch(/Retry-After: \d+/);
    await until(async () => (await recentCalls(fx.edge.redis, 100)).length >= 5 + B_CALLS, 10_000, 'the call records');
    const records = await recentCalls(fx.edge.redis, 100);
    expect(records.filter((r) => r.number === A_NUMBER && r.outcome === 'connected')).toHaveLength(5);
    expect(records.filter((r) => r.number === B_NUMBER && r.outcome === 'connected')).toHaveLength(B_CALLS);
    // Every place given back: the tenant's set is empty once the calls ended.
    await until(async () => (await fx.edge.redis.zcard(tenantKeys('acme').active)) === 0, 5000, "acme's tenant leases to be released");
  }, 90_000);
});
