// What the SIP benchmarks share: the infrastructure (redis-server, drachtio-server with quiet
// logs), the app processes they fork (the edge, the plain B2BUA), a lean SIPp runner that reads
// SIPp's own statistics (-trace_stat) instead of tracing every message, user CSVs for -inf,
// and small statistics helpers. Everything binds to loopback 127.0.0.x only.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDrachtio, freeSipPort, portInUse, addrs, type DrachtioServer } from '../../test/helpers/drachtio.js';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { sippBin } from '../../test/helpers/sipp.js';
import { BUSINESS } from '../../test/helpers/config.js';
import { stateFixture, type StateFixture } from '../../test/helpers/state.js';
import type { AppRequest, AppStats } from './ipc.js';

export { addrs, BUSINESS };

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const scenarioDir = fileURLToPath(new URL('./scenarios/', import.meta.url));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Command line

export function numArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

export function strArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

export const flag = (name: string) => process.argv.includes(`--${name}`);

// ---------------------------------------------------------------------------------------------
// Statistics

export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

// ---------------------------------------------------------------------------------------------
// Infrastructure

export interface Infra {
  redis: RedisServer;
  drachtio: DrachtioServer;
  /** drachtio-server's pid, to read its CPU time from /proc. */
  drachtioPid: number | undefined;
  tmp: string;
  stop(): Promise<void>;
}

/** utime + stime of a process, in microseconds (Linux /proc; clock ticks of 10 ms resolution). */
export function procCpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** redis-server's CPU time (INFO cpu), microseconds. */
export async function redisCpuUs(info: () => Promise<string>): Promise<number> {
  const text = await info();
  const user = /used_cpu_user:([\d.]+)/.exec(text)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(text)?.[1];
  return (Number(user) + Number(sys)) * 1e6;
}

