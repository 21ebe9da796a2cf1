// Media anchoring (SPEC §2 `media.anchor`, §3 "Media"): every bridged call's RTP goes through one
// rtpengine, picked round-robin among those that answer; each side's SDP carries rtpengine's
// address only. A call is deleted from its rtpengine exactly once (CallMedia.finish), and a side
// that sends nothing for `noMediaSeconds` after the answer is reported once (CallMedia.watch).
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import type { LineLogger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { figuresOf, received, SIDES, type MediaFigures, type Side } from './figures.js';
import { parseNgAddress, type NgAddress } from '../domain/ngAddress.js';
import { NgClient, NgRefused, type NgParams } from './rtpengine.js';

export type AnchorConfig = NonNullable<Config['media']['anchor']>;

/** The side that sent nothing for noMediaSeconds, or both. */
export type Silent = Side | 'both';

/** No rtpengine took the offer: outbound is refused `media_unavailable`, inbound goes unanchored. */
export class MediaUnavailable extends Error {}

interface Engine {
  label: string;
  address: NgAddress;
  up: boolean;
}

const DELETE_ATTEMPTS = 3;

const other = (side: Side): Side => (side === 'pbx' ? 'telnyx' : 'pbx');

/** Both sides: rtpengine's own address in o= and c=, no ICE or DTLS of its own making. */
const COMMON: NgParams = { replace: ['origin', 'session-connection'], ICE: 'remove', DTLS: 'off' };

/** Only the two AES_CM_128 suites (what SIP trunks commonly accept); rtpengine would offer every suite it knows. */
const SDES_NOT_FOR_TELNYX = [
  'no-AEAD_AES_256_GCM', 'no-AEAD_AES_128_GCM',
  'no-AES_256_CM_HMAC_SHA1_80', 'no-AES_256_CM_HMAC_SHA1_32',
  'no-AES_192_CM_HMAC_SHA1_80', 'no-AES_192_CM_HMAC_SHA1_32',
  'no-F8_128_HMAC_SHA1_80', 'no-F8_128_HMAC_SHA1_32',
  'no-NULL_HMAC_SHA1_80', 'no-NULL_HMAC_SHA1_32',
];

/**
 * Towards a browser (SPEC §4a Phone): ICE and DTLS-SRTP with RTP and RTCP on one port, which is all
 * WebRTC speaks; no SDES keys (browsers ignore them) and a mid on the m-line (Chrome needs one).
 */
const TO_BROWSER: NgParams = {
  replace: ['origin', 'session-connection'],
  ICE: 'force',
  'transport-protocol': 'UDP/TLS/RTP/SAVPF',
  SDES: ['off'],
  'rtcp-mux': ['require'],
  flags: ['generate-mid'],
};

/** What rtpengine is told for an offer from `offerer`; `browser` names the side that is a browser, if any. */
export function offerParams(cfg: Pick<AnchorConfig, 'telnyxSrtp'>, callId: string, offerer: Side, sdp: string, browser?: Side): NgParams {
  const toTelnyx = offerer === 'pbx';
  if (browser && browser !== offerer) return { ...TO_BROWSER, 'call-id': callId, 'from-tag': offerer, sdp };
  return {
    ...COMMON,
    'call-id': callId,
    'from-tag': offerer,
    sdp,
    // SDES-SRTP towards Telnyx when asked; the PBX always gets plain RTP.
    'transport-protocol': toTelnyx && cfg.telnyxSrtp ? 'RTP/SAVP' : 'RTP/AVP',
    ...(toTelnyx && cfg.telnyxSrtp ? { SDES: SDES_NOT_FOR_TELNYX } : {}),
    // A browser offers RTP and RTCP on one port: accepted back to it, split towards the other side.
    ...(browser === offerer ? { 'rtcp-mux': ['demux'] } : {}),
  };
}

/** What rtpengine is told for the answer back to `offerer`: a browser keeps its ICE and DTLS. */
export function answerParams(callId: string, offerer: Side, sdp: string, browser?: Side): NgParams {
  const base = browser === offerer ? { replace: ['origin', 'session-connection'], ICE: 'force' } : COMMON;
  return { ...base, 'call-id': callId, 'from-tag': offerer, 'to-tag': other(offerer), sdp };
}

export class MediaRelays {
  private readonly engines: Engine[];
  private readonly ng: NgClient;
  private next = 0;
  private pinger: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly cfg: AnchorConfig,
    private readonly logger: LineLogger,
    private readonly metrics: Metrics,
    private readonly clock: Clock,
  ) {
    this.engines = cfg.rtpengine.map((label) => ({ label, address: parseNgAddress(label) as NgAddress, up: false }));
    this.ng = new NgClient(cfg.requestTimeoutMs, (err) => logger.warn({ err }, 'rtpengine client error'));
    for (const e of this.engines) metrics.rtpengineUp.set({ rtpengine: e.label }, 0);
  }

  /** Pings every rtpengine now and every `pingSeconds`; resolves after the first round. */
  async start(): Promise<void> {
    await this.pingAll();
    this.pinger = setInterval(() => void this.pingAll(), this.cfg.pingSeconds * 1000);
    this.pinger.unref();
  }

  stop(): void {
    clearInterval(this.pinger);
    if (!this.stopped) this.ng.close();
    this.stopped = true;
  }

  /** For /readyz: each rtpengine and whether it answered its last ping or command. */
  state(): { rtpengine: string; state: 'up' | 'down' }[] {
    return this.engines.map((e) => ({ rtpengine: e.label, state: e.up ? 'up' : 'down' }));
  }

  get anyUp(): boolean {
    return this.engines.some((e) => e.up);
  }

  private mark(e: Engine, up: boolean, why?: string): void {
    if (e.up !== up) this.logger[up ? 'info' : 'warn']({ rtpengine: e.label, why }, up ? 'rtpengine up' : 'rtpengine down');
    e.up = up;
    this.metrics.rtpengineUp.set({ rtpengine: e.label }, up ? 1 : 0);
  }

  private async pingAll(): Promise<void> {
    await Promise.all(
      this.engines.map((e) =>
        this.ng.ping(e.address).then(
          () => this.mark(e, true),
          (err: unknown) => this.mark(e, false, String(err)),
        ),
      ),
    );
  }

  /** The engines to try for a new call: those up first, each list in round-robin order. */
  private candidates(): Engine[] {
    const n = this.engines.length;
    const start = this.next++ % n;
    const ordered = this.engines.map((_, i) => this.engines[(start + i) % n] as Engine);
    return [...ordered.filter((e) => e.up), ...ordered.filter((e) => !e.up)];
  }

  /**
   * Offers `sdp` from `offerer` to rtpengine under the admission id; resolves with the call's media
   * and the SDP for the other side. An rtpengine that does not answer is marked down and the next
   * one tried; when none takes it, MediaUnavailable.
   */
  async open(callId: string, offerer: Side, sdp: string, log: LineLogger, browser?: Side): Promise<{ media: CallMedia; sdp: string }> {
    const params = offerParams(this.cfg, callId, offerer, sdp, browser);
    const tried: string[] = [];
    for (const e of this.candidates()) {
      try {
        const offered = await this.ng.offer(e.address, params);
        this.mark(e, true);
        return { media: new CallMedia(this.ng, e.address, e.label, callId, offerer, this.cfg, this.clock, log, this.metrics, browser), sdp: offered };
      } catch (err) {
        tried.push(`${e.label}: ${String(err)}`);
        if (err instanceof NgRefused) continue;
        this.mark(e, false, String(err));
        // A slow rtpengine may still take the offer after we gave up: nothing must stay behind.
        void this.ng.delete(e.address, callId).catch(() => {});
      }
    }
    throw new MediaUnavailable(`no rtpengine took the offer (${tried.join('; ')})`);
  }

  /** Call ids rtpengine holds (tests and operators: nothing left behind). */
  list(label: string): Promise<string[]> {
    const e = this.engines.find((x) => x.label === label);
    if (!e) throw new Error(`no rtpengine ${label}`);
    return this.ng.list(e.address);
  }
}

