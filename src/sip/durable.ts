// Runs one call's state operations in order, retrying while Redis is unreachable. Every operation
// is idempotent (settle applies once, admitInbound is keyed by call id), so a retry never counts twice.
// Only a connection error is retried: any other error is Redis's answer (a script error, a wrong
// type) and a retry would repeat it, so it is logged, counted, and the operation is given up at once.
import type { LineLogger } from '../log.js';
import { backoffDelay } from '../domain/backoff.js';
import { isConnectionError } from '../state/redisErrors.js';

export interface DurableOptions {
  /** First and longest pause between two tries, ms (the one back-off rule, src/domain/backoff.ts). */
  retryMinMs: number;
  retryMaxMs: number;
  giveUpMs: number;
}

const DEFAULTS: DurableOptions = { retryMinMs: 250, retryMaxMs: 10_000, giveUpMs: 15 * 60_000 };

/**
 * Runs one idempotent state operation now, retrying it while Redis is unreachable (the rule above),
 * outside any queue: for an operation no other one of its call has to precede (the call record).
 */
export async function durably<T>(logger: LineLogger, onError: () => void, what: string, op: () => Promise<T>, o: DurableOptions = DEFAULTS): Promise<T | undefined> {
  const deadline = Date.now() + o.giveUpMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      onError();
      if (!isConnectionError(err)) {
        logger.error({ err, op: what, attempt }, 'state operation failed: Redis refused it, not retried');
        return undefined;
      }
      if (Date.now() > deadline) {
        logger.error({ err, op: what, attempt }, 'state operation abandoned');
        return undefined;
      }
      if (attempt === 1) logger.warn({ err, op: what }, 'state operation failed; retrying until Redis answers');
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, o.retryMinMs, o.retryMaxMs)));
    }
  }
}

export class DurableQueue {
  private tail: Promise<void> = Promise.resolve();
  private pendingCount = 0;
  private readonly opts: DurableOptions;

  constructor(
    private readonly logger: LineLogger,
    /** Told of every failed try (redis_errors_total). */
    private readonly onError: () => void,
    opts: Partial<DurableOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** Queues `op` after the previous ones; resolves with its result, or undefined when it gave up. */
  run<T>(what: string, op: () => Promise<T>): Promise<T | undefined> {
    this.pendingCount++;
    const result = this.tail.then(() => durably(this.logger, this.onError, what, op, this.opts));
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
