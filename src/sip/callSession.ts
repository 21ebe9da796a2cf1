// One call from admission to its record: settles its outcome exactly once, keeps its lease alive
// while it is up, and bridges in-dialog requests between the two legs. Shared by both directions.
import { CallLogger, type Logger } from '../log.js';
import type { Metrics, Direction } from '../metrics.js';
import type { CallState, Outcome } from '../state/calls.js';
import { appendCallRecord, type CallAnnotations, type CallRecord } from '../state/records.js';
import { refusal, refusalHeaders } from '../domain/reasons.js';
import type { EndReason } from '../domain/endReasons.js';
import type { Clock } from '../domain/clock.js';
import { DurableQueue, durably } from './durable.js';
import type { LeaseKeeper } from './leases.js';
import { releaseSetupMessages, type Dialog, type SipRequest, type SipResponse } from './srf.js';
import type { CallMedia } from '../media/anchor.js';
import { recordFields } from '../media/figures.js';

export interface SessionDeps {
  calls: CallState;
  leases: LeaseKeeper;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** The tenant of the business number, whose metrics count the call (src/tenantMetrics.ts). */
  tenant?: string;
  /** Called once the session has ended and its record is written (drain waits on this). */
  onClosed: (s: CallSession) => void;
}

type Phase = 'admitted' | 'connected' | 'closed';

export class CallSession {
  readonly log: CallLogger;
  readonly queue: DurableQueue;
  private phase: Phase = 'admitted';
  private answeredAt: number | undefined;
  private dialogs: Dialog[] = [];
  /** With media.anchor: the call on rtpengine (undefined when unanchored). */
  private media: CallMedia | undefined;
  private mediaState: 'anchored' | 'unanchored' | undefined;
  private silentSide: string | undefined;
  /** Told once when the call closes (a tenant's hold: src/tenants/gate.ts). */
  private readonly closeHooks: (() => void)[] = [];
  private annotations: CallAnnotations = {};

  constructor(
    readonly direction: Direction,
    readonly business: string,
    readonly user: string,
    /** The admission id: unique per call, the key of its state in Redis. */
    readonly callId: string,
    readonly sipCallId: string,
    readonly startedAt: number,
    private readonly deps: SessionDeps,
  ) {
    this.log = new CallLogger(deps.logger, { callId: sipCallId, admission: callId, direction, number: business, user });
    this.queue = new DurableQueue(this.log, this.onRedisError);
    deps.leases.add(business, callId);
  }

  get isOpen(): boolean {
    return this.phase !== 'closed';
  }

  /** Answered and not yet ended. */
  get isConnected(): boolean {
    return this.phase === 'connected';
  }

  private readonly onRedisError = () => this.deps.metrics.redisErrorsTotal.inc();

  /** rtpengine relays this call's media: it is deleted there when the call closes, whatever closes it. */
  anchor(media: CallMedia): void {
    this.media = media;
    this.mediaState = 'anchored';
    if (this.phase === 'closed') void media.finish();
  }

  /** Facts for the call's record (Meta's headers, the route they chose, a refusal Meta relayed). */
  annotate(fields: CallAnnotations): void {
    this.annotations = { ...this.annotations, ...fields };
  }

  /** media.anchor is set but no rtpengine took the call: it goes on unanchored (inbound). */
  unanchored(): void {
    this.mediaState = 'unanchored';
  }

  /** `hook` runs once when the call closes, whatever closes it (at once if it already has). */
  onClose(hook: () => void): void {
    if (this.phase === 'closed') hook();
    else this.closeHooks.push(hook);
  }

  /** The far end answered. */
  connected(): void {
    if (this.phase !== 'admitted') return;
    this.phase = 'connected';
    this.media?.watch((side) => {
      this.silentSide = side;
      this.close('ended', 200, 'no_media');
    });
    this.answeredAt = this.deps.clock();
    this.deps.metrics.of(this.deps.tenant).callSetupSeconds.observe({ direction: this.direction }, (this.answeredAt - this.startedAt) / 1000);
    this.log.info('call connected');
    void this.queue.run('settle connected', () => this.deps.calls.settle(this.business, this.user, this.callId, 'connected')).then((r) => r && r.status !== 'applied' && this.log.warn({ status: r.status }, 'connected settle not applied'));
  }

