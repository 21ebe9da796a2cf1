// SPEC §2a / §3: a WhatsApp user's call counts against its tenant's limits (src/sip/inboundAdmission.ts).
// A's inbound calls fill A's concurrent limit, so A's outbound call (and the next user's call) get
// 503 tenant_limit, the refused user still gets the callback permission (SPEC §7), B is untouched,
// every place is given back once, and a place nobody renews expires. Real Redis.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { newCallId, stateFixture, type StateFixture } from '../helpers/state.js';
import { until } from '../helpers/until.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { mergeTenants } from '../../src/tenants/fleet.js';
import { tenantSchema } from '../../src/tenants/schema.js';
import { TenantGate, isTenantHold, tenantKeys, type TenantHold } from '../../src/tenants/gate.js';
import { admitInboundCall, type InboundAdmission } from '../../src/sip/inboundAdmission.js';
import { numberKeys } from '../../src/state/keys.js';
import { BUSINESS } from '../helpers/config.js';

const A1 = '+447418600001';
const A2 = '+447418600002';
const B1 = '+447418600101';
const user = (i: number) => `+4479110${String(i).padStart(5, '0')}`;

const redis = useRedisServer();
let f: StateFixture;
let gate: TenantGate;
let fileConfig: StateFixture['config']['current'];
let tenantScripts: number;

function withLimits(a: Record<string, unknown>, b: Record<string, unknown> = {}, file = fileConfig) {
  f.config.current = mergeTenants(file, [
    tenantSchema.parse({ name: 'acme', numbers: [{ number: A1 }, { number: A2 }], limits: a }),
    tenantSchema.parse({ name: 'bravo', numbers: [{ number: B1 }], limits: b }),
  ]).config;
}

const inbound = (business: string, caller: string, callId = newCallId()) =>
  admitInboundCall({ calls: f.calls, tenantGate: gate, metrics: createMetrics(), logger: createLogger('silent' as never) }, { business, user: caller, kind: 'phone', callId }, {});
const held = (a: InboundAdmission): TenantHold => {
  if (!a.admitted || !a.hold) throw new Error(`expected an admission holding a tenant place, got ${JSON.stringify(a)}`);
  return a.hold;
};
const activeOf = (tenant: string) => f.redis.zcount(tenantKeys(tenant).active, `(${f.clock.now}`, '+inf');

beforeAll(async () => {
  f = await stateFixture(redis.url);
  fileConfig = f.config.current;
  // Counts the tenant scripts this file's admissions send (the store is real; only counted).
  const script = f.store.script.bind(f.store);
  f.store.script = ((name, call) => {
    if (String(name).startsWith('tenant')) tenantScripts++;
    return script(name, call);
  }) as typeof f.store.script;
});
afterAll(async () => f?.close());
beforeEach(async () => {
  await f.redis.flushall();
  f.config.current = fileConfig;
  tenantScripts = 0;
  gate = new TenantGate(f.store, () => f.config.current, createLogger('silent' as never), createMetrics());
});

it("A's user calls fill A's concurrent limit: A's outbound and the next user's call get tenant_limit, that user still gets the callback permission, B is untouched", async () => {
  withLimits({ maxConcurrentCalls: 2 }, { maxConcurrentCalls: 1 });
  const first = held(await inbound(A1, user(1)));
  const second = held(await inbound(A2, user(2)));
  expect(await activeOf('acme')).toBe(2);
  // A's outbound call sees A's inbound ones.
  expect(await gate.admit(A1, newCallId())).toEqual({ reason: 'tenant_limit', code: 503, retryAfter: 1 });
  // The next user's call is refused, its number's lease given back, its callback permission kept.
  const refusedId = newCallId();
  const refused = await inbound(A1, user(3), refusedId);
  expect(refused).toEqual({ admitted: false, user: user(3), refusal: { reason: 'tenant_limit', code: 503, retryAfter: 1 } });
  const permission = (await f.permissions.userState(A1, user(3))).permission;
  expect(permission).toMatchObject({ kind: 'temporary', source: 'callback' });
  await until(async () => (await f.redis.hget(numberKeys(A1).call(refusedId), 'state')) === 'released', 5000, "the refused call's number lease to be given back");
  expect(await f.redis.zscore(numberKeys(A1).active, refusedId)).toBeNull();
  expect(await f.redis.hget(numberKeys(A1).activeUser, user(3))).toBeNull();
  // B has its own limit and its own place.
  expect(held(await inbound(B1, user(1))).tenant).toBe('bravo');
  // Each ended call gives its place back once; a second release changes nothing.
  first.release(false);
  first.release(false);
  await until(async () => (await activeOf('acme')) === 1, 5000, "the first call's place to be given back");
  expect(isTenantHold(await gate.admit(A1, newCallId()))).toBe(true);
  second.release(false);
  await until(async () => (await activeOf('acme')) === 1, 5000, "the second call's place to be given back");
});

it("the number's own refusal (486 concurrency_limit) comes first and gives the tenant's place back", async () => {
  withLimits({ maxConcurrentCalls: 5, callsPerSecond: 5 }, {}, { ...fileConfig, whatsapp: { ...fileConfig.whatsapp, maxConcurrentCalls: 1 } });
  held(await inbound(A1, user(1)));
  const refused = await inbound(A1, user(2));
  expect(refused).toMatchObject({ admitted: false, refusal: { reason: 'concurrency_limit', code: 486 } });
  await until(async () => (await f.redis.zcard(tenantKeys('acme').rate)) === 1, 5000, "the refused call's tenant place and second to be given back");
  expect(await activeOf('acme')).toBe(1);
});

it("callsPerSecond counts a user's call too: the next call of that second, either way, gets tenant_limit", async () => {
  withLimits({ callsPerSecond: 1 });
  held(await inbound(A1, user(1)));
  expect(await f.redis.zcard(tenantKeys('acme').rate)).toBe(1);
  expect(await gate.admit(A2, newCallId())).toMatchObject({ reason: 'tenant_limit', code: 503 });
  expect(await inbound(A2, user(2))).toMatchObject({ admitted: false, refusal: { reason: 'tenant_limit' } });
  f.clock.now += 1001;
  expect((await inbound(A2, user(2))).admitted).toBe(true);
});

it('a place nobody renews expires (the instance holding the call died): the tenant is not held full', async () => {
  withLimits({ maxConcurrentCalls: 1 });
  held(await inbound(A1, user(1)));
  expect(await gate.admit(A1, newCallId())).toMatchObject({ reason: 'tenant_limit' });
  f.clock.now += f.config.current.whatsapp.leaseSeconds * 1000 + 1;
  expect(isTenantHold(await gate.admit(A1, newCallId()))).toBe(true);
});

it("a tenant without limits (the file's default among them) sends no tenant script and writes nothing of a tenant", async () => {
  withLimits({});
  expect(await inbound(A1, user(1))).toEqual({ admitted: true, user: user(1) });
  expect(await inbound(BUSINESS, user(2))).toEqual({ admitted: true, user: user(2) });
  expect(tenantScripts).toBe(0);
  expect(await f.redis.keys('wa:t{*')).toEqual([]);
});
