// Runs SIPp (Debian's sip-tester, 3.6) for end-to-end SIP tests: one process per call party,
// bound to its loopback address (PBX 127.0.0.1, Telnyx 127.0.0.2, ...), with its error,
// message and log traces collected when it exits. Scenarios live in test/e2e/scenarios.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeSipPort, portInUse } from './drachtio.js';

export const sippBin: string = process.env.SIPP_BIN ?? 'sipp';

const scenariosDir = fileURLToPath(new URL('../e2e/scenarios/', import.meta.url));

/** Absolute path of a scenario: a file name in test/e2e/scenarios (`.xml` optional), or an absolute path. */
export function scenarioPath(name: string): string {
  if (isAbsolute(name)) return name;
  const file = name.endsWith('.xml') ? name : `${name}.xml`;
  const path = join(scenariosDir, file);
  if (!existsSync(path)) throw new Error(`no SIPp scenario ${path}`);
  return path;
}

export interface SippOptions {
  /** File name in test/e2e/scenarios (e.g. `pbx_call.xml`) or an absolute path. */
  scenario: string;
  /** Loopback address to bind to and to use as the source (`-i` + `-bind_local`). */
  localAddress: string;
  /** SIP port (`-p`); default: a port free for UDP and TCP on localAddress. */
  localPort?: number;
  /** `host:port` to send to (UAC scenarios), e.g. "127.0.0.3:5080". Omit for a UAS. */
  remote?: string;
  /** `-m`: stop after this many calls (default 1). */
  calls?: number;
  /** `-r`: calls per second (SIPp's default 10). */
  rate?: number;
  /** `-l`: at most this many simultaneous calls. */
  limit?: number;
  /** `-s`: the Request-URI user ([service]). */
  service?: string;
  /** `-set name value`, for variables the scenario declares `<Global>`. */
  vars?: Record<string, string | number>;
  /** `-inf`: CSV injection file. */
  injectFile?: string;
  /** `-timeout` in seconds (default 30); SIPp then fails (`-timeout_error`); SIGKILL 5 s later. */
  timeoutSec?: number;
  /** `-t`: u1 (UDP, default) or t1 (TCP, one connection per call). */
  transport?: 'u1' | 't1';
  /** Anything else, appended last. */
  extraArgs?: string[];
  /**
   * Run SIPp inside the network namespace of this process (a podman container's, through
   * `nsenter --net`): a peer with an address of its own on a container network. Needs localPort.
   */
  netnsPid?: number;
}

export interface SippResult {
  /** Exit code: 0 = every call succeeded; 1 = some call failed; 97 = no call completed (or
   * `stop_now`); 255 = fatal (e.g. -timeout reached, bad scenario); 128+N when killed by signal N. */
  code: number;
  signal: NodeJS.Signals | null;
  /** kill() was called (a SIGTERMed SIPp exits 0 when no call had failed yet). */
  killed: boolean;
  stdout: string;
  stderr: string;
  /** -trace_err file: unexpected messages, failed checks, `<warning>` actions. */
  errors: string;
  /** -trace_msg file: every message sent and received. */
  messages: string;
  /** -trace_logs file: `<log>` actions. */
  logs: string;
  /** The full command line, for failure messages. */
  command: string;
}

export interface SippRun {
  /** Resolves when SIPp exits (never rejects); the traces are read then. */
  done: Promise<SippResult>;
  /** Resolves once SIPp's SIP socket is bound (a UAS can receive); rejects if SIPp exits first. */
  ready: Promise<void>;
  /** The SIP port in use. */
  port: Promise<number>;
  /** SIGTERM (SIPp writes its traces and exits), SIGKILL 2 s later if still running. */
  kill(): void;
}

const MAX_OUTPUT = 256 * 1024;
const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function append(buf: { s: string }, chunk: Buffer): void {
  buf.s += chunk.toString('utf8');
  if (buf.s.length > MAX_OUTPUT) buf.s = buf.s.slice(-MAX_OUTPUT);
}

/** Whether a socket is bound (UDP) or listening (TCP) on `port` in the network namespace of `pid` (its /proc/PID/net table). */
function boundInNetns(pid: number, proto: 'udp' | 'tcp', port: number): boolean {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readIfExists(`/proc/${pid}/net/${proto}`)
    .split('\n')
    .slice(1)
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return (cols[1] ?? '').endsWith(portHex) && (proto === 'udp' || cols[3] === '0A');
    });
}

