// Runs one call's state operations in order, retrying while Redis is unreachable. Every operation
// is idempotent (settle applies once, admitInbound is keyed by call id), so a retry never counts twice.
import type { LineLogger } from '../log.js';

export class DurableQueue {
  private tail: Promise<void> = Promise.resolve();
  private pendingCount = 0;

  constructor(
    private readonly logger: LineLogger,
    private readonly onError: () => void,
    private readonly retryMs = 1000,
    private readonly giveUpMs = 15 * 60_000,
  ) {}

  get pending(): number {
    return this.pendingCount;
  }

  /** Queues `op` after the previous ones; resolves with its result or undefined when it gave up. */
  run<T>(what: string, op: () => Promise<T>): Promise<T | undefined> {
    this.pendingCount++;
    const result = this.tail.then(async () => {
      const deadline = Date.now() + this.giveUpMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await op();
        } catch (err) {
          this.onError();
          if (Date.now() > deadline) {
            this.logger.error({ err: (err as Error).message, op: what, attempt }, 'state operation abandoned');
            return undefined;
          }
          if (attempt === 1) this.logger.warn({ err: (err as Error).message, op: what }, 'state operation failed; retrying until Redis answers');
          await new Promise((r) => setTimeout(r, Math.min(this.retryMs * attempt, 10_000)));
        }
      }
    });
    this.tail = result.then(
      () => void this.pendingCount--,
      () => void this.pendingCount--,
    );
    return result;
  }

  /** Resolves when every queued operation has finished (or given up). */
  drained(): Promise<void> {
    return this.tail;
  }
}
