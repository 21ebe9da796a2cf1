// docker/rtpengine-start.sh, the rtpengine entry point of compose (profile media), the systemd unit
// and scripts/rtpengine-local.sh: it starts a real rtpengine that answers ng, or says what is missing.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { NgClient } from '../../src/media/rtpengine.js';
import { freeUdpPort, rtpengineBin, RTPENGINE_ADDRESS } from '../helpers/rtpengine.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/until.js';

const env = (more: Record<string, string>) => ({ PATH: process.env.PATH, ...more });

describe('docker/rtpengine-start.sh', () => {
  it('refuses to start without RTP_INTERFACE, naming it', () => {
    const r = spawnSync('sh', ['docker/rtpengine-start.sh'], { env: env({}), encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/set RTP_INTERFACE/);
  });

  const client = new NgClient(500, () => {});
  afterAll(() => client.close());

  it.skipIf(!rtpengineBin && !process.env.CI)('starts rtpengine in user space with the given interface, port range and ng address', async () => {
    const ngPort = await freeUdpPort('127.0.0.1');
    const proc = spawn('sh', ['docker/rtpengine-start.sh'], {
      env: env({
        RTP_INTERFACE: RTPENGINE_ADDRESS,
        RTPENGINE_NG_LISTEN: `127.0.0.1:${ngPort}`,
        RTPENGINE_CLI_PORT: String(await freePort('127.0.0.1')),
        RTP_PORT_MIN: '23700',
        RTP_PORT_MAX: '23749',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    proc.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      await until(
        async () => proc.exitCode === null && (await client.ping({ host: '127.0.0.1', port: ngPort }).then(() => true, () => false)),
        10_000,
        'an ng pong',
        () => log,
        100,
      );
      expect(await client.list({ host: '127.0.0.1', port: ngPort })).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
