// bench/sip/media.ts: what media anchoring (media.anchor, rtpengine) costs, anchored next to
// unanchored in the same run, on the same drachtio-server and Redis. Prints figures; asserts nothing.
//
//   npx tsx bench/sip/media.ts [--step 5] [--start 50] [--factor 1.4] [--max 2000] [--bisect 3]
//                              [--held 200] [--hold 15000] [--media-calls 20] [--media-seconds 10]
//                              [--only rate,held,media]
//
// rate:  the highest rate of connected calls (100 ms each) with zero failures, as bench/sip/callRate.ts
//        ramps it, unanchored then anchored; CPU per call of the edge, drachtio-server, Redis and
//        rtpengine (ng offer, answer, query, delete; no RTP).
// held:  --held concurrent calls held, heap per call of the edge (full GC) and rtpengine's RSS per
//        call, unanchored then anchored (the no-media watch polls each anchored call meanwhile).
// media: --media-calls calls that stream PCMU both ways (SIPp rtp_stream, 50 packets/s each way)
//        for --media-seconds, anchored: rtpengine's CPU per call and per relayed packet, what it
//        counted, and the edge's CPU meanwhile (its query per call every 2 s). Unanchored, the RTP
//        never reaches this box's relay at all, so there is no baseline figure to print.
// rtpengine runs in user space (no kernel module), as Debian's package runs without one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addrs, edgeConfig, fmt, freeSipPort, grantPermanent, numArg, procCpuUs, redisCpuUs, runSipp, scenarioDir, sleep, startApp, startInfra,
  stateClient, strArg, users, writeUsersCsv, type AppProcess,
} from './lib.js';
import { pcmuWav, startRtpengine, type RtpengineServer } from '../../test/helpers/rtpengine.js';

const stepSec = numArg('step', 5);
const startRate = numArg('start', 50);
const factor = numArg('factor', 1.4);
const maxRate = numArg('max', 2000);
const maxBisect = numArg('bisect', 3);
const heldCalls = numArg('held', 200);
const holdMs = numArg('hold', 15_000);
const mediaCalls = numArg('media-calls', 20);
const mediaSeconds = numArg('media-seconds', 10);
const only = new Set(strArg('only', 'rate,held,media').split(','));

type Mode = 'unanchored' | 'anchored';

const infra = await startInfra();
// Four ports a call (RTP and RTCP on each side): a range for a few thousand calls, below the
// kernel's ephemeral ports.
const rtp: RtpengineServer = await startRtpengine({ portMin: 20000, portMax: 29999 });
const state = await stateClient(infra);
const telnyxPort = await freeSipPort(addrs.telnyx);
const pbxPort = await freeSipPort(addrs.pbx);
let userSeq = 0;

const rtpCpu = () => procCpuUs(rtp.pid());
function rssKb(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return NaN;
  }
}

function launch(mode: Mode, nodeFlags: string[] = []): Promise<AppProcess> {
  const config = edgeConfig(infra, telnyxPort, { maxConcurrentCalls: 100_000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null });
  // noMediaSeconds long enough that calls without RTP are not ended; the watch still polls every 2 s.
  if (mode === 'anchored') config.media = { anchor: { rtpengine: [rtp.ng], noMediaSeconds: 3600 } };
  return startApp('edge', { infra, telnyxPort, nodeFlags, edge: config });
}

async function freshUsers(n: number): Promise<string> {
  const list = users('447911', n, userSeq);
  userSeq += n;
  await grantPermanent(state, list);
  return writeUsersCsv(infra.tmp, `users-${userSeq}.csv`, list);
}

interface Probe {
  rate: number;
  calls: number;
  pass: boolean;
  note: string;
  setupMs: number;
  us: { app: number; drachtio: number; redis: number; rtpengine: number };
  leftOnRtpengine: number;
}

