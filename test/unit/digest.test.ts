import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestAuthority, parseAuthorization } from '../../src/sip/digest.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** What a SIP client computes for qop=auth. */
function clientAuth(nonce: string, nc: string, password = 'secret', uri = 'sip:+447911123456@edge') {
  const ha1 = md5(`acme:edge:${password}`);
  const response = md5([ha1, nonce, nc, 'abc', 'auth', md5(`INVITE:${uri}`)].join(':'));
  return `Digest username="acme", realm="edge", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="abc"`;
}

function nonceOf(challenge: string) {
  return /nonce="([^"]+)"/.exec(challenge)![1]!;
}

describe('digest authentication (SPEC §1 trunks and devices)', () => {
  it('accepts the right password once per nonce-count, refuses a replay', () => {
    let now = 1_000_000;
    const d = new DigestAuthority('edge', 300_000, () => now);
    const nonce = nonceOf(d.challenge());
    const creds = parseAuthorization(clientAuth(nonce, '00000001'))!;
    expect(d.verify('INVITE', creds, 'secret')).toBe('ok');
    expect(d.verify('INVITE', creds, 'secret')).toBe('stale'); // the same request again
    expect(d.verify('INVITE', parseAuthorization(clientAuth(nonce, '00000002'))!, 'secret')).toBe('ok');
    now += 300_000;
    expect(d.verify('INVITE', parseAuthorization(clientAuth(nonce, '00000003'))!, 'secret')).toBe('stale'); // expired
  });

  it('two clients challenged in the same millisecond get different nonces, each good for its own nc=1', () => {
    const d = new DigestAuthority('edge', 300_000, () => 1_000_000);
    const [a, b] = [nonceOf(d.challenge()), nonceOf(d.challenge())];
    expect(a).not.toBe(b);
    expect(d.verify('INVITE', parseAuthorization(clientAuth(a, '00000001'))!, 'secret')).toBe('ok');
    expect(d.verify('INVITE', parseAuthorization(clientAuth(b, '00000001'))!, 'secret')).toBe('ok');
  });

  it('refuses a wrong password, a foreign realm and a nonce it did not issue', () => {
    const d = new DigestAuthority('edge');
    const nonce = nonceOf(d.challenge());
    expect(d.verify('INVITE', parseAuthorization(clientAuth(nonce, '00000001', 'wrong'))!, 'secret')).toBe('bad');
    expect(d.verify('INVITE', parseAuthorization(clientAuth('forged.nonce.sig', '00000001'))!, 'secret')).toBe('stale');
    const other = parseAuthorization(clientAuth(nonce, '00000001').replace('realm="edge"', 'realm="x"'))!;
    expect(d.verify('INVITE', other, 'secret')).toBe('bad');
  });

  it('parses nothing that is not a complete Digest header', () => {
    expect(parseAuthorization('Basic abc')).toBeUndefined();
    expect(parseAuthorization('Digest username="a"')).toBeUndefined();
    expect(parseAuthorization(undefined)).toBeUndefined();
  });
});
