// Who a WhatsApp user is, as the edge can key them (SPEC §3 "Numbers", §7 "Usernames"). Meta
// decides who is a user: the edge keys a user by phone number when one is known, by the
// business-scoped user id (BSUID) when only that is, and never refuses a call for the form of
// its caller identity. Pure: no I/O.
import { normaliseDialled, parseBusinessNumber, type PhoneNumber } from './numbers.js';

/** A user the state can hold a permission for. */
export type UserIdentity = { kind: 'phone'; key: string; phone: PhoneNumber } | { kind: 'bsuid'; key: string };

/** Why an inbound caller cannot be keyed (the `reason` label of wa_edge_callback_not_granted_total). */
export const UNKEYED_REASONS = ['anonymous', 'not_a_number', 'no_user'] as const;
export type UnkeyedReason = (typeof UNKEYED_REASONS)[number];

export type CallerIdentity =
  | UserIdentity
  | {
      kind: 'unkeyed';
      reason: UnkeyedReason;
      /** What Telnyx sent, safe to put back into a URI user part (and a call record). */
      key: string;
    };

// Meta's BSUID: the user's ISO 3166 country, a period, then an alphanumeric id of up to 128
// characters (`US.13491208655302741918`); a parent BSUID adds `ENT.` (`US.ENT.11815799212886844830`).
const BSUID = /^[A-Z]{2}(?:\.ENT)?\.[A-Za-z0-9]{1,128}$/;

export function isBsuid(s: string): boolean {
  return BSUID.test(s);
}

/** `{user}` of the API and a user field of a webhook: E.164 with or without `+`, or a BSUID. */
export function parseUserIdentity(input: string): UserIdentity | undefined {
  const s = input.trim();
  if (isBsuid(s)) return { kind: 'bsuid', key: s };
  const phone = parseBusinessNumber(s);
  return phone ? { kind: 'phone', key: phone.e164, phone } : undefined;
}

// RFC 3261 `user` characters (unreserved, escaped, user-unreserved): what may stand in a URI
// user part as received, so passing it on never changes the request's framing.
const SIP_USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}){1,128}$/;

/** Control characters, quotes and angle brackets: a user part carrying these tries to inject headers. */
// eslint-disable-next-line no-control-regex
const INJECTION = /[\u0000-\u001f\u007f"<>]/;

/**
 * An inbound caller, from the raw user part of Telnyx's From (still percent-encoded). Undefined
 * only for a header-injection attempt; any other form is a caller whose call still reaches the PBX.
 */
export function callerIdentity(rawUser: string): CallerIdentity | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawUser);
  } catch {
    decoded = rawUser;
  }
  if (INJECTION.test(decoded) || (rawUser !== '' && !SIP_USER.test(rawUser))) return undefined;
  if (isBsuid(decoded)) return { kind: 'bsuid', key: decoded };
  const phone = normaliseDialled(decoded);
  if (phone) return { kind: 'phone', key: phone.e164, phone };
  if (rawUser === '') return { kind: 'unkeyed', reason: 'no_user', key: '' };
  if (/^(anonymous|restricted|unknown|unavailable|private)$/i.test(decoded)) return { kind: 'unkeyed', reason: 'anonymous', key: rawUser };
  return { kind: 'unkeyed', reason: 'not_a_number', key: rawUser };
}
