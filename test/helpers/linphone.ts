// Linphone's console client (Debian's linphone-cli) as a second real softphone, headless:
// `linphonecsh init` starts `linphonec --pipe` with a config file the helper writes (SIP on a
// 127.0.0.x address, UDP only, sound from WAV files: no sound device) and later commands travel
// over its Unix socket. linphonec names that socket after the user id (/tmp/linphonec-<uid>), so
// one Linphone runs at a time on a machine user; HOME points into the helper's directory so its
// database and logs stay there. Skipped loudly when missing outside CI, failing in CI.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { freeSipPort, hasDrachtio } from './drachtio.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const hasLinphone = spawnSync('sh', ['-c', 'command -v linphonecsh && command -v linphonec'], { encoding: 'utf8' }).status === 0;

export function describeWithLinphone(name: string, fn: () => void): void {
  if (hasLinphone && hasDrachtio) {
    describe(name, fn);
    return;
  }
  const missing = [hasLinphone ? undefined : 'linphone-cli (linphonec, linphonecsh)', hasDrachtio ? undefined : 'drachtio-server'].filter(Boolean).join(' and ');
  if (process.env.CI) {
    describe(name, () => it(`needs ${missing}`, () => { throw new Error(`${missing} not found: CI must run the real-softphone tests`); }));
    return;
  }
  console.warn(`SKIPPED: ${name}: ${missing} not found`);
  describe.skip(name, fn);
}

export interface LinphoneOptions {
  address: string;
  edge: string;
  username: string;
  password: string;
}

export interface Linphone {
  sipPort: number;
  /** A linphonec command (`call sip:…`, `terminate`, `calls`); resolves with its output. */
  command(line: string): Promise<string>;
  waitForRegistration(timeoutMs?: number): Promise<void>;
  /** Polls `calls` until its output matches. */
  waitForCallState(state: RegExp, timeoutMs?: number): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startLinphone(opts: LinphoneOptions): Promise<Linphone> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-linphone-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const sipPort = await freeSipPort(opts.address);
  const rc = join(dir, 'linphonerc');
  const logFile = join(dir, 'linphone.log');
  writeFileSync(
    rc,
    [
      '[sip]',
      `sip_port=${sipPort}`,
      'sip_tcp_port=0',
      'sip_tls_port=0',
      `bind_address=${opts.address}`,
      '[rtp]',
      'audio_rtp_port=17000-17999',
      '[sound]',
      '[video]',
      'enabled=0',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, HOME: home };
  const sh = async (...args: string[]) => {
    const { stdout, stderr } = await run('linphonecsh', args, { env, timeout: 10_000 });
    return `${stdout}${stderr}`;
  };
  await sh('init', '-c', rc, '-d', '6', '-l', logFile);
  let stopped = false;
  const logs = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  /** The daemon this helper started: the linphonec whose command line names our own config file. */
  const daemonPid = (): number | undefined => {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.startsWith('linphonec') && cmd.includes(rc)) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  };
  const kill = () => {
    const pid = daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  };
  // The daemon's pipe appears a moment after `init` returns: retry until it answers.
  const command = async (line: string, timeoutMs = 10_000): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await sh('generic', line);
      } catch (e) {
        if (Date.now() > until || !/Failed to connect pipe/.test(String((e as { stderr?: string }).stderr ?? e))) throw e;
        await sleep(100);
      }
    }
  };
  try {
    // Sound from files: linphonec plays a WAV (silence when none is set) and records to one.
    await command('soundcard use files');
    await sh('register', '--host', opts.edge, '--username', opts.username, '--password', opts.password);
  } catch (e) {
    kill();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    sipPort,
    command,
    async waitForRegistration(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        // linphonecsh's exit code is the state itself (non-zero until registered): read its output.
        const status = await sh('status', 'register').catch((e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
        if (/^registered,/m.test(status)) return; // registered, identity=sip:alice@... duration=3600
        if (Date.now() > until) throw new Error(`linphone did not register: ${status}\n${logs().slice(-3000)}`);
        await sleep(200);
      }
    },
    async waitForCallState(state, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const calls = await command('calls');
        if (state.test(calls)) return calls;
        if (Date.now() > until) throw new Error(`linphone call never matched ${state}: ${calls}\n${logs().slice(-3000)}`);
        await sleep(200);
      }
    },
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await sh('exit').catch(() => '');
      for (let i = 0; i < 30 && daemonPid() !== undefined; i++) await sleep(100);
      kill(); // still there after `exit`
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
