// SDP towards Telnyx and back (SPEC §3): audio only, codecs from the allow-list in its order,
// and an answer to the PBX with as many m-lines as its offer (refused streams at port 0, RFC 3264).
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { perConfig } from '../config/derived.js';

type Media = SessionDescription['media'][number];

// Static payload types that may appear without an rtpmap line (RFC 3551).
const STATIC_CODECS: Record<number, string> = { 0: 'PCMU', 3: 'GSM', 8: 'PCMA', 9: 'G722', 18: 'G729' };

function codecOf(m: Media, pt: number): string | undefined {
  return m.rtp.find((r) => r.payload === pt)?.codec ?? STATIC_CODECS[pt];
}

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
  /** What goes to Telnyx, as text only once the call is admitted (writeOffer): most refusals never need it. */
  telnyx: SessionDescription;
}

/** Lower-cased codec name → its place in `media.codecs`, once per configuration. */
const codecRanks = perConfig((codecs: readonly string[]) => {
  const ranks = new Map<string, number>();
  codecs.forEach((c, i) => ranks.has(c.toLowerCase()) || ranks.set(c.toLowerCase(), i));
  return ranks;
});

export const writeOffer = (offer: TelnyxOffer): string => write(offer.telnyx);

/** Undefined when no audio stream carries an allowed codec: the call gets 488. */
export function offerToTelnyx(pbxOffer: string, allowedCodecs: readonly string[]): TelnyxOffer | undefined {
  let session: SessionDescription;
  try {
    session = parse(pbxOffer);
  } catch {
    return undefined;
  }
  const ranks = codecRanks(allowedCodecs);
  for (const [index, m] of (session.media ?? []).entries()) {
    if (m.type !== 'audio' || m.port === 0) continue;
    const kept = payloadList(m)
      .map((pt) => ({ pt, rank: ranks.get(codecOf(m, pt)?.toLowerCase() ?? '') ?? -1 }))
      .filter((p) => p.rank >= 0)
      .sort((a, b) => a.rank - b.rank) // stable: equal ranks keep the offer's order
      .map((p) => p.pt);
    // telephone-event alone carries no voice.
    if (!kept.some((pt) => codecOf(m, pt)?.toLowerCase() !== 'telephone-event')) continue;
    const keep = new Set(kept);
    const audio: Media = {
      ...m,
      payloads: kept.join(' '),
      rtp: m.rtp.filter((r) => keep.has(r.payload)),
      fmtp: m.fmtp.filter((f) => keep.has(f.payload)),
      rtcpFb: m.rtcpFb?.filter((f) => f.payload === '*' || keep.has(Number(f.payload))),
    };
    delete audio.mid;
    // RFC 5576 source attributes name the caller: a softphone's CNAME is its own address-of-record
    // (`sip:alice@edge`), which Telnyx must not see (SPEC §1). They are optional; Telnyx needs none.
    delete audio.ssrcs;
    delete audio.ssrcGroups;
    const telnyx: SessionDescription = { ...session, media: [audio] };
    delete telnyx.groups;
    const singleStream = session.media.length === 1 && session.media[0]?.mid === undefined;
    return { keptIndex: index, pbxSdp: pbxOffer, singleStream, telnyx };
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
