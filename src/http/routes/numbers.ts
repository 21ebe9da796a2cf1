// GET /v1/numbers and PUT /v1/numbers/{number}/calling (SPEC §4).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, parseBusinessNumber } from '../../domain/numbers.js';
import { withErrors } from '../errors.js';
import { configuredNumber, numberParams } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';

export const numberView = z.object({
  number: z.string().meta({ description: 'E.164 with +' }),
  calling: z.boolean().meta({ description: 'The calling toggle shared by all instances (config default until an operator sets it)' }),
  region: z.string().nullable().meta({ description: 'ISO 3166 region of the number (libphonenumber)' }),
  businessInitiatedEligible: z.boolean().meta({ description: 'false when the region is in whatsapp.blockedRegions (SPEC §7)' }),
  activeCalls: z.number().int(),
  connected24h: z.number().int().meta({ description: 'Connected business-initiated calls in the rolling 24 h' }),
  limits: z
    .object({
      activeCalls: z.number().int().meta({ description: 'whatsapp.maxConcurrentCalls' }),
      connected24h: z.number().int().nullable().meta({ description: 'whatsapp.connectedCallsPer24h.perNumber; null: no cap' }),
    })
    .meta({ description: 'The caps the figures above are held against (SPEC §7), so a client need not know the configuration' }),
});

export function numbersRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/numbers',
      { schema: { summary: 'Each configured business number', response: withErrors({ 200: z.object({ numbers: z.array(numberView) }) }) } },
      async () => {
        const config = deps.config();
        const numbers = await Promise.all(
          config.numbers.map(async ({ number }) => {
            const [calling, activeCalls, connected24h] = await state(() =>
              Promise.all([deps.permissions.calling(number), deps.calls.activeCalls(number), deps.calls.connected24h(number)]),
            );
            const parsed = parseBusinessNumber(number);
            return {
              number,
              calling,
              region: parsed?.region ?? null,
              businessInitiatedEligible: !parsed || !isRegionBlocked(parsed, config.whatsapp.blockedRegions),
              activeCalls,
              connected24h,
              limits: { activeCalls: config.whatsapp.maxConcurrentCalls, connected24h: config.whatsapp.connectedCallsPer24h.perNumber },
            };
          }),
        );
        return { numbers };
      },
    );

    app.put(
      '/numbers/:number/calling',
      {
        schema: {
          summary: 'Set the calling toggle of a number, for all instances',
          params: numberParams,
          body: z.object({ enabled: z.boolean() }).strict(),
          response: withErrors({ 200: z.object({ number: z.string(), calling: z.boolean() }) }),
        },
      },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        await state(() => deps.permissions.setCalling(number, req.body.enabled));
        return { number, calling: req.body.enabled };
      },
    );
  };
}
