// RFC 4475's 49 torture messages (test/e2e/rfc4475/, byte for byte), each sent raw over UDP and over
// TCP to a running edge (issue 34): the valid ones are understood (a final answer, never an internal
// error, over the transport their top Via names: over the other one drachtio-server's Via check
// refuses them, 400 or nothing), the invalid ones refused with a 4xx or dropped, stray responses
// dropped; drachtio-server and the edge never crash and hold no lease afterwards; then a trunk call
// and a softphone registration still work. Which messages drachtio-server answers itself, before
// the edge sees them, is measured and printed (the edge's middleware stack records every request it
// is handed). drachtio-server answers itself (docs/operations.md §6, "Answered by drachtio-server"):
// a message sofia-sip cannot parse or whose Via names another transport (400, or nothing), an
// unknown SIP version (505), a CANCEL/BYE that matches nothing (481), and, with the project's patch
// 0003, a request no connected application takes: an unknown method 501, a known one (MESSAGE,
// REFER) 405, both with `Allow: ACK, BYE, CANCEL, INVITE, OPTIONS, REGISTER`.
// One valid message, `intmeth`, no one answers: sofia-sip's parser drops it (DROPPED_BY_PARSER).
//
// The messages' Vias name hosts of example.com: drachtio-server answers a UDP request at the
// source address (`received`) and the Via's port (5060 unless it says another, rport aside), so the
// UDP sender listens on 5060, 5050 and 5070 of an address of its own, and on TCP 5060 for the
// answers to Vias that say TCP; a TCP request is answered on its connection.
import { readdirSync, readFileSync } from 'node:fs';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, drachtioBin, drachtioVersion, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { ALICE, BUSINESS, SOFTPHONE_REALM, USER, aliceRingsForBusiness } from '../helpers/config.js';
import { describeSipp, sipp } from '../helpers/sipp.js';
import { expectOk, outboundCall } from './call.js';

const DIR = fileURLToPath(new URL('./rfc4475/', import.meta.url));
/** The torture sender's own address: nothing else in the suite listens on its port 5060. */
const SENDER = '127.0.0.44';
/** The Via ports the messages name (5060 by default; quotbal 5050; mpart01 5070, with rport). */
const VIA_PORTS = [5060, 5050, 5070];

/** RFC 4475's verdict on each message (its README.md has the sections). */
const RESPONSES = ['unreason', 'noreason', 'bcast', 'bigcode', 'scalarlg'];
const INVALID = [
  // 3.1.2 invalid messages (scalarlg and bigcode are responses, above)
  'badinv01', 'clerr', 'ncl', 'scalar02', 'quotbal', 'ltgtruri', 'lwsruri', 'lwsstart', 'trws', 'escruri', 'baddate', 'regbadct', 'badaspec', 'baddn', 'badvers', 'mismatch01', 'mismatch02',
  // 3.3: required header fields missing, several values where one is allowed, two Content-Lengths
  'insuf', 'multi01', 'mcl01',
];
/** RFC 3261 §21.5.6 answers an unknown SIP version 505 (RFC 4475 §3.1.2.16 says so too). */
const ALSO_ALLOWED: Record<string, number> = { badvers: 505 };
/**
 * A valid request no application takes, answered by drachtio-server itself with an Allow header
 * naming what the edge takes (deploy/drachtio/patches/0003-answer-unrouted-methods.patch; without
 * it, no answer at all). RFC 3261 §8.2.1 / §21.5.2: a method the server does not recognise gets 501
 * (§3.1.1.5 `RE%47IST%45R`, which is not REGISTER). The same for well-formed requests below.
 */
const UNSUPPORTED_METHOD: Record<string, number> = { esc02: 501 };
/**
 * Valid, but sofia-sip's parser (in drachtio-server, before any of its code or the edge) drops it
 * unanswered (measured, sofia log "tport_deliver: bad msg"): §3.1.1.2 `!interesting-Method…`. Two
 * causes: sofia-sip's sip_method_d takes an extension method of RFC 3261 `unreserved` characters, not
 * `token` ones, so the method's '`' and '+' fail it; and its To display name holds a NUL as a
 * quoted-pair (RFC 3261 allows %x00), which sofia-sip's C-string header scan cannot pass (over TCP
 * it waits for the rest of a message that never comes). A known gap, not answered by any patch here.
 */
