// A live instance keeps its calls' leases alive; once it stops, they run out by themselves.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { LeaseKeeper } from '../../src/sip/leases.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { stateFixture, T0, type StateFixture } from '../helpers/state.js';
import { BUSINESS, USER } from '../helpers/config.js';

let server: RedisServer;
let f: StateFixture;
beforeAll(async () => {
  server = await startRedis();
  f = await stateFixture(server.url, { whatsapp: { leaseSeconds: 10 } });
});
afterAll(async () => {
  await f.close();
  await server.stop();
});

it('renews the leases of the calls it holds, and only those', async () => {
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  await f.permissions.grant(BUSINESS, '+447911000001', 'permanent', 'test');
  expect((await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId: 'kept', regionBlocked: false })).admitted).toBe(true);
  expect((await f.calls.admitOutbound({ business: BUSINESS, user: '+447911000001', callId: 'orphan', regionBlocked: false })).admitted).toBe(true);
  // The lease length comes from the config (10 s of the test clock).
  const keeper = new LeaseKeeper(f.calls, () => 10, createLogger('silent'), createMetrics());
  keeper.add(BUSINESS, 'kept');
  f.clock.now = T0 + 9_000;
  await keeper.renewAll();
  f.clock.now = T0 + 15_000; // past the first lease: only the renewed call still counts
  expect(await f.calls.activeCalls(BUSINESS)).toBe(1);
  expect(Number(await f.redis.zscore(`wa:{${BUSINESS.slice(1)}}:active`, 'kept'))).toBe(T0 + 19_000);
  keeper.remove(BUSINESS, 'kept');
  expect(keeper.size).toBe(0);
  await keeper.renewAll(); // a call that left the keeper is not renewed any more
  f.clock.now = T0 + 20_000;
  expect(await f.calls.activeCalls(BUSINESS)).toBe(0);
});

it('renews three times per lease period once started, and not after stop', () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  try {
    const keeper = new LeaseKeeper(f.calls, () => 0.3, createLogger('silent'), createMetrics());
    const renewAll = vi.spyOn(keeper, 'renewAll').mockResolvedValue();
    keeper.start();
    vi.advanceTimersByTime(99);
    expect(renewAll).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(renewAll).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(200);
    expect(renewAll).toHaveBeenCalledTimes(3);
    keeper.stop();
    vi.advanceTimersByTime(1_000);
    expect(renewAll).toHaveBeenCalledTimes(3);
  } finally {
    vi.useRealTimers();
  }
});
