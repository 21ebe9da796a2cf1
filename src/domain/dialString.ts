// Telnyx's WhatsApp dial string: sip:+<user>@whatsapp-<business digits>.<dialDomain>
import type { PhoneNumber } from './numbers.js';
import { parseBusinessNumber } from './numbers.js';

export function buildDialString(user: PhoneNumber, business: PhoneNumber, dialDomain: string): string {
  return `sip:${user.e164}@whatsapp-${business.digits}.${dialDomain}`;
}

export interface ParsedDialString {
  user: PhoneNumber;
  business: PhoneNumber;
  dialDomain: string;
}

export function parseDialString(uri: string): ParsedDialString | undefined {
  const m = /^sips?:(\+\d+)@whatsapp-(\d+)\.([^;>?]+)/i.exec(uri.trim());
  if (!m) return undefined;
  const user = parseBusinessNumber(m[1] ?? '');
  const business = parseBusinessNumber(m[2] ?? '');
  if (!user || !business) return undefined;
  return { user, business, dialDomain: (m[3] ?? '').toLowerCase() };
}