const DROPPED_BY_PARSER = ['intmeth'];
/** What Allow says: the methods the edge routes (src/sip/router.ts) and those a dialog takes, as the patch sorts them. */
const EDGE_ALLOW = 'ACK, BYE, CANCEL, INVITE, OPTIONS, REGISTER';
/** The patch level (`+tlsverify.N`) from which drachtio-server answers them; an older binary is named in the failure. */
const ANSWERING_PATCH_LEVEL = 3;
const patchLevel = Number(/\+tlsverify\.(\d+)$/.exec(drachtioVersion?.trim() ?? '')?.[1] ?? 0);
const rebuildHint =
  patchLevel < ANSWERING_PATCH_LEVEL ? `\n${drachtioBin} reports ${drachtioVersion}: below +tlsverify.${ANSWERING_PATCH_LEVEL} it does not answer methods no application takes; rebuild it with scripts/install-drachtio-server.sh` : '';

interface Outcome {
  name: string;
  transport: 'udp' | 'tcp';
  statuses: number[];
  /** The final answer's status line, for the table. */
  line?: string;
  /** The final answer's Allow header, if any. */
  allow?: string;
  /** The edge's application was handed a request with this Call-ID. */
  seenByEdge: boolean;
}

const messages = readdirSync(DIR)
  .filter((f) => f.endsWith('.dat'))
  .sort()
  .map((f) => ({ name: f.slice(0, -4), bytes: readFileSync(DIR + f) }));

const callIdOf = (bytes: Buffer) => /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(bytes.toString('latin1'))?.[1] ?? '';
const statusesOf = (text: string) => [...text.matchAll(/^SIP\/2\.0 (\d{3}) /gm)].map((m) => Number(m[1]));
const finalLineOf = (text: string) => [...text.matchAll(/^SIP\/2\.0 ([2-6]\d\d [^\r\n]*)/gm)][0]?.[1];
/** The Allow header of the first final response in `text`. */
const finalAllowOf = (text: string) => {
  const response = text.split(/(?=^SIP\/2\.0 )/m).find((part) => /^SIP\/2\.0 [2-6]/.test(part));
  return response ? /^Allow[ \t]*:[ \t]*([^\r\n]*)/im.exec(response)?.[1]?.trim() : undefined;
};
/**
 * The transport the top Via names ('UDP', 'TCP', 'TLS'). drachtio-server (sofia-sip's nta,
 * agent_check_request_via) refuses a request that arrived over another one, before any application
 * sees it: 400 or nothing. Each message is judged on the transport its Via names.
 */
function viaTransport(bytes: Buffer): string {
  const unfolded = bytes.toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  return /^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*(\w+)/im.exec(unfolded)?.[1]?.toUpperCase() ?? '';
}
const final = (o: Outcome) => o.statuses.find((s) => s >= 200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything that comes back to SENDER, by Call-ID (UDP and TCP listeners) or by connection (TCP sends). */
class Collector {
  private readonly byCallId = new Map<string, string[]>();
  private readonly udp: UdpSocket[] = [];
  private tcpServer?: Server;
  private readonly sockets = new Set<Socket>();

  async listen(): Promise<void> {
    for (const port of VIA_PORTS) {
      const s = createSocket('udp4');
      s.on('message', (m) => this.add(m.toString('latin1')));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address: SENDER, port }, resolve);
      });
      this.udp.push(s);
    }
    this.tcpServer = createServer((sock) => this.track(sock, (text) => this.add(text)));
    await new Promise<void>((resolve) => this.tcpServer!.listen(5060, SENDER, resolve));
  }

  private add(text: string) {
    for (const part of text.split(/(?=^SIP\/2\.0 )/m)) {
      const id = callIdOf(Buffer.from(part, 'latin1'));
      this.byCallId.set(id, [...(this.byCallId.get(id) ?? []), part]);
    }
  }

  private track(sock: Socket, onText: (text: string) => void) {
    this.sockets.add(sock);
    sock.on('data', (d) => onText(d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => this.sockets.delete(sock));
  }

  statuses(callId: string): number[] {
    return (this.byCallId.get(callId) ?? []).flatMap(statusesOf);
  }

  finalLine(callId: string): string | undefined {
    return finalLineOf((this.byCallId.get(callId) ?? []).join(''));
  }

  finalAllow(callId: string): string | undefined {
    return finalAllowOf((this.byCallId.get(callId) ?? []).join(''));
  }

  /** Sends over UDP from SENDER:5060 and waits up to waitMs for a final answer. */
  async sendUdp(bytes: Buffer, to: { host: string; port: number }, waitMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => this.udp[0]!.send(bytes, to.port, to.host, (e) => (e ? reject(e) : resolve())));
    await this.waitFinal(callIdOf(bytes), waitMs);
  }

  /** Sends over a new TCP connection and keeps it open (answers come back on it) until close(). */
  async sendTcp(bytes: Buffer, to: { host: string; port: number }, waitMs: number): Promise<string[]> {
    const replies: string[] = [];
    const sock = connect({ host: to.host, port: to.port, localAddress: SENDER });
    this.track(sock, (text) => replies.push(text));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(bytes);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !statusesOf(replies.join('')).some((s) => s >= 200) && !sock.destroyed) await sleep(20);
    return replies;
  }

  private async waitFinal(callId: string, waitMs: number) {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !this.statuses(callId).some((s) => s >= 200)) await sleep(20);
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    for (const s of this.udp) s.close();
    await new Promise((r) => (this.tcpServer ? this.tcpServer.close(r) : r(undefined)));
  }
}

