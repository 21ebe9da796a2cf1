// SIP digest authentication (RFC 2617/8760 MD5, qop=auth) with nonces that any instance of the
// deployment verifies, that expire, and that cannot be replayed on any instance.
//
// Written here because drachtio-mw-digest-auth accepts any nonce a client presents (no expiry, no
// replay check), which SPEC §1 and the softphone issue rule out; no maintained npm library offers a
// stateless, shared-key nonce with a pluggable replay store.
//
// * The nonce is stateless: `<issued ms, base 36>.<salt>.<HMAC(key, realm.issued.salt)>`. Every
//   instance with the same key verifies a nonce any of them issued, so a challenge answered to
//   another edge (drachtio-server hands requests to its applications in turn, a PBX retries on
//   another host) still verifies. The key is `sip.digestSecret` when set, else one random key the
//   deployment keeps in Redis (src/state/digestKey.ts), created by the first instance.
// * Replays: the first use of each (nonce, nc) is recorded in Redis with SET NX and an expiry equal
//   to the nonce's remaining life (src/state/nonces.ts), so a captured request sent again to any
//   instance is refused. See `NonceUses` for what happens when Redis does not answer.
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

/**
 * * `ok`: right password, a fresh nonce of this deployment, first use of this nonce-count.
 * * `stale`: right password, a nonce of this deployment that has expired: challenge again with `stale=true`.
 * * `unknown`: right password but a nonce not signed with this instance's key (another instance with
 *   a different `sip.digestSecret`, or one that signed with its own key while Redis was away, or a
 *   rotated key): challenge again, without `stale`.
 * * `replay`: this nonce-count of this nonce was used before (on any instance): challenge again.
 * * `bad`: wrong password, realm, algorithm or qop.
 */
export type DigestVerdict = 'ok' | 'stale' | 'unknown' | 'replay' | 'bad';

/**
 * Records the first use of (nonce, nc), shared by every instance. Resolves true for the first use,
 * false for a replay; rejects when the store (Redis) does not answer.
 *
 * When it rejects, the authority falls back to this process's memory (a replay to the same
 * instance is still refused) and accepts, telling `onUnchecked` (logged and counted as
 * `wa_edge_digest_nonces_total{result="unchecked"}`). Why not fail closed: everything a digest
 * check lets through needs Redis itself (a REGISTER stores its binding there, an INVITE's admission
 * runs there), so refusing here would add nothing during an outage but would turn a Redis blip into
 * authentication failures that softphones show as "wrong password". The window in which a replay to
 * another instance can pass is the outage, bounded by the nonce's life, and never silent.
 */
export type NonceUses = (nonce: string, nc: string, ttlMs: number) => Promise<boolean>;

export interface DigestOptions {
  /** The realm of challenges; read on every challenge, so a reload applies. */
  realm: () => string;
  /** `sip.digestSecret`; undefined: the deployment's key in Redis (`sharedKey`). Read on every nonce, so a reload applies. */
  secret: () => string | undefined;
  /**
   * The key every instance reads from Redis (src/state/digestKey.ts); rejects while Redis does not
   * answer. Undefined, or while it rejects: a random key of this process (one instance only).
   */
  sharedKey?: () => Promise<string>;
  /** Told when a nonce was signed with this process's key because the shared key could not be read. */
  onSharedKeyUnavailable?: (err: unknown) => void;
  /** The shared record of used nonce-counts (Redis); undefined: this process's memory only. */
  uses?: NonceUses;
  /** Told when a nonce-count was accepted without the shared replay check (store unreachable). */
  onUnchecked?: (err: unknown) => void;
  nonceTtlMs?: number;
  clock?: () => number;
}

export class DigestAuthority {
  private readonly processKey = randomBytes(32);
  /** Nonce-counts this process has accepted (nonce\nnc → expiry): the fallback when the shared store is away. */
  private readonly seen = new Map<string, number>();
  private nextSweepAt = 0;
  private readonly nonceTtlMs: number;
  private readonly clock: () => number;