async function probe(app: AppProcess, rate: number, seconds: number): Promise<Probe> {
  const calls = Math.max(1, Math.round(rate * seconds));
  const csv = await freshUsers(calls);
  const uas = runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls, timeoutSec: seconds + 40 });
  await uas.ready;
  const cpu = async () => ({ app: (await app.stats()).cpuUserUs, appSys: (await app.stats()).cpuSystemUs, drachtio: procCpuUs(infra.drachtioPid), redis: await redisCpuUs(() => state.redis.info('cpu')), rtpengine: rtpCpu() });
  const c0 = await cpu();
  const uac = runSipp({
    scenario: 'uac_call.xml', local: addrs.pbx, port: pbxPort, remote: infra.drachtio.sipHostPort,
    calls, rate, limit: 20_000, inf: csv, vars: { hold: 100 }, recvTimeoutMs: 2000, timeoutSec: seconds + 30,
  });
  const r = await uac.done;
  const t = setTimeout(() => uas.kill(), 3000);
  const u = await uas.done;
  clearTimeout(t);
  await app.idle(5000);
  const c1 = await cpu();
  const s = r.stats;
  const pass = r.code === 0 && (s?.failed ?? 1) === 0 && s?.successful === calls && !(u.stats && u.stats.failed > 0);
  const notes = [];
  if (!pass) notes.push(`sipp exit ${r.code}, ok ${s?.successful ?? '?'}/${calls}, failed ${s?.failed ?? '?'}${s?.failedTimeoutOnRecv ? `, ${s.failedTimeoutOnRecv} slower than 2 s` : ''}`);
  return {
    rate,
    calls,
    pass,
    note: notes.join(', '),
    setupMs: s?.responseTime1Ms ?? NaN,
    us: {
      app: (c1.app + c1.appSys - c0.app - c0.appSys) / calls,
      drachtio: (c1.drachtio - c0.drachtio) / calls,
      redis: (c1.redis - c0.redis) / calls,
      rtpengine: (c1.rtpengine - c0.rtpengine) / calls,
    },
    leftOnRtpengine: (await rtp.calls()).length,
  };
}

const probeLine = (mode: Mode, p: Probe) =>
  `  ${mode.padEnd(10)} ${String(p.rate).padStart(5)}/s  calls ${String(p.calls).padStart(5)}  setup ${fmt(p.setupMs, 0).padStart(4)} ms` +
  `  cpu/call µs: edge ${fmt(p.us.app, 0).padStart(4)} drachtio ${fmt(p.us.drachtio, 0).padStart(4)} redis ${fmt(p.us.redis, 0).padStart(3)} rtpengine ${fmt(p.us.rtpengine, 0).padStart(4)}` +
  `  calls left on rtpengine ${p.leftOnRtpengine}  ${p.pass ? 'PASS' : `FAIL (${p.note})`}`;

async function ramp(mode: Mode): Promise<{ best: number; bestProbe?: Probe; firstFail: number }> {
  const app = await launch(mode);
  await probe(app, 50, 2); // warm-up, not counted
  let best = 0;
  let bestProbe: Probe | undefined;
  let firstFail = Infinity;
  const run = async (rate: number) => {
    const p = await probe(app, rate, stepSec);
    console.log(probeLine(mode, p));
    if (p.pass && rate > best) [best, bestProbe] = [rate, p];
    if (!p.pass) {
      firstFail = Math.min(firstFail, rate);
      await sleep(5000); // let drachtio-server and the edge work off the backlog
    }
    await sleep(500);
    return p.pass;
  };
  for (let rate = startRate; rate <= maxRate; rate = Math.round(rate * factor)) if (!(await run(rate))) break;
  for (let i = 0; i < maxBisect && Number.isFinite(firstFail) && (firstFail - best) / Math.max(best, 1) > 0.05; i++) await run(Math.round((best + firstFail) / 2));
  await app.stop();
  return { best, bestProbe, firstFail };
}

