// SPEC §2a / §3 `tenant_limit`: a tenant's concurrent calls and calls per second over all its
// numbers, held atomically in Redis (tenant_admit.lua), given back exactly once, and leases that
// expire when no instance renews them (a crashed instance's calls stop counting).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../helpers/redis.js';
import { newCallId, stateFixture, type StateFixture } from '../helpers/state.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { mergeTenants } from '../../src/tenants/fleet.js';
import { tenantSchema } from '../../src/tenants/schema.js';
import { TenantGate, tenantKeys, type TenantHold } from '../../src/tenants/gate.js';
import type { Refusal } from '../../src/domain/reasons.js';

const A1 = '+447418600001';
const A2 = '+447418600002';
const B1 = '+447418600101';

const redis = useRedisServer();
let f: StateFixture;
let gate: TenantGate;
let fileConfig: StateFixture['config']['current'];

function withLimits(a: Record<string, unknown>, b: Record<string, unknown> = {}) {
  const file = fileConfig;
  const tenants = [
    tenantSchema.parse({ name: 'acme', numbers: [{ number: A1 }, { number: A2 }], limits: a }),
    tenantSchema.parse({ name: 'bravo', numbers: [{ number: B1 }], limits: b }),
  ];
  f.config.current = mergeTenants(file, tenants).config;
}

const isHold = (r: TenantHold | Refusal | undefined): r is TenantHold => r !== undefined && 'release' in r;

beforeAll(async () => {
  f = await stateFixture(redis.url);
  fileConfig = f.config.current;
});
afterAll(async () => f?.close());
beforeEach(async () => {
  await f.redis.flushall();
  f.config.current = fileConfig;
  gate = new TenantGate(f.store, () => f.config.current, createLogger('silent' as never), createMetrics());
});

describe('maxConcurrentCalls', () => {
  it('A at its limit gets tenant_limit (503, Retry-After) on any of its numbers; B is untouched', async () => {
    withLimits({ maxConcurrentCalls: 2 }, { maxConcurrentCalls: 1 });
    const first = await gate.admit(A1, newCallId());
    const second = await gate.admit(A2, newCallId());
    expect(isHold(first) && isHold(second)).toBe(true);
    expect(await gate.admit(A1, newCallId())).toEqual({ reason: 'tenant_limit', code: 503, retryAfter: 1 });
    expect(isHold(await gate.admit(B1, newCallId()))).toBe(true);
    // One of A's calls ends: the place is free again.
    (first as TenantHold).release(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(isHold(await gate.admit(A2, newCallId()))).toBe(true);
  });

  it('holds under a burst: 50 admissions at once against a limit of 10 admit exactly 10', async () => {
    withLimits({ maxConcurrentCalls: 10 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => gate.admit(i % 2 ? A1 : A2, newCallId())));
    expect(answers.filter(isHold)).toHaveLength(10);
    expect(await f.redis.zcard(tenantKeys('acme').active)).toBe(10);
  });

  it('a lease nobody renews expires (the instance died): the tenant is not held full forever', async () => {
    withLimits({ maxConcurrentCalls: 1 });
    expect(isHold(await gate.admit(A1, newCallId()))).toBe(true);
    expect((await gate.admit(A1, newCallId()) as Refusal).reason).toBe('tenant_limit');
    f.clock.now += f.config.current.whatsapp.leaseSeconds * 1000 + 1;
    expect(isHold(await gate.admit(A1, newCallId()))).toBe(true);
  });

  it('a renewed lease outlives its first period; a retry of the same admission is not counted twice', async () => {
    withLimits({ maxConcurrentCalls: 2 });
    const id = newCallId();
    expect(isHold(await gate.admit(A1, id))).toBe(true);
    expect(isHold(await gate.admit(A1, id))).toBe(true);
    expect(await f.redis.zcard(tenantKeys('acme').active)).toBe(1);
    f.clock.now += 60_000;
    await gate.renewAll();
    f.clock.now += 60_000; // past the first lease (90 s), within the renewed one
    expect(await f.redis.zcount(tenantKeys('acme').active, `(${f.clock.now}`, '+inf')).toBe(1);
  });
});

describe('callsPerSecond', () => {
  it('a sliding second: the fourth of three per second waits until the first leaves it', async () => {
    withLimits({ callsPerSecond: 3 });
    for (let i = 0; i < 3; i++) {
      expect(isHold(await gate.admit(A1, newCallId()))).toBe(true);
      f.clock.now += 100;
    }
    const refused = (await gate.admit(A2, newCallId())) as Refusal;
    expect(refused).toEqual({ reason: 'tenant_limit', code: 503, retryAfter: 1 });
    f.clock.now += 701;
    expect(isHold(await gate.admit(A2, newCallId()))).toBe(true);
  });

  it('a call the number refused gives its second back; a call that went out keeps it', async () => {
    withLimits({ callsPerSecond: 1 });
    const refusedByNumber = await gate.admit(A1, newCallId());
    (refusedByNumber as TenantHold).release(true);
    await new Promise((r) => setTimeout(r, 20));
    const placed = await gate.admit(A1, newCallId());
    expect(isHold(placed)).toBe(true);
    (placed as TenantHold).release(false);
    await new Promise((r) => setTimeout(r, 20));
    expect((await gate.admit(A1, newCallId()) as Refusal).reason).toBe('tenant_limit');
  });
});

it('a tenant without limits costs no round trip (nothing is written)', async () => {
  withLimits({});
  expect(await gate.admit(A1, newCallId())).toBeUndefined();
  expect(await f.redis.keys('wa:t{*')).toEqual([]);
});
