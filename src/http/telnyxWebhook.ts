// Telnyx's webhooks (POST /v1/webhooks/telnyx, SPEC §4): the Ed25519 signature, and the
// permission replies a delivery may carry. Pure: no I/O; the clock is passed in.
//
// Telnyx signs `${telnyx-timestamp}|${raw body}` with Ed25519 (headers telnyx-signature-ed25519,
// base64, and telnyx-timestamp, unix seconds) and gives the account's public key in base64 in its
// portal. Its envelope: { data: { record_type: "event", id, event_type, occurred_at, payload } }.
// What Telnyx forwards for a WhatsApp call_permission_reply is not documented: this reads Meta's
// shape wherever it sits inside data.payload (a whole Meta envelope, or a bare message with
// interactive.call_permission_reply), through the Meta webhook's own rule (webhook.ts).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { NumberConfig } from '../config/schema.js';
import { normaliseDialled } from '../domain/numbers.js';
import { TELNYX_EVENTS } from '../metrics.js';
import { parseTelnyxAccountEvent, TELNYX_ACCOUNT_EVENTS, type AccountUpdates } from '../domain/accountUpdates.js';
import type { DeliveryStatus } from '../state/permissions.js';
import { isMetaEnvelope, messageSender, parseWebhook, replyFromMessage, type NamedUser, type ParsedWebhook } from './webhook.js';

export const TELNYX_TOLERANCE_SECONDS = 300;

/** Telnyx's public key as its portal shows it (base64 of the 32-byte Ed25519 key); throws on anything else. */
export function telnyxPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== 32) throw new Error(`not an Ed25519 public key: ${raw.length} bytes after base64 decoding, 32 expected`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export type SignatureCheck = { ok: true } | { ok: false; why: string };

export function checkTelnyxSignature(raw: Buffer, signature: string | undefined, timestamp: string | undefined, key: KeyObject, nowMs: number): SignatureCheck {
  if (!signature || !timestamp) return { ok: false, why: 'telnyx-signature-ed25519 or telnyx-timestamp missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, why: 'telnyx-timestamp is not unix seconds' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TELNYX_TOLERANCE_SECONDS) return { ok: false, why: `telnyx-timestamp more than ${TELNYX_TOLERANCE_SECONDS} s away from now` };
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return { ok: false, why: 'telnyx-signature-ed25519 is not a base64 Ed25519 signature' };
  const signed = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), raw]);
  return verify(null, signed, key, sig) ? { ok: true } : { ok: false, why: 'telnyx-signature-ed25519 does not match the body' };
}

export type TelnyxEventLabel = (typeof TELNYX_EVENTS)[number];

const envelopeSchema = z.object({
  data: z.object({
    id: z.string().optional().catch(undefined),
    event_type: z.string().optional().catch(undefined),
    payload: z.unknown(),
  }),
});

const phoneField = z.union([z.string(), z.object({ phone_number: z.string() }).loose().transform((o) => o.phone_number)]);
const telnyxParties = z
  .object({
    id: z.string().optional().catch(undefined),
    from: phoneField.optional().catch(undefined),
    to: z.union([phoneField, z.array(phoneField).transform((a) => a[0])]).optional().catch(undefined),
  })
  .loose();

/** A delivery event of a message the business sent through Telnyx (message.sent, message.finalized). */
export interface TelnyxDelivery {
  messageId: string;
  /** The sending business number, when it is a configured one. */
  business: string;
  status: DeliveryStatus;
  /** Telnyx's errors[0] in words, for a failed one. */
  error?: string;
}

export interface ParsedTelnyxWebhook extends ParsedWebhook {
  /** The metric label: permission_reply when one was found, the documented event type, or other. */
  event: TelnyxEventLabel;
  /** Telnyx's own event_type as sent (for the debug log only, never a label). */
  eventType?: string;
  delivery?: TelnyxDelivery;
  /** A delivery event that names no message id, no configured sender or no status the edge knows: why. */
  unreadableDelivery?: string;
}

// Telnyx's delivery statuses (to[].status in its OpenAPI: queued, sending, sent, delivered,
// sending_failed, delivery_failed, delivery_unconfirmed) as the console words them; queued and
// sending say nothing the acceptance did not.
const DELIVERY_STATUS: Record<string, DeliveryStatus | null> = {
  queued: null,
  sending: null,
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  sending_failed: 'failed',
  delivery_failed: 'failed',
  failed: 'failed',
  delivery_unconfirmed: 'unconfirmed',
};

const deliveryPayload = z.object({
  id: z.string().min(1).optional().catch(undefined),
  from: phoneField.optional().catch(undefined),
  to: z.array(z.object({ status: z.string().optional().catch(undefined) }).loose()).optional().catch(undefined),
  errors: z.array(z.object({ code: z.union([z.string(), z.number()]).optional(), title: z.string().optional(), detail: z.string().optional() }).loose()).optional().catch(undefined),
});

