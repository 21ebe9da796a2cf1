// The wa-edge process itself (src/main.ts): --check-config, start-up on a bad file, readiness
// while drachtio-server restarts, SIGHUP reload, SIGTERM drain. Real processes all the way.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort, startDrachtio, type DrachtioServer } from '../helpers/drachtio.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freePort } from '../helpers/ports.js';
import { baseConfigObject, BUSINESS, USER } from '../helpers/config.js';
import { sipp, describeSipp } from '../helpers/sipp.js';
import { until } from '../helpers/until.js';

const MAIN = ['--import', 'tsx', 'src/main.ts'];
const dir = mkdtempSync(join(tmpdir(), 'wa-edge-process-'));

function writeConfig(name: string, obj: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(obj));
  return file;
}

describe('wa-edge --check-config', () => {
  it('exits 0 on a valid file', () => {
    const r = spawnSync(process.execPath, [...MAIN, '--check-config', 'config/default.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/config\/default\.yaml: OK/);
  });
  it('exits 1 naming every problem with its key path', () => {
    const file = writeConfig('bad.yaml', baseConfigObject({ trunks: [{ name: 'a', sources: ['10.0.0.0/8', 'nope'], numbers: [BUSINESS] }], http: { adminToken: 'short' } }));
    const r = spawnSync(process.execPath, [...MAIN, '--check-config', file], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('trunks[0].sources[1]: not a CIDR');
    expect(r.stderr).toContain('http.adminToken: must be at least 16 characters');
  });
  it('exits 1 on telnyx.register without telnyx.auth, or with a registrar that is no SIP URI', () => {
    const telnyx = { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'] };
    const noAuth = writeConfig('register-no-auth.yaml', baseConfigObject({ telnyx: { ...telnyx, register: { registrar: 'sip:sip.telnyx.com;transport=tls' } } }));
    const r1 = spawnSync(process.execPath, [...MAIN, '--check-config', noAuth], { encoding: 'utf8' });
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain('telnyx.auth: required with telnyx.register');
    const badUri = writeConfig('register-bad-uri.yaml', baseConfigObject({ telnyx: { ...telnyx, auth: { username: 'u1234', password: 'p-12345678' }, register: { registrar: 'sip.telnyx.com' } } }));
    const r2 = spawnSync(process.execPath, [...MAIN, '--check-config', badUri], { encoding: 'utf8' });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('telnyx.register.registrar: not a SIP URI');
  });
  it('refuses to start on a bad file', () => {
    const file = writeConfig('bad2.yaml', { drachtio: {} });
    const r = spawnSync(process.execPath, [...MAIN, '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot start: .*drachtio\.secret/s);
  });
});

describeWithDrachtio('the running process', () => {
  let redis: RedisServer;
  let drachtio: DrachtioServer;
  let proc: ChildProcess;
  let http: string;
  let configFile: string;
  let telnyxPort: number;
  let out = '';
  let config: Record<string, unknown>;

  const get = (path: string) => fetch(`${http}${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const untilOut = (cond: () => Promise<boolean>, ms: number, what: string) => until(cond, ms, what, () => out);
  const ready = async () => (await get('/readyz')).status === 200;

  beforeAll(async () => {
    redis = await startRedis();
    drachtio = await startDrachtio();
    telnyxPort = await freeSipPort(addrs.telnyx);
    const httpPort = await freePort();
    http = `http://127.0.0.1:${httpPort}`;
    config = baseConfigObject({
      drachtio: { host: drachtio.adminHost, port: drachtio.adminPort, secret: drachtio.secret },
      redis: { url: redis.url },
      http: { host: '127.0.0.1', port: httpPort, adminToken: 'test-admin-token-0123456789' },
      telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`] },
      sip: { drainSeconds: 20 },
    });
    configFile = writeConfig('running.yaml', config);
    proc = spawn(process.execPath, [...MAIN, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await untilOut(ready, 20_000, 'the edge to become ready');
    const { Redis } = await import('ioredis');
    const c = new Redis(redis.url);
    await c.hset(`wa:{${BUSINESS.slice(1)}}:perm:${USER.slice(1)}`, 'kind', 'permanent');
    c.disconnect();
  }, 60_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await drachtio?.stop();
    await redis?.stop();
  });

  it('/healthz is 200, /readyz 503 naming drachtio while drachtio-server is down, and the edge reconnects by itself', async () => {
    expect((await get('/healthz')).status).toBe(200);
    await drachtio.kill();
    await untilOut(async () => (await get('/readyz')).status === 503, 10_000, '/readyz to turn 503');
    expect(JSON.parse((await get('/readyz')).body)).toMatchObject({ drachtio: 'down', redis: 'up' });
    expect((await get('/healthz')).status).toBe(200);
    await drachtio.start();
    await untilOut(ready, 15_000, 'the edge to reconnect to drachtio');
    expect(out).toMatch(/drachtio disconnected/);
  });

  it('SIGHUP with a broken file keeps the running configuration and says why', async () => {
    writeFileSync(configFile, 'trunks: [oops');
    proc.kill('SIGHUP');
    await untilOut(async () => /reload refused/.test(out), 5000, 'the refusal log line');
    expect((await get('/healthz')).status).toBe(200);
    writeFileSync(configFile, stringify(config));
  });

  it('SIGHUP applies a new file to the next call without dropping the one in progress', async () => {
    const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: telnyxPort, timeoutSec: 20 });
    await telnyx.ready;
    const held = sipp({ scenario: 'pbx_call.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: USER, vars: { hold: 2500 }, timeoutSec: 20 });
    await untilOut(async () => /call connected/.test(out), 5000, 'the call to connect');
    writeFileSync(configFile, stringify({ ...config, numbers: [{ number: BUSINESS, calling: false }] }));
    proc.kill('SIGHUP');
    await untilOut(async () => /configuration reloaded/.test(out), 5000, 'the reload');
    const refused = await sipp({
      scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: '+447911000009', vars: { code: '403', reason: 'calling_disabled' }, timeoutSec: 10,
    }).done;
    expect(refused.code, describeSipp(refused)).toBe(0);
    const [h, t] = await Promise.all([held.done, telnyx.done]);
    expect(h.code, describeSipp(h)).toBe(0);
    expect(t.code, describeSipp(t)).toBe(0);
    writeFileSync(configFile, stringify(config));
    proc.kill('SIGHUP');
  });

  it('SIGTERM drains: new calls get 503 draining, the call in progress ends normally, then the process exits 0', async () => {
    const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: telnyxPort, timeoutSec: 20 });
    await telnyx.ready;
    const before = out.length;
    const held = sipp({ scenario: 'pbx_call.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: USER, vars: { hold: 2500 }, timeoutSec: 20 });
    await untilOut(async () => /call connected/.test(out.slice(before)), 5000, 'the call to connect');
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    await untilOut(async () => /draining/.test(out.slice(before)), 5000, 'draining');
    const refused = await sipp({
      scenario: 'pbx_call_expect_reject.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: '+447911000009', vars: { code: '503', reason: 'draining', retry_after: 'yes' }, timeoutSec: 10,
    }).done;
    expect(refused.code, describeSipp(refused)).toBe(0);
    expect(proc.exitCode).toBeNull(); // still waiting for the held call
    const [h, t] = await Promise.all([held.done, telnyx.done]);
    expect(h.code, describeSipp(h)).toBe(0);
    expect(t.code, describeSipp(t)).toBe(0);
    expect(await exited).toBe(0);
  });
});
