// What a softphone's REGISTER asks for, and what the registrar does about it (RFC 3261 §10.2,
// §10.3 steps 6 and 7), pure: the SIP side (src/sip/registrar.ts) reads the headers into a
// `RegisterAsk` and carries out the `RegisterPlan`.
//
// * Each Contact's expiry is its own `expires` parameter, else the `Expires` header, else none:
//   with neither, "the client is indicating its desire for the server to choose" (§10.2.1.1), and
//   the registrar chooses `sip.registration.defaultExpires`.
// * Every expiry is clamped to `sip.registration` (at most maxExpires, at least minExpires), but
//   only an interval the softphone asked for can be too brief (423 with Min-Expires, §10.3 step 7).
// * `0` removes that Contact; `Contact: *` with `Expires: 0` removes them all; no Contact at all
//   asks for the current bindings.

export interface RegisterAsk {
  /** Each Contact's URI and its `expires` parameter as written, if any. `*` is the wildcard. */
  contacts: { uri: string; expires?: string }[];
  /** The `Expires` header as written, if any. */
  expiresHeader?: string;
}

export interface RegistrationLimits {
  minExpires: number;
  maxExpires: number;
  /** Chosen for a Contact that states no expiry (clamped to the two above). */
  defaultExpires: number;
}

export type RegisterPlan =
  | { kind: 'query' }
  | { kind: 'clear' }
  /** 400: what was written cannot be read as a registration. */
  | { kind: 'invalid'; why: string }
  /** 423: a softphone asked for less than `minExpires`. */
  | { kind: 'too_brief'; minExpires: number }
  /** Each Contact with its chosen expiry in seconds; 0 removes it. */
  | { kind: 'update'; contacts: { uri: string; expiresSeconds: number }[] };

/** delta-seconds (RFC 3261 §25.1): digits only. A value above 2^32-1 is read as that (§20.19), then clamped. */
function deltaSeconds(text: string | undefined): number | undefined | 'invalid' {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d{1,20}$/.test(t)) return 'invalid';
  return Math.min(Number(t), 2 ** 32 - 1);
}

export function planRegistration(ask: RegisterAsk, limits: RegistrationLimits): RegisterPlan {
  const header = deltaSeconds(ask.expiresHeader);
  if (header === 'invalid') return { kind: 'invalid', why: 'Expires is not a number of seconds' };
  if (ask.contacts.length === 0) return { kind: 'query' };
  if (ask.contacts.some((c) => c.uri === '*')) {
    // §10.2.2: the wildcard only alone, only with Expires: 0, and with no expires parameter.
    if (ask.contacts.length > 1 || header !== 0 || ask.contacts[0]?.expires !== undefined) return { kind: 'invalid', why: 'Contact: * needs Expires: 0, alone' };
    return { kind: 'clear' };
  }
  const chosenDefault = Math.min(Math.max(limits.defaultExpires, limits.minExpires), limits.maxExpires);
  const contacts: { uri: string; expiresSeconds: number }[] = [];
  for (const c of ask.contacts) {
    const param = deltaSeconds(c.expires);
    if (param === 'invalid') return { kind: 'invalid', why: 'a Contact expires parameter is not a number of seconds' };
    const asked = param ?? header;
    if (asked !== undefined && asked > 0 && asked < limits.minExpires) return { kind: 'too_brief', minExpires: limits.minExpires };
    contacts.push({ uri: c.uri, expiresSeconds: asked === undefined ? chosenDefault : Math.min(asked, limits.maxExpires) });
  }
  return { kind: 'update', contacts };
}
