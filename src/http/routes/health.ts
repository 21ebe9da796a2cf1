// GET /healthz and GET /readyz (SPEC §4): liveness, and readiness = drachtio connected + Redis answering
// (+ an rtpengine answering, with media.anchor).
// With telnyx.register the body also names the registration's state; a lost registration does not
// make the instance unready: outbound calls still work, and a restart would not bring it back sooner.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RedisClient } from '../../state/redis.js';
import type { HttpDeps } from '../server.js';

/** A probe must answer well inside a kubelet's default 1 s timeout. */
const REDIS_PING_TIMEOUT_MS = 500;

const upDown = z.enum(['up', 'down']);
// `rtpengine` with media.anchor only: up while at least one answers (outbound is refused without one).
const readiness = z.object({
  drachtio: upDown,
  redis: upDown,
  telnyxRegistration: z.enum(['registering', 'registered', 'retrying', 'refused', 'unregistered']).optional(),
  // docs/tls.md: verified, not_verified (an engine without the patch), off (telnyx.tls.verify false), no_tls.
  telnyxTls: z.enum(['verified', 'not_verified', 'off', 'no_tls']).optional(),
  rtpengine: upDown.optional(),
  rtpengines: z.array(z.object({ rtpengine: z.string(), state: upDown })).optional(),
  // telnyx.api: each number's calling switch at Telnyx as this instance last read it; stale: Telnyx
  // did not answer the last read, the last known state stands (calls are not blocked by it).
  telnyxCalling: z
    .array(z.object({ number: z.string(), state: z.enum(['current', 'stale', 'unknown']), enabled: z.boolean().optional(), error: z.string().optional() }))
    .optional(),
});

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
          summary:
            'Readiness: 200 when drachtio is connected and Redis answers PING, else 503 naming what is down; also names the Telnyx registration (telnyx.register) and the rtpengines (media.anchor), which are not part of readiness',
          security: [],
          response: { 200: readiness, 503: readiness },
        },
      },
      async (_req, reply) => {
        const drachtio = deps.drachtioConnected();
        const redis = await redisAnswers(deps.calls.redis);
        if (!redis) deps.metrics.redisErrorsTotal.inc();
        const telnyxRegistration = deps.telnyxRegistration?.();
        const telnyxTls = deps.telnyxTls?.();
        const telnyxCalling = deps.telnyxCalling?.readiness();
        const body = {
          ...(telnyxCalling ? { telnyxCalling } : {}),
          drachtio: drachtio ? 'up' : 'down',
          redis: redis ? 'up' : 'down',
          ...(telnyxRegistration ? { telnyxRegistration } : {}),
          ...(telnyxTls ? { telnyxTls } : {}),
        } as const;
        // rtpengine, like the registration, is named but not part of readiness (SPEC §4): without
        // it inbound calls still go through unanchored, and outbound ones get 503 media_unavailable.
        const engines = deps.rtpengines?.();
        const media = engines ? { rtpengine: engines.some((e) => e.state === 'up') ? ('up' as const) : ('down' as const), rtpengines: engines } : {};
        return reply.code(drachtio && redis ? 200 : 503).send({ ...body, ...media });
      },
    );
  };
}
