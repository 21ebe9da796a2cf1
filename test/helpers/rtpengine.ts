// A real rtpengine (Debian's rtpengine-daemon, user space: no kernel module) per test file, its ng
// control on a free UDP port of 127.0.0.1 and its media on its own loopback address (127.0.0.7,
// so an SDP that carries it is told apart from the parties'), stopped afterwards. Never a mock.
// Tests that need it use `describeWithMedia`: outside CI it skips loudly when rtpengine or
// drachtio-server is missing; with CI set it fails instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { NgClient } from '../../src/media/rtpengine.js';
import { hasDrachtio, udpBound } from './drachtio.js';
import { freePort } from './ports.js';
import { scenarioPath } from './sipp.js';

/** rtpengine's media address in the e2e topology (the parties are 127.0.0.1 and 127.0.0.2). */
export const RTPENGINE_ADDRESS = '127.0.0.7';

function findRtpengine(): string | undefined {
  const env = process.env.RTPENGINE_BIN;
  if (env) return existsSync(env) ? env : undefined;
  const which = spawnSync('sh', ['-c', 'command -v rtpengine'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path : undefined;
}

export const rtpengineBin: string | undefined = findRtpengine();

let warned = false;

/** `describe` when rtpengine and drachtio-server are both here; else skip loudly (fail in CI). */
export function describeWithMedia(name: string, fn: () => void): void {
  const missing = [rtpengineBin ? undefined : 'rtpengine (apt-get install rtpengine-daemon, or set RTPENGINE_BIN)', hasDrachtio ? undefined : 'drachtio-server'].filter(Boolean);
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      throw new Error(`CI: missing ${missing.join(' and ')}`);
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.warn(`SKIPPED: media tests need ${missing.join(' and ')}`);
  }
  describe.skip(name, fn);
}

/** A UDP port on `address` the kernel just had free (nothing keeps it: bind promptly). */
export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address, port: 0, exclusive: true }, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** A free UDP port p on `address` with p+1 and p+2 free too (SIPp's media port, RTCP, video). */
export async function freeMediaPort(address: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freeUdpPort(address);
    if (p + 2 > 65535) continue;
    if (!(await udpBound(address, p + 1)) && !(await udpBound(address, p + 2))) return p;
  }
  throw new Error(`no three consecutive free UDP ports on ${address}`);
}

export interface RtpengineOptions {
  /** Media address (default 127.0.0.7). */
  address?: string;
  /**
   * RTP port range. The default sits below the kernel's ephemeral range (32768+) where other
   * tests' kernel-picked ports live; rtpengine skips a port that is taken.
   */
  portMin?: number;
  portMax?: number;
  /** rtpengine's own RTP timeout (`--timeout`), the last net when the edge is gone (default 60). */
  timeoutSeconds?: number;
}

