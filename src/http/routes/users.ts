// A (business number, WhatsApp user) pair: its state, its permission, its permission requests (SPEC §4, §7).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../../config/schema.js';
import { numberEntry } from '../../config/derived.js';
import type { LastPermissionRequest, RequestChannel, UserState } from '../../state/permissions.js';
import { DEFAULT_REQUEST_TEXT } from '../cloudApi.js';
import { HttpError, withErrors } from '../errors.js';
import { sendRequest, senderFor, telnyxHttpError, type Sender } from '../permissionSender.js';
import { TelnyxApiError } from '../telnyxApi.js';
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
    via: z.enum(['telnyx', 'cloud_api']).nullable().meta({ description: 'Who sends a request from this number: telnyx (telnyx.api), cloud_api (whatsapp.cloudApi), or null: nobody (send it elsewhere, record it with sentElsewhere)' }),
    last: z
      .object({
        channel: z.enum(['cloud_api', 'telnyx', 'elsewhere']),
        kind: z.enum(['template', 'interactive']).optional(),
        messageId: z.string().optional(),
        sentAt: z.string().meta({ description: 'ISO 8601 UTC' }),
        delivery: z
          .object({ status: z.enum(['sent', 'delivered', 'failed', 'unconfirmed']), at: z.string(), error: z.string().optional() })
          .optional()
          .meta({ description: "Through Telnyx: the last delivery event (message.sent, message.finalized) of that message" }),
      })
      .nullable()
      .meta({ description: 'The last request sent to this user in the last 7 days, null when none' }),
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

const iso = (ms: number) => new Date(ms).toISOString();
function lastView(r: LastPermissionRequest | undefined) {
  if (!r) return null;
  const { sentAt, delivery, ...rest } = r;
  return { ...rest, sentAt: iso(sentAt), ...(delivery ? { delivery: { ...delivery, at: iso(delivery.at) } } : {}) };
}

function toUserView(number: string, s: UserState, limits: Limits, via: Sender['channel'] | null, last: LastPermissionRequest | undefined): z.output<typeof userView> {
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
    permissionRequests: { ...s.permissionRequests, viaCloudApi: via === 'cloud_api', via, last: lastView(last) },
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
  sent: z.boolean().meta({ description: 'true when sent (through telnyx.api or whatsapp.cloudApi); false when recorded as sent elsewhere (sentElsewhere)' }),
  channel: z.enum(['cloud_api', 'telnyx', 'elsewhere']).meta({ description: 'Who sent it' }),
  kind: z.enum(['template', 'interactive']).optional().meta({ description: 'Through Telnyx: the template (outside the 24 h window, or when the window check failed) or the free-form interactive request (inside it)' }),
  messageId: z.string().optional().meta({ description: "The sender's message id: Telnyx's, or Meta's (wamid…)" }),
  windowCheck: z.enum(['open', 'closed', 'failed']).optional().meta({ description: "Through Telnyx: what the conversation_window check answered (failed: Telnyx's window endpoint did not answer; the template was sent)" }),
});

/** The configured sender, or none when the number lacks what it needs. */
function configuredSender(config: Config, number: string): Sender | undefined {
  const entry = numberEntry(config.numbers, number);
  return entry ? senderFor(config, entry).sender : undefined;
}

const limited = (seconds: number) => new HttpError('permission_request_limited', `next request possible in ${seconds} s`, { 'Retry-After': String(seconds) });

