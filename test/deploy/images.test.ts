// docker/Dockerfile, docker/drachtio.conf.xml and docker/drachtio-start.sh. No Docker engine here:
// the Dockerfile is checked as text, the start script is run against a stub `drachtio`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, read, tool } from './tools.js';

const dockerfile = read('docker/Dockerfile');
/** Instructions with line continuations joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = instructions.filter((l) => /^FROM\s/i.test(l));
const lastStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1] as string));

describe('docker/Dockerfile', () => {
  it('is multi-stage on a slim Node LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const arg = /^ARG NODE_VERSION=(\d+)/m.exec(dockerfile);
    expect(arg).not.toBeNull();
    const major = Number(arg?.[1]);
    expect(major % 2).toBe(0); // even majors are the LTS lines
    expect(major).toBeGreaterThanOrEqual(22);
    for (const s of stages) expect(s).toMatch(/^FROM node:\$\{NODE_VERSION\}-slim AS \w+$/);
  });

  it('builds with npm ci && npm run build (tsc + Lua copy) and ships production dependencies only', () => {
    expect(instructions).toContain('RUN npm ci --no-audit --no-fund');
    expect(instructions.some((l) => l.startsWith('RUN npm run build'))).toBe(true);
    expect(instructions.some((l) => l.includes('dist/state/lua/*.lua'))).toBe(true);
    expect(instructions.some((l) => l.includes('npm ci --omit=dev'))).toBe(true);
    expect(lastStage).toContain('COPY --from=build /src/dist ./dist');
  });

  it('runs as a non-root user, from /app, with a HEALTHCHECK on /healthz and node dist/main.js', () => {
    const user = lastStage.filter((l) => l.startsWith('USER '));
    expect(user.length).toBe(1);
    const who = (user[0] as string).slice(5).trim();
    expect(['root', '0', '0:0', 'root:root']).not.toContain(who);
    expect(lastStage).toContain('WORKDIR /app');
    const hc = lastStage.find((l) => l.startsWith('HEALTHCHECK '));
    expect(hc).toBeDefined();
    expect(hc).toContain("fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))");
    expect(lastStage).toContain('ENTRYPOINT ["node", "dist/main.js"]');
    // USER comes after every COPY/RUN of the stage: nothing written later belongs to root by accident.
    expect(lastStage.indexOf(user[0] as string)).toBeGreaterThan(Math.max(...lastStage.map((l, i) => (/^(COPY|RUN) /.test(l) ? i : -1))));
  });

  it('copies only paths that exist, and its .dockerignore keeps node_modules and secrets out', () => {
    for (const l of instructions.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
      const parts = l.split(/\s+/).slice(1, -1);
      for (const p of parts) expect(existsSync(join(ROOT, p)), `${l}: ${p}`).toBe(true);
    }
    const ignore = read('docker/Dockerfile.dockerignore').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '.env', 'docker/tls', 'dist']));
  });
});

describe('docker/drachtio.conf.xml', () => {
  const xml = read('docker/drachtio.conf.xml');
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');

  it('is well-formed (balanced tags, no "--" inside comments)', () => {
    for (const c of xml.match(/<!--([\s\S]*?)-->/g) ?? []) expect(c.slice(4, -3)).not.toContain('--');
    const stack: string[] = [];
    for (const m of body.matchAll(/<(\/?)([A-Za-z][\w-]*)([^>]*?)(\/?)>/g)) {
      const [, close, name, , selfClose] = m;
      if (selfClose) continue;
      if (close) expect(stack.pop(), `</${name}>`).toBe(name);
      else stack.push(name as string);
    }
    expect(stack).toEqual([]);
    expect(body.trim().startsWith('<drachtio>')).toBe(true);
  });

  it('listens for the edge on 0.0.0.0:9022, SIP on udp/tcp 5060 and tls 5061 with cert paths, logs to console', () => {
    expect(body).toMatch(/<admin port="9022" secret="[^"]+">0\.0\.0\.0<\/admin>/);
    expect(body).toContain('<contact>sip:*:5060;transport=udp,tcp</contact>');
    expect(body).toContain('<contact>sips:*:5061;transport=tls</contact>');
    expect(body).toContain('<key-file>/etc/drachtio/tls/privkey.pem</key-file>');
    expect(body).toContain('<cert-file>/etc/drachtio/tls/cert.pem</cert-file>');
    // Without a chain file drachtio-server v0.9.10 opens no TLS transport (test/e2e/tlsTransport.test.ts).
    expect(body).toContain('<chain-file>/etc/drachtio/tls/chain.pem</chain-file>');
    expect(body).toMatch(/<logging>[\s\S]*<console\/>[\s\S]*<\/logging>/);
    expect(body).not.toMatch(/<file>/);
  });

  it('uses the contacts docker/drachtio-start.sh repeats for --external-ip', () => {
    const script = read('docker/drachtio-start.sh');
    for (const c of body.match(/<contact>([^<]+)<\/contact>/g) ?? []) {
      expect(script).toContain(`--contact "${c.replace(/<\/?contact>/g, '')}"`);
    }
  });
});

describe('docker/drachtio-start.sh', () => {
  const openssl = tool('openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-drachtio-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in for the drachtio binary that prints the arguments it was given.
  writeFileSync(join(dir, 'drachtio'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
  chmodSync(join(dir, 'drachtio'), 0o755);
  const start = (env: Record<string, string>) =>
    spawnSync('sh', [join(ROOT, 'docker/drachtio-start.sh')], {
      encoding: 'utf8',
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, DRACHTIO_CONF: '/etc/drachtio/drachtio.conf.xml', ...env },
    });

  it.skipIf(openssl.skip)('writes a self-signed pair when none is there, keeps an existing one, starts drachtio -f', () => {
    if (!openssl.path) throw new Error('openssl is not installed: CI must `apt-get install openssl`');
    const tls = join(dir, 'tls');
    const env = { DRACHTIO_TLS_KEY_FILE: join(tls, 'privkey.pem'), DRACHTIO_TLS_CERT_FILE: join(tls, 'cert.pem'), SIP_DOMAIN: 'sip.example.com' };
    const first = start(env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('SELF-SIGNED');
    expect(first.stdout.split('\n').slice(0, 2)).toEqual(['-f', '/etc/drachtio/drachtio.conf.xml']);
    expect(readFileSync(join(tls, 'cert.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(statSync(join(tls, 'privkey.pem')).mode & 0o077).toBe(0);
    const subject = spawnSync(openssl.path, ['x509', '-in', join(tls, 'cert.pem'), '-noout', '-subject'], { encoding: 'utf8' });
    expect(subject.stdout).toContain('sip.example.com');

    const before = readFileSync(join(tls, 'cert.pem'), 'utf8');
    const second = start(env);
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain('SELF-SIGNED');
    expect(readFileSync(join(tls, 'cert.pem'), 'utf8')).toBe(before);
  });

  it('writes chain.pem beside cert.pem (a copy of cert.pem, no CA bundle), rewrites it on every start, keeps an operator\'s own, and points drachtio at it', () => {
    const tls = join(dir, 'chain');
    spawnSync('mkdir', ['-p', tls]);
    const env = { DRACHTIO_TLS_KEY_FILE: join(tls, 'privkey.pem'), DRACHTIO_TLS_CERT_FILE: join(tls, 'cert.pem') };
    writeFileSync(env.DRACHTIO_TLS_KEY_FILE, 'key');
    writeFileSync(env.DRACHTIO_TLS_CERT_FILE, '-----BEGIN CERTIFICATE-----\nfirst\n-----END CERTIFICATE-----\n');
    // The stand-in drachtio also prints the chain file it is given through the environment.
    const withEnv = join(dir, 'env-drachtio');
    spawnSync('mkdir', ['-p', withEnv]);
    writeFileSync(join(withEnv, 'drachtio'), '#!/bin/sh\necho "chain=$DRACHTIO_TLS_CHAIN_FILE"\n');
    chmodSync(join(withEnv, 'drachtio'), 0o755);
    const run = () => spawnSync('sh', [join(ROOT, 'docker/drachtio-start.sh')], { encoding: 'utf8', env: { PATH: `${withEnv}:${process.env.PATH ?? ''}`, ...env } });
    const chain = join(tls, 'chain.pem');
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`chain=${chain}`);
    const written = readFileSync(chain, 'utf8');
    expect(written.split('\n')[0]).toMatch(/^# written by drachtio-start\.sh/);
    expect(written).toContain('first');
    // The certificate chain only: the WSS listener sends all of it (a CA bundle broke browsers' handshakes).
    expect(written.split('\n').slice(1).join('\n')).toBe(readFileSync(env.DRACHTIO_TLS_CERT_FILE, 'utf8'));
    // A file an earlier version wrote (cert.pem and the system CA bundle) is rewritten too.
    writeFileSync(chain, '# written by drachtio-start.sh from cert.pem and the system CA bundle; rewritten on every start\nold bundle\n');
    expect(run().status).toBe(0);
    expect(readFileSync(chain, 'utf8')).not.toContain('old bundle');
    // A renewed certificate reaches the chain file on the next start.
    writeFileSync(env.DRACHTIO_TLS_CERT_FILE, '-----BEGIN CERTIFICATE-----\nrenewed\n-----END CERTIFICATE-----\n');
    expect(run().status).toBe(0);
    expect(readFileSync(chain, 'utf8')).toContain('renewed');
    // The operator's own chain file is theirs.
    writeFileSync(chain, 'operator chain\n');
    expect(run().status).toBe(0);
    expect(readFileSync(chain, 'utf8')).toBe('operator chain\n');
  });

  it('adds --external-ip to both contacts when SIP_PUBLIC_IP is set', () => {
    const tls = join(dir, 'given');
    const key = join(tls, 'privkey.pem');
    const cert = join(tls, 'cert.pem');
    spawnSync('mkdir', ['-p', tls]);
    writeFileSync(key, 'key');
    writeFileSync(cert, 'cert');
    const r = start({ DRACHTIO_TLS_KEY_FILE: key, DRACHTIO_TLS_CERT_FILE: cert, SIP_PUBLIC_IP: '198.51.100.7' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      '-f',
      '/etc/drachtio/drachtio.conf.xml',
      '--contact',
      'sip:*:5060;transport=udp,tcp',
      '--external-ip',
      '198.51.100.7',
      '--contact',
      'sips:*:5061;transport=tls',
      '--external-ip',
      '198.51.100.7',
    ]);
  });

  it('with WA_EDGE_PHONE=true adds the phone\'s WSS listener after the file\'s contacts, with --external-ip when SIP_PUBLIC_IP is set', () => {
    const tls = join(dir, 'phone');
    spawnSync('mkdir', ['-p', tls]);
    const files = { DRACHTIO_TLS_KEY_FILE: join(tls, 'privkey.pem'), DRACHTIO_TLS_CERT_FILE: join(tls, 'cert.pem') };
    writeFileSync(files.DRACHTIO_TLS_KEY_FILE, 'key');
    writeFileSync(files.DRACHTIO_TLS_CERT_FILE, 'cert');
    const args = (more: Record<string, string>) => {
      const r = start({ ...files, ...more });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split('\n');
    };
    expect(args({ WA_EDGE_PHONE: 'false' })).toEqual(['-f', '/etc/drachtio/drachtio.conf.xml']);
    expect(args({ WA_EDGE_PHONE: 'true' })).toEqual(['-f', '/etc/drachtio/drachtio.conf.xml', '--contact', 'sip:*:5060;transport=udp,tcp', '--contact', 'sips:*:5061;transport=tls', '--contact', 'sips:*:8443;transport=wss']);
    expect(args({ WA_EDGE_PHONE: 'true', SIP_PUBLIC_IP: '198.51.100.7' }).slice(-3)).toEqual(['sips:*:8443;transport=wss', '--external-ip', '198.51.100.7']);
    const bad = start({ ...files, WA_EDGE_PHONE: 'yes please' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/WA_EDGE_PHONE=yes please is not true or false/);
  });

  it('switches on verified outgoing TLS (docs/tls.md) unless TELNYX_TLS_VERIFY / TELNYX_TLS_WILDCARD say false, loudly', () => {
    const tls = join(dir, 'verify');
    spawnSync('mkdir', ['-p', tls]);
    const env = { DRACHTIO_TLS_KEY_FILE: join(tls, 'privkey.pem'), DRACHTIO_TLS_CERT_FILE: join(tls, 'cert.pem') };
    writeFileSync(env.DRACHTIO_TLS_KEY_FILE, 'key');
    writeFileSync(env.DRACHTIO_TLS_CERT_FILE, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const withEnv = join(dir, 'verify-drachtio');
    spawnSync('mkdir', ['-p', withEnv]);
    writeFileSync(join(withEnv, 'drachtio'), '#!/bin/sh\necho "$DRACHTIO_TLS_VERIFY_SERVER_CERT $DRACHTIO_TLS_VERIFY_WILDCARD $DRACHTIO_TLS_SYSTEM_CA"\n');
    chmodSync(join(withEnv, 'drachtio'), 0o755);
    const run = (more: Record<string, string> = {}) =>
      spawnSync('sh', [join(ROOT, 'docker/drachtio-start.sh')], { encoding: 'utf8', env: { PATH: `${withEnv}:${process.env.PATH ?? ''}`, ...env, ...more } });
    expect(run().stdout.trim()).toBe('1 1 1');
    expect(run({ TELNYX_TLS_WILDCARD: 'false' }).stdout.trim()).toBe('1 0 1');
    const off = run({ TELNYX_TLS_VERIFY: 'false' });
    expect(off.stdout.trim()).toBe('0 1 1');
    expect(off.stderr).toMatch(/outgoing TLS is NOT VERIFIED/);
    const bad = run({ TELNYX_TLS_VERIFY: 'maybe' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/TELNYX_TLS_VERIFY=maybe is not true or false/);
  });
});
