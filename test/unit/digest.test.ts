// Digest authentication (SPEC §1 trunks and devices, §2 sip.digestSecret): a nonce one instance
// issued verifies on every instance with the same secret, a used nonce-count is refused on every
// instance (shared through a real redis-server), stale=true only for an expired nonce.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DigestAuthority, parseAuthorization, type DigestOptions } from '../../src/sip/digest.js';
import { nonceUseKey, redisNonceUses } from '../../src/state/nonces.js';
import { DIGEST_KEY, redisDigestKey } from '../../src/state/digestKey.js';
import { useRedisServer } from '../helpers/redis.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const SECRET = 'a-shared-secret-of-32-characters';

/** What a SIP client computes for qop=auth. */
function clientAuth(nonce: string, nc: string, password = 'secret', uri = 'sip:+447911123456@edge') {
  const ha1 = md5(`acme:edge:${password}`);
  const response = md5([ha1, nonce, nc, 'abc', 'auth', md5(`INVITE:${uri}`)].join(':'));
  return parseAuthorization(`Digest username="acme", realm="edge", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="abc"`)!;
}

async function nonceOf(challenge: Promise<string>) {
  return /nonce="([^"]+)"/.exec(await challenge)![1]!;
}

const authority = (o: Partial<DigestOptions> = {}) => new DigestAuthority({ realm: () => 'edge', secret: () => SECRET, ...o });

