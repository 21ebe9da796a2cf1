// The systemd install recipe as written: the build line of deploy/systemd/wa-edge.service (the one
// docs/quickstart.md runs in /opt/wa-sip-edge) run in a copy of this checkout, then the unit's
// ExecStart run with its own arguments, /opt/wa-sip-edge and /etc/wa-sip-edge/edge.yaml (a copy of
// config/example.yaml, as shipped) mapped to that copy, and EnvironmentFile= holding the quick
// start's edge.env. Without systemd as PID 1, User=, the sandboxing and the capabilities are not
// applied (systemd.test.ts has systemd-analyze verify for those).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { describeWithDrachtio, drachtioBin, freeSipPort, tcpAccepts } from '../helpers/drachtio.js';
import { freePort } from '../helpers/ports.js';
import { quickStartEnv, read, ROOT } from './tools.js';

const unit = read('deploy/systemd/wa-edge.service');
const directive = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
const BUILD = /^#\s+(npm ci && npm run build && npm prune --omit=dev)$/m.exec(unit)?.[1];

describe('deploy/systemd/wa-edge.service install recipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-install-'));
  const opt = join(dir, 'opt/wa-sip-edge');
  const etc = join(dir, 'etc/wa-sip-edge');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the build line, and docs/quickstart.md runs that same line', () => {
    expect(BUILD).toBe('npm ci && npm run build && npm prune --omit=dev');
    expect(read('docs/quickstart.md')).toContain(BUILD as string);
  });

  it('builds in a fresh copy with dev dependencies, then drops them', () => {
    const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter((f) => f !== '' && !f.startsWith('node_modules/'));
    for (const f of files) {
      if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree
      mkdirSync(dirname(join(opt, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(opt, f));
    }
    const r = spawnSync('sh', ['-c', BUILD as string], { cwd: opt, encoding: 'utf8', timeout: 400_000, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(existsSync(join(opt, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(opt, 'dist/console/index.html'))).toBe(true);
    expect(existsSync(join(opt, 'node_modules/typescript'))).toBe(false); // dev dependencies dropped
    expect(existsSync(join(opt, 'node_modules/drachtio-srf'))).toBe(true);
  }, 420_000);

  it('ExecStart, as written, validates and starts the built edge from the copied template and edge.env; ExecReload reloads it', async () => {
    const exec = directive('ExecStart') as string;
    expect(exec).toBe('/usr/bin/node /opt/wa-sip-edge/dist/main.js --config /etc/wa-sip-edge/edge.yaml');
    expect(directive('EnvironmentFile')).toBe('-/etc/wa-sip-edge/edge.env');
    mkdirSync(etc, { recursive: true });
    copyFileSync(join(ROOT, 'config/example.yaml'), join(etc, 'edge.yaml'));
    const httpPort = await freePort();
    // The quick start's edge.env (with the systemd lines), as systemd reads EnvironmentFile=.
    const env: Record<string, string> = { ...quickStartEnv(), DRACHTIO_HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:1', WA_EDGE_HTTP_PORT: String(httpPort) };
    writeFileSync(join(etc, 'edge.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const argv = exec.split(' ').map((a) => a.replace('/opt/wa-sip-edge', opt).replace('/etc/wa-sip-edge', etc));
    const [bin, ...args] = argv as [string, ...string[]];

    const check = spawnSync(bin, [args[0] as string, '--check-config', args[2] as string], { cwd: opt, env, encoding: 'utf8' });
    expect(check.stdout.trim(), check.stderr).toBe(`${join(etc, 'edge.yaml')}: OK (1 number(s), 1 trunk(s), 0 device(s))`);

    const edge = spawn(bin, args, { cwd: directive('WorkingDirectory')?.replace('/opt/wa-sip-edge', opt), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    edge.stdout.on('data', (d) => (out += d));
    edge.stderr.on('data', (d) => (out += d));
    try {
      // Liveness needs nothing else; readiness waits for drachtio-server and Redis (not started here).
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 }).toBe(200);
      expect(out).toContain('wa-sip-edge started');
      // ExecReload, as written, with systemd's $MAINPID: the edge reloads its file (SIGHUP).
      const reload = directive('ExecReload') as string;
      expect(reload).toBe('/bin/kill -HUP $MAINPID');
      const r = spawnSync('sh', ['-c', reload], { env: { ...process.env, MAINPID: String(edge.pid) }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      await expect.poll(() => out, { timeout: 10_000 }).toContain('configuration reloaded');
    } finally {
      const exited = new Promise((r) => edge.once('exit', r));
      edge.kill('SIGTERM'); // KillSignal=SIGTERM: the edge drains (nothing to drain) and exits
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (edge.exitCode === null) edge.kill('SIGKILL');
    }
    expect(edge.exitCode, out.slice(-2000)).toBe(0);
  }, 60_000);
});

// drachtio-server.service's ExecStart (docker/drachtio-start.sh) with the unit's own Environment=
// lines, paths mapped into a temporary directory. What a test cannot take as written: the SIP
// contacts of docker/drachtio.conf.xml (5060/5061 on every address) and its fixed control and
// metrics ports are moved to free loopback ports (the contacts rewritten in the copy, the ports by
// drachtio-server's own DRACHTIO_ADMIN_TCP_PORT / DRACHTIO_PROMETHEUS_SCRAPE_PORT), and
// SIP_PUBLIC_IP is left out (the script would add contacts on 5060).
describeWithDrachtio('deploy/systemd/drachtio-server.service ExecStart', () => {
  const unitText = read('deploy/systemd/drachtio-server.service');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-drachtio-unit-'));
  const map = (v: string) => v.replace('/etc/drachtio', join(dir, 'etc/drachtio')).replace('/etc/wa-sip-edge', join(dir, 'etc/wa-sip-edge')).replace('/run/drachtio', join(dir, 'run/drachtio')).replace('/opt/wa-sip-edge', ROOT.replace(/\/$/, '')).replace('/opt/drachtio/bin', dirname(drachtioBin as string));
  let proc: ChildProcess | undefined;
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts drachtio-server with its control port on 127.0.0.1 only, a TLS transport, the chain file in its runtime directory and a self-signed pair when none is given', async () => {
    const sipAddress = '127.0.0.6';
    const [sipPort, tlsPort, adminPort, metricsPort] = [await freeSipPort(sipAddress), await freePort(sipAddress), await freePort('127.0.0.1'), await freePort('127.0.0.1')];
    mkdirSync(join(dir, 'etc/drachtio'), { recursive: true });
    mkdirSync(join(dir, 'run/drachtio'), { recursive: true }); // RuntimeDirectory=drachtio
    const conf = read('docker/drachtio.conf.xml')
      .replace('<contact>sip:*:5060;transport=udp,tcp</contact>', `<contact>sip:${sipAddress}:${sipPort};transport=udp,tcp</contact>`)
      .replace('<contact>sips:*:5061;transport=tls</contact>', `<contact>sips:${sipAddress}:${tlsPort};transport=tls</contact>`);
    writeFileSync(join(dir, 'etc/drachtio/drachtio.conf.xml'), conf);
    const env: Record<string, string> = {};
    for (const m of unitText.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) env[m[1] as string] = map(m[2] as string);
    expect(env.DRACHTIO_ADMIN_ADDRESS).toBe('127.0.0.1');
    Object.assign(env, { DRACHTIO_SECRET: 'unit-test-secret', DRACHTIO_ADMIN_TCP_PORT: String(adminPort), DRACHTIO_PROMETHEUS_SCRAPE_PORT: `127.0.0.1:${metricsPort}` }); // EnvironmentFile + the test's ports
    const [shell, script] = (/^ExecStart=(.*)$/m.exec(unitText)?.[1] as string).split(' ').map(map) as [string, string];
    let out = '';
    proc = spawn(shell, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await vi.waitFor(async () => {
      if (proc!.exitCode !== null) throw new Error(`drachtio-server exited ${proc!.exitCode}\n${out.slice(-3000)}`);
      if (!(await tcpAccepts(sipAddress, tlsPort))) throw new Error('no TLS listener yet');
    }, { timeout: 20_000, interval: 200 });
    expect(await tcpAccepts('127.0.0.1', adminPort)).toBe(true);
    expect(await tcpAccepts('127.0.0.3', adminPort)).toBe(false); // not 0.0.0.0 as drachtio.conf.xml says for compose
    expect(existsSync(join(dir, 'run/drachtio/chain.pem'))).toBe(true);
    expect(existsSync(join(dir, 'etc/wa-sip-edge/tls/privkey.pem'))).toBe(true);
    expect(out).toContain('writing a SELF-SIGNED one');
  }, 40_000);
});
