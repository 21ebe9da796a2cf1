// GET /healthz and GET /readyz (SPEC §4): liveness, and readiness = drachtio connected + Redis answering.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RedisClient } from '../../state/redis.js';
import type { HttpDeps } from '../server.js';

/** A probe must answer well inside a kubelet's default 1 s timeout. */
const REDIS_PING_TIMEOUT_MS = 500;

const upDown = z.enum(['up', 'down']);
const readiness = z.object({ drachtio: upDown, redis: upDown });

async function redisAnswers(redis: RedisClient): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), REDIS_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([redis.ping().then(() => true), timedOut]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { summary: 'Liveness: 200 while the process runs', security: [], response: { 200: z.object({ status: z.literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: 200 when drachtio is connected and Redis answers PING, else 503 naming what is down',
          security: [],
          response: { 200: readiness, 503: readiness },
        },
      },
      async (_req, reply) => {
        const drachtio = deps.drachtioConnected();
        const redis = await redisAnswers(deps.calls.redis);
        if (!redis) deps.metrics.redisErrorsTotal.inc();
        const body = { drachtio: drachtio ? 'up' : 'down', redis: redis ? 'up' : 'down' } as const;
        return reply.code(drachtio && redis ? 200 : 503).send(body);
      },
    );
  };
}
