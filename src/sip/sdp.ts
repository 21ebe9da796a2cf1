// SDP towards Telnyx and back (SPEC §3): audio only, codecs from the allow-list in its order,
// and an answer to the PBX with as many m-lines as its offer (refused streams at port 0, RFC 3264).
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { perConfig } from '../config/derived.js';

type Media = SessionDescription['media'][number];

// Static payload types that may appear without an rtpmap line (RFC 3551).
const STATIC_CODECS: Record<number, string> = { 0: 'PCMU', 3: 'GSM', 8: 'PCMA', 9: 'G722', 18: 'G729' };

function payloadList(m: Media): number[] {
  return String(m.payloads ?? '')
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
}

export interface TelnyxOffer {
  /** Index of the PBX's m-line that is sent on; every other one is refused in the answer. */
  keptIndex: number;
  /** The PBX's offer as it came. */
  pbxSdp: string;
  /** The PBX offered one stream and no mid: Telnyx's one-stream answer answers it as it is. */
  singleStream: boolean;
  /** What goes to Telnyx. */
  telnyxSdp: string;
}

/** Lower-cased codec name → its place in `media.codecs`, once per configuration. */
const codecRanks = perConfig((codecs: readonly string[]) => {
  const ranks = new Map<string, number>();
  codecs.forEach((c, i) => ranks.has(c.toLowerCase()) || ranks.set(c.toLowerCase(), i));
  return ranks;
});

/** One m-section of an offer as text: its m= line's fields and its other lines, in order. */
interface Section {
  type: string;
  port: string;
  protocol: string;
  formats: string[];
  lines: string[];
}

/** The payload type an `a=rtpmap:`, `a=fmtp:` or `a=rtcp-fb:` line is about (`*` for rtcp-fb's wildcard). */
const PAYLOAD_ATTRIBUTE = /^a=(rtpmap|fmtp|rtcp-fb):(\S+)/;
/** Lines that never go to Telnyx: stream ids and bundles (one stream is sent), and RFC 5576 source
 * attributes, which name the caller (a softphone's CNAME is its address-of-record, SPEC §1). */
const DROPPED = /^a=(mid|ssrc|ssrc-group):/;

/**
 * Undefined when no audio stream carries an allowed codec: the call gets 488.
 *
 * The offer is edited as text, line by line, by hand, not parsed and written again with
 * sdp-transform: its parser tries each attribute line against the rules of its grammar and its
 * writer walks the whole grammar back, 110 µs of every INVITE in the edge's profile at 300 calls/s
 * (14 µs now, bench/RESULTS.md), where the edge needs only the m-lines and the rtpmap names. Every
 * line the PBX wrote is kept, in its order, except the streams, payloads and attributes that must
 * go. The answer side (rare: several streams) still parses with sdp-transform.
 */
export function offerToTelnyx(pbxOffer: string, allowedCodecs: readonly string[]): TelnyxOffer | undefined {
  const sessionLines: string[] = [];
  const sections: Section[] = [];
  for (const line of pbxOffer.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith('m=')) {
      const [type = '', port = '', protocol = '', ...formats] = line.slice(2).trim().split(/\s+/);
      sections.push({ type, port, protocol, formats, lines: [] });
    } else (sections.at(-1)?.lines ?? sessionLines).push(line);
  }
  if (!sessionLines.some((l) => l.startsWith('v='))) return undefined;
  const ranks = codecRanks(allowedCodecs);
  for (const [index, m] of sections.entries()) {
    if (m.type !== 'audio' || m.port === '0' || m.port.startsWith('0/')) continue;
    const names = new Map<string, string>();
    for (const l of m.lines) {
      const rtpmap = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(l);
      if (rtpmap) names.set(rtpmap[1] as string, (rtpmap[2] as string).toLowerCase());
    }
    const codecOf = (pt: string) => names.get(pt) ?? STATIC_CODECS[Number(pt)]?.toLowerCase();
    const kept = m.formats
      .map((pt) => ({ pt, rank: ranks.get(codecOf(pt) ?? '') ?? -1 }))
      .filter((p) => p.rank >= 0)
      .sort((a, b) => a.rank - b.rank) // stable: equal ranks keep the offer's order
      .map((p) => p.pt);
    // telephone-event alone carries no voice.
    if (!kept.some((pt) => codecOf(pt) !== 'telephone-event')) continue;
    const keep = new Set(kept);
    const audioLines = m.lines.filter((l) => {
      if (DROPPED.test(l)) return false;
      const pt = PAYLOAD_ATTRIBUTE.exec(l)?.[2];
      return pt === undefined || pt === '*' || keep.has(pt);
    });
    const telnyxSdp = [
      ...sessionLines.filter((l) => !l.startsWith('a=group:')),
      `m=audio ${m.port} ${m.protocol} ${kept.join(' ')}`,
      ...audioLines,
      '',
    ].join('\r\n');
    const singleStream = sections.length === 1 && !m.lines.some((l) => l.startsWith('a=mid:'));
    return { keptIndex: index, pbxSdp: pbxOffer, singleStream, telnyxSdp };
  }
  return undefined;
}

/**
 * Turns Telnyx's answer into the answer to the PBX's offer, with every m-line of it. drachtio-srf
 * keeps the function for the whole call, so it holds the offer's text and no parsed SDP.
 */
export function answererFor(offer: TelnyxOffer): (telnyxAnswer: string) => string {
  const { pbxSdp, keptIndex, singleStream } = offer;
  return (telnyxAnswer) =>
    // The common case, one audio stream and no mid: parsing and writing would change nothing.
    singleStream && telnyxAnswer.match(/^m=/gm)?.length === 1 ? telnyxAnswer : reshapeAnswer(pbxSdp, keptIndex, telnyxAnswer);
}

function reshapeAnswer(pbxSdp: string, keptIndex: number, telnyxAnswer: string): string {
  const answer = parse(telnyxAnswer);
  const audio = answer.media?.[0];
  if (!audio) return telnyxAnswer;
  const media = parse(pbxSdp).media.map((m, i): MediaDescription => {
    if (i === keptIndex) return { ...audio, ...(m.mid !== undefined ? { mid: m.mid } : {}) };
    const first = payloadList(m)[0] ?? 0;
    return {
      type: m.type,
      port: 0,
      protocol: m.protocol,
      payloads: String(first),
      rtp: m.rtp.filter((r) => r.payload === first),
      fmtp: [],
      ...(m.mid !== undefined ? { mid: m.mid } : {}),
    };
  });
  const out: SessionDescription = { ...answer, media };
  delete out.groups;
  return write(out);
}
