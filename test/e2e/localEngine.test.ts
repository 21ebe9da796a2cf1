// The local engine (SPEC §2 `drachtio.spawn`): the edge starts its own drachtio-server from a
// generated config, supervises it, and stops it; the wa-edge process runs on it end to end.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineStartError, startLocalEngine, type EngineEvent } from '../../src/sip/localEngine.js';
import { addrs, describeWithDrachtio, drachtioBin, freeSipPort, portInUse, tcpAccepts } from '../helpers/drachtio.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { baseConfigObject } from '../helpers/config.js';
import { sipOptions } from '../helpers/sipOptions.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const bindUdp = (address: string, port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ address, port, exclusive: true }, () => resolve(s));
  });

describeWithDrachtio('the local engine', () => {
  const bin = drachtioBin!;

  it('starts drachtio-server with the control port on 127.0.0.1, a random secret and the SIP contacts open', async () => {
    const port = await freeSipPort(addrs.edge);
    const logs: string[] = [];
    const a = await startLocalEngine({ bin, contacts: [`sip:${addrs.edge}:${port};transport=udp,tcp`], supervise: false, onLog: (level, text) => logs.push(`${level} ${text}`) });
    const b = await startLocalEngine({ bin, contacts: [`sip:${addrs.edge}:${await freeSipPort(addrs.edge)}`], supervise: false });
    try {
      expect(a.adminHost).toBe('127.0.0.1');
      expect(await tcpAccepts('127.0.0.1', a.adminPort)).toBe(true);
      expect(await portInUse('udp', addrs.edge, port)).toBe(true);
      expect(await portInUse('tcp', addrs.edge, port)).toBe(true);
      expect(a.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(a.secret).not.toBe(b.secret);
      await until(() => logs.some((l) => /^info Starting drachtio version v0\.9\.10/.test(l)), 5000, 'the start-up line in the log');
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(await portInUse('udp', addrs.edge, port)).toBe(false);
  });

  it('restarts drachtio-server with backoff when it dies, on the same ports', async () => {
    const port = await freeSipPort(addrs.edge);
    const events: EngineEvent[] = [];
    const engine = await startLocalEngine({
      bin, contacts: [`sip:${addrs.edge}:${port}`], onEvent: (e) => events.push(e), backoff: { minMs: 200, maxMs: 2000, stableMs: 30_000 },
    });
    try {
      const first = engine.pid!;
      await engine.kill('SIGKILL');
      await until(() => events.some((e) => e.kind === 'restarted'), 10_000, 'a restart', () => engine.output());
      expect(engine.pid).not.toBe(first);
      expect(events.map((e) => e.kind)).toEqual(['exited', 'restarting', 'restarted']);
      expect(events[1]).toMatchObject({ inMs: 200, attempt: 1 });
      expect(await tcpAccepts('127.0.0.1', engine.adminPort)).toBe(true);
      expect(await portInUse('udp', addrs.edge, port)).toBe(true);
      await engine.kill('SIGKILL');
      await until(() => events.filter((e) => e.kind === 'restarted').length === 2, 10_000, 'a second restart');
      expect(events.find((e, i) => e.kind === 'restarting' && i > 2)).toMatchObject({ inMs: 400, attempt: 2 }); // doubled
    } finally {
      await engine.stop();
    }
    const pidAfterStop = engine.pid;
    await sleep(600); // an absence (no restart after stop) has nothing to wait on: three times the first back-off
    expect(pidAfterStop).toBeUndefined();
    expect(engine.running).toBe(false); // stop() is final: no restart
  });

  it('refuses to start on a SIP port that is taken, naming it', async () => {
    const port = await freeSipPort(addrs.edge);
    const squatter = await bindUdp(addrs.edge, port);
    try {
      const started = startLocalEngine({ bin, contacts: [`sip:${addrs.edge}:${port};transport=udp,tcp`], supervise: false });
      await expect(started).rejects.toThrow(EngineStartError);
      await expect(started).rejects.toThrow(`SIP port ${addrs.edge}:${port} (udp) is already in use`);
    } finally {
      squatter.close();
    }
  });

  it('refuses to start on a control port that is taken, naming it', async () => {
    const adminPort = await freePort();
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(adminPort, '127.0.0.1', r));
    try {
      await expect(startLocalEngine({ bin, contacts: [`sip:${addrs.edge}:${await freeSipPort(addrs.edge)}`], adminPort, supervise: false })).rejects.toThrow(
        `drachtio control port 127.0.0.1:${adminPort} is already in use`,
      );
    } finally {
      squatter.close();
    }
  });

  it('says plainly when the binary is missing', async () => {
    await expect(startLocalEngine({ bin: '/nonexistent/drachtio', contacts: ['sip:127.0.0.3:5999'] })).rejects.toThrow(
      'drachtio-server not found at /nonexistent/drachtio (install it: scripts/install-drachtio-server.sh)',
    );
  });
});

describeWithDrachtio('wa-edge with drachtio.spawn', () => {
  const MAIN = ['--import', 'tsx', 'src/main.ts'];
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-spawn-'));
  let redis: RedisServer;
  let proc: ChildProcess;
  let out = '';
  let http: string;
  let sipPort: number;
  let config: Record<string, unknown>;
  const get = (path: string) => fetch(`${http}${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const enginePid = () => Number([...out.matchAll(/"pid":(\d+)/g)].at(-1)?.[1]);

  beforeAll(async () => {
    redis = await startRedis();
    sipPort = await freeSipPort(addrs.edge);
    const httpPort = await freePort();
    http = `http://127.0.0.1:${httpPort}`;
    config = baseConfigObject({
      drachtio: { spawn: { bin: drachtioBin, contacts: [`sip:${addrs.edge}:${sipPort};transport=udp,tcp`] } },
      redis: { url: redis.url },
      http: { host: '127.0.0.1', port: httpPort, adminToken: 'test-admin-token-0123456789' },
    });
    const file = join(dir, 'spawn.yaml');
    writeFileSync(file, stringify(config));
    proc = spawn(process.execPath, [...MAIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
  }, 30_000);

  afterAll(async () => {
    const pid = enginePid();
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    await redis?.stop();
  });

  it('answers OPTIONS from a trunk with 200 and /readyz with 200 within 15 s of start', async () => {
    const started = Date.now();
    await until(async () => (await sipOptions(addrs.pbx, addrs.edge, sipPort, 500)) === 200, 15_000, 'OPTIONS 200', () => out);
    await until(async () => (await get('/readyz')).status === 200, 15_000 - (Date.now() - started), '/readyz 200', () => out);
    expect(out).toMatch(/"component":"drachtio-server".*Starting drachtio version/);
  });

  it('restarts a drachtio-server that died: /readyz 503 and drachtio_connected 0 meanwhile, then 200 by itself', async () => {
    const first = enginePid();
    expect(processAlive(first)).toBe(true);
    process.kill(first, 'SIGKILL');
    await until(async () => (await get('/readyz')).status === 503, 10_000, '/readyz 503', () => out);
    expect(JSON.parse((await get('/readyz')).body)).toMatchObject({ drachtio: 'down' });
    expect((await get('/metrics')).body).toMatch(/^wa_edge_drachtio_connected 0$/m);
    await until(async () => (await get('/readyz')).status === 200, 20_000, '/readyz back to 200', () => out);
    expect((await get('/metrics')).body).toMatch(/^wa_edge_drachtio_connected 1$/m);
    expect(out).toMatch(/drachtio-server exited; restarting it/);
    expect(enginePid()).not.toBe(first);
    expect(await sipOptions(addrs.pbx, addrs.edge, sipPort)).toBe(200);
  });

  it('a second edge on the same SIP port exits with one line naming the port', async () => {
    const file = join(dir, 'clash.yaml');
    writeFileSync(file, stringify({ ...config, http: { host: '127.0.0.1', port: await freePort(), adminToken: 'test-admin-token-0123456789' } }));
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [...MAIN, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      p.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`wa-edge: cannot start: SIP port ${addrs.edge}:${sipPort} (udp) is already in use`);
  });

  it('SIGTERM stops drachtio-server after the drain, then the process exits 0', async () => {
    const pid = enginePid();
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(processAlive(pid)).toBe(false);
    expect(await portInUse('udp', addrs.edge, sipPort)).toBe(false);
  });
});

describeWithDrachtio('the local engine when the edge dies', () => {
  it('takes drachtio-server with it, so the SIP port is free for the next edge', async () => {
    const port = await freeSipPort(addrs.edge);
    const script = `
      import { startLocalEngine } from './src/sip/localEngine.ts';
      const e = await startLocalEngine({ bin: ${JSON.stringify(drachtioBin)}, contacts: ['sip:${addrs.edge}:${port}'] });
      console.log('engine ' + e.pid);
      setInterval(() => {}, 1000);`;
    const edge = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    edge.stdout!.on('data', (d) => (out += d));
    await until(() => /engine \d+/.test(out), 15_000, 'the engine to start', () => out);
    const pid = Number(/engine (\d+)/.exec(out)![1]);
    expect(processAlive(pid)).toBe(true);
    edge.kill('SIGKILL');
    await until(() => !processAlive(pid), 5000, 'drachtio-server to exit with its parent');
    await until(async () => !(await portInUse('udp', addrs.edge, port)), 5000, 'the SIP port to be free');
  });
});
