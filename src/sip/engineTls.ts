// The TLS files of the local engine's `sips:` contacts (`transport=tls`, and `wss` for the console's
// phone). drachtio-server v0.9.10 (sofia-sip) refuses to open a TLS transport without a CA list:
// with no chain file it looks for `cafile.pem` in its working directory, logs `tls_init_context:
// error loading CA list` and runs without TLS. So the engine always gets a chain file, written next
// to its config on every start (a renewed certificate is picked up by a restart): the certificate
// file alone, leaf and intermediates. What each listener does with it (sofia-sip, measured in
// test/e2e/tlsTransport.test.ts):
// * tls (5061): loads it as its CA store and sends the chain OpenSSL builds from the leaf through
//   that store: leaf and intermediates (and the root when the store has it, e.g. the system's).
// * wss: sends every certificate of the file after the first (SSL_CTX_use_certificate_chain_file).
//   A CA bundle in it was 146 certificates, 158 KB: more than OpenSSL's and Chromium's 100 KB limit
//   on a Certificate message, so browsers failed the handshake (ERR_SSL_PROTOCOL_ERROR).
// The roots the patched engine trusts when it verifies outgoing TLS (telnyx.tls, docs/tls.md) come
// from the system store (DRACHTIO_TLS_SYSTEM_CA=1), not from this file; with telnyx.tls.caFile its
// CAs are appended instead (then sent on wss too).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSipUri, uriTransports } from '../domain/sipUri.js';

/** `drachtio.spawn.tls`: the operator's certificate; nothing set means a self-signed one. */
export interface EngineTlsOptions {
  keyFile?: string;
  certFile?: string;
  /** Used as is instead of the written one (the intermediates; sent on wss after its first certificate). */
  chainFile?: string;
  /** CAs appended to the written chain file (none by default): trusted by the engine, and sent on wss. */
  caFile?: string;
  /** Common name of the self-signed fallback (default wa-edge.local). */
  selfSignedName?: string;
}

/**
 * `telnyx.tls` as the engine applies it: verify the far end of outgoing TLS connections (chain,
 * dates, name) with the project's patch (deploy/drachtio/patches). `caFile` replaces the system
 * CA store as the roots trusted for it; `wildcard` accepts `*.parent` for one left-most label.
 */
export interface OutgoingTlsVerification {
  wildcard: boolean;
  caFile?: string;
}

/** The version suffix of a drachtio-server built with the patch (scripts/install-drachtio-server.sh). */
export const VERIFYING_ENGINE = /\+tlsverify\.\d+$/;

/** True when drachtio-server's version string says it carries the outgoing-verification patch. */
export function engineCanVerify(version: string | undefined): boolean {
  return !!version && VERIFYING_ENGINE.test(version.trim());
}

/** The patched engine's switches (environment variables, as drachtio-server's own TLS switches are). */
export function verificationEnv(v: OutgoingTlsVerification | undefined): Record<string, string> {
  return {
    DRACHTIO_TLS_VERIFY_SERVER_CERT: v ? '1' : '0',
    DRACHTIO_TLS_VERIFY_WILDCARD: v?.wildcard ? '1' : '0',
    // With caFile only its CAs (written into the chain file) are trusted, not the system's.
    DRACHTIO_TLS_SYSTEM_CA: v && !v.caFile ? '1' : '0',
  };
}

/** True when a URI sends over TLS (`sips:` or `;transport=tls`). */
export function usesTls(uri: string): boolean {
  const parsed = parseSipUri(uri);
  return !!parsed && (parsed.scheme === 'sips' || uriTransports(parsed).includes('tls'));
}

export interface EngineTlsFiles {
  keyFile: string;
  certFile: string;
  chainFile: string;
  selfSigned: boolean;
}