/** One call on one rtpengine. */
export class CallMedia {
  private finished: Promise<MediaFigures | undefined> | undefined;
  private watcher: NodeJS.Timeout | undefined;

  constructor(
    private readonly ng: NgClient,
    private readonly address: NgAddress,
    readonly engine: string,
    readonly callId: string,
    private readonly offerer: Side,
    private readonly cfg: AnchorConfig,
    private readonly clock: Clock,
    private readonly log: LineLogger,
    private readonly metrics: Metrics,
    private browser?: Side,
  ) {}

  /** The answerer's SDP through rtpengine, for the offerer. */
  answer(sdp: string): Promise<string> {
    return this.ng.answer(this.address, answerParams(this.callId, this.offerer, sdp, this.browser));
  }

  /**
   * The offerer's SDP offered again, now for a browser on the other side (an inbound call reaching
   * the console's phone after a PBX target): same call, same ports towards the offerer.
   */
  async offerToBrowser(sdp: string): Promise<string> {
    const browser = other(this.offerer);
    const offered = await this.ng.offer(this.address, offerParams(this.cfg, this.callId, this.offerer, sdp, browser));
    this.browser = browser;
    return offered;
  }

  /**
   * From the answer on: asks rtpengine how many packets each side sent; a side whose count has not
   * moved for `noMediaSeconds` (or both sides) is reported once, and the watch stops. A query that fails is only
   * logged: rtpengine's own timeout and the parties' BYE still end the call.
   */
  watch(onSilent: (side: Silent) => void): void {
    if (this.watcher || this.finished) return;
    const limitMs = this.cfg.noMediaSeconds * 1000;
    const everyMs = Math.min(2000, Math.max(250, limitMs / 4));
    const start = this.clock();
    const last: Record<Side, { packets: number; at: number }> = { pbx: { packets: 0, at: start }, telnyx: { packets: 0, at: start } };
    let failing = false;
    let busy = false;
    this.watcher = setInterval(() => {
      if (busy) return;
      busy = true;
      this.ng
        .query(this.address, this.callId)
        .then((q) => {
          failing = false;
          const now = this.clock();
          for (const side of SIDES) {
            const { packets } = received(q, side);
            if (packets !== last[side].packets) last[side] = { packets, at: now };
          }
          const silent = SIDES.filter((side) => now - last[side].at >= limitMs);
          if (silent.length === 0 || !this.watcher) return;
          const who: Silent = silent.length === SIDES.length ? 'both' : (silent[0] as Side);
          this.stopWatch();
          this.metrics.mediaTimeoutsTotal.inc();
          this.log.warn({ silentSide: who, noMediaSeconds: this.cfg.noMediaSeconds, packetsFromPbx: last.pbx.packets, packetsFromTelnyx: last.telnyx.packets }, `no media from ${who}`);
          onSilent(who);
        })
        .catch((err: unknown) => {
          if (!failing) this.log.warn({ rtpengine: this.engine, err }, 'rtpengine query failed');
          failing = true;
        })
        .finally(() => (busy = false));
    }, everyMs);
    this.watcher.unref();
  }

