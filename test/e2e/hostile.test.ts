// Hostile input (issue: load, faults and hostile input): malformed SIP in the style of RFC 4475,
// header injection through numbers, and a scanner flood. Nothing may crash or wedge the edge.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, drachtioBin, drachtioVersion } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { sendRawUdp, statusOf } from '../helpers/rawSip.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { expectOk, outboundCall } from './call.js';

const SDP = ['v=0', 'o=x 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

function invite(n: number, parts: { ruri?: string; from?: string; body?: string; extra?: string[]; contentLength?: number } = {}): string {
  const body = parts.body ?? SDP;
  return [
    `INVITE ${parts.ruri ?? 'sip:+447911123456@127.0.0.3'} SIP/2.0`,
    `Via: SIP/2.0/UDP {from}:{port};branch=z9hG4bK-hostile-${n}-${Date.now()}`,
    'Max-Forwards: 70',
    `From: ${parts.from ?? '<sip:+447418613982@{from}>'};tag=h${n}`,
    'To: <sip:+447911123456@127.0.0.3>',
    `Call-ID: hostile-${n}-${Date.now()}@{from}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:pbx@{from}:{port}>',
    ...(parts.extra ?? []),
    'Content-Type: application/sdp',
    `Content-Length: ${parts.contentLength ?? Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

describeWithDrachtio('hostile input', () => {
  let fx: EdgeFixture;
  let edgeAddr: { host: string; port: number };

  beforeAll(async () => {
    fx = await startEdgeFixture();
    edgeAddr = { host: fx.drachtio.sipAddress, port: fx.drachtio.sipPort };
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    await fx.edge.redis.flushall();
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
  });

  // Parseable requests from the trunk reach the app: each must get its 4xx.
  const refusedByTheApp: [string, string, number][] = [
    ['CRLF escaped into the dialled number', invite(1, { ruri: 'sip:+44791112%0D%0AX-Evil:%20yes@127.0.0.3' }), 484],
    ['a quoted number', invite(2, { ruri: 'sip:%22+447911123456%22@127.0.0.3' }), 484],
    ['an over-long number', invite(3, { ruri: `sip:+44${'7'.repeat(600)}@127.0.0.3` }), 484],
    ['letters for a number', invite(4, { ruri: 'sip:alice@127.0.0.3' }), 484],
    ['a From without a user', invite(5, { from: '<sip:{from}>' }), 403],
    ['a From that is not a trunk number', invite(6, { from: '"+447418613982" <sip:+447418613983@{from}>' }), 403],
    ['no SDP offer', invite(7, { body: '' }), 488],
    ['garbage SDP', invite(8, { body: 'this is not sdp at all' }), 488],
  ];

  it.each(refusedByTheApp.map(([name, message, code]) => ({ name, message, code })))('$name → $code', async ({ message, code }) => {
    expect(statusOf(await sendRawUdp(addrs.pbx, edgeAddr, message))).toBe(code);
  });

  // Broken framing is the SIP stack's to drop or refuse: never a 5xx, never a crash.
  const broken: [string, string | Buffer][] = [
    ['no Call-ID', invite(10).replace(/Call-ID: [^\r]+\r\n/, '')],
    ['CSeq not a number', invite(11).replace('CSeq: 1 INVITE', 'CSeq: one INVITE')],
    ['Content-Length beyond the body', invite(12, { contentLength: 9000 })],
    ['a negative Content-Length', invite(13, { contentLength: -5 })],
    ['a start line only', 'INVITE\r\n\r\n'],
    ['NUL bytes', Buffer.from(invite(14).replace('Max-Forwards: 70', 'Max-Forwards: 7\0\0'), 'latin1')],
    ['a 20 kB header', invite(15, { extra: [`X-Big: ${'a'.repeat(20_000)}`] })],
    ['binary noise', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))],
  ];

  it.each(broken)('%s: a 4xx or nothing', async (_name, message) => {
    const status = statusOf(await sendRawUdp(addrs.pbx, edgeAddr, message));
    if (status !== undefined) expect(status).toBeGreaterThanOrEqual(400);
    if (status !== undefined) expect(status).toBeLessThan(500);
  });

  // Not broken: a well-formed request of a method nobody recognises. drachtio-server answers it
  // itself (deploy/drachtio/patches/0003-answer-unrouted-methods.patch; before it, nothing).
  it('an unknown method gets 501 from the stack, with Allow, as RFC 3261 §8.2.1 / §21.5.2 say', async () => {
    const replies = await sendRawUdp(addrs.pbx, edgeAddr, invite(16).replaceAll('INVITE', 'FROB'), 5000, true);
    expect(statusOf(replies), `${drachtioBin} reports ${drachtioVersion} (+tlsverify.3 or later answers it)`).toBe(501);
    expect(replies.join('')).toMatch(/^Allow: ACK, BYE, CANCEL, INVITE, OPTIONS, REGISTER\r$/m);
  });

  it('an unknown SIP version gets 505 from the stack, as RFC 3261 §21.5.6 says', async () => {
    expect(statusOf(await sendRawUdp(addrs.pbx, edgeAddr, invite(17).replace('SIP/2.0\r\n', 'SIP/3.0\r\n')))).toBe(505);
  });

  it('a display name never reaches Telnyx', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    expect(telnyx!.messages).not.toMatch(/wa-edge-test-pbx/); // the PBX's User-Agent stays inside too
  });

  it('after all of it the edge still connects calls and has no call left over', async () => {
    expect(fx.edge.drachtio.connected).toBe(true);
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
  });

  it('a scanner flood from one source is cut off with a ban; the trunk keeps its calls', async () => {
    fx.reconfigure({ sip: { scannerBan: { requestsPer10s: 20, authFailuresPer10m: 5, banSeconds: 60 } } });
    const options = (n: number) =>
      [`OPTIONS sip:100@127.0.0.3 SIP/2.0`, `Via: SIP/2.0/UDP {from}:{port};branch=z9hG4bK-scan-${n}`, 'Max-Forwards: 70', `From: <sip:100@{from}>;tag=s${n}`, 'To: <sip:100@127.0.0.3>', `Call-ID: scan-${n}-${Date.now()}`, 'CSeq: 1 OPTIONS', 'User-Agent: Zoiper', 'Content-Length: 0', '', ''].join('\r\n');
    const codes: (number | undefined)[] = [];
    // Each one answered before the next is sent (403, then 503 once banned), however loaded the box.
    for (let i = 0; i < 40; i++) codes.push(statusOf(await sendRawUdp(addrs.unknown, edgeAddr, options(i), 2000, true)));
    expect(codes.slice(0, 20).every((c) => c === 403)).toBe(true); // unknown_source while under the limit
    expect(codes.slice(21).every((c) => c === 503)).toBe(true); // banned
    const banned = await fx.edge.metrics.bannedSourcesTotal.get();
    expect(banned.values.find((v) => v.labels.cause === 'flood')?.value).toBe(1);
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('a known scanner User-Agent is banned at once', async () => {
    const msg = ['OPTIONS sip:100@127.0.0.3 SIP/2.0', 'Via: SIP/2.0/UDP {from}:{port};branch=z9hG4bK-fs', 'Max-Forwards: 70', 'From: <sip:100@{from}>;tag=fs', 'To: <sip:100@127.0.0.3>', `Call-ID: fs-${Date.now()}`, 'CSeq: 1 OPTIONS', 'User-Agent: friendly-scanner', 'Content-Length: 0', '', ''].join('\r\n');
    expect(statusOf(await sendRawUdp('127.0.0.6', edgeAddr, msg))).toBe(503);
  });
});
