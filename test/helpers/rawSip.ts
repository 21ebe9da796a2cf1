// Sends hand-written SIP over UDP and collects whatever comes back: for malformed-input tests.
import { createSocket } from 'node:dgram';

/**
 * Sends one datagram from `from` and collects what comes back for `waitMs`; with `untilFinal`, only
 * until the first final response (waitMs is then the most it waits: a message that must be
 * answered is not judged on how fast a loaded box answers it).
 */
export async function sendRawUdp(from: string, to: { host: string; port: number }, message: string | Buffer, waitMs = 400, untilFinal = false): Promise<string[]> {
  const sock = createSocket('udp4');
  const replies: string[] = [];
  let answered: () => void = () => {};
  const final = new Promise<void>((resolve) => (answered = resolve));
  sock.on('message', (m) => {
    const text = m.toString('latin1');
    replies.push(text);
    if (Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1]) >= 200) answered();
  });
  await new Promise<void>((resolve) => sock.bind({ address: from, port: 0 }, resolve));
  const { port } = sock.address();
  const text = typeof message === 'string' ? Buffer.from(message.replaceAll('{port}', String(port)).replaceAll('{from}', from), 'latin1') : message;
  await new Promise<void>((resolve, reject) => sock.send(text, to.port, to.host, (err) => (err ? reject(err) : resolve())));
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise((r) => (timer = setTimeout(r, waitMs)));
  await (untilFinal ? Promise.race([waited, final]) : waited);
  clearTimeout(timer);
  sock.close();
  return replies;
}

/** The status code of the first final (or any) response, or undefined when nothing came back. */
export function statusOf(replies: string[]): number | undefined {
  const codes = replies.map((r) => Number(/^SIP\/2\.0 (\d{3})/.exec(r)?.[1])).filter((c) => !Number.isNaN(c));
  return codes.find((c) => c >= 200) ?? codes[0];
}
