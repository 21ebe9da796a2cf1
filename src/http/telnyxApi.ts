// Telnyx's REST API, as the edge uses it (telnyx.api, SPEC §2): a WhatsApp permission request
// (POST /messages/whatsapp), the 24 h customer-service window of a (business, user) pair
// (GET /whatsapp/phone_numbers/{n}/conversation_window), and a number's calling switch
// (GET/PATCH /whatsapp/phone_numbers/{n}/calling_settings).
//
// Shapes as Telnyx's OpenAPI-generated SDK states them (team-telnyx/telnyx-node,
// src/resources/messages/messages.ts `MessageWhatsappParams`/`MessageWhatsappResponse`,
// src/resources/whatsapp/phone-numbers/phone-numbers.ts `retrieveConversationWindow`,
// src/resources/whatsapp/phone-numbers/calling-settings.ts), and its error envelope
// `{"errors":[{"code","title","detail","meta"}]}`. Not in Telnyx's documentation: an interactive
// message of type `call_permission_request` (Telnyx lists cta_url, list, carousel, button,
// location_request_message; the edge sends Meta's shape, which Telnyx passes to Meta) and where a
// Meta error code sits in a refusal (read from detail/meta wherever it appears).
// Hand-written over fetch, as cloudApi.ts is: the SDK would be a large dependency for four calls.
import { z } from 'zod';
import type { Config } from '../config/schema.js';

export type TelnyxApiConfig = NonNullable<Config['telnyx']['api']>;

/** Why Telnyx did not do what was asked. */
export type TelnyxFailure =
  | { kind: 'timeout'; detail: string }
  | { kind: 'unreachable'; detail: string }
  /** 5xx, or a 2xx whose body is not what Telnyx documents. */
  | { kind: 'server'; status: number; detail: string }
  /** 401/403: the edge's API key. */
  | { kind: 'unauthorized'; status: number; code?: string; detail: string }
  /** Any other 4xx: Telnyx (or Meta behind it) refused this request. */
  | { kind: 'refused'; status: number; code?: string; metaCode?: string; detail: string };

export class TelnyxApiError extends Error {
  constructor(readonly failure: TelnyxFailure) {
    super(failure.detail);
    this.name = 'TelnyxApiError';
  }
}

const errorEnvelope = z.object({
  errors: z
    .array(z.object({ code: z.union([z.string(), z.number()]).transform(String).optional(), title: z.string().optional(), detail: z.string().optional(), meta: z.unknown().optional() }).loose())
    .min(1),
});

/** Meta's error codes are six digits starting 13 (131047, 138009, 138017...); Telnyx quotes them in detail or meta. */
export function metaCodeIn(text: string): string | undefined {
  return /\b(13\d{4})\b/.exec(text)?.[1];
}

/** Telnyx's error envelope in words, with its code; anything else quoted briefly. */
export function describeTelnyxError(status: number, text: string): { code?: string; metaCode?: string; detail: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const env = errorEnvelope.safeParse(body);
  if (!env.success) return { detail: `Telnyx answered ${status}: ${text.slice(0, 200) || '(no body)'}` };
  const first = env.data.errors[0]!;
  const words = [first.title, first.detail].filter((w) => w !== undefined && w !== '').join(': ');
  const metaCode = metaCodeIn(`${first.detail ?? ''} ${JSON.stringify(first.meta ?? '')} ${first.title ?? ''}`);
  return {
    ...(first.code !== undefined ? { code: first.code } : {}),
    ...(metaCode !== undefined ? { metaCode } : {}),
    detail: `Telnyx answered ${status}${first.code !== undefined ? ` (code ${first.code})` : ''}: ${words || 'no detail'}`,
  };
}

/** One call: JSON in, JSON out; every failure a TelnyxApiError. */
async function call(api: TelnyxApiConfig, method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, fetchImpl: typeof fetch): Promise<unknown> {
  const url = `${api.baseUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  let text: string;
  try {
    res = await fetchImpl(url, {
      method,
      headers: { authorization: `Bearer ${api.key}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(api.timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    if (e instanceof Error && e.name === 'TimeoutError') throw new TelnyxApiError({ kind: 'timeout', detail: `Telnyx did not answer ${method} ${path.split('?')[0]} within ${api.timeoutMs} ms` });
    const why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    throw new TelnyxApiError({ kind: 'unreachable', detail: `Telnyx unreachable (${why})` });
  }
  if (res.status === 401 || res.status === 403) throw new TelnyxApiError({ kind: 'unauthorized', status: res.status, ...describeTelnyxError(res.status, text) });
  if (res.status >= 400 && res.status < 500) throw new TelnyxApiError({ kind: 'refused', status: res.status, ...describeTelnyxError(res.status, text) });
  if (!res.ok) throw new TelnyxApiError({ kind: 'server', status: res.status, detail: describeTelnyxError(res.status, text).detail });
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    throw new TelnyxApiError({ kind: 'server', status: res.status, detail: `Telnyx answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}` });
  }
}

