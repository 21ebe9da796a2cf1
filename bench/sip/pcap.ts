// A minimal reader of the classic pcap files tcpdump writes: IPv4 UDP and TCP packets with their
// kernel timestamps and payloads, plus the few SIP fields the latency benchmark correlates on.
// Enough for loopback captures (link types Ethernet, Linux cooked v1/v2, raw IP, BSD loopback);
// TCP payloads come segment by segment, unreassembled (loopback neither loses nor reorders).
import { readFileSync } from 'node:fs';

export interface UdpPacket {
  /** Capture time, microseconds since the epoch. */
  us: number;
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Buffer;
}

export interface SipPacket extends UdpPacket {
  /** Request method, or undefined for a response. */
  method?: string;
  /** Response status, or undefined for a request. */
  status?: number;
  /** Request-URI user (requests only). */
  ruriUser?: string;
  callId: string;
  cseqMethod: string;
}

const ip = (b: Buffer, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function readPcap(path: string): UdpPacket[] {
  const buf = readFileSync(path);
  if (buf.length < 24) return [];
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = buf.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`${path}: not a pcap file (pcapng is not supported)`);
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  const out: UdpPacket[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const data = off + 16;
    off = data + incl;
    if (off > buf.length) break; // truncated last record
    let l3: number;
    let ethertype: number;
    switch (linkType) {
      case 1: // Ethernet
        ethertype = buf.readUInt16BE(data + 12);
        l3 = data + 14;
        break;
      case 113: // Linux cooked v1
        ethertype = buf.readUInt16BE(data + 14);
        l3 = data + 16;
        break;
      case 276: // Linux cooked v2
        ethertype = buf.readUInt16BE(data);
        l3 = data + 20;
        break;
      case 0: // BSD loopback: 4-byte family in host order
        ethertype = 0x0800;
        l3 = data + 4;
        break;
      case 12:
      case 101: // raw IP
        ethertype = 0x0800;
        l3 = data;
        break;
      default:
        throw new Error(`${path}: link type ${linkType} not supported`);
    }
    if (ethertype !== 0x0800) continue;
    const vihl = buf[l3] as number;
    const proto = buf[l3 + 9] === 17 ? 'udp' : buf[l3 + 9] === 6 ? 'tcp' : undefined;
    if (vihl >> 4 !== 4 || !proto) continue; // IPv4 UDP and TCP only
    const fragment = buf.readUInt16BE(l3 + 6) & 0x3fff;
    if (fragment !== 0) continue; // fragments: never on loopback's 64 KB MTU
    const l4 = l3 + (vihl & 0x0f) * 4;
    const ipEnd = Math.min(off, l3 + buf.readUInt16BE(l3 + 2));
    const payloadAt = proto === 'udp' ? l4 + 8 : l4 + ((buf[l4 + 12] as number) >> 4) * 4;
    out.push({
      us: sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac),
      proto,
      src: ip(buf, l3 + 12),
      dst: ip(buf, l3 + 16),
      sport: buf.readUInt16BE(l4),
      dport: buf.readUInt16BE(l4 + 2),
      payload: buf.subarray(payloadAt, ipEnd),
    });
  }
  return out;
}

/** The SIP fields of a UDP packet, or undefined when it is no SIP message (e.g. a keep-alive). */
export function parseSip(p: UdpPacket): SipPacket | undefined {
  if (p.proto !== 'udp') return undefined;
  const text = p.payload.toString('latin1', 0, Math.min(p.payload.length, 4096));
  const eol = text.indexOf('\r\n');
  if (eol < 0) return undefined;
  const first = text.slice(0, eol);
  const callId = /\r\n(?:Call-ID|i)\s*:\s*([^\r\n]+)/i.exec(text)?.[1]?.trim();
  const cseq = /\r\n(?:CSeq)\s*:\s*\d+\s+([A-Z]+)/i.exec(text)?.[1];
  if (!callId || !cseq) return undefined;
  const status = /^SIP\/2\.0 (\d{3}) /.exec(first);
  if (status) return { ...p, status: Number(status[1]), callId, cseqMethod: cseq.toUpperCase() };
  const req = /^([A-Z]+) (sips?:([^@;> ]+)@\S+|\S+) SIP\/2\.0$/.exec(first);
  if (!req) return undefined;
  return { ...p, method: req[1], ruriUser: req[3], callId, cseqMethod: cseq.toUpperCase() };
}
