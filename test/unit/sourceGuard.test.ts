import { describe, expect, it } from 'vitest';
import { SourceGuard } from '../../src/sip/sourceGuard.js';

const limits = { requestsPer10s: 5, authFailuresPer10m: 3, banSeconds: 600 };

function guard() {
  const clock = { now: 0 };
  const bans: string[] = [];
  const g = new SourceGuard(() => limits, () => clock.now, (source, cause) => bans.push(`${source}:${cause}`));
  return { g, clock, bans };
}

describe('scanner guard (hostile input)', () => {
  it('bans a flooding source for banSeconds, others keep going', () => {
    const { g, clock, bans } = guard();
    for (let i = 0; i < 5; i++) expect(g.admit('198.51.100.7', 'Zoiper')).toBe(0);
    expect(g.admit('198.51.100.7', 'Zoiper')).toBe(600);
    expect(g.admit('198.51.100.8', 'Zoiper')).toBe(0);
    clock.now = 599_000;
    expect(g.admit('198.51.100.7', 'Zoiper')).toBe(1);
    clock.now = 600_000;
    expect(g.admit('198.51.100.7', 'Zoiper')).toBe(0);
    expect(bans).toEqual(['198.51.100.7:flood']);
  });

  it('the request window restarts every 10 s', () => {
    const { g, clock } = guard();
    for (let t = 0; t < 30; t++) {
      clock.now = t * 2_100; // 5 per 10.5 s never trips a 5-per-10 s limit
      expect(g.admit('192.0.2.1', undefined)).toBe(0);
    }
  });

  it('bans known scanner user agents at once', () => {
    const { g, bans } = guard();
    expect(g.admit('192.0.2.9', 'friendly-scanner')).toBe(600);
    expect(g.admit('192.0.2.10', 'sipvicious 0.3')).toBe(600);
    expect(bans).toEqual(['192.0.2.9:scanner', '192.0.2.10:scanner']);
  });

  it('bans after repeated authentication failures', () => {
    const { g, bans } = guard();
    g.authFailed('192.0.2.3');
    g.authFailed('192.0.2.3');
    expect(g.admit('192.0.2.3', undefined)).toBe(0);
    g.authFailed('192.0.2.3');
    expect(g.admit('192.0.2.3', undefined)).toBe(600);
    expect(bans).toEqual(['192.0.2.3:auth_failures']);
  });
});