/** redis-server and drachtio-server (quiet: error logs, sofia log level 0), both on loopback. */
export async function startInfra(): Promise<Infra> {
  const redis = await startRedis();
  const drachtio = await startDrachtio({ logLevel: 'error', sofiaLogLevel: 0 });
  const drachtioPid = drachtio.pid();
  const tmp = mkdtempSync(join(tmpdir(), 'wa-edge-bench-'));
  return {
    redis,
    drachtio,
    drachtioPid,
    tmp,
    async stop() {
      await drachtio.stop();
      await redis.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Edge configuration overrides for a benchmark: this infrastructure, Telnyx at the SIPp UAS, quiet logs. */
export function edgeConfig(infra: Infra, telnyxPort: number, whatsapp: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    drachtio: { host: infra.drachtio.adminHost, port: infra.drachtio.adminPort, secret: infra.drachtio.secret },
    redis: { url: infra.redis.url },
    telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`] },
    trunks: [{ name: 'bench-pbx', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
    numbers: [{ number: BUSINESS, calling: true, inbound: [] }],
    whatsapp,
    log: { level: 'warn' },
  };
}

// ---------------------------------------------------------------------------------------------
// App processes

/** plain-reject answers 480 itself; plain-forward B2BUAs every call and passes Telnyx's refusal back. */
export type AppKind = 'edge' | 'plain' | 'plain-reject' | 'plain-forward';

export interface AppProcess {
  kind: AppKind;
  pid: number;
  stats(gc?: boolean): Promise<AppStats>;
  /** Writes a V8 heap snapshot of the app to `path`. */
  snapshot(path: string): Promise<void>;
  /** Waits until the app holds no call (or the timeout passes); returns the count left. */
  idle(timeoutMs?: number): Promise<number>;
  /** Lines the app wrote to stderr (the last 200). */
  log(): string;
  stop(): Promise<void>;
}

export interface AppOptions {
  infra: Infra;
  telnyxPort: number;
  /** For the edge: configuration overrides (edgeConfig). */
  edge?: Record<string, unknown>;
  /** Extra node flags: --expose-gc, --cpu-prof, --cpu-prof-dir=... */
  nodeFlags?: string[];
}

let compiled: Promise<string> | undefined;

/**
 * The apps run as tsc compiles them, as in production (`npm run build`, docker/Dockerfile), not
 * through tsx: tsx's esbuild keeps function names by defining `name` on every closure it creates,
 * which costs time per call and puts each closure's properties in a 256-byte dictionary (measured:
 * 1.3 KB of every held call). The output goes under node_modules/.cache so that the compiled files
 * resolve the project's packages; the Lua scripts are copied next to the compiled state module.
 */
function compileApps(): Promise<string> {
  compiled ??= (async () => {
    const out = join(repoRoot, 'node_modules/.cache/wa-edge-bench');
    rmSync(out, { recursive: true, force: true });
    const tsc = spawn(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', out, '--sourceMap', 'false'], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const code = await new Promise<number | null>((resolve) => tsc.once('exit', resolve));
    if (code !== 0) throw new Error(`tsc failed (exit ${code}): the benchmark apps could not be compiled`);
    cpSync(join(repoRoot, 'src/state/lua'), join(out, 'src/state/lua'), { recursive: true });
    return out;
  })();
  return compiled;
}

/** Forks the edge or the plain B2BUA and resolves once it is connected to drachtio-server. */
export async function startApp(kind: AppKind, opts: AppOptions): Promise<AppProcess> {
  const { infra } = opts;
  const file = join(await compileApps(), kind === 'edge' ? 'bench/sip/edgeChild.js' : 'bench/sip/plainB2bua.js');
  const appArgs =
    kind === 'edge'
      ? []
      : [
          '--drachtio', `${infra.drachtio.adminHost}:${infra.drachtio.adminPort}`,
          '--secret', infra.drachtio.secret,
          '--target', `${addrs.telnyx}:${opts.telnyxPort}`,
          '--business', BUSINESS,
          ...(kind === 'plain-reject' ? ['--reject'] : kind === 'plain-forward' ? ['--pass-reason'] : []),
        ];
  const env = { ...process.env, BENCH_EDGE_CONFIG: JSON.stringify(opts.edge ?? {}), BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' };
  // BENCH_NODE_FLAGS: V8/Node flags for both apps (e.g. GC flags NODE_OPTIONS does not accept).
  const benchFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...benchFlags, ...(opts.nodeFlags ?? []), file, ...appArgs], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const lines: string[] = [];
  child.stderr?.on('data', (c: Buffer) => {
    lines.push(...c.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let nextId = 1;
  // Requests that expect an answer (stats, snapshot) carry an id; the answer settles its promise.
  const waiting = new Map<number, (m: AppStats | { type: 'snapshot'; id: number }) => void>();
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.on('message', (m: AppStats | { type: 'ready' } | { type: 'snapshot'; id: number }) => {
    if (m.type === 'ready') return readyResolve();
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const send = (m: AppRequest) => child.send(m);
  const ask = <T>(request: (id: number) => AppRequest, timeoutMs: number): Promise<T> => {
    const id = nextId++;
    const message = request(id);
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, (m) => resolve(m as T));
      setTimeout(() => {
        if (waiting.delete(id)) reject(new Error(`${kind} app did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs).unref();
      send(message);
    });
  };
  const timeout = sleep(20_000).then(() => {
    throw new Error(`${kind} app did not connect to drachtio within 20 s:\n${lines.join('\n')}`);
  });
  const died = exited.then(() => {
    throw new Error(`${kind} app exited during start-up:\n${lines.join('\n')}`);
  });
  await Promise.race([ready, timeout, died]);
  const app: AppProcess = {
    kind,
    pid: child.pid as number,
    stats(gc = false) {
      return ask<AppStats>((id) => ({ type: 'stats', id, gc }), 10_000);
    },
    async snapshot(path: string) {
      await ask((id) => ({ type: 'snapshot', id, path }), 120_000);
    },
    async idle(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await app.stats();
        if (s.active === 0 || Date.now() > deadline) return s.active;
        await sleep(100);
      }
    },
    log: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null) return;
      send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      // drachtio-server notices the closed connection; the next app must be the only one.
      await sleep(300);
    },
  };
  return app;
}

