// GET/POST /v1/webhooks/whatsapp (SPEC §4): Meta's subscription check and its signed notifications;
// POST /v1/webhooks/telnyx: Telnyx's signed webhooks. No bearer token here: the GET proves itself
// with hub.verify_token, the POSTs with X-Hub-Signature-256 and telnyx-signature-ed25519.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError, withErrors } from '../errors.js';
import { hubSignature, redactSecrets, sameSecret } from '../secrets.js';
import { checkTelnyxSignature, parseTelnyxWebhook, telnyxAccountUpdates, telnyxPublicKey } from '../telnyxWebhook.js';
import { parseMetaAccountUpdates, type AccountUpdates } from '../../domain/accountUpdates.js';
import { stateCall } from '../state.js';
import { parseWebhook, type ParsedWebhook, type PermissionReply, type UnusableReason } from '../webhook.js';
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
  account: z
    .object({
      restricted: z.number().int().meta({ description: 'Numbers whose business-initiated calls are now refused account_restricted' }),
      warned: z.number().int().meta({ description: 'Numbers given a warning (ACCOUNT_VIOLATION, or a restriction of something other than calling)' }),
      unusable: z.number().int().meta({ description: 'Account updates that applied to no configured number (wa_edge_account_updates_total, logged with why)' }),
    })
    .optional()
    .meta({ description: "Only when the delivery carried an account update (Meta's account_update, Telnyx's whatsapp.account.*)" }),
});

const NOTHING = { applied: 0, duplicates: 0, unusable: 0, linked: 0 };
/** The first of each kind of unreadable delivery is logged at warn, the rest only counted: a flood of one shape cannot flood the log. */
const LOG_ONCE_LIMIT = 200;

