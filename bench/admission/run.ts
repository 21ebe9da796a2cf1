// bench/admission: admitOutbound + settle against a local redis-server with N concurrent callers,
// next to a bare PING round trip in the same run. Prints figures; asserts nothing.
//   npx tsx bench/admission/run.ts [--callers 8] [--seconds 10] [--rate 2000]
// Closed loop: N callers back to back, which saturates Redis (latency = queueing). Open loop
// (--rate): a fixed offered load of admissions (and PINGs) per second, as a SIP edge sees it.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startRedis } from '../../test/helpers/redis.js';
import { stateFixture } from '../../test/helpers/state.js';
import { BUSINESS } from '../../test/helpers/config.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const callers = arg('callers', 8);
const seconds = arg('seconds', 10);
const rate = arg('rate', 2000);

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function loop(durationMs: number, op: () => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        lat.push(performance.now() - t);
      }
    }),
  );
  return lat.sort((a, b) => a - b);
}

/** Starts `op` at a fixed rate regardless of how long each takes; returns the sorted latencies. */
async function openLoop(durationMs: number, perSecond: number, op: () => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let issued = 0;
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * perSecond);
    for (; issued < due; issued++) {
      const t = performance.now();
      inFlight.push(op().then(() => void lat.push(performance.now() - t)));
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(inFlight);
  return lat.sort((a, b) => a - b);
}

async function commandCalls(f: Awaited<ReturnType<typeof stateFixture>>): Promise<number> {
  const info = (await f.redis.info('commandstats')) as string;
  // Only what the client sends counts as a round trip: commands run inside scripts are listed too.
  return [...info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)].reduce((s, m) => s + Number(m[2]), 0);
}

const server = await startRedis();
const f = await stateFixture(server.url, {
  whatsapp: { maxConcurrentCalls: 100000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null },
});
f.clock.now = Date.now();
try {
  const users = Array.from({ length: callers }, (_, i) => `+4479111${String(i).padStart(5, '0')}`);
  for (const u of users) await f.permissions.grant(BUSINESS, u, 'permanent', 'bench');
  let next = 0;
  const admitAndSettle = async () => {
    const user = users[next++ % users.length] as string;
    const callId = randomUUID();
    const t = performance.now();
    const r = await f.calls.admitOutbound({ business: BUSINESS, user, callId, regionBlocked: false });
    admitLat.push(performance.now() - t);
    if (r.admitted) await f.calls.settle(BUSINESS, user, callId, 'failed');
    else refused++;
  };
  let admitLat: number[] = [];
  let refused = 0;
  // Warm-up (script load, JIT), then PING and admissions alternate so both see the same machine state.
  await loop(1000, async () => void (await f.redis.ping()));
  await loop(1000, admitAndSettle);
  admitLat = [];
  refused = 0;
  const pingLat: number[] = [];
  const before = await commandCalls(f);
  let admissions = 0;
  const half = (seconds * 1000) / 4;
  for (let round = 0; round < 2; round++) {
    for (const v of await loop(half, async () => void (await f.redis.ping()))) pingLat.push(v);
    const n0 = admitLat.length;
    await loop(half, admitAndSettle);
    admissions += admitLat.length - n0;
  }
  const after = await commandCalls(f);
  const pings = pingLat.length;
  admitLat.sort((a, b) => a - b);
  pingLat.sort((a, b) => a - b);
  const perCall = (after - before) / admissions;
  const p99ratio = pct(admitLat, 99) / pct(pingLat, 99);
  console.log(`bench/admission  callers=${callers} seconds=${seconds} redis=127.0.0.1:${server.port} node=${process.version}`);
  console.log(`  PING           ${(pings / (seconds / 2)).toFixed(0).padStart(7)} ops/s   p50 ${pct(pingLat, 50).toFixed(3)} ms   p99 ${pct(pingLat, 99).toFixed(3)} ms`);
  console.log(`  admitOutbound  ${(admissions / (seconds / 2)).toFixed(0).padStart(7)} adm/s   p50 ${pct(admitLat, 50).toFixed(3)} ms   p99 ${pct(admitLat, 99).toFixed(3)} ms   (refused ${refused})`);
  console.log(`  script calls per admission+settle: ${perCall.toFixed(2)} (goal 2: one admit round trip, one settle)`);
  console.log(`  closed loop: admit p99 / PING p99 = ${p99ratio.toFixed(2)}  (goal < 2)`);

  // Open loop at a fixed offered load: the same rate of PINGs, then of admissions (each settled).
  const pingOpen = await openLoop((seconds * 1000) / 2, rate, async () => void (await f.redis.ping()));
  const admitOpen = await openLoop((seconds * 1000) / 2, rate, async () => {
    const user = users[next++ % users.length] as string;
    const callId = randomUUID();
    const r = await f.calls.admitOutbound({ business: BUSINESS, user, callId, regionBlocked: false });
    if (r.admitted) void f.calls.settle(BUSINESS, user, callId, 'failed');
  });
  console.log(`  open loop ${rate}/s: PING p50 ${pct(pingOpen, 50).toFixed(3)} ms p99 ${pct(pingOpen, 99).toFixed(3)} ms | admitOutbound p50 ${pct(admitOpen, 50).toFixed(3)} ms p99 ${pct(admitOpen, 99).toFixed(3)} ms | p99 ratio ${(pct(admitOpen, 99) / pct(pingOpen, 99)).toFixed(2)} (goal < 2)`);
} finally {
  await f.close();
  await server.stop();
}
