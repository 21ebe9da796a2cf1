// The whole edge for end-to-end tests: real redis-server, real drachtio-server, the edge app
// in-process. SIPp plays the PBX (127.0.0.1) and Telnyx (127.0.0.2).
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { startEdge, type Edge } from '../../src/app.js';
import { edgeHttpServer } from '../../src/edgeHttp.js';
import { createLogger } from '../../src/log.js';
import { redisReady } from '../../src/state/redis.js';
import { numberKeys } from '../../src/state/keys.js';
import { startRedis, type RedisServer } from './redis.js';
import { startDrachtio, addrs, freeSipPort, type DrachtioOptions, type DrachtioServer } from './drachtio.js';
import { testConfig, BUSINESS } from './config.js';
import { until } from './until.js';

export interface EdgeFixture {
  edge: Edge;
  redis: RedisServer;
  drachtio: DrachtioServer;
  /** Port SIPp as Telnyx listens on (127.0.0.2). */
  telnyxPort: number;
  /** Port SIPp as the PBX listens on for inbound calls (127.0.0.1). */
  pbxPort: number;
  /** Second PBX target port (127.0.0.1), for failover. */
  pbxPort2: number;
  /** host:port of the edge's SIP listener. */
  sip: string;
  logs(): string;
  /** Applies config overrides the way SIGHUP does, on top of the configuration the fixture started with. */
  reconfigure(overrides?: Record<string, unknown>): void;
  /** Waits until no call is in progress on the edge and every Redis lease is gone. */
  expectIdle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startEdgeFixture(
  overrides: (ports: { telnyxPort: number; pbxPort: number; pbxPort2: number }) => Record<string, unknown> = () => ({}),
  opts: {
    redis?: RedisServer;
    telnyxPort?: number;
    drachtio?: DrachtioOptions;
    /** A drachtio-server another fixture started: this edge connects to it too and leaves it running at stop. */
    sharedDrachtio?: DrachtioServer;
    /** The PBX's ports of another fixture, so several edges route to the same SIPp. */
    pbxPorts?: { pbxPort: number; pbxPort2: number };
  } = {},
): Promise<EdgeFixture> {
  const redis = opts.redis ?? (await startRedis());
  const drachtio = opts.sharedDrachtio ?? (await startDrachtio(opts.drachtio));
  const telnyxPort = opts.telnyxPort ?? (await freeSipPort(addrs.telnyx));
  const pbxPort = opts.pbxPorts?.pbxPort ?? (await freeSipPort(addrs.pbx));
  const pbxPort2 = opts.pbxPorts?.pbxPort2 ?? (await freeSipPort(addrs.pbx));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      if (lines.length > 5000) lines.shift();
      cb();
    },
  });
  const startedWith = {
    drachtio: { host: drachtio.adminHost, port: drachtio.adminPort, secret: drachtio.secret },
    redis: { url: redis.url },
    telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`] },
    numbers: [{ number: BUSINESS, calling: true, inbound: [`sip:100@${addrs.pbx}:${pbxPort}`, `sip:200@${addrs.pbx}:${pbxPort2}`] }],
    ...overrides({ telnyxPort, pbxPort, pbxPort2 }),
  };
  const edge = startEdge(testConfig(startedWith), { logger: createLogger(process.env.E2E_LOG_LEVEL ?? 'debug', sink) });
  await redisReady(edge.redis);
  await until(() => edge.drachtio.connected, 10_000, 'the edge to connect to drachtio');
  const allNumbers = () => edge.config.current.numbers.map((n) => n.number);
  return {
    edge,
    redis,
    drachtio,
    telnyxPort,
    pbxPort,
    pbxPort2,
    sip: drachtio.sipHostPort,
    logs: () => lines.join(''),
    reconfigure(more = {}) {
      edge.reload(testConfig({ ...startedWith, ...more }));
    },
    async expectIdle(timeoutMs = 5000) {
      await until(() => edge.sessions.size === 0, timeoutMs, 'calls to end on the edge');
      for (const n of allNumbers()) {
        expect(await edge.redis.zcard(numberKeys(n).active), `active leases on ${n}`).toBe(0);
        expect(await edge.redis.zcard(numberKeys(n).inflight), `in-flight reservations on ${n}`).toBe(0);
      }
    },
    async stop() {
      await edge.shutdown(0);
      if (!opts.sharedDrachtio) await drachtio.stop();
      if (!opts.redis) await redis.stop(); // a shared server belongs to whoever started it
    },
  };
}

/**
 * One edge for the tests of a describe block: started before them, stopped after; before each
 * test its configuration is the one it started with and Redis is empty; after each no call is left.
 * The fixture is read through the returned object once the block's tests run.
 */
export function useEdgeFixture(overrides?: Parameters<typeof startEdgeFixture>[0], idleMs = 15_000): EdgeFixture {
  let current: EdgeFixture | undefined;
  beforeAll(async () => {
    current = await startEdgeFixture(overrides);
  }, 60_000);
  afterAll(async () => current?.stop());
  beforeEach(async () => {
    current?.reconfigure();
    await current?.edge.redis.flushall();
  });
  afterEach(async () => current?.expectIdle(idleMs));
  return new Proxy({} as EdgeFixture, {
    get(_target, name) {
      if (!current) throw new Error('the edge fixture is read before its beforeAll ran');
      return Reflect.get(current, name);
    },
  });
}

/**
 * The running edge's own HTTP API (src/edgeHttp.ts, not listening: requests are injected):
 * `call` as the operator, `inject` with any headers (a tenant's token, none).
 */
export async function operatorApi(fx: EdgeFixture) {
  const api = await edgeHttpServer(fx.edge);
  await api.ready();
  const token = fx.edge.config.current.http.adminToken;
  return {
    call: (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
      api.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) }),
    inject: (opts: InjectOptions) => api.inject(opts),
    close: () => api.close(),
  };
}
