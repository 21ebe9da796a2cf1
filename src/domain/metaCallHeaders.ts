// What Meta tells the business about a user's call, in the custom SIP headers of its INVITE
// (SPEC §7; Meta's "SIP Configuration Guide", "Custom SIP headers"): the WhatsApp call id, the
// user's business-scoped id, parent id and username, and the payload of the call button or deep
// link the user tapped. Read here once for the call record and the choice of inbound targets; the
// headers themselves reach the PBX unchanged through sip.forwardHeadersToPbx (`X-Wa-Meta-*`).
// Meta documents them on its own INVITEs; whether Telnyx forwards them is not documented: without
// them every field is absent and nothing else changes.

/** Header name → call-record field. */
export const META_CALL_HEADERS = {
  'x-wa-meta-wacid': 'waCallId',
  'x-wa-meta-user-id': 'waUserId',
  'x-wa-meta-parent-user-id': 'waParentUserId',
  'x-wa-meta-username': 'waUsername',
  'x-wa-meta-cta-payload': 'ctaPayload',
  'x-wa-meta-deeplink-payload': 'deeplinkPayload',
} as const;

export type MetaCallField = (typeof META_CALL_HEADERS)[keyof typeof META_CALL_HEADERS];
export type MetaCallInfo = Partial<Record<MetaCallField, string>>;

/** Meta's payloads may be up to 512 characters; anything longer is not Meta's and is not kept. */
const MAX_VALUE = 512;

/**
 * The Meta headers present in a request's headers (names compared case-insensitively, as SIP
 * does). A value that is empty, too long or holds control characters is left out: never a
 * reason to refuse a user's call.
 */
export function readMetaCallHeaders(headers: Record<string, string | string[] | undefined>): MetaCallInfo {
  const info: MetaCallInfo = {};
  for (const [name, raw] of Object.entries(headers)) {
    const field = (META_CALL_HEADERS as Record<string, MetaCallField>)[name.toLowerCase()];
    if (!field || raw === undefined) continue;
    const value = (Array.isArray(raw) ? raw[0] ?? '' : raw).trim();
    // eslint-disable-next-line no-control-regex
    if (value === '' || value.length > MAX_VALUE || /[\u0000-\u001f\u007f]/.test(value)) continue;
    info[field] = value;
  }
  return info;
}
