// Digest nonce-counts already used, shared by every instance (src/sip/digest.ts `NonceUses`).
// One SET NX PX per authenticated request: a single command, atomic without a script. The key's
// hash tag is the nonce, so the keys spread over a Redis Cluster, and each expires with its nonce.
import type { RedisClient } from './redis.js';

export const nonceUseKey = (nonce: string, nc: string) => `wa:{nonce:${nonce}}:nc:${nc}`;

/** True for the first use of (nonce, nc) on any instance, false for a replay; rejects when Redis does not answer. */
export function redisNonceUses(redis: RedisClient) {
  return async (nonce: string, nc: string, ttlMs: number): Promise<boolean> =>
    (await redis.set(nonceUseKey(nonce, nc), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
}
