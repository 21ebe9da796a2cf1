// Keeps the active-call leases of this instance's calls alive. If the process dies, nobody renews
// them and Redis stops counting those calls within one lease period. Leases are renewed in groups,
// one script per group: a number's (CallState), or a tenant's (src/tenants/gate.ts).
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

/** Renews the leases of one group's calls (a number's, a tenant's) in one round trip. */
export interface LeaseRenewer {
  renewLeases(group: string, callIds: string[]): Promise<unknown>;
}

export class LeaseKeeper {
  private readonly byNumber = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly calls: LeaseRenewer,
    private readonly leaseSeconds: () => number,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    // Three renewals per lease period: one lost renewal does not expire a live call.
    this.timer = setInterval(() => void this.renewAll(), (this.leaseSeconds() * 1000) / 3);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  add(business: string, callId: string): void {
    let set = this.byNumber.get(business);
    if (!set) this.byNumber.set(business, (set = new Set()));
    set.add(callId);
  }

  remove(business: string, callId: string): void {
    const set = this.byNumber.get(business);
    set?.delete(callId);
    if (set?.size === 0) this.byNumber.delete(business);
  }

  get size(): number {
    let n = 0;
    for (const s of this.byNumber.values()) n += s.size;
    return n;
  }

  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.byNumber].map(async ([business, ids]) => {
        try {
          await this.calls.renewLeases(business, [...ids]);
        } catch (err) {
          this.metrics.redisErrorsTotal.inc();
          this.logger.warn({ err, number: business }, 'lease renewal failed');
        }
      }),
    );
  }
}
