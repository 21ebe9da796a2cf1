// What rtpengine says about one call, as the figures a record and the metrics keep (SPEC §5, §6).
// The two sides are rtpengine's tags: the edge offers and answers as `pbx` and `telnyx`.
import type { NgQuery, NgStream } from './rtpengine.js';

/** The two parties of an anchored call; softphones are on the `pbx` side. */
export type Side = 'pbx' | 'telnyx';
export const SIDES: readonly Side[] = ['pbx', 'telnyx'];

/** What rtpengine received from one side. */
export interface SideFigures {
  packets: number;
  bytes: number;
  /** Packets lost on their way from this side, as RTCP receiver reports told rtpengine. */
  lost?: number;
  /** Average interarrival jitter (ms) of this side's stream, from the same reports. */
  jitterMs?: number;
}

export type MediaFigures = Record<Side, SideFigures>;

/** An RTCP-only stream; a browser's stream (rtcp-mux) carries both and is flagged RTP and RTCP. */
const isRtp = (s: NgStream) => {
  const flags = s.flags ?? [];
  return !flags.includes('RTCP') || flags.includes('RTP');
};

function streamsOf(q: NgQuery, side: Side): NgStream[] {
  return (q.tags?.[side]?.medias ?? []).flatMap((m) => m.streams ?? []);
}

/** RTP packets and bytes rtpengine received from `side`; RTCP does not count as media. */
export function received(q: NgQuery, side: Side): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const s of streamsOf(q, side).filter(isRtp)) {
    packets += s.stats?.packets ?? 0;
    bytes += s.stats?.bytes ?? 0;
  }
  return { packets, bytes };
}

/**
 * Per side: packets and bytes, and loss and jitter where rtpengine has them. rtpengine only knows
 * loss and jitter from RTCP reports (its `SSRC` section); an SSRC is placed on a side when one of
 * that side's streams names it, and otherwise left out rather than guessed.
 */
export function figuresOf(q: NgQuery): MediaFigures {
  const out = {} as MediaFigures;
  for (const side of SIDES) {
    const fig: SideFigures = received(q, side);
    const ssrcs = new Set(streamsOf(q, side).flatMap((s) => (typeof s.SSRC === 'number' ? [String(s.SSRC)] : [])));
    for (const ssrc of ssrcs) {
      const e = q.SSRC?.[ssrc];
      if (!e) continue;
      if (typeof e['cumulative loss'] === 'number') fig.lost = (fig.lost ?? 0) + e['cumulative loss'];
      const jitter = e['average MOS']?.jitter;
      if (typeof jitter === 'number') fig.jitterMs = Math.max(fig.jitterMs ?? 0, jitter);
    }
    out[side] = fig;
  }
  return out;
}

/** Record fields of SPEC §6 (flat, like the rest of a record). */
export function recordFields(f: MediaFigures): Record<string, number | undefined> {
  return {
    rtpPacketsFromPbx: f.pbx.packets,
    rtpBytesFromPbx: f.pbx.bytes,
    rtpPacketsFromTelnyx: f.telnyx.packets,
    rtpBytesFromTelnyx: f.telnyx.bytes,
    packetsLostFromPbx: f.pbx.lost,
    packetsLostFromTelnyx: f.telnyx.lost,
    jitterMsFromPbx: f.pbx.jitterMs,
    jitterMsFromTelnyx: f.telnyx.jitterMs,
  };
}
