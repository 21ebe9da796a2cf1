// bench/admission/waitReplicas: what `redis.waitReplicas: 1` costs a call, next to off, in the
// same run against the same master + replica (loopback). One call's state writes as the edge
// makes them: a permission grant (kept), the admission, settle connected (kept), settle ended.
// Off and on alternate in rounds so both see the same machine.
//   npx tsx bench/admission/waitReplicas.ts [--callers 8] [--seconds 20] [--rate 200]
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startReplicated } from '../../test/helpers/redisTopology.js';
import { stateFixture, type StateFixture } from '../../test/helpers/state.js';
import { BUSINESS } from '../../test/helpers/config.js';

const { values } = parseArgs({
  options: { callers: { type: 'string', default: '8' }, seconds: { type: 'string', default: '20' }, rate: { type: 'string', default: '200' } },
});
const callers = Number(values.callers);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;

let userSeq = 0;
async function oneCall(f: StateFixture): Promise<void> {
  const user = `+4479${String(10_000_000 + (userSeq++ % 9_000_000))}`;
  const callId = randomUUID();
  await f.permissions.grant(BUSINESS, user, 'permanent', 'bench');
  const a = await f.calls.admitOutbound({ business: BUSINESS, user, callId, regionBlocked: false });
  if (!a.admitted) throw new Error(`refused: ${a.refusal.reason}`);
  await f.calls.settle(BUSINESS, user, callId, 'connected');
  await f.calls.settle(BUSINESS, user, callId, 'ended');
}

async function closedLoop(f: StateFixture, ms: number, lat: number[]): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await oneCall(f);
        lat.push(performance.now() - t);
        n++;
      }
    }),
  );
  return n;
}

async function openLoop(f: StateFixture, ms: number, lat: number[]): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rate;
    if (due - start >= ms) break;
    const ahead = due - performance.now();
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    const t = performance.now();
    inFlight.push(oneCall(f).then(() => void lat.push(performance.now() - t)));
  }
  await Promise.all(inFlight);
}

const redis = await startReplicated();
const fixtures = {
  off: await stateFixture(redis.url, { redis: { url: redis.url, waitReplicas: 0 }, whatsapp: { maxConcurrentCalls: 100000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null } }),
  on: await stateFixture(redis.url, { redis: { url: redis.url, waitReplicas: 1, waitReplicasTimeoutMs: 200 }, whatsapp: { maxConcurrentCalls: 100000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null } }),
};
for (const f of Object.values(fixtures)) f.clock.now = Date.now();
try {
  const closed = { off: { n: 0, lat: [] as number[] }, on: { n: 0, lat: [] as number[] } };
  const open = { off: [] as number[], on: [] as number[] };
  await closedLoop(fixtures.off, 1000, []); // warm-up
  await closedLoop(fixtures.on, 1000, []);
  const slice = (seconds * 1000) / 8;
  for (let round = 0; round < 2; round++) {
    for (const mode of ['off', 'on'] as const) {
      fixtures[mode].clock.now = Date.now();
      closed[mode].n += await closedLoop(fixtures[mode], slice, closed[mode].lat);
      await openLoop(fixtures[mode], slice, open[mode]);
    }
  }
  for (const l of [closed.off.lat, closed.on.lat, open.off, open.on]) l.sort((a, b) => a - b);
  const perS = (n: number) => n / ((seconds / 4) * 1);
  console.log(`bench/admission/waitReplicas  callers=${callers} seconds=${seconds} rate=${rate} master ${redis.url} + 1 replica, node=${process.version}`);
  console.log('  a call = grant (kept) + admit + settle connected (kept) + settle ended; kept = WAIT 1 with waitReplicas 1');
  for (const mode of ['off', 'on'] as const) {
    console.log(`  ${mode.padEnd(3)} closed loop ${perS(closed[mode].n).toFixed(0).padStart(6)} calls/s  p50 ${pct(closed[mode].lat, 50).toFixed(3)} ms  p99 ${pct(closed[mode].lat, 99).toFixed(3)} ms | open loop ${rate}/s p50 ${pct(open[mode], 50).toFixed(3)} ms  p99 ${pct(open[mode], 99).toFixed(3)} ms`);
  }
  console.log(`  on/off: closed-loop calls/s ${(closed.on.n / closed.off.n).toFixed(2)}, closed p50 ${(pct(closed.on.lat, 50) / pct(closed.off.lat, 50)).toFixed(2)}, open p50 ${(pct(open.on, 50) / pct(open.off, 50)).toFixed(2)}, open p99 ${(pct(open.on, 99) / pct(open.off, 99)).toFixed(2)}; open p50 added per call ${(pct(open.on, 50) - pct(open.off, 50)).toFixed(3)} ms`);
} finally {
  for (const f of Object.values(fixtures)) await f.close();
  await redis.stop();
}
