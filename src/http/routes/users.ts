// A (business number, WhatsApp user) pair: its state, its permission, its permission requests (SPEC §4, §7).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../../config/schema.js';
import { numberEntry } from '../../config/derived.js';
import type { UserState } from '../../state/permissions.js';
import { DEFAULT_REQUEST_TEXT, sendPermissionRequest } from '../cloudApi.js';
import { HttpError, withErrors } from '../errors.js';
import { configuredNumber, expiresAtSchema, userParams } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';

export const userView = z.object({
  number: z.string(),
  user: z.string().meta({ description: 'The key the edge holds the user under: the phone number when known, else the business-scoped user id' }),
  phone: z.string().optional().meta({ description: 'E.164, when known' }),
  bsuid: z.string().optional().meta({ description: 'Business-scoped user id, when a webhook named it' }),
  permission: z.object({
    kind: z.enum(['none', 'temporary', 'permanent']),
    expiresAt: z.string().optional().meta({ description: 'ISO 8601 UTC instant; temporary permissions only' }),
    source: z.string().optional().meta({ description: 'Who granted it: api, webhook, callback; meta_refused when Meta refused a call for want of it (ask again)' }),
    cause: z.string().optional().meta({ description: 'Why it is none: user, api, unanswered, expired, meta_refused' }),
    text: z.string().optional().meta({ description: "With meta_refused: Meta's words as Telnyx relayed them" }),
  }),
  consecutiveUnanswered: z.number().int(),
  connected24h: z.number().int().meta({ description: 'Connected business-initiated calls with this user in the rolling 24 h' }),
  permissionRequests: z.object({
    last24h: z.number().int(),
    last7d: z.number().int(),
    remaining24h: z.number().int(),
    remaining7d: z.number().int(),
    waitSeconds: z.number().int().meta({ description: 'Seconds until another request is allowed (SPEC §7 limits); 0: one is allowed now' }),
    viaCloudApi: z.boolean().meta({ description: 'true when a request is sent through whatsapp.cloudApi (configured, and the number has a phoneNumberId); false: it must be sent from another WhatsApp tool and recorded with sentElsewhere' }),
  }),
  metaHolds: z
    .object({
      pairCapUntil: z.string().optional().meta({ description: "ISO 8601: calls to this user are refused daily_limit until then (Meta said the pair's connected-calls cap is reached)" }),
      numberRateUntil: z.string().optional().meta({ description: "ISO 8601: every call from this number is refused attempt_limit until then (Meta said the number's call rate is reached)" }),
    })
    .meta({ description: "Holds put in place by Meta's refusals relayed by Telnyx, while they last (docs/operations.md)" }),
  limits: z
    .object({
      connected24h: z.number().int().nullable().meta({ description: 'whatsapp.connectedCallsPer24h.perUser; null: no cap' }),
      unanswered: z.object({ nudgeAt: z.number().int().nullable(), revokeAt: z.number().int().nullable(), stopAt: z.number().int().nullable() }),
      permissionRequests: z.object({ per24h: z.number().int(), per7d: z.number().int() }),
    })
    .meta({ description: 'The thresholds the figures above are held against (whatsapp.* in the configuration; null: off)' }),
});

type Limits = z.output<typeof userView>['limits'];

function toUserView(number: string, s: UserState, limits: Limits, viaCloudApi: boolean): z.output<typeof userView> {
  const { expiresAt, ...rest } = s.permission;
  const { user, phone, bsuid } = s.identity;
  return {
    number,
    user,
    ...(phone !== undefined ? { phone } : {}),
    ...(bsuid !== undefined ? { bsuid } : {}),
    permission: { ...rest, ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}) },
    consecutiveUnanswered: s.consecutiveUnanswered,
    connected24h: s.connected24h,
    permissionRequests: { ...s.permissionRequests, viaCloudApi },
    metaHolds: Object.fromEntries(Object.entries(s.metaHolds).map(([k, v]) => [k, new Date(v).toISOString()])),
    limits,
  };
}

function userLimits(w: Config['whatsapp']): Limits {
  const { nudgeAt, revokeAt, stopAt } = w.unanswered;
  return { connected24h: w.connectedCallsPer24h.perUser, unanswered: { nudgeAt, revokeAt, stopAt }, permissionRequests: { ...w.permissionRequests } };
}

const grantBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('temporary'), expiresAt: expiresAtSchema.optional() }).strict(),
  z.object({ kind: z.literal('permanent') }).strict(),
]);

const requestBody = z
  .object({
    text: z.string().trim().min(1).max(1024).optional().meta({ description: 'Text above the allow/deny buttons' }),
    sentElsewhere: z.boolean().optional().meta({
      description: 'true: the operator sent the request from another WhatsApp tool; the edge records it against the allowance and sends nothing',
    }),
  })
  .strict()
  .nullish(); // fastify passes null for a POST without a body

export const requestAccepted = z.object({
  sent: z.boolean().meta({ description: 'true when sent through whatsapp.cloudApi; false when recorded as sent elsewhere (sentElsewhere)' }),
  messageId: z.string().optional().meta({ description: "Meta's message id (wamid…)" }),
});

