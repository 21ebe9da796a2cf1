// Path and query values shared by the routes, validated before any handler (and Redis) sees them.
import { z } from 'zod';
import type { Config, NumberConfig } from '../config/schema.js';
import { parseBusinessNumber, type PhoneNumber } from '../domain/numbers.js';
import { HttpError } from './errors.js';

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

/** `{number}` / `{user}`: E.164 with or without `+` (the `+` may also arrive as %2B). */
export const e164Param = phoneNumberParam(parseBusinessNumber, 'not a valid E.164 number (country code and number, `+` optional)', {
  description: 'E.164 number, with or without the leading +',
  example: '+447418613982',
});

export const numberParams = z.object({ number: e164Param });
export const userParams = z.object({ number: e164Param, user: e164Param });

/** The configured entry of a business number; 404 for any other number. */
export function configuredNumber(config: Readonly<Config>, number: PhoneNumber): NumberConfig {
  const entry = config.numbers.find((n) => n.number === number.e164);
  if (!entry) throw new HttpError('unknown_number', `${number.e164} is not a configured business number`);
  return entry;
}
