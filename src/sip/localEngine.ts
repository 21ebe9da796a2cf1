// The local engine: the edge starts its own drachtio-server (`drachtio.spawn`), from a config
// file it writes into a temporary directory, with the control port on 127.0.0.1 and a random
// secret; restarts it with backoff when it dies; stops it on shutdown. The test helpers start
// drachtio-server through this same code.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffDelay } from '../domain/backoff.js';
import { contactListeners, engineConfigXml, type EngineSettings, type Listener } from './engineConfig.js';
import { contactNeedsTls, prepareEngineTls, verificationEnv, type EngineTlsOptions, type OutgoingTlsVerification } from './engineTls.js';
import { freeTcpPort, portInUse } from './ports.js';

export type EngineLogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LocalEngineOptions {
  bin: string;
  contacts: readonly string[];
  /** Default: a free port picked by the kernel. */
  adminPort?: number;
  /** Default: 24 random bytes. */
  secret?: string;
  externalIp?: string;
  /** Certificate of the `sips:`/tls contacts; without one a self-signed pair is made (and logged loudly). */
  tls?: EngineTlsOptions;
  /** Verify the far end of outgoing TLS connections (telnyx.tls; needs the patched engine). Absent: switched off. */
  verifyOutgoing?: OutgoingTlsVerification;
  logLevel?: EngineSettings['logLevel'];
  sofiaLogLevel?: number;
  /** Start it again after an unexpected exit, with backoff (default true). */
  supervise?: boolean;
  /** Each log entry drachtio-server prints (continuation lines joined), with the level it maps to. */
  onLog?: (level: EngineLogLevel, text: string) => void;
  /** Supervision events: an unexpected exit, a restart, a failed restart. */
  onEvent?: (event: EngineEvent) => void;
  /** How long start() waits for the ports to open (default 10 s). */
  startTimeoutMs?: number;
  /** Backoff between restarts: doubles from min to max, back to min after `stableMs` up. */
  backoff?: { minMs: number; maxMs: number; stableMs: number };
}

export type EngineEvent =
  | { kind: 'exited'; code: number | null; signal: string | null }
  | { kind: 'restarting'; inMs: number; attempt: number }
  | { kind: 'restarted'; attempt: number }
  | { kind: 'restart-failed'; attempt: number; error: string };

/** A start-up failure with a one-line message naming what is wrong (a taken port, an early exit). */
export class EngineStartError extends Error {
  constructor(
    message: string,
    readonly output = '',
  ) {
    super(message);
    this.name = 'EngineStartError';
  }
}

export interface LocalEngine {
  readonly adminHost: '127.0.0.1';
  readonly adminPort: number;
  readonly secret: string;
  readonly contacts: readonly string[];
  /** What `bin --version` printed (undefined when it printed nothing). */
  readonly version: string | undefined;
  readonly running: boolean;
  /** The process id while it runs. */
  readonly pid: number | undefined;
  /** Starts the process if it is not running; resolves once its control and SIP ports are open. */
  start(): Promise<void>;
  /** Ends the process as a crash would (SIGKILL by default): supervision, when on, restarts it. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (SIGKILL after 3 s), no restart; removes the config directory. */
  stop(): Promise<void>;
  /** The last lines drachtio-server printed. */
  output(): string;
}

