// GET /v1/numbers, PUT /v1/numbers/{number}/calling and DELETE /v1/numbers/{number}/restriction (SPEC §4).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, parseBusinessNumber } from '../../domain/numbers.js';
import { capAboveMeta } from '../../domain/metaPermission.js';
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
  restriction: z
    .object({
      until: z.string().meta({ description: 'ISO 8601 UTC: when business-initiated calls may go again' }),
      types: z.array(z.string()).meta({ description: "Meta's restriction_type values, e.g. RESTRICTED_BIZ_INITIATED_CALLING" }),
      source: z.string().meta({ description: "Who told the edge: meta (account_update webhook) or telnyx (whatsapp.account.restricted)" }),
      since: z.string().optional(),
    })
    .nullable()
    .meta({ description: "Meta's restriction of business-initiated calling while it holds (outbound calls get 403 account_restricted); null otherwise" }),
  warning: z
    .object({ text: z.string(), source: z.string(), at: z.string() })
    .nullable()
    .meta({ description: "Meta's latest warning (ACCOUNT_VIOLATION, or a restriction of something other than calling), for whatsapp.accountRestrictionHours after it came; null otherwise" }),
});

const iso = (ms: number) => new Date(ms).toISOString();

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
            const [calling, activeCalls, connected24h, metaCap, held] = await state(() =>
              Promise.all([
                deps.permissions.calling(number),
                deps.calls.activeCalls(number),
                deps.calls.connected24h(number),
                deps.permissionLookup?.metaCap(number),
                deps.permissions.restrictions.read(number),
              ]),
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
              restriction: held.restriction
                ? { until: iso(held.restriction.until), types: held.restriction.types, source: held.restriction.source, ...(held.restriction.since ? { since: iso(held.restriction.since) } : {}) }
                : null,
              warning: held.warning ? { text: held.warning.text, source: held.warning.source, at: iso(held.warning.at) } : null,
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

    app.delete(
      '/numbers/:number/restriction',
      {
        schema: {
          summary: "Lift Meta's restriction of business-initiated calling by hand (Meta lifted it early), for all instances",
          description: 'Recorded in the wa:restrictions stream (event lifted, source api) and the log. Also clears the warning. lifted: false when no restriction was in force.',
          params: numberParams,
          response: withErrors({ 200: z.object({ number: z.string(), lifted: z.boolean() }) }),
        },
      },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        const lifted = await state(() => deps.permissions.restrictions.lift(number, 'api'));
        req.log.warn({ number, lifted }, lifted ? "Meta's calling restriction lifted by hand: outbound calls go again" : 'restriction lift asked for, none was in force');
        return { number, lifted };
      },
    );
  };
}