  private stopWatch(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  /**
   * An overloaded rtpengine can miss the reply's deadline: the delete is sent again, up to three
   * times in all (a delete of a call rtpengine no longer knows is answered ok, with a warning).
   */
  private async deleteWithRetries(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ng.delete(this.address, this.callId);
        return;
      } catch (err) {
        if (attempt >= DELETE_ATTEMPTS) {
          this.log.warn({ rtpengine: this.engine, err, attempts: attempt }, "rtpengine delete failed: its own timeout ends the call's media");
          return;
        }
        await new Promise((r) => setTimeout(r, attempt * 500));
      }
    }
  }

  /**
   * Ends the call on rtpengine: its last figures, then delete. However often it is called, rtpengine
   * hears one delete; resolves with the figures (undefined when rtpengine could not be asked).
   */
  finish(): Promise<MediaFigures | undefined> {
    this.finished ??= (async () => {
      this.stopWatch();
      let figures: MediaFigures | undefined;
      try {
        figures = figuresOf(await this.ng.query(this.address, this.callId));
      } catch (err) {
        this.log.warn({ rtpengine: this.engine, err }, 'rtpengine query at call end failed');
      }
      await this.deleteWithRetries();
      if (figures) {
        if (figures.pbx.lost) this.metrics.mediaPacketsLostTotal.inc({ direction: 'pbx_to_telnyx' }, figures.pbx.lost);
        if (figures.telnyx.lost) this.metrics.mediaPacketsLostTotal.inc({ direction: 'telnyx_to_pbx' }, figures.telnyx.lost);
      }
      return figures;
    })();
    return this.finished;
  }
}
