// The one state store of calls, permissions and softphones: the shared Redis connection, the Lua
// scripts run by name (and, for writes a master crash must not lose, followed by WAIT on a
// connection of their own), and the permission events every change appends.
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import { appendPermissionEvent, type PermissionEvent, type PermissionEventKind } from './records.js';
import { COMMAND_TIMEOUT_MS, redisReady, type RedisClient } from './redis.js';
import { defineScripts, type ReplicaWait, type RunScript, type ScriptCall, type ScriptName } from './scripts.js';

/** How long kept writes skip WAIT after one came back short. */
const SHORT_REPLICAS_BACKOFF_MS = 1000;

export class StateStore {
  private readonly run: RunScript;
  private shortWaits = { count: 0, loggedAt: 0 };
  /**
   * The connection of the writes that WAIT for replicas (made on first use). WAIT blocks the
   * connection it runs on until the replicas answer or the timeout passes: on the shared one it
   * would hold every admission behind it.
   */
  private keptConnection: { redis: RedisClient; run: RunScript } | undefined;
  private keptReady: Promise<void> | undefined;
  /** After a WAIT came back short (no replica to answer), kept writes skip WAIT until then. */
  private replicasShortUntil = 0;

  constructor(
    readonly redis: RedisClient,
    readonly config: () => Config,
    readonly clock: Clock,
    /** Told of every permission change (metrics); the stream append happens here. */
    private readonly onPermissionEvent: (e: PermissionEvent) => void = () => {},
    /** Told, at most every 10 s, how many writes fewer replicas than redis.waitReplicas acknowledged. */
    private readonly onShortWait: (writes: number, lastScript: ScriptName, acknowledged: number) => void = () => {},
  ) {
    this.run = defineScripts(redis);
  }

  /** Runs a script: one atomic operation, its keys and arguments named (src/state/scripts.ts). */
  script<N extends ScriptName>(name: N, call: ScriptCall<N>): Promise<unknown> {
    return this.run(name, call);
  }

  /**
   * Runs a script whose write a master crash must not lose (a permission granted or revoked, a
   * connected count, an unanswered streak): with redis.waitReplicas > 0 it returns only once that
   * many replicas have it, or after redis.waitReplicasTimeoutMs (then the write stands on the
   * master alone, and is reported).
   */
  kept<N extends ScriptName>(name: N, call: ScriptCall<N>): Promise<unknown> {
    const r = this.config().redis;
    if (r.waitReplicas <= 0) return this.run(name, call);
    const wait = this.replicaWait(r.waitReplicas, r.waitReplicasTimeoutMs);
    // No replica answered a moment ago (it is down, or being replaced after a failover): every
    // WAIT would cost the whole timeout, one after another on its connection. Write without it
    // for a while, reported as short, then try again.
    if (Date.now() < this.replicasShortUntil) {
      return this.run(name, call).then((result) => {
        wait.onShort(name, 0);
        return result;
      });
    }
    return this.keptRunner().then((kept) => kept.run(name, call, wait));
  }

  private async keptRunner() {
    if (!this.keptConnection) {
      const redis = this.redis.duplicate() as RedisClient;
      redis.on('error', () => {}); // the shared connection's handler counts and logs Redis errors
      this.keptConnection = { redis, run: defineScripts(redis) };
    }
    // Its offline queue is off too: the first write waits for it to connect (a connection error
    // past the command timeout, retried like any other).
    if (this.keptConnection.redis.status !== 'ready') {
      // One wait shared by every write that finds it down (one 'ready' listener, not one each).
      this.keptReady ??= redisReady(this.keptConnection.redis, COMMAND_TIMEOUT_MS).finally(() => (this.keptReady = undefined));
      await this.keptReady;
    }
    return this.keptConnection;
  }

  /** Closes the connection of the kept writes, if one was made (the shared one is the caller's). */
  disconnect(): void {
    this.keptConnection?.redis.disconnect();
  }

  private replicaWait(replicas: number, timeoutMs: number): ReplicaWait {
    return {
      replicas,
      timeoutMs,
      onShort: (script, acknowledged) => {
        const now = Date.now();
        this.replicasShortUntil = Math.max(this.replicasShortUntil, now + SHORT_REPLICAS_BACKOFF_MS);
        this.shortWaits.count++;
        if (now - this.shortWaits.loggedAt < 10_000) return;
        this.onShortWait(this.shortWaits.count, script, acknowledged);
        this.shortWaits = { count: 0, loggedAt: now };
      },
    };
  }


  /** A permission change: told to the listener (metrics) and appended to `wa:permissions`. */
  async emit(event: PermissionEventKind, business: string, user: string, source: string, extra: Partial<PermissionEvent> = {}) {
    const e: PermissionEvent = { event, number: business, user, source, at: this.clock(), ...extra };
    this.onPermissionEvent(e);
    await appendPermissionEvent(this.redis, e);
  }
}
