// bench/sip/callRate.ts: the highest call rate with zero failed calls, edge vs a plain drachtio-srf
// B2BUA (bench/sip/plainB2bua.ts) on the same drachtio-server in the same run, for connected
// calls and for rejected calls. Prints figures; asserts nothing.
//
//   npx tsx bench/sip/callRate.ts [--only connected|rejected] [--step 5] [--start 200] [--factor 1.4]
//                                 [--max 8000] [--resolution 0.03] [--bisect 5] [--hold 100]
//                                 [--recv-timeout 2000] [--prof DIR] [--order plain,forward,edge] [--fixed RATE]
//                                 [--edge-without-state]
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
// Rejected calls have a second baseline, "forward": the plain B2BUA sends every call on to the
// Telnyx SIPp, which refuses it with the same 480 (bench/sip/scenarios/uas_refuse.xml), as calls
// go when nothing refuses them before Telnyx. The edge is compared with both.
// Per probe it also prints CPU time per call of the app, drachtio-server and redis-server.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  addrs, edgeConfig, flag, fmt, freeSipPort, grantPermanent, numArg, procCpuUs, redisCpuUs, runSipp,
  sleep, startApp, startInfra, stateClient, strArg, users, writeUsersCsv, type AppKind, type AppProcess, type Infra,
} from './lib.js';

const stepSec = numArg('step', 5);
const startRate = numArg('start', 200);
const factor = numArg('factor', 1.4);
const maxRate = numArg('max', 8000);
const resolution = numArg('resolution', 0.03);
const maxBisect = numArg('bisect', 5);
const holdMs = numArg('hold', 100);
const recvTimeoutMs = numArg('recv-timeout', 2000);
const only = strArg('only', 'both');
const profDir = strArg('prof', '');
type Contender = 'plain' | 'forward' | 'edge';
const order = strArg('order', 'plain,forward,edge').split(',') as Contender[];
const verbose = flag('verbose');
// --fixed R: no ramp, one probe at R calls/s per app (CPU per call of both at the same rate; with --prof, a clean profile).
const fixedRate = numArg('fixed', 0);
// --edge-without-state: the edge with its Redis round trips taken out (bench/sip/edgeChild.ts), to
// split its CPU per call into state and the rest. A diagnostic: such an edge enforces nothing.
if (flag('edge-without-state')) process.env.BENCH_EDGE_WITHOUT_STATE = '1';

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
  /** The part of appUsPerCall spent in the kernel (socket writes and reads, mostly). */
  appSysUsPerCall: number;
  drachtioUsPerCall: number;
  redisUsPerCall: number;
  sippUsPerCall: number;
  note: string;
}

const infra: Infra = await startInfra();
const state = await stateClient(infra);
const telnyxPort = await freeSipPort(addrs.telnyx);
const pbxPort = await freeSipPort(addrs.pbx);
let profRunDir = '';
const userSeq: Record<Mode, number> = { connected: 0, rejected: 0 };

function appKind(which: Contender, mode: Mode): AppKind {
  if (which === 'edge') return 'edge';
  if (which === 'forward') return 'plain-forward';
  return mode === 'connected' ? 'plain' : 'plain-reject';
}

