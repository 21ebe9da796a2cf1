// The TLS files the local engine hands drachtio-server (src/sip/engineTls.ts), and the <tls>
// section of its generated config. drachtio-server itself: test/e2e/tlsTransport.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineConfigXml } from '../../src/sip/engineConfig.js';
import { contactNeedsTls, engineCanVerify, prepareEngineTls, unverifiedTlsWarning, usesTls, verificationEnv } from '../../src/sip/engineTls.js';

const PEM = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;

describe('prepareEngineTls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-engine-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const keyFile = file('key.pem', 'key');
  const certFile = file('cert.pem', PEM('leaf') + PEM('intermediate'));
  const caFile = file('bundle.pem', PEM('root'));

  it('writes the chain file drachtio needs: the certificate file (leaf and intermediates) only, no system CA bundle', () => {
    const warnings: string[] = [];
    const files = prepareEngineTls(dir, { keyFile, certFile }, (w) => warnings.push(w));
    expect(files).toEqual({ keyFile, certFile, chainFile: join(dir, 'chain.pem'), selfSigned: false });
    expect(readFileSync(files.chainFile, 'utf8')).toBe(PEM('leaf') + PEM('intermediate'));
    expect(warnings).toEqual([]);
  });
  it('appends drachtio.spawn.tls.caFile when one is given', () => {
    const files = prepareEngineTls(dir, { keyFile, certFile, caFile }, () => {});
    expect(readFileSync(files.chainFile, 'utf8')).toBe(PEM('leaf') + PEM('intermediate') + PEM('root'));
  });
  it('uses an operator\'s chain file as it is', () => {
    const chainFile = file('mine.pem', PEM('intermediate'));
    expect(prepareEngineTls(dir, { keyFile, certFile, chainFile }, () => {})).toMatchObject({ chainFile });
  });
  it('with telnyx.tls.caFile, trusts those CAs (appended to the chain file, the engine\'s CA list) instead of the system store', () => {
    const telnyxCa = file('telnyx-ca.pem', PEM('telnyx root'));
    const files = prepareEngineTls(dir, { keyFile, certFile, caFile }, () => {}, { wildcard: true, caFile: telnyxCa });
    expect(readFileSync(files.chainFile, 'utf8')).toBe(PEM('leaf') + PEM('intermediate') + PEM('telnyx root'));
  });
  it('with telnyx.tls.caFile and an operator\'s chain file, writes a copy of it with those CAs added', () => {
    const chainFile = file('mine2.pem', PEM('intermediate'));
    const telnyxCa = file('telnyx-ca2.pem', PEM('telnyx root'));
    const files = prepareEngineTls(dir, { keyFile, certFile, chainFile }, () => {}, { wildcard: false, caFile: telnyxCa });
    expect(files.chainFile).toBe(join(dir, 'chain.pem'));
    expect(readFileSync(files.chainFile, 'utf8')).toBe(PEM('intermediate') + PEM('telnyx root'));
  });
  it('makes a self-signed pair when none is given, and says so', () => {
    const own = mkdtempSync(join(dir, 'self-'));
    const warnings: string[] = [];
    const files = prepareEngineTls(own, { caFile }, (w) => warnings.push(w));
    expect(files.selfSigned).toBe(true);
    expect(readFileSync(files.certFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(warnings.join('\n')).toMatch(/SELF-SIGNED one for CN=wa-edge\.local/);
  });
  it.each([
    [{ keyFile }, /set both keyFile and certFile/],
    [{ keyFile: join(dir, 'missing.key'), certFile }, /TLS key file .*missing\.key: not found/],
    [{ keyFile, certFile: join(dir, 'missing.pem') }, /TLS certificate file .*missing\.pem: ENOENT/],
    [{ keyFile, certFile: keyFile }, /TLS certificate file .*key\.pem: no PEM certificate in it/],
  ])('refuses %j with a message naming the file', (opts, message) => {
    expect(() => prepareEngineTls(dir, opts, () => {})).toThrow(message);
  });
});

describe('the patched engine: its version and its switches', () => {
  it.each([
    ['v0.9.10-1-g9c2dd4cb6a+tlsverify.1', true],
    ['v0.9.10-1-g9c2dd4cb6a+tlsverify.12\n', true],
    ['v0.9.10-1-g9c2dd4cb6a', false],
    ['1.0.0', false],
    ['v0.9.10+tlsverify', false],
    [undefined, false],
  ])('%j can verify: %s', (version, can) => expect(engineCanVerify(version)).toBe(can));
  it('switches outgoing verification on with the system CA store, or with the caFile alone, or off', () => {
    expect(verificationEnv({ wildcard: true })).toEqual({ DRACHTIO_TLS_VERIFY_SERVER_CERT: '1', DRACHTIO_TLS_VERIFY_WILDCARD: '1', DRACHTIO_TLS_SYSTEM_CA: '1' });
    expect(verificationEnv({ wildcard: false, caFile: '/ca.pem' })).toEqual({ DRACHTIO_TLS_VERIFY_SERVER_CERT: '1', DRACHTIO_TLS_VERIFY_WILDCARD: '0', DRACHTIO_TLS_SYSTEM_CA: '0' });
    // Off is said explicitly, so a switch inherited from the edge's environment does not apply.
    expect(verificationEnv(undefined)).toEqual({ DRACHTIO_TLS_VERIFY_SERVER_CERT: '0', DRACHTIO_TLS_VERIFY_WILDCARD: '0', DRACHTIO_TLS_SYSTEM_CA: '0' });
  });
  it.each([
    ['sip:sip.telnyx.com;transport=tls', true],
    ['sips:sip.telnyx.com', true],
    ['sip:sip.telnyx.com:5061;transport=tls;maddr=192.0.2.1', true],
    ['sip:sip.telnyx.com;transport=tcp', false],
    ['sip:sip.telnyx.com', false],
  ])('usesTls(%s) → %s', (uri, tls) => expect(usesTls(uri)).toBe(tls));
});

describe('contactNeedsTls', () => {
  it.each([
    ['sips:127.0.0.1:5061;transport=tls', true],
    ['sips:127.0.0.1', true],
    ['sip:127.0.0.1:5060;transport=udp,tcp', false],
    ['sip:127.0.0.1:8443;transport=wss', true],
  ])('%s → %s', (contact, needs) => expect(contactNeedsTls(contact)).toBe(needs));
});

describe('engineConfigXml with TLS', () => {
  it('names the key, certificate and chain files and asks for TLS 1.2 at least (Telnyx\'s minimum)', () => {
    const xml = engineConfigXml({ adminPort: 1, secret: 's', contacts: ['sips:127.0.0.1:5061;transport=tls'], logLevel: 'info', sofiaLogLevel: 3, tls: { keyFile: '/k.pem', certFile: '/c.pem', chainFile: '/ch.pem' } });
    expect(xml).toMatch(/<sip>[\s\S]*<tls>\s*<key-file>\/k\.pem<\/key-file>\s*<cert-file>\/c\.pem<\/cert-file>\s*<chain-file>\/ch\.pem<\/chain-file>\s*<min-tls-version>1\.2<\/min-tls-version>\s*<\/tls>[\s\S]*<\/sip>/);
  });
  it('has no <tls> without TLS files', () => {
    expect(engineConfigXml({ adminPort: 1, secret: 's', contacts: ['sip:127.0.0.1:5060'], logLevel: 'info', sofiaLogLevel: 3 })).not.toContain('<tls>');
  });
});

describe('unverifiedTlsWarning: said when calls go to Telnyx over TLS from a drachtio-server without the patch', () => {
  it.each([
    ['sip:sip.telnyx.com;transport=tls', true],
    ['sips:sip.telnyx.com', true],
    ['sip:127.0.0.1:5070', false], // the verifying hop
    ['sip:sip.telnyx.com;transport=tcp', false],
  ])('%s → %s', (proxy, warns) => {
    const w = unverifiedTlsWarning(proxy);
    expect(w !== undefined).toBe(warns);
    if (w) expect(w).toMatch(/NOT VERIFIED.*scripts\/install-drachtio-server\.sh.*deploy\/kamailio\/telnyx-tls-hop\.cfg/);
  });
  it('names what is sent', () => {
    expect(unverifiedTlsWarning('sip:sip.telnyx.com;transport=tls', 'the registration')).toMatch(/sends the registration to sip:sip\.telnyx\.com;transport=tls/);
  });
});
