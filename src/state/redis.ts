// One ioredis client (single node, Sentinel or Cluster) from SPEC §2's `redis` section.
import { Redis, Cluster, type Callback, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import { backoffDelay } from '../domain/backoff.js';

export type RedisClient = Redis | Cluster;

/**
 * Commands fail fast instead of queueing while Redis is away: the edge decides what waits
 * (an outbound admission, up to redis.failoverWaitMs: src/sip/admission.ts) and what retries
 * (a call's settle: src/sip/durable.ts), each with the admission id that makes a retry safe.
 * An offline queue would instead resend commands whose first copy Redis may have applied.
 * Reconnects follow the one back-off rule, capped at 500 ms so a failover is noticed quickly.
 */
export const COMMAND_TIMEOUT_MS = 1000;

const failFast: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 2000,
  commandTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: (times) => backoffDelay(times, 50, 500),
  // No auto-pipelining: it holds every command back to setImmediate, behind all the SIP messages
  // of that turn: at 200 CPS it doubled the p99 of an admission (11.4 ms against 6.0 ms, bench/sip/latency).
};

/**
 * A Sentinel client that does not stay ended after a failover. In ioredis 5.11 the failover
 * detector answers the sentinels' +switch-master by disconnecting the connector; when that lands
 * while a reconnect is still asking a sentinel for the master (the old master just died, so the
 * client is reconnecting), the connector rejects that attempt and Redis#connect sets the status to
 * 'end' for good: no retryStrategy, every later command fails "Connection is closed" until the
 * process restarts. The failover tests saw it under load (an edge refusing every call after a
 * failover its sentinels completed). Here an 'end' the edge did not ask for connects again;
 * disconnect() and quit() still end the client. Copies (duplicate(): the kept writes' connection)
 * are guarded alike.
 */
class SentinelRedis extends Redis {
  private closedByEdge = false;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisOptions) {
    super(options);
    this.on('end', () => {
      if (this.closedByEdge || this.reopenTimer) return;
      const delay = typeof options.retryStrategy === 'function' ? (options.retryStrategy(1) ?? 0) : 0;
      this.reopenTimer = setTimeout(() => {
        this.reopenTimer = undefined;
        if (!this.closedByEdge && this.status === 'end') this.connect().catch(() => {}); // a failed try ends again, and comes back here
      }, Number(delay));
    });
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) {
      this.closedByEdge = true;
      clearTimeout(this.reopenTimer);
      this.reopenTimer = undefined;
    }
    super.disconnect(reconnect);
  }

  override quit(callback?: Callback<'OK'>): Promise<'OK'> {
    this.closedByEdge = true;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    return super.quit(callback);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new SentinelRedis({ ...this.options, ...override });
  }
}

export function createRedis(cfg: Config['redis'], extra: RedisOptions = {}): RedisClient {
  const auth = { password: cfg.password, username: cfg.username, ...(cfg.tls ? { tls: {} } : {}) };
  if (cfg.cluster) {
    return new Cluster(cfg.cluster, { redisOptions: { ...failFast, ...auth, ...extra }, enableOfflineQueue: false });
  }
  if (cfg.sentinels) {
    // failoverDetector: the sentinels' +switch-master moves the client at once, even when the old
    // master is still up (demoted), instead of at its next reconnect.
    return new SentinelRedis({ ...failFast, ...auth, ...extra, sentinels: cfg.sentinels, name: cfg.name, failoverDetector: true });
  }
  return new Redis(cfg.url as string, { ...failFast, ...auth, ...extra });
}

/** Resolves once the client can take commands (the offline queue is off, so callers wait here first). */
export function redisReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