const MAX_LINES = 2000;
const TIMESTAMPED = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ /;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** drachtio-server prints no level: read it off the words, so failures stand out in the edge's log. */
export function engineLogLevel(text: string): EngineLogLevel {
  if (/\b(error|failed|failure|unable|cannot|can't|invalid|exception)\b/i.test(text)) return 'error';
  if (/\bwarn(ing)?\b/i.test(text)) return 'warn';
  if (/Starting drachtio|listening for applications|creating transport|Received SIG/i.test(text)) return 'info';
  return 'debug';
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * The command line that runs `bin` so that it gets SIGTERM when the edge dies, however it dies
 * (SIGKILL, OOM): otherwise an orphaned drachtio-server keeps the SIP ports and the next edge
 * cannot start. util-linux's setpriv sets the parent-death signal and execs (same pid).
 */
function withParentDeathSignal(bin: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', bin, ...args]] : [bin, args];
}

/** The first line `bin --version` prints; undefined when it fails. */
export function engineVersion(bin: string): string | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString('utf8');
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

function describeListener(l: Listener): string {
  return `${l.address}:${l.port} (${l.transport})`;
}

export async function startLocalEngine(opts: LocalEngineOptions): Promise<LocalEngine> {
  if (!existsSync(opts.bin)) throw new EngineStartError(`drachtio-server not found at ${opts.bin} (install it: scripts/install-drachtio-server.sh)`);
  const listeners = opts.contacts.flatMap((c) => {
    const l = contactListeners(c);
    if (typeof l === 'string') throw new EngineStartError(`drachtio contact ${c}: ${l}`);
    return l;
  });
  const adminHost = '127.0.0.1' as const;
  const adminPort = opts.adminPort ?? (await freeTcpPort(adminHost));
  const secret = opts.secret ?? randomBytes(24).toString('base64url');
  const supervise = opts.supervise ?? true;
  const backoff = opts.backoff ?? { minMs: 250, maxMs: 10_000, stableMs: 30_000 };
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-drachtio-'));
  const configFile = join(dir, 'drachtio.conf.xml');
  const version = engineVersion(opts.bin);
  const settings: EngineSettings = {
    adminPort,
    secret,
    contacts: opts.contacts,
    externalIp: opts.externalIp,
    logLevel: opts.logLevel ?? 'info',
    sofiaLogLevel: opts.sofiaLogLevel ?? 3,
  };

  const lines: string[] = [];
  let entry: string[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (entry.length === 0) return;
    const text = entry.join('\n');
    entry = [];
    opts.onLog?.(engineLogLevel(text), text);
  };
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    if (TIMESTAMPED.test(line)) {
      flush();
      entry.push(line.replace(TIMESTAMPED, ''));
    } else if (line.trim() !== '') entry.push(line);
    flushTimer ??= setTimeout(flush, 20);
  };

  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let attempt = 0;
  let upSince = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const isRunning = () => !!proc && proc.exitCode === null && proc.signalCode === null;

  const portsOpen = async () => {
    if (!(await portInUse('tcp', adminHost, adminPort))) return false;
    for (const l of listeners) if (!(await portInUse(l.proto, l.address, l.port))) return false;
    return true;
  };

  const checkPortsFree = async () => {
    if (await portInUse('tcp', adminHost, adminPort)) throw new EngineStartError(`drachtio control port ${adminHost}:${adminPort} is already in use`);
    for (const l of listeners) {
      if (await portInUse(l.proto, l.address, l.port)) throw new EngineStartError(`SIP port ${describeListener(l)} is already in use`);
    }
  };

  const scheduleRestart = () => {
    if (stopping || !supervise || restartTimer) return;
    if (upSince && Date.now() - upSince >= backoff.stableMs) attempt = 0;
    attempt++;
    const inMs = backoffDelay(attempt, backoff.minMs, backoff.maxMs);
    opts.onEvent?.({ kind: 'restarting', inMs, attempt });
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      start().then(
        () => opts.onEvent?.({ kind: 'restarted', attempt }),
        (err: unknown) => {
          opts.onEvent?.({ kind: 'restart-failed', attempt, error: err instanceof Error ? err.message : String(err) });
          scheduleRestart();
        },
      );
    }, inMs);
  };

  const start = async () => {
    if (isRunning()) return;
    stopping = false;
    // After an exit the old sockets may take a moment to go: wait for them, then insist.
    for (let i = 0; i < 100; i++) {
      try {
        await checkPortsFree();
        break;
      } catch (e) {
        if (i === 99 || !proc) throw e;
        await sleep(50);
      }
    }
    mkdirSync(dir, { recursive: true });
    if (opts.contacts.some(contactNeedsTls)) {
      try {
        settings.tls = prepareEngineTls(
          dir,
          opts.tls ?? {},
          (text) => {
            lines.push(`--- ${text}`);
            opts.onLog?.('warn', text);
          },
          opts.verifyOutgoing,
        );
      } catch (e) {
        throw new EngineStartError(e instanceof Error ? e.message : String(e));
      }
    }
    writeFileSync(configFile, engineConfigXml(settings), { mode: 0o600 });
    lines.push(`--- spawn ${opts.bin} -f ${configFile}`);
    let p: ChildProcess;
    try {
      // The edge decides the verification switches: inherited ones are overridden.
      const env = { ...process.env, ...verificationEnv(opts.verifyOutgoing) };
      p = spawn(...withParentDeathSignal(opts.bin, ['-f', configFile]), { stdio: ['ignore', 'pipe', 'pipe'], env });
    } catch (e) {
      throw new EngineStartError(`cannot run ${opts.bin}: ${e instanceof Error ? e.message : String(e)}`);
    }
    proc = p;
    let cameUp = false;
    let partial = '';
    const capture = (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) onLine(l);
    };
    p.stdout?.on('data', capture);
    p.stderr?.on('data', capture);
    const spawnError = new Promise<Error>((resolve) => p.once('error', resolve));
    exited = new Promise<void>((resolve) => {
      p.once('close', (code, signal) => {
        if (partial) onLine(partial);
        partial = '';
        lines.push(`--- drachtio-server exited code=${code} signal=${signal}`);
        flush();
        // Only a process that had come up is restarted here; a failed start is the caller's to handle.
        if (!stopping && proc === p && cameUp) {
          opts.onEvent?.({ kind: 'exited', code, signal });
          scheduleRestart();
        }
        resolve();
      });
    });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(25).then(() => undefined)]);
      if (failed) throw new EngineStartError(`cannot run ${opts.bin}: ${failed.message}`);
      if (p.exitCode !== null || p.signalCode !== null) {
        await exited;
        throw new EngineStartError(`drachtio-server exited during start-up (code ${p.exitCode}, signal ${p.signalCode})`, lines.slice(-40).join('\n'));
      }
      if (await portsOpen()) break;
      if (Date.now() > deadline) {
        const missing: string[] = [];
        if (!(await portInUse('tcp', adminHost, adminPort))) missing.push(`control ${adminHost}:${adminPort}`);
        for (const l of listeners) if (!(await portInUse(l.proto, l.address, l.port))) missing.push(`SIP ${describeListener(l)}`);
        p.kill('SIGKILL');
        await exited;
        throw new EngineStartError(`drachtio-server did not open ${missing.join(', ')}`, lines.slice(-40).join('\n'));
      }
    }
    cameUp = true;
    upSince = Date.now();
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    adminHost,
    adminPort,
    secret,
    contacts: opts.contacts,
    version,
    get running() {
      return isRunning();
    },
    get pid() {
      return isRunning() ? proc?.pid : undefined;
    },
    start,
    kill,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      restartTimer = undefined;
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => [...lines].join('\n'),
  };
}
