// Meta's WhatsApp webhook envelope → the permission replies and user identities it carries. Pure:
// no I/O, no clock. Envelope: { object: "whatsapp_business_account", entry: [{ changes: [{
//   field: "messages", value: { metadata: { display_phone_number, phone_number_id },
//   contacts: [{ wa_id, user_id, profile }], statuses: [{ recipient_id, recipient_user_id }],
//   messages: [{ from, from_user_id, id, type: "interactive", interactive: { type:
//   "call_permission_reply", call_permission_reply: { response: "accept"|"reject", is_permanent,
//   expiration_timestamp (unix s), response_source } } }] } }] }] }
// Since April 2026 Meta names a user by phone number (`wa_id`, `from`, `recipient_id`) and by
// business-scoped user id (`user_id`, `from_user_id`, `recipient_user_id`), or by the BSUID alone
// (SPEC §7). Field names still move, so every field is optional and read by its form: a BSUID in
// `from` is taken as a BSUID. One broken entry, change or message never hides the others.
import { z } from 'zod';
import type { NumberConfig } from '../config/schema.js';
import { isBsuid } from '../domain/identity.js';
import { normaliseDialled, parseBusinessNumber } from '../domain/numbers.js';
import type { UNUSABLE_REPLY_REASONS } from '../metrics.js';
import { numberEntry } from '../config/derived.js';

/** A temporary grant without `expiresAt` lasts whatsapp.temporaryPermissionHours from when it is applied. */
export type PermissionDecision = { kind: 'permanent' } | { kind: 'temporary'; expiresAt?: number } | { kind: 'revoke' };

/** A user as a webhook names them: phone number (E.164), BSUID, or both. */
export interface NamedUser {
  phone?: string;
  bsuid?: string;
}

export interface PermissionReply {
  /** Meta's message id (wamid…): the same reply redelivered carries the same id. */
  messageId: string;
  business: string;
  /** The key to apply it under: the phone number when the webhook names one, else the BSUID. */
  user: string;
  named: NamedUser;
  decision: PermissionDecision;
}

/** A phone number and a BSUID the webhook says are one user of `business`. */
export interface IdentityLink {
  business: string;
  phone: string;
  bsuid: string;
}

export type UnusableReason = (typeof UNUSABLE_REPLY_REASONS)[number];

export interface ParsedWebhook {
  replies: PermissionReply[];
  links: IdentityLink[];
  /** Permission replies that cannot be applied, and why. */
  unusable: { messageId: string | undefined; reason: UnusableReason; why: string }[];
}

const envelope = z.object({ object: z.literal('whatsapp_business_account'), entry: z.array(z.unknown()) });
const entrySchema = z.object({ changes: z.array(z.unknown()) });
const changeSchema = z.object({ value: z.unknown() });
const optionalString = z.union([z.string(), z.number().transform(String)]).optional().catch(undefined);
const list = z.array(z.unknown()).optional().catch(undefined);

const changeValue = z.object({
  metadata: z.object({ display_phone_number: optionalString, phone_number_id: optionalString }).optional().catch(undefined),
  contacts: list,
  statuses: list,
  messages: list,
});

/** The identity fields of a contact, a status or a message, under every name Meta has used. */
const identityFields = z.object({
  wa_id: optionalString,
  user_id: optionalString,
  from: optionalString,
  from_user_id: optionalString,
  recipient_id: optionalString,
  recipient_user_id: optionalString,
});

const permissionReplyMessage = z.object({
  id: z.string().min(1).optional().catch(undefined),
  type: z.literal('interactive'),
  interactive: z.object({ type: z.literal('call_permission_reply'), call_permission_reply: z.unknown() }),
});

const replyBody = z.object({
  response: z.enum(['accept', 'reject']),
  is_permanent: z.boolean().optional(),
  // Documented as a number; some relays send it as a string.
  expiration_timestamp: z.coerce.number().int().positive().optional(),
});

type Metadata = NonNullable<z.output<typeof changeValue>['metadata']>;

/** phone_number_id first (stable), then the displayed number. */
function businessNumberOf(metadata: Metadata | undefined, numbers: readonly NumberConfig[]): string | undefined {
  if (!metadata) return undefined;
  const byId = metadata.phone_number_id ? numbers.find((n) => n.phoneNumberId === metadata.phone_number_id) : undefined;
  if (byId) return byId.number;
  const shown = metadata.display_phone_number ? normaliseDialled(metadata.display_phone_number) : undefined;
  return shown && numberEntry(numbers, shown.e164) !== undefined ? shown.e164 : undefined;
}

/**
 * Permanent only when Meta says so (is_permanent: true); otherwise temporary, until Meta's
 * expiration_timestamp when the reply has one, else for temporaryPermissionHours (Meta: 7 days
 * from the user's approval). A reply with neither is not taken for permanent: that would let the
 * edge call for ever on a permission Meta ends after 7 days.
 */
export function decisionOf(reply: z.output<typeof replyBody>): PermissionDecision {
  if (reply.response === 'reject') return { kind: 'revoke' };
  if (reply.is_permanent === true) return { kind: 'permanent' };
  if (reply.expiration_timestamp === undefined) return { kind: 'temporary' };
  // Seconds as documented; a relay's milliseconds are taken as such rather than as a date in 50000 AD.
  const ts = reply.expiration_timestamp;
  return { kind: 'temporary', expiresAt: ts > 1e11 ? ts : ts * 1000 };
}

