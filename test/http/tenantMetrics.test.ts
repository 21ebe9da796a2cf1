// SPEC §2a, §5 and issue #35's isolation matrix, row "A's metrics show nothing of B": each tenant
// reads its own metrics with its own token (GET /v1/tenants/{t}/metrics), the operator reads
// everyone's on /metrics with a `tenant` label on each series. Real Redis, the API on a real
// socket; the text checked by promtool (Debian package prometheus), Prometheus's own parser.
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { USER } from '../helpers/config.js';
import { newCallId, T0 } from '../helpers/state.js';
import { tool, output } from '../deploy/tools.js';
import { tenantFixture, type TenantFixture } from './tenantFixture.js';
import { TOKEN } from './fixture.js';
import type { DeviceContacts } from '../../src/state/devices.js';

const A_NUMBER = '+447418600001';
const A_NUMBER_2 = '+447418600002';
const B_NUMBER = '+447418600101';
const B_USERS = ['+447911000301', '+447911000302'];
const promtool = tool('promtool', 'prometheus');

const redis = useRedisServer();
let f: TenantFixture;
let base: string;
const tokens: Record<string, { token: string; id: string }> = {};

/** A softphone of each tenant registered (as the registrar would report it, every one whatever is asked). */
const registered: DeviceContacts[] = [
  { username: 'alice@acme', numbers: [A_NUMBER], contacts: [{ uri: 'sip:alice@192.0.2.7:5060', source: { address: '192.0.2.7', port: 5060, transport: 'udp' }, expiresAt: T0 + 3600_000 }] },
  { username: 'alice@bravo', numbers: [B_NUMBER], contacts: [{ uri: 'sip:alice@192.0.2.8:5060', source: { address: '192.0.2.8', port: 5060, transport: 'udp' }, expiresAt: T0 + 3600_000 }, { uri: 'sip:alice@192.0.2.9:5060', source: { address: '192.0.2.9', port: 5060, transport: 'udp' }, expiresAt: T0 + 3600_000 }] },
];