/** The Cloud API and the number's phoneNumberId, when both are there: a request is then sent from here. */
function cloudSender(config: Config, number: string) {
  const api = config.whatsapp.cloudApi;
  const phoneNumberId = numberEntry(config.numbers, number)?.phoneNumberId;
  return api && phoneNumberId ? { api, phoneNumberId } : undefined;
}

const limited = (seconds: number) => new HttpError('permission_request_limited', `next request possible in ${seconds} s`, { 'Retry-After': String(seconds) });

export function usersRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  const view = async (number: string, user: string) => {
    const config = deps.config();
    return toUserView(number, await state(() => deps.permissions.userState(number, user)), userLimits(config.whatsapp), cloudSender(config, number) !== undefined);
  };

  return async (app) => {
    app.get(
      '/numbers/:number/users/:user',
      { schema: { summary: 'Permission, unanswered run, connected calls and request allowance of a user', params: userParams, response: withErrors({ 200: userView }) } },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        return view(number, req.params.user.key);
      },
    );

    app.put(
      '/numbers/:number/users/:user/permission',
      { schema: { summary: 'Record a permission the user granted (source api)', params: userParams, body: grantBody, response: withErrors({ 200: userView }) } },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        const user = req.params.user.key;
        const until = req.body.kind === 'temporary' ? req.body.expiresAt : undefined;
        if (until !== undefined && until <= deps.clock()) throw new HttpError('invalid_request', 'body.expiresAt: must be in the future');
        await state(() => deps.permissions.grant(number, user, req.body.kind, 'api', until));
        return view(number, user);
      },
    );

    app.delete(
      '/numbers/:number/users/:user/permission',
      { schema: { summary: 'Record that the user revoked the permission (cause api)', params: userParams, response: withErrors({ 200: userView }) } },
      async (req) => {
        const { number } = configuredNumber(deps.config(), req.params.number);
        const user = req.params.user.key;
        await state(() => deps.permissions.revoke(number, user, 'api'));
        return view(number, user);
      },
    );

    app.post(
      '/numbers/:number/users/:user/permission-requests',
      {
        schema: {
          summary: 'Reserve a permission request (SPEC §7 limits) and send it through the Cloud API, or record one sent elsewhere',
          description:
            '202 when sent through whatsapp.cloudApi, or recorded with {"sentElsewhere": true}; 429 with Retry-After (seconds) over the limit; 409 permission_exists when a permanent permission exists (held by the edge, or Meta answers error 138017: then the edge records it, source meta), 409 when the number has no phoneNumberId, or nothing would send it (no cloudApi and no sentElsewhere); none of these 409s counts against the allowance; 502 when the Cloud API fails (the allowance is not consumed).',
          params: userParams,
          body: requestBody,
          response: withErrors({ 202: requestAccepted }),
        },
      },
      async (req, reply) => {
        const config = deps.config();
        const entry = configuredNumber(config, req.params.number);
        const sentElsewhere = req.body?.sentElsewhere === true;
        // Checked before reserving: a configuration gap must not use up the user's allowance.
        if (!sentElsewhere && config.whatsapp.cloudApi && !entry.phoneNumberId) {
          throw new HttpError('phone_number_id_missing', `${entry.number} has no phoneNumberId; add it under numbers[] to send through whatsapp.cloudApi`);
        }
        const sender = sentElsewhere ? undefined : cloudSender(config, entry.number);
        // A BSUID known to be a phone number is that number; one that is not is messaged by BSUID.
        const known = await state(() => deps.permissions.identify(entry.number, req.params.user.key));
        if (!sender && !sentElsewhere) {
          // Nothing would reach the customer: say so and spend nothing, after the answers that still apply.
          const s = await state(() => deps.permissions.userState(entry.number, known.user));
          if (s.permission.kind === 'permanent') throw new HttpError('permission_exists');
          if (s.permissionRequests.waitSeconds > 0) throw limited(s.permissionRequests.waitSeconds);
          throw new HttpError('cloud_api_not_configured');
        }
        const r = await state(() => deps.permissions.reservePermissionRequest(entry.number, known.user));
        if (r.status === 'permanent') throw new HttpError('permission_exists');
        if (r.status === 'limited') throw limited(r.retryAfterSeconds);
        if (!sender) return reply.code(202).send({ sent: false });
        try {
          const recipient = known.phone !== undefined ? { to: known.phone.slice(1) } : { recipient: known.user };
          const message = { phoneNumberId: sender.phoneNumberId, ...recipient, text: req.body?.text ?? DEFAULT_REQUEST_TEXT };
          const { messageId } = await sendPermissionRequest(sender.api, message, deps.fetch);
          return reply.code(202).send({ sent: true, messageId });
        } catch (err) {
          await r.release().catch((releaseErr: unknown) => {
            deps.metrics.redisErrorsTotal.inc();
            req.log.error({ err: releaseErr }, 'permission request not sent, and its reservation could not be released');
          });
          // Meta holds a permanent permission the edge had not seen: keep it, so calls are not refused no_permission.
          if (err instanceof HttpError && err.code === 'permission_exists') {
            await state(() => deps.permissions.grant(entry.number, known.user, 'permanent', 'meta')).catch((grantErr: unknown) => req.log.warn({ err: grantErr }, 'Meta says a permanent permission exists; recording it failed'));
          }
          throw err;
        }
      },
    );
  };
}
