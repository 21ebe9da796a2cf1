// GET /v1/calls?limit=&user=&number=: the newest call records of the `wa:calls` stream (SPEC §6).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CALL_FILTER_SCAN, recentCalls } from '../../state/records.js';
import { e164Param, userParam } from '../params.js';
import { withErrors } from '../errors.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';
import { visibleNumbers } from '../scope.js';

const recordValue = z.union([z.string(), z.number()]);
export const callRecord = z
  .object({
    id: z.string(),
    callId: z.string().optional(),
    direction: z.string().optional(),
    number: z.string().optional(),
    user: z.string().optional(),
    outcome: z.string().optional(),
    sipStatus: z.number().optional(),
    reason: z.string().optional(),
    startedAt: z.number().optional(),
    answeredAt: z.number().optional(),
    endedAt: z.number().optional(),
  })
  .catchall(recordValue)
  .meta({ description: 'id (stream id), callId, direction, number, user, outcome, sipStatus, reason, startedAt, answeredAt?, endedAt (epoch ms); with media.anchor: media, rtpPacketsFromPbx, rtpBytesFromPbx, rtpPacketsFromTelnyx, rtpBytesFromTelnyx, and packetsLost/jitterMs From Pbx/Telnyx when rtpengine has them' });

export function callsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/calls',
      {
        schema: {
          summary: 'Recent call records, newest first',
          description: `With user= or number=, the matching records among the newest ${CALL_FILTER_SCAN.toLocaleString('en')}.`,
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(1000).default(50),
            user: userParam.optional(),
            number: e164Param.optional(),
          }),
          response: withErrors({ 200: z.object({ calls: z.array(callRecord) }) }),
        },
      },
      async (req) => {
        const { limit, user, number } = req.query;
        // Parsed, not cast: the stream's flat fields become the declared record (the answer is checked against it anyway).
        // A tenant's token: that tenant's numbers' records only.
        const numbers = visibleNumbers(req, deps.config());
        return { calls: z.array(callRecord).parse(await state(() => recentCalls(deps.calls.redis, limit, { user: user?.key, number: number?.e164, ...(numbers ? { numbers } : {}) }))) };
      },
    );
  };
}
