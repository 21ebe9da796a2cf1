// bench/tenants: the fleet at scale (issue #35, SPEC §2a), against a local redis-server.
//   npx tsx bench/tenants/run.ts [--tenants 1000] [--numbers 10] [--instances 3] [--changes 20] [--seconds 8] [--callers 8]
// 1. Configures `tenants` × `numbers` through the tenant store (each tenant validated as the API does).
// 2. A change made on one instance, applied on every instance: `instances` tenant directories, each
//    with its own Redis connection and the default 250 ms poll, time from the write's answer to
//    the moment each has swapped in the new merged configuration; also what one such read costs.
// 3. Outbound admission (the edge's part of INVITE → INVITE to Telnyx that tenants touch: the
//    merged configuration's lookups, admit_outbound.lua, and for a tenant with limits
//    tenant_admit.lua + its release), closed loop, each admission settled, in alternating rounds:
//    a one-tenant configuration (the baseline) | a number of tenant 500 of 1,000 without limits | with limits.
// Prints figures; asserts nothing.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startRedis } from '../../test/helpers/redis.js';
import { stateFixture } from '../../test/helpers/state.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { numberEntry } from '../../src/config/derived.js';
import type { Config } from '../../src/config/schema.js';
import { TenantStore, TENANT_KEYS } from '../../src/tenants/store.js';
import { TenantDirectory } from '../../src/tenants/directory.js';
import { fleetOf } from '../../src/tenants/fleet.js';
import { TenantGate, type TenantHold } from '../../src/tenants/gate.js';
import { tenantSchema } from '../../src/tenants/schema.js';
import { validateTenant } from '../../src/tenants/changes.js';
import { StateStore } from '../../src/state/store.js';
import { createRedis, redisReady } from '../../src/state/redis.js';
import { numArg, pct } from '../sip/lib.js';
import { numberOf, tenantDoc as fleetTenant } from './fleetConfig.js';

const TENANTS = numArg('tenants', 1000);
const NUMBERS = numArg('numbers', 10);
const INSTANCES = numArg('instances', 3);
const CHANGES = numArg('changes', 20);
const SECONDS = numArg('seconds', 8);
const CALLERS = numArg('callers', 8);
const ms = (v: number) => `${v.toFixed(3)} ms`;
const tenantDoc = (t: number) => fleetTenant(t, NUMBERS);

