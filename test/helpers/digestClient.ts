// A hand-driven SIP client over UDP for digest tests that SIPp cannot express: answer a challenge
// from one host to another, send the very same Authorization again (a replay), or a wrong password.
// It sends one request, waits for its final answer (ACKing a final answer to an INVITE), and
// computes RFC 2617 qop=auth responses the way a phone does. An answered INVITE can be ACKed and
// hung up when the test says (`ack`, `bye`): a call held exactly as long as a test needs it, which
// SIPp's timed pauses cannot do.
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export interface Target {
  host: string;
  port: number;
}

export interface Answer {
  status: number;
  /** The whole response. */
  text: string;
  header(name: string): string | undefined;
}

export interface Challenge {
  realm: string;
  nonce: string;
  stale: boolean;
}

export function challengeOf(a: Answer): Challenge {
  const h = a.header('WWW-Authenticate') ?? a.header('Proxy-Authenticate') ?? '';
  return { realm: /realm="([^"]*)"/.exec(h)?.[1] ?? '', nonce: /nonce="([^"]*)"/.exec(h)?.[1] ?? '', stale: /stale=true/i.test(h) };
}

/** `Digest ...` for method/uri answering `c` as username/password with nonce-count nc. */
export function digestAuthorization(c: Challenge, method: string, uri: string, username: string, password: string, nc = 1): string {
  const ncHex = nc.toString(16).padStart(8, '0');
  const cnonce = randomBytes(6).toString('hex');
  const response = md5([md5(`${username}:${c.realm}:${password}`), c.nonce, ncHex, cnonce, 'auth', md5(`${method}:${uri}`)].join(':'));
  return `Digest username="${username}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${ncHex}, cnonce="${cnonce}"`;
}

export interface RawClient {
  address: string;
  port: number;
  /** Requests that reached this client (unanswered): e.g. the edge ringing it as a softphone. */
  heard: string[];
  /** Sends `method` to `to` (a new transaction; same Call-ID across calls of one client) and resolves with its final answer. */
  /**
   * `domain`: the host of the client's address-of-record (From, and To of a REGISTER), e.g. a tenant's SIP domain; default its own address / the edge.
   * `expires`: a REGISTER's Expires header (default 600; `none`: no Expires header);
   * `contacts`: Contact header values, one line each (default the client's own address; `[]`: none).
   */
  request(
    to: Target,
    method: 'REGISTER' | 'INVITE' | 'OPTIONS',
    opts: { user: string; ruriUser?: string; authHeader?: string; auth?: string; domain?: string; headers?: string[]; expires?: number | 'none'; contacts?: string[]; timeoutMs?: number },
  ): Promise<Answer>;
  /** ACK of a 2xx answer to this client's INVITE (sent to `to`, Request-URI the answer's Contact). */
  ack(to: Target, answered: Answer): Promise<void>;
  /** Hangs up the call a 2xx answer set up; resolves with the BYE's final answer. */
  bye(to: Target, answered: Answer): Promise<Answer>;
  close(): void;
}

function parse(text: string): Answer {
  const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);
  return {
    status,
    text,
    header(name) {
      return new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim();
    },
  };
}

