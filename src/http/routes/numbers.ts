// GET /v1/numbers, PUT /v1/numbers/{number}/calling and DELETE /v1/numbers/{number}/restriction (SPEC §4).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, parseBusinessNumber } from '../../domain/numbers.js';
import { capAboveMeta } from '../../domain/metaPermission.js';
import { HttpError, withErrors } from '../errors.js';
import { telnyxHttpError } from '../permissionSender.js';
import { TelnyxApiError } from '../telnyxApi.js';
import type { TelnyxCalling } from '../../state/permissions.js';
import { configuredNumber, numberParams } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';
import { visibleNumbers } from '../scope.js';

export const numberView = z.object({
  number: z.string().meta({ description: 'E.164 with +' }),
  calling: z.boolean().meta({ description: "Whether business-initiated calls are admitted: the toggle shared by all instances (config default until an operator sets it) and, with telnyx.api, Telnyx's own switch (telnyxCalling)" }),
  telnyxCalling: z
    .object({
      enabled: z.boolean().nullable().meta({ description: "What Telnyx's calling_settings last said (Mission Control's switch); null: not read yet" }),
      checkedAt: z.string().nullable().meta({ description: 'When Telnyx last answered (ISO 8601 UTC)' }),
      error: z.string().optional().meta({ description: "Why the last read failed: the state above is the last known one, and calls are not blocked by it" }),
      errorAt: z.string().optional(),
    })
    .nullable()
    .meta({ description: 'With telnyx.api: the calling switch at Telnyx, read every telnyx.api.callingPollSeconds; null without telnyx.api' }),
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
const isoOrUnset = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
function telnyxView(t: TelnyxCalling | undefined) {
  if (!t) return null;
  return {
    enabled: t.enabled ?? null,
    checkedAt: isoOrUnset(t.checkedAt) ?? null,
    ...(t.error ? { error: t.error, errorAt: isoOrUnset(t.errorAt) } : {}),
  };
}

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
            const [toggle, activeCalls, connected24h, metaCap, telnyx, held] = await state(() =>
              Promise.all([
                deps.permissions.calling(number),
                deps.calls.activeCalls(number),
                deps.calls.connected24h(number),
                deps.permissionLookup?.metaCap(number),
                config.telnyx.api ? deps.permissions.telnyxCalling(number) : undefined,
                deps.permissions.restrictions.read(number),
              ]),
            );
            const calling = toggle && telnyx?.enabled !== false;
            const perUser = config.whatsapp.connectedCallsPer24h.perUser;
            const parsed = parseBusinessNumber(number);
            return {
              number,
              calling,
              telnyxCalling: telnyxView(telnyx),
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
          summary: 'Set the calling switch of a number, for all instances; with telnyx.api, at Telnyx itself (Mission Control shows the change)',
          description:
            "With telnyx.api the edge PATCHes Telnyx's calling_settings first: when Telnyx does not take it (422/502/504, Telnyx's code in `upstream`) nothing changes. Off is then Telnyx's switch alone (turning it on in Mission Control is enough); on also turns the edge's own toggle on, so there is one switch.",
          params: numberParams,
          body: z.object({ enabled: z.boolean() }).strict(),
          response: withErrors({
            200: z.object({
              number: z.string(),
              calling: z.boolean(),
              changedAtTelnyx: z.boolean().meta({ description: "true when the change was made at Telnyx too (telnyx.api): Mission Control's switch moved with it" }),
              message: z.string().meta({ description: 'The change in words' }),
            }),
          }),
        },
      },
      async (req) => {
        const config = deps.config();
        const { number } = configuredNumber(config, req.params.number);
        const enabled = req.body.enabled;
        let atTelnyx = false;
        if (config.telnyx.api) {
          if (!deps.telnyxCalling) throw new HttpError('internal_error', 'telnyx.api is configured but the calling switch is not wired');
          try {
            const now = await deps.telnyxCalling.set(number, enabled);
            if (now !== enabled) throw new HttpError('telnyx_refused', `Telnyx answered the change of ${number} with calling ${now ? 'on' : 'off'}; nothing changed at the edge`, {}, { upstream: { service: 'telnyx' } });
          } catch (e) {
            throw e instanceof TelnyxApiError ? telnyxHttpError(e) : e;
          }
          atTelnyx = true;
        }
        // One switch: with telnyx.api, off is Telnyx's alone (so Mission Control turning it on again
        // is enough), and on turns the edge's own toggle on too (so nothing here still says off).
        if (!atTelnyx || enabled) await state(() => deps.permissions.setCalling(number, enabled));
        const words = `WhatsApp calling for ${number} turned ${enabled ? 'on' : 'off'}`;
        return {
          number,
          calling: enabled,
          changedAtTelnyx: atTelnyx,
          message: atTelnyx ? `${words} at Telnyx: Mission Control shows the change too.` : `${words} at the edge (every instance).`,
        };
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
