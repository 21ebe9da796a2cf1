// Verified TLS to Telnyx in the engine itself (issue #22, docs/tls.md): the patched drachtio-server
// (deploy/drachtio/patches, built by scripts/install-drachtio-server.sh) checks the chain, the
// dates and the name of whoever answers an outgoing TLS connection before it sends any SIP.
// Telnyx's TLS side is Kamailio on 127.0.0.2 presenting a test certificate (test/helpers/kamailio.ts)
// and logging everything it receives; it relays to a SIPp playing Telnyx. The name the engine
// checks is the URI's host, `sip.telnyx.test`; `maddr=127.0.0.2` sends there without DNS.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEngine } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { addrs, describeWithVerifyingDrachtio, drachtioBin, drachtioVersion, freeSipPort } from '../helpers/drachtio.js';
import { freePort } from '../helpers/ports.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { describeWithKamailio, startTlsPeer, type TlsPeer } from '../helpers/kamailio.js';
import { makeTestPki, type CertFiles, type TestPki } from '../helpers/certs.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { sipp, describeSipp } from '../helpers/sipp.js';
import { expectOk, outboundCall } from './call.js';

const NAME = 'sip.telnyx.test';
/** INVITE → 503 for a refused peer: measured 0.1-0.3 s on a loaded 2-core machine; Timer B would be 32 s. */
const REFUSAL_BOUND_MS = 5_000;
const USERNAME = 'wasipedge01';
const PASSWORD = 'correct-horse-battery';

