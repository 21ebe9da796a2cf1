// The TLS files of the local engine's `sips:`/`transport=tls` contacts. drachtio-server v0.9.10
// (sofia-sip) refuses to open a TLS transport without a CA list: with no chain file it looks for
// `cafile.pem` in its working directory, logs `tls_init_context: error loading CA list` and runs
// without TLS. The chain file is also the only place its intermediates are sent from: the
// certificate file contributes the leaf alone. So the engine always hands it a chain file: the
// certificate file (leaf and intermediates) followed by the system CA bundle, written next to
// its config on every start, so a renewed certificate is picked up by a restart.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `drachtio.spawn.tls`: the operator's certificate; nothing set means a self-signed one. */
export interface EngineTlsOptions {
  keyFile?: string;
  certFile?: string;
  /** Used as is instead of the written one (must hold the intermediates and the CAs to trust). */
  chainFile?: string;
  /** CA bundle appended to the written chain file (default: the system bundle when present). */
  caFile?: string;
  /** Common name of the self-signed fallback (default wa-edge.local). */
  selfSignedName?: string;
}

export interface EngineTlsFiles {
  keyFile: string;
  certFile: string;
  chainFile: string;
  selfSigned: boolean;
}

/** Debian/Ubuntu, then RHEL/Fedora, then Alpine/others. */
export const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

export function systemCaBundle(): string | undefined {
  return SYSTEM_CA_BUNDLES.find((f) => existsSync(f));
}

/** True when a contact needs TLS files (a `sips:` URI, or transport tls or wss). */
export function contactNeedsTls(contact: string): boolean {
  return /^sips:/i.test(contact.trim()) || /;transport=[a-z,]*\b(tls|wss)\b/i.test(contact);
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
export function prepareEngineTls(dir: string, opts: EngineTlsOptions, warn: (text: string) => void): EngineTlsFiles {
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
  if (opts.chainFile) {
    readPem(opts.chainFile, 'TLS chain file');
    return { keyFile, certFile, chainFile: opts.chainFile, selfSigned };
  }
  const bundle = opts.caFile ?? systemCaBundle();
  const chainFile = join(dir, 'chain.pem');
  writeFileSync(chainFile, cert + (bundle ? readPem(bundle, 'CA bundle') : ''), { mode: 0o600 });
  return { keyFile, certFile, chainFile, selfSigned };
}

/**
 * The warning an operator must see when something goes to Telnyx over TLS straight from
 * drachtio-server, which never checks the certificate of whoever answers (docs/operations.md
 * "TLS to Telnyx"): `what` is "calls" (telnyx.outboundProxy) or "the registration" (telnyx.register).
 */
export function unverifiedTlsWarning(uri: string, what = 'calls'): string | undefined {
  if (!/^sips:|;transport=tls\b/i.test(uri.trim())) return undefined;
  return (
    `TLS to Telnyx is NOT VERIFIED: drachtio-server v0.9.10 sends ${what} to ${uri} without checking the ` +
    'certificate of whoever answers. To verify it, route them through deploy/kamailio/telnyx-tls-hop.cfg ' +
    '(docs/operations.md "TLS to Telnyx").'
  );
}
