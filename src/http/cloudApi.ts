// Sends a call permission request through the WhatsApp Cloud API: a free-form interactive
// message of type `call_permission_request` from the business number's phoneNumberId.
import type { Config } from '../config/schema.js';
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

/** Meta's error envelope is `{"error":{"message","code",...}}`; anything else is quoted briefly. */
async function upstreamDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown } }).error;
    if (e && typeof e.message === 'string') return e.code !== undefined ? `${e.message} (code ${String(e.code)})` : e.message;
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 200) || res.statusText;
}

/** Returns Meta's message id; throws HttpError upstream_failed on any non-2xx, timeout or network error. */
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
  if (!res.ok) throw new HttpError('upstream_failed', `Cloud API answered ${res.status}: ${await upstreamDetail(res)}`);
  const sent = (await res.json().catch(() => ({}))) as { messages?: { id?: unknown }[] };
  const id = sent.messages?.[0]?.id;
  return typeof id === 'string' ? { messageId: id } : {};
}
