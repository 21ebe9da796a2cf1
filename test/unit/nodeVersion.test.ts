// The start-up check of src/nodeVersion.ts: one line and exit 1 on Node.js < 20 (Debian 12 ships 18).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../src/nodeVersion.js';

describe('Node.js version check at start-up', () => {
  it('refuses 18 (Debian 12) in one line naming the binary and where to get a newer one', () => {
    const line = nodeVersionProblem('v18.20.4', '/usr/bin/node');
    expect(line).toBe('wa-edge: needs Node.js 20 or later, but /usr/bin/node is v18.20.4 (Debian 12 ships 18: see docs/quickstart.md, "Node.js")');
    expect(line).not.toContain('\n');
  });

  it.each(['v20.0.0', 'v22.11.0', 'v24.3.1'])('accepts %s', (v) => {
    expect(nodeVersionProblem(v, '/usr/bin/node')).toBeUndefined();
  });

  it('the edge process exits 1 with that line when the running Node.js reports 18', () => {
    // Node itself cannot be swapped in a test: a preload makes process.version say 18, then main runs.
    const r = spawnSync(
      process.execPath,
      ['--import', 'data:text/javascript,Object.defineProperty(process,"version",{value:"v18.20.4"})', '--import', 'tsx', 'src/main.ts', '--check-config', 'config/default.yaml'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^wa-edge: needs Node\.js 20 or later, but .* is v18\.20\.4 /);
    expect(r.stdout).toBe('');
  });
});