/** Starts one SIPp process. Always await `done` (or call kill()) so nothing outlives the test. */
export function sipp(opts: SippOptions): SippRun {
  const scenario = scenarioPath(opts.scenario);
  const timeoutSec = opts.timeoutSec ?? 30;
  const transport = opts.transport ?? 'u1';
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-sipp-'));
  const files = { errors: join(dir, 'errors.log'), messages: join(dir, 'messages.log'), logs: join(dir, 'logs.log') };

  let killRequested = false;
  let killFn: (() => void) | undefined;
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // A caller that only awaits `done` must not get an unhandled rejection from `ready`.
  ready.catch(() => {});

  const port = opts.localPort !== undefined ? Promise.resolve(opts.localPort) : opts.netnsPid !== undefined ? Promise.reject(new Error('netnsPid needs localPort')) : freeSipPort(opts.localAddress);
  port.catch(() => {});

  const done = port.then(
    (localPort) =>
      new Promise<SippResult>((resolve) => {
        const args: string[] = [];
        if (opts.remote) args.push(opts.remote);
        args.push(
          '-sf', scenario,
          '-i', opts.localAddress,
          '-bind_local', // without it SIPp binds 0.0.0.0 and the kernel picks 127.0.0.1 as the source
          '-p', String(localPort),
          '-t', transport,
          '-m', String(opts.calls ?? 1),
          '-nostdin',
          '-timeout', String(timeoutSec),
          '-timeout_error',
          '-trace_err', '-error_file', files.errors,
          '-trace_msg', '-message_file', files.messages,
          '-trace_logs', '-log_file', files.logs,
        );
        if (opts.rate !== undefined) args.push('-r', String(opts.rate));
        if (opts.limit !== undefined) args.push('-l', String(opts.limit));
        if (opts.service !== undefined) args.push('-s', opts.service);
        if (opts.injectFile !== undefined) args.push('-inf', opts.injectFile);
        for (const [name, value] of Object.entries(opts.vars ?? {})) args.push('-set', name, String(value));
        args.push(...(opts.extraArgs ?? []));
        const argv = opts.netnsPid !== undefined ? ['nsenter', `--net=/proc/${opts.netnsPid}/ns/net`, sippBin, ...args] : [sippBin, ...args];
        const command = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');

        const stdout = { s: '' };
        const stderr = { s: '' };
        const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
        child.stdout.on('data', (c: Buffer) => append(stdout, c));
        child.stderr.on('data', (c: Buffer) => append(stderr, c));
        let exited = false;

        const hardKill = setTimeout(() => child.kill('SIGKILL'), (timeoutSec + 5) * 1000);
        killFn = () => {
          killRequested = true;
          if (exited) return;
          child.kill('SIGTERM');
          setTimeout(() => {
            if (!exited) child.kill('SIGKILL');
          }, 2000).unref();
        };
        if (killRequested) killFn();

        // ready: poll until the SIP socket is bound (UDP) / listening (TCP).
        void (async () => {
          const deadline = Date.now() + 10_000;
          while (!exited) {
            const proto = transport === 't1' ? 'tcp' : 'udp';
            const bound = opts.netnsPid !== undefined ? boundInNetns(opts.netnsPid, proto, localPort) : await portInUse(proto, opts.localAddress, localPort);
            if (bound) {
              markReady();
              return;
            }
            if (Date.now() > deadline) {
              failReady(new Error(`sipp did not bind ${opts.localAddress}:${localPort} within 10 s: ${command}`));
              return;
            }
            await sleep(20);
          }
        })();

        child.once('error', (err) => {
          stderr.s += `\nspawn error: ${err.message}`;
        });
        child.once('close', (code, signal) => {
          exited = true;
          clearTimeout(hardKill);
          const result: SippResult = {
            code: code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0),
            signal,
            killed: killRequested,
            stdout: stdout.s,
            stderr: stderr.s,
            errors: readIfExists(files.errors),
            messages: readIfExists(files.messages),
            logs: readIfExists(files.logs),
            command,
          };
          failReady(new Error(`sipp exited (code ${result.code}) before it was listening: ${command}\n${result.stderr}\n${result.errors}`));
          rmSync(dir, { recursive: true, force: true });
          resolve(result);
        });
      }),
    (err: Error) => {
      failReady(err);
      rmSync(dir, { recursive: true, force: true });
      const empty = { signal: null, killed: killRequested, stdout: '', errors: '', messages: '', logs: '', command: '' };
      return { ...empty, code: 255, stderr: `no SIP port for sipp on ${opts.localAddress}: ${err.message}` };
    },
  );

  return {
    done,
    ready,
    port,
    kill() {
      killRequested = true;
      killFn?.();
    },
  };
}

/** For an assertion message: what SIPp ran and why it failed. */
export function describeSipp(r: SippResult): string {
  return `${r.command}\nexit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stderr\n${r.stderr}\n--- errors\n${r.errors}`;
}

/** Messages of a SIPp -trace_msg file, one string each, in order. */
export function messagesOf(r: SippResult): string[] {
  return r.messages.split(/\n(?=-{5,} )/).filter((m) => /message (sent|received)/.test(m));
}

/** When SIPp sent or received the first message with a line matching `line` (ms since the epoch, local clock). */
export function timeOf(r: SippResult, dir: 'sent' | 'received', line: RegExp): number {
  const msg = messagesOf(r).find((m) => new RegExp(`message ${dir}`).test(m) && m.split('\n').some((l) => line.test(l)));
  const stamp = /^-{5,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(msg ?? '');
  if (!stamp) throw new Error(`no ${dir} message matching ${line} in ${r.command}`);
  return new Date(`${stamp[1]}T${stamp[2]}`).getTime();
}
