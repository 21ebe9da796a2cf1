// SPEC §2a and §4 /v1/tenants: tenants configured through the API, stored in Redis, validated as
// the file is, applied by every instance; tokens scoped to one tenant; anything else 404.
import { beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { newCallId } from '../helpers/state.js';
import { until } from '../helpers/until.js';
import { TENANT_KEYS } from '../../src/tenants/store.js';
import { fleetOf } from '../../src/tenants/fleet.js';
import { appendCallRecord } from '../../src/state/records.js';
import { useTenantFixtures, type TenantFixture } from './tenantFixture.js';
import { TenantGate } from '../../src/tenants/gate.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';

const A_NUMBER = '+447418600001';
const A_NUMBER_2 = '+447418600002';
const B_NUMBER = '+447418600101';
const OTHER_USER = '+447911000222';

const redis = useRedisServer();
const fixtures = useTenantFixtures(redis);
const fixture = fixtures.another;
let f: TenantFixture;
beforeEach(async () => {
  f = await fixtures.fresh();
});

const tenantA = {
  name: 'acme',
  domain: 'acme.sip.example',
  numbers: [{ number: A_NUMBER, inbound: ['device:alice'] }, { number: A_NUMBER_2 }],
  trunks: [{ name: 'pbx', sources: ['10.1.0.0/24'], numbers: [A_NUMBER] }],
  devices: [{ username: 'alice', password: 'alice-pass-1', numbers: [A_NUMBER] }],
};
const tenantB = {
  name: 'bravo',
  domain: 'bravo.sip.example',
  numbers: [{ number: B_NUMBER, inbound: ['device:alice'] }],
  trunks: [{ name: 'pbx', sources: ['10.2.0.0/24'], numbers: [B_NUMBER] }],
  devices: [{ username: 'alice', password: 'bravo-alice-2', numbers: [B_NUMBER] }],
};

async function createBoth() {
  expect((await f.api('POST', '/v1/tenants', tenantA)).statusCode).toBe(201);
  expect((await f.api('POST', '/v1/tenants', tenantB)).statusCode).toBe(201);
}

async function tokenFor(tenant: string): Promise<string> {
  const res = await f.api('POST', `/v1/tenants/${tenant}/tokens`, { name: 'test' });
  expect(res.statusCode).toBe(201);
  return res.json().token as string;
}

describe('the configuration file is tenant default', () => {
  it('lists default with the file\'s numbers, trunks and devices, and refuses to change them through the API', async () => {
    const res = await f.api('GET', '/v1/tenants');
    expect(res.json()).toEqual({ tenants: [{ name: 'default', source: 'file', limits: { maxConcurrentCalls: null, callsPerSecond: null, devices: null }, numbers: [BUSINESS], trunks: ['acme'], devices: [] }] });
    const add = await f.api('POST', '/v1/tenants/default/trunks', { name: 'x', sources: ['10.9.0.0/24'], numbers: [BUSINESS] });
    expect(add.statusCode).toBe(409);
    expect(add.json().error).toBe('managed_by_file');
    expect((await f.api('DELETE', '/v1/tenants/default')).statusCode).toBe(409);
    // Its limits are the API's to set.
    const limits = await f.api('PUT', '/v1/tenants/default/limits', { maxConcurrentCalls: 5 });
    expect(limits.json()).toEqual({ maxConcurrentCalls: 5, callsPerSecond: null, devices: null });
  });
});

describe('POST /v1/tenants and the entries under a tenant', () => {
  it('a tenant created on one instance is applied by another within one second', async () => {
    const other = await fixture();
    const started = Date.now();
    expect((await f.api('POST', '/v1/tenants', tenantA)).statusCode).toBe(201);
    // This instance applied it before answering.
    expect(fleetOf(f.config.current).ofNumber(A_NUMBER)).toBe('acme');
    await until(() => fleetOf(other.config.current).ofNumber(A_NUMBER) === 'acme', 1000, 'the other instance to apply tenant acme');
    expect(Date.now() - started).toBeLessThan(1000);
    // The merged configuration: the tenant's device under its qualified name, its target too.
    expect(other.config.current.devices.map((d) => d.username)).toEqual(['alice@acme']);
    expect(other.config.current.numbers.find((n) => n.number === A_NUMBER)?.inbound).toEqual([{ kind: 'device', name: 'alice@acme' }]);
  });

  it('validates as the file does, with the same key paths, and a refused change changes nothing', async () => {
    expect((await f.api('POST', '/v1/tenants', tenantA)).statusCode).toBe(201);
    const version = await f.redis.get(TENANT_KEYS.version);
    const bad = await f.api('POST', '/v1/tenants/acme/trunks', { name: 'second', sources: ['10.3.0.0/24', 'nonsense'], numbers: [A_NUMBER] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid_config', message: 'trunks[1].sources[1]: not a CIDR' });
    const unlisted = await f.api('POST', '/v1/tenants/acme/devices', { username: 'bob', password: 'x-pass', numbers: [B_NUMBER] });
    expect(unlisted.json()).toEqual({ error: 'invalid_config', message: 'devices[1].numbers[0]: not listed under numbers' });
    // Removing a number its trunk calls from: refused with the path that would break.
    const orphan = await f.api('DELETE', `/v1/tenants/acme/numbers/${A_NUMBER}`);
    expect(orphan.json().message).toContain('trunks[0].numbers[0]: not listed under numbers');
    expect(await f.redis.get(TENANT_KEYS.version)).toBe(version);
    expect((await f.api('GET', '/v1/tenants/acme/trunks')).json().trunks).toHaveLength(1);
  });

  it('CRUD of trunks, devices and numbers; secrets are never read back', async () => {
    expect((await f.api('POST', '/v1/tenants', tenantA)).statusCode).toBe(201);
    const trunk = { name: 'second', sources: ['10.3.0.0/24'], auth: { username: 'pbx2', password: 'trunk-secret' }, numbers: [A_NUMBER_2] };
    expect((await f.api('POST', '/v1/tenants/acme/trunks', trunk)).json()).toEqual({ ...trunk, auth: { username: 'pbx2' } });
    expect((await f.api('POST', '/v1/tenants/acme/trunks', trunk)).statusCode).toBe(409);
    // The path is validated as on every route; only the body is read as it comes.
    expect((await f.api('POST', '/v1/tenants/Not_A_Name/trunks', trunk)).json().error).toBe('invalid_request');
    const put = await f.api('PUT', '/v1/tenants/acme/trunks/second', { ...trunk, sources: ['10.4.0.0/24'] });
    expect(put.statusCode).toBe(200);
    expect((await f.api('GET', '/v1/tenants/acme/trunks/second')).json().sources).toEqual(['10.4.0.0/24']);
    expect(JSON.stringify((await f.api('GET', '/v1/tenants/acme/devices')).json())).not.toContain('alice-pass-1');
    expect((await f.api('PUT', `/v1/tenants/acme/numbers/${A_NUMBER_2.slice(1)}`, { calling: false })).statusCode).toBe(200);
    expect(f.config.current.numbers.find((n) => n.number === A_NUMBER_2)?.calling).toBe(false);
    expect((await f.api('DELETE', '/v1/tenants/acme/trunks/second')).statusCode).toBe(204);
    expect((await f.api('GET', '/v1/tenants/acme/trunks/second')).statusCode).toBe(404);
    expect((await f.api('DELETE', '/v1/tenants/acme')).statusCode).toBe(204);
    expect(fleetOf(f.config.current).ofNumber(A_NUMBER)).toBeUndefined();
  });

  it('a number belongs to exactly one tenant, the file\'s numbers to default', async () => {
    await createBoth();
    const taken = await f.api('POST', '/v1/tenants/bravo/numbers', { number: A_NUMBER });
    expect(taken.json()).toEqual({ error: 'number_taken', message: `numbers[1].number: ${A_NUMBER} belongs to another tenant` });
    expect((await f.api('POST', '/v1/tenants/bravo/numbers', { number: BUSINESS })).json().error).toBe('number_taken');
    const domain = await f.api('PUT', '/v1/tenants/bravo/domain', { domain: 'ACME.sip.example' });
    expect(domain.json().error).toBe('domain_taken');
  });

  it('the devices limit caps what a tenant may configure', async () => {
    expect((await f.api('POST', '/v1/tenants', { ...tenantA, limits: { devices: 1 } })).statusCode).toBe(201);
    const over = await f.api('POST', '/v1/tenants/acme/devices', { username: 'bob', password: 'bob-pass-1', numbers: [A_NUMBER] });
    expect(over.json()).toEqual({ error: 'invalid_config', message: 'devices: more devices than limits.devices (1)' });
  });
});

describe('tokens with a scope', () => {
  it('shown once, stored as a hash, listed without the secret, revocable on every instance', async () => {
    await createBoth();
    const other = await fixture();
    const made = await f.api('POST', '/v1/tenants/acme/tokens', { name: 'provisioning' });
    expect(made.statusCode).toBe(201);
    const { token, id } = made.json();
    expect(token).toMatch(/^wat_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(await f.redis.hgetall(TENANT_KEYS.tokens));
    expect(stored).not.toContain(token);
    const listed = await f.api('GET', '/v1/tenants/acme/tokens');
    expect(listed.json().tokens).toEqual([{ id, name: 'provisioning', createdAt: expect.any(String), expiresAt: null }]);
    expect(JSON.stringify(listed.json())).not.toContain(token);
    await until(async () => (await other.as(token, 'GET', '/v1/numbers')).statusCode === 200, 1000, 'the other instance to know the token');
    expect((await f.api('DELETE', `/v1/tenants/acme/tokens/${id}`)).statusCode).toBe(204);
    expect((await f.as(token, 'GET', '/v1/numbers')).statusCode).toBe(401);
    await until(async () => (await other.as(token, 'GET', '/v1/numbers')).statusCode === 401, 1000, 'the other instance to refuse the revoked token');
  });

  it('a token with an expiry stops working at it', async () => {
    await createBoth();
    const expiresAt = new Date(f.clock.now + 60_000).toISOString();
    const { token } = (await f.api('POST', '/v1/tenants/acme/tokens', { name: 'short', expiresAt })).json();
    expect((await f.as(token, 'GET', '/v1/numbers')).statusCode).toBe(200);
    f.clock.now += 60_000;
    expect((await f.as(token, 'GET', '/v1/numbers')).statusCode).toBe(401);
  });
});

describe('isolation: what tenant A\'s token gets of tenant B (a matrix)', () => {
  const ofB: [string, string, unknown?][] = [
    ['GET', '/v1/tenants/bravo'],
    ['GET', '/v1/tenants/bravo/numbers'],
    ['GET', '/v1/tenants/bravo/trunks'],
    ['GET', '/v1/tenants/bravo/devices'],
    ['GET', '/v1/tenants/bravo/limits'],
    ['GET', '/v1/tenants/bravo/tokens'],
    ['POST', '/v1/tenants/bravo/tokens', { name: 'steal' }],
    ['POST', '/v1/tenants/bravo/devices', { username: 'mallory', password: 'm-pass-1', numbers: [B_NUMBER] }],
    ['DELETE', '/v1/tenants/bravo/trunks/pbx'],
    ['GET', `/v1/numbers/${B_NUMBER}/users/${USER}`],
    ['PUT', `/v1/numbers/${B_NUMBER}/calling`, { enabled: false }],
    ['PUT', `/v1/numbers/${B_NUMBER}/users/${USER}/permission`, { kind: 'permanent' }],
    ['DELETE', `/v1/numbers/${B_NUMBER}/users/${USER}/permission`],
    ['POST', `/v1/numbers/${B_NUMBER}/permissions`, [{ user: USER, kind: 'permanent' }]],
    ['POST', `/v1/numbers/${B_NUMBER}/users/${USER}/permission-requests`, { sentElsewhere: true }],
    ['GET', `/v1/decisions?from=${encodeURIComponent(B_NUMBER)}&to=${encodeURIComponent(USER)}`],
    ['GET', `/v1/calls?number=${encodeURIComponent(B_NUMBER)}`],
  ];
  for (const [method, url, body] of ofB) {
    it(`${method} ${url.split('?')[0]} → 404, and nothing of B changes`, async () => {
      await createBoth();
      const a = await tokenFor('acme');
      const version = await f.redis.get(TENANT_KEYS.version);
      const res = await f.as(a, method as never, url, body);
      expect(res.statusCode).toBe(404);
      expect(['unknown_tenant', 'unknown_number']).toContain(res.json().error);
      expect(await f.redis.get(TENANT_KEYS.version)).toBe(version);
      expect(await f.permissions.calling(B_NUMBER)).toBe(true);
      expect((await f.permissions.userState(B_NUMBER, USER)).permission.kind).toBe('none');
      // The route exists and B has it: the operator's token is not refused.
      expect((await f.api(method as never, url, body)).statusCode).not.toBe(404);
    });
  }

  it('lists show only A: tenants, numbers, calls, devices', async () => {
    await createBoth();
    const a = await tokenFor('acme');
    for (const number of [A_NUMBER, B_NUMBER, BUSINESS]) {
      await appendCallRecord(f.redis, { callId: newCallId(), direction: 'outbound', number, user: OTHER_USER, outcome: 'connected', sipStatus: 200, reason: 'bye_from_caller', startedAt: f.clock.now, endedAt: f.clock.now });
    }
    expect((await f.as(a, 'GET', '/v1/tenants')).json().tenants.map((t: { name: string }) => t.name)).toEqual(['acme']);
    expect((await f.as(a, 'GET', '/v1/numbers')).json().numbers.map((n: { number: string }) => n.number)).toEqual([A_NUMBER, A_NUMBER_2]);
    expect((await f.as(a, 'GET', '/v1/calls')).json().calls.map((c: { number: string }) => c.number)).toEqual([A_NUMBER]);
    // The operator sees all three.
    expect((await f.api('GET', '/v1/calls')).json().calls).toHaveLength(3);
  });

  it('A\'s token manages A but cannot take numbers or raise its own limits', async () => {
    await createBoth();
    const a = await tokenFor('acme');
    expect((await f.as(a, 'POST', '/v1/tenants/acme/devices', { username: 'bob', password: 'bob-pass-1', numbers: [A_NUMBER] })).statusCode).toBe(201);
    expect((await f.as(a, 'PUT', `/v1/numbers/${A_NUMBER}/users/${USER}/permission`, { kind: 'permanent' })).statusCode).toBe(200);
    expect((await f.as(a, 'POST', '/v1/tenants/acme/numbers', { number: '+447418600999' })).json().error).toBe('operator_only');
    expect((await f.as(a, 'PUT', '/v1/tenants/acme/limits', { maxConcurrentCalls: 9999 })).json().error).toBe('operator_only');
    expect((await f.as(a, 'POST', '/v1/tenants', { name: 'evil' })).json().error).toBe('operator_only');
    // A's permission is A's number's: B's number has none.
    expect((await f.api('GET', `/v1/numbers/${B_NUMBER}/users/${USER}`)).json().permission.kind).toBe('none');
  });
});

describe('GET /v1/decisions names the tenant\'s limits', () => {
  it('a tenant at its concurrent limit: the decision is 503 tenant_limit, its check last; a tenant without limits has no such check', async () => {
    await createBoth();
    expect((await f.api('PUT', '/v1/tenants/acme/limits', { maxConcurrentCalls: 1 })).statusCode).toBe(200);
    await f.permissions.grant(A_NUMBER, USER, 'permanent', 'test');
    await f.permissions.grant(B_NUMBER, USER, 'permanent', 'test');
    const decide = async (from: string) => (await f.api('GET', `/v1/decisions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(USER)}`)).json();
    expect((await decide(A_NUMBER)).checks.at(-1)).toEqual({ check: 'tenant_limit', result: 'pass' });
    const gate = new TenantGate(f.store, () => f.config.current, createLogger('silent'), createMetrics());
    expect(await gate.admit(A_NUMBER_2, newCallId())).toMatchObject({ tenant: 'acme' });
    const full = await decide(A_NUMBER);
    expect(full).toMatchObject({ admitted: false, reason: 'tenant_limit', code: 503, retryAfter: 1 });
    expect(full.checks.at(-1)).toEqual({ check: 'tenant_limit', result: 'fail' });
    const other = await decide(B_NUMBER);
    expect(other.admitted).toBe(true);
    expect(other.checks.map((c: { check: string }) => c.check)).not.toContain('tenant_limit');
  });
});

describe('OpenAPI', () => {
  it('documents the tenant routes', async () => {
    const doc = (await f.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/v1/tenants', '/v1/tenants/{tenant}', '/v1/tenants/{tenant}/limits', '/v1/tenants/{tenant}/tokens', '/v1/tenants/{tenant}/numbers/{key}', '/v1/tenants/{tenant}/trunks', '/v1/tenants/{tenant}/devices/{key}', '/v1/tenants/{tenant}/metrics']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/tenants/{tenant}/trunks'].post.requestBody.content['application/json'].schema.properties.sources).toBeDefined();
  });
});
