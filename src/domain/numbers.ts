// Phone numbers as the edge sees them: whatever a PBX dials, normalised to E.164 with `+`.
// The one number rule (SPEC §3 "Numbers"), shared by SIP, the API and the webhook: a number is
// accepted when its length is possible for its country code. Meta, not the bundled metadata,
// decides who is a WhatsApp user, and new ranges reach the metadata months late, so range
// validity is never asked. The `max` metadata only resolves regions inside shared country codes
// (+1 JM vs US), which region blocking depends on (SPEC §7).
import { parsePhoneNumberFromString, isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';
import { LRUCache } from 'lru-cache';

export interface PhoneNumber {
  /** E.164 with the leading `+`. */
  readonly e164: string;
  /** E.164 digits without `+`, as the WhatsApp dial string wants the business number. */
  readonly digits: string;
  /** ISO 3166 region libphonenumber assigns to the number, when it can. */
  readonly region: string | undefined;
}

export function isValidRegion(code: string): boolean {
  return isSupportedCountry(code.toUpperCase());
}

/**
 * The user part of a `sip:`/`sips:`/`tel:` URI exactly as written (still percent-encoded, without
 * `;` parameters), or the text itself when it is no URI. A `sip:` URI without `@` has no user.
 */
export function rawUserPart(uriOrNumber: string): string {
  // Not parseSipUri (src/domain/sipUri.ts): this reads whatever a PBX or Telnyx put in a user part,
  // `tel:` URIs, unclosed `<`, encoded CR/LF or quotes included, so the number rule (and the 400 for
  // header injection) decides about it; a strict parser would turn those into "no user" instead.
  const s = uriOrNumber.trim();
  const sip = /^<?sips?:([^@>]*)@/i.exec(s);
  if (sip) return (sip[1] ?? '').split(';')[0] ?? '';
  if (/^<?sips?:/i.test(s)) return '';
  const tel = /^<?tel:([^;>?]*)/i.exec(s);
  return (tel ? (tel[1] ?? '') : s).split(';')[0] ?? '';
}

/** The user part of a `sip:`/`sips:`/`tel:` URI, decoded, or the text itself when it is no URI. */
export function userPart(uriOrNumber: string): string {
  // `;phone-context=`, `;user=phone` and similar parameters are not part of the number.
  const raw = rawUserPart(uriOrNumber);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // a stray `%`: not a number, and not worth a 500
  }
}

/**
 * The region of a number: the one the `max` metadata assigns to its range (or to its leading
 * digits), else the country code's main region (+1 → US), else none (non-geographic codes).
 */
function regionOf(country: string | undefined, callingCode: string): string | undefined {
  // The metadata lists a shared country code's main region first (+1: US, +7: RU, +44: GB).
  return country ?? metadata.country_calling_codes[callingCode]?.[0];
}

// Parsing a number against the `max` metadata is the costliest step of an INVITE (about
// 150 µs): every call parses its From (a handful of business numbers) and its user (callbacks
// dial the same people again). The answer depends on the text and region alone, so it is kept.
const parsedNumbers = new LRUCache<string, PhoneNumber | false>({ max: 20_000 });

function toPhoneNumber(text: string, defaultRegion?: string): PhoneNumber | undefined {
  const key = defaultRegion ? `${defaultRegion}|${text}` : text;
  const known = parsedNumbers.get(key);
  if (known !== undefined) return known || undefined;
  const parsed = parsePhoneNumberFromString(text, defaultRegion ? { defaultCountry: defaultRegion as CountryCode } : undefined);
  const result = parsed?.isPossible()
    ? Object.freeze({ e164: parsed.number, digits: parsed.number.slice(1), region: regionOf(parsed.country, parsed.countryCallingCode) })
    : undefined;
  parsedNumbers.set(key, result ?? false);
  return result;
}

/**
 * Normalise what a PBX dialled (`+447911123456`, `447911123456`, `00447911123456`, `07911123456`
 * with region GB, `tel:`/`sip:` URIs) to E.164. Undefined when it is not a possible phone number
 * (too short or too long for its country code, an unknown country code, letters).
 */
export function normaliseDialled(input: string, defaultRegion?: string): PhoneNumber | undefined {
  const raw = userPart(input);
  // Visual separators are allowed by RFC 3966; anything else (letters, CR/LF, quotes) is not a number.
  const cleaned = raw.replace(/[\s().-]/g, '');
  if (!/^\+?\d{3,17}$/.test(cleaned)) return undefined;
  if (cleaned.startsWith('+')) return toPhoneNumber(cleaned);
  if (cleaned.startsWith('00')) return toPhoneNumber(`+${cleaned.slice(2)}`);
  // A national number (or one with the region's own international prefix) first, then the digits
  // as an international number without `+`, which is how many PBXs send E.164.
  return (defaultRegion ? toPhoneNumber(cleaned, defaultRegion) : undefined) ?? toPhoneNumber(`+${cleaned}`);
}

/** E.164 with or without `+` (a configured business number, an API path, a webhook field). */
export function parseBusinessNumber(input: string): PhoneNumber | undefined {
  const cleaned = input.trim();
  if (!/^\+?\d{6,17}$/.test(cleaned)) return undefined;
  return toPhoneNumber(cleaned.startsWith('+') ? cleaned : `+${cleaned}`);
}

/** SPEC §7: business-initiated calls are unavailable for business numbers of blocked regions. */
export function isRegionBlocked(businessNumber: PhoneNumber, blockedRegions: readonly string[]): boolean {
  return businessNumber.region !== undefined && blockedRegions.includes(businessNumber.region);
}
