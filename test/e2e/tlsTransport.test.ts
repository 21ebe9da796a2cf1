// The pinned drachtio-server (v0.9.10) opens its TLS transport with the project's own TLS
// settings (issue #17): docker/drachtio.conf.xml started through docker/drachtio-start.sh (only
// its addresses and ports moved to free loopback ones), and the local engine (drachtio.spawn).
// "Open" means listening and completing a TLS handshake; with the operator's certificate, one
// that a client trusting only the issuing root verifies for its name (the intermediates are sent).
// What each listener sends is counted with `openssl s_client -showcerts`: the certificate chain
// only (leaf, intermediate), on tls and on the phone's wss, whose listener sends every certificate
// of the chain file after the first (with a CA bundle in it: 146 certificates, 158 KB, refused by
// OpenSSL and by Chromium as an excessive message).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalEngine } from '../../src/sip/localEngine.js';
import { addrs, describeWithDrachtio, drachtioBin, freeSipPort, portInUse } from '../helpers/drachtio.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { freePort } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Handshake {
  authorized: boolean;
  error?: string;
  /** Subject CNs of the certificates the server sent, leaf first. */
  chain: string[];
}

/** A TLS handshake with address:port; `ca` given: verified against it for `servername`. */
function handshake(port: number, opts: { ca?: string; servername?: string } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: addrs.edge, port, servername: opts.servername, ...(opts.ca ? { ca: opts.ca } : {}), rejectUnauthorized: false, minVersion: 'TLSv1.2' }, () => {
      const chain: string[] = [];
      let cert: PeerCertificate | undefined = sock.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(String(cert.subject.CN));
        cert = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      const result = { authorized: sock.authorized, error: sock.authorizationError ? String(sock.authorizationError) : undefined, chain };
      sock.end();
      resolve(result);
    });
    sock.setTimeout(5000, () => sock.destroy(new Error('TLS handshake timed out')));
    sock.once('error', reject);
  });
}

/**
 * The subject CNs of the certificates a TLS listener sends, in order, as `openssl s_client -showcerts`
 * prints them; throws with openssl's output when the handshake fails.
 */
function sentCertificates(port: number, servername = 'edge.test'): string[] {
  const r = spawnSync('openssl', ['s_client', '-connect', `${addrs.edge}:${port}`, '-servername', servername, '-showcerts'], { input: '', encoding: 'utf8', timeout: 15_000 });
  const pems = (r.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  const subjects = [...r.stdout.matchAll(/^ *\d+ s:.*?CN ?= ?([^,\n]+)/gm)].map((m) => (m[1] as string).trim());
  if (pems === 0 || pems !== subjects.length) throw new Error(`openssl s_client to ${addrs.edge}:${port}: ${pems} certificates\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
  return subjects;
}

/** docker/drachtio.conf.xml with its addresses and ports moved to free loopback ones; the TLS section as shipped. */
async function shippedConfig(dir: string, opts: { withoutChainFile?: boolean; wss?: boolean } = {}) {
  const ports = { admin: await freePort('127.0.0.1'), sip: await freeSipPort(addrs.edge), tls: await freePort(addrs.edge), wss: await freePort(addrs.edge), prometheus: await freePort('127.0.0.1') };
  let xml = readFileSync(join(ROOT, 'docker/drachtio.conf.xml'), 'utf8');
  const moves: [string, string][] = [
    ['<admin port="9022" secret="cymru">0.0.0.0</admin>', `<admin port="${ports.admin}" secret="cymru">127.0.0.1</admin>`],
    ['<contact>sip:*:5060;transport=udp,tcp</contact>', `<contact>sip:${addrs.edge}:${ports.sip};transport=udp,tcp</contact>`],
    [
      '<contact>sips:*:5061;transport=tls</contact>',
      `<contact>sips:${addrs.edge}:${ports.tls};transport=tls</contact>` + (opts.wss ? `<contact>sips:${addrs.edge}:${ports.wss};transport=wss</contact>` : ''),
    ],
    ['<prometheus port="9099">0.0.0.0</prometheus>', `<prometheus port="${ports.prometheus}">127.0.0.1</prometheus>`],
  ];
  if (opts.withoutChainFile) moves.push(['<chain-file>/etc/drachtio/tls/chain.pem</chain-file>', '']);
  for (const [from, to] of moves) {
    expect(xml, `docker/drachtio.conf.xml still has ${from}`).toContain(from);
    xml = xml.replace(from, to);
  }
  const file = join(dir, 'drachtio.conf.xml');
  writeFileSync(file, xml);
  return { file, ports };
}

interface Started {
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Runs a command until the SIP UDP port is bound (or it exits); the caller checks the rest. */
async function run(cmd: string, args: string[], env: Record<string, string>, sipPort: number): Promise<Started> {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await closed;
      clearTimeout(t);
    }
  };
  const deadline = Date.now() + 15_000;
  while (!(await portInUse('udp', addrs.edge, sipPort))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${cmd} did not come up:\n${out.slice(-3000)}`);
    }
    await sleep(50);
  }
  return { proc, output: () => out, stop };
}

