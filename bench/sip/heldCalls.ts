// bench/sip/heldCalls.ts: memory of the edge per held call. 1,000 concurrent connected calls on
// one business number (the 1,001st must get 486 concurrency_limit), then all hung up; five times.
// The edge runs in a child process with --expose-gc, so after a full GC its heapUsed is what the
// live calls keep. Prints figures; asserts nothing.
//
//   npx tsx bench/sip/heldCalls.ts [--calls 1000] [--cycles 5] [--fill-rate 250] [--hold 15000]
//                                  [--no-plain] [--snapshot DIR]
//
// Each cycle: SIPp as Telnyx (127.0.0.2) answers and waits for the BYE; SIPp as the PBX
// (127.0.0.1) places --calls calls at --fill-rate calls/s (-l --calls), one distinct user each
// (one active call per user is enforced), with a permanent permission, and hangs each up after
// --hold ms. Once the edge holds them all: a full GC and its memory, Redis's active leases,
// and one more call to another permitted user, which must be refused 486 concurrency_limit
// (maxConcurrentCalls = --calls). Then every call hangs up; after a full GC again, memory must
// be back at the baseline and Redis must show 0 active calls and 0 in-flight reservations.
// Then (unless --no-plain) one cycle with the plain drachtio-srf B2BUA (bench/sip/plainB2bua.ts):
// what drachtio-srf's two dialogs per call keep, the floor under the edge's figure. With
// --snapshot DIR, heap snapshots of the edge idle and full in cycle 1 (DIR/edge-base.heapsnapshot,
// DIR/edge-full.heapsnapshot) and the biggest growth by constructor, per call.
import {
  addrs, edgeConfig, flag, fmt, freeSipPort, grantPermanent, numArg, runSipp, sleep, startApp, startInfra, stateClient, strArg, users,
  writeUsersCsv, BUSINESS, type AppProcess,
} from './lib.js';
import { diffHeaps } from './heapDiff.js';
import { numberKeys } from '../../src/state/keys.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = numArg('calls', 1000);
const cycles = numArg('cycles', 5);
const fillRate = numArg('fill-rate', 250);
const holdMs = numArg('hold', 15_000);
const comparePlain = !flag('no-plain');
const snapshotDir = strArg('snapshot', '');

const infra = await startInfra();
const state = await stateClient(infra);
const telnyxPort = await freeSipPort(addrs.telnyx);
const pbxPort = await freeSipPort(addrs.pbx);
const expectReject = fileURLToPath(new URL('../../test/e2e/scenarios/pbx_call_expect_reject.xml', import.meta.url));

const held = users('447911', target);
const extraUser = users('447919', 1)[0] as string;
await grantPermanent(state, [...held, extraUser]);
const csv = writeUsersCsv(infra.tmp, 'held.csv', held);
const keys = numberKeys(BUSINESS);

function vmRssKb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return NaN;
  }
}

let app: AppProcess = await startApp('edge', {
  infra,
  telnyxPort,
  nodeFlags: ['--expose-gc'],
  edge: edgeConfig(infra, telnyxPort, {
    maxConcurrentCalls: target,
    connectedCallsPer24h: { perNumber: null, perUser: null },
    callAttemptsPer24h: null,
  }),
});

const redisActive = async () => ({
  active: await state.redis.zcard(keys.active),
  inflight: await state.redis.zcard(keys.inflight),
});

async function fill(n: number, hold: number, rate: number) {
  const uas = runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls: n, timeoutSec: Math.ceil(hold / 1000) + 120 });
  await uas.ready;
  const uac = runSipp({
    scenario: 'uac_call.xml', local: addrs.pbx, port: pbxPort, remote: infra.drachtio.sipHostPort,
    calls: n, rate, limit: n, inf: csv, vars: { hold }, timeoutSec: Math.ceil(hold / 1000) + 90,
  });
  return { uas, uac };
}

/** The same code paths once (JIT, module caches, drachtio-srf's pools), not measured. */
async function warmUp() {
  const { uas, uac } = await fill(Math.min(200, target), 100, 100);
  await uac.done;
  await uas.done;
  await app.idle(10_000);
}

/** Places --calls calls and resolves once the app holds them all (or the hold is nearly over). */
async function fillUntilHeld() {
  const t0 = Date.now();
  const calls = await fill(target, holdMs, fillRate);
  let s = await app.stats();
  while (s.active < target && Date.now() - t0 < holdMs - 2000) {
    await sleep(100);
    s = await app.stats();
  }
  return { ...calls, fillSec: (Date.now() - t0) / 1000 };
}