// ---------------------------------------------------------------------------------------------
// SIPp

/** SIPp's cumulative counters from the last line of its -trace_stat CSV. */
export interface SippStats {
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
  outOfCallMsgs: number;
  deadCallMsgs: number;
  failedTimeoutOnRecv: number;
  failedUnexpected: number;
  failedMaxUdpRetrans: number;
  /** Mean of rtd 1 over the run, ms (SIPp's resolution is 1 ms). */
  responseTime1Ms: number;
}

export interface SippRunResult {
  code: number;
  stats: SippStats | undefined;
  /** -trace_err, first 4 KB. */
  errors: string;
  stderr: string;
  wallMs: number;
  command: string;
  cpuUs: number;
}

export interface SippRun {
  ready: Promise<void>;
  done: Promise<SippRunResult>;
  pid: number | undefined;
  kill(): void;
}

export interface SippRunOptions {
  scenario: string; // file in bench/sip/scenarios or absolute
  local: string;
  port?: number;
  remote?: string;
  calls: number;
  rate?: number;
  limit?: number;
  vars?: Record<string, string | number>;
  inf?: string;
  timeoutSec: number;
  recvTimeoutMs?: number;
  extra?: string[];
}

const timeToMs = (s: string | undefined): number => {
  // SIPp writes durations as HH:MM:SS:uuuuuu (microseconds) and some columns as plain numbers.
  if (!s) return NaN;
  if (/^[\d.]+$/.test(s)) return Number(s);
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(s.trim());
  if (!m) return NaN;
  const frac = m[4] as string;
  const sub = frac.length >= 6 ? Number(frac) / 1000 : Number(frac);
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + sub;
};

function parseStats(csv: string): SippStats | undefined {
  const rows = csv.split('\n').filter((l) => l.trim() !== '');
  if (rows.length < 2) return undefined;
  const head = (rows[0] as string).split(';');
  const last = (rows[rows.length - 1] as string).split(';');
  const col = (name: string) => last[head.indexOf(name)];
  const n = (name: string) => Number(col(name) ?? NaN);
  return {
    created: n('TotalCallCreated'),
    successful: n('SuccessfulCall(C)'),
    failed: n('FailedCall(C)'),
    retransmissions: n('Retransmissions(C)'),
    outOfCallMsgs: n('OutOfCallMsgs(C)'),
    deadCallMsgs: n('DeadCallMsgs(C)'),
    failedTimeoutOnRecv: n('FailedTimeoutOnRecv(C)'),
    failedUnexpected: n('FailedUnexpectedMessage(C)'),
    failedMaxUdpRetrans: n('FailedMaxUDPRetrans(C)'),
    responseTime1Ms: timeToMs(col('ResponseTime1(C)')),
  };
}