/** True when a contact needs TLS files (a `sips:` URI, or transport tls or wss). */
export function contactNeedsTls(contact: string): boolean {
  const parsed = parseSipUri(contact);
  return !!parsed && (parsed.scheme === 'sips' || uriTransports(parsed).some((t) => t === 'tls' || t === 'wss'));
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${what} ${file}: no PEM certificate in it`);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Writes a self-signed key and certificate into `dir` with the openssl command. */
function writeSelfSigned(dir: string, name: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'self-signed-key.pem');
  const certFile = join(dir, 'self-signed-cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '825', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', keyFile, '-out', certFile],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (e) {
    throw new Error(`no TLS certificate configured (drachtio.spawn.tls.keyFile/certFile) and openssl could not make a self-signed one: ${(e as Error).message}`);
  }
  return { keyFile, certFile };
}

/**
 * The key, certificate and chain files for drachtio-server, in `dir` where written. Throws with
 * a message naming the file that is missing or holds no certificate. `warn` hears the one line
 * an operator must see when the certificate is self-signed.
 */
export function prepareEngineTls(dir: string, opts: EngineTlsOptions, warn: (text: string) => void, verify?: OutgoingTlsVerification): EngineTlsFiles {
  if (!!opts.keyFile !== !!opts.certFile) throw new Error('drachtio.spawn.tls: set both keyFile and certFile, or neither');
  let keyFile = opts.keyFile;
  let certFile = opts.certFile;
  const selfSigned = !keyFile || !certFile;
  if (!keyFile || !certFile) {
    const name = opts.selfSignedName ?? 'wa-edge.local';
    ({ keyFile, certFile } = existsSync(join(dir, 'self-signed-cert.pem'))
      ? { keyFile: join(dir, 'self-signed-key.pem'), certFile: join(dir, 'self-signed-cert.pem') }
      : writeSelfSigned(dir, name));
    warn(
      `TLS: no certificate configured (drachtio.spawn.tls): using a SELF-SIGNED one for CN=${name}; ` +
        'peers that verify (Telnyx sending calls over TLS) will refuse it. Set drachtio.spawn.tls.keyFile and certFile.',
    );
  } else if (!existsSync(keyFile)) {
    throw new Error(`TLS key file ${keyFile}: not found`);
  }
  const cert = readPem(certFile, 'TLS certificate file');
  // sofia-sip trusts every certificate of the chain file: with telnyx.tls.caFile those CAs are
  // added (to the operator's chain file, or instead of the system bundle in the written one).
  const trusted = verify?.caFile ? readPem(verify.caFile, 'telnyx.tls.caFile') : undefined;
  const chainFile = join(dir, 'chain.pem');
  if (opts.chainFile) {
    const chain = readPem(opts.chainFile, 'TLS chain file');
    if (!trusted) return { keyFile, certFile, chainFile: opts.chainFile, selfSigned };
    writeFileSync(chainFile, chain + trusted, { mode: 0o600 });
    return { keyFile, certFile, chainFile, selfSigned };
  }
  // The certificate chain only: no system CA bundle (the engine loads the system store itself).
  const extra = trusted ?? (opts.caFile ? readPem(opts.caFile, 'CA file') : '');
  writeFileSync(chainFile, cert + extra, { mode: 0o600 });
  return { keyFile, certFile, chainFile, selfSigned };
}

/**
 * The warning an operator must see when something goes to Telnyx over TLS from a drachtio-server
 * without the project's patch (its version says so), which never checks the certificate of
 * whoever answers (docs/tls.md): `what` is "calls" (telnyx.outboundProxy) or "the registration".
 */
export function unverifiedTlsWarning(uri: string, what = 'calls', version = 'v0.9.10'): string | undefined {
  if (!usesTls(uri)) return undefined;
  return (
    `TLS to Telnyx is NOT VERIFIED: drachtio-server ${version} (without the patch of deploy/drachtio/patches) sends ${what} to ${uri} ` +
    'without checking the certificate of whoever answers. Install the patched engine (scripts/install-drachtio-server.sh, ' +
    'docker/Dockerfile.drachtio) or route them through deploy/kamailio/telnyx-tls-hop.cfg (docs/tls.md).'
  );
}
