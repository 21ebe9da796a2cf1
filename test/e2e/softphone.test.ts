// Softphones end to end (SPEC §1, §2 `devices`, issue 8): SIPp as a SIP softphone that registers
// with digest auth on 127.0.0.4 (a second contact on 127.0.0.6), Telnyx on 127.0.0.2, the PBX on
// 127.0.0.1, the edge's drachtio-server on 127.0.0.3, real Redis.
//
// A softphone that registers and is then called is ONE SIPp process: phone_register_wait.xml
// registers and waits, and the edge's INVITE (a Call-ID SIPp does not know) runs the out-of-call
// scenario given with -oocsf (phone_ooc_answer.xml / phone_ooc_ring_cancel.xml) on the same socket,
// so "rung at the address its REGISTER came from" is what the test observes.
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { messagesOf, sipp, scenarioPath, timeOf, type SippResult, type SippRun } from '../helpers/sipp.js';
import { expectOk, inboundCall, outboundCall } from './call.js';
import { until } from '../helpers/until.js';
import { challengeOf, digestAuthorization, rawClient } from '../helpers/digestClient.js';

const REALM = 'edge.wa-test';
const ALICE = { user: 'alice', password: 'alice-secret-1' };
const DIAL_STRING = 'sip:+447911123456@whatsapp-447418613982.sip.telnyx.com';
/** A second softphone address (the first is addrs.softphone, 127.0.0.4). */
const SOFTPHONE_2 = '127.0.0.6';

/** The Contact SIPp registers by default from address:port (phone_*.xml). */
const contactOf = (address: string, port: number) => `sip:alice@${address}:${port};transport=UDP`;

/** The messages SIPp received whose first line matches `firstLine`. */
function received(r: SippResult, firstLine: RegExp): string[] {
  return messagesOf(r).filter((m) => /message received/.test(m) && firstLine.test(m.split('\n').find((l) => /^(SIP\/2\.0 |[A-Z]+ sip:)/.test(l)) ?? ''));
}
function header(msg: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg);
  return m?.[1]?.trim();
}

/** A UDP socket on address:port that keeps whatever reaches it: a phone gone silent, or the address of an expired contact. */
async function udpCatcher(address: string, port: number): Promise<{ caught: string[]; close(): void }> {
  const sock = createSocket('udp4');
  const caught: string[] = [];
  sock.on('message', (m) => caught.push(m.toString('utf8')));
  await new Promise<void>((resolve) => sock.bind(port, address, resolve));
  return { caught, close: () => sock.close() };
}