describeWithVerifyingDrachtio('verified TLS to Telnyx (the patched engine)', () => {
  describe('drachtio.spawn: the edge sets the engine\'s switches from telnyx.tls', () => {
    const spawnWithTls = async (tls: { verify: boolean; wildcard: boolean }) => {
      const contacts = [`sip:${addrs.edge}:${await freeSipPort(addrs.edge)};transport=udp,tcp`, `sips:${addrs.edge}:${await freePort(addrs.edge)};transport=tls`];
      const engine = await startEngine({ bin: drachtioBin!, contacts, logLevel: 'info', sofiaLogLevel: 3 }, createLogger('silent'), tls);
      const output = engine.output();
      await engine.stop();
      return { output, version: engine.version };
    };
    it.each([
      [{ verify: true, wildcard: true }, /outgoing TLS connections verify the far end's certificate chain and name, wildcards allowed, system CA store trusted/],
      [{ verify: true, wildcard: false }, /outgoing TLS connections verify the far end's certificate chain and name, system CA store trusted/],
    ])('%j: the engine says what it verifies', async (tls, line) => {
      const { output, version } = await spawnWithTls(tls);
      expect(output).toMatch(line);
      expect(version).toBe(drachtioVersion);
    }, 30_000);
    it('verify false: off, even when the edge\'s own environment has the switch on', async () => {
      process.env.DRACHTIO_TLS_VERIFY_SERVER_CERT = '1';
      try {
        expect((await spawnWithTls({ verify: false, wildcard: true })).output).not.toMatch(/outgoing TLS connections verify/);
      } finally {
        delete process.env.DRACHTIO_TLS_VERIFY_SERVER_CERT;
      }
    }, 30_000);
  });

  describeWithKamailio('edge → verified TLS → Telnyx', () => {
    let pki: TestPki;
    let fx: EdgeFixture;
    const running: { stop(): Promise<void> }[] = [];

    /** An edge whose engine verifies outgoing TLS against the test root, as telnyx.tls with caFile sets it. */
    const verifyingEdge = (wildcard: boolean) =>
      startEdgeFixture(() => ({}), { drachtio: { tls: true, verifyOutgoing: { wildcard, caFile: pki.root.certFile } } });
    const telnyxVia = (peer: TlsPeer, wildcard = true, extra: Record<string, unknown> = {}) => ({
      telnyx: {
        dialDomain: 'sip.telnyx.com',
        outboundProxy: `sip:${NAME}:${peer.tlsPort};transport=tls;maddr=${peer.address}`,
        sources: [`${addrs.telnyx}/32`],
        tls: { verify: true, wildcard, caFile: pki.root.certFile },
        ...extra,
      },
    });
    const peerWith = async (cert: CertFiles, f = fx): Promise<TlsPeer> => {
      const peer = await startTlsPeer({ address: addrs.telnyx, ...cert, nextHop: `${addrs.telnyx}:${f.telnyxPort}` });
      running.push(peer);
      return peer;
    };
    const lastRecord = async (f = fx) => {
      const [record] = await f.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
      const fields = record![1];
      return Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
    };
    /** A call to a peer that must be refused: 503 telnyx_unreachable to the PBX within the bound, nothing at the peer. */
    const expectRefused = async (peer: TlsPeer, f = fx) => {
      const started = Date.now();
      const { pbx } = await outboundCall(f, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '503', reason: 'telnyx_unreachable' }, timeoutSec: 40 });
      const elapsed = Date.now() - started;
      expectOk(pbx, f);
      console.log(`INVITE → 503 for a refused TLS peer: ${elapsed} ms (engine ${drachtioVersion})`);
      expect(elapsed).toBeLessThan(REFUSAL_BOUND_MS);
      // Not a single SIP message reached the peer: refused in the handshake's aftermath, before sending.
      expect(peer.received(), peer.logs().slice(-2000)).toEqual([]);
      await f.expectIdle();
      expect(await lastRecord(f)).toMatchObject({ outcome: 'failed', sipStatus: '503', reason: 'telnyx_unreachable' });
      return elapsed;
    };
    const expectConnected = async (peer: TlsPeer, f = fx) => {
      const { pbx, telnyx } = await outboundCall(
        f,
        { scenario: 'pbx_call.xml', vars: { hold: 300 } },
        { scenario: 'telnyx_uas_answer_rr.xml', vars: { expected_from: BUSINESS } },
      );
      expectOk(pbx, f);
      expectOk(telnyx, f);
      await f.expectIdle();
      expect((await lastRecord(f)).outcome).toBe('connected');
      // Every request of the call, the in-dialog ACK and BYE to the peer's Record-Route address included, over TLS.
      const fromEdge = peer.received().filter((r) => r.source.startsWith(`${addrs.edge}:`));
      expect(fromEdge.map((r) => `${r.method} ${r.proto}`), peer.logs().slice(-3000)).toEqual(['INVITE tls', 'ACK tls', 'BYE tls']);
    };

    beforeAll(async () => {
      pki = makeTestPki();
      fx = await verifyingEdge(true);
    }, 60_000);
    beforeEach(async () => {
      while (running.length) await running.pop()!.stop();
      await fx.edge.redis.flushall();
      await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    });
    afterAll(async () => {
      while (running.length) await running.pop()!.stop();
      await fx?.stop();
      pki?.remove();
    });

    it('the edge says the engine verifies: telnyxTls verified, wa_edge_telnyx_tls_verified 1, no NOT VERIFIED line', async () => {
      const peer = await peerWith(pki.leaf(NAME, { fullchain: true }));
      fx.reconfigure(telnyxVia(peer));
      expect(fx.edge.telnyxTls.state).toBe('verified');
      expect(await fx.edge.metrics.registry.getSingleMetricAsString('wa_edge_telnyx_tls_verified')).toMatch(/^wa_edge_telnyx_tls_verified 1$/m);
      expect(fx.logs()).toMatch(/TLS to Telnyx is verified by drachtio-server/);
      expect(fx.logs()).not.toMatch(/NOT VERIFIED/);
    });

    it('a certificate from the trusted CA for the right name: the call is connected and torn down, all over TLS', async () => {
      const peer = await peerWith(pki.leaf(NAME, { fullchain: true }));
      fx.reconfigure(telnyxVia(peer));
      await expectConnected(peer);
    }, 60_000);

    it('with wildcards on, a certificate for *.telnyx.test (the parent of the name): connected', async () => {
      const peer = await peerWith(pki.leaf('*.telnyx.test', { fullchain: true }));
      fx.reconfigure(telnyxVia(peer));
      await expectConnected(peer);
    }, 60_000);

    it.each([
      ['self-signed (for the right name)', (p: TestPki) => p.selfSigned(NAME), /self-signed certificate/],
      ['from the trusted CA but for another name', (p: TestPki) => p.leaf('not-telnyx.example', { fullchain: true }), /Peer Subject Mismatch \(sip\.telnyx\.test\)/],
      ['from the trusted CA for the right name but expired', (p: TestPki) => p.leaf(NAME, { fullchain: true, expired: true }), /certificate has expired/],
      ['a wildcard two labels up (*.test)', (p: TestPki) => p.leaf('*.test', { fullchain: true }), /Peer Subject Mismatch \(sip\.telnyx\.test\)/],
      ['without the intermediate the chain needs', (p: TestPki) => p.leaf(NAME), /unable to get local issuer certificate/],
    ])('a peer whose certificate is %s gets no SIP at all; the PBX hears 503 telnyx_unreachable at once', async (_what, cert, reason) => {
      const peer = await peerWith(cert(pki));
      const logged = fx.drachtio.logs().length;
      fx.reconfigure(telnyxVia(peer));
      await expectRefused(peer);
      // The engine's log says why (sofia-sip's reason), and that the INVITE failed on it.
      const engineLog = fx.drachtio.logs().slice(logged);
      expect(engineLog).toMatch(reason);
      expect(engineLog).toMatch(/nta: INVITE .*Protocol error/);
    }, 60_000);

    // Issue 34, patch 0002: an address as the URI's host is matched against iPAddress subjectAltNames only.
    // The common name is not the address in the first case: before the patch only a common name or
    // dNSName reading "127.0.0.1" matched (the third case), an iPAddress entry never did.
    it.each([
      ['a CA-signed certificate with iPAddress 127.0.0.1: connected', 'telnyx-peer.test', 'IP:127.0.0.1', undefined],
      ['one with iPAddress 127.0.0.2: no SIP at all', '127.0.0.2', 'IP:127.0.0.2', /Peer Subject Mismatch \(127\.0\.0\.1 has no such iPAddress subjectAltName\)/],
      ['one naming 127.0.0.1 only as a DNS name and common name: no SIP at all', '127.0.0.1', 'DNS:127.0.0.1', /Peer Subject Mismatch \(127\.0\.0\.1 has no such iPAddress subjectAltName\)/],
    ])('telnyx.outboundProxy addressed by IP (sip:127.0.0.1;transport=tls), %s', async (_what, commonName, subjectAltName, refusal) => {
      const peer = await startTlsPeer({ address: addrs.pbx, ...pki.leaf(commonName, { fullchain: true, subjectAltName }), nextHop: `${addrs.telnyx}:${fx.telnyxPort}` });
      running.push(peer);
      const logged = fx.drachtio.logs().length;
      fx.reconfigure({ telnyx: { ...telnyxVia(peer).telnyx, outboundProxy: `sip:${addrs.pbx}:${peer.tlsPort};transport=tls` } });
      if (!refusal) return expectConnected(peer);
      await expectRefused(peer);
      expect(fx.drachtio.logs().slice(logged)).toMatch(refusal);
    }, 60_000);

    it('the registration is verified the same way: no REGISTER (no digest answer) to a wrong peer, registered through the right one', async () => {
      const registrarSipp = async () => {
        const uas = sipp({ scenario: 'telnyx_registrar_accept.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, vars: { rounds: 1 }, timeoutSec: 30 });
        await uas.ready;
        return uas;
      };
      const register = (peer: TlsPeer) =>
        telnyxVia(peer, true, {
          auth: { username: USERNAME, password: PASSWORD },
          register: { registrar: `sip:${NAME}:${peer.tlsPort};transport=tls;maddr=${peer.address}`, retry: { minSeconds: 1, maxSeconds: 2 } },
        });
      const wrong = await peerWith(pki.leaf('not-telnyx.example', { fullchain: true }));
      fx.reconfigure(register(wrong));
      await expect.poll(() => fx.edge.registration.state, { timeout: 15_000 }).toBe('retrying');
      expect(wrong.received()).toEqual([]);
      expect(fx.logs()).toMatch(/Telnyx registration failed: 503/);

      const right = await peerWith(pki.leaf(NAME, { fullchain: true }));
      const uas = await registrarSipp();
      fx.reconfigure(register(right));
      await expect.poll(() => fx.edge.registration.state, { timeout: 15_000 }).toBe('registered');
      expect(right.received().map((r) => `${r.method} ${r.proto}`)).toEqual(['REGISTER tls', 'REGISTER tls']);
      const r = await uas.done;
      expect(r.code, describeSipp(r)).toBe(0);
      expect(wrong.received()).toEqual([]);
      // Back to no registration: the binding is removed through the verified peer.
      fx.reconfigure(telnyxVia(right));
      await expect.poll(() => fx.edge.registration.state, { timeout: 10_000 }).toBeUndefined();
    }, 90_000);

    it('inbound TLS from a peer without a client certificate still works: the engine answers its SIP', async () => {
      const { connect } = await import('node:tls');
      const net = await import('node:net');
      const port = fx.drachtio.tlsPort!;
      const answer = await new Promise<string>((resolve) => {
        // From Telnyx's address, presenting no certificate.
        const raw = net.connect({ host: addrs.edge, port, localAddress: addrs.telnyx });
        const sock = connect({ socket: raw, rejectUnauthorized: false }, () => {
          const { localPort } = sock;
          sock.write(
            [
              `OPTIONS sip:${addrs.edge}:${port};transport=tls SIP/2.0`,
              `Via: SIP/2.0/TLS ${addrs.telnyx}:${localPort};branch=z9hG4bK-tlsverify-options;rport`,
              'Max-Forwards: 70',
              `From: <sip:probe@${addrs.telnyx}>;tag=probe`,
              `To: <sip:${addrs.edge}>`,
              'Call-ID: tlsverify-options@wa-edge.test',
              'CSeq: 1 OPTIONS',
              'Content-Length: 0',
              '',
              '',
            ].join('\r\n'),
          );
        });
        let text = '';
        sock.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (/^SIP\/2\.0 \d{3}/.test(text)) {
            sock.destroy();
            resolve(text.split('\r\n')[0]!);
          }
        });
        sock.once('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
        sock.setTimeout(10_000, () => {
          sock.destroy();
          resolve('timeout');
        });
      });
      expect(answer).toMatch(/^SIP\/2\.0 \d{3}/);
    }, 30_000);

    describe('with the system CA store (no caFile, as shipped) and the default chain file (the certificate chain, no CA bundle)', () => {
      // The engine trusts OpenSSL's default store (DRACHTIO_TLS_SYSTEM_CA=1), not its chain file: the
      // test root stands in for the system's CAs through OpenSSL's SSL_CERT_FILE, set for the engine only.
      let sys: EdgeFixture;
      beforeAll(async () => {
        process.env.SSL_CERT_FILE = pki.root.certFile;
        try {
          sys = await startEdgeFixture(() => ({}), { drachtio: { tls: true, verifyOutgoing: { wildcard: true } } });
        } finally {
          delete process.env.SSL_CERT_FILE;
        }
        await sys.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      }, 60_000);
      afterAll(async () => sys?.stop());
      const viaSystemStore = (peer: TlsPeer) => {
        const t = telnyxVia(peer).telnyx;
        return { telnyx: { ...t, tls: { verify: true, wildcard: true } } };
      };

      it('a peer for another name is refused; the right name gets the call', async () => {
        expect(sys.drachtio.logs()).toMatch(/outgoing TLS connections verify the far end's certificate chain and name, wildcards allowed, system CA store trusted/);
        const wrong = await peerWith(pki.leaf('not-telnyx.example', { fullchain: true }), sys);
        sys.reconfigure(viaSystemStore(wrong));
        await expectRefused(wrong, sys);
        await running.pop()!.stop();
        const right = await peerWith(pki.leaf(NAME, { fullchain: true }), sys);
        sys.reconfigure(viaSystemStore(right));
        await expectConnected(right, sys);
      }, 90_000);
    });

    describe('with wildcards off (telnyx.tls.wildcard: false)', () => {
      let strict: EdgeFixture;
      beforeAll(async () => {
        strict = await verifyingEdge(false);
        await strict.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      }, 60_000);
      afterAll(async () => strict?.stop());

      it('a certificate for *.telnyx.test is refused like one for another name; the exact name still gets the call', async () => {
        const wildcard = await peerWith(pki.leaf('*.telnyx.test', { fullchain: true }), strict);
        strict.reconfigure(telnyxVia(wildcard, false));
        await expectRefused(wildcard, strict);
        await running.pop()!.stop();
        const exact = await peerWith(pki.leaf(NAME, { fullchain: true }), strict);
        strict.reconfigure(telnyxVia(exact, false));
        await expectConnected(exact, strict);
      }, 90_000);
    });
  });
});
