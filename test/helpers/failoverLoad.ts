// Outbound admissions at a steady rate against a real Sentinel or Cluster while its master is
// killed with `kill -9`: the same admission the SIP handler calls (src/sip/admission.ts), each
// admitted call then connected and ended through a DurableQueue as a CallSession does it, plus a
// permission grant beside each call. Afterwards it compares Redis with the truth: no lease, no
// user_busy lock, no reservation left (no phantom admission), and which acknowledged writes the
// crash lost. Used by test/state/failover.test.ts and bench/failover/run.ts.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { CallState } from '../../src/state/calls.js';
import { PermissionState } from '../../src/state/permissions.js';
import { createRedis, redisReady, type RedisClient } from '../../src/state/redis.js';
import { numberKeys } from '../../src/state/keys.js';
import { createMetrics } from '../../src/metrics.js';
import { createLogger } from '../../src/log.js';
import { OutboundAdmissions } from '../../src/sip/admission.js';
import { NEVER_CANCELED } from './state.js';
import { DurableQueue } from '../../src/sip/durable.js';
import { BUSINESS, testConfig } from './config.js';
import { startCluster, startSentinel } from './redisTopology.js';
import { StateStore } from '../../src/state/store.js';

export interface FailoverLoadOptions {
  topology: 'sentinel' | 'cluster';
  /** Admissions per second. */
  rate: number;
  /** Load before the kill, and in all. */
  killAfterMs: number;
  totalMs: number;
  /** How long an admitted call rings before it connects, and then is up. */
  ringMs: number;
  holdMs: number;
  failoverWaitMs: number;
  waitReplicas?: number;
  /** Besides the calls: this many writers granting permissions back to back until the kill (the widest window a crash can lose). */
  grantWriters?: number;
}