const phonePath = (e164: string) => `/whatsapp/phone_numbers/${encodeURIComponent(e164)}`;

// --- the conversation window ---

const windowAnswer = z.object({
  data: z.object({ window_active: z.boolean(), window_expires_at: z.string().nullable().optional().catch(undefined) }).loose(),
});

export interface ConversationWindow {
  active: boolean;
  /** epoch ms, when Telnyx names it */
  expiresAt?: number;
}

/** Whether the user wrote to the business in the last 24 h (only then is a free-form message allowed). */
export async function conversationWindow(api: TelnyxApiConfig, business: string, user: string, fetchImpl: typeof fetch = fetch): Promise<ConversationWindow> {
  const body = await call(api, 'GET', `${phonePath(business)}/conversation_window?destination_number=${encodeURIComponent(user)}`, undefined, fetchImpl);
  const w = windowAnswer.safeParse(body);
  if (!w.success) throw new TelnyxApiError({ kind: 'server', status: 200, detail: `not a conversation_window answer: ${JSON.stringify(body).slice(0, 200)}` });
  const expires = w.data.data.window_expires_at ? Date.parse(w.data.data.window_expires_at) : NaN;
  return { active: w.data.data.window_active, ...(Number.isFinite(expires) ? { expiresAt: expires } : {}) };
}

// --- sending a permission request ---

export type PermissionTemplate = NonNullable<Config['numbers'][number]['permissionTemplate']>;

/** Outside the window: the approved template; its body parameters named or positional, as configured. */
export function templateRequest(from: string, to: string, t: PermissionTemplate) {
  const parameters = t.bodyParameters.map((p) => ({ type: 'text', ...(p.name !== undefined ? { parameter_name: p.name } : {}), text: p.text }));
  return {
    from,
    to,
    type: 'WHATSAPP',
    whatsapp_message: {
      type: 'template',
      template: { name: t.name, language: { code: t.language }, ...(parameters.length > 0 ? { components: [{ type: 'body', parameters }] } : {}) },
    },
  };
}

/** Inside the window: Meta's free-form interactive call_permission_request, its text the operator's. */
export function interactiveRequest(from: string, to: string, text: string) {
  return {
    from,
    to,
    type: 'WHATSAPP',
    whatsapp_message: {
      type: 'interactive',
      interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text } },
    },
  };
}

const sentAnswer = z.object({ data: z.object({ id: z.string().min(1) }).loose() });

/** Telnyx's message id of an accepted message. */
export async function sendWhatsapp(api: TelnyxApiConfig, message: ReturnType<typeof templateRequest> | ReturnType<typeof interactiveRequest>, fetchImpl: typeof fetch = fetch): Promise<{ messageId: string }> {
  const body = await call(api, 'POST', '/messages/whatsapp', message, fetchImpl);
  const sent = sentAnswer.safeParse(body);
  // Accepted but no id: it was sent, so it counts; the delivery events cannot be matched to it.
  return { messageId: sent.success ? sent.data.data.id : '' };
}

// --- the calling switch ---

const callingAnswer = z.object({ data: z.object({ enabled: z.boolean() }).loose() });

async function callingFrom(body: unknown): Promise<boolean> {
  const c = callingAnswer.safeParse(body);
  if (!c.success) throw new TelnyxApiError({ kind: 'server', status: 200, detail: `not a calling_settings answer: ${JSON.stringify(body).slice(0, 200)}` });
  return c.data.data.enabled;
}

/** Whether WhatsApp calling is on for the number at Telnyx (what Mission Control shows). */
export async function readCallingSettings(api: TelnyxApiConfig, business: string, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  return callingFrom(await call(api, 'GET', `${phonePath(business)}/calling_settings`, undefined, fetchImpl));
}

/** Turns WhatsApp calling on or off at Telnyx; answers the state Telnyx reports after the change. */
export async function writeCallingSettings(api: TelnyxApiConfig, business: string, enabled: boolean, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  return callingFrom(await call(api, 'PATCH', `${phonePath(business)}/calling_settings`, { enabled }, fetchImpl));
}
