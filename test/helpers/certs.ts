// Test certificates made with the openssl command: a test CA (root and intermediate), leaves it
// signs for a given name, and self-signed ones. Files in a temp directory the caller removes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  /** The root the tests trust. */
  root: CertFiles;
  /** Signed by the root; signs the leaves. */
  intermediate: CertFiles;
  /**
   * A leaf for `name` signed by the intermediate; `fullchain` also writes leaf + intermediate into
   * certFile; `expired`: valid only in January 2020.
   */
  leaf(name: string, opts?: { fullchain?: boolean; expired?: boolean; subjectAltName?: string }): CertFiles;
  /** A self-signed certificate for `name`, trusted by nobody. */
  selfSigned(name: string): CertFiles;
  remove(): void;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-pki-'));
  const f = (name: string) => join(dir, name);
  let serial = 1;
  const ext = (name: string, text: string) => {
    writeFileSync(f(name), text);
    return f(name);
  };
  const caExt = ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const sign = (csr: string, ca: CertFiles, extFile: string, out: string) =>
    openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(serial++), '-days', '30', '-sha256', '-extfile', extFile, '-out', out]);

  const root = { certFile: f('root.pem'), keyFile: f('root.key') };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=wa-edge test root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', root.keyFile, '-out', root.certFile]);
  const intermediate = { certFile: f('intermediate.pem'), keyFile: f('intermediate.key') };
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=wa-edge test intermediate', '-keyout', intermediate.keyFile, '-out', f('intermediate.csr')]);
  sign(f('intermediate.csr'), root, caExt, intermediate.certFile);

  // `openssl x509 -req` (3.0) cannot date a certificate in the past; `openssl ca` can.
  writeFileSync(f('index.txt'), '');
  const caConf = ext(
    'ca.cnf',
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${f('index.txt')}\nnew_certs_dir = ${dir}\nrand_serial = yes\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n`,
  );
  const signExpired = (csr: string, extFile: string, out: string) =>
    openssl(['ca', '-batch', '-notext', '-config', caConf, '-cert', intermediate.certFile, '-keyfile', intermediate.keyFile, '-in', csr, '-out', out, '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extfile', extFile]);

  return {
    dir,
    root,
    intermediate,
    leaf(name, opts = {}) {
      const base = `leaf-${serial}-${name.replace(/[^\w.-]/g, '_')}`;
      const files = { certFile: f(`${base}.pem`), keyFile: f(`${base}.key`) };
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', files.keyFile, '-out', f(`${base}.csr`)]);
      const leafExt = ext(`${base}.ext`, `basicConstraints=CA:FALSE\nsubjectAltName=${opts.subjectAltName ?? `DNS:${name}`}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      if (opts.expired) signExpired(f(`${base}.csr`), leafExt, files.certFile);
      else sign(f(`${base}.csr`), intermediate, leafExt, files.certFile);
      if (opts.fullchain) writeFileSync(files.certFile, readFileSync(files.certFile, 'utf8') + readFileSync(intermediate.certFile, 'utf8'));
      return files;
    },
    selfSigned(name) {
      const base = `self-${serial++}-${name.replace(/[^\w.-]/g, '_')}`;
      const files = { certFile: f(`${base}.pem`), keyFile: f(`${base}.key`) };
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', files.keyFile, '-out', files.certFile]);
      return files;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