async function held(mode: Mode): Promise<string> {
  // A fresh rtpengine: after the rate ramps its allocator has room to spare, and RSS would not grow.
  await rtp.kill();
  await rtp.start();
  const app = await launch(mode, ['--expose-gc']);
  // warm-up
  await probe(app, 50, 2);
  await sleep(1000);
  const base = await app.stats(true);
  const rtpBase = rssKb(rtp.pid());
  const csv = await freshUsers(heldCalls);
  const uas = runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls: heldCalls, timeoutSec: holdMs / 1000 + 120 });
  await uas.ready;
  const uac = runSipp({
    scenario: 'uac_call.xml', local: addrs.pbx, port: pbxPort, remote: infra.drachtio.sipHostPort,
    calls: heldCalls, rate: 100, limit: heldCalls, inf: csv, vars: { hold: holdMs }, timeoutSec: holdMs / 1000 + 90,
  });
  const t0 = Date.now();
  let s = await app.stats();
  while (s.active < heldCalls && Date.now() - t0 < holdMs - 3000) {
    await sleep(200);
    s = await app.stats();
  }
  const cpu0 = { edge: s.cpuUserUs + s.cpuSystemUs, rtpengine: rtpCpu(), at: Date.now() };
  await sleep(Math.max(0, Math.min(5000, holdMs - (Date.now() - t0) - 3000)));
  const full = await app.stats(true);
  const cpu1 = { edge: full.cpuUserUs + full.cpuSystemUs, rtpengine: rtpCpu(), at: Date.now() };
  const rtpFull = rssKb(rtp.pid());
  const onRtpengine = (await rtp.calls()).length;
  await uac.done;
  const t = setTimeout(() => uas.kill(), 10_000);
  await uas.done;
  clearTimeout(t);
  await app.idle(20_000);
  const left = (await rtp.calls()).length;
  await app.stop();
  const idleSec = (cpu1.at - cpu0.at) / 1000;
  return (
    `  ${mode.padEnd(10)} held ${full.active}: edge heap ${fmt((full.heapUsed - base.heapUsed) / full.active / 1024, 2)} KB/call, ` +
    `rtpengine rss ${fmt((rtpFull - rtpBase) / full.active, 1)} KB/call (${onRtpengine} calls on it); ` +
    `while held: edge ${fmt((cpu1.edge - cpu0.edge) / idleSec / 1e4, 2)} % of a core, rtpengine ${fmt((cpu1.rtpengine - cpu0.rtpengine) / idleSec / 1e4, 2)} %; ` +
    `after hang-up: ${left} calls left on rtpengine`
  );
}

/** Bench scenarios with RTP: rtp_stream right after the ACK on both sides. */
function mediaScenarios(): { uac: string; uas: string } {
  const wav = join(infra.tmp, 'tone.wav');
  writeFileSync(wav, pcmuWav(2));
  const stream = `  <nop><action><exec rtp_stream="${wav},-1,0" /></action></nop>\n`;
  const uac = readFileSync(join(scenarioDir, 'uac_call.xml'), 'utf8').replace('  <pause variable="hold" />', `${stream}  <pause variable="hold" />`);
  const uas = readFileSync(join(scenarioDir, 'uas_answer.xml'), 'utf8').replace('  <recv request="ACK" crlf="true" />\n', `  <recv request="ACK" crlf="true" />\n${stream}`);
  const paths = { uac: join(infra.tmp, 'uac_call_media.xml'), uas: join(infra.tmp, 'uas_answer_media.xml') };
  writeFileSync(paths.uac, uac);
  writeFileSync(paths.uas, uas);
  return paths;
}

