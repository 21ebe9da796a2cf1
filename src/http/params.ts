// Path and query values shared by the routes, validated before any handler (and Redis) sees them.
import { z } from 'zod';
import type { Config, NumberConfig } from '../config/schema.js';
import { parseUserIdentity, type UserIdentity } from '../domain/identity.js';
import { parseBusinessNumber, type PhoneNumber } from '../domain/numbers.js';
import { HttpError } from './errors.js';
import { numberEntry } from '../config/derived.js';

/** A string parsed into a phone number by `parse`; otherwise a 400 saying `invalid`. */
export function phoneNumberParam(parse: (s: string) => PhoneNumber | undefined, invalid: string, meta: { description: string; example: string }) {
  return z
    .string()
    .transform((s, ctx) => {
      const parsed = parse(s);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: invalid });
        return z.NEVER;
      }
      return parsed;
    })
    .meta(meta);
}

/**
 * `{number}`: E.164 with or without `+` (the `+` may also arrive as %2B), accepted when its length
 * is possible for its country code: the one number rule of SPEC §3, shared with SIP and the webhook.
 */
export const e164Param = phoneNumberParam(parseBusinessNumber, 'not a possible E.164 number (country code and number, `+` optional)', {
  description: 'E.164 number, with or without the leading +',
  example: '+447418613982',
});

/** `{user}`: a phone number as `{number}`, or a business-scoped user id (SPEC §7, `US.13491208655302741918`). */
export const userParam = z
  .string()
  .transform((s, ctx): UserIdentity => {
    const parsed = parseUserIdentity(s);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: 'neither a possible E.164 number (`+` optional) nor a business-scoped user id (CC.digits)' });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'E.164 number with or without the leading +, or a business-scoped user id (BSUID)', example: '+447911123456' });

export const numberParams = z.object({ number: e164Param });
export const userParams = z.object({ number: e164Param, user: userParam });

/** The configured entry of a business number; 404 for any other number. */
export function configuredNumber(config: Readonly<Config>, number: PhoneNumber): NumberConfig {
  const entry = numberEntry(config.numbers, number.e164);
  if (!entry) throw new HttpError('unknown_number', `${number.e164} is not a configured business number`);
  return entry;
}

/** Epoch seconds past this are surely milliseconds (year 5138): refuse rather than guess. */
const MAX_EPOCH_SECONDS = 99_999_999_999;

/** A permission's expiry as the API takes it (grant and seed rows), in epoch ms. */
export const expiresAtSchema = z
  .union([z.iso.datetime({ offset: true }), z.number().int().positive().max(MAX_EPOCH_SECONDS, 'epoch seconds, not milliseconds')])
  .transform((v) => (typeof v === 'number' ? v * 1000 : Date.parse(v)))
  .meta({ description: 'ISO 8601 instant with offset, or epoch seconds; must be in the future. Default: now + whatsapp.temporaryPermissionHours' });

