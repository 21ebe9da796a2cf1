// GET/POST /v1/webhooks/whatsapp (SPEC §4): Meta's subscription check and its signed notifications.
// No bearer token here: the GET proves itself with hub.verify_token, the POST with X-Hub-Signature-256.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError, withErrors } from '../errors.js';
import { hubSignature, sameSecret } from '../secrets.js';
import { stateCall } from '../state.js';
import { parseWebhook, type PermissionReply } from '../webhook.js';
import type { HttpDeps } from '../server.js';

const verification = z.object({
  'hub.mode': z.string().optional(),
  'hub.verify_token': z.string().optional(),
  'hub.challenge': z.string().optional(),
});

const delivery = z.object({
  applied: z.number().int().meta({ description: 'Permission replies applied now' }),
  duplicates: z.number().int().meta({ description: 'Replies already applied from an earlier delivery' }),
});

export function webhookRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);

  function webhookConfig() {
    const hook = deps.config().whatsapp.webhook;
    if (!hook) throw new HttpError('webhook_not_configured');
    return hook;
  }

  /** false when there was nothing to apply: a temporary grant that expired before it arrived. */
  async function apply(r: PermissionReply): Promise<boolean> {
    const { decision } = r;
    if (decision.kind === 'revoke') await deps.permissions.revoke(r.business, r.user, 'user');
    else if (decision.kind === 'permanent') await deps.permissions.grant(r.business, r.user, 'permanent', 'webhook');
    else if (decision.expiresAt > deps.clock()) await deps.permissions.grant(r.business, r.user, 'temporary', 'webhook', decision.expiresAt);
    else return false;
    return true;
  }

  return async (app) => {
    // The signature covers the exact bytes Meta sent: keep the raw body, parse JSON only once it is verified.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.get(
      '/webhooks/whatsapp',
      {
        schema: {
          summary: "Meta's webhook verification: echoes hub.challenge (text/plain) when hub.verify_token matches",
          security: [],
          querystring: verification,
        },
      },
      async (req, reply) => {
        const hook = webhookConfig();
        const { 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': challenge } = req.query;
        if (mode !== 'subscribe' || token === undefined || challenge === undefined || !sameSecret(token, hook.verifyToken)) {
          throw new HttpError('verification_failed');
        }
        return reply.type('text/plain; charset=utf-8').send(challenge);
      },
    );

    app.post(
      '/webhooks/whatsapp',
      {
        schema: {
          summary: 'Meta webhook: call_permission_reply grants (temporary or permanent) or revokes; everything else is acknowledged and ignored',
          description: 'Authenticated by X-Hub-Signature-256 = sha256=<hex HMAC-SHA256(raw body, whatsapp.webhook.appSecret)>. Each message id is applied once.',
          security: [],
          response: withErrors({ 200: delivery }),
        },
      },
      async (req) => {
        const hook = webhookConfig();
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = req.headers['x-hub-signature-256'];
        if (typeof signature !== 'string' || !sameSecret(signature, hubSignature(raw, hook.appSecret))) {
          throw new HttpError('invalid_signature');
        }
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString('utf8'));
        } catch {
          // Signed by Meta yet not JSON: a redelivery would not fix it, so acknowledge it.
          req.log.warn('whatsapp webhook: signed body is not JSON; ignored');
          return { applied: 0, duplicates: 0 };
        }
        const { replies, unmapped } = parseWebhook(payload, deps.config().numbers);
        for (const u of unmapped) req.log.warn({ messageId: u.messageId }, `whatsapp webhook: permission reply ignored: ${u.why}`);
        let applied = 0;
        let duplicates = 0;
        for (const r of replies) {
          if (!(await state(() => deps.permissions.claimWebhookMessage(r.messageId)))) {
            duplicates++;
            continue;
          }
          try {
            if (await state(() => apply(r))) applied++;
            else req.log.info({ messageId: r.messageId }, 'whatsapp webhook: temporary permission had already expired; not applied');
          } catch (err) {
            // Unclaim, then 503: Meta redelivers and the reply is applied then.
            await deps.permissions.releaseWebhookMessage(r.messageId).catch(() => {});
            throw err;
          }
        }
        return { applied, duplicates };
      },
    );
  };
}
