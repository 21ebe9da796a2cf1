// Softphone registrations shared through Redis (SPEC §2 devices, §4 /v1/devices).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../src/state/devices.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { stateFixture, T0, type StateFixture } from '../helpers/state.js';

let server: RedisServer;
let f: StateFixture;
let devices: DeviceRegistry;
beforeAll(async () => {
  server = await startRedis();
  f = await stateFixture(server.url);
  devices = new DeviceRegistry(f.store);
});
afterAll(async () => {
  await f.close();
  await server.stop();
});
beforeEach(async () => {
  await f.redis.flushall();
  f.clock.now = T0;
});

const binding = (n: number) => ({
  uri: `sip:alice@192.168.1.${n}:5060`,
  source: { address: '127.0.0.4', port: 5000 + n, transport: 'udp' },
  userAgent: 'Linphone',
});

describe('device registrations', () => {
  it('keeps each contact until its own expiry', async () => {
    await devices.set('alice', [{ binding: binding(1), expiresSeconds: 60 }]);
    const both = await devices.set('alice', [{ binding: binding(2), expiresSeconds: 120 }]);
    expect(both.map((b) => [b.uri, b.expiresAt])).toEqual([
      ['sip:alice@192.168.1.1:5060', T0 + 60_000],
      ['sip:alice@192.168.1.2:5060', T0 + 120_000],
    ]);
    expect(both[0]!.source).toEqual({ address: '127.0.0.4', port: 5001, transport: 'udp' });
    f.clock.now = T0 + 60_000;
    expect((await devices.list('alice')).map((b) => b.uri)).toEqual(['sip:alice@192.168.1.2:5060']);
  });

  it('a refresh replaces the binding, remove and clear unregister', async () => {
    await devices.set('alice', [{ binding: binding(1), expiresSeconds: 60 }, { binding: binding(2), expiresSeconds: 60 }]);
    f.clock.now = T0 + 30_000;
    const refreshed = await devices.set('alice', [{ binding: binding(1), expiresSeconds: 60 }]);
    expect(refreshed.find((b) => b.uri.endsWith('.1:5060'))!.expiresAt).toBe(T0 + 90_000);
    expect((await devices.remove('alice', ['sip:alice@192.168.1.2:5060'])).length).toBe(1);
    expect(await devices.clear('alice')).toEqual([]);
    expect(await f.redis.keys('wa:{dev:alice}*')).toEqual([]);
  });

  it('devices do not see each other', async () => {
    await devices.set('alice', [{ binding: binding(1), expiresSeconds: 60 }]);
    expect(await devices.list('bob')).toEqual([]);
  });
});
