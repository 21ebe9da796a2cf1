// SIP digest authentication (RFC 2617/8760 MD5, qop=auth) with nonces that expire and cannot be
// replayed. Written here because drachtio-mw-digest-auth accepts any nonce a client presents
// (no expiry, no replay check), which SPEC §1 and the softphone issue rule out.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
}

/** Parses `Digest username="a", realm="b", ...`; undefined when a mandatory part is missing. */
export function parseAuthorization(header: string | undefined): DigestCredentials | undefined {
  if (!header || !/^\s*digest\s/i.test(header)) return undefined;
  const parts: Record<string, string> = {};
  const re = /([a-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  for (let m = re.exec(header); m; m = re.exec(header)) parts[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
  const { username, realm, nonce, uri, response } = parts;
  if (!username || realm === undefined || !nonce || !uri || !response) return undefined;
  return { username, realm, nonce, uri, response, qop: parts.qop, nc: parts.nc, cnonce: parts.cnonce, algorithm: parts.algorithm };
}

export type DigestVerdict = 'ok' | 'stale' | 'bad';

export class DigestAuthority {
  private readonly secret = randomBytes(32);
  /** Highest nonce-count seen per nonce, so a captured request cannot be sent again. */
  private readonly seen = new Map<string, number>();

  constructor(
    readonly realm: string,
    private readonly nonceTtlMs = 300_000,
    private readonly clock: () => number = Date.now,
  ) {}

  private sign(ts: string, salt: string): string {
    return createHmac('sha256', this.secret).update(`${ts}.${salt}`).digest('base64url').slice(0, 22);
  }

  /**
   * `<issued ms, base 36>.<random salt>.<HMAC>`. The salt matters: two clients challenged in the same
   * millisecond (two phones registering at once) must not share a nonce, or the second one's nc=1
   * would look like a replay of the first's.
   */
  nonce(): string {
    const ts = this.clock().toString(36);
    const salt = randomBytes(6).toString('base64url');
    return `${ts}.${salt}.${this.sign(ts, salt)}`;
  }

  /** The header value of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge. */
  challenge(stale = false): string {
    return `Digest realm="${this.realm}", nonce="${this.nonce()}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  verify(method: string, creds: DigestCredentials, password: string): DigestVerdict {
    if (creds.realm !== this.realm) return 'bad';
    if (creds.algorithm && creds.algorithm.toUpperCase() !== 'MD5') return 'bad';
    if (creds.qop !== 'auth' || !creds.nc || !creds.cnonce) return 'bad';
    const expected = md5(
      [md5(`${creds.username}:${creds.realm}:${password}`), creds.nonce, creds.nc, creds.cnonce, creds.qop, md5(`${method}:${creds.uri}`)].join(':'),
    );
    const a = Buffer.from(expected);
    const b = Buffer.from(creds.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'bad';
    // Right password: now is the nonce ours, fresh and not replayed?
    const [ts, salt, sig, ...rest] = creds.nonce.split('.');
    if (!ts || !salt || !sig || rest.length > 0 || this.sign(ts, salt) !== sig) return 'stale';
    const issued = parseInt(ts, 36);
    const now = this.clock();
    if (!(issued <= now && now - issued < this.nonceTtlMs)) return 'stale';
    const nc = parseInt(creds.nc, 16);
    if (!(nc > (this.seen.get(creds.nonce) ?? 0))) return 'stale';
    this.seen.set(creds.nonce, nc);
    this.forgetOld(now);
    return 'ok';
  }

  private forgetOld(now: number) {
    if (this.seen.size < 10_000) return;
    for (const nonce of this.seen.keys()) {
      const issued = parseInt(nonce.split('.')[0] ?? '0', 36);
      if (now - issued >= this.nonceTtlMs) this.seen.delete(nonce);
    }
  }
}
