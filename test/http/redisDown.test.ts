// The HTTP API while Redis is unreachable: readiness says so, metrics still serve, the API answers 503.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { httpFixture, numbersWithId, type HttpFixture } from './fixture.js';

let server: RedisServer;
let f: HttpFixture;
beforeAll(async () => {
  server = await startRedis();
  f = await httpFixture(server.url, { whatsapp: { webhook: { appSecret: 's', verifyToken: 'v' } }, numbers: numbersWithId() });
  await f.redis.flushall();
  await server.kill();
});
afterAll(async () => {
  await f?.close();
  // RedisServer.kill() twice waits for an exit that already happened (exitCode stays null after SIGKILL): restart first.
  await server.start();
  await server.stop();
});

const redisErrors = async () => {
  const metric = await f.metrics.redisErrorsTotal.get();
  return metric.values[0]?.value ?? 0;
};

describe('Redis unreachable', () => {
  it('readyz → 503 naming redis, within the probe timeout', async () => {
    const started = Date.now();
    const res = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ drachtio: 'up', redis: 'down' });
  });

  it('metrics still serve; redis_errors_total counts the failed refresh; the per-number gauges are dropped', async () => {
    const before = await redisErrors();
    const res = await f.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(await redisErrors()).toBe(before + 1);
    expect(res.body).toContain('# TYPE wa_edge_active_calls gauge');
    expect(res.body).not.toContain('wa_edge_active_calls{');
    expect(res.body).toContain(`wa_edge_redis_errors_total ${before + 1}`);
  });

  it.each([
    ['GET', '/v1/numbers', undefined],
    ['PUT', `/v1/numbers/${BUSINESS}/calling`, { enabled: false }],
    ['GET', `/v1/numbers/${BUSINESS}/users/${USER}`, undefined],
    ['PUT', `/v1/numbers/${BUSINESS}/users/${USER}/permission`, { kind: 'permanent' }],
    ['POST', `/v1/numbers/${BUSINESS}/users/${USER}/permission-requests`, undefined],
    ['GET', `/v1/decisions?from=${BUSINESS.slice(1)}&to=${USER.slice(1)}`, undefined],
    ['GET', '/v1/calls', undefined],
  ] as const)('%s %s → 503 state_unavailable, counted', async (method, url, body) => {
    const before = await redisErrors();
    const res = await f.api(method, url, body);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'state_unavailable', message: 'shared state (Redis) is unavailable' });
    expect(await redisErrors()).toBeGreaterThan(before);
  });

  it('bad input is still 400, not 503: it never reaches Redis', async () => {
    expect((await f.api('PUT', '/v1/numbers/x/calling', { enabled: false })).statusCode).toBe(400);
  });
});