async function launch(which: Contender, mode: Mode): Promise<AppProcess> {
  const nodeFlags: string[] = [];
  if (profDir) {
    // One folder per app and run, with Node's default file names (a worker thread would write a
    // profile of its own next to the main thread's).
    profRunDir = join(profDir, `${which}-${mode}-${Date.now()}`);
    mkdirSync(profRunDir, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profRunDir}`);
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
  const list = users(mode === 'connected' ? '447911' : '447922', calls, userSeq[mode]);
  userSeq[mode] += calls;
  if (mode === 'connected' && app.kind === 'edge') await grantPermanent(state, list);
  const csv = writeUsersCsv(infra.tmp, `users-${mode}-${userSeq[mode]}.csv`, list);

  // Telnyx answers connected calls; it refuses the calls that the forward baseline sends on.
  const telnyxScenario = mode === 'connected' ? 'uas_answer.xml' : app.kind === 'plain-forward' ? 'uas_refuse.xml' : undefined;
  const uas = telnyxScenario
    ? runSipp({ scenario: telnyxScenario, local: addrs.telnyx, port: telnyxPort, calls, timeoutSec: seconds + 40 })
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
    // Every BYE (or ACK) should reach Telnyx within a moment of the PBX's last message; a leg never
    // ended keeps the UAS waiting, so it is stopped after 3 s and the missing ones are counted.
    const t = setTimeout(() => uas.kill(), 3000);
    uasResult = await uas.done;
    clearTimeout(t);
  }
  await app.idle(3000);
  const cpu1 = { app: await app.stats(), drachtio: procCpuUs(infra.drachtioPid), redis: await redisCpuUs(() => state.redis.info('cpu')) };
  // Calls the app still holds although SIPp finished them (counted since the app started).
  const left = cpu1.app.active - cpu0.app.active;
  const deadLeg = (cpu1.app.extra.deadLegSessions ?? 0) - (cpu0.app.extra.deadLegSessions ?? 0);
  const telnyxNotEnded = uasResult?.stats ? calls - uasResult.stats.successful - uasResult.stats.failed : 0;
  const s = r.stats;
  const successful = s?.successful ?? 0;
  const failed = s?.failed ?? calls;
  const notes: string[] = [];
  if (r.code !== 0) notes.push(`sipp exit ${r.code}`);
  if (s && s.failedTimeoutOnRecv) notes.push(`${s.failedTimeoutOnRecv} slower than ${recvTimeoutMs} ms`);
  if (s && s.failedUnexpected) {
    const received = /received '([^\r\n']{0,60})/.exec(r.errors)?.[1];
    notes.push(`${s.failedUnexpected} unexpected msg${received ? `, e.g. ${received}` : ''}`);
  }
  if (s && s.failedMaxUdpRetrans) notes.push(`${s.failedMaxUdpRetrans} max retrans`);
  if (uasResult && uasResult.stats && uasResult.stats.failed > 0) notes.push(`telnyx side ${uasResult.stats.failed} failed`);
  if (left > 0) notes.push(`${left} calls left up on the app${deadLeg > 0 ? ` (${deadLeg} with the PBX leg already gone)` : ''}`);
  if (telnyxNotEnded > 0) notes.push(`${telnyxNotEnded} Telnyx legs never ended`);
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
    appSysUsPerCall: (cpu1.app.cpuSystemUs - cpu0.app.cpuSystemUs) / calls,
    drachtioUsPerCall: (cpu1.drachtio - cpu0.drachtio) / calls,
    redisUsPerCall: (cpu1.redis - cpu0.redis) / calls,
    sippUsPerCall: (r.cpuUs + (uasResult?.cpuUs ?? 0)) / calls,
    note: notes.join(', '),
  };
}

function line(who: string, p: Probe): string {
  return (
    `  ${who.padEnd(7)} ${String(p.rate).padStart(5)}/s  calls ${String(p.calls).padStart(5)}  ok ${String(p.successful).padStart(5)}  failed ${String(p.failed).padStart(4)}` +
    `  retrans ${String(p.retrans).padStart(4)}  wall ${fmt(p.wallSec, 1).padStart(5)} s  setup ${fmt(p.setupMs, 0).padStart(4)} ms` +
    `  cpu/call µs: app ${fmt(p.appUsPerCall, 0).padStart(4)} (sys ${fmt(p.appSysUsPerCall, 0).padStart(3)}) drachtio ${fmt(p.drachtioUsPerCall, 0).padStart(4)} redis ${fmt(p.redisUsPerCall, 0).padStart(3)} sipp ${fmt(p.sippUsPerCall, 0).padStart(4)}` +
    `  ${p.pass ? 'PASS' : 'FAIL'}${p.note ? ` (${p.note})` : ''}`
  );
}

interface Ramp {
  best: number;
  bestProbe: Probe | undefined;
  firstFail: number;
  probes: Probe[];
}

/** Waits (up to 30 s) until the app and drachtio-server each use under 5 % of a core; returns the wait in ms. */
async function waitQuiet(app: AppProcess): Promise<number> {
  const t0 = Date.now();
  const cpu = async () => {
    const s = await app.stats();
    return { app: s.cpuUserUs + s.cpuSystemUs, drachtio: procCpuUs(infra.drachtioPid) };
  };
  let before = await cpu();
  while (Date.now() - t0 < 30_000) {
    await sleep(1000);
    const now = await cpu();
    // /proc ticks are 10 ms: 5 % of a core over 1 s is 5 ticks.
    if (now.app - before.app < 50_000 && now.drachtio - before.drachtio < 50_000) break;
    before = now;
  }
  return Date.now() - t0;
}

async function ramp(which: Contender, mode: Mode): Promise<Ramp> {
  const app = await launch(which, mode);
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
      // An overloaded probe leaves retransmissions and a backlog behind in drachtio-server and
      // the app: the next (lower) probe must not start until both have worked it off.
      const quietAfter = await waitQuiet(app);
      if (verbose) console.log(`      quiet after ${fmt(quietAfter / 1000, 1)} s`);
    }
    await sleep(500);
    return p.pass;
  };
  if (fixedRate > 0) await run(fixedRate);
  for (let rate = startRate; fixedRate === 0 && rate <= maxRate; rate = Math.round(rate * factor)) {
    if (!(await run(rate))) break;
  }
  for (let i = 0; fixedRate === 0 && i < maxBisect && Number.isFinite(firstFail) && (firstFail - best) / Math.max(best, 1) > resolution; i++) {
    await run(Math.round((best + firstFail) / 2));
  }
  await app.stop();
  if (profDir) {
    const total = probes.reduce((n, p) => n + p.calls, 0) + Math.round(100 * 2);
    // The main thread's profile is the largest file in the folder.
    const main = readdirSync(profRunDir)
      .map((f) => join(profRunDir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    console.log(`  (${which} profile: it handled ${total} ${mode} calls; npx tsx bench/sip/profile.ts ${main ?? profRunDir} --calls ${total})`);
  }
  return { best, bestProbe, firstFail, probes };
}

/** One summary line: the edge against a baseline, as CPU per call (--fixed) or as the ratio of best rates. */
function compare(mode: Mode, base: 'plain' | 'forward', baseline: Ramp, edge: Ramp): string {
  const label = (base === 'plain' ? mode : `${mode}, forward`).padEnd(18);
  if (fixedRate > 0) {
    const [bp, ep] = [baseline.probes[0], edge.probes[0]];
    if (!bp || !ep) return `${label}: no probe`;
    const tot = (p: Probe) => p.appUsPerCall + p.drachtioUsPerCall + p.redisUsPerCall + p.sippUsPerCall;
    const parts = (p: Probe) =>
      `app ${fmt(p.appUsPerCall, 0)} + drachtio ${fmt(p.drachtioUsPerCall, 0)} + redis ${fmt(p.redisUsPerCall, 0)} + sipp ${fmt(p.sippUsPerCall, 0)} = ${fmt(tot(p), 0)}`;
    return (
      `${label}: at ${fixedRate}/s: CPU µs/call ${base} ${parts(bp)}; edge ${parts(ep)}; ` +
      `${base}/edge total = ${fmt(tot(bp) / tot(ep), 2)} (the rate ratio to expect when the box's CPUs are the limit)`
    );
  }
  const ratio = edge.best / baseline.best;
  const b = (r: Ramp) => `${r.best} CPS${Number.isFinite(r.firstFail) ? ` (first failure at ${r.firstFail})` : ` (no failure up to ${maxRate})`}`;
  const cpu = (r: Ramp) => (r.bestProbe ? `app ${fmt(r.bestProbe.appUsPerCall, 0)} µs/call` : 'n/a');
  return (
    // The goal is judged against the plain app; the forward baseline is a second reading, shown without a verdict.
    `${label}: ${base} ${b(baseline)}, edge ${b(edge)}  →  edge/${base} = ${fmt(ratio, 2)}` +
    `  (${base === 'plain' ? `goal ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}` : 'the edge refuses before Telnyx; the forward app lets Telnyx refuse'})` +
    `;  CPU at the best rate: ${base} ${cpu(baseline)}, edge ${cpu(edge)}`
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** --fixed with repeated contenders: app CPU per call of every run, the medians, and the edge/plain ratio of each pair. */
function medians(mode: Mode, runs: Partial<Record<Contender, Ramp[]>>): string {
  const app = (which: Contender) => (runs[which] ?? []).map((r) => r.probes[0]?.appUsPerCall ?? NaN);
  const [plain, edge] = [app('plain'), app('edge')];
  const pairs = edge.map((e, i) => e / (plain[i] ?? NaN)).filter(Number.isFinite);
  const list = (xs: number[]) => xs.map((x) => fmt(x, 0)).join(', ');
  return (
    `${mode.padEnd(18)}: app µs/call at ${fixedRate}/s over alternating runs: plain [${list(plain)}] median ${fmt(median(plain), 0)}; ` +
    `edge [${list(edge)}] median ${fmt(median(edge), 0)}; edge/plain of the medians ${fmt(median(edge) / median(plain), 2)}, ` +
    `of each pair [${pairs.map((r) => fmt(r, 2)).join(', ')}] (median ${fmt(median(pairs), 2)})`
  );
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
    console.log(
      `\n${mode} calls (${mode === 'connected' ? 'PBX → B2BUA → Telnyx SIPp answers, PBX hangs up' : 'edge: 480 no_permission; plain: 480 to every INVITE; forward: plain B2BUA, Telnyx SIPp answers 480'})`,
    );
    const result: Partial<Record<Contender, Ramp>> = {};
    const runs: Partial<Record<Contender, Ramp[]>> = {};
    // For a connected call the forward baseline is the plain one. A contender named more than once
    // (--order plain,edge,plain,edge) runs that often, alternating; the summary then also gives medians.
    for (const which of order) {
      if (mode === 'connected' && which === 'forward') continue;
      result[which] = await ramp(which, mode);
      (runs[which] ??= []).push(result[which]);
    }
    if (fixedRate > 0 && (runs.edge?.length ?? 0) > 1) summary.push(medians(mode, runs));
    const edge = result.edge;
    for (const base of ['plain', 'forward'] as const) {
      const baseline = result[base];
      if (baseline && edge) summary.push(compare(mode, base, baseline, edge));
    }
  }
  console.log(`\nsummary (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  for (const s of summary) console.log(`  ${s}`);
} finally {
  await state.close();
  await infra.stop();
}
