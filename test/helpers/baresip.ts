// A real softphone for end-to-end tests: Debian's baresip (`baresip-core`), headless. One process
// per phone, its own config directory: SIP on a 127.0.0.x address and a kernel-picked port,
// `aufile` playing a WAV the helper writes as the microphone, `aubridge` as the loudspeaker (no
// sound device), `menu` for the commands, and the `ctrl_tcp` module on 127.0.0.1 through which the test dials, answers,
// hangs up and reads baresip's events (netstring-framed JSON: `{"command":"dial","params":"sip:…"}`
// in, `{"event":true,"type":"CALL_ESTABLISHED",…}` and `{"response":true,"ok":…}` out).
// Tests that need it use `describeWithBaresip`: skipped loudly when baresip (or drachtio-server)
// is missing, failing in CI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { freeSipPort, hasDrachtio } from './drachtio.js';
import { freePort } from './ports.js';

function findBaresip(): string | undefined {
  const env = process.env.BARESIP_BIN;
  if (env) return env;
  const r = spawnSync('sh', ['-c', 'command -v baresip'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

export const baresipBin: string | undefined = findBaresip();
const MODULE_PATH = process.env.BARESIP_MODULES ?? '/usr/lib/baresip/modules';

/** `describe` when baresip and drachtio-server are there; else one loud SKIPPED line, or a failing test in CI. */
export function describeWithBaresip(name: string, fn: () => void): void {
  if (baresipBin && hasDrachtio) {
    describe(name, fn);
    return;
  }
  const missing = [baresipBin ? undefined : 'baresip (apt-get install baresip-core)', hasDrachtio ? undefined : 'drachtio-server'].filter(Boolean).join(' and ');
  if (process.env.CI) {
    describe(name, () => it(`needs ${missing}`, () => { throw new Error(`${missing} not found: CI must run the real-softphone tests`); }));
    return;
  }
  console.warn(`SKIPPED: ${name}: ${missing} not found`);
  describe.skip(name, fn);
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  [key: string]: unknown;
}

export interface BaresipOptions {
  /** Loopback address baresip's SIP stack listens on (127.0.0.x). */
  address: string;
  /** host:port of the edge (registrar and outbound proxy: the AOR's domain). */
  edge: string;
  username: string;
  password: string;
  /** Display name in From, to show the edge does not pass it on. */
  displayName?: string;
  /** Answer incoming calls by itself (account `answermode=auto`). */
  autoAnswer?: boolean;
  /** REGISTER interval in seconds (default 600). */
  regint?: number;
}

export interface Baresip {
  /** The address-of-record it registers: sip:USER@edge. */
  aor: string;
  sipPort: number;
  /** Every event baresip has reported so far, in order. */
  events: BaresipEvent[];
  /** Sends one ctrl_tcp command; resolves with baresip's response. */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }>;
  /** Resolves once its account is registered (reginfo says OK); REGISTER_OK may fire before ctrl_tcp is connected. */
  waitForRegistration(timeoutMs?: number): Promise<void>;
  /** Resolves with the first event of `type` (already seen or still to come) matching `where`. */
  waitForEvent(type: string, timeoutMs?: number, where?: (e: BaresipEvent) => boolean): Promise<BaresipEvent>;
  /** stdout + stderr so far (baresip runs with -v). */
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s; removes the config directory. Idempotent. */
  stop(): Promise<void>;
}

/** 1 s of a 440 Hz tone, 8 kHz mono S16LE: what aufile wants for PCMU/PCMA. */
function writeToneWav(path: string): void {
  const rate = 8000;
  const samples = rate;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16); // PCM header size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/** Netstrings (`LEN:payload,`) out of a TCP byte stream. */
class NetstringReader {
  private buf = Buffer.alloc(0);
  constructor(private readonly onMessage: (payload: string) => void) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(len) || len < 0) throw new Error(`ctrl_tcp: bad netstring length ${this.buf.subarray(0, colon).toString('ascii')}`);
      if (this.buf.length < colon + 1 + len + 1) return;
      this.onMessage(this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8'));
      this.buf = this.buf.subarray(colon + 1 + len + 1);
    }
  }
}