export async function rawClient(address: string): Promise<RawClient> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind({ address, port: 0 }, resolve));
  const port = sock.address().port;
  const callId = `${randomBytes(8).toString('hex')}@${address}`;
  const fromTag = randomBytes(4).toString('hex');
  let cseq = 0;
  const waiters = new Map<string, (a: Answer) => void>();
  const heard: string[] = [];
  sock.on('message', (m) => {
    const a = parse(m.toString('latin1'));
    if (a.status === 0) heard.push(a.text);
    if (a.status < 200) return;
    const key = a.header('CSeq') ?? '';
    waiters.get(key)?.(a);
    waiters.delete(key);
  });
  const send = (to: Target, text: string) =>
    new Promise<void>((resolve, reject) => sock.send(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), to.port, to.host, (e) => (e ? reject(e) : resolve())));

  const waitFinal = (key: string, what: string, timeoutMs = 5000) =>
    new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(key);
        reject(new Error(`no final answer to ${what}`));
      }, timeoutMs);
      waiters.set(key, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
  /** A request within the dialog a 2xx answer set up (no route set: the edge records no route). */
  const inDialog = (to: Target, answered: Answer, method: 'ACK' | 'BYE', seq: number) => {
    const target = /<([^>]+)>/.exec(answered.header('Contact') ?? '')?.[1] ?? `sip:${to.host}:${to.port}`;
    const from = (answered.header('From') ?? '').replace(/^.*?</, '<');
    return send(
      to,
      [
        `${method} ${target} SIP/2.0`,
        `Via: SIP/2.0/UDP ${address}:${port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
        `From: ${from}`,
        `To: ${answered.header('To')}`,
        `Call-ID: ${callId}`,
        `CSeq: ${seq} ${method}`,
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  };
  const inviteSeq = (answered: Answer) => Number(/^(\d+)/.exec(answered.header('CSeq') ?? '')?.[1] ?? 0);

  return {
    address,
    port,
    heard,
    ack: (to, answered) => inDialog(to, answered, 'ACK', inviteSeq(answered)),
    async bye(to, answered) {
      cseq = Math.max(cseq, inviteSeq(answered)) + 1;
      const answer = waitFinal(`${cseq} BYE`, `BYE (CSeq ${cseq}) to ${to.host}:${to.port}`);
      await inDialog(to, answered, 'BYE', cseq);
      return answer;
    },
    async request(to, method, opts) {
      cseq += 1;
      const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
      const ruri = method === 'REGISTER' ? `sip:${to.host}:${to.port}` : `sip:${opts.ruriUser ?? opts.user}@${to.host}:${to.port}`;
      const sdp = method === 'INVITE' ? `v=0\no=- 1 1 IN IP4 ${address}\ns=-\nc=IN IP4 ${address}\nt=0 0\nm=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n` : '';
      const lines = [
        `${method} ${ruri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${address}:${port};branch=${branch};rport`,
        `From: <sip:${opts.user}@${opts.domain ?? address}>;tag=${fromTag}`,
        `To: <sip:${method === 'REGISTER' ? opts.user : (opts.ruriUser ?? opts.user)}@${method === 'REGISTER' ? (opts.domain ?? to.host) : to.host}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        ...(opts.contacts ?? [`<sip:${opts.user}@${address}:${port}>`]).map((c) => `Contact: ${c}`),
        'Max-Forwards: 70',
        'User-Agent: wa-edge-test-raw',
        ...(method === 'REGISTER' && opts.expires !== 'none' ? [`Expires: ${opts.expires ?? 600}`] : []),
        ...(opts.auth ? [`${opts.authHeader ?? 'Authorization'}: ${opts.auth}`] : []),
        ...(opts.headers ?? []),
        ...(sdp ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(sdp.replace(/\n/g, '\r\n'))}`,
        '',
        sdp,
      ];
      const key = `${cseq} ${method}`;
      const answer = waitFinal(key, `${method} (CSeq ${cseq}) from ${to.host}:${to.port}`, opts.timeoutMs);
      await send(to, lines.join('\n'));
      const a = await answer;
      if (method === 'INVITE' && a.status >= 300) {
        // ACK of a non-2xx final answer: same branch, the answer's To (with its tag).
        await send(
          to,
          [`ACK ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP ${address}:${port};branch=${branch};rport`, `From: <sip:${opts.user}@${opts.domain ?? address}>;tag=${fromTag}`, `To: ${a.header('To')}`, `Call-ID: ${callId}`, `CSeq: ${cseq} ACK`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\n'),
        );
      }
      return a;
    },
    close: () => sock.close(),
  };
}
