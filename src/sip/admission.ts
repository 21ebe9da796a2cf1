// An outbound admission that rides out a Redis failover. While Redis is unreachable (a Sentinel or
// Cluster failover, a restart) the admission tries again, with the one back-off rule, for at most
// `redis.failoverWaitMs`; the PBX already has its 100 Trying. Only past that bound, or when the
// caller cancels, does it give up. The admission id is made before the first try and every retry
// sends the same id: admit_outbound.lua answers a retry of an id it already applied with that
// reservation, never a second one. An admission given up after a try whose answer never came
// (timeout, redirection, closed connection) may still have been applied: it is released by its id
// once Redis answers (release_admission.lua, idempotent), so no call holds a phantom lease.
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Admission, CallState, OutboundCall } from '../state/calls.js';
import { isConnectionError } from '../state/redisErrors.js';
import { nextTryWithin } from '../domain/backoff.js';
import { refusal } from '../domain/reasons.js';
import { DurableQueue } from './durable.js';

/** Pause between two tries while Redis is away: short, a failover ends within seconds. */
const RETRY_MIN_MS = 25;
const RETRY_MAX_MS = 250;
/** Retry-After of the 503 once the bound is spent. */
const RETRY_AFTER_S = 5;

export interface AdmissionDeps {
  calls: CallState;
  failoverWaitMs: () => number;
  metrics: Metrics;
  logger: Logger;
}

export type WaitedAdmission = Admission | { admitted: false; canceled: true };

/**
 * The caller's CANCEL as an admission watches it: whether it came, and a way to hear it (which
 * returns its own undo). Not an AbortSignal: one of those per INVITE (an EventTarget, its listener
 * added and removed) was about 20 µs of every call in the edge's profile, more than the
 * admission's own code (bench/RESULTS.md).
 */
export interface Cancellation {
  readonly canceled: boolean;
  onCancel(listener: () => void): () => void;
}


/** `inFlight`: the try was sent and its answer is still to come (Redis may yet apply it). */
type Try = { ok: true; admission: Admission } | { ok: false; err: unknown } | { ok: false; stop: 'canceled' | 'bound'; inFlight: boolean };

export class OutboundAdmissions {
  /** Admissions pausing between tries: woken together when Redis is ready again (one listener for all). */
  private readonly pausing = new Set<() => void>();

  constructor(private readonly deps: AdmissionDeps) {
    deps.calls.redis.on('ready', () => {
      for (const wake of [...this.pausing]) wake();
    });
  }

  /**
   * SPEC §3's state checks and the reservation, waiting for Redis up to the bound. `canceled`
   * aborts the wait (a CANCEL from the PBX). Throws only Redis's own refusal to run the script.
   */
  async admit(call: OutboundCall, canceled: Cancellation): Promise<WaitedAdmission> {
    const boundMs = this.deps.failoverWaitMs();
    const startedAt = Date.now();
    const deadline = startedAt + boundMs;
    let unanswered = false; // a try failed: Redis may have applied it without telling us
    for (let retry = 0; ; retry++) {
      // The first try is bounded by the command timeout alone (with failoverWaitMs 0 a healthy
      // Redis still admits); a retry, by what is left of the wait.
      const t = await this.tryOnce(call, canceled, retry === 0 ? undefined : deadline);
      if (t.ok) {
        if (retry > 0) this.waited(call, t.admission.admitted ? 'admitted' : 'refused', startedAt, retry);
        if (!t.admission.admitted && unanswered) this.release(call);
        return t.admission;
      }
      if ('err' in t) {
        unanswered = true;
        this.deps.metrics.redisErrorsTotal.inc();
        if (!isConnectionError(t.err)) {
          this.release(call);
          throw t.err;
        }
        if (retry === 0) this.deps.logger.warn({ err: t.err, admission: call.callId }, 'Redis unreachable: the admission waits for it');
      }
      if ('stop' in t && t.inFlight) unanswered = true;
      const stop = 'stop' in t ? t.stop : canceled.canceled ? 'canceled' : undefined;
      const pause = stop ? undefined : nextTryWithin(retry + 1, Date.now() - startedAt, boundMs, RETRY_MIN_MS, RETRY_MAX_MS);
      if (stop === 'canceled' || (pause === undefined && canceled.canceled)) {
        if (unanswered) this.release(call);
        if (retry > 0 || unanswered) this.waited(call, 'canceled', startedAt, retry);
        return { admitted: false, canceled: true };
      }
      if (pause === undefined) {
        if (unanswered) this.release(call);
        this.waited(call, 'refused', startedAt, retry);
        return { admitted: false, refusal: refusal('state_unavailable', RETRY_AFTER_S) };
      }
      await this.pause(pause, canceled);
    }
  }

  /** One try, given up early when the caller cancels or the bound passes while it is in flight. */
  private tryOnce(call: OutboundCall, canceled: Cancellation, deadline: number | undefined): Promise<Try> {
    if (canceled.canceled) return Promise.resolve({ ok: false, stop: 'canceled', inFlight: false });
    return new Promise<Try>((resolve) => {
      const timer = deadline === undefined ? undefined : setTimeout(() => done({ ok: false, stop: 'bound', inFlight: true }), Math.max(0, deadline - Date.now()));
      const stopHearing = canceled.onCancel(() => done({ ok: false, stop: 'canceled', inFlight: true }));
      let settled = false;
      const done = (t: Try) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopHearing();
        resolve(t);
      };
      this.deps.calls.admitOutbound(call).then(
        (admission) => done({ ok: true, admission }),
        (err: unknown) => done({ ok: false, err }),
      );
    });
  }

  /** Waits `ms`, or less when Redis becomes ready again or the caller cancels. */
  private pause(ms: number, canceled: Cancellation): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pausing.delete(done);
        stopHearing();
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pausing.add(done);
      const stopHearing = canceled.onCancel(done);
    });
  }

  /** Gives back whatever Redis may have applied under this id, once it answers. */
  private release(call: OutboundCall): void {
    const log = this.deps.logger.child({ admission: call.callId, number: call.business, user: call.user });
    void new DurableQueue(log, () => this.deps.metrics.redisErrorsTotal.inc(), { retryMinMs: 100, retryMaxMs: 2000 })
      .run('release admission', () => this.deps.calls.releaseAdmission(call.business, call.callId, true))
      .then((r) => r === 'released' && log.warn('released an admission whose answer never reached the edge'));
  }

  private waited(call: OutboundCall, result: 'admitted' | 'refused' | 'canceled', startedAt: number, retries: number): void {
    this.deps.metrics.admissionWaitsTotal.inc({ result });
    this.deps.logger.info({ admission: call.callId, result, waitedMs: Date.now() - startedAt, retries }, 'admission waited for Redis');
  }
}
