// Real Redis + the state layer with a clock the test moves.
import { randomUUID } from 'node:crypto';
import { CallState } from '../../src/state/calls.js';
import { PermissionState } from '../../src/state/permissions.js';
import { createRedis, redisReady, type RedisClient } from '../../src/state/redis.js';
import type { PermissionEvent } from '../../src/state/records.js';
import type { Config } from '../../src/config/schema.js';
import { testConfig } from './config.js';
import { StateStore } from '../../src/state/store.js';
import type { Cancellation } from '../../src/sip/admission.js';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface StateFixture {
  redis: RedisClient;
  store: StateStore;
  calls: CallState;
  permissions: PermissionState;
  config: { current: Readonly<Config> };
  clock: { now: number };
  events: PermissionEvent[];
  close(): Promise<void>;
}

export async function stateFixture(url: string, overrides: Record<string, unknown> = {}): Promise<StateFixture> {
  const config = { current: testConfig({ redis: { url }, ...overrides }) };
  const clock = { now: T0 };
  const events: PermissionEvent[] = [];
  const redis = createRedis(config.current.redis);
  redis.on('error', () => {}); // a test that stops Redis expects the client to complain
  const store = new StateStore(redis, () => config.current, () => clock.now, (e) => events.push(e));
  const calls = new CallState(store);
  const permissions = new PermissionState(store);
  await redisReady(redis);
  return { redis, store, calls, permissions, config, clock, events, close: async () => {
    store.disconnect();
    redis.disconnect();
  } };
}

export const newCallId = () => randomUUID();

/** An outbound admission's caller who never cancels. */
export const NEVER_CANCELED: Cancellation = { canceled: false, onCancel: () => () => {} };
