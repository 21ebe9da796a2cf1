// The HTTP server over real Redis, with the test's clock, metrics wired the way main.ts wires them,
// and every log line captured.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { CallState } from '../../src/state/calls.js';
import { PermissionState } from '../../src/state/permissions.js';
import { PermissionLookup } from '../../src/permissionLookup.js';
import { TelnyxCallingSwitch } from '../../src/telnyxCalling.js';
import { buildHttpServer, type HttpDeps } from '../../src/http/server.js';
import { stateFixture, type StateFixture } from '../helpers/state.js';
import { StateStore } from '../../src/state/store.js';

export const TOKEN = 'test-admin-token-0123456789';
export const PHONE_NUMBER_ID = '1234567890';

export interface HttpFixture extends StateFixture {
  app: FastifyInstance;
  metrics: Metrics;
  drachtio: { connected: boolean };
  logs: string[];
  /** Telnyx's calling switch (telnyx.api), not started: a test polls it by hand. */
  telnyxCalling: TelnyxCallingSwitch;
  /** An authenticated request. */
  api(method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export async function httpFixture(redisUrl: string, overrides: Record<string, unknown> = {}, deps: Partial<HttpDeps> = {}): Promise<HttpFixture> {
  const f = await stateFixture(redisUrl, overrides);
  const metrics = createMetrics();
  const config = () => f.config.current;
  const clock = () => f.clock.now;
  const store = new StateStore(f.redis, config, clock, (e) => {
    f.events.push(e);
    metrics.ofNumber(config(), e.number).permissionEventsTotal.inc({ event: e.event });
  });
  const calls = new CallState(store);
  const permissions = new PermissionState(store);
  const logs: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(line) });
  const drachtio = { connected: true };
  const permissionLookup = new PermissionLookup({ config, calls, permissions, metrics, logger, clock, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const telnyxCalling = new TelnyxCallingSwitch({ config, permissions, metrics, logger: deps.logger ?? logger, clock, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const app = await buildHttpServer({ config, calls, permissions, permissionLookup, telnyxCalling, metrics, logger, clock, drachtioConnected: () => drachtio.connected, ...deps });
  await app.ready();
  return {
    ...f,
    calls,
    permissions,
    app,
    metrics,
    drachtio,
    logs,
    telnyxCalling,
    api: (method, url, body) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) }),
    close: async () => {
      await app.close();
      await f.close();
    },
  };
}

/** A configured number with the Meta id webhooks and the Cloud API use. */
export function numbersWithId(extra: Record<string, unknown>[] = []) {
  return [{ number: '+447418613982', calling: true, phoneNumberId: PHONE_NUMBER_ID, inbound: [] }, ...extra];
}

/**
 * One HttpFixture at a time for a test file: `open` closes the previous one and starts the next on
 * an empty Redis; the last one is closed after the file (before its redis-server stops).
 */
export function useHttpFixtures(redis: { readonly url: string }) {
  let current: HttpFixture | undefined;
  afterAll(async () => {
    await current?.close();
  });
  return async (overrides: Record<string, unknown> = {}, deps: Partial<HttpDeps> = {}): Promise<HttpFixture> => {
    await current?.close();
    current = await httpFixture(redis.url, overrides, deps);
    await current.redis.flushall();
    return current;
  };
}
