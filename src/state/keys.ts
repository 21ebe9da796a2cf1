// Redis key names. Every key of one business number carries the same {hash tag} (its digits),
// so each script touches a single Redis Cluster slot. A user is an E.164 number (stored as its
// digits) or, when Meta named only that, a business-scoped user id (`US.1349…`, stored as is).
const digits = (e164: string) => e164.replace(/^\+/, '');

export function numberKeys(businessE164: string) {
  const base = `wa:{${digits(businessE164)}}`;
  return {
    number: `${base}:number`,
    unanswered: `${base}:unanswered`,
    active: `${base}:active`,
    activeUser: `${base}:active_user`,
    inflight: `${base}:inflight`,
    connected: `${base}:connected`,
    attempts: `${base}:attempts`,
    /** BSUID → phone number (E.164) of the users Meta named both ways. */
    userIds: `${base}:user_ids`,
    /** phone number (E.164) → BSUID, the same links read the other way. */
    userBsuids: `${base}:user_bsuids`,
    perm: (user: string) => `${base}:perm:${digits(user)}`,
    userConnected: (user: string) => `${base}:connected:${digits(user)}`,
    permissionRequests: (user: string) => `${base}:preq:${digits(user)}`,
    /** The last permission request sent to a user: channel, kind, Telnyx's message id, when. */
    lastPermissionRequest: (user: string) => `${base}:preq_last:${digits(user)}`,
    /** A sent permission request's delivery as Telnyx's webhooks report it, by Telnyx's message id. */
    requestDelivery: (messageId: string) => `${base}:preq_msg:${messageId}`,
    call: (callId: string) => `${base}:call:${callId}`,
  };
}

/** Append-only streams (SPEC §6). Written outside the per-number scripts: a stream has its own slot. */
export const STREAMS = { calls: 'wa:calls', permissions: 'wa:permissions', restrictions: 'wa:restrictions' } as const;
export const STREAM_MAXLEN = 100_000;