const netstring = (s: string) => `${Buffer.byteLength(s)}:${s},`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  const bin = baresipBin;
  if (!bin) throw new Error('baresip not found');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-baresip-'));
  const sipPort = await freeSipPort(opts.address);
  const ctrlPort = await freePort('127.0.0.1');
  const wav = join(dir, 'tone.wav');
  writeToneWav(wav);
  // Only the modules a headless phone needs: G.711, a WAV microphone, a bridge as loudspeaker and
  // ringer (no sound device), the accounts file and the TCP control channel.
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${opts.address}:${sipPort}`,
      `audio_source aufile,${wav}`,
      'audio_player aubridge,speaker',
      'audio_alert aubridge,ringer',
      `module_path ${MODULE_PATH}`,
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      'module_app account.so',
      'module_app menu.so', // the commands themselves (dial, accept, hangup, reginfo)
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      '',
    ].join('\n'),
  );
  const aor = `sip:${opts.username}@${opts.edge}`;
  const name = opts.displayName ? `"${opts.displayName}" ` : '';
  const params = [`auth_pass=${opts.password}`, `regint=${opts.regint ?? 600}`, `answermode=${opts.autoAnswer ? 'auto' : 'manual'}`, 'audio_codecs=PCMU,PCMA'];
  writeFileSync(join(dir, 'accounts'), `${name}<${aor};transport=udp>;${params.join(';')}\n`);

  const lines: string[] = [];
  const proc: ChildProcess = spawn(bin, ['-f', dir, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const capture = (chunk: Buffer) => lines.push(chunk.toString('utf8'));
  proc.stdout?.on('data', capture);
  proc.stderr?.on('data', capture);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const logs = () => lines.join('');

  // The control channel comes up once baresip has loaded its modules.
  let sock: Socket | undefined;
  const deadline = Date.now() + 10_000;
  while (!sock) {
    if (proc.exitCode !== null) throw new Error(`baresip exited during start-up (code ${proc.exitCode}):\n${logs()}`);
    sock = await new Promise<Socket | undefined>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ctrlPort });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (!sock) {
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`baresip's ctrl_tcp did not come up on 127.0.0.1:${ctrlPort}:\n${logs()}`);
      }
      await sleep(50);
    }
  }

  const events: BaresipEvent[] = [];
  const waiters = new Set<() => void>();
  const pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  let nextToken = 1;
  const reader = new NetstringReader((payload) => {
    const msg = JSON.parse(payload) as Record<string, unknown>;
    if (msg.event) {
      events.push(msg as BaresipEvent);
      waiters.forEach((w) => w());
    } else if (msg.response && typeof msg.token === 'string') {
      pending.get(msg.token)?.({ ok: msg.ok === true, data: String(msg.data ?? '') });
      pending.delete(msg.token);
    }
  });
  sock.on('data', (chunk) => reader.push(chunk));
  sock.on('error', () => {});

  let stopped = false;
  const command: Baresip['command'] = (name, params) => {
    const token = String(nextToken++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(token);
        reject(new Error(`baresip did not answer ${name} ${params ?? ''}`));
      }, 5000);
      pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      sock.write(netstring(JSON.stringify({ command: name, ...(params !== undefined ? { params } : {}), token })));
    });
  };
  return {
    aor,
    sipPort,
    events,
    command,
    async waitForRegistration(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const info = await command('reginfo');
        // eslint-disable-next-line no-control-regex
        if (/\bOK\b/.test(info.data.replace(/\x1b\[[0-9;]*m/g, ' '))) return; // baresip colours its status
        if (Date.now() > until) throw new Error(`baresip did not register within ${timeoutMs} ms: ${info.data}\n${logs().slice(-4000)}`);
        await sleep(100);
      }
    },
    waitForEvent(type, timeoutMs = 10_000, where = () => true) {
      const find = () => events.find((e) => e.type === type && where(e));
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = find();
          if (!e) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`baresip reported no ${type} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}\n${logs().slice(-4000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      sock?.destroy();
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