function deliveryOf(eventType: string, inner: unknown, numbers: readonly NumberConfig[]): { delivery?: TelnyxDelivery; unreadable?: string } {
  const p = deliveryPayload.safeParse(inner);
  if (!p.success) return { unreadable: 'payload is not an object' };
  const business = configured(p.data.from, numbers);
  // Messages from numbers the edge does not serve are not its business: counted, nothing to record.
  if (!business) return {};
  if (!p.data.id) return { unreadable: 'no payload.id' };
  const raw = p.data.to?.[0]?.status ?? (eventType === 'message.sent' ? 'sent' : undefined);
  if (raw === undefined) return { unreadable: 'no payload.to[0].status' };
  const status = DELIVERY_STATUS[raw];
  if (status === undefined) return { unreadable: `unknown status ${raw.slice(0, 40)}` };
  if (status === null) return {};
  const e = p.data.errors?.[0];
  const error = e ? [e.code !== undefined ? `code ${String(e.code)}` : '', e.title ?? '', e.detail ?? ''].filter((w) => w !== '').join(': ') : undefined;
  return { delivery: { messageId: p.data.id, business, status, ...(error ? { error: error.slice(0, 300) } : {}) } };
}

const MAX_DEPTH = 8;

/** Meta envelopes and bare permission-reply messages anywhere under `root`. */
function findMetaShapes(root: unknown): { envelopes: unknown[]; messages: unknown[] } {
  const found = { envelopes: [] as unknown[], messages: [] as unknown[] };
  const walk = (v: unknown, depth: number) => {
    if (depth > MAX_DEPTH || v === null || typeof v !== 'object') return;
    if (isMetaEnvelope(v)) return void found.envelopes.push(v);
    const interactive = (v as { interactive?: { type?: unknown } }).interactive;
    if (interactive && typeof interactive === 'object' && interactive.type === 'call_permission_reply') return void found.messages.push(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child, depth + 1);
  };
  walk(root, 0);
  return found;
}

function configured(phone: string | undefined, numbers: readonly NumberConfig[]): string | undefined {
  const n = phone ? normaliseDialled(phone) : undefined;
  return n && numbers.some((c) => c.number === n.e164) ? n.e164 : undefined;
}

export function parseTelnyxWebhook(payload: unknown, numbers: readonly NumberConfig[]): ParsedTelnyxWebhook {
  const out: ParsedTelnyxWebhook = { replies: [], links: [], unusable: [], event: 'other' };
  const env = envelopeSchema.safeParse(payload);
  if (!env.success) return out;
  const { event_type: eventType, payload: inner, id: eventId } = env.data.data;
  if (eventType !== undefined) out.eventType = eventType;
  if ((TELNYX_EVENTS as readonly string[]).includes(eventType ?? '')) out.event = eventType as TelnyxEventLabel;

  const parties = telnyxParties.safeParse(inner).data;
  // A message from a user to the business: Telnyx's `to` is the business number, `from` the user.
  const business = configured(parties?.to, numbers);
  const telnyxSender: NamedUser = messageSender({ from: parties?.from });
  const { envelopes, messages } = findMetaShapes(inner);
  for (const e of envelopes) {
    const p = parseWebhook(e, numbers);
    out.replies.push(...p.replies);
    out.links.push(...p.links);
    out.unusable.push(...p.unusable);
  }
  messages.forEach((m, i) => {
    const fallbackId = parties?.id ?? eventId;
    const r = replyFromMessage(m, business, messageSender(m, telnyxSender), fallbackId ? `telnyx:${fallbackId}${i > 0 ? `:${i}` : ''}` : undefined);
    if (r?.ok) {
      out.replies.push(r.reply);
      // As the Meta webhook's rule: a reply naming both a phone number and a BSUID teaches that they are one user.
      const { phone, bsuid } = r.reply.named;
      if (phone !== undefined && bsuid !== undefined) out.links.push({ business: r.reply.business, phone, bsuid });
    } else if (r) out.unusable.push(r.unusable);
  });
  if (out.replies.length + out.unusable.length > 0) out.event = 'permission_reply';
  if (eventType === 'message.sent' || eventType === 'message.finalized') {
    const d = deliveryOf(eventType, inner, numbers);
    if (d.delivery) out.delivery = d.delivery;
    if (d.unreadable) out.unreadableDelivery = d.unreadable;
  }
  return out;
}

/**
 * A whatsapp.account.* event (Telnyx forwards the WABA's account updates): what it restricts or
 * warns of, per configured number; undefined for any other event.
 */
export function telnyxAccountUpdates(payload: unknown, numbers: readonly NumberConfig[], nowMs: number, defaultMs: number): { event: TelnyxEventLabel; updates: AccountUpdates } | undefined {
  const env = envelopeSchema.safeParse(payload);
  const eventType = env.data?.data.event_type;
  if (!env.success || eventType === undefined || !(eventType in TELNYX_ACCOUNT_EVENTS) || !(TELNYX_EVENTS as readonly string[]).includes(eventType)) return undefined;
  return { event: eventType as TelnyxEventLabel, updates: parseTelnyxAccountEvent(eventType, env.data.data.payload, numbers, nowMs, defaultMs) };
}
