// A real drachtio-server per test file (the SIP stack the edge app drives), on free loopback
// ports, stopped afterwards. Never a mock. Tests that need it use `describeWithDrachtio`, which
// skips loudly when the binary is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { freePort } from './ports.js';

/** Loopback addresses of the e2e topology. Never use any other address in tests. */
export const addrs = {
  pbx: '127.0.0.1',
  telnyx: '127.0.0.2',
  edge: '127.0.0.3',
  softphone: '127.0.0.4',
  unknown: '127.0.0.5',
} as const;

function findDrachtio(): string | undefined {
  const env = process.env.DRACHTIO_BIN;
  if (env && existsSync(env)) return env;
  if (existsSync('/opt/drachtio/bin/drachtio')) return '/opt/drachtio/bin/drachtio';
  return undefined;
}

/** Path of the drachtio-server binary: $DRACHTIO_BIN, else /opt/drachtio/bin/drachtio, else undefined. */
export const drachtioBin: string | undefined = findDrachtio();
export const hasDrachtio: boolean = drachtioBin !== undefined;

let warned = false;

/** `describe` when drachtio-server is available, else `describe.skip` plus one loud line per process. */
export function describeWithDrachtio(name: string, fn: () => void): void {
  if (hasDrachtio) {
    describe(name, fn);
    return;
  }
  if (!warned) {
    warned = true;
    console.warn('SKIPPED: drachtio-server not found (set DRACHTIO_BIN or build /opt/drachtio/bin/drachtio)');
  }
  describe.skip(name, fn);
}

/** Resolves true when a UDP socket can bind address:port right now. */
function udpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Resolves true when a TCP server can listen on address:port right now. */
function tcpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port free for both UDP and TCP on `address` (SIP listens on both), picked by the kernel. */
export async function freeSipPort(address: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind({ address, port: 0, exclusive: true }, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (await tcpFree(address, port)) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${address}`);
}

/** `/proc/net/{udp,tcp}` form of an IPv4 address: the 32-bit value in host (little-endian) order. */
function procHex(address: string): string {
  return address
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

/**
 * Whether a socket is bound (UDP) or listening (TCP) on address:port, read from /proc/net, so
 * the check never takes the port itself (a bind probe could steal it from a process that is
 * starting up). A socket on 0.0.0.0 counts. Falls back to a bind probe without /proc.
 */
export async function portInUse(proto: 'udp' | 'tcp', address: string, port: number): Promise<boolean> {
  let table: string;
  try {
    table = readFileSync(`/proc/net/${proto}`, 'utf8');
  } catch {
    return !(await (proto === 'udp' ? udpFree(address, port) : tcpFree(address, port)));
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const wanted = new Set([`${procHex(address)}:${portHex}`, `00000000:${portHex}`]);
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    if (!local || !wanted.has(local)) continue;
    if (proto === 'udp' || state === '0A') return true; // 0A = LISTEN
  }
  return false;
}

/** True when a UDP socket is bound on address:port. */
export function udpBound(address: string, port: number): Promise<boolean> {
  return portInUse('udp', address, port);
}

/** True when a TCP listener on host:port accepts a connection. */
export function tcpAccepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DrachtioOptions {
  /** SIP bind address (default 127.0.0.3, the edge). */
  sipAddress?: string;
  /** SIP port, UDP and TCP (default: a free one). */
  sipPort?: number;
  /** Admin (application) TCP port on 127.0.0.1 (default: a free one). */
  adminPort?: number;
  /** Admin shared secret (default `cymru`). */
  secret?: string;
  /** drachtio log level (default info). */
  logLevel?: 'notice' | 'error' | 'warning' | 'info' | 'debug';
  /** sofia-sip log level 0-9 (default 3). */
  sofiaLogLevel?: number;
}

export interface DrachtioServer {
  sipAddress: string;
  sipPort: number;
  /** Admin port; the admin address is always 127.0.0.1. */
  adminHost: string;
  adminPort: number;
  secret: string;
  /** `host:port` of the SIP listener, the form SIPp takes as remote. */
  sipHostPort: string;
  /** SIGTERM, then SIGKILL after 3 s; removes the temp config. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process only (keeps config and ports) — a crash / outage for fault tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again on the same ports (after kill or stop). */
  start(): Promise<void>;
  /** stop + start with the same ports. */
  restart(): Promise<void>;
  /** Captured stdout+stderr, the last ~2000 lines. */
  logs(): string;
  /** The process is running. */
  running(): boolean;
}

const MAX_LOG_LINES = 2000;

export async function startDrachtio(opts: DrachtioOptions = {}): Promise<DrachtioServer> {
  const bin = drachtioBin;
  if (!bin) throw new Error('drachtio-server not found (set DRACHTIO_BIN or build /opt/drachtio/bin/drachtio)');
  const sipAddress = opts.sipAddress ?? addrs.edge;
  const adminHost = '127.0.0.1';
  const sipPort = opts.sipPort ?? (await freeSipPort(sipAddress));
  const adminPort = opts.adminPort ?? (await freePort(adminHost));
  const secret = opts.secret ?? 'cymru';
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-drachtio-'));
  const configFile = join(dir, 'drachtio.conf.xml');
  const args = [
    '-f', configFile,
    '--address', adminHost,
    '-p', String(adminPort),
    '--secret', secret,
    '-c', `sip:${sipAddress}:${sipPort};transport=udp,tcp`,
    '-l', opts.logLevel ?? 'info',
    '--sofia-loglevel', String(opts.sofiaLogLevel ?? 3),
    '--stdout',
  ];

  const lines: string[] = [];
  let partial = '';
  const capture = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
  };

  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) return;
    // After a stop the ports may still be settling (TIME_WAIT is fine for a listener; a
    // lingering process is not): wait until they are free again.
    for (let i = 0; i < 100 && !((await udpFree(sipAddress, sipPort)) && (await tcpFree(adminHost, adminPort))); i++) await sleep(50);
    // Everything that matters is on the command line; drachtio insists on a config file anyway.
    mkdirSync(dir, { recursive: true });
    writeFileSync(configFile, '<drachtio><admin/></drachtio>\n');
    lines.push(`--- spawn ${bin} ${args.join(' ')}`);
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', capture);
    p.stderr?.on('data', capture);
    exited = new Promise<void>((resolve) => {
      p.once('exit', (code, signal) => {
        lines.push(`--- drachtio exited code=${code} signal=${signal}`);
        resolve();
      });
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) {
        throw new Error(`drachtio-server exited during start-up (code ${p.exitCode}, signal ${p.signalCode}):\n${lines.slice(-40).join('\n')}`);
      }
      if ((await portInUse('tcp', adminHost, adminPort)) && (await portInUse('udp', sipAddress, sipPort))) return;
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        throw new Error(`drachtio-server did not come up on admin ${adminHost}:${adminPort} / sip ${sipAddress}:${sipPort}:\n${lines.slice(-40).join('\n')}`);
      }
      await sleep(25);
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    sipAddress,
    sipPort,
    adminHost,
    adminPort,
    secret,
    sipHostPort: `${sipAddress}:${sipPort}`,
    start,
    kill,
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGTERM');
      await start();
    },
    logs: () => [...lines, partial].join('\n'),
    running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
  };
}