  constructor(private readonly opts: DigestOptions) {
    this.nonceTtlMs = opts.nonceTtlMs ?? 300_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Which key signed the last nonce: `sip.digestSecret`, the deployment's key in Redis, or this process's own. */
  keySource: 'configured' | 'shared' | 'process' = 'process';

  private async key(): Promise<string | Buffer> {
    const configured = this.opts.secret();
    if (configured) return this.signedWith('configured', configured);
    if (!this.opts.sharedKey) return this.signedWith('process', this.processKey);
    try {
      return this.signedWith('shared', await this.opts.sharedKey());
    } catch (err) {
      // Redis away: everything a challenge leads to needs Redis too; a nonce signed now fails only
      // on another instance, which then challenges afresh (`unknown`).
      this.opts.onSharedKeyUnavailable?.(err);
      return this.signedWith('process', this.processKey);
    }
  }

  /** Reads the key now (at start, once Redis is ready), so that the first challenge does not wait for it; says which key signs. */
  async prepare(): Promise<DigestAuthority['keySource']> {
    await this.key();
    return this.keySource;
  }

  private signedWith<K extends string | Buffer>(source: DigestAuthority['keySource'], key: K): K {
    this.keySource = source;
    return key;
  }

  private async sign(ts: string, salt: string, realm: string): Promise<string> {
    return createHmac('sha256', await this.key()).update(`${realm}.${ts}.${salt}`).digest('base64url').slice(0, 22);
  }

  /**
   * `<issued ms, base 36>.<random salt>.<HMAC>`. The salt matters: two clients challenged in the same
   * millisecond (two phones registering at once) must not share a nonce, or the second one's nc=1
   * would look like a replay of the first's.
   */
  async nonce(realm = this.opts.realm()): Promise<string> {
    const ts = this.clock().toString(36);
    const salt = randomBytes(6).toString('base64url');
    return `${ts}.${salt}.${await this.sign(ts, salt, realm)}`;
  }

  /**
   * The header value of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge. `realm`: a
   * tenant's SIP domain (src/tenants/fleet.ts); the configured realm otherwise.
   */
  async challenge(stale = false, realm = this.opts.realm()): Promise<string> {
    return `Digest realm="${realm}", nonce="${await this.nonce(realm)}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  async verify(method: string, creds: DigestCredentials, password: string, realm = this.opts.realm()): Promise<DigestVerdict> {
    if (creds.realm !== realm) return 'bad';
    if (creds.algorithm && creds.algorithm.toUpperCase() !== 'MD5') return 'bad';
    if (creds.qop !== 'auth' || !creds.nc || !/^[0-9a-f]{8}$/i.test(creds.nc) || !creds.cnonce) return 'bad';
    const expected = md5(
      [md5(`${creds.username}:${creds.realm}:${password}`), creds.nonce, creds.nc, creds.cnonce, creds.qop, md5(`${method}:${creds.uri}`)].join(':'),
    );
    const a = Buffer.from(expected);
    const b = Buffer.from(creds.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'bad';
    // Right password: now is the nonce ours, fresh and not replayed?
    const [ts, salt, sig, ...rest] = creds.nonce.split('.');
    if (!ts || !salt || !sig || rest.length > 0) return 'unknown';
    const mac = Buffer.from(await this.sign(ts, salt, realm));
    const given = Buffer.from(sig);
    if (mac.length !== given.length || !timingSafeEqual(mac, given)) return 'unknown';
    const issued = parseInt(ts, 36);
    const now = this.clock();
    // A little tolerance for a nonce issued by an instance whose clock is slightly ahead (NTP).
    if (!(issued <= now + 5_000 && now - issued < this.nonceTtlMs)) return 'stale';
    const ttlMs = Math.max(1, issued + this.nonceTtlMs - now);
    const local = `${creds.nonce}\n${creds.nc.toLowerCase()}`;
    if (this.seen.has(local)) return 'replay';
    this.remember(local, now + ttlMs, now);
    if (!this.opts.uses) return 'ok';
    try {
      return (await this.opts.uses(creds.nonce, creds.nc.toLowerCase(), ttlMs)) ? 'ok' : 'replay';
    } catch (err) {
      this.opts.onUnchecked?.(err);
      return 'ok';
    }
  }

  private remember(key: string, expiresAt: number, now: number) {
    this.seen.set(key, expiresAt);
    // Swept at most every 30 s: a busy trunk adds an entry per call, each kept for the nonce's life.
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + 30_000;
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
  }
}
