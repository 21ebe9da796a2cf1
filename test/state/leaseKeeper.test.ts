// A live instance keeps its calls' leases alive; once it stops, they run out by themselves.
import { afterAll, beforeAll, expect, it } from 'vitest';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('renews the leases of the calls it holds, and only those', async () => {
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  await f.permissions.grant(BUSINESS, '+447911000001', 'permanent', 'test');
  expect((await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId: 'kept', regionBlocked: false })).admitted).toBe(true);
  expect((await f.calls.admitOutbound({ business: BUSINESS, user: '+447911000001', callId: 'orphan', regionBlocked: false })).admitted).toBe(true);
  // Renewals every 100 ms of real time; the lease length comes from the config (10 s of the test clock).
  const keeper = new LeaseKeeper(f.calls, () => 0.3, createLogger('silent'), createMetrics());
  keeper.add(BUSINESS, 'kept');
  keeper.start();
  f.clock.now = T0 + 9_000;
  await sleep(250);
  f.clock.now = T0 + 15_000; // past the first lease: only the renewed call still counts
  expect(await f.calls.activeCalls(BUSINESS)).toBe(1);
  // Renewed at T0 + 9 s or later (a tick may already have seen T0 + 15 s).
  expect(Number(await f.redis.zscore(`wa:{${BUSINESS.slice(1)}}:active`, 'kept'))).toBeGreaterThanOrEqual(T0 + 19_000);
  keeper.remove(BUSINESS, 'kept');
  expect(keeper.size).toBe(0);
  await sleep(250);
  f.clock.now = T0 + 26_000; // past any renewal made before the call left the keeper
  expect(await f.calls.activeCalls(BUSINESS)).toBe(0);
  keeper.stop();
});