const server = await startRedis();
const f = await stateFixture(server.url, {
  numbers: Array.from({ length: NUMBERS }, (_, n) => ({ number: numberOf(99999, n) })),
  trunks: [{ name: 'main', sources: ['127.0.0.1/32'], numbers: Array.from({ length: NUMBERS }, (_, n) => numberOf(99999, n)) }],
  whatsapp: { maxConcurrentCalls: 100000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null },
});
f.clock.now = Date.now();
const file = f.config.current;
const logger = createLogger('warn');
const store = new TenantStore(f.store);
const cleanups: (() => void)[] = [];
try {
  // 1. Configure the fleet: every tenant validated as the API validates it, written in one script.
  let t0 = performance.now();
  const docs = Array.from({ length: TENANTS }, (_, t) => tenantDoc(t));
  for (const d of docs) tenantSchema.parse(d);
  const validateMs = performance.now() - t0;
  t0 = performance.now();
  await store.change(() => ({ writes: docs.map((d) => ({ hash: 'tenants' as const, field: d.name, value: d })), result: undefined }));
  const writeMs = performance.now() - t0;
  console.log(`bench/tenants  tenants=${TENANTS} numbers/tenant=${NUMBERS} instances=${INSTANCES} node=${process.version} redis=127.0.0.1:${server.port}`);
  console.log(`  configure: ${TENANTS * NUMBERS} numbers validated in ${validateMs.toFixed(0)} ms, written in ${writeMs.toFixed(0)} ms; stored ${(Number(await f.redis.memory('USAGE', TENANT_KEYS.tenants)) / 1e6).toFixed(1)} MB`);

  // 2. Instances: each its own connection and directory; a change through one, applied on all.
  const applied: { version: string; at: number }[][] = [];
  const directories: TenantDirectory[] = [];
  const configs: { current: Readonly<Config> }[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const redis = createRedis(file.redis);
    redis.on('error', () => {});
    await redisReady(redis);
    const own = new StateStore(redis, () => file, () => Date.now());
    const seen: { version: string; at: number }[] = [];
    applied.push(seen);
    const config = { current: file };
    configs.push(config);
    const dir: TenantDirectory = new TenantDirectory(file, {
      store: new TenantStore(own),
      logger,
      pollMs: () => file.tenants.pollMs,
      apply: (merged) => {
        config.current = merged;
        seen.push({ version: dir?.appliedVersion ?? '', at: performance.now() });
      },
    });
    t0 = performance.now();
    await dir.start();
    if (i === 0) console.log(`  first read of the fleet on an instance (read, validate, merge): ${(performance.now() - t0).toFixed(0)} ms`);
    directories.push(dir);
    cleanups.push(() => {
      dir.stop();
      redis.disconnect();
    });
  }
  const readCost: number[] = [];
  const applyLat: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const t = c % TENANTS;
    // The API's path: read, validate against the fleet, compare-and-set.
    const start = performance.now();
    await store.change((s) => {
      const doc = { ...tenantDoc(t), limits: { maxConcurrentCalls: 100 + c } };
      validateTenant(doc, s, file);
      return { writes: [{ hash: 'tenants' as const, field: doc.name, value: doc }], result: undefined };
    });
    const written = performance.now();
    const version = await store.version();
    readCost.push(written - start);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (directories.every((d) => d.appliedVersion === version)) {
          clearInterval(check);
          resolve();
        }
      }, 1);
    });
    for (const seen of applied) {
      const at = [...seen].reverse().find((s) => s.version === version)?.at ?? NaN;
      applyLat.push(at - written);
    }
    await new Promise((r) => setTimeout(r, 137)); // not in step with the poll
  }
  readCost.sort((a, b) => a - b);
  applyLat.sort((a, b) => a - b);
  console.log(`  one change through the API's path (snapshot of ${TENANTS} tenants, validate against all, write): p50 ${ms(pct(readCost, 50))}  max ${ms(readCost.at(-1) ?? NaN)}`);
  console.log(`  applied on every instance after the write (${CHANGES} changes × ${INSTANCES} instances, poll ${file.tenants.pollMs} ms): p50 ${ms(pct(applyLat, 50))}  p99 ${ms(pct(applyLat, 99))}  max ${ms(applyLat.at(-1) ?? NaN)}  (goal ≤ 1000 ms)`);

  // 3. Admission: baseline (one tenant) | a tenant of the fleet without limits | with limits.
  const fleetConfig = configs[0]!.current;
  const mid = Math.floor(TENANTS / 2);
  const gate = new TenantGate(f.store, () => fleetConfig, logger, createMetrics());
  const limited = { ...tenantDoc(mid + 1), limits: { maxConcurrentCalls: 100000, callsPerSecond: 100000 } };
  await store.change((s) => ({ writes: [{ hash: 'tenants', field: limited.name, value: (validateTenant(limited, s, file), limited) }], result: undefined }));
  await directories[0]!.refresh();
  const limitedConfig = configs[0]!.current;
  const gateLimited = new TenantGate(f.store, () => limitedConfig, logger, createMetrics());
  const users = Array.from({ length: CALLERS }, (_, i) => `+4479111${String(i).padStart(5, '0')}`);
  const scenarios = [
    { name: 'one tenant (baseline)', config: file, business: numberOf(99999, 3), gate: undefined },
    { name: `${TENANTS} tenants, no limits`, config: fleetConfig, business: numberOf(mid, 3), gate },
    { name: `${TENANTS} tenants, tenant limits`, config: limitedConfig, business: numberOf(mid + 1, 3), gate: gateLimited },
  ];
  for (const s of scenarios) for (const u of users) await f.permissions.grant(s.business, u, 'permanent', 'bench');
  const lat = scenarios.map(() => [] as number[]);
  const admitOnce = async (i: number, user: string) => {
    const s = scenarios[i]!;
    f.config.current = s.config;
    const callId = randomUUID();
    const t = performance.now();
    // What the INVITE path reads of the configuration, then the scripts.
    fleetOf(s.config).ofNumber(s.business);
    numberEntry(s.config.numbers, s.business);
    // As src/sip/outbound.ts: the tenant asked beside the number, both on the wire together.
    const tenantAnswer = s.gate?.admit(s.business, callId);
    const r = await f.calls.admitOutbound({ business: s.business, user, callId, regionBlocked: false });
    const g = await tenantAnswer;
    const hold: TenantHold | undefined = g && 'release' in g ? g : undefined;
    lat[i]!.push(performance.now() - t);
    hold?.release(false);
    if (r.admitted) await f.calls.settle(s.business, user, callId, 'failed');
  };
  const round = async (i: number, durationMs: number) => {
    const end = performance.now() + durationMs;
    await Promise.all(users.map(async (user) => {
      while (performance.now() < end) await admitOnce(i, user);
    }));
  };
  for (let i = 0; i < scenarios.length; i++) await round(i, 500); // warm-up
  lat.forEach((l) => (l.length = 0));
  const per = (SECONDS * 1000) / (scenarios.length * 4);
  for (let r = 0; r < 4; r++) for (let i = 0; i < scenarios.length; i++) await round(i, per);
  console.log(`  outbound admission + settle, ${CALLERS} callers closed loop, alternating rounds:`);
  scenarios.forEach((s, i) => {
    const l = lat[i]!.sort((a, b) => a - b);
    const base = lat[0]!;
    console.log(`    ${s.name.padEnd(28)} ${(l.length / (SECONDS / scenarios.length)).toFixed(0).padStart(6)} adm/s  p50 ${ms(pct(l, 50))}  p99 ${ms(pct(l, 99))}  (p50 ×${(pct(l, 50) / pct(base, 50)).toFixed(2)}, p99 ×${(pct(l, 99) / pct(base, 99)).toFixed(2)} of the baseline)`);
  });
  const heap = process.memoryUsage().heapUsed;
  console.log(`  heap of this process with ${INSTANCES} merged fleet configurations: ${(heap / 1e6).toFixed(0)} MB`);
} finally {
  for (const c of cleanups) c();
  await f.close();
  await server.stop();
}
