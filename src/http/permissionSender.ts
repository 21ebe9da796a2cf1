// Who sends a number's permission requests (SPEC §2, §4): Telnyx's WhatsApp API (telnyx.api), the
// business's own Meta app (whatsapp.cloudApi), or nobody (the operator sends it elsewhere and
// records it). And how Telnyx sends one: the 24 h window decides between Meta's free-form
// interactive call_permission_request (window open) and the approved template (closed).
import type { Config, NumberConfig } from '../config/schema.js';
import { HttpError } from './errors.js';
import { conversationWindow, interactiveRequest, sendWhatsapp, templateRequest, TelnyxApiError, type PermissionTemplate, type TelnyxApiConfig } from './telnyxApi.js';
import { sendPermissionRequest, type CloudApiConfig } from './cloudApi.js';
import type { KnownUser, RequestKind } from '../state/permissions.js';

export type Sender =
  | { channel: 'telnyx'; api: TelnyxApiConfig; template: PermissionTemplate }
  | { channel: 'cloud_api'; api: CloudApiConfig; phoneNumberId: string };

/** The sender configured for the number; `missing` names what it lacks (checked before anything is counted). */
export function senderFor(config: Config, entry: NumberConfig): { sender?: Sender; missing?: HttpError } {
  const telnyx = config.telnyx.api;
  const cloud = config.whatsapp.cloudApi;
  const via = entry.permissionRequestsVia ?? (telnyx ? 'telnyx' : cloud ? 'cloud_api' : undefined);
  if (via === 'telnyx' && telnyx) {
    if (!entry.permissionTemplate) {
      return { missing: new HttpError('permission_template_missing', `${entry.number} has no permissionTemplate; add the approved call-permission template's name and language under numbers[] to send through telnyx.api`) };
    }
    return { sender: { channel: 'telnyx', api: telnyx, template: entry.permissionTemplate } };
  }
  if (via === 'cloud_api' && cloud) {
    if (!entry.phoneNumberId) return { missing: new HttpError('phone_number_id_missing', `${entry.number} has no phoneNumberId; add it under numbers[] to send through whatsapp.cloudApi`) };
    return { sender: { channel: 'cloud_api', api: cloud, phoneNumberId: entry.phoneNumberId } };
  }
  return {};
}

export interface TelnyxSent {
  kind: RequestKind;
  messageId: string;
  /** What the window check said: open, closed, or failed (then the template, valid either way). */
  window: 'open' | 'closed' | 'failed';
  windowError?: string;
}

/**
 * Asks Telnyx whether the user's 24 h window is open, then sends the interactive request (open)
 * or the template (closed). A failed window check sends the template: Meta accepts a template
 * inside the window and outside it, so the check decides only which is nicer, never whether the
 * request is valid. Throws TelnyxApiError when the send itself fails.
 */
export async function sendThroughTelnyx(api: TelnyxApiConfig, template: PermissionTemplate, business: string, user: string, text: string, fetchImpl: typeof fetch = fetch): Promise<TelnyxSent> {
  let window: TelnyxSent['window'];
  let windowError: string | undefined;
  try {
    window = (await conversationWindow(api, business, user, fetchImpl)).active ? 'open' : 'closed';
  } catch (e) {
    if (!(e instanceof TelnyxApiError)) throw e;
    window = 'failed';
    windowError = e.message;
  }
  const kind: RequestKind = window === 'open' ? 'interactive' : 'template';
  const message = kind === 'interactive' ? interactiveRequest(business, user, text) : templateRequest(business, user, template);
  const { messageId } = await sendWhatsapp(api, message, fetchImpl);
  return { kind, messageId, window, ...(windowError !== undefined ? { windowError } : {}) };
}

/**
 * Sends one request through the number's sender. Through Telnyx: to the phone number (its API
 * takes no BSUID; the caller checks there is one). Through the Cloud API: by phone number, else
 * by BSUID. Throws TelnyxApiError, or the Cloud API's HttpError, when it was not sent.
 */
export async function sendRequest(sender: Sender, business: string, user: KnownUser, text: string, fetchImpl: typeof fetch = fetch): Promise<{ kind: RequestKind; messageId?: string; window?: TelnyxSent['window']; windowError?: string }> {
  if (sender.channel === 'telnyx') return sendThroughTelnyx(sender.api, sender.template, business, user.phone as string, text, fetchImpl);
  const recipient = user.phone !== undefined ? { to: user.phone.slice(1) } : { recipient: user.user };
  const { messageId } = await sendPermissionRequest(sender.api, { phoneNumberId: sender.phoneNumberId, ...recipient, text }, fetchImpl);
  return { kind: 'interactive', ...(messageId ? { messageId } : {}) };
}

/** Hints for the Meta codes a permission request meets (SPEC §7); others are quoted as they are. */
const META_HINTS: Record<string, string> = {
  '131047': 'outside the 24 h window only the template may be sent',
  '138017': 'the user has already granted a permanent permission',
};

/** A Telnyx failure as the caller sees it: 4xx for a refusal, 502 for the edge's key or a broken Telnyx, 504 for no answer. */
export function telnyxHttpError(e: TelnyxApiError): HttpError {
  const f = e.failure;
  const counted = 'nothing was counted';
  switch (f.kind) {
    case 'timeout':
      return new HttpError('upstream_timeout', `${f.detail}; ${counted}`, {}, { cause: e, upstream: { service: 'telnyx' } });
    case 'unreachable':
      return new HttpError('upstream_failed', `${f.detail}; ${counted}`, {}, { cause: e, upstream: { service: 'telnyx' } });
    case 'server':
      return new HttpError('upstream_failed', `${f.detail}; ${counted}`, {}, { cause: e, upstream: { service: 'telnyx', status: f.status } });
    case 'unauthorized':
      return new HttpError('telnyx_unauthorized', `Telnyx refused the edge's API key (telnyx.api.key): ${f.detail}; ${counted}`, {}, {
        cause: e,
        upstream: { service: 'telnyx', status: f.status, ...(f.code !== undefined ? { code: f.code } : {}) },
      });
    case 'refused': {
      const upstream = { service: 'telnyx' as const, status: f.status, ...(f.code !== undefined ? { code: f.code } : {}), ...(f.metaCode !== undefined ? { metaCode: f.metaCode } : {}) };
      // Meta 138017: the user already granted a permanent permission (SPEC §7): the same answer as when the edge knows it.
      if (f.metaCode === '138017') return new HttpError('permission_exists', `${f.detail} (Meta 138017: ${META_HINTS['138017']}); ${counted}`, {}, { cause: e, upstream });
      const hint = f.metaCode !== undefined ? META_HINTS[f.metaCode] : undefined;
      const meta = f.metaCode !== undefined ? ` (Meta ${f.metaCode}${hint ? `: ${hint}` : ''})` : '';
      return new HttpError('telnyx_refused', `${f.detail}${meta}; ${counted}`, {}, { cause: e, upstream });
    }
  }
}
