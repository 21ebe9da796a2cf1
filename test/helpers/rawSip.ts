// Sends hand-written SIP over UDP and collects whatever comes back: for malformed-input tests.
import { createSocket } from 'node:dgram';

export async function sendRawUdp(from: string, to: { host: string; port: number }, message: string | Buffer, waitMs = 400): Promise<string[]> {
  const sock = createSocket('udp4');
  const replies: string[] = [];
  sock.on('message', (m) => replies.push(m.toString('latin1')));
  await new Promise<void>((resolve) => sock.bind({ address: from, port: 0 }, resolve));
  const { port } = sock.address();
  const text = typeof message === 'string' ? Buffer.from(message.replaceAll('{port}', String(port)).replaceAll('{from}', from), 'latin1') : message;
  await new Promise<void>((resolve, reject) => sock.send(text, to.port, to.host, (err) => (err ? reject(err) : resolve())));
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  return replies;
}

/** The status code of the first final (or any) response, or undefined when nothing came back. */
export function statusOf(replies: string[]): number | undefined {
  const codes = replies.map((r) => Number(/^SIP\/2\.0 (\d{3})/.exec(r)?.[1])).filter((c) => !Number.isNaN(c));
  return codes.find((c) => c >= 200) ?? codes[0];
}