describe('digest authentication, one instance', () => {
  it('accepts the right password once per nonce-count, refuses a replay, says stale only once the nonce expired', async () => {
    let now = 1_000_000;
    const d = authority({ clock: () => now, secret: () => undefined });
    const nonce = await nonceOf(d.challenge());
    expect(await d.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('ok');
    expect(await d.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('replay'); // the same request again
    expect(await d.verify('INVITE', clientAuth(nonce, '00000002'), 'secret')).toBe('ok');
    now += 300_000;
    expect(await d.verify('INVITE', clientAuth(nonce, '00000003'), 'secret')).toBe('stale'); // expired
    expect(await d.challenge(true)).toMatch(/, stale=true$/);
    expect(await d.challenge()).not.toMatch(/stale/);
  });

  it('two clients challenged in the same millisecond get different nonces, each good for its own nc=1', async () => {
    const d = authority({ clock: () => 1_000_000 });
    const [a, b] = await Promise.all([nonceOf(d.challenge()), nonceOf(d.challenge())]);
    expect(a).not.toBe(b);
    expect(await d.verify('INVITE', clientAuth(a, '00000001'), 'secret')).toBe('ok');
    expect(await d.verify('INVITE', clientAuth(b, '00000001'), 'secret')).toBe('ok');
  });

  it('refuses a wrong password and a foreign realm; a nonce it cannot verify is unknown, not stale', async () => {
    const d = authority();
    const nonce = await nonceOf(d.challenge());
    expect(await d.verify('INVITE', clientAuth(nonce, '00000001', 'wrong'), 'secret')).toBe('bad');
    expect(await d.verify('INVITE', clientAuth('forged.nonce.sig', '00000001'), 'secret')).toBe('unknown');
    const other = parseAuthorization(
      `Digest username="acme", realm="x", nonce="${nonce}", uri="sip:a@b", response="${'0'.repeat(32)}", qop=auth, nc=00000001, cnonce="abc"`,
    )!;
    expect(await d.verify('INVITE', other, 'secret')).toBe('bad');
  });

  it('with neither sip.digestSecret nor a shared key each process signs with its own key: another instance cannot verify its nonces', async () => {
    const a = authority({ secret: () => undefined });
    const b = authority({ secret: () => undefined });
    expect(await b.verify('INVITE', clientAuth(await nonceOf(a.challenge()), '00000001'), 'secret')).toBe('unknown');
    expect(a.keySource).toBe('process');
  });

  it('parses nothing that is not a complete Digest header', () => {
    expect(parseAuthorization('Basic abc')).toBeUndefined();
    expect(parseAuthorization('Digest username="a"')).toBeUndefined();
    expect(parseAuthorization(undefined)).toBeUndefined();
  });
});

describe('digest authentication, several instances sharing sip.digestSecret and Redis', () => {
  const server = useRedisServer();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(server.url);
  });
  afterAll(() => redis.disconnect());
  beforeEach(() => redis.flushall());

  it('a nonce issued by one instance verifies on the other; its nonce-count, once used, is refused on both', async () => {
    const a = authority({ uses: redisNonceUses(redis) });
    const b = authority({ uses: redisNonceUses(redis) });
    const nonce = await nonceOf(a.challenge());
    expect(await b.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('ok');
    expect(await a.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('replay');
    expect(await b.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('replay');
    expect(await a.verify('INVITE', clientAuth(nonce, '00000002'), 'secret')).toBe('ok');
  });

  it('tolerates an issuing instance whose clock is up to 5 s ahead (NTP), not more', async () => {
    const ahead = authority({ uses: redisNonceUses(redis), clock: () => 1_000_000 + 4_000 });
    const further = authority({ uses: redisNonceUses(redis), clock: () => 1_000_000 + 6_000 });
    const here = authority({ uses: redisNonceUses(redis), clock: () => 1_000_000 });
    expect(await here.verify('INVITE', clientAuth(await nonceOf(ahead.challenge()), '00000001'), 'secret')).toBe('ok');
    expect(await here.verify('INVITE', clientAuth(await nonceOf(further.challenge()), '00000001'), 'secret')).toBe('stale');
  });

  it('a different secret, or a different realm, does not verify', async () => {
    const a = authority({ uses: redisNonceUses(redis) });
    const other = authority({ uses: redisNonceUses(redis), secret: () => 'another-secret-of-enough-length' });
    expect(await other.verify('INVITE', clientAuth(await nonceOf(a.challenge()), '00000001'), 'secret')).toBe('unknown');
    const otherRealm = authority({ uses: redisNonceUses(redis), realm: () => 'another-realm' });
    expect(await a.verify('INVITE', clientAuth(await nonceOf(otherRealm.challenge()), '00000001'), 'secret')).toBe('unknown');
  });

  it('the used nonce-count expires in Redis with the nonce', async () => {
    const now = 1_000_000;
    const a = authority({ uses: redisNonceUses(redis), clock: () => now, nonceTtlMs: 60_000 });
    const nonce = await nonceOf(a.challenge());
    expect(await a.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('ok');
    const ttl = await redis.pttl(nonceUseKey(nonce, '00000001'));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('without sip.digestSecret the instances share one key, created once in Redis: each verifies the others\' nonces', async () => {
    const [a, b, c] = [0, 1, 2].map(() => authority({ secret: () => undefined, sharedKey: redisDigestKey(redis) }));
    // Started at the same moment: one SET NX wins, every instance reads the winner.
    expect(new Set(await Promise.all([a!, b!, c!].map((x) => x.prepare())))).toEqual(new Set(['shared']));
    expect(await redis.keys('*')).toEqual([DIGEST_KEY]);
    const key = await redis.get(DIGEST_KEY);
    expect(await b!.verify('INVITE', clientAuth(await nonceOf(a!.challenge()), '00000001'), 'secret')).toBe('ok');
    expect(await a!.verify('INVITE', clientAuth(await nonceOf(c!.challenge()), '00000001'), 'secret')).toBe('ok');
    expect(await redis.get(DIGEST_KEY)).toBe(key); // never replaced
    // A configured secret wins over the shared key: its nonces do not verify with the shared key.
    const configured = authority({ sharedKey: redisDigestKey(redis) });
    expect(await configured.prepare()).toBe('configured');
    expect(await a!.verify('INVITE', clientAuth(await nonceOf(configured.challenge()), '00000002'), 'secret')).toBe('unknown');
  });

  it('the shared key unreadable (Redis away): signed with the process key, said, and read once Redis answers', async () => {
    const unavailable: unknown[] = [];
    let redisAway = true;
    const shared = redisDigestKey(redis);
    const a = authority({ secret: () => undefined, sharedKey: () => (redisAway ? Promise.reject(new Error('Connection is closed.')) : shared()), onSharedKeyUnavailable: (e) => unavailable.push(e) });
    const b = authority({ secret: () => undefined, sharedKey: redisDigestKey(redis) });
    const signedAlone = await nonceOf(a.challenge());
    expect([a.keySource, unavailable.length]).toEqual(['process', 1]);
    expect(await b.verify('INVITE', clientAuth(signedAlone, '00000001'), 'secret')).toBe('unknown'); // b challenges afresh
    redisAway = false;
    expect(await a.prepare()).toBe('shared');
    expect(await b.verify('INVITE', clientAuth(await nonceOf(a.challenge()), '00000001'), 'secret')).toBe('ok');
  });

  it('Redis unreachable: accepted (counted as unchecked), and a replay to the same instance is still refused', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    const unchecked: unknown[] = [];
    const a = authority({ uses: redisNonceUses(dead), onUnchecked: (err) => unchecked.push(err) });
    const nonce = await nonceOf(a.challenge());
    expect(await a.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('ok');
    expect(unchecked).toHaveLength(1);
    expect(await a.verify('INVITE', clientAuth(nonce, '00000001'), 'secret')).toBe('replay');
    dead.disconnect();
  });
});
