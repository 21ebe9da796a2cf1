// Redis commands and their replies read off a loopback capture (bench/sip/pcap.ts), each with the
// capture time of the segment that completed it. RESP is parsed with redis-parser, the parser
// ioredis itself uses: requests are RESP arrays of bulk strings, so it reads both directions.
// On one connection Redis answers in order, so the n-th reply is the n-th command's.
import RedisParser from 'redis-parser';
import type { UdpPacket as IpPacket } from './pcap.js';

export interface RedisExchange {
  /** The command and its arguments, e.g. ['evalsha', sha, '10', ...keys, ...args]. */
  command: string[];
  /** When the segment completing the command left the client, µs since the epoch. */
  sentUs: number;
  /** When the segment completing its reply left Redis. */
  repliedUs: number;
}

/** Parses one direction of a connection; returns each message with its completion time. */
function messages(segments: IpPacket[]): { value: unknown; us: number }[] {
  const out: { value: unknown; us: number }[] = [];
  let now = 0;
  const parser = new RedisParser({
    returnReply: (value) => out.push({ value, us: now }),
    returnError: (err) => out.push({ value: err, us: now }),
  });
  for (const s of segments) {
    if (s.payload.length === 0) continue;
    now = s.us;
    parser.execute(s.payload);
  }
  return out;
}

export function redisExchanges(packets: IpPacket[], redisPort: number): RedisExchange[] {
  const toRedis = new Map<number, IpPacket[]>();
  const fromRedis = new Map<number, IpPacket[]>();
  for (const p of packets) {
    if (p.proto !== 'tcp') continue;
    const [map, client] = p.dport === redisPort ? [toRedis, p.sport] : p.sport === redisPort ? [fromRedis, p.dport] : [undefined, 0];
    if (!map) continue;
    const list = map.get(client) ?? [];
    list.push(p);
    map.set(client, list);
  }
  const out: RedisExchange[] = [];
  for (const [client, sent] of toRedis) {
    const commands = messages(sent);
    const replies = messages(fromRedis.get(client) ?? []);
    commands.forEach((c, i) => {
      const reply = replies[i];
      if (reply && Array.isArray(c.value)) out.push({ command: c.value.map(String), sentUs: c.us, repliedUs: reply.us });
    });
  }
  return out;
}
