// Who an API request is (SPEC §2a, §4): the operator (`http.adminToken`, everything, tenants
// included) or one tenant (a token made for it through the API: that tenant only).
//
// A tenant token is `wat_` + 32 random bytes (base64url). Only its SHA-256 is stored: the secret is
// shown once, when it is made. SHA-256 and not bcrypt/scrypt: those slow hashes protect secrets a
// person chose, which a guesser can enumerate; 256 random bits cannot be guessed whatever the hash,
// and a fast hash lets every request find its token by the hash itself (one map lookup, no
// per-request key stretching on the API's hot path, no token id to send beside the secret).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TokenRecord } from './store.js';

export type Principal = { kind: 'operator' } | { kind: 'tenant'; tenant: string; tokenId: string };

export const TOKEN_PREFIX = 'wat_';

export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new token: the secret (to show once) and its record (to store). */
export function mintToken(tenant: string, name: string, now: number, expiresAt: number | null): { secret: string; record: TokenRecord } {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, record: { id: randomUUID(), tenant, name, sha256: tokenHash(secret), createdAt: now, expiresAt } };
}

/** The tokens every instance knows, by their hash: replaced whole when the stored set changes. */
export class TokenBook {
  private byHash = new Map<string, TokenRecord>();

  replace(tokens: Iterable<TokenRecord>): void {
    this.byHash = new Map([...tokens].map((t) => [t.sha256, t]));
  }

  /**
   * The tenant a bearer secret stands for; undefined for an unknown, revoked or expired one. The
   * lookup is by the hash of the presented secret: no secret is ever compared byte by byte.
   */
  principal(secret: string, now: number): Principal | undefined {
    if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
    const t = this.byHash.get(tokenHash(secret));
    if (!t || (t.expiresAt !== null && t.expiresAt <= now)) return undefined;
    return { kind: 'tenant', tenant: t.tenant, tokenId: t.id };
  }
}
