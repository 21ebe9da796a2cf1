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

const SECRET_KEY = /token|secret|password|passwd|authorization|signature|api[_-]?key|credential/i;

/** A deep copy with every value under a secret-looking key replaced, for logging a payload whose shape is unknown (pino's paths only reach known depths). */
export function redactSecrets(v: unknown, depth = 0): unknown {
  if (depth > 12 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(x, depth + 1)]));
}
