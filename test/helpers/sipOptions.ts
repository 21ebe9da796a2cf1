// One SIP OPTIONS over UDP from a loopback address, as a monitoring probe or `sipsak` would send
// it; resolves with the response's status code, or undefined when nothing answers in time.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

export function sipOptions(from: string, host: string, port: number, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (code: number | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(code);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('message', (msg) => {
      const m = /^SIP\/2\.0 (\d{3})/.exec(msg.toString('utf8'));
      if (m && m[1] !== '100') done(Number(m[1]));
    });
    sock.on('error', () => done(undefined));
    sock.bind({ address: from, port: 0 }, () => {
      const local = sock.address().port;
      const tag = randomBytes(4).toString('hex');
      const msg = [
        `OPTIONS sip:${host}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${from}:${local};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@${from}>;tag=${tag}`,
        `To: <sip:${host}:${port}>`,
        `Call-ID: ${randomBytes(8).toString('hex')}@${from}`,
        'CSeq: 1 OPTIONS',
        `Contact: <sip:probe@${from}:${local}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(msg, port, host);
    });
  });
}
