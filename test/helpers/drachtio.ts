// A real drachtio-server per test file (the SIP stack the edge app drives), on free loopback
// ports, stopped afterwards. Never a mock. It is started by the edge's own local engine
// (src/sip/localEngine.ts, unsupervised here so fault tests decide when it comes back). Tests
// that need it use `describeWithDrachtio`: a loud skip when the binary is missing, a failure in CI.
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, it } from 'vitest';
import { engineVersion, startLocalEngine } from '../../src/sip/localEngine.js';
import { engineCanVerify, type EngineTlsOptions, type OutgoingTlsVerification } from '../../src/sip/engineTls.js';
import { portInUse, tcpFree } from '../../src/sip/ports.js';
import { freePort } from './ports.js';

export { portInUse };

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

/** What the binary the tests use reports as its version (the install script's patch suffix included). */
export const drachtioVersion: string | undefined = drachtioBin ? engineVersion(drachtioBin) : undefined;
/** The binary carries the outgoing-TLS verification patch (deploy/drachtio/patches). */
export const drachtioVerifies: boolean = engineCanVerify(drachtioVersion);

/**
 * `describeWithDrachtio` for suites that need the patched engine. An unpatched one (built before
 * the patch, or another build): in CI one failing test naming its version; elsewhere a loud skip.
 */
export function describeWithVerifyingDrachtio(name: string, fn: () => void): void {
  if (!hasDrachtio || drachtioVerifies) {
    describeWithDrachtio(name, fn);
    return;
  }
  const why = `${drachtioBin} reports ${drachtioVersion ?? 'no version'}, not the patched build (+tlsverify.N): rebuild it with scripts/install-drachtio-server.sh`;
  if (process.env.CI) {
    describe(name, () => {
      it('needs the patched drachtio-server', () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(`SKIPPED: ${name}: ${why}`);
  describe.skip(name, fn);
}

/**
 * `describe` when drachtio-server is available. Without it: in CI (`CI` set) one failing test
 * that says so, since CI must never skip SIP; elsewhere `describe.skip` plus one loud line.
 */
export function describeWithDrachtio(name: string, fn: () => void): void {
  if (hasDrachtio) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('needs drachtio-server', () => {
        throw new Error('drachtio-server not found and CI is set: SIP suites must run (scripts/install-drachtio-server.sh, or DRACHTIO_BIN)');
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.warn('SKIPPED: drachtio-server not found (set DRACHTIO_BIN or run scripts/install-drachtio-server.sh)');
  }
  describe.skip(name, fn);
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
  /** Also SIP over TLS on sipAddress (a free port), with these files, or a self-signed pair for `true`. */
  tls?: true | EngineTlsOptions;
  /** Verify the far end of outgoing TLS (the patched engine's switches, as telnyx.tls sets them); default off. */
  verifyOutgoing?: OutgoingTlsVerification;
  /** Also SIP over WebSocket (the console's phone) on sipAddress, a free port: `ws` plain, `wss` with the TLS files. */
  ws?: 'ws' | 'wss';
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
  /** The TLS listener's port on sipAddress, with `tls`. */
  tlsPort?: number;
  /** The WebSocket listener's contact and port on sipAddress, with `ws`. */
  wsContact?: string;
  wsPort?: number;
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
  /** drachtio-server's own pid while it runs (setpriv execs it, so the spawned pid is the engine's). */
  pid(): number | undefined;
}

export async function startDrachtio(opts: DrachtioOptions = {}): Promise<DrachtioServer> {
  const bin = drachtioBin;
  if (!bin) throw new Error('drachtio-server not found (set DRACHTIO_BIN or run scripts/install-drachtio-server.sh)');
  const sipAddress = opts.sipAddress ?? addrs.edge;
  const sipPort = opts.sipPort ?? (await freeSipPort(sipAddress));
  const tlsPort = opts.tls ? await freePort(sipAddress) : undefined;
  const wsPort = opts.ws ? await freePort(sipAddress) : undefined;
  // drachtio-server hands its TLS files only to contacts that say sips or tls: a wss contact is sips:.
  const wsContact = wsPort ? `${opts.ws === 'wss' ? 'sips' : 'sip'}:${sipAddress}:${wsPort};transport=${opts.ws}` : undefined;
  const engine = await startLocalEngine({
    bin,
    contacts: [`sip:${sipAddress}:${sipPort};transport=udp,tcp`, ...(tlsPort ? [`sips:${sipAddress}:${tlsPort};transport=tls`] : []), ...(wsContact ? [wsContact] : [])],
    ...(typeof opts.tls === 'object' ? { tls: opts.tls } : {}),
    ...(opts.verifyOutgoing ? { verifyOutgoing: opts.verifyOutgoing } : {}),
    adminPort: opts.adminPort ?? (await freePort('127.0.0.1')),
    secret: opts.secret ?? 'cymru',
    logLevel: opts.logLevel ?? 'info',
    sofiaLogLevel: opts.sofiaLogLevel ?? 3,
    supervise: false,
  });
  return {
    sipAddress,
    sipPort,
    adminHost: engine.adminHost,
    adminPort: engine.adminPort,
    secret: engine.secret,
    sipHostPort: `${sipAddress}:${sipPort}`,
    ...(tlsPort ? { tlsPort } : {}),
    ...(wsContact ? { wsContact, wsPort } : {}),
    start: () => engine.start(),
    kill: (signal = 'SIGTERM') => engine.kill(signal),
    stop: () => engine.stop(),
    async restart() {
      await engine.kill('SIGTERM');
      await engine.start();
    },
    logs: () => engine.output(),
    running: () => engine.running,
    pid: () => engine.pid,
  };
}
