// Meta's WhatsApp webhook envelope → the permission replies it carries. Pure: no I/O, no clock.
// Envelope: { object: "whatsapp_business_account", entry: [{ changes: [{ field: "messages", value: {
//   metadata: { display_phone_number, phone_number_id }, messages: [{ from, id, type: "interactive",
//   interactive: { type: "call_permission_reply", call_permission_reply: { response: "accept"|"reject",
//   is_permanent, expiration_timestamp (unix s), response_source } } }] } }] }] }
import { z } from 'zod';
import type { NumberConfig } from '../config/schema.js';
import { normaliseDialled, parseBusinessNumber } from '../domain/numbers.js';

export type PermissionDecision = { kind: 'permanent' } | { kind: 'temporary'; expiresAt: number } | { kind: 'revoke' };

export interface PermissionReply {
  /** Meta's message id (wamid…): the same reply redelivered carries the same id. */
  messageId: string;
  business: string;
  user: string;
  decision: PermissionDecision;
}

export interface ParsedWebhook {
  replies: PermissionReply[];
  /** Permission replies that name no configured business number or no valid user number. */
  unmapped: { messageId: string; why: string }[];
}

// Unknown fields are stripped, unknown event types fail their schema and are left alone.
const envelope = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.object({ changes: z.array(z.object({ value: z.unknown() })).default([]) })),
});

const changeValue = z.object({
  metadata: z.object({ display_phone_number: z.string().optional(), phone_number_id: z.coerce.string().optional() }).default({}),
  messages: z.array(z.unknown()).default([]),
});

const permissionReplyMessage = z.object({
  id: z.string().min(1),
  from: z.string(),
  type: z.literal('interactive'),
  interactive: z.object({
    type: z.literal('call_permission_reply'),
    call_permission_reply: z.object({
      response: z.enum(['accept', 'reject']),
      is_permanent: z.boolean().optional(),
      // Documented as a number; some relays send it as a string.
      expiration_timestamp: z.coerce.number().int().positive().optional(),
    }),
  }),
});

type Metadata = z.output<typeof changeValue>['metadata'];

/** phone_number_id first (stable), then the displayed number. */
function businessNumberOf(metadata: Metadata, numbers: readonly NumberConfig[]): string | undefined {
  const byId = metadata.phone_number_id ? numbers.find((n) => n.phoneNumberId === metadata.phone_number_id) : undefined;
  if (byId) return byId.number;
  const shown = metadata.display_phone_number ? normaliseDialled(metadata.display_phone_number) : undefined;
  return shown && numbers.some((n) => n.number === shown.e164) ? shown.e164 : undefined;
}

function decisionOf(reply: z.output<typeof permissionReplyMessage>['interactive']['call_permission_reply']): PermissionDecision {
  if (reply.response === 'reject') return { kind: 'revoke' };
  if (reply.is_permanent === true || reply.expiration_timestamp === undefined) return { kind: 'permanent' };
  return { kind: 'temporary', expiresAt: reply.expiration_timestamp * 1000 };
}

export function parseWebhook(payload: unknown, numbers: readonly NumberConfig[]): ParsedWebhook {
  const out: ParsedWebhook = { replies: [], unmapped: [] };
  const env = envelope.safeParse(payload);
  if (!env.success) return out;
  for (const change of env.data.entry.flatMap((e) => e.changes)) {
    const value = changeValue.safeParse(change.value);
    if (!value.success) continue;
    for (const raw of value.data.messages) {
      const msg = permissionReplyMessage.safeParse(raw);
      if (!msg.success) continue;
      const { id, from, interactive } = msg.data;
      const business = businessNumberOf(value.data.metadata, numbers);
      const user = parseBusinessNumber(from);
      if (!business) out.unmapped.push({ messageId: id, why: 'metadata names no configured business number' });
      else if (!user) out.unmapped.push({ messageId: id, why: '`from` is not an E.164 number' });
      else out.replies.push({ messageId: id, business, user: user.e164, decision: decisionOf(interactive.call_permission_reply) });
    }
  }
  return out;
}
