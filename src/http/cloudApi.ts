// The WhatsApp Cloud API, as the edge uses it: sends a call permission request (a free-form
// interactive message of type `call_permission_request` from the business number's phoneNumberId),
// and asks Meta's call_permissions for a (number, user) pair.
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { MetaPermissionView } from '../domain/metaPermission.js';
import { HttpError } from './errors.js';

export type CloudApiConfig = NonNullable<Config['whatsapp']['cloudApi']>;

/** Shown above Meta's allow/deny buttons when the operator sends no text of their own. */
export const DEFAULT_REQUEST_TEXT = 'We would like to call you on WhatsApp. Please let us know if we may.';

export interface PermissionRequestMessage {
  phoneNumberId: string;
  /** The user's E.164 digits without `+` (Meta's wa_id form)... */
  to?: string;
  /** ...or, for a user known only by it, their business-scoped user id (Meta's `recipient`). */
  recipient?: string;
  text: string;
}

export function permissionRequestBody(m: PermissionRequestMessage) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...(m.to !== undefined ? { to: m.to } : { recipient: m.recipient }),
    type: 'interactive',
    interactive: {
      type: 'call_permission_request',
      action: { name: 'call_permission_request' },
      body: { text: m.text },
    },
  };
}

/** Meta's error: a call permission request to a user who has given a permanent permission. */
export const META_PERMISSION_EXISTS = 138017;

/** Meta's error envelope is `{"error":{"message","code",...}}`; anything else is quoted briefly. */
async function upstreamDetail(res: Response): Promise<{ detail: string; code?: number }> {
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown } }).error;
    if (e && typeof e.message === 'string') {
      const code = Number(e.code);
      return { detail: e.code !== undefined ? `${e.message} (code ${String(e.code)})` : e.message, ...(Number.isInteger(code) ? { code } : {}) };
    }
  } catch {
    // not JSON: fall through
  }
  return { detail: text.slice(0, 200) || res.statusText };
}

/**
 * Returns Meta's message id; throws HttpError permission_exists when Meta answers 138017 (the user
 * has a permanent permission), upstream_failed on any other non-2xx, timeout or network error.
 */
export async function sendPermissionRequest(
  api: CloudApiConfig,
  message: PermissionRequestMessage,
  fetchImpl: typeof fetch = fetch,
): Promise<{ messageId?: string }> {
  const url = `${api.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(message.phoneNumberId)}/messages`;
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(permissionRequestBody(message)),
      signal: AbortSignal.timeout(api.timeoutMs),
    });
  } catch (e) {
    const timedOut = e instanceof Error && e.name === 'TimeoutError';
    const why = timedOut ? `no answer within ${api.timeoutMs} ms` : `unreachable (${e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)})`;
    throw new HttpError('upstream_failed', `Cloud API ${why}`, {}, { cause: e });
  }
  if (!res.ok) {
    const { detail, code } = await upstreamDetail(res);
    if (code === META_PERMISSION_EXISTS) throw new HttpError('permission_exists', `Meta refused the request: ${detail}; the user has a permanent permission`);
    throw new HttpError('upstream_failed', `Cloud API answered ${res.status}: ${detail}`);
  }
  const sent = (await res.json().catch(() => ({}))) as { messages?: { id?: unknown }[] };
  const id = sent.messages?.[0]?.id;
  return typeof id === 'string' ? { messageId: id } : {};
}

// --- call_permissions: Meta's view of a (business number, user) pair (SPEC §7) ---

const limitSchema = z.object({
  time_period: z.string(),
  max_allowed: z.coerce.number().int().nonnegative(),
  current_usage: z.coerce.number().int().nonnegative(),
  limit_expiration_time: z.coerce.number().int().positive().optional().catch(undefined),
});

const callPermissionsSchema = z.object({
  permission: z.object({
    status: z.enum(['no_permission', 'temporary', 'permanent']),
    expiration_time: z.coerce.number().int().positive().optional().catch(undefined),
  }),
  actions: z
    .array(z.object({ action_name: z.string(), can_perform_action: z.boolean(), limits: z.array(limitSchema).optional().catch(undefined) }).loose())
    .optional()
    .catch(undefined),
});

/** Why a lookup produced no answer, one word each (the log-once key). */
export type LookupErrorKind = 'timeout' | 'unreachable' | 'http_error' | 'meta_error' | 'malformed';

export type CallPermissionsAnswer = { ok: true; view: MetaPermissionView } | { ok: false; kind: LookupErrorKind; key: string; detail: string };

/** Meta's answer parsed into the domain's view; unknown fields are ignored, a missing permission is malformed. */
export function parseCallPermissions(body: unknown): MetaPermissionView | undefined {
  const r = callPermissionsSchema.safeParse(body);
  if (!r.success) return undefined;
  const { permission, actions } = r.data;
  const start = actions?.find((a) => a.action_name === 'start_call');
  return {
    status: permission.status,
    ...(permission.expiration_time !== undefined ? { expiresAt: permission.expiration_time * 1000 } : {}),
    ...(start
      ? {
          startCall: {
            canPerform: start.can_perform_action,
            limits: (start.limits ?? []).map((l) => ({
              timePeriod: l.time_period,
              maxAllowed: l.max_allowed,
              currentUsage: l.current_usage,
              ...(l.limit_expiration_time !== undefined ? { freesAt: l.limit_expiration_time * 1000 } : {}),
            })),
          },
        }
      : {}),
  };
}

/**
 * GET {baseUrl}/{phoneNumberId}/call_permissions?user_wa_id=… within `timeoutMs`. Never throws:
 * an error is an answer too, so the caller keeps its local decision.
 */
export async function fetchCallPermissions(
  api: CloudApiConfig,
  phoneNumberId: string,
  userWaId: string,
  timeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): Promise<CallPermissionsAnswer> {
  const url = `${api.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(phoneNumberId)}/call_permissions?user_wa_id=${encodeURIComponent(userWaId)}`;
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    if (e instanceof Error && e.name === 'TimeoutError') return { ok: false, kind: 'timeout', key: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    const why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    return { ok: false, kind: 'unreachable', key: 'unreachable', detail: `unreachable (${why})` };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    const timedOut = e instanceof Error && e.name === 'TimeoutError';
    return { ok: false, kind: timedOut ? 'timeout' : 'unreachable', key: timedOut ? 'timeout' : 'unreachable', detail: `the answer did not arrive whole within ${timeoutMs} ms` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    // Meta's error envelope: {"error":{"message","code","error_subcode"}}; its code is the log-once key.
    const err = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
    if (err && typeof err.message === 'string') {
      return { ok: false, kind: 'meta_error', key: `meta_${String(err.code ?? res.status)}`, detail: `Meta answered ${res.status}: ${err.message}${err.code !== undefined ? ` (code ${String(err.code)})` : ''}` };
    }
    return { ok: false, kind: 'http_error', key: `http_${res.status}`, detail: `Cloud API answered ${res.status}: ${text.slice(0, 200) || res.statusText}` };
  }
  const view = parseCallPermissions(body);
  if (!view) return { ok: false, kind: 'malformed', key: 'malformed', detail: `not a call_permissions answer: ${text.slice(0, 200)}` };
  return { ok: true, view };
}
