// The deployment's digest nonce key, kept in Redis for when `sip.digestSecret` is not set
// (src/sip/digest.ts): the first instance that needs it creates it, every instance reads it, so
// several edges sharing Redis verify each other's nonces with nothing configured.
//
// One command, `SET key value NX GET` (Redis 7.0 or later): atomic without a script. It stores
// this instance's random candidate only when no key exists and answers the key already there
// (nil when the candidate was stored). Never expires; rotation is deleting or replacing it and
// restarting the instances (docs/scaling.md §1).
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.js';

export const DIGEST_KEY = 'wa:digest-key';

/**
 * The shared key, read once and kept for the life of the process; rejects (and tries again on the
 * next call) while Redis does not answer.
 */
export function redisDigestKey(redis: RedisClient): () => Promise<string> {
  let known: Promise<string> | undefined;
  return () => {
    known ??= createOrRead(redis).catch((err: unknown) => {
      known = undefined;
      throw err;
    });
    return known;
  };
}

async function createOrRead(redis: RedisClient): Promise<string> {
  const candidate = randomBytes(32).toString('base64url');
  const existing = await redis.set(DIGEST_KEY, candidate, 'NX', 'GET');
  return existing ?? candidate;
}
