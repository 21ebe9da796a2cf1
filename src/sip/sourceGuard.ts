// Cuts off scanners: a source that sends too many requests, or fails authentication too often,
// is refused for a while. Trunks and Telnyx are never banned (they are checked before this).
// Instance-local on purpose: a flood hits one instance's socket, and the decision must cost no I/O.
import type { Clock } from '../domain/clock.js';

export interface GuardLimits {
  requestsPer10s: number;
  authFailuresPer10m: number;
  banSeconds: number;
}

interface Counter {
  windowStart: number;
  count: number;
}

const SCANNER_AGENTS = /friendly-scanner|sipvicious|sipcli|sip-scan|sipsak|pplsip|iWar|VaxSIPUserAgent|sundayddr/i;

export class SourceGuard {
  private readonly requests = new Map<string, Counter>();
  private readonly failures = new Map<string, Counter>();
  private readonly bans = new Map<string, number>();

  constructor(
    private readonly limits: () => GuardLimits,
    private readonly clock: Clock,
    private readonly onBan: (source: string, cause: 'flood' | 'auth_failures' | 'scanner') => void,
  ) {}

  /** Seconds left of a ban, or 0 when the source may go on. Counts this request. */
  admit(source: string, userAgent: string | undefined): number {
    const now = this.clock();
    const until = this.bans.get(source);
    if (until !== undefined) {
      if (until > now) return Math.ceil((until - now) / 1000);
      this.bans.delete(source);
    }
    if (userAgent && SCANNER_AGENTS.test(userAgent)) return this.ban(source, 'scanner', now);
    if (this.bump(this.requests, source, now, 10_000) > this.limits().requestsPer10s) return this.ban(source, 'flood', now);
    return 0;
  }

  authFailed(source: string): void {
    const now = this.clock();
    if (this.bump(this.failures, source, now, 600_000) >= this.limits().authFailuresPer10m) this.ban(source, 'auth_failures', now);
  }

  private bump(map: Map<string, Counter>, source: string, now: number, windowMs: number): number {
    let c = map.get(source);
    if (!c || now - c.windowStart >= windowMs) {
      c = { windowStart: now, count: 0 };
      map.set(source, c);
      if (map.size > 50_000) this.sweep(map, now, windowMs);
    }
    return ++c.count;
  }

  private ban(source: string, cause: 'flood' | 'auth_failures' | 'scanner', now: number): number {
    const seconds = this.limits().banSeconds;
    this.bans.set(source, now + seconds * 1000);
    this.requests.delete(source);
    this.failures.delete(source);
    this.onBan(source, cause);
    return seconds;
  }

  /** A flood from many addresses must not grow the maps without bound. */
  private sweep(map: Map<string, Counter>, now: number, windowMs: number) {
    for (const [k, c] of map) if (now - c.windowStart >= windowMs) map.delete(k);
    for (const [k, until] of this.bans) if (until <= now) this.bans.delete(k);
  }
}
