// The two-host recipe of docs/scaling.md, on loopback (issue 26 item 6): two "hosts", each a
// drachtio-server (127.0.0.3 and 127.0.0.8) with an edge in its own process, one shared Redis
// behind Sentinel as the recipe has it (a master, a replica, three sentinels; the edges find the
// master through the sentinels; Sentinel failover itself is the subject of its own tests), the PBX
// (SIPp) with both addresses, Telnyx (SIPp) answering. Under 20 calls/s, host B's edge is killed with
// SIGKILL. What the operator gets, measured:
//
// * calls lost: only those in progress on host B (their BYE finds no edge);
// * while the PBX still chooses host B, its new calls there are refused by drachtio-server (the PBX
//   retries them elsewhere); once it stops choosing B, 0 calls are refused;
// * host B's leases stop counting by themselves within one lease period (whatsapp.leaseSeconds,
//   shortened to 10 s here), with nobody to settle them.
//
// The edges run as separate processes (bench/sip/edgeChild.ts, compiled as in production) so that
// SIGKILL kills exactly what a crash kills.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDrachtio, addrs, freeSipPort, startDrachtio, type DrachtioServer } from '../helpers/drachtio.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BUSINESS } from '../helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';
import { grantPermanent, runSipp, startApp, stateClient, users, writeUsersCsv, type AppProcess, type Infra, type SippRunResult } from '../../bench/sip/lib.js';
import type { StateFixture } from '../helpers/state.js';
import { until } from '../helpers/until.js';
import { freePort } from '../helpers/ports.js';

const HOST_B = '127.0.0.8';
const LEASE_SECONDS = 10;
const RATE_PER_HOST = 10; // 20 calls/s in all while both hosts take calls
const HOLD_MS = 4000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A replica and three sentinels in front of `master` (docs/scaling.md §2). Small on purpose: the
 * failover tests have their own topology helper; here Sentinel is only how the edges find Redis.
 */
