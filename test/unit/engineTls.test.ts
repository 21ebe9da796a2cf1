// The TLS files the local engine hands drachtio-server (src/sip/engineTls.ts), and the <tls>
// section of its generated config. drachtio-server itself: test/e2e/tlsTransport.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineConfigXml } from '../../src/sip/engineConfig.js';
import { contactNeedsTls, prepareEngineTls, unverifiedTlsWarning } from '../../src/sip/engineTls.js';

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

  it('writes the chain file drachtio needs: the certificate file (with its intermediates), then the CA bundle', () => {
    const warnings: string[] = [];
    const files = prepareEngineTls(dir, { keyFile, certFile, caFile }, (w) => warnings.push(w));
    expect(files).toEqual({ keyFile, certFile, chainFile: join(dir, 'chain.pem'), selfSigned: false });
    expect(readFileSync(files.chainFile, 'utf8')).toBe(PEM('leaf') + PEM('intermediate') + PEM('root'));
    expect(warnings).toEqual([]);
  });
  it('uses an operator\'s chain file as it is', () => {
    const chainFile = file('mine.pem', PEM('intermediate'));
    expect(prepareEngineTls(dir, { keyFile, certFile, chainFile }, () => {})).toMatchObject({ chainFile });
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

describe('unverifiedTlsWarning: said at start when calls go to Telnyx over TLS from drachtio-server', () => {
  it.each([
    ['sip:sip.telnyx.com;transport=tls', true],
    ['sips:sip.telnyx.com', true],
    ['sip:127.0.0.1:5070', false], // the verifying hop
    ['sip:sip.telnyx.com;transport=tcp', false],
  ])('%s → %s', (proxy, warns) => {
    const w = unverifiedTlsWarning(proxy);
    expect(w !== undefined).toBe(warns);
    if (w) expect(w).toMatch(/NOT VERIFIED.*deploy\/kamailio\/telnyx-tls-hop\.cfg/);
  });
  it('names what is sent', () => {
    expect(unverifiedTlsWarning('sip:sip.telnyx.com;transport=tls', 'the registration')).toMatch(/sends the registration to sip:sip\.telnyx\.com;transport=tls/);
  });
});