/** Sorts identity values by form: a possible phone number, or a BSUID, whatever field carried it. */
function namedUser(values: (string | undefined)[]): NamedUser {
  const user: NamedUser = {};
  for (const v of values) {
    if (v === undefined || v.trim() === '') continue;
    const s = v.trim();
    if (isBsuid(s)) user.bsuid ??= s;
    else user.phone ??= parseBusinessNumber(s)?.e164;
  }
  return user;
}

function identityOf(raw: unknown): NamedUser {
  const f = identityFields.safeParse(raw);
  if (!f.success) return {};
  const d = f.data;
  return namedUser([d.wa_id, d.from, d.recipient_id, d.user_id, d.from_user_id, d.recipient_user_id]);
}

/** A message's sender, completed from the change's contacts: the one sharing an identifier with it, else the only one that does not contradict it. */
function senderOf(message: unknown, contacts: NamedUser[]): NamedUser {
  const own = identityOf(message);
  const shares = (c: NamedUser) => (own.phone !== undefined && c.phone === own.phone) || (own.bsuid !== undefined && c.bsuid === own.bsuid);
  const contradicts = (c: NamedUser) => (own.phone && c.phone && c.phone !== own.phone) || (own.bsuid && c.bsuid && c.bsuid !== own.bsuid);
  const only = contacts.length === 1 && !contradicts(contacts[0] as NamedUser) ? contacts[0] : undefined;
  const match = contacts.find((c) => shares(c) && !contradicts(c)) ?? only;
  return { phone: own.phone ?? match?.phone, bsuid: own.bsuid ?? match?.bsuid };
}

type Unusable = ParsedWebhook['unusable'][number];

/**
 * The one rule for a `call_permission_reply` message, wherever it came from (Meta's webhook, or
 * nested in a Telnyx webhook): undefined when the message is not a permission reply.
 * `fallbackId` names a message Meta's id is missing from (a relay that dropped it).
 */
export function replyFromMessage(raw: unknown, business: string | undefined, sender: NamedUser, fallbackId?: string): { ok: true; reply: PermissionReply } | { ok: false; unusable: Unusable } | undefined {
  const msg = permissionReplyMessage.safeParse(raw);
  if (!msg.success) return undefined; // not a permission reply: nothing to apply
  const messageId = msg.data.id ?? fallbackId;
  const body = replyBody.safeParse(msg.data.interactive.call_permission_reply);
  const unusable = (reason: UnusableReason, why: string) => ({ ok: false as const, unusable: { messageId, reason, why } });
  if (!messageId || !body.success) return unusable('malformed_reply', !messageId ? 'the message has no id' : `call_permission_reply: ${body.error?.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`);
  if (!business) return unusable('unknown_business_number', 'metadata names no configured business number');
  const user = sender.phone ?? sender.bsuid;
  if (!user) return unusable('no_user_identity', 'names neither a possible phone number nor a BSUID (from, from_user_id, contacts[].wa_id, contacts[].user_id)');
  return { ok: true, reply: { messageId, business, user, named: sender, decision: decisionOf(body.data) } };
}

/** A message's own identity fields (from, from_user_id, ...), for a relay that sends the message without Meta's contacts. */
export function messageSender(raw: unknown, fallback: NamedUser = {}): NamedUser {
  const own = identityOf(raw);
  return { phone: own.phone ?? fallback.phone, bsuid: own.bsuid ?? fallback.bsuid };
}

/** True for a value shaped like Meta's webhook envelope (object whatsapp_business_account). */
export function isMetaEnvelope(v: unknown): boolean {
  return envelope.safeParse(v).success;
}

export function parseWebhook(payload: unknown, numbers: readonly NumberConfig[]): ParsedWebhook {
  const out: ParsedWebhook = { replies: [], links: [], unusable: [] };
  const env = envelope.safeParse(payload);
  if (!env.success) return out;
  const seenLinks = new Set<string>();
  const learn = (business: string | undefined, user: NamedUser) => {
    if (!business || !user.phone || !user.bsuid) return;
    const key = `${business}|${user.bsuid}|${user.phone}`;
    if (seenLinks.has(key)) return;
    seenLinks.add(key);
    out.links.push({ business, phone: user.phone, bsuid: user.bsuid });
  };

  const changes = env.data.entry.flatMap((e) => entrySchema.safeParse(e).data?.changes ?? []);
  for (const change of changes) {
    const value = changeValue.safeParse(changeSchema.safeParse(change).data?.value);
    if (!value.success) continue;
    const business = businessNumberOf(value.data.metadata, numbers);
    const contacts = (value.data.contacts ?? []).map(identityOf);
    for (const c of contacts) learn(business, c);
    for (const s of value.data.statuses ?? []) learn(business, identityOf(s));

    for (const raw of value.data.messages ?? []) {
      const sender = senderOf(raw, contacts);
      learn(business, sender);
      const r = replyFromMessage(raw, business, sender);
      if (r?.ok) out.replies.push(r.reply);
      else if (r) out.unusable.push(r.unusable);
    }
  }
  return out;
}