async function scrape(path: string, token?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/**
 * promtool check metrics parses the text (a parse error: exit 1, "error while linting") and lints
 * it (exit 3 with one line per problem). Our metrics lint clean; prom-client's own Node defaults
 * do not (nodejs_active_handles_total is a gauge), so only those lines are let through. promtool
 * does not see a series printed twice: checked here.
 */
function expectPrometheusText(text: string): void {
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
  expect(new Set(series).size, 'a series printed twice').toBe(series.length);
  if (promtool.skip) return;
  if (!promtool.path) throw new Error('promtool is not installed: CI must `apt-get install prometheus`');
  const r = spawnSync(promtool.path, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  expect([0, 3], output(r)).toContain(r.status);
  const problems = output(r).split('\n').filter((l) => l.trim() !== '');
  expect(problems.filter((l) => !l.startsWith('nodejs_')), output(r)).toEqual([]);
}

beforeAll(async () => {
  f = await tenantFixture(redis.url, {}, 50, { devices: async () => registered });
  await f.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  await f.redis.flushall();
  await f.directory.refresh();
  for (const [name, numbers, pbx] of [
    ['acme', [A_NUMBER, A_NUMBER_2], '10.1.0.0/24'],
    ['bravo', [B_NUMBER], '10.2.0.0/24'],
  ] as const) {
    const created = await f.api('POST', '/v1/tenants', {
      name,
      domain: `${name}.sip.example`,
      numbers: numbers.map((number) => ({ number })),
      trunks: [{ name: 'pbx', sources: [pbx], numbers: [numbers[0]] }],
      devices: [{ username: 'alice', password: `${name}-alice-1`, numbers: [numbers[0]] }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const minted = await f.api('POST', `/v1/tenants/${name}/tokens`, { name: 'prometheus' });
    expect(minted.statusCode).toBe(201);
    tokens[name] = { token: minted.json().token as string, id: minted.json().id as string };
  }
  // A: one call up and one permission request; B: two of each (so the figures tell them apart).
  expect((await f.calls.admitOutbound({ business: A_NUMBER, user: USER, callId: newCallId(), regionBlocked: false })).admitted).toBe(false); // no permission yet
  await f.permissions.grant(A_NUMBER, USER, 'permanent', 'test');
  expect((await f.calls.admitOutbound({ business: A_NUMBER, user: USER, callId: newCallId(), regionBlocked: false })).admitted).toBe(true);
  for (const user of B_USERS) {
    await f.permissions.grant(B_NUMBER, user, 'permanent', 'test');
    expect((await f.calls.admitOutbound({ business: B_NUMBER, user, callId: newCallId(), regionBlocked: false })).admitted).toBe(true);
  }
  const ask = async (tenant: string, number: string, user: string) => {
    const res = await f.as(tokens[tenant]!.token, 'POST', `/v1/numbers/${number}/users/${user}/permission-requests`, { sentElsewhere: true });
    expect(res.statusCode, res.body).toBe(202);
  };
  await ask('acme', A_NUMBER, '+447911000201');
  for (const user of ['+447911000401', '+447911000402']) await ask('bravo', B_NUMBER, user);
}, 60_000);
afterAll(async () => f?.close());

describe("isolation matrix: A's metrics show nothing of B (GET /v1/tenants/{t}/metrics)", () => {
  it("A's token reads A's series only: its numbers, its softphone, its permission requests, with its tenant label", async () => {
    const a = await scrape('/v1/tenants/acme/metrics', tokens.acme!.token);
    expect(a.status, a.text).toBe(200);
    expect(a.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expectPrometheusText(a.text);
    expect(a.text).toContain(`wa_edge_active_calls{number="${A_NUMBER}",tenant="acme"} 1`);
    expect(a.text).toContain(`wa_edge_active_calls{number="${A_NUMBER_2}",tenant="acme"} 0`);
    expect(a.text).toContain(`wa_edge_connected_calls_24h{number="${A_NUMBER}",tenant="acme"} 0`);
    expect(a.text).toContain(`wa_edge_account_restricted{number="${A_NUMBER}",tenant="acme"} 0`);
    expect(a.text).toContain('wa_edge_registered_contacts{device="alice@acme",tenant="acme"} 1');
    expect(a.text).toContain('wa_edge_permission_requests_total{channel="elsewhere",result="recorded",tenant="acme"} 1');
    expect(a.text).toContain('wa_edge_calls_total{direction="outbound",outcome="connected",tenant="acme"} 0');
    expect(a.text).toContain('wa_edge_rejections_total{direction="outbound",reason="tenant_limit",tenant="acme"} 0');
    // Nothing of B, of the file's tenant, nor of the platform (process, Redis, drachtio).
    for (const other of [B_NUMBER, 'bravo', 'tenant="default"', '+447418613982']) expect(a.text).not.toContain(other);
    for (const platform of ['process_', 'nodejs_', 'wa_edge_redis_errors_total', 'wa_edge_drachtio_connected', 'wa_edge_policy_decision_seconds']) expect(a.text).not.toContain(platform);
    for (const line of a.text.split('\n').filter((l) => l.startsWith('wa_edge_'))) expect(line).toContain('tenant="acme"');
  });

  it("B's token reads B's series only, with B's own figures", async () => {
    const b = await scrape('/v1/tenants/bravo/metrics', tokens.bravo!.token);
    expect(b.status, b.text).toBe(200);
    expectPrometheusText(b.text);
    expect(b.text).toContain(`wa_edge_active_calls{number="${B_NUMBER}",tenant="bravo"} 2`);
    expect(b.text).toContain('wa_edge_registered_contacts{device="alice@bravo",tenant="bravo"} 2');
    expect(b.text).toContain('wa_edge_permission_requests_total{channel="elsewhere",result="recorded",tenant="bravo"} 2');
    for (const other of [A_NUMBER, A_NUMBER_2, 'acme', 'tenant="default"']) expect(b.text).not.toContain(other);
  });

  it("A's token on B's metrics gets 404, exactly as a tenant that does not exist; the operator reads any tenant's", async () => {
    for (const path of ['/v1/tenants/bravo/metrics', '/v1/tenants/nosuch/metrics']) {
      const r = await scrape(path, tokens.acme!.token);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.text).error).toBe('unknown_tenant');
      expect(r.text).not.toContain(B_NUMBER);
    }
    const op = await scrape('/v1/tenants/bravo/metrics', TOKEN);
    expect(op.status).toBe(200);
    expect(op.text).toContain(`wa_edge_active_calls{number="${B_NUMBER}",tenant="bravo"} 2`);
    expect(op.text).not.toContain(A_NUMBER);
    expect((await scrape('/v1/tenants/nosuch/metrics', TOKEN)).status).toBe(404);
  });

  it("the operator's /metrics (no token, as before) has both tenants, each series labelled, and the platform's own", async () => {
    const op = await scrape('/metrics');
    expect(op.status).toBe(200);
    expectPrometheusText(op.text);
    expect(op.text).toContain(`wa_edge_active_calls{number="${A_NUMBER}",tenant="acme"} 1`);
    expect(op.text).toContain(`wa_edge_active_calls{number="${B_NUMBER}",tenant="bravo"} 2`);
    expect(op.text).toContain('wa_edge_permission_requests_total{channel="elsewhere",result="recorded",tenant="acme"} 1');
    expect(op.text).toContain('wa_edge_permission_requests_total{channel="elsewhere",result="recorded",tenant="bravo"} 2');
    expect(op.text).toContain('wa_edge_calls_total{direction="outbound",outcome="connected",tenant="default"} 0');
    expect(op.text).toMatch(/^wa_edge_drachtio_connected 1$/m);
    expect(op.text).toMatch(/^process_cpu_seconds_total /m);
    // Each metric once: one # TYPE line per name.
    const types = [...op.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(new Set(types).size).toBe(types.length);
  });

  it('a wrong token, or none, gets 401; a revoked one 401 on the next request', async () => {
    expect((await scrape('/v1/tenants/acme/metrics')).status).toBe(401);
    expect((await scrape('/v1/tenants/acme/metrics', 'wat_not-a-real-token')).status).toBe(401);
    const minted = await f.as(tokens.acme!.token, 'POST', '/v1/tenants/acme/tokens', { name: 'short-lived' });
    expect(minted.statusCode).toBe(201);
    const { token, id } = minted.json() as { token: string; id: string };
    expect((await scrape('/v1/tenants/acme/metrics', token)).status).toBe(200);
    expect((await f.api('DELETE', `/v1/tenants/acme/tokens/${id}`)).statusCode).toBe(204);
    const after = await scrape('/v1/tenants/acme/metrics', token);
    expect(after.status).toBe(401);
    expect(after.text).not.toContain('wa_edge_');
  });

  it("a number taken from A leaves A's view at once (and is never shown as A's again)", async () => {
    expect((await f.api('DELETE', `/v1/tenants/acme/numbers/${encodeURIComponent(A_NUMBER_2)}`)).statusCode).toBe(204);
    const a = await scrape('/v1/tenants/acme/metrics', tokens.acme!.token);
    expect(a.status).toBe(200);
    expect(a.text).toContain(`number="${A_NUMBER}"`);
    expect(a.text).not.toContain(A_NUMBER_2);
  });
});
