// SDP towards Telnyx and back (SPEC §3): audio only, codecs from the allow-list in its order,
// and an answer to the PBX with as many m-lines as its offer (refused streams at port 0, RFC 3264).
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';

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
  sdp: string;
  /** Index of the PBX's m-line that is sent on; every other one is refused in the answer. */
  keptIndex: number;
}

/** Undefined when no audio stream carries an allowed codec: the call gets 488. */
export function offerToTelnyx(pbxOffer: string, allowedCodecs: readonly string[]): TelnyxOffer | undefined {
  let session: SessionDescription;
  try {
    session = parse(pbxOffer);
  } catch {
    return undefined;
  }
  const allowed = allowedCodecs.map((c) => c.toLowerCase());
  const rank = (codec: string | undefined) => (codec === undefined ? -1 : allowed.indexOf(codec.toLowerCase()));
  for (const [index, m] of (session.media ?? []).entries()) {
    if (m.type !== 'audio' || m.port === 0) continue;
    const kept = payloadList(m)
      .filter((pt) => rank(codecOf(m, pt)) >= 0)
      .sort((a, b) => rank(codecOf(m, a)) - rank(codecOf(m, b)));
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
    const out: SessionDescription = { ...session, media: [audio] };
    delete out.groups;
    return { sdp: write(out), keptIndex: index };
  }
  return undefined;
}

/** Telnyx's answer, re-shaped to answer every m-line of the PBX's offer. */
export function answerToPbx(pbxOffer: string, keptIndex: number, telnyxAnswer: string): string {
  const offer = parse(pbxOffer);
  const answer = parse(telnyxAnswer);
  const audio = answer.media?.[0];
  if (!audio) return telnyxAnswer;
  const media = offer.media.map((m, i): MediaDescription => {
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
