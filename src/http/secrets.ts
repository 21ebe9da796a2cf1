// Secret comparison that takes the same time whether the first or the last byte differs.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** Equal-length SHA-256 digests let timingSafeEqual compare inputs of any length. */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Meta's `X-Hub-Signature-256` value for a raw body: `sha256=` + hex HMAC-SHA256 with the app secret. */
export function hubSignature(rawBody: Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}