const KB = 1024;
const MB = 1024 * 1024;
console.log(
  `bench/sip/heldCalls  calls=${target} cycles=${cycles} fill-rate=${fillRate}/s hold=${holdMs}ms drachtio=${infra.drachtio.sipHostPort} node=${process.version}`,
);
try {
  await warmUp();
  await sleep(1000);
  if (snapshotDir) {
    mkdirSync(snapshotDir, { recursive: true });
    await app.snapshot(join(snapshotDir, 'edge-base.heapsnapshot'));
  }
  const base = await app.stats(true);
  if (!base.gcAvailable) throw new Error('the edge child has no global.gc (--expose-gc missing)');
  const baseDrachtio = vmRssKb(infra.drachtioPid);
  console.log(
    `baseline (after warm-up, full GC): heapUsed ${fmt(base.heapUsed / MB, 2)} MB  external ${fmt(base.external / MB, 2)} MB  rss ${fmt(base.rss / MB, 1)} MB  drachtio rss ${fmt(baseDrachtio / KB, 1)} MB`,
  );
  const perCall: number[] = [];
  const afterDrift: number[] = [];
  const rows: string[] = [];
  for (let c = 1; c <= cycles; c++) {
    const { uas, uac, fillSec } = await fillUntilHeld();
    if (snapshotDir && c === 1) await app.snapshot(join(snapshotDir, 'edge-full.heapsnapshot'));
    const full = await app.stats(true);
    const redisFull = await redisActive();
    const drachtioFull = vmRssKb(infra.drachtioPid);
    const extra = runSipp({
      scenario: expectReject, local: addrs.pbx, remote: infra.drachtio.sipHostPort, calls: 1, timeoutSec: 15,
      vars: { code: 486, reason: 'concurrency_limit' }, extra: ['-s', extraUser],
    });
    const extraResult = await extra.done;
    const heldAtReject = (await app.stats()).active;
    const uacResult = await uac.done;
    const killer = setTimeout(() => uas.kill(), 10_000);
    const uasResult = await uas.done;
    clearTimeout(killer);
    const left = await app.idle(20_000);
    await sleep(500);
    const after = await app.stats(true);
    const redisAfter = await redisActive();
    const dHeap = full.heapUsed - base.heapUsed;
    const dExt = full.external - base.external;
    perCall.push(dHeap / full.active);
    afterDrift.push(after.heapUsed - base.heapUsed);
    rows.push(
      `  cycle ${c}: held ${full.active} (filled in ${fmt(fillSec, 1)} s), Redis active ${redisFull.active}; ` +
        `call ${target + 1}: ${extraResult.code === 0 ? '486 concurrency_limit' : `NOT refused as expected (sipp exit ${extraResult.code}) ${extraResult.errors.split('\n')[0] ?? ''}`} (edge held ${heldAtReject})\n` +
        `           full: heapUsed +${fmt(dHeap / MB, 2)} MB = ${fmt(dHeap / full.active / KB, 2)} KB/call, external +${fmt(dExt / full.active / KB, 2)} KB/call, ` +
        `rss +${fmt((full.rss - base.rss) / MB, 1)} MB, drachtio rss +${fmt((drachtioFull - baseDrachtio) / KB, 1)} MB (${fmt((drachtioFull - baseDrachtio) / full.active, 1)} KB/call)\n` +
        `           after hang-up: edge calls ${after.active}${left ? ` (${left} never ended)` : ''}, Redis active ${redisAfter.active}, in-flight ${redisAfter.inflight}; ` +
        `heapUsed ${after.heapUsed - base.heapUsed >= 0 ? '+' : ''}${fmt((after.heapUsed - base.heapUsed) / KB, 0)} KB vs baseline, rss ${fmt(after.rss / MB, 1)} MB; ` +
        `PBX sipp ok ${uacResult.stats?.successful ?? '?'}/${target} failed ${uacResult.stats?.failed ?? '?'}, Telnyx sipp ok ${uasResult.stats?.successful ?? '?'}`,
    );
    console.log(rows[rows.length - 1]);
  }
  const mean = perCall.reduce((a, b) => a + b, 0) / perCall.length;
  const maxPer = Math.max(...perCall);
  const last = afterDrift[afterDrift.length - 1] ?? NaN;
  console.log(`\nsummary`);
  console.log(`  heap per held call (full GC, ${target} calls): mean ${fmt(mean / KB, 2)} KB, max ${fmt(maxPer / KB, 2)} KB over ${cycles} cycles  (goal ≤ 10 KB: ${maxPer <= 10 * KB ? 'met' : 'NOT met'})`);
  console.log(`  heapUsed after each drain vs baseline: ${afterDrift.map((d) => `${d >= 0 ? '+' : ''}${fmt(d / KB, 0)} KB`).join(', ')}  (back to baseline: ${Math.abs(last) < 1 * MB ? 'yes, within 1 MB' : 'NO'})`);
  if (snapshotDir) {
    console.log(`\nedge heap snapshots (cycle 1) in ${snapshotDir}`);
    for (const l of diffHeaps(join(snapshotDir, 'edge-base.heapsnapshot'), join(snapshotDir, 'edge-full.heapsnapshot'), target, 30)) console.log(l);
  }

  if (comparePlain) {
    // The floor: a plain drachtio-srf B2BUA holding the same calls (two dialogs each, nothing else).
    await app.stop();
    app = await startApp('plain', { infra, telnyxPort, nodeFlags: ['--expose-gc'] });
    await warmUp();
    await sleep(1000);
    const pBase = await app.stats(true);
    const { uas, uac } = await fillUntilHeld();
    const pFull = await app.stats(true);
    await uac.done;
    const killer = setTimeout(() => uas.kill(), 10_000);
    await uas.done;
    clearTimeout(killer);
    await app.idle(20_000);
    const pAfter = await app.stats(true);
    const pPer = (pFull.heapUsed - pBase.heapUsed) / pFull.active;
    console.log(
      `  plain drachtio-srf B2BUA, same calls: held ${pFull.active}, heap per held call ${fmt(pPer / KB, 2)} KB; after hang-up ${fmt((pAfter.heapUsed - pBase.heapUsed) / KB, 0)} KB vs its baseline` +
        // Negative when the edge keeps less than drachtio-srf alone (it drops the setup messages of an established dialog).
        `  →  edge − plain ≈ ${fmt((mean - pPer) / KB, 2)} KB per call`,
    );
  }
} finally {
  await app.stop();
  await state.close();
  await infra.stop();
}