  /**
   * The call is over. Before an answer `outcome` says how it failed (unanswered or failed); after
   * one it is `ended`. Whatever calls this, and however often, the outcome is applied once.
   */
  close(outcome: Exclude<Outcome, 'connected'>, sipStatus: number, reason: EndReason): void {
    if (this.phase === 'closed') return;
    const final: Outcome = this.phase === 'connected' ? 'ended' : outcome;
    const recorded = this.phase === 'connected' ? 'connected' : outcome;
    this.phase = 'closed';
    for (const hook of this.closeHooks.splice(0)) hook();
    for (const d of this.dialogs) if (d.connected !== false) d.destroy().catch(() => {});
    this.deps.metrics.of(this.deps.tenant).callsTotal.inc({ direction: this.direction, outcome: recorded });
    const endedAt = this.deps.clock();
    this.log.info({ outcome: recorded, sipStatus, reason }, 'call ended');
    // rtpengine's figures and its delete, once, beside the settle (neither waits for the other).
    const figures = this.media?.finish();
    const record = (media: Awaited<typeof figures>): CallRecord => ({
      callId: this.sipCallId,
      direction: this.direction,
      number: this.business,
      user: this.user,
      outcome: recorded,
      sipStatus,
      reason,
      startedAt: this.startedAt,
      answeredAt: this.answeredAt,
      endedAt,
      media: this.mediaState,
      rtpengine: this.media?.engine,
      silentSide: this.silentSide,
      ...this.annotations,
      ...(media ? recordFields(media) : {}),
    });
    // An `ended` or `failed` settle answers nothing the record needs and runs on the shared
    // connection: the record is sent right behind its first try (after it on the wire, so a reader
    // who finds the record finds the call settled) and one wake-up can read both answers. An
    // `unanswered` settle may append a permission event first (and may wait for replicas on a
    // connection of its own), and rtpengine's figures come when they come: the record waits for those.
    const sendRecord = (media: Awaited<typeof figures>) =>
      durably(this.log, this.onRedisError, 'call record', () => appendCallRecord(this.deps.calls.redis, record(media)));
    const recordBehind = !figures && final !== 'unanswered';
    let recordSent: Promise<unknown> | undefined;
    const settled = this.queue
      .run(`settle ${final}`, () => {
        const settle = this.deps.calls.settle(this.business, this.user, this.callId, final);
        if (recordBehind) recordSent ??= sendRecord(undefined);
        return settle;
      })
      .then(async (r) => {
        // The settle was refused (a script error) or abandoned: at least free the lease and the
        // user's user_busy lock now, rather than hold them until the lease expires.
        if (!r) await this.queue.run('release after failed settle', () => this.deps.calls.releaseAdmission(this.business, this.callId, false));
        if (r?.event) this.log.info({ event: r.event, consecutiveUnanswered: r.consecutiveUnanswered }, `permission ${r.event}`);
      });
    const recordWritten = recordBehind ? settled.then(() => recordSent) : Promise.all([settled, figures]).then(([, media]) => sendRecord(media));
    void Promise.all([settled, recordWritten]).finally(() => {
      this.deps.leases.remove(this.business, this.callId);
      this.deps.onClosed(this);
    });
  }

  /**
   * Wires the two legs of an answered call: BYE on either side ends both; re-INVITE and UPDATE are
   * answered locally with the SDP already agreed (Meta rejects re-INVITEs, so none is forwarded);
   * INFO (DTMF) is relayed; REFER is refused so a transfer cannot bypass admission.
   */
  bridge(caller: Dialog, callee: Dialog): void {
    this.dialogs = [caller, callee];
    releaseSetupMessages(caller);
    releaseSetupMessages(callee);
    const legs: [Dialog, Dialog, 'caller' | 'callee'][] = [
      [caller, callee, 'caller'],
      [callee, caller, 'callee'],
    ];
    for (const [leg, other, side] of legs) {
      leg.on('destroy', () => {
        leg.connected = false;
        this.close('ended', 200, side === 'caller' ? 'bye_from_caller' : 'bye_from_callee');
      });
      leg.on('modify', (req: SipRequest, res: SipResponse) => {
        // With or without an offer in it, the answer is the SDP this leg already has.
        this.log.debug({ side, offer: Boolean(req.body) }, 're-INVITE answered locally');
        res.send(200, { body: leg.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
      });
      leg.on('update', (req: SipRequest, res: SipResponse) => {
        res.send(200, req.body ? { body: leg.local.sdp, headers: { 'Content-Type': 'application/sdp' } } : {});
      });
      leg.on('refresh', () => this.log.debug({ side }, 'session refresh answered'));
      leg.on('info', (req: SipRequest, res: SipResponse) => {
        const headers: Record<string, string> = {};
        if (req.has('Content-Type')) headers['Content-Type'] = req.get('Content-Type');
        other
          .request({ method: 'INFO', headers, body: req.body })
          .then((r) => res.send(r.status ?? 200))
          .catch(() => res.send(500));
      });
      leg.on('refer', (_req: SipRequest, res: SipResponse) => {
        const r = refusal('transfer_refused');
        res.send(r.code, { headers: refusalHeaders(r) });
      });
    }
  }
}