export function webhookRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  const logged = new Set<string>();
  const logOnce = (log: FastifyBaseLogger, key: string, fields: Record<string, unknown>, msg: string) => {
    if (logged.has(key) || logged.size >= LOG_ONCE_LIMIT) return;
    logged.add(key);
    log.warn(fields, msg);
  };

  /** Parsed once per configured key: a reload with a new key takes effect at the next delivery. */
  let telnyxKeyCache: { base64: string; key: KeyObject } | undefined;
  function telnyxKey(): KeyObject {
    const base64 = deps.config().telnyx.webhook?.publicKey;
    if (!base64) throw new HttpError('telnyx_webhook_not_configured');
    if (telnyxKeyCache?.base64 !== base64) telnyxKeyCache = { base64, key: telnyxPublicKey(base64) };
    return telnyxKeyCache.key;
  }

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
    else if (decision.expiresAt === undefined) await deps.permissions.grant(r.business, user, 'temporary', 'webhook');
    else if (decision.expiresAt > deps.clock()) await deps.permissions.grant(r.business, user, 'temporary', 'webhook', decision.expiresAt);
    else return false;
    return true;
  }

  /**
   * Applies what a verified delivery carries (Meta's, or Telnyx's): the identity links, then each
   * reply once. Each stands on its own: a Redis failure on one does not skip the others; any
   * failure rejects at the end, so the sender redelivers, and what was applied is not applied
   * twice (message ids are claimed, links are idempotent).
   */
  async function applyParsed({ replies, links, unusable }: ParsedWebhook, log: FastifyBaseLogger, source: string) {
    const unusableReply = (messageId: string | undefined, reason: UnusableReason, why: string) => {
      deps.metrics.webhookRepliesUnusableTotal.inc({ reason });
      log.warn({ messageId, reason }, `${source}: permission reply not applied: ${why}`);
    };
    for (const u of unusable) unusableReply(u.messageId, u.reason, u.why);
    let failure: unknown;
    let linked = 0;
    for (const l of links) {
      try {
        const r = await state(() => deps.permissions.link(l.business, l.bsuid, l.phone));
        if (!r.known) linked++;
        if (r.moved) log.info({ number: l.business, user: l.phone, bsuid: l.bsuid }, `${source}: permission held under the BSUID moved to the phone number`);
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
        if (await state(() => apply(r))) {
          applied++;
          log.info({ number: r.business, user: r.user, messageId: r.messageId, decision: r.decision.kind }, `${source}: permission reply applied`);
        }
        else unusableReply(r.messageId, 'already_expired', 'the temporary permission had already expired');
      } catch (err) {
        // Unclaimed, so the sender's redelivery applies it.
        await deps.permissions.releaseWebhookMessage(r.messageId).catch(() => {});
        failure ??= err;
      }
    }
    if (failure) throw failure;
    return { applied, duplicates, unusable: unusable.length, linked };
  }

  /**
   * Applies Meta's account updates (restrictions and warnings) to the numbers they name; what
   * applies to no number is counted and logged once, never dropped silently. A Redis failure
   * rejects, so the sender redelivers (applying a notice twice changes nothing).
   */
  async function applyAccountUpdates(updates: AccountUpdates, log: FastifyBaseLogger, source: 'meta' | 'telnyx') {
    const counts = { restricted: 0, warned: 0, unusable: updates.unreadable.length };
    for (const u of updates.unreadable) {
      deps.metrics.accountUpdatesTotal.inc({ result: u.reason });
      log.warn({ reason: u.reason, source }, `account update not applied: ${u.why}`);
    }
    for (const n of updates.notices) {
      await state(() => deps.permissions.restrictions.apply(n, source));
      const result = n.kind === 'restriction' ? 'restricted' : 'warned';
      deps.metrics.accountUpdatesTotal.inc({ result }, n.numbers.length);
      counts[result] += n.numbers.length;
      if (n.kind === 'restriction') {
        log.warn({ numbers: n.numbers, until: new Date(n.until).toISOString(), types: n.types, expiryDefaulted: n.expiryDefaulted, source }, 'Meta restricted business-initiated calling: outbound calls are refused account_restricted until then');
      } else log.warn({ numbers: n.numbers, source }, `Meta's warning: ${n.text}`);
    }
    return counts;
  }

  const hasAccountUpdates = (u: AccountUpdates | undefined): u is AccountUpdates => u !== undefined && u.notices.length + u.unreadable.length > 0;
  const restrictionMs = () => deps.config().whatsapp.accountRestrictionHours * 3_600_000;

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
          summary: 'Meta webhook: call_permission_reply grants (temporary or permanent) or revokes; account_update ACCOUNT_RESTRICTION of business-initiated calling restricts the numbers it names (all of the account when none), ACCOUNT_VIOLATION is a warning; everything else is acknowledged and ignored',
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
          return NOTHING;
        }
        const config = deps.config();
        const account = parseMetaAccountUpdates(payload, config.numbers, deps.clock(), restrictionMs());
        const replies = await applyParsed(parseWebhook(payload, config.numbers), req.log, 'whatsapp webhook');
        return hasAccountUpdates(account) ? { ...replies, account: await applyAccountUpdates(account, req.log, 'meta') } : replies;
      },
    );

    app.post(
      '/webhooks/telnyx',
      {
        schema: {
          summary: "Telnyx webhook: a WhatsApp call_permission_reply it carries (Meta's shape anywhere in data.payload) is applied; whatsapp.account.restricted restricts (whatsapp.account.violation warns); everything else is acknowledged and counted",
          description:
            'Authenticated by telnyx-signature-ed25519 (base64 Ed25519 over `${telnyx-timestamp}|${raw body}`, telnyx.webhook.publicKey) and telnyx-timestamp within 300 s. ' +
            'Counted in wa_edge_telnyx_webhooks_total{event}; payloads without a permission reply are logged at debug level, secrets redacted.',
          security: [],
          response: withErrors({ 200: delivery }),
        },
      },
      async (req) => {
        const key = telnyxKey();
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const header = (name: string) => {
          const v = req.headers[name];
          return typeof v === 'string' ? v : undefined;
        };
        const check = checkTelnyxSignature(raw, header('telnyx-signature-ed25519'), header('telnyx-timestamp'), key, deps.clock());
        if (!check.ok) {
          req.log.warn({ why: check.why }, 'telnyx webhook refused');
          throw new HttpError('invalid_telnyx_signature', check.why);
        }
        let payload: unknown;
        try {
          payload = JSON.parse(raw.toString('utf8'));
        } catch {
          deps.metrics.telnyxWebhooksTotal.inc({ event: 'other' });
          req.log.warn('telnyx webhook: signed body is not JSON; acknowledged');
          return NOTHING;
        }
        const account = telnyxAccountUpdates(payload, deps.config().numbers, deps.clock(), restrictionMs());
        if (account) {
          deps.metrics.telnyxWebhooksTotal.inc({ event: account.event });
          if (!hasAccountUpdates(account.updates)) req.log.info({ payload: redactSecrets(payload) }, 'telnyx webhook: account event about nothing the edge acts on; acknowledged');
          return { ...NOTHING, account: await applyAccountUpdates(account.updates, req.log, 'telnyx') };
        }
        const parsed = parseTelnyxWebhook(payload, deps.config().numbers);
        deps.metrics.telnyxWebhooksTotal.inc({ event: parsed.event });
        if (parsed.event === 'other') logOnce(req.log, `event:${parsed.eventType ?? '(none)'}`, { eventType: parsed.eventType }, 'telnyx webhook: an event type the edge does not read; acknowledged and counted as other (logged once per type)');
        if (parsed.unreadableDelivery) {
          logOnce(req.log, `delivery:${parsed.unreadableDelivery}`, { eventType: parsed.eventType, why: parsed.unreadableDelivery, payload: redactSecrets(payload) }, 'telnyx webhook: a delivery event the edge cannot read; acknowledged (logged once per reason)');
        }
        if (parsed.delivery) {
          const d = parsed.delivery;
          // A failure rejects, so Telnyx redelivers; the record is idempotent and never goes back.
          const r = await state(() => deps.permissions.recordRequestDelivery(d.business, d.messageId, d.status, d.error ?? ''));
          if (r.user) req.log.info({ number: d.business, user: r.user, messageId: d.messageId, status: d.status, error: d.error }, `telnyx webhook: permission request ${d.status}`);
        }
        if (parsed.event !== 'permission_reply') {
          // What Telnyx forwards for a permission reply is not documented: this line is how an operator captures one.
          req.log.debug({ eventType: parsed.eventType, payload: redactSecrets(payload) }, 'telnyx webhook: no permission reply found; acknowledged');
          return NOTHING;
        }
        return applyParsed(parsed, req.log, 'telnyx webhook');
      },
    );
  };
}