export interface RtpengineServer {
  /** `host:port` of the ng control, as media.anchor.rtpengine takes it. */
  ng: string;
  address: string;
  /** Call ids rtpengine holds now (ng `list`). */
  calls(): Promise<string[]>;
  /** Packets it relayed since it started (ng `statistics`). */
  relayedPackets(): Promise<number>;
  /** Stops the process (an outage); `start` brings it back on the same ports. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  logs(): string;
  /** The rtpengine process id while it runs (benchmarks read its CPU time and memory). */
  pid(): number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRtpengine(opts: RtpengineOptions = {}): Promise<RtpengineServer> {
  const bin = rtpengineBin;
  if (!bin) throw new Error('rtpengine not found (apt-get install rtpengine-daemon, or set RTPENGINE_BIN)');
  const address = opts.address ?? RTPENGINE_ADDRESS;
  const ngPort = await freeUdpPort('127.0.0.1');
  const ngAddress = { host: '127.0.0.1', port: ngPort };
  const cliPort = await freePort('127.0.0.1');
  const client = new NgClient(500, () => {});
  const args = [
    // Not Debian's /etc/rtpengine/rtpengine.conf: its fixed ports (ng 2223, CLI 2224, HTTP 2225)
    // would collide between two rtpengines; everything is on this command line instead.
    '--config-file=none',
    '--table=-1',
    `--interface=${address}`,
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--listen-cli=127.0.0.1:${cliPort}`,
    `--port-min=${opts.portMin ?? 23000}`,
    `--port-max=${opts.portMax ?? 23999}`,
    `--timeout=${opts.timeoutSeconds ?? 60}`,
    '--foreground',
    '--log-stderr',
    '--log-level=6',
  ];
  const lines: string[] = [];
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const capture = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 2000) lines.splice(0, lines.length - 2000);
  };
  const running = () => !!proc && proc.exitCode === null && proc.signalCode === null;

  const start = async () => {
    if (running()) return;
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    lines.push(`--- spawn ${bin} ${args.join(' ')}`);
    p.stdout?.on('data', capture);
    p.stderr?.on('data', capture);
    exited = new Promise((resolve) => p.once('exit', (code, signal) => (lines.push(`--- rtpengine exited code=${code} signal=${signal}`), resolve())));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!running()) throw new Error(`rtpengine exited during start-up:\n${lines.slice(-30).join('\n')}`);
      try {
        await client.ping(ngAddress);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`rtpengine did not answer ping on 127.0.0.1:${ngPort}:\n${lines.slice(-30).join('\n')}`);
        await sleep(50);
      }
    }
  };
  const kill = async () => {
    const p = proc;
    if (!p || !running()) return;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    ng: `127.0.0.1:${ngPort}`,
    address,
    calls: () => client.list(ngAddress),
    relayedPackets: () => client.relayedPackets(ngAddress),
    kill,
    start,
    async stop() {
      await kill();
      client.close();
    },
    logs: () => lines.join('\n'),
    pid: () => (running() ? proc?.pid : undefined),
  };
}

/** An 8 kHz mu-law WAV (a 440 Hz tone) for SIPp's rtp_stream. */
export function pcmuWav(seconds: number): Buffer {
  const n = Math.round(seconds * 8000);
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = linearToMuLaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  const fmt = Buffer.alloc(26);
  fmt.write('fmt ', 0);
  fmt.writeUInt32LE(18, 4); // fmt chunk size
  fmt.writeUInt16LE(7, 8); // WAVE_FORMAT_MULAW
  fmt.writeUInt16LE(1, 10); // mono
  fmt.writeUInt32LE(8000, 12); // sample rate
  fmt.writeUInt32LE(8000, 16); // bytes per second
  fmt.writeUInt16LE(1, 20); // block align
  fmt.writeUInt16LE(8, 22); // bits per sample
  fmt.writeUInt16LE(0, 24); // no extension
  const head = Buffer.alloc(12);
  head.write('RIFF', 0);
  head.writeUInt32LE(4 + fmt.length + 8 + n, 4);
  head.write('WAVE', 8);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0);
  dataHead.writeUInt32LE(n, 4);
  return Buffer.concat([head, fmt, dataHead, data]);
}

/** G.711 mu-law of a 16-bit sample (ITU-T G.711, the usual bias-and-segment form). */
function linearToMuLaw(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; exponent > 0 && !(s & mask); mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return s;
}

/** The media scenarios (SIPp with RTP), with __WAV__ pointing at a 2 s tone written beside them. */
export function mediaScenarios() {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-media-'));
  const wav = join(dir, 'tone.wav');
  writeFileSync(wav, pcmuWav(2));
  const withWav = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, readFileSync(scenarioPath(name), 'utf8').replaceAll('__WAV__', wav));
    return path;
  };
  return {
    caller: withWav('uac_call_media.xml'),
    callerWaitsBye: withWav('uac_call_media_wait_bye.xml'),
    answerer: withWav('uas_answer_media.xml'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