describeWithDrachtio('RFC 4475 torture messages over UDP and TCP (issue 34)', () => {
  let fx: EdgeFixture;
  let collector: Collector;
  const seen = new Set<string>();
  const outcomes: Outcome[] = [];
  let enginePid: number | undefined;

  beforeAll(async () => {
    fx = await startEdgeFixture(() => ({
      ...aliceRingsForBusiness(),
      // Every message comes from one address: no ban may hide what the stack and the edge do.
      sip: { realm: SOFTPHONE_REALM, registration: { minExpires: 60, maxExpires: 3600 }, scannerBan: { requestsPer10s: 10_000, authFailuresPer10m: 10_000, banSeconds: 1 } },
      numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice'] }],
    }));
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    enginePid = fx.drachtio.pid();
    // Observation only: the first entry of drachtio-srf's middleware stack notes each request the
    // edge is handed, then passes it on untouched.
    const app = (fx.edge.srf as unknown as { _app: { stack: { method: string; handle: (req: { get(h: string): string }, res: unknown, next: () => void) => void }[] } })._app;
    app.stack.unshift({ method: '*', handle: (req, _res, next) => (seen.add(req.get('Call-ID')), next()) });
    collector = new Collector();
    await collector.listen();
  }, 60_000);

  afterAll(async () => {
    // TORTURE_DUMP=FILE keeps drachtio-server's log of the run (why a message went unanswered).
    if (process.env.TORTURE_DUMP) (await import('node:fs')).writeFileSync(process.env.TORTURE_DUMP, fx.drachtio.logs());
    await collector?.close();
    await fx?.stop();
  });

  it('each message, over UDP then TCP: valid ones answered, invalid ones refused 4xx or dropped, responses dropped', async () => {
    const to = { host: fx.drachtio.sipAddress, port: fx.drachtio.sipPort };
    const waitFor = (name: string) => (RESPONSES.includes(name) ? 500 : 3000);
    // UDP first, every message; then TCP, once drachtio-server has forgotten the UDP transactions
    // (32 s, RFC 3261 Timer J): the same bytes again would otherwise be a retransmission of them.
    for (const { name, bytes } of messages) await collector.sendUdp(bytes, to, waitFor(name));
    await sleep(1500); // late answers to UDP still count (a loaded box)
    for (const { name, bytes } of messages) {
      const id = callIdOf(bytes);
      outcomes.push({ name, transport: 'udp', statuses: collector.statuses(id), line: collector.finalLine(id), allow: collector.finalAllow(id), seenByEdge: seen.has(id) });
    }
    seen.clear();
    await sleep(34_000);
    for (const { name, bytes } of messages) {
      const text = (await collector.sendTcp(bytes, to, waitFor(name))).join('');
      outcomes.push({ name, transport: 'tcp', statuses: statusesOf(text), line: finalLineOf(text), allow: finalAllowOf(text), seenByEdge: seen.has(callIdOf(bytes)) });
    }

    const via = (name: string) => viaTransport(messages.find((m) => m.name === name)!.bytes);
    const table = outcomes.map((o) => `${o.name.padEnd(11)} ${o.transport} (Via ${via(o.name)})  ${(o.line ?? (o.statuses.length ? `only ${o.statuses.join(',')}` : 'no answer')).padEnd(36)} ${o.seenByEdge ? 'the edge' : o.line ? 'drachtio-server itself' : '-'}${o.allow ? ` (Allow: ${o.allow})` : ''}`);
    console.log(`[RFC 4475] message, transport, final answer, who answered:\n${table.join('\n')}`);

    const wrong: string[] = [];
    for (const o of outcomes) {
      const f = final(o);
      if (RESPONSES.includes(o.name)) {
        if (o.statuses.length > 0) wrong.push(`${o.name}/${o.transport}: a stray response was answered (${o.statuses.join(',')})`);
      } else if (INVALID.includes(o.name)) {
        if (f !== undefined && !(f >= 400 && f < 500) && f !== ALSO_ALLOWED[o.name]) wrong.push(`${o.name}/${o.transport}: invalid, answered ${f}`);
      } else if (f === 500) {
        wrong.push(`${o.name}/${o.transport}: valid, answered 500 (a handler failed)`);
      } else if (via(o.name) !== o.transport.toUpperCase()) {
        // over the other transport drachtio-server's Via check refuses it (400 or nothing): not judged
      } else if (f === undefined && !DROPPED_BY_PARSER.includes(o.name)) {
        wrong.push(`${o.name}/${o.transport}: valid, not answered`);
      } else if (o.name in UNSUPPORTED_METHOD) {
        const expected = `${UNSUPPORTED_METHOD[o.name]} with Allow: ${EDGE_ALLOW}, from drachtio-server itself`;
        const got = `${f} with Allow: ${o.allow ?? '(none)'}, from ${o.seenByEdge ? 'the edge' : 'drachtio-server itself'}`;
        if (got !== expected) wrong.push(`${o.name}/${o.transport}: a method no application takes, answered ${got}; expected ${expected}`);
      }
    }
    expect(wrong, fx.logs().split('\n').slice(-60).join('\n') + rebuildHint).toEqual([]);
    expect(fx.logs()).not.toMatch(/handler failed/);
  }, 600_000);

  // Well-formed requests of methods no application takes, over each transport with a Via that
  // names it: an unknown method 501, a known one the edge does not route (MESSAGE) or that
  // drachtio-server takes only in a dialog (REFER) 405; each with Allow, from drachtio-server.
  it.each([
    ['X-UNKNOWN-METHOD', 501],
    ['MESSAGE', 405],
    ['REFER', 405],
  ] as const)('%s outside a dialog, over UDP and TCP: %i with Allow, answered by drachtio-server', async (method, status) => {
    const to = { host: fx.drachtio.sipAddress, port: fx.drachtio.sipPort };
    const request = (transport: 'UDP' | 'TCP') => {
      const id = `unrouted-${method.toLowerCase()}-${transport.toLowerCase()}`;
      const lines = [
        `${method} sip:${USER}@${to.host}:${to.port} SIP/2.0`,
        `Via: SIP/2.0/${transport} ${SENDER}:5060;branch=z9hG4bK-${id}`,
        'Max-Forwards: 70',
        `From: <sip:probe@${SENDER}>;tag=${id}`,
        `To: <sip:${USER}@${to.host}>`,
        `Call-ID: ${id}@wa-edge.test`,
        `CSeq: 1 ${method}`,
        ...(method === 'REFER' ? [`Refer-To: <sip:${BUSINESS}@${to.host}>`] : []),
        'Content-Length: 0',
      ];
      return { id: `${id}@wa-edge.test`, bytes: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1') };
    };
    const udp = request('UDP');
    await collector.sendUdp(udp.bytes, to, 5000);
    const tcp = request('TCP');
    const tcpText = (await collector.sendTcp(tcp.bytes, to, 5000)).join('');
    const answers = {
      udp: { final: collector.statuses(udp.id).find((c) => c >= 200), allow: collector.finalAllow(udp.id), seenByEdge: seen.has(udp.id) },
      tcp: { final: statusesOf(tcpText).find((c) => c >= 200), allow: finalAllowOf(tcpText), seenByEdge: seen.has(tcp.id) },
    };
    const expected = { final: status, allow: EDGE_ALLOW, seenByEdge: false };
    expect(answers, rebuildHint).toEqual({ udp: expected, tcp: expected });
  }, 30_000);

  it('afterwards: drachtio-server is the same process, the edge connected and idle (no call, no lease left in Redis)', async () => {
    expect(fx.drachtio.running()).toBe(true);
    expect(fx.drachtio.pid()).toBe(enginePid);
    expect(fx.edge.drachtio.connected).toBe(true);
    await fx.expectIdle(10_000); // no session; no active lease or in-flight admission in Redis
  });

  it('afterwards: a trunk call connects and the softphone registers', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    const port = await freeSipPort(addrs.softphone);
    const r = await sipp({ scenario: 'phone_register.xml', localAddress: addrs.softphone, localPort: port, remote: fx.sip, vars: { user: ALICE.username, password: ALICE.password, realm: SOFTPHONE_REALM }, timeoutSec: 20 }).done;
    expect(r.code, describeSipp(r)).toBe(0);
    expect(await fx.edge.devices.list(ALICE.username)).toHaveLength(1);
    await fx.expectIdle(10_000);
  }, 60_000);
});
