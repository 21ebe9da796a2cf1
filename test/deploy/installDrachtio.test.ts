// scripts/install-drachtio-server.sh without a real build: the answers it gives before it
// touches anything, its idempotence (a binary without the patches is rebuilt), and a failed build
// (a patch that does not apply) leaving the installed binary alone.
// (The real build runs in the README's test command, before these tests.)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CI, ROOT } from './tools.js';

const SCRIPT = join(ROOT, 'scripts/install-drachtio-server.sh');
const canRun = process.getuid?.() === 0 && existsSync('/etc/debian_version');
if (!canRun && !CI) console.warn('\n*** test/deploy: install-drachtio-server.sh needs root on Debian: SKIPPING its tests ***\n');

function fakeBinary(prefix: string, version: string): string {
  const bin = join(prefix, 'bin', 'drachtio');
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  writeFileSync(bin, `#!/bin/sh\necho ${version}\n`);
  chmodSync(bin, 0o755);
  return bin;
}

function install(env: Record<string, string>) {
  const started = Date.now();
  const r = spawnSync('bash', [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 120_000 });
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe.skipIf(!canRun && !CI)('scripts/install-drachtio-server.sh', () => {
  it('with the pinned, patched version installed, says so and exits 0 in seconds', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'wa-edge-install-'));
    fakeBinary(prefix, 'v0.9.10-1-g9c2dd4cb6a+tlsverify.3');
    const r = install({ PREFIX: prefix });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already reports v0\.9\.10-1-g9c2dd4cb6a\+tlsverify\.3 \(pinned v0\.9\.10, patches \+tlsverify\.3\); nothing to do/);
    expect(r.seconds).toBeLessThan(10);
  });

  // Also what any failed build does: names its phase, shows its log, leaves the installed binary as it was.
  it.each([
    ['without the patches', 'v0.9.10-1-g9c2dd4cb6a'],
    ['at an older patch level (before 0002, iPAddress subjects)', 'v0.9.10-1-g9c2dd4cb6a+tlsverify.1'],
    ['at the previous patch level (before 0003, unrouted methods answered)', 'v0.9.10-1-g9c2dd4cb6a+tlsverify.2'],
  ])('rebuilds an installed binary %s, and refuses a source tree the patch does not apply to, before compiling anything', (_what, installed) => {
    const prefix = mkdtempSync(join(tmpdir(), 'wa-edge-install-'));
    const bin = fakeBinary(prefix, installed);
    const before = readFileSync(bin, 'utf8');
    const tree = mkdtempSync(join(tmpdir(), 'wa-edge-unpatchable-'));
    mkdirSync(join(tree, 'deps', 'sofia-sip'), { recursive: true });
    mkdirSync(join(tree, 'src'));
    writeFileSync(join(tree, 'configure.ac'), 'AC_INIT([drachtio], [0])\n');
    writeFileSync(join(tree, 'src', 'controller.cpp'), '// not the pinned source\n');
    const log = join(prefix, 'build.log');
    const r = install({ PREFIX: prefix, DRACHTIO_SOURCE: tree, DRACHTIO_BUILD_LOG: log });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/building drachtio-server v0\.9\.10-1-g9c2dd4cb6a\+tlsverify\.3/);
    expect(r.stdout).toContain(`replacing ${installed}\n`);
    expect(r.stdout).toMatch(/\[\s*\d+ s\] deps\n.*\[\s*\d+ s\] source\n.*\[\s*\d+ s\] patch\n/s);
    expect(r.stderr).toMatch(/FAILED in phase 'patch' after \d+ s; .*bin\/drachtio is unchanged\. Last lines of .*build\.log:/);
    expect(r.stderr).toMatch(/the patch .*0001-verify-outgoing-tls\.patch does not apply to this source tree; refusing to build without it/);
    expect(readFileSync(log, 'utf8')).not.toContain('===== bootstrap');
    expect(readFileSync(bin, 'utf8')).toBe(before);
  });

  it.each([
    ['a source that does not exist', () => '/nonexistent/drachtio.tar.gz', /DRACHTIO_SOURCE=\/nonexistent\/drachtio\.tar\.gz does not exist\./],
    ['a file that is no .tar.gz', () => '/etc/hostname', /is not a readable \.tar\.gz archive\./],
    ['a directory that is no drachtio-server tree', () => mkdtempSync(join(tmpdir(), 'wa-edge-notree-')), /not a drachtio-server tree with its submodules/],
  ])('refuses %s in one line before touching anything', (_what, source, message) => {
    const prefix = join(mkdtempSync(join(tmpdir(), 'wa-edge-install-')), 'opt');
    const r = install({ PREFIX: prefix, DRACHTIO_SOURCE: source() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(prefix)).toBe(false);
  });
});