describeWithDrachtio('softphone: registers with digest auth, calls out like a trunk, is rung for WhatsApp calls', () => {
  let fx: EdgeFixture;
  const pbxTarget = () => `sip:100@${addrs.pbx}:${fx.pbxPort}`;

  const reconfigure = (overrides?: Record<string, unknown>) => fx.reconfigure(overrides);

  /** One softphone SIPp process against the edge; alice's credentials and the realm unless overridden. */
  function phone(opts: { scenario: string; address?: string; port?: number; vars?: Record<string, string | number>; ooc?: string; timeoutSec?: number }): SippRun {
    return sipp({
      scenario: opts.scenario,
      localAddress: opts.address ?? addrs.softphone,
      localPort: opts.port,
      remote: fx.sip,
      vars: { ...ALICE, realm: REALM, ...opts.vars },
      timeoutSec: opts.timeoutSec ?? 20,
      // After the -set options: SIPp reads -oocsf then, and the main scenario declares its variables.
      extraArgs: opts.ooc ? ['-oocsf', scenarioPath(opts.ooc)] : [],
    });
  }

  /** Registers alice from address:port with phone_register.xml (the process exits afterwards). */
  async function register(address: string, port: number, vars: Record<string, string | number> = {}): Promise<SippResult> {
    const r = await phone({ scenario: 'phone_register.xml', address, port, vars }).done;
    expectOk(r, fx);
    return r;
  }

  const bindings = () => fx.edge.devices.list('alice');
  /** Shortens alice's first binding to 1 s in Redis: minExpires keeps a REGISTER from asking for that. */
  async function expireFirstBindingSoon(): Promise<void> {
    const [b] = await bindings();
    const { expiresAt: _e, ...binding } = b!;
    await fx.edge.devices.set('alice', [{ binding, expiresSeconds: 1 }]);
  }
  const waitForBindings = (n: number) => until(async () => (await bindings()).length === n, 5_000, `${n} registered contact(s) of alice`, () => '', 25);

  beforeAll(async () => {
    fx = await startEdgeFixture((p) => ({
      sip: {
        realm: REALM,
        registration: { minExpires: 60, maxExpires: 3600 },
        inboundTargetTimeoutSeconds: 10,
        // Every test's "phones" share 127.0.0.4: the whole file is one burst from one address
        // (about 30 requests in 10 s), which no single softphone sends. Auth failures keep the default.
        scannerBan: { requestsPer10s: 500 },
      },
      devices: [{ username: ALICE.user, password: ALICE.password, numbers: [BUSINESS], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice', `sip:100@${addrs.pbx}:${p.pbxPort}`] }],
    }));
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    reconfigure();
    await fx.edge.redis.flushall();
  });
  afterEach(async () => fx.expectIdle());

  it('REGISTER: 401 with the configured realm and qop=auth, then 200 listing the Contact with the expiry clamped to maxExpires; Redis holds the binding at the source address', async () => {
    const port = await freeSipPort(addrs.softphone);
    const before = Date.now();
    const r = await register(addrs.softphone, port, { expires: 7200 });

    const [challenge] = received(r, /^SIP\/2\.0 401/);
    expect(header(challenge!, 'WWW-Authenticate')).toMatch(new RegExp(`^Digest .*realm="${REALM.replace('.', '\\.')}".*qop="auth"`));
    const [ok] = received(r, /^SIP\/2\.0 200/);
    expect(header(ok!, 'CSeq')).toBe('2 REGISTER');
    expect(header(ok!, 'Contact')).toBe(`<${contactOf(addrs.softphone, port)}>;expires=3600`);

    const [b, ...more] = await bindings();
    expect(more).toEqual([]);
    expect(b).toMatchObject({ uri: contactOf(addrs.softphone, port), source: { address: addrs.softphone, port, transport: 'udp' }, userAgent: 'wa-edge-test-phone' });
    expect(b!.expiresAt).toBeGreaterThanOrEqual(before + 3600_000);
    expect(b!.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it('REGISTER with Expires below minExpires: 423 with Min-Expires, nothing stored', async () => {
    const port = await freeSipPort(addrs.softphone);
    const r = await register(addrs.softphone, port, { expires: 30, code: 423 });
    const [tooBrief] = received(r, /^SIP\/2\.0 423/);
    expect(header(tooBrief!, 'Min-Expires')).toBe('60');
    expect(header(tooBrief!, 'Reason')).toBe('SIP;cause=423;text="interval_too_brief"');
    expect(await bindings()).toEqual([]);
  });

  it('REGISTER with a wrong password or an unknown username: 403 auth_failed, nothing stored', async () => {
    const attempts: Record<string, string>[] = [{ password: 'not-alices-password' }, { user: 'mallory', password: 'alice-secret-1' }];
    for (const vars of attempts) {
      const port = await freeSipPort(addrs.softphone);
      const r = await register(addrs.softphone, port, { ...vars, code: 403 });
      expect(received(r, /^SIP\/2\.0 401/)).toHaveLength(1);
      const [refused] = received(r, /^SIP\/2\.0 403/);
      expect(header(refused!, 'Reason')).toBe('SIP;cause=403;text="auth_failed"');
    }
    expect(await bindings()).toEqual([]);
    expect(await fx.edge.redis.keys('wa:{dev:*')).toEqual([]);
  });

  it('failed authentications count toward the scanner ban: the source then gets 503 + Retry-After, even with the right password', async () => {
    reconfigure({ sip: { realm: REALM, scannerBan: { requestsPer10s: 500, authFailuresPer10m: 2, banSeconds: 1 } } });
    const port = await freeSipPort(SOFTPHONE_2);
    await register(SOFTPHONE_2, port, { password: 'wrong-1', code: 403 });
    await register(SOFTPHONE_2, port, { password: 'wrong-2', code: 403 });
    const banned = await register(SOFTPHONE_2, port, { code: 503 });
    expect(received(banned, /^SIP\/2\.0 401/)).toEqual([]); // refused before any challenge
    expect(header(received(banned, /^SIP\/2\.0 503/)[0]!, 'Retry-After')).toBe('1');
    expect(await bindings()).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100)); // the ban is over
    await register(SOFTPHONE_2, port);
    expect((await bindings()).map((b) => b.source.address)).toEqual([SOFTPHONE_2]);
  });

  it('OPTIONS from a softphone: 407, then 200 once it authenticates', async () => {
    const r = await phone({ scenario: 'phone_options.xml' }).done;
    expectOk(r, fx);
    expect(received(r, /^SIP\/2\.0 407/)).toHaveLength(1);
  });

  it('calls out: INVITE → 407 → INVITE with Proxy-Authorization → admitted with its own numbers and defaultRegion → Telnyx → 200 → ACK → BYE', async () => {
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const { pbx: softphone, telnyx } = await outboundCall(
      fx,
      // A national number: the device's defaultRegion (GB) turns it into +447911123456.
      { scenario: 'phone_call.xml', localAddress: addrs.softphone, service: '07911123456', vars: { ...ALICE, realm: REALM, hold: 300 } },
      { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
    );
    expectOk(softphone, fx);
    expectOk(telnyx, fx);
    expect(received(softphone, /^SIP\/2\.0 407/)).toHaveLength(1);
    // The softphone's credentials stay with the edge.
    const [invite] = received(telnyx!, /^INVITE /);
    expect(invite).not.toMatch(/Authorization|alice/i);
    await fx.expectIdle();
    const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record![1]).toEqual(expect.arrayContaining(['direction', 'outbound', 'outcome', 'connected', 'user', USER, 'number', BUSINESS]));
  });

  it('calls as its callerId when its From is its own address-of-record (SPEC §1); a From naming another of its numbers picks that one', async () => {
    const SECOND = '+447418613983';
    reconfigure({
      devices: [{ username: ALICE.user, password: ALICE.password, numbers: [BUSINESS, SECOND], callerId: SECOND, defaultRegion: 'GB' }],
      numbers: [
        { number: BUSINESS, calling: true, inbound: ['device:alice'] },
        { number: SECOND, calling: true, inbound: [] },
      ],
    });
    for (const [from, business] of [['alice', SECOND], [BUSINESS, BUSINESS]] as const) {
      await fx.edge.permissions.grant(business, USER, 'permanent', 'test');
      const { pbx: softphone, telnyx } = await outboundCall(
        fx,
        { scenario: 'phone_call.xml', localAddress: addrs.softphone, vars: { ...ALICE, realm: REALM, from, hold: 100 } },
        { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: `sip:${USER}@whatsapp-${business.slice(1)}.sip.telnyx.com`, expected_from: business } },
      );
      expectOk(softphone, fx);
      expectOk(telnyx, fx);
    }
  });

  it("is rung for a WhatsApp call at the address its REGISTER came from, with Meta's x-wa-meta-* headers, and answers", async () => {
    const port = await freeSipPort(addrs.softphone);
    const softphone = phone({
      scenario: 'phone_register_wait.xml',
      port,
      ooc: 'phone_ooc_answer.xml',
      vars: { expected_ruri: contactOf(addrs.softphone, port), expected_from: USER },
    });
    await waitForBindings(1);
    // No PBX listens: had the edge skipped the device, Telnyx would get a failure, not a 200.
    const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call_meta.xml', vars: { hold: 300 } });
    if (telnyx.code !== 0) softphone.kill();
    const phoneResult = await softphone.done;
    expectOk(telnyx, fx);
    expectOk(phoneResult, fx);
    expect(received(phoneResult, /^INVITE /)).toHaveLength(1);
    // The fork copies Meta's headers onto the softphone's leg too, unchanged (telnyx_call_meta.xml).
    expect(received(phoneResult, /^INVITE /)[0]).toMatch(/^x-wa-meta-user-id: US\.13491208655302741918\r?$/im);
    expect(received(phoneResult, /^INVITE /)[0]).toMatch(/^x-wa-meta-cta-payload: sales\r?$/im);
    // Addressed To the business number the customer called (as a carrier's call to a DID), not to the contact.
    expect(received(phoneResult, /^INVITE /)[0]).toMatch(new RegExp(`^To: <sip:\\${BUSINESS}@[^>]+>\r?$`, 'im'));
    expect(received(phoneResult, /^BYE /)).toHaveLength(1);
    await fx.expectIdle();
    const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record![1]).toEqual(expect.arrayContaining(['direction', 'inbound', 'outcome', 'connected']));
  });

  it('behind NAT: rung at the source of its REGISTER, with the registered Contact as Request-URI', async () => {
    const port = await freeSipPort(addrs.softphone);
    // The Contact names a port nobody listens on (a private address behind NAT, in real life).
    const natPort = await freeSipPort(addrs.softphone);
    const contact = `sip:alice@${addrs.softphone}:${natPort};transport=udp`;
    const softphone = phone({ scenario: 'phone_register_wait.xml', port, ooc: 'phone_ooc_answer.xml', vars: { contact: `<${contact}>`, expected_ruri: contact } });
    await waitForBindings(1);
    expect((await bindings())[0]).toMatchObject({ uri: contact, source: { address: addrs.softphone, port } });
    const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } });
    if (telnyx.code !== 0) softphone.kill();
    const phoneResult = await softphone.done;
    expectOk(telnyx, fx);
    expectOk(phoneResult, fx);
  });

  it('two registered contacts ring at once; the first to answer wins and the other gets CANCEL', async () => {
    const [portA, portB] = [await freeSipPort(addrs.softphone), await freeSipPort(SOFTPHONE_2)];
    // A rings 300 ms before answering, so B is surely ringing when the edge cancels it.
    const answering = phone({ scenario: 'phone_register_wait.xml', port: portA, ooc: 'phone_ooc_answer.xml', vars: { expected_ruri: contactOf(addrs.softphone, portA), expected_from: USER, ring: 300 } });
    await waitForBindings(1);
    const cancelled = phone({ scenario: 'phone_register_wait.xml', address: SOFTPHONE_2, port: portB, ooc: 'phone_ooc_ring_cancel.xml', vars: { expected_ruri: contactOf(SOFTPHONE_2, portB), expected_from: USER } });
    await waitForBindings(2);
    const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 300 } });
    if (telnyx.code !== 0) [answering, cancelled].forEach((p) => p.kill());
    const [a, b] = await Promise.all([answering.done, cancelled.done]);
    expectOk(telnyx, fx);
    expectOk(a, fx);
    expectOk(b, fx);
    expect(received(a, /^INVITE /)).toHaveLength(1);
    expect(received(b, /^INVITE /)).toHaveLength(1);
    expect(received(b, /^CANCEL /)).toHaveLength(1);
    expect(received(a, /^CANCEL /)).toEqual([]);
    // Telnyx heard the ringing once, then the answer as soon as A gave it.
    expect(received(telnyx, /^SIP\/2\.0 180/)).toHaveLength(1);
    expect(timeOf(telnyx, 'received', /^SIP\/2\.0 200/) - timeOf(a, 'sent', /^SIP\/2\.0 200/)).toBeLessThan(1000);
  });

  it('two contacts answer at once: one call is connected, the other answer gets ACK + BYE straight away', async () => {
    const [portA, portB] = [await freeSipPort(addrs.softphone), await freeSipPort(SOFTPHONE_2)];
    // Both answer in the very step that reads the INVITE, so each 200 leaves before a CANCEL can be read.
    const phones = [
      phone({ scenario: 'phone_register_wait.xml', port: portA, ooc: 'phone_ooc_answer.xml', vars: { expected_from: USER, instant: 1 } }),
      phone({ scenario: 'phone_register_wait.xml', address: SOFTPHONE_2, port: portB, ooc: 'phone_ooc_answer.xml', vars: { expected_from: USER, instant: 1 } }),
    ];
    await waitForBindings(2).catch((e: unknown) => {
      phones.forEach((p) => p.kill());
      throw e;
    });
    const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 1000 } });
    if (telnyx.code !== 0) phones.forEach((p) => p.kill());
    const results = await Promise.all(phones.map((p) => p.done));
    expectOk(telnyx, fx);
    results.forEach((r) => expectOk(r, fx));
    expect(received(telnyx, /^SIP\/2\.0 200/).filter((m) => / INVITE$/.test(header(m, 'CSeq') ?? ''))).toHaveLength(1);
    // Which one wins is a race; the loser is hung up before Telnyx hangs up, the winner after.
    const hangup = timeOf(telnyx, 'sent', /^BYE /);
    const byeAt = results.map((r) => timeOf(r, 'received', /^BYE /));
    expect(byeAt.filter((t) => t < hangup)).toHaveLength(1);
    expect(byeAt.filter((t) => t >= hangup)).toHaveLength(1);
  });

  // A contact that never answers at all (a phone that went away without unregistering) cannot be
  // CANCELled before it sends a provisional: its INVITE lives until Timer B (32 s). The answer of
  // another contact must reach Telnyx at once all the same.
  it('a contact that never responds does not hold up the answer of another', async () => {
    const portA = await freeSipPort(addrs.softphone);
    const deadPort = await freeSipPort(SOFTPHONE_2);
    // The dead contact: a socket that swallows everything, as a vanished phone behind NAT does.
    const { caught, close } = await udpCatcher(SOFTPHONE_2, deadPort);
    try {
      await fx.edge.devices.set('alice', [
        { binding: { uri: contactOf(SOFTPHONE_2, deadPort), source: { address: SOFTPHONE_2, port: deadPort, transport: 'udp' } }, expiresSeconds: 600 },
      ]);
      const answering = phone({ scenario: 'phone_register_wait.xml', port: portA, ooc: 'phone_ooc_answer.xml', vars: { ring: 300, wait: 50_000 }, timeoutSec: 60 });
      await waitForBindings(2);
      const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 300 }, timeoutSec: 60 });
      if (telnyx.code !== 0) answering.kill();
      const a = await answering.done;
      expectOk(telnyx, fx);
      expectOk(a, fx);
      expect(caught.filter((m) => m.startsWith('INVITE ')).length).toBeGreaterThan(0); // it was rung too
      expect(timeOf(telnyx, 'received', /^SIP\/2\.0 200/) - timeOf(a, 'sent', /^SIP\/2\.0 200/)).toBeLessThan(1000);
    } finally {
      close();
    }
  }, 60_000);

  it('an expired registration is not rung: the call goes to the next target (the PBX)', async () => {
    const port = await freeSipPort(addrs.softphone);
    await register(addrs.softphone, port, { expires: 60 });
    await expireFirstBindingSoon();
    await new Promise((r) => setTimeout(r, 1200));

    // Whatever reaches the softphone's address is caught here.
    const { caught, close } = await udpCatcher(addrs.softphone, port);
    try {
      const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } }, [
        { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: pbxTarget(), expected_from: USER } },
      ]);
      expectOk(telnyx, fx);
      expectOk(pbx[0], fx);
    } finally {
      close();
    }
    expect(caught).toEqual([]);
    expect(await bindings()).toEqual([]);
  });

  it('of two contacts, the expired one is not rung; the live one is', async () => {
    const [expiredPort, livePort] = [await freeSipPort(addrs.softphone), await freeSipPort(SOFTPHONE_2)];
    await register(addrs.softphone, expiredPort, { expires: 60 });
    await expireFirstBindingSoon();
    // The live contact keeps the device's Redis keys alive: only the registrar script can drop the expired one.
    const live = phone({ scenario: 'phone_register_wait.xml', address: SOFTPHONE_2, port: livePort, ooc: 'phone_ooc_answer.xml', vars: { expected_ruri: contactOf(SOFTPHONE_2, livePort) } });
    await waitForBindings(2);
    await new Promise((r) => setTimeout(r, 1200));

    const { caught, close } = await udpCatcher(addrs.softphone, expiredPort);
    try {
      const { telnyx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } });
      if (telnyx.code !== 0) live.kill();
      const liveResult = await live.done;
      expectOk(telnyx, fx);
      expectOk(liveResult, fx);
    } finally {
      close();
    }
    expect(caught).toEqual([]);
    expect((await bindings()).map((x) => x.uri)).toEqual([contactOf(SOFTPHONE_2, livePort)]);
  });

  it('a device with no registered contact as the only target: 480 to Telnyx', async () => {
    reconfigure({ numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice'] }] });
    const { telnyx } = await inboundCall(fx, {
      scenario: 'pbx_call_expect_reject.xml',
      localAddress: addrs.telnyx,
      service: BUSINESS,
      vars: { from: USER, code: '480' },
    });
    expectOk(telnyx, fx);
  });

  it('REGISTER with neither Expires nor an expires parameter (RFC 3261 §10.2.1.1): registered for sip.registration.defaultExpires, each Contact of the 200 says its expiry; no Contact: the bindings listed', async () => {
    const phone = await rawClient(addrs.softphone);
    const edge = { host: fx.drachtio.sipAddress, port: fx.drachtio.sipPort };
    const register = async (opts: { expires?: number | 'none'; contacts?: string[] }) => {
      const c = challengeOf(await phone.request(edge, 'REGISTER', { user: ALICE.user, ...opts }));
      const auth = digestAuthorization(c, 'REGISTER', `sip:${edge.host}:${edge.port}`, ALICE.user, ALICE.password);
      return phone.request(edge, 'REGISTER', { user: ALICE.user, auth, ...opts });
    };
    const own = `sip:alice@${addrs.softphone}:${phone.port}`;
    /** Every Contact of an answer (drachtio-srf writes one header line each). */
    const contactsOf = (a: { text: string }) => [...a.text.matchAll(/^Contact:\s*(.*?)\r?$/gim)].flatMap((m) => m[1]!.split(/,\s*/));
    try {
      const before = Date.now();
      const ok = await register({ expires: 'none' });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.header('Contact')).toBe(`<${own}>;expires=3600`);
      const [b] = await bindings();
      expect(b!.expiresAt).toBeGreaterThanOrEqual(before + 3600_000);

      // Another default, and two Contacts: one states its own expiry, the other none.
      reconfigure({ sip: { realm: REALM, registration: { minExpires: 60, maxExpires: 3600, defaultExpires: 900 }, scannerBan: { requestsPer10s: 500 } } });
      const second = `sip:alice@${addrs.softphone}:${phone.port + 1}`;
      const two = await register({ expires: 'none', contacts: [`<${own}>;expires=120`, `<${second}>`] });
      expect(two.status, two.text).toBe(200);
      expect(contactsOf(two).sort(), two.text).toEqual([`<${own}>;expires=120`, `<${second}>;expires=900`].sort());

      // A REGISTER without Contact asks what is registered (RFC 3261 §10.2.3): nothing changes.
      const query = await register({ expires: 'none', contacts: [] });
      expect(query.status, query.text).toBe(200);
      const uris = (a: { text: string }) => contactsOf(a).map((c) => c.replace(/;expires=\d+$/, '')).sort();
      expect(uris(query)).toEqual([`<${own}>`, `<${second}>`].sort()); // the same two, their expiries counting down
      expect(await bindings()).toHaveLength(2);
    } finally {
      phone.close();
    }
  });

  it('unregister: Expires 0 removes that contact (a refresh does not duplicate); Contact * with Expires 0 clears them all', async () => {
    const [portA, portB] = [await freeSipPort(addrs.softphone), await freeSipPort(addrs.softphone)];
    await register(addrs.softphone, portA);
    await register(addrs.softphone, portA); // refresh
    await register(addrs.softphone, portB);
    expect((await bindings()).map((b) => b.uri).sort()).toEqual([contactOf(addrs.softphone, portA), contactOf(addrs.softphone, portB)].sort());

    const removed = await register(addrs.softphone, portA, { expires: 0 });
    expect(header(received(removed, /^SIP\/2\.0 200/)[0]!, 'Contact')).toMatch(new RegExp(`^<${contactOf(addrs.softphone, portB).replace(/[.;]/g, '\\$&')}>;expires=\\d+$`));
    expect((await bindings()).map((b) => b.uri)).toEqual([contactOf(addrs.softphone, portB)]);

    const cleared = await register(addrs.softphone, portB, { contact: '*', expires: 0 });
    expect(header(received(cleared, /^SIP\/2\.0 200/)[0]!, 'Contact')).toBeUndefined();
    expect(await bindings()).toEqual([]);
    expect(await fx.edge.redis.keys('wa:{dev:*')).toEqual([]);
  });
});