export function usersRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  const view = async (number: string, user: string) => {
    const config = deps.config();
    const [s, last] = await state(async () => {
      const userState = await deps.permissions.userState(number, user);
      return [userState, await deps.permissions.lastPermissionRequest(number, userState.identity.user)] as const;
    });
    return toUserView(number, s, userLimits(config.whatsapp), configuredSender(config, number)?.channel ?? null, last);
  };
  const counted = (number: string, channel: RequestChannel, result: 'sent' | 'recorded' | 'limited' | 'refused' | 'failed') => deps.metrics.ofNumber(deps.config(), number).permissionRequestsTotal.inc({ channel, result });

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
          summary: 'Reserve a permission request (SPEC §7 limits) and send it through Telnyx or the Cloud API, or record one sent elsewhere',
          description:
            '202 when sent through telnyx.api (the interactive request inside the 24 h window, the template outside it or when the window check fails) or whatsapp.cloudApi, or recorded with {"sentElsewhere": true}; 429 with Retry-After (seconds) over the limit; 409 permission_exists when a permanent permission exists (held by the edge, or Meta answers error 138017 through the Cloud API: then the edge records it, source meta), 409 when the number lacks what its sender needs (permissionTemplate, phoneNumberId), or nothing would send it (no sender and no sentElsewhere: nothing is recorded); ' +
            "422 telnyx_refused when Telnyx or Meta refuses the message (Telnyx's code in `upstream`), 502 when Telnyx refuses the edge's key or fails, 504 when it does not answer: none of these is counted.",
          params: userParams,
          body: requestBody,
          response: withErrors({ 202: requestAccepted }),
        },
      },
      async (req, reply) => {
        const config = deps.config();
        const entry = configuredNumber(config, req.params.number);
        const sentElsewhere = req.body?.sentElsewhere === true;
        const channel: RequestChannel | undefined = sentElsewhere ? 'elsewhere' : undefined;
        // Checked before reserving: a configuration gap must not use up the user's allowance.
        const chosen = sentElsewhere ? {} : senderFor(config, entry);
        if (chosen.missing) throw chosen.missing;
        const sender = chosen.sender;
        // A BSUID known to be a phone number is that number; one that is not is messaged by BSUID.
        const known = await state(() => deps.permissions.identify(entry.number, req.params.user.key));
        if (!sender && !sentElsewhere) {
          // Nothing would reach the customer: say so and spend nothing, after the answers that still apply.
          const s = await state(() => deps.permissions.userState(entry.number, known.user));
          if (s.permission.kind === 'permanent') throw new HttpError('permission_exists');
          if (s.permissionRequests.waitSeconds > 0) throw limited(s.permissionRequests.waitSeconds);
          throw new HttpError('cloud_api_not_configured');
        }
        if (sender?.channel === 'telnyx' && known.phone === undefined) {
          throw new HttpError('invalid_request', `Telnyx sends WhatsApp messages to phone numbers only, and this user is known only by the business-scoped user id ${known.user}; nothing was counted`);
        }
        const via = channel ?? (sender as Sender).channel;
        const r = await state(() => deps.permissions.reservePermissionRequest(entry.number, known.user));
        if (r.status === 'permanent') throw new HttpError('permission_exists');
        if (r.status === 'limited') {
          counted(entry.number, via, 'limited');
          throw limited(r.retryAfterSeconds);
        }
        const record = async (sent: { kind?: 'template' | 'interactive'; messageId?: string }) => {
          // The request is out and counted; its record only feeds the console, so a failure here is logged, not answered.
          await state(() => deps.permissions.recordRequestSent(entry.number, known.user, { channel: via, ...sent })).catch((err: unknown) => {
            req.log.error({ err }, 'permission request sent, but its record (for the delivery events) could not be written');
          });
        };
        if (!sender) {
          counted(entry.number, 'elsewhere', 'recorded');
          await record({});
          return reply.code(202).send({ sent: false, channel: 'elsewhere' as const });
        }
        const text = req.body?.text ?? DEFAULT_REQUEST_TEXT;
        try {
          const sent = await sendRequest(sender, entry.number, known, text, deps.fetch);
          if (sent.window === 'failed') {
            deps.metrics.telnyxApiErrorsTotal.inc({ operation: 'conversation_window' });
            req.log.warn({ number: entry.number, why: sent.windowError }, 'telnyx conversation_window check failed: the template was sent (valid inside and outside the window)');
          }
          counted(entry.number, sender.channel, 'sent');
          const messageId = sent.messageId ? { messageId: sent.messageId } : {};
          await record({ kind: sent.kind, ...messageId });
          return reply.code(202).send({ sent: true, channel: sender.channel, kind: sent.kind, ...messageId, ...(sent.window ? { windowCheck: sent.window } : {}) });
        } catch (err) {
          const refused = err instanceof TelnyxApiError ? err.failure.kind === 'refused' : false;
          counted(entry.number, via, refused ? 'refused' : 'failed');
          if (err instanceof TelnyxApiError) deps.metrics.telnyxApiErrorsTotal.inc({ operation: 'send' });
          await r.release().catch((releaseErr: unknown) => {
            deps.metrics.redisErrorsTotal.inc();
            req.log.error({ err: releaseErr }, 'permission request not sent, and its reservation could not be released');
          });
          const answer = err instanceof TelnyxApiError ? telnyxHttpError(err) : err;
          // Meta (138017, through either sender) holds a permanent permission the edge had not seen:
          // keep it, so calls are not refused no_permission.
          if (answer instanceof HttpError && answer.code === 'permission_exists') {
            await state(() => deps.permissions.grant(entry.number, known.user, 'permanent', 'meta')).catch((grantErr: unknown) => req.log.warn({ err: grantErr }, 'Meta says a permanent permission exists; recording it failed'));
          }
          throw answer;
        }
      },
    );
  };
}