async function sentinelsFor(master: RedisServer, dir: string) {
  const name = 'wa-edge';
  const procs: ChildProcess[] = [];
  const replicaPort = await freePort();
  procs.push(spawn('redis-server', ['--port', String(replicaPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--replicaof', '127.0.0.1', String(master.port)], { stdio: 'ignore' }));
  const sentinels: { host: string; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${i}.conf`);
    // No failover is wanted here: a master slow to answer PING for a second on a loaded box (the
    // edges' compile runs meanwhile) must not be demoted under the test's direct client (READONLY).
    writeFileSync(file, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`, `sentinel down-after-milliseconds ${name} 30000`, ''].join('\n'));
    procs.push(spawn('redis-sentinel', [file], { stdio: 'ignore' }));
    sentinels.push({ host: '127.0.0.1', port });
  }
  const ask = async (port: number, ...args: string[]) => {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.call(args[0]!, ...args.slice(1))) as string[];
    } catch {
      return undefined;
    } finally {
      c.disconnect();
    }
  };
  // Every sentinel knows the replica and the two other sentinels.
  await until(async () => {
    for (const s of sentinels) {
      const m = await ask(s.port, 'SENTINEL', 'master', name);
      const field = (f: string) => Number(m?.[m.indexOf(f) + 1]);
      if (!m || field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false;
    }
    return true;
  }, 20_000, 'three sentinels watching the master and its replica');
  return {
    redis: { sentinels, name },
    stop: () => Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGKILL')))))),
  };
}

describeWithDrachtio('two hosts, one service: an edge killed with SIGKILL under load (docs/scaling.md)', () => {
  let redis: RedisServer;
  let sentinel: Awaited<ReturnType<typeof sentinelsFor>> | undefined;
  let drachtio: DrachtioServer[] = [];
  const edges: AppProcess[] = [];
  let state: StateFixture;
  let telnyxPort: number;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'wa-edge-two-hosts-'));
    redis = await startRedis();
    sentinel = await sentinelsFor(redis, tmp);
    drachtio = [await startDrachtio({ sipAddress: addrs.edge, logLevel: 'error', sofiaLogLevel: 0 }), await startDrachtio({ sipAddress: HOST_B, logLevel: 'error', sofiaLogLevel: 0 })];
    telnyxPort = await freeSipPort(addrs.telnyx);
    const config = (d: DrachtioServer) => ({
      drachtio: { host: d.adminHost, port: d.adminPort, secret: d.secret },
      redis: sentinel!.redis,
      telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`] },
      trunks: [{ name: 'pbx', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS, calling: true, inbound: [] }],
      whatsapp: { leaseSeconds: LEASE_SECONDS, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null },
      sip: { digestSecret: 'two-hosts-share-this-digest-secret' },
      log: { level: 'warn' },
    });
    for (const d of drachtio) {
      const infra = { redis, drachtio: d } as unknown as Infra;
      edges.push(await startApp('edge', { infra, telnyxPort, edge: config(d) }));
    }
    state = await stateClient({ redis } as unknown as Infra);
  }, 240_000);

  afterAll(async () => {
    for (const e of edges) await e.stop().catch(() => {});
    await state?.close();
    for (const d of drachtio) await d.stop();
    await sentinel?.stop();
    await redis?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('loses only the calls in progress on the dead host, refuses none once the PBX stops choosing it, and its leases expire within one period', async () => {
    const hostA = drachtio[0]!.sipHostPort;
    const hostB = drachtio[1]!.sipHostPort;
    // Distinct users per call (one active call per user), each with a permission.
    const beforeKill = RATE_PER_HOST * 8; // host B's share until it dies: 8 s of calls
    const list = { a: users('447911', 300, 0), b: users('447911', beforeKill, 1000), b2: users('447911', 20, 2000), a2: users('447911', 100, 3000) };
    await grantPermanent(state, [...list.a, ...list.b, ...list.b2, ...list.a2]);
    const csv = (name: keyof typeof list) => writeUsersCsv(tmp, `${name}.csv`, list[name]);

    const telnyx = runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls: 100_000, timeoutSec: 120 });
    await telnyx.ready;
    const pbx = (remote: string, name: keyof typeof list, calls: number, recvTimeoutMs?: number) =>
      runSipp({ scenario: 'uac_call.xml', local: addrs.pbx, remote, calls, rate: RATE_PER_HOST, inf: csv(name), vars: { hold: HOLD_MS }, timeoutSec: 90, recvTimeoutMs });

    // The PBX spreads its calls over both hosts.
    const onA = pbx(hostA, 'a', 300);
    const onB = pbx(hostB, 'b', beforeKill, 6000);
    // The kill comes once host B's last call is up: what is lost is then only calls in progress.
    const keys = numberKeys(BUSINESS);
    const lastOnB = list.b[list.b.length - 1]!;
    const lastIsUp = async () => (await state.redis.hexists(keys.activeUser, lastOnB)) === 1 || (await state.redis.hexists(keys.activeUser, lastOnB.slice(1))) === 1;
    await until(lastIsUp, 30_000, "host B's last call up", () => edges[1]!.log());
    const active = keys.active;
    const inProgressOnB = (await edges[1]!.stats()).active;
    const leasesAtKill = await state.redis.zrange(active, 0, -1);
    process.kill(edges[1]!.pid, 'SIGKILL');
    const killedAt = Date.now();
    edges.pop(); // nothing left to stop
    // The leases of that moment still counting (score = expiry in the future): host A's end with
    // their calls (settled), host B's only by expiring.
    const counting = async () => {
      const scores = leasesAtKill.length ? await state.redis.zmscore(active, ...leasesAtKill) : [];
      const now = Date.now();
      return scores.filter((sc) => sc !== null && Number(sc) > now).length;
    };
    const leasesGone = (async () => {
      let left = await counting();
      while (left > 0 && Date.now() - killedAt < (LEASE_SECONDS + 20) * 1000) {
        await sleep(250);
        left = await counting();
      }
      return { left, afterMs: Date.now() - killedAt };
    })();

    // Before the PBX notices (Asterisk qualify, an OPTIONS timeout), it still sends some calls to B.
    const stillChoosingB = await pbx(hostB, 'b2', 20, 3000).done;
    // Then the PBX sends every call to A: 20 calls/s there.
    const onA2 = pbx(hostA, 'a2', 100);
    const [a, a2, b] = await Promise.all([onA.done, onA2.done, onB.done]);

    // Host B's leases: nobody renews or settles them; they stop counting by themselves.
    const { left: leasesLeft, afterMs: leasesGoneAfterMs } = await leasesGone;
    const stillCountingNow = await state.redis.zcount(active, `(${Date.now()}`, '+inf');
    telnyx.kill();
    await telnyx.done;

    const s = (r: SippRunResult) => `${r.stats?.successful ?? '?'} ok / ${r.stats?.failed ?? '?'} failed of ${r.stats?.created ?? '?'}`;
    console.log(
      [
        `[two hosts] host A before the kill and after: ${s(a)}; after the PBX moved to A: ${s(a2)}`,
        `[two hosts] host B until the kill: ${s(b)} (${inProgressOnB} in progress on B's edge at the kill; ${leasesAtKill.length} leases in Redis for both hosts then)`,
        `[two hosts] sent to dead host B before the PBX stopped choosing it: ${s(stillChoosingB)} (${stillChoosingB.errors.split('\n').find((l) => /SIP\/2\.0 \d{3}|timeout/i.test(l)) ?? 'timed out'})`,
        `[two hosts] leases of the kill's moment still counting: ${leasesLeft}, ${leasesGoneAfterMs} ms after the kill (lease period ${LEASE_SECONDS} s); at the end ${stillCountingNow} leases count`,
      ].join('\n'),
    );
    // Host A: nothing lost, nothing refused, before or after B died.
    expect(a.stats?.failed, a.errors).toBe(0);
    expect(a.stats?.successful).toBe(300);
    expect(a2.stats?.failed, a2.errors).toBe(0);
    expect(a2.stats?.successful).toBe(100);
    // Host B: the calls lost are those its edge held when it died (read a few ms before the kill,
    // so a call ending in those milliseconds can fall on either side: ±2).
    expect(b.stats?.created).toBe(beforeKill);
    expect(Math.abs((b.stats?.failed ?? NaN) - inProgressOnB), `lost ${b.stats?.failed}, in progress ${inProgressOnB}`).toBeLessThanOrEqual(2);
    expect((b.stats?.successful ?? 0) + (b.stats?.failed ?? 0)).toBe(beforeKill);
    // The PBX's calls to the dead host before it stopped choosing it: refused at once (503 from drachtio-server, no edge behind it).
    expect(stillChoosingB.stats?.failed).toBe(20);
    expect(stillChoosingB.errors).toMatch(/SIP\/2\.0 503/);
    // Every lease gone within one lease period after the kill (plus the last renewal's head start).
    expect(leasesLeft).toBe(0);
    expect(leasesGoneAfterMs).toBeLessThan((LEASE_SECONDS + 2) * 1000);
    expect(stillCountingNow).toBe(0);
  }, 240_000);
});
