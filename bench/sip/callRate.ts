// bench/sip/callRate.ts: the highest call rate with zero failed calls, edge vs a plain drachtio-srf
// B2BUA (bench/sip/plainB2bua.ts) on the same drachtio-server in the same run, for connected
// calls and for rejected calls. Prints figures; asserts nothing.
//
//   npx tsx bench/sip/callRate.ts [--only connected|rejected] [--step 5] [--start 200] [--factor 1.3]
//                                 [--max 3000] [--resolution 0.03] [--bisect 4] [--hold 0]
//                                 [--recv-timeout 2000] [--prof DIR] [--order plain,edge]
//
// A probe at rate R: SIPp as the PBX (127.0.0.1) places R x step calls at R calls/s to
// drachtio-server (127.0.0.3); for connected calls SIPp as Telnyx (127.0.0.2) answers and the
// PBX hangs up after --hold ms. The probe passes when SIPp counts every call successful and none
// failed; a response slower than --recv-timeout ms fails a call (the sign of a backlog). The rate
// goes up by --factor until a probe fails, then bisects between the last pass and the first
// failure down to --resolution. Each call dials a user never dialled before in the run (SIPp
// -inf), with a permanent permission on the edge (connected) or none (rejected: 480
// no_permission); the plain app B2BUAs everything (connected) or answers everything 480 with the
// same Reason (rejected). Edge caps are raised so policy never refuses a connected call.
// Per probe it also prints CPU time per call of the app, drachtio-server and redis-server.
import { mkdirSync } from 'node:fs';
import {
  addrs, edgeConfig, flag, fmt, freeSipPort, grantPermanent, numArg, procCpuUs, redisCpuUs, runSipp,
  sleep, startApp, startInfra, stateClient, strArg, users, writeUsersCsv, type AppKind, type AppProcess, type Infra,
} from './lib.js';

const stepSec = numArg('step', 5);
const startRate = numArg('start', 200);
const factor = numArg('factor', 1.3);
const maxRate = numArg('max', 3000);
const resolution = numArg('resolution', 0.03);
const maxBisect = numArg('bisect', 4);
const holdMs = numArg('hold', 0);
const recvTimeoutMs = numArg('recv-timeout', 2000);
const only = strArg('only', 'both');
const profDir = strArg('prof', '');
const order = strArg('order', 'plain,edge').split(',') as ('plain' | 'edge')[];
const verbose = flag('verbose');

type Mode = 'connected' | 'rejected';

interface Probe {
  rate: number;
  calls: number;
  pass: boolean;
  successful: number;
  failed: number;
  retrans: number;
  wallSec: number;
  setupMs: number;
  appUsPerCall: number;
  drachtioUsPerCall: number;
  redisUsPerCall: number;
  note: string;
}

const infra: Infra = await startInfra();
const state = await stateClient(infra);
const telnyxPort = await freeSipPort(addrs.telnyx);
const pbxPort = await freeSipPort(addrs.pbx);
let userSeq = 0;

function appKind(which: 'plain' | 'edge', mode: Mode): AppKind {
  if (which === 'edge') return 'edge';
  return mode === 'connected' ? 'plain' : 'plain-reject';
}