async function media(): Promise<string> {
  const app = await launch('anchored');
  const sc = mediaScenarios();
  const csv = await freshUsers(mediaCalls);
  const mediaPort = async (address: string) => ['-mi', address, '-mp', String(await freeSipPort(address))];
  const hold = mediaSeconds * 1000 + 3000;
  const uas = runSipp({ scenario: sc.uas, local: addrs.telnyx, port: telnyxPort, calls: mediaCalls, timeoutSec: hold / 1000 + 60, extra: await mediaPort(addrs.telnyx) });
  await uas.ready;
  const uac = runSipp({
    scenario: sc.uac, local: addrs.pbx, port: pbxPort, remote: infra.drachtio.sipHostPort,
    calls: mediaCalls, rate: 50, limit: mediaCalls, inf: csv, vars: { hold }, timeoutSec: hold / 1000 + 60, extra: await mediaPort(addrs.pbx),
  });
  const t0 = Date.now();
  while ((await app.stats()).active < mediaCalls && Date.now() - t0 < 10_000) await sleep(100);
  await sleep(1000); // every stream started
  const s0 = await app.stats();
  const c0 = { rtpengine: rtpCpu(), edge: s0.cpuUserUs + s0.cpuSystemUs, at: Date.now(), packets: await rtp.relayedPackets() };
  await sleep(mediaSeconds * 1000);
  const s1 = await app.stats();
  const c1 = { rtpengine: rtpCpu(), edge: s1.cpuUserUs + s1.cpuSystemUs, at: Date.now(), packets: await rtp.relayedPackets() };
  const r = await uac.done;
  const t = setTimeout(() => uas.kill(), 10_000);
  await uas.done;
  clearTimeout(t);
  await app.idle(10_000);
  await app.stop();
  const sec = (c1.at - c0.at) / 1000;
  // What rtpengine says it relayed in the window (each call sends 50 packets/s each way).
  const packets = c1.packets - c0.packets;
  const rtpUs = c1.rtpengine - c0.rtpengine;
  return (
    `  anchored   ${mediaCalls} calls streaming both ways for ${fmt(sec, 1)} s (PBX sipp exit ${r.code}, ok ${r.stats?.successful ?? '?'}/${mediaCalls}): ` +
    `rtpengine ${fmt(rtpUs / sec / 1e4, 1)} % of a core = ${fmt(rtpUs / sec / 1e4 / mediaCalls, 2)} % per call, ${fmt(rtpUs / packets, 1)} µs per relayed packet (${fmt(packets, 0)} relayed, ${fmt(packets / sec / mediaCalls, 0)}/s per call); ` +
    `edge ${fmt((c1.edge - c0.edge) / sec / 1e4, 2)} % of a core meanwhile (no-media watch); ${(await rtp.calls()).length} calls left on rtpengine`
  );
}

console.log(`bench/sip/media  step=${stepSec}s held=${heldCalls} hold=${holdMs}ms media-calls=${mediaCalls} media-seconds=${mediaSeconds} rtpengine=${rtp.ng} (user space) node=${process.version}`);
const summary: string[] = [];
try {
  if (only.has('rate')) {
    console.log('\ncall rate (connected calls, 100 ms each, no RTP)');
    const off = await ramp('unanchored');
    const on = await ramp('anchored');
    const cpu = (p?: Probe) => (p ? `edge ${fmt(p.us.app, 0)} + drachtio ${fmt(p.us.drachtio, 0)} + redis ${fmt(p.us.redis, 0)} + rtpengine ${fmt(p.us.rtpengine, 0)} µs/call` : 'n/a');
    summary.push(
      `rate: unanchored ${off.best} CPS (first failure ${off.firstFail}), anchored ${on.best} CPS (first failure ${on.firstFail}) → anchored/unanchored ${fmt(on.best / off.best, 2)}; ` +
        `CPU at the best rate: unanchored ${cpu(off.bestProbe)}; anchored ${cpu(on.bestProbe)}`,
    );
  }
  if (only.has('held')) {
    console.log(`\nheld calls (${heldCalls} at once)`);
    for (const mode of ['unanchored', 'anchored'] as Mode[]) {
      const line = await held(mode);
      console.log(line);
      summary.push(`held: ${line.trim()}`);
    }
  }
  if (only.has('media')) {
    console.log(`\nmedia (${mediaCalls} calls with RTP both ways)`);
    const line = await media();
    console.log(line);
    summary.push(`media: ${line.trim()}`);
  }
  console.log('\nsummary');
  for (const s of summary) console.log(`  ${s}`);
} finally {
  await state.close();
  await rtp.stop();
  await infra.stop();
}
