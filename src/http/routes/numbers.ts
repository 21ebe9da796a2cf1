// GET /v1/numbers and PUT /v1/numbers/{number}/calling (SPEC §4).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, parseBusinessNumber } from '../../domain/numbers.js';
import { capAboveMeta } from '../../domain/metaPermission.js';
import { withErrors } from '../errors.js';
import { configuredNumber, numberParams } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';
import { visibleNumbers } from '../scope.js';

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
      connected24hPerUser: z.number().int().nullable().meta({ description: 'whatsapp.connectedCallsPer24h.perUser; null: no cap' }),
    })
    .meta({ description: 'The caps the figures above are held against (SPEC §7), so a client need not know the configuration' }),
  metaCap: z
    .object({
      connected24hPerUser: z.number().int().meta({ description: "Meta's start_call cap per business+user over 24 h (PT24H)" }),
      seenAt: z.string().meta({ description: 'When a call_permissions lookup last named it' }),
      configuredAbove: z.boolean().meta({ description: 'true when limits.connected24hPerUser is above it (or null): the edge would admit calls Meta refuses (wa_edge_cap_above_meta)' }),
    })
    .nullable()
    .meta({ description: "Meta's cap in force, as the last permission lookup returned it; null until one did" }),
});

export function numbersRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/numbers',
      { schema: { summary: 'Each configured business number', response: withErrors({ 200: z.object({ numbers: z.array(numberView) }) }) } },
      async (req) => {
        const config = deps.config();
        const visible = visibleNumbers(req, config);
        const numbers = await Promise.all(
          config.numbers.filter(({ number }) => !visible || visible.has(number)).map(async ({ number }) => {
            const [calling, activeCalls, connected24h, metaCap] = await state(() =>
              Promise.all([deps.permissions.calling(number), deps.calls.activeCalls(number), deps.calls.connected24h(number), deps.permissionLookup?.metaCap(number)]),
            );
            const perUser = config.whatsapp.connectedCallsPer24h.perUser;
            const parsed = parseBusinessNumber(number);
            return {
              number,
              calling,
              region: parsed?.region ?? null,
              businessInitiatedEligible: !parsed || !isRegionBlocked(parsed, config.whatsapp.blockedRegions),
              activeCalls,
              connected24h,
              limits: { activeCalls: config.whatsapp.maxConcurrentCalls, connected24h: config.whatsapp.connectedCallsPer24h.perNumber, connected24hPerUser: perUser },
              metaCap: metaCap
                ? { connected24hPerUser: metaCap.connected24h, seenAt: new Date(metaCap.seenAt).toISOString(), configuredAbove: capAboveMeta(perUser, metaCap.connected24h) === true }
                : null,
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
