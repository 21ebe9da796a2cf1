// The HTTP API with tenants (SPEC §2a) over real Redis: the state fixture, a tenant directory that
// swaps the merged configuration into it, and a way to call as any bearer token.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { buildHttpServer, type HttpDeps } from '../../src/http/server.js';
import { TenantDirectory } from '../../src/tenants/directory.js';
import { TenantStore } from '../../src/tenants/store.js';
import { stateFixture, type StateFixture } from '../helpers/state.js';
import { TOKEN } from './fixture.js';

export interface TenantFixture extends StateFixture {
  app: FastifyInstance;
  metrics: Metrics;
  directory: TenantDirectory;
  tenantStore: TenantStore;
  logs: string[];
  /** A request with this bearer token (the operator's by default). */
  as(token: string, method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse>;
  api(method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export async function tenantFixture(redisUrl: string, overrides: Record<string, unknown> = {}, pollMs = 50, deps: Partial<HttpDeps> = {}): Promise<TenantFixture> {
  const f = await stateFixture(redisUrl, overrides);
  const logs: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(line) });
  const tenantStore = new TenantStore(f.store);
  const file = f.config.current;
  const directory = new TenantDirectory(file, { store: tenantStore, logger, pollMs: () => pollMs, apply: (merged) => (f.config.current = merged) });
  await directory.start();
  const metrics = createMetrics();
  const app = await buildHttpServer({
    config: () => f.config.current,
    calls: f.calls,
    permissions: f.permissions,
    metrics,
    logger,
    clock: () => f.clock.now,
    drachtioConnected: () => true,
    tenants: { directory, store: tenantStore },
    ...deps,
  });
  await app.ready();
  const as = (token: string, method: InjectOptions['method'], url: string, body?: unknown) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });
  return {
    ...f,
    app,
    metrics,
    directory,
    tenantStore,
    logs,
    as,
    api: (method, url, body) => as(TOKEN, method, url, body),
    close: async () => {
      directory.stop();
      await app.close();
      await f.close();
    },
  };
}

/**
 * Tenant fixtures for a test file: `fresh()` starts one on an empty Redis (an instance of its own,
 * read after the flush), `another()` one more instance on the same Redis; all are closed after the
 * file (before its redis-server stops).
 */
export function useTenantFixtures(redis: { readonly url: string }) {
  const open: TenantFixture[] = [];
  afterAll(async () => {
    for (const x of open) await x.close();
  });
  const another = async (): Promise<TenantFixture> => {
    const x = await tenantFixture(redis.url);
    open.push(x);
    return x;
  };
  const fresh = async (): Promise<TenantFixture> => {
    const x = await another();
    await x.redis.flushall();
    await x.directory.refresh();
    return x;
  };
  return { fresh, another };
}