/** Starts one SIPp process without message tracing (statistics and errors only). */
export function runSipp(o: SippRunOptions): SippRun {
  const scenario = o.scenario.startsWith('/') ? o.scenario : join(scenarioDir, o.scenario);
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-bench-sipp-'));
  const statFile = join(dir, 'stat.csv');
  const errFile = join(dir, 'errors.log');
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => ((markReady = res), (failReady = rej)));
  ready.catch(() => {});
  const portP = o.port !== undefined ? Promise.resolve(o.port) : freeSipPort(o.local);
  let child: ChildProcess | undefined;
  let killed = false;
  const run: SippRun = {
    ready,
    pid: undefined,
    done: portP.then(
      (port) =>
        new Promise<SippRunResult>((resolve) => {
          const args: string[] = [];
          if (o.remote) args.push(o.remote);
          args.push(
            '-sf', scenario,
            '-i', o.local, '-bind_local', '-p', String(port), '-t', 'u1',
            '-m', String(o.calls),
            '-nostdin',
            '-timeout', String(o.timeoutSec), '-timeout_error',
            '-trace_stat', '-stf', statFile, '-fd', '3600',
            '-trace_err', '-error_file', errFile,
            '-max_recv_loops', '100000', '-max_sched_loops', '100000',
          );
          if (o.rate !== undefined) args.push('-r', String(o.rate));
          if (o.limit !== undefined) args.push('-l', String(o.limit));
          if (o.inf !== undefined) args.push('-inf', o.inf);
          if (o.recvTimeoutMs !== undefined) args.push('-recv_timeout', String(o.recvTimeoutMs));
          for (const [k, v] of Object.entries(o.vars ?? {})) args.push('-set', k, String(v));
          args.push(...(o.extra ?? []));
          const command = [sippBin, ...args].join(' ');
          const started = Date.now();
          const c = spawn(sippBin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
          child = c;
          run.pid = c.pid;
          if (killed) c.kill('SIGTERM');
          let stderr = '';
          c.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-4000)));
          let exited = false;
          let lastCpu = 0;
          const hard = setTimeout(() => c.kill('SIGKILL'), (o.timeoutSec + 10) * 1000);
          const cpuPoll = setInterval(() => {
            const v = procCpuUs(c.pid);
            if (Number.isFinite(v)) lastCpu = v;
          }, 200);
          void (async () => {
            const deadline = Date.now() + 10_000;
            while (!exited) {
              if (await portInUse('udp', o.local, port)) return markReady();
              if (Date.now() > deadline) return failReady(new Error(`sipp did not bind ${o.local}:${port}: ${command}`));
              await sleep(20);
            }
          })();
          c.once('close', (code, signal) => {
            exited = true;
            clearTimeout(hard);
            clearInterval(cpuPoll);
            failReady(new Error(`sipp exited (code ${code}) before it was listening: ${command}\n${stderr}`));
            let stats: SippStats | undefined;
            let errors = '';
            try {
              stats = parseStats(readFileSync(statFile, 'utf8'));
            } catch {
              // no stat file: SIPp died early
            }
            try {
              errors = readFileSync(errFile, 'utf8').slice(0, 4096);
            } catch {
              // no errors
            }
            rmSync(dir, { recursive: true, force: true });
            resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stats, errors, stderr, wallMs: Date.now() - started, command, cpuUs: lastCpu });
          });
        }),
    ),
    kill() {
      killed = true;
      child?.kill('SIGTERM');
    },
  };
  return run;
}

// ---------------------------------------------------------------------------------------------
// Users

/**
 * `count` distinct dialled users, E.164 UK mobiles: `+` prefix, then the index zero-padded to
 * 12 digits in all, e.g. users('447911', 2, 5) → +447911000005, +447911000006.
 */
export function users(prefix: string, count: number, offset = 0): string[] {
  const width = 12 - prefix.length;
  if (offset + count > 10 ** width) throw new Error(`users(${prefix}): ${offset + count} do not fit in ${width} digits`);
  return Array.from({ length: count }, (_, i) => `+${prefix}${String(offset + i).padStart(width, '0')}`);
}

/** A SEQUENTIAL -inf file with one user per line. */
export function writeUsersCsv(dir: string, name: string, list: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `SEQUENTIAL\n${list.map((u) => `${u};`).join('\n')}\n`);
  return path;
}

export { freeSipPort };

// ---------------------------------------------------------------------------------------------
// Permissions


/** A state client on the benchmark's Redis (real clock) to grant permissions and read keys. */
export async function stateClient(infra: Infra): Promise<StateFixture> {
  const f = await stateFixture(infra.redis.url, { whatsapp: { connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null } });
  f.clock.now = Date.now();
  return f;
}

/** One permanent permission per user on BUSINESS, 200 grants in flight at a time. */
export async function grantPermanent(f: StateFixture, list: string[]): Promise<void> {
  f.clock.now = Date.now();
  for (let i = 0; i < list.length; i += 200) {
    await Promise.all(list.slice(i, i + 200).map((u) => f.permissions.grant(BUSINESS, u, 'permanent', 'bench')));
  }
}
