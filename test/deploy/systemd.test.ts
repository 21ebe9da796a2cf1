// The systemd units of deploy/systemd (docs/operations.md "By hand"): valid for systemd itself,
// restarted on failure, ordered after Redis, and given time to drain before they are killed.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { baseConfigObject } from '../helpers/config.js';
import { stringify } from 'yaml';
import { read, run, tool } from './tools.js';

const analyze = tool('systemd-analyze', 'systemd');
const UNITS = ['deploy/systemd/wa-edge.service', 'deploy/systemd/drachtio-server.service', 'deploy/systemd/wa-edge-rtpengine.service'];

/** `Key=value` lines of a unit, last one wins (systemd's rule for these keys). */
function directives(unit: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of read(unit).split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

describe('systemd units', () => {
  it.skipIf(analyze.skip)('pass systemd-analyze verify with no warning', () => {
    const r = run(analyze, ['verify', ...UNITS]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });

  it.each(UNITS.filter((u) => !u.endsWith('drachtio-server.service')))('%s restarts on failure', (unit) => {
    expect(directives(unit).get('Restart')).toBe('on-failure');
  });

  it('drachtio-server restarts whenever it exits: it exits 0 when a SIP port is taken or TLS cannot start', () => {
    expect(directives('deploy/systemd/drachtio-server.service').get('Restart')).toBe('always');
  });

  it('the edge starts after Redis and drachtio-server, and wants Redis', () => {
    const d = directives('deploy/systemd/wa-edge.service');
    expect(d.get('After')?.split(/\s+/)).toEqual(expect.arrayContaining(['redis-server.service', 'drachtio-server.service']));
    expect(d.get('Wants')?.split(/\s+/)).toContain('redis-server.service');
  });

  it('the edge has longer to stop than its drain deadline plus the engine stop, and only the edge gets SIGTERM', () => {
    const d = directives('deploy/systemd/wa-edge.service');
    const drainSeconds = parseConfig(stringify(baseConfigObject()), 'x', {}).sip.drainSeconds;
    expect(Number(d.get('TimeoutStopSec'))).toBeGreaterThan(drainSeconds + 5 + 3);
    // control-group (the default) would SIGTERM the spawned drachtio-server with the edge and drop calls.
    expect(d.get('KillMode')).toBe('mixed');
  });

  it('drachtio-server.service starts through docker/drachtio-start.sh, which writes the chain file drachtio needs for TLS into its runtime directory', () => {
    const d = directives('deploy/systemd/drachtio-server.service');
    expect(d.get('ExecStart')).toBe('/bin/sh /opt/wa-sip-edge/docker/drachtio-start.sh');
    expect(d.get('RuntimeDirectory')).toBe('drachtio');
    const unit = read('deploy/systemd/drachtio-server.service');
    expect(unit).toContain('Environment=DRACHTIO_TLS_CHAIN_FILE=/run/drachtio/chain.pem');
    expect(unit).toContain('Environment=DRACHTIO_CONF=/etc/drachtio/drachtio.conf.xml');
    expect(unit).toMatch(/^Environment=PATH=\/opt\/drachtio\/bin:/m);
    // The script execs `drachtio` from PATH: the binary the install script puts in /opt/drachtio/bin.
    expect(read('docker/drachtio-start.sh')).toMatch(/exec drachtio "\$@"/);
  });
});