export interface FailoverLoadResult {
  topology: string;
  rate: number;
  calls: number;
  admitted: number;
  /** Refused by anything (state_unavailable past the bound included), by reason. */
  refused: Record<string, number>;
  /** kill -9 → the master's replacement named by Sentinel / the cluster. */
  failoverMs: number;
  /** Calls that waited for Redis (started after the kill, slower than any before it), and their admission time, ms. */
  waited: { count: number; p50: number; p99: number; max: number };
  /** Admission time of the calls before the kill, ms (the baseline). */
  unwaited: { p50: number; p99: number; max: number };
  /** After every call ended and every queue drained: what Redis still holds, and what it should (0). */
  leftover: { active: number; activeUsers: number; inflight: number };
  /** Admissions released by id because their answer never reached the edge. */
  releasedById: number;
  /** Acknowledged writes missing after the failover: the crash lost them. */
  lost: { admissions: number; connected: number; grants: number };
  acknowledged: { connected: number; grants: number };
  metrics: { waitsAdmitted: number; waitsRefused: number; redisErrors: number };
  /** Sentinel only, when its failover took longer than failoverWaitMs: the sentinels' own account of it. */
  sentinelEvents?: string;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const userOf = (i: number) => `+4479${String(10_000_000 + i)}`;
const grantUserOf = (i: number) => `+4478${String(10_000_000 + i)}`;

export async function runFailoverLoad(o: FailoverLoadOptions): Promise<FailoverLoadResult> {
  const topo = o.topology === 'sentinel' ? await startSentinel() : await startCluster();
  const redisCfg = 'sentinels' in topo ? { sentinels: topo.sentinels, name: topo.name } : { cluster: topo.nodes };
  const config = testConfig({
    redis: { ...redisCfg, failoverWaitMs: o.failoverWaitMs, waitReplicas: o.waitReplicas ?? 0 },
    whatsapp: { maxConcurrentCalls: 10_000, callAttemptsPer24h: null, connectedCallsPer24h: { perNumber: null, perUser: null } },
  });
  // The admission's own lines, read back: which ones waited, which were released by id.
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger('info', sink);
  const metrics = createMetrics();
  let redis: RedisClient | undefined;
  let store: StateStore | undefined;
  try {
    redis = createRedis(config.redis);
    redis.on('error', () => metrics.redisErrorsTotal.inc());
    await redisReady(redis, 10_000);
    store = new StateStore(redis, () => config, Date.now);
    const state = new CallState(store);
    const permissions = new PermissionState(store);
    const admissions = new OutboundAdmissions({ calls: state, failoverWaitMs: () => config.redis.failoverWaitMs, metrics, logger });
    const total = Math.round((o.rate * o.totalMs) / 1000);
    for (let i = 0; i < total; i++) await permissions.grant(BUSINESS, userOf(i), 'permanent', 'test');

    const k = numberKeys(BUSINESS);
    const oldMaster = 'sentinels' in topo ? await topo.masterPort() : await topo.masterFor(k.active);
    const admitMs = new Map<string, number>();
    const startedAt = new Map<string, number>();
    const refused: Record<string, number> = {};
    const admittedIds: string[] = [];
    let connectedAcks = 0;
    const grantAcks: string[] = [];
    const work: Promise<unknown>[] = [];

    const oneCall = async (i: number) => {
      const callId = randomUUID();
      const t0 = performance.now();
      const user = userOf(i);
      const a = await admissions.admit({ business: BUSINESS, user, callId, regionBlocked: false }, NEVER_CANCELED);
      admitMs.set(callId, performance.now() - t0);
      startedAt.set(callId, t0);
      if (!a.admitted) {
        const reason = 'canceled' in a ? 'canceled' : a.refusal.reason;
        refused[reason] = (refused[reason] ?? 0) + 1;
        return;
      }
      admittedIds.push(callId);
      const queue = new DurableQueue(logger, () => metrics.redisErrorsTotal.inc());
      await sleep(o.ringMs);
      const c = await queue.run('settle connected', () => state.settle(BUSINESS, user, callId, 'connected'));
      // Answered (a retry of one applied unseen answers `duplicate`): Redis acknowledged it.
      if (c && c.status !== 'unknown') connectedAcks++;
      await sleep(o.holdMs);
      await queue.run('settle ended', () => state.settle(BUSINESS, user, callId, 'ended'));
    };
    const oneGrant = async (i: number) => {
      const user = grantUserOf(i);
      const queue = new DurableQueue(logger, () => {});
      if (await queue.run('grant', () => permissions.grant(BUSINESS, user, 'permanent', 'load'))) grantAcks.push(user);
    };

    // Back-to-back grants from `grantWriters` loops until the master dies: each acknowledged one
    // must still be there after the failover.
    let writersStop = false;
    let writerSeq = 0;
    const writers = Array.from({ length: o.grantWriters ?? 0 }, async () => {
      while (!writersStop) {
        const user = `+4477${String(10_000_000 + writerSeq++)}`;
        try {
          await permissions.grant(BUSINESS, user, 'permanent', 'load');
          grantAcks.push(user);
        } catch {
          await sleep(20); // Redis away: the loop is over once the kill is seen
        }
      }
    });

    const start = performance.now();
    let killedAt = 0;
    let killedAtPerf = Infinity;
    let promotedAt: Promise<number> | undefined;
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / o.rate;
      const ahead = due - performance.now();
      if (ahead > 0) await sleep(ahead);
      if (!killedAt && performance.now() - start >= o.killAfterMs) {
        killedAtPerf = performance.now();
        killedAt = 'sentinels' in topo ? await topo.killMaster() : await topo.killNode(oldMaster);
        promotedAt = 'sentinels' in topo ? topo.promoted(oldMaster) : topo.promoted(k.active, oldMaster);
        writersStop = true;
      }
      work.push(oneCall(i), oneGrant(i));
    }
    // Every call ends within the bound plus its ring and hold once Redis is back; a run that does
    // not has found a hang: say where, and still stop every process (finally).
    let hung: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...work, ...writers]),
      new Promise((_, reject) => {
        hung = setTimeout(() => reject(new Error(`calls still running 30 s after the load: client ${redis!.status}, admitted ${admittedIds.length}, refused ${JSON.stringify(refused)}`)), 30_000);
      }),
    ]).finally(() => clearTimeout(hung));
    const failoverMs = promotedAt ? (await promotedAt) - killedAt : 0;
    const sentinelEvents = 'events' in topo && failoverMs >= o.failoverWaitMs ? topo.events() : undefined;
    // Releases by id run in the background (their own durable queues): wait for them to land.
    const deadline = Date.now() + 20_000;
    const leftover = async () => ({
      active: await redis!.zcard(k.active),
      activeUsers: await redis!.hlen(k.activeUser),
      inflight: await redis!.zcard(k.inflight),
    });
    let left = await leftover();
    while ((left.active || left.activeUsers || left.inflight) && Date.now() < deadline) {
      await sleep(200);
      left = await leftover();
    }

    // Waiting calls: started after the kill and slower than any call before it. That includes the
    // ones ioredis's Cluster client retried by itself (MOVED, CLUSTERDOWN, a closed connection)
    // before our wait saw an error.
    const before = [...admitMs].filter(([id]) => startedAt.get(id)! < killedAtPerf).map(([, ms]) => ms).sort((a, b) => a - b);
    const normalMax = before[before.length - 1] ?? 0;
    const waitedMs = [...admitMs].filter(([id, ms]) => startedAt.get(id)! >= killedAtPerf && ms > normalMax).map(([, ms]) => ms).sort((a, b) => a - b);
    const attempts = await redis.zcard(k.attempts);
    const connected = await redis.zcard(k.connected);
    let grantsMissing = 0;
    for (const u of grantAcks) if ((await redis.hget(k.perm(u), 'kind')) !== 'permanent') grantsMissing++;
    const counter = async (name: string, labels: Record<string, string> = {}) =>
      (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([l, x]) => v.labels[l] === x))?.value ?? 0;

    return {
      topology: o.topology,
      rate: o.rate,
      calls: total,
      admitted: admittedIds.length,
      refused,
      failoverMs,
      waited: { count: waitedMs.length, p50: pct(waitedMs, 50), p99: pct(waitedMs, 99), max: waitedMs[waitedMs.length - 1] ?? 0 },
      unwaited: { p50: pct(before, 50), p99: pct(before, 99), max: normalMax },
      leftover: left,
      releasedById: lines.filter((l) => l.msg === 'released an admission whose answer never reached the edge').length,
      lost: { admissions: admittedIds.length - attempts, connected: connectedAcks - connected, grants: grantsMissing },
      acknowledged: { connected: connectedAcks, grants: grantAcks.length },
      metrics: {
        waitsAdmitted: await counter('wa_edge_admission_waits_total', { result: 'admitted' }),
        waitsRefused: await counter('wa_edge_admission_waits_total', { result: 'refused' }),
        redisErrors: await counter('wa_edge_redis_errors_total'),
      },
      ...(sentinelEvents ? { sentinelEvents } : {}),
    };
  } finally {
    store?.disconnect();
    redis?.disconnect();
    await topo.stop();
  }
}