async function launch(which: 'plain' | 'edge', mode: Mode): Promise<AppProcess> {
  const nodeFlags: string[] = [];
  if (profDir && which === 'edge') {
    mkdirSync(profDir, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=edge-${mode}-${Date.now()}.cpuprofile`);
  }
  return startApp(appKind(which, mode), {
    infra,
    telnyxPort,
    nodeFlags,
    edge: edgeConfig(infra, telnyxPort, {
      maxConcurrentCalls: 100_000,
      connectedCallsPer24h: { perNumber: null, perUser: null },
      callAttemptsPer24h: null,
    }),
  });
}

async function probe(app: AppProcess, mode: Mode, rate: number, seconds: number): Promise<Probe> {
  const calls = Math.max(1, Math.round(rate * seconds));
  // Fresh users for every probe: a call left over from an overloaded probe never makes the next one busy.
  const list = users(mode === 'connected' ? '4479110' : '4479220', calls, userSeq);
  userSeq += calls;
  if (mode === 'connected' && app.kind === 'edge') await grantPermanent(state, list);
  const csv = writeUsersCsv(infra.tmp, `users-${userSeq}.csv`, list);

  const uas =
    mode === 'connected'
      ? runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls, timeoutSec: seconds + 40 })
      : undefined;
  await uas?.ready;
  const cpu0 = { app: await app.stats(), drachtio: procCpuUs(infra.drachtioPid), redis: await redisCpuUs(() => state.redis.info('cpu')) };
  const uac = runSipp({
    scenario: mode === 'connected' ? 'uac_call.xml' : 'uac_reject.xml',
    local: addrs.pbx,
    port: pbxPort,
    remote: infra.drachtio.sipHostPort,
    calls,
    rate,
    limit: 20_000,
    inf: csv,
    vars: mode === 'connected' ? { hold: holdMs } : {},
    recvTimeoutMs,
    timeoutSec: seconds + 30,
  });
  const r = await uac.done;
  let uasResult;
  if (uas) {
    const t = setTimeout(() => uas.kill(), r.code === 0 ? 10_000 : 3000);
    uasResult = await uas.done;
    clearTimeout(t);
  }
  const left = await app.idle(r.code === 0 ? 10_000 : 3000);
  const cpu1 = { app: await app.stats(), drachtio: procCpuUs(infra.drachtioPid), redis: await redisCpuUs(() => state.redis.info('cpu')) };
  const s = r.stats;
  const successful = s?.successful ?? 0;
  const failed = s?.failed ?? calls;
  const notes: string[] = [];
  if (r.code !== 0) notes.push(`sipp exit ${r.code}`);
  if (s && s.failedTimeoutOnRecv) notes.push(`${s.failedTimeoutOnRecv} slower than ${recvTimeoutMs} ms`);
  if (s && s.failedUnexpected) notes.push(`${s.failedUnexpected} unexpected msg`);
  if (s && s.failedMaxUdpRetrans) notes.push(`${s.failedMaxUdpRetrans} max retrans`);
  if (uasResult && uasResult.stats && uasResult.stats.failed > 0) notes.push(`telnyx side ${uasResult.stats.failed} failed`);
  if (left > 0) notes.push(`${left} calls still up on the app`);
  const pass = r.code === 0 && failed === 0 && successful === calls && !(uasResult?.stats && uasResult.stats.failed > 0);
  if (!pass && verbose) console.log(`      ${r.command}\n      ${r.errors.split('\n').slice(0, 6).join('\n      ')}\n${app.log().split('\n').slice(-10).join('\n')}`);
  const cpuOf = (x: typeof cpu0.app) => x.cpuUserUs + x.cpuSystemUs;
  return {
    rate,
    calls,
    pass,
    successful,
    failed,
    retrans: s?.retransmissions ?? NaN,
    wallSec: r.wallMs / 1000,
    setupMs: s?.responseTime1Ms ?? NaN,
    appUsPerCall: (cpuOf(cpu1.app) - cpuOf(cpu0.app)) / calls,
    drachtioUsPerCall: (cpu1.drachtio - cpu0.drachtio) / calls,
    redisUsPerCall: (cpu1.redis - cpu0.redis) / calls,
    note: notes.join(', '),
  };
}

function line(who: string, p: Probe): string {
  return (
    `  ${who.padEnd(6)} ${String(p.rate).padStart(5)}/s  calls ${String(p.calls).padStart(5)}  ok ${String(p.successful).padStart(5)}  failed ${String(p.failed).padStart(4)}` +
    `  retrans ${String(p.retrans).padStart(4)}  wall ${fmt(p.wallSec, 1).padStart(5)} s  setup ${fmt(p.setupMs, 0).padStart(4)} ms` +
    `  cpu/call µs: app ${fmt(p.appUsPerCall, 0).padStart(4)} drachtio ${fmt(p.drachtioUsPerCall, 0).padStart(4)} redis ${fmt(p.redisUsPerCall, 0).padStart(3)}` +
    `  ${p.pass ? 'PASS' : 'FAIL'}${p.note ? ` (${p.note})` : ''}`
  );
}

interface Ramp {
  best: number;
  bestProbe: Probe | undefined;
  firstFail: number;
  probes: Probe[];
}

async function ramp(which: 'plain' | 'edge', mode: Mode): Promise<Ramp> {
  let app = await launch(which, mode);
  const restart = async () => {
    await app.stop();
    app = await launch(which, mode);
    await probe(app, mode, 100, 2);
  };
  // Warm-up (JIT, SIPp, drachtio's pools): not counted.
  const w = await probe(app, mode, 100, 2);
  if (!w.pass) console.log(line(`${which}*`, w) + '  (warm-up)');
  const probes: Probe[] = [];
  let best = 0;
  let bestProbe: Probe | undefined;
  let firstFail = Infinity;
  const run = async (rate: number) => {
    const p = await probe(app, mode, rate, stepSec);
    probes.push(p);
    console.log(line(which, p));
    if (p.pass) {
      if (rate > best) {
        best = rate;
        bestProbe = p;
      }
    } else {
      firstFail = Math.min(firstFail, rate);
      if (p.note.includes('still up')) await restart();
    }
    await sleep(500);
    return p.pass;
  };
  for (let rate = startRate; rate <= maxRate; rate = Math.round(rate * factor)) {
    if (!(await run(rate))) break;
  }
  for (let i = 0; i < maxBisect && Number.isFinite(firstFail) && (firstFail - best) / Math.max(best, 1) > resolution; i++) {
    await run(Math.round((best + firstFail) / 2));
  }
  await app.stop();
  return { best, bestProbe, firstFail, probes };
}

const started = Date.now();
console.log(
  `bench/sip/callRate  step=${stepSec}s start=${startRate} factor=${factor} resolution=${resolution} hold=${holdMs}ms recv-timeout=${recvTimeoutMs}ms ` +
    `drachtio=${infra.drachtio.sipHostPort} redis=${infra.redis.url} node=${process.version}`,
);
const summary: string[] = [];
try {
  for (const mode of ['connected', 'rejected'] as Mode[]) {
    if (only !== 'both' && only !== mode) continue;
    console.log(`\n${mode} calls (${mode === 'connected' ? 'PBX → B2BUA → Telnyx SIPp answers, PBX hangs up' : 'edge: 480 no_permission; plain: 480 to every INVITE'})`);
    const result: Partial<Record<'plain' | 'edge', Ramp>> = {};
    for (const which of order) result[which] = await ramp(which, mode);
    const plain = result.plain;
    const edge = result.edge;
    if (plain && edge) {
      const ratio = edge.best / plain.best;
      const b = (r: Ramp) => `${r.best} CPS${Number.isFinite(r.firstFail) ? ` (first failure at ${r.firstFail})` : ` (no failure up to ${maxRate})`}`;
      const cpu = (r: Ramp) => (r.bestProbe ? `app ${fmt(r.bestProbe.appUsPerCall, 0)} µs/call` : 'n/a');
      summary.push(
        `${mode.padEnd(9)}: plain ${b(plain)}, edge ${b(edge)}  →  edge/plain = ${fmt(ratio, 2)}  (goal ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})` +
          `;  CPU at the best rate: plain ${cpu(plain)}, edge ${cpu(edge)}`,
      );
    }
  }
  console.log(`\nsummary (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  for (const s of summary) console.log(`  ${s}`);
  if (profDir) console.log(`  edge CPU profiles in ${profDir} (summarise: npx tsx bench/sip/profile.ts ${profDir}/<file>.cpuprofile)`);
} finally {
  await state.close();
  await infra.stop();
}
