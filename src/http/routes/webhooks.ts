// GET/POST /v1/webhooks/whatsapp (SPEC §4): Meta's subscription check and its signed notifications.
// No bearer token here: the GET proves itself with hub.verify_token, the POST with X-Hub-Signature-256.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError, withErrors } from '../errors.js';
import { hubSignature, sameSecret } from '../secrets.js';
import { stateCall } from '../state.js';
import { parseWebhook, type PermissionReply, type UnusableReason } from '../webhook.js';
import type { HttpDeps } from '../server.js';

const verification = z.object({
  'hub.mode': z.string().optional(),
  'hub.verify_token': z.string().optional(),
  'hub.challenge': z.string().optional(),
});

const delivery = z.object({
  applied: z.number().int().meta({ description: 'Permission replies applied now' }),
  duplicates: z.number().int().meta({ description: 'Replies already applied from an earlier delivery' }),
  unusable: z.number().int().meta({ description: 'Permission replies that could not be applied (counted in wa_edge_webhook_replies_unusable_total{reason} and logged with why)' }),
  linked: z.number().int().meta({ description: 'Phone number ↔ business-scoped user id pairs learned from this delivery' }),
});

export function webhookRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);

  function webhookConfig() {
    const hook = deps.config().whatsapp.webhook;
    if (!hook) throw new HttpError('webhook_not_configured');
    return hook;
  }

  /**
   * Applies one reply; false when there was nothing to apply (a temporary grant that expired
   * before it arrived). A reply naming only a BSUID is kept under it (under its phone number once
   * one is known); one naming a phone number, under the number.
   */
  async function apply(r: PermissionReply): Promise<boolean> {
    const { decision } = r;
    const { user } = r;
    if (decision.kind === 'revoke') await deps.permissions.revoke(r.business, user, 'user');
    else if (decision.kind === 'permanent') await deps.permissions.grant(r.business, user, 'permanent', 'webhook');
    else if (decision.expiresAt > deps.clock()) await deps.permissions.grant(r.business, user, 'temporary', 'webhook', decision.expiresAt);
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
          return { applied: 0, duplicates: 0, unusable: 0, linked: 0 };
        }
        const { replies, links, unusable } = parseWebhook(payload, deps.config().numbers);
        const unusableReply = (messageId: string | undefined, reason: UnusableReason, why: string) => {
          deps.metrics.webhookRepliesUnusableTotal.inc({ reason });
          req.log.warn({ messageId, reason }, `whatsapp webhook: permission reply not applied: ${why}`);
        };
        for (const u of unusable) unusableReply(u.messageId, u.reason, u.why);
        // Each link and each reply stands on its own: a Redis failure on one does not skip the
        // others. Any failure answers 503 at the end, so Meta redelivers; what was applied is not
        // applied twice (message ids are claimed, links are idempotent).
        let failure: unknown;
        let linked = 0;
        for (const l of links) {
          try {
            const r = await state(() => deps.permissions.link(l.business, l.bsuid, l.phone));
            if (!r.known) linked++;
            if (r.moved) req.log.info({ number: l.business, user: l.phone, bsuid: l.bsuid }, 'whatsapp webhook: permission held under the BSUID moved to the phone number');
          } catch (err) {
            failure ??= err;
          }
        }
        let applied = 0;
        let duplicates = 0;
        for (const r of replies) {
          try {
            if (!(await state(() => deps.permissions.claimWebhookMessage(r.messageId)))) {
              duplicates++;
              continue;
            }
          } catch (err) {
            failure ??= err;
            continue;
          }
          try {
            if (await state(() => apply(r))) applied++;
            else unusableReply(r.messageId, 'already_expired', 'the temporary permission had already expired');
          } catch (err) {
            // Unclaimed, so Meta's redelivery applies it.
            await deps.permissions.releaseWebhookMessage(r.messageId).catch(() => {});
            failure ??= err;
          }
        }
        if (failure) throw failure;
        return { applied, duplicates, unusable: unusable.length, linked };
      },
    );
  };
}
