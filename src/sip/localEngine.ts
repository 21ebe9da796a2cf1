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
import { engineConfigXml, type EngineSettings } from './engineConfig.js';
import { contactListeners, type Listener } from '../domain/sipContact.js';
import { EngineOutput, type EngineLogLevel } from './engineOutput.js';
import { contactNeedsTls, prepareEngineTls, verificationEnv, type EngineTlsOptions, type OutgoingTlsVerification } from './engineTls.js';
import { freeTcpPort, portInUse } from './ports.js';

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

const ADMIN_HOST = '127.0.0.1' as const;
const DEFAULT_BACKOFF = { minMs: 250, maxMs: 10_000, stableMs: 30_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** One supervised drachtio-server: its generated config directory, its process, its restarts. */
class SupervisedEngine implements LocalEngine {
  readonly adminHost = ADMIN_HOST;
  readonly contacts: readonly string[];
  readonly version: string | undefined;
  private readonly out: EngineOutput;
  private readonly supervise: boolean;
  private readonly backoff: NonNullable<LocalEngineOptions['backoff']>;
  private readonly configFile: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private attempt = 0;
  private upSince = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: LocalEngineOptions,
    private readonly listeners: readonly Listener[],
    private readonly settings: EngineSettings,
    private readonly dir: string,
  ) {
    this.contacts = opts.contacts;
    this.version = engineVersion(opts.bin);
    this.out = new EngineOutput(opts.onLog);
    this.supervise = opts.supervise ?? true;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.configFile = join(dir, 'drachtio.conf.xml');
  }

  get adminPort(): number {
    return this.settings.adminPort;
  }

  get secret(): string {
    return this.settings.secret;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  output(): string {
    return this.out.all();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    await this.waitForFreePorts();
    this.writeConfig();
    const p = this.spawn();
    const spawnError = new Promise<Error>((resolve) => p.once('error', resolve));
    let cameUp = false;
    this.exited = new Promise<void>((resolve) => {
      p.once('close', (code, signal) => {
        this.out.note(`drachtio-server exited code=${code} signal=${signal}`);
        this.out.flush();
        // Only a process that had come up is restarted here; a failed start is the caller's to handle.
        if (!this.stopping && this.proc === p && cameUp) {
          this.opts.onEvent?.({ kind: 'exited', code, signal });
          this.scheduleRestart();
        }
        resolve();
      });
    });
    await this.waitUntilUp(p, spawnError);
    cameUp = true;
    this.upSince = Date.now();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.kill('SIGTERM');
    this.removeConfig();
  }

  removeConfig(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** After an exit the old sockets may take a moment to go: wait for them, then insist. */
  private async waitForFreePorts(): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        return await this.checkPortsFree();
      } catch (e) {
        if (i === 99 || !this.proc) throw e;
        await sleep(50);
      }
    }
  }

  private async checkPortsFree(): Promise<void> {
    if (await portInUse('tcp', ADMIN_HOST, this.adminPort)) throw new EngineStartError(`drachtio control port ${ADMIN_HOST}:${this.adminPort} is already in use`);
    for (const l of this.listeners) {
      if (await portInUse(l.proto, l.address, l.port)) throw new EngineStartError(`SIP port ${describeListener(l)} is already in use`);
    }
  }

  private async closedPorts(): Promise<string[]> {
    const closed: string[] = [];
    if (!(await portInUse('tcp', ADMIN_HOST, this.adminPort))) closed.push(`control ${ADMIN_HOST}:${this.adminPort}`);
    for (const l of this.listeners) if (!(await portInUse(l.proto, l.address, l.port))) closed.push(`SIP ${describeListener(l)}`);
    return closed;
  }

  private writeConfig(): void {
    mkdirSync(this.dir, { recursive: true });
    if (this.opts.contacts.some(contactNeedsTls)) {
      try {
        this.settings.tls = prepareEngineTls(
          this.dir,
          this.opts.tls ?? {},
          (text) => {
            this.out.note(text);
            this.opts.onLog?.('warn', text);
          },
          this.opts.verifyOutgoing,
        );
      } catch (e) {
        throw new EngineStartError(e instanceof Error ? e.message : String(e));
      }
    }
    writeFileSync(this.configFile, engineConfigXml(this.settings), { mode: 0o600 });
  }

  private spawn(): ChildProcess {
    this.out.note(`spawn ${this.opts.bin} -f ${this.configFile}`);
    let p: ChildProcess;
    try {
      // The edge decides the verification switches: inherited ones are overridden.
      const env = { ...process.env, ...verificationEnv(this.opts.verifyOutgoing) };
      p = spawn(...withParentDeathSignal(this.opts.bin, ['-f', this.configFile]), { stdio: ['ignore', 'pipe', 'pipe'], env });
    } catch (e) {
      throw new EngineStartError(`cannot run ${this.opts.bin}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.proc = p;
    this.out.read(p.stdout);
    this.out.read(p.stderr);
    return p;
  }

  /** Resolves once the control and SIP ports are open; an early exit or the deadline is an EngineStartError. */
  private async waitUntilUp(p: ChildProcess, spawnError: Promise<Error>): Promise<void> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(25).then(() => undefined)]);
      if (failed) throw new EngineStartError(`cannot run ${this.opts.bin}: ${failed.message}`);
      if (p.exitCode !== null || p.signalCode !== null) {
        await this.exited;
        throw new EngineStartError(`drachtio-server exited during start-up (code ${p.exitCode}, signal ${p.signalCode})`, this.out.tail(40));
      }
      const closed = await this.closedPorts();
      if (closed.length === 0) return;
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        await this.exited;
        throw new EngineStartError(`drachtio-server did not open ${closed.join(', ')}`, this.out.tail(40));
      }
    }
  }

  private scheduleRestart(): void {
    if (this.stopping || !this.supervise || this.restartTimer) return;
    if (this.upSince && Date.now() - this.upSince >= this.backoff.stableMs) this.attempt = 0;
    const attempt = ++this.attempt;
    const inMs = backoffDelay(attempt, this.backoff.minMs, this.backoff.maxMs);
    this.opts.onEvent?.({ kind: 'restarting', inMs, attempt });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start().then(
        () => this.opts.onEvent?.({ kind: 'restarted', attempt }),
        (err: unknown) => {
          this.opts.onEvent?.({ kind: 'restart-failed', attempt, error: err instanceof Error ? err.message : String(err) });
          this.scheduleRestart();
        },
      );
    }, inMs);
  }
}

/** Starts a local drachtio-server (resolves once its ports are open) and supervises it. */
export async function startLocalEngine(opts: LocalEngineOptions): Promise<LocalEngine> {
  if (!existsSync(opts.bin)) throw new EngineStartError(`drachtio-server not found at ${opts.bin} (install it: scripts/install-drachtio-server.sh)`);
  const listeners = opts.contacts.flatMap((c) => {
    const l = contactListeners(c);
    if (typeof l === 'string') throw new EngineStartError(`drachtio contact ${c}: ${l}`);
    return l;
  });
  const settings: EngineSettings = {
    adminPort: opts.adminPort ?? (await freeTcpPort(ADMIN_HOST)),
    secret: opts.secret ?? randomBytes(24).toString('base64url'),
    contacts: opts.contacts,
    externalIp: opts.externalIp,
    logLevel: opts.logLevel ?? 'info',
    sofiaLogLevel: opts.sofiaLogLevel ?? 3,
  };
  const engine = new SupervisedEngine(opts, listeners, settings, mkdtempSync(join(tmpdir(), 'wa-edge-drachtio-')));
  try {
    await engine.start();
  } catch (e) {
    engine.removeConfig();
    throw e;
  }
  return engine;
}
