// bench/tenants: the fleet at scale (issue #35, SPEC §2a), against a local redis-server.
//   npx tsx bench/tenants/run.ts [--tenants 1000] [--numbers 10] [--instances 3] [--changes 20] [--seconds 48] [--rounds 48] [--group 6] [--callers 8] [--autopipeline]
// 1. Configures `tenants` × `numbers` through the tenant store (each tenant validated as the API does).
// 2. A change made on one instance, applied on every instance: `instances` tenant directories, each
//    with its own Redis connection and the default 250 ms poll, time from the write's answer to
//    the moment each has swapped in the new merged configuration; also what one such read costs.
// 3. Outbound admission (the edge's part of INVITE → INVITE to Telnyx that tenants touch: the
//    merged configuration's lookups, admit_outbound.lua, and for a tenant with limits
//    tenant_admit.lua + its release), closed loop, each admission settled, interleaved: `rounds`
//    rounds, each running every case for `seconds / (rounds × 4)` in an order rotated each round:
//    a one-tenant configuration (the baseline A) | the same again (A': the noise floor of a ratio) |
//    a number of tenant 500 of 1,000 without limits | a tenant with limits. Reported: each case's
//    p50/p99 pooled over all rounds, and its ratio to A of the same round, p50 and p99, as the
//    median over rounds (p99: over groups of `group` rounds pooled, a block being too short for
//    its own p99) with its spread; Redis's CPU (INFO cpu) and this process's per admission: on a
//    shared box the CPU per admission moves far less than the latency, which is mostly queueing.
// Prints figures; asserts nothing.
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
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
const SECONDS = numArg('seconds', 48);
const ROUNDS = numArg('rounds', 48);
const GROUP = numArg('group', 6);
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
// --autopipeline: an experiment, not the edge's setting (src/state/redis.ts leaves it off): ioredis
// sends the commands issued in one tick in one write, so the number's and the tenant's scripts
// leave together in one packet; Redis still runs both.
const AUTOPIPELINE = process.argv.includes('--autopipeline');
if (AUTOPIPELINE) f.redis.options.enableAutoPipelining = true;
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
  console.log(`bench/tenants  tenants=${TENANTS} numbers/tenant=${NUMBERS} instances=${INSTANCES}${AUTOPIPELINE ? ' autopipeline' : ''} node=${process.version} redis=127.0.0.1:${server.port}`);
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
  // The baseline runs twice per round (A and A'): how far A' strays from A is what noise alone
  // does to a ratio on this box, the yardstick for the fleet's ratios.
  // As src/app.ts: every edge asks its gate, which for a tenant without limits (here `default`) runs no script.
  const baseline = { config: file, business: numberOf(99999, 3), gate: new TenantGate(f.store, () => file, logger, createMetrics()) };
  const scenarios = [
    { name: 'one tenant (baseline A)', ...baseline },
    { name: "one tenant again (A')", ...baseline },
    { name: `${TENANTS} tenants, no limits`, config: fleetConfig, business: numberOf(mid, 3), gate },
    { name: `${TENANTS} tenants, tenant limits`, config: limitedConfig, business: numberOf(mid + 1, 3), gate: gateLimited },
  ];
  for (const s of scenarios) for (const u of users) await f.permissions.grant(s.business, u, 'permanent', 'bench');
  const admitOnce = async (i: number, user: string, into: number[]) => {
    const s = scenarios[i]!;
    const callId = randomUUID();
    const t = performance.now();
    // What the INVITE path reads of the configuration, then the scripts.
    fleetOf(s.config).ofNumber(s.business);
    numberEntry(s.config.numbers, s.business);
    // As src/sip/outbound.ts: the tenant asked beside the number, both on the wire together.
    const tenantAnswer = s.gate.admit(s.business, callId);
    const r = await f.calls.admitOutbound({ business: s.business, user, callId, regionBlocked: false });
    const g = await tenantAnswer;
    const hold: TenantHold | undefined = g && 'release' in g ? g : undefined;
    into.push(performance.now() - t);
    hold?.release(false);
    if (r.admitted) await f.calls.settle(s.business, user, callId, 'failed');
  };
  /** Redis's own CPU seconds so far (INFO cpu), to split a case's cost between Redis and this process. */
  const redisCpu = async () => {
    const info = await f.redis.info('cpu');
    const field = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  /** One case for `durationMs`, CALLERS closed loops; its latencies and the CPU it cost (Redis, this process). */
  const block = async (i: number, durationMs: number) => {
    const s = scenarios[i]!;
    f.config.current = s.config; // only one case runs at a time: the admission reads this configuration
    const into: number[] = [];
    const [r0, p0] = [await redisCpu(), process.cpuUsage()];
    const end = performance.now() + durationMs;
    await Promise.all(users.map(async (user) => {
      while (performance.now() < end) await admitOnce(i, user, into);
    }));
    const p1 = process.cpuUsage(p0);
    return { lat: into.sort((a, b) => a - b), redisS: (await redisCpu()) - r0, selfS: (p1.user + p1.system) / 1e6 };
  };
  for (let i = 0; i < scenarios.length; i++) await block(i, 500); // warm-up
  // ABCD, BCDA, CDAB, …: every case runs in every position of a round equally often, and each
  // round's ratios compare cases measured within the same second or two.
  const perBlock = (SECONDS * 1000) / (ROUNDS * scenarios.length);
  const rounds: Awaited<ReturnType<typeof block>>[][] = [];
  const loads: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const got: Awaited<ReturnType<typeof block>>[] = [];
    for (let k = 0; k < scenarios.length; k++) {
      const i = (r + k) % scenarios.length;
      got[i] = await block(i, perBlock);
    }
    rounds.push(got);
    loads.push(loadavg()[0]!);
  }
  const q = (xs: number[], p: number) => pct([...xs].sort((a, b) => a - b), p);
  const x = (v: number) => `×${v.toFixed(2)}`;
  const spread = (rs: number[]) => `${x(q(rs, 50))} [${q(rs, 25).toFixed(2)}–${q(rs, 75).toFixed(2)}] (${q(rs, 0).toFixed(2)}–${q(rs, 100).toFixed(2)})`;
  // A block is too short for its own p99: the p99 ratio is taken over groups of GROUP consecutive rounds pooled.
  const groups = Array.from({ length: Math.ceil(ROUNDS / GROUP) }, (_, g) => rounds.slice(g * GROUP, (g + 1) * GROUP));
  const pooledOf = (rs: typeof rounds, i: number) => rs.flatMap((r) => r[i]!.lat).sort((a, b) => a - b);
  const total = rounds.reduce((n, r) => n + r[0]!.lat.length, 0);
  console.log(`  outbound admission + settle, ${CALLERS} callers closed loop, ${ROUNDS} rounds of ${scenarios.length} cases × ${perBlock.toFixed(0)} ms, order rotated each round;`);
  console.log(`  load average (1 min) during the rounds: ${q(loads, 0).toFixed(1)} to ${q(loads, 100).toFixed(1)} (median ${q(loads, 50).toFixed(1)}) on ${cpus().length} cores; ~${(total / ROUNDS).toFixed(0)} admissions per case per round`);
  console.log(`  ratios to A: p50 per round, p99 per group of ${GROUP} rounds pooled (${groups.length} groups): median [p25–p75] (min–max)`);
  const base = pooledOf(rounds, 0);
  const baseCpu = { redis: (rounds.reduce((t, r) => t + r[0]!.redisS, 0) / base.length) * 1e6, self: (rounds.reduce((t, r) => t + r[0]!.selfS, 0) / base.length) * 1e6 };
  scenarios.forEach((s, i) => {
    const pooled = pooledOf(rounds, i);
    const n = pooled.length;
    const p50s = rounds.map((r) => pct(r[i]!.lat, 50) / pct(r[0]!.lat, 50));
    const p99s = groups.map((g) => pct(pooledOf(g, i), 99) / pct(pooledOf(g, 0), 99));
    const redisUs = (rounds.reduce((t, r) => t + r[i]!.redisS, 0) / n) * 1e6;
    const selfUs = (rounds.reduce((t, r) => t + r[i]!.selfS, 0) / n) * 1e6;
    console.log(`    ${s.name.padEnd(30)} ${(n / ((perBlock * ROUNDS) / 1000)).toFixed(0).padStart(6)} adm/s  all rounds pooled: p50 ${ms(pct(pooled, 50))} (${x(pct(pooled, 50) / pct(base, 50))})  p99 ${ms(pct(pooled, 99))} (${x(pct(pooled, 99) / pct(base, 99))}); ${n} admissions`);
    if (i > 0) console.log(`      p50 ${spread(p50s)}   p99 ${spread(p99s)}`);
    console.log(`      CPU per admission (+ settle, + tenant release): Redis ${redisUs.toFixed(0)} µs (${x(redisUs / baseCpu.redis)}), this process ${selfUs.toFixed(0)} µs (${x(selfUs / baseCpu.self)})`);
  });
  const heap = process.memoryUsage().heapUsed;
  console.log(`  heap of this process with ${INSTANCES} merged fleet configurations: ${(heap / 1e6).toFixed(0)} MB`);
} finally {
  for (const c of cleanups) c();
  await f.close();
  await server.stop();
}
