// GET /v1/decisions?from=&to=: what an outbound call would get now, with every check, reserving nothing.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, normaliseDialled } from '../../domain/numbers.js';
import { withErrors } from '../errors.js';
import { configuredNumber, e164Param, phoneNumberParam } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';

const dialled = phoneNumberParam((s) => normaliseDialled(s), 'not a valid phone number (E.164, with + or 00, or a sip:/tel: URI)', {
  description: 'The WhatsApp user, as a PBX would dial them internationally',
  example: '+447911123456',
});

export const decision = z.object({
  from: z.string(),
  to: z.string(),
  admitted: z.boolean(),
  reason: z.string().nullable().meta({ description: 'SPEC §3 reason of the first failing check; null when admitted' }),
  code: z.number().int().nullable().meta({ description: 'SIP status the PBX would get; null when admitted' }),
  retryAfter: z.number().int().optional().meta({ description: 'Seconds, for † reasons' }),
  checks: z.array(z.object({ check: z.string(), result: z.enum(['pass', 'fail']) })).meta({ description: 'Every state check in SPEC §3 order' }),
});

export function decisionsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/decisions',
      {
        schema: {
          summary: 'Explain the admission of an outbound call from a business number to a user, reserving nothing',
          querystring: z.object({ from: e164Param, to: dialled }),
          response: withErrors({ 200: decision }),
        },
      },
      async (req) => {
        const config = deps.config();
        const { number } = configuredNumber(config, req.query.from);
        const regionBlocked = isRegionBlocked(req.query.from, config.whatsapp.blockedRegions);
        const d = await state(() => deps.calls.explainOutbound({ business: number, user: req.query.to.e164, regionBlocked }));
        const refusal = d.result.admitted ? undefined : d.result.refusal;
        return {
          from: number,
          to: req.query.to.e164,
          admitted: d.result.admitted,
          reason: refusal?.reason ?? null,
          code: refusal?.code ?? null,
          ...(refusal?.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
          checks: d.checks,
        };
      },
    );
  };
}
