// Real Redis high-availability topologies on loopback, on free ports, for failover tests and
// benches: Sentinel (one master, one replica, three redis-sentinel) and Cluster (three masters,
// each with a replica). Every process is ours and stopped by `stop()`; `killMaster` is `kill -9`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

interface Proc {
  port: number;
  proc: ChildProcess;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One command on a fresh connection that gives up at once (the node may be dead). */
async function ask(port: number, ...args: (string | number)[]): Promise<unknown> {
  const c = new Redis({ port, host: HOST, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    c.disconnect();
  }
}

function startServer(port: number, dir: string, args: string[], bin = 'redis-server'): Proc {
  const proc = spawn(bin, args, { cwd: dir, stdio: 'ignore' });
  return { port, proc };
}

function sigkill(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.proc.once('exit', () => resolve());
    p.proc.kill('SIGKILL');
  });
}

const redisArgs = (port: number, dir: string) => ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir];

export interface ReplicatedRedis {
  url: string;
  replicaPort: number;
  stop(): Promise<void>;
}

/** A master and one replica in sync, no sentinel: what `WAIT 1` needs. */
export async function startReplicated(): Promise<ReplicatedRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-replicated-'));
  const masterPort = await freePort();
  const replicaPort = await freePort();
  const procs = [
    startServer(masterPort, dir, redisArgs(masterPort, dir).concat(['--dbfilename', 'm.rdb'])),
    startServer(replicaPort, dir, redisArgs(replicaPort, dir).concat(['--dbfilename', 'r.rdb', '--replicaof', HOST, String(masterPort)])),
  ];
  await until('replica in sync', 10_000, async () => (String(await ask(replicaPort, 'INFO', 'replication')).includes('master_link_status:up') ? true : undefined));
  return {
    url: `redis://${HOST}:${masterPort}`,
    replicaPort,
    async stop() {
      await Promise.all(procs.map(sigkill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SentinelTopology {
  name: string;
  sentinels: { host: string; port: number }[];
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /** kill -9 of the current master; resolves with the time it died. */
  killMaster(): Promise<number>;
  /** Resolves with the time the sentinels name a new master (polled every 50 ms). */
  promoted(oldPort: number, timeoutMs?: number): Promise<number>;
  /** The sentinels' failover events so far (+sdown, +odown, votes, +elected-leader, aborts, +switch-master), by time. */
  events(): string;
  stop(): Promise<void>;
}

export async function startSentinel(opts: { downAfterMs?: number } = {}): Promise<SentinelTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-sentinel-'));
  const name = 'wa-edge';
  const procs: Proc[] = [];
  const masterPort = await freePort();
  const replicaPort = await freePort();
  procs.push(startServer(masterPort, dir, redisArgs(masterPort, dir).concat(['--dbfilename', 'm.rdb'])));
  procs.push(startServer(replicaPort, dir, redisArgs(replicaPort, dir).concat(['--dbfilename', 'r.rdb', '--replicaof', HOST, String(masterPort)])));
  await until('replica in sync', 10_000, async () => {
    const info = String(await ask(replicaPort, 'INFO', 'replication'));
    return info.includes('master_link_status:up') ? true : undefined;
  });
  const sentinels: { host: string; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        `logfile ${join(dir, `sentinel-${i}.log`)}`,
        '',
      ].join('\n'),
    );
    procs.push(startServer(port, dir, [file], 'redis-sentinel'));
    sentinels.push({ host: HOST, port });
  }
  const byPort = (port: number) => procs.find((p) => p.port === port);
  const masterOf = async (): Promise<number> => {
    const [, port] = (await ask(sentinels[0]!.port, 'SENTINEL', 'get-master-addr-by-name', name)) as [string, string];
    return Number(port);
  };
  // Every sentinel knows the replica and the two others before the test kills anything.
  await until('sentinels ready', 15_000, async () => {
    for (const s of sentinels) {
      const m = (await ask(s.port, 'SENTINEL', 'master', name)) as string[];
      const field = (f: string) => Number(m[m.indexOf(f) + 1]);
      if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return undefined;
    }
    return true;
  });
  return {
    name,
    sentinels,
    masterPort: masterOf,
    async killMaster() {
      const p = byPort(await masterOf());
      if (!p) throw new Error('no master process');
      await sigkill(p);
      return Date.now();
    },
    promoted(oldPort, timeoutMs = 30_000) {
      return until('sentinel failover', timeoutMs, async () => ((await masterOf()) !== oldPort ? Date.now() : undefined));
    },
    events() {
      // A line: "<pid>:X 07 Dec 2026 01:00:54.281 # +sdown master wa-edge ...": warning-level ('#')
      // lines after start-up are the failover's steps.
      const lines = sentinels.flatMap((_, i) => {
        const file = join(dir, `sentinel-${i}.log`);
        if (!existsSync(file)) return [];
        return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
          const m = /^\d+:X \d+ \w+ \d+ ([\d:.]+) # ([-+].*|.*voted for.*|Next failover delay.*)$/.exec(l);
          return m ? [{ at: m[1]!, text: `${m[1]} sentinel ${i}: ${m[2]}` }] : [];
        });
      });
      return lines.sort((a, b) => a.at.localeCompare(b.at)).map((l) => l.text).join('\n');
    },
    async stop() {
      await Promise.all(procs.map(sigkill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterTopology {
  nodes: { host: string; port: number }[];
  /** The port of the master serving `key`'s slot now, asked of a live node. */
  masterFor(key: string): Promise<number>;
  killNode(port: number): Promise<number>;
  /** Resolves with the time a live node names another master for `key`'s slot and the cluster is ok. */
  promoted(key: string, oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

interface NodeLine {
  port: number;
  master: boolean;
  failed: boolean;
  slots: [number, number][];
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      const port = Number((f[1] ?? '').split('@')[0]!.split(':')[1]);
      const flags = f[2] ?? '';
      const slots = f.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
        const [a, b] = s.split('-');
        return [Number(a), Number(b ?? a)] as [number, number];
      });
      return { port, master: flags.includes('master'), failed: flags.includes('fail') && !flags.includes('fail?'), slots };
    });
}

export async function startCluster(opts: { nodeTimeoutMs?: number } = {}): Promise<ClusterTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-cluster-'));
  const procs: Proc[] = [];
  for (let i = 0; i < 6; i++) {
    const port = await freePort();
    const busPort = await freePort();
    const args = redisArgs(port, dir).concat([
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1000),
      '--cluster-port', String(busPort), '--dbfilename', `d-${port}.rdb`,
    ]);
    procs.push(startServer(port, dir, args));
  }
  for (const p of procs) await until(`cluster node ${p.port}`, 10_000, async () => ((await ask(p.port, 'PING')) === 'PONG' ? true : undefined));
  await run('redis-cli', ['--cluster', 'create', ...procs.map((p) => `${HOST}:${p.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
  await until('cluster ok on every node', 20_000, async () => {
    for (const p of procs) if (!String(await ask(p.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return undefined;
    // Every replica has its master's link up.
    for (const p of procs) {
      const info = String(await ask(p.port, 'INFO', 'replication'));
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return undefined;
    }
    return true;
  });
  const alive = () => procs.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null);
  const masterFor = async (key: string, exclude?: number): Promise<number> => {
    const live = alive().filter((p) => p.port !== exclude);
    const slot = Number(await ask(live[0]!.port, 'CLUSTER', 'KEYSLOT', key));
    const nodes = parseNodes(String(await ask(live[0]!.port, 'CLUSTER', 'NODES')));
    const owner = nodes.find((n) => n.master && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no master for slot ${slot}`);
    return owner.port;
  };
  return {
    nodes: procs.map((p) => ({ host: HOST, port: p.port })),
    masterFor: (key) => masterFor(key),
    async killNode(port) {
      const p = procs.find((x) => x.port === port);
      if (!p) throw new Error(`no node ${port}`);
      await sigkill(p);
      return Date.now();
    },
    promoted(key, oldPort, timeoutMs = 30_000) {
      return until('cluster failover', timeoutMs, async () => {
        const now = await masterFor(key, oldPort);
        if (now === oldPort) return undefined;
        const live = alive();
        return String(await ask(live[0]!.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? Date.now() : undefined;
      });
    },
    async stop() {
      await Promise.all(procs.map(sigkill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