async function untilListening(port: number, output: () => string) {
  const deadline = Date.now() + 10_000;
  while (!(await portInUse('tcp', addrs.edge, port))) {
    if (Date.now() > deadline) throw new Error(`no TLS listener on ${addrs.edge}:${port}:\n${output().slice(-3000)}`);
    await sleep(50);
  }
}

describeWithDrachtio('drachtio-server opens its TLS transport with the project\'s TLS settings', () => {
  let pki: TestPki;
  let dir: string;
  const bin = drachtioBin!;
  const binDir = dirname(bin);
  const running: Started[] = [];
  beforeAll(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'wa-edge-tls-transport-'));
  });
  afterAll(async () => {
    for (const r of running) await r.stop();
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a chain file drachtio-server v0.9.10 opens NO TLS transport and exits (what every shipped config now avoids)', async () => {
    const own = mkdtempSync(join(dir, 'no-chain-'));
    const { file, ports } = await shippedConfig(own, { withoutChainFile: true });
    const cert = pki.leaf('edge.test', { fullchain: true });
    const proc = spawn(bin, ['-f', file, '--stdout'], { env: { ...process.env, DRACHTIO_TLS_KEY_FILE: cert.keyFile, DRACHTIO_TLS_CERT_FILE: cert.certFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      proc.once('close', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    // It exits 0, so a supervisor that restarts only failures would not even restart it.
    expect({ code, out }).toMatchObject({ code: 0 });
    expect(out).toMatch(/tls_init_context: error loading CA list: cafile\.pem/);
    expect(out).toMatch(/nta: bind\(127\.0\.0\.3:\d+;transport=tls\): Input\/output error/);
    expect(out).toMatch(/Error adding additional transport/);
    expect(await portInUse('tcp', addrs.edge, ports.tls)).toBe(false);
  }, 30_000);

  it('docker/drachtio.conf.xml via docker/drachtio-start.sh, no certificate given: self-signed pair and chain written, TLS listening', async () => {
    const own = mkdtempSync(join(dir, 'compose-self-'));
    const { file, ports } = await shippedConfig(own);
    const tls = join(own, 'tls');
    const d = await run('sh', [join(ROOT, 'docker/drachtio-start.sh')], {
      PATH: `${binDir}:${process.env.PATH ?? ''}`,
      DRACHTIO_CONF: file,
      DRACHTIO_TLS_KEY_FILE: join(tls, 'privkey.pem'),
      DRACHTIO_TLS_CERT_FILE: join(tls, 'cert.pem'),
      SIP_DOMAIN: 'edge.example.com',
    }, ports.sip);
    running.push(d);
    await untilListening(ports.tls, d.output);
    expect(d.output()).toMatch(/SELF-SIGNED/);
    // The port opens before drachtio's log line about it is flushed: wait for the line.
    const created = new RegExp(`creating transport: \\S+: tls/${addrs.edge.replace(/\./g, '\\.')}:${ports.tls}`);
    for (let i = 0; i < 100 && !created.test(d.output()); i++) await sleep(50);
    expect(d.output()).toMatch(created);
    expect(d.output()).not.toMatch(/error loading CA list/);
    const h = await handshake(ports.tls);
    expect(h.chain[0]).toBe('edge.example.com');
    expect(readFileSync(join(tls, 'chain.pem'), 'utf8')).toMatch(/^# written by drachtio-start\.sh/);
    await d.stop();
  }, 40_000);

  it('docker/drachtio.conf.xml via docker/drachtio-start.sh with the operator\'s certificate: verified for its name by a client that trusts only the root; tls and the phone\'s wss send leaf and intermediate only', async () => {
    const own = mkdtempSync(join(dir, 'compose-operator-'));
    const { file, ports } = await shippedConfig(own, { wss: true });
    const cert = pki.leaf('edge.test', { fullchain: true });
    const d = await run('sh', [join(ROOT, 'docker/drachtio-start.sh')], {
      PATH: `${binDir}:${process.env.PATH ?? ''}`,
      DRACHTIO_CONF: file,
      DRACHTIO_TLS_KEY_FILE: cert.keyFile,
      DRACHTIO_TLS_CERT_FILE: cert.certFile,
      DRACHTIO_TLS_CHAIN_FILE: join(own, 'chain.pem'),
    }, ports.sip);
    running.push(d);
    await untilListening(ports.tls, d.output);
    expect(d.output()).not.toMatch(/SELF-SIGNED/);
    const h = await handshake(ports.tls, { ca: readFileSync(pki.root.certFile, 'utf8'), servername: 'edge.test' });
    expect(h, JSON.stringify(h)).toMatchObject({ authorized: true, chain: ['edge.test', 'wa-edge test intermediate', 'wa-edge test root'] });
    await untilListening(ports.wss, d.output);
    expect(sentCertificates(ports.tls)).toEqual(['edge.test', 'wa-edge test intermediate']);
    expect(sentCertificates(ports.wss)).toEqual(['edge.test', 'wa-edge test intermediate']);
    await d.stop();
  }, 40_000);

  it('the local engine (drachtio.spawn) with a sips: contact and no certificate: self-signed, said loudly, TLS listening', async () => {
    const sip = await freeSipPort(addrs.edge);
    const tlsPort = await freePort(addrs.edge);
    const warnings: string[] = [];
    const engine = await startLocalEngine({
      bin,
      contacts: [`sip:${addrs.edge}:${sip};transport=udp,tcp`, `sips:${addrs.edge}:${tlsPort};transport=tls`],
      supervise: false,
      onLog: (level, text) => level === 'warn' && warnings.push(text),
    });
    try {
      expect(warnings.join('\n')).toMatch(/SELF-SIGNED/);
      expect(await portInUse('tcp', addrs.edge, tlsPort)).toBe(true);
      expect((await handshake(tlsPort)).chain[0]).toBe('wa-edge.local');
    } finally {
      await engine.stop();
    }
  }, 30_000);

  it('the local engine with drachtio.spawn.tls (the operator\'s fullchain, no chainFile): verified for its name by a client that trusts only the root; tls and the phone\'s wss send leaf and intermediate only', async () => {
    const sip = await freeSipPort(addrs.edge);
    const tlsPort = await freePort(addrs.edge);
    const wssPort = await freePort(addrs.edge);
    const cert = pki.leaf('edge.test', { fullchain: true });
    const engine = await startLocalEngine({
      bin,
      contacts: [`sip:${addrs.edge}:${sip};transport=udp,tcp`, `sips:${addrs.edge}:${tlsPort};transport=tls`, `sips:${addrs.edge}:${wssPort};transport=wss`],
      tls: { keyFile: cert.keyFile, certFile: cert.certFile },
      supervise: false,
    });
    try {
      const h = await handshake(tlsPort, { ca: readFileSync(pki.root.certFile, 'utf8'), servername: 'edge.test' });
      expect(h, JSON.stringify(h)).toMatchObject({ authorized: true, chain: ['edge.test', 'wa-edge test intermediate', 'wa-edge test root'] });
      expect(engine.output()).not.toMatch(/SELF-SIGNED|error loading CA list/);
      expect(sentCertificates(tlsPort)).toEqual(['edge.test', 'wa-edge test intermediate']);
      expect(sentCertificates(wssPort)).toEqual(['edge.test', 'wa-edge test intermediate']);
    } finally {
      await engine.stop();
    }
  }, 30_000);
});
