// TLS to Telnyx end to end (issue #17): PBX (SIPp, 127.0.0.1) → edge → TLS → Telnyx's TLS side
// (Kamailio on 127.0.0.2, its own certificate) → UDP → Telnyx (SIPp, 127.0.0.2). Debian's SIPp
// has no TLS, so Kamailio terminates it and logs the transport of everything it receives.
// Then certificate verification switched off (telnyx.tls.verify: false, what an engine without the
// patch does), drachtio-server's own client-certificate switch, and the recipe for engines the
// operator does not control, the verifying hop deploy/kamailio/telnyx-tls-hop.cfg, run as shipped.
// The engine verifying by itself (the patch, telnyx.tls on): test/e2e/tlsVerify.test.ts.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addrs, describeWithDrachtio, drachtioVerifies, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { describeWithKamailio, kamailioString, startKamailio, startTlsPeer, type Kamailio, type TlsPeer } from '../helpers/kamailio.js';
import { makeTestPki, type CertFiles, type TestPki } from '../helpers/certs.js';
import { freePort } from '../helpers/ports.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { expectOk, outboundCall } from './call.js';
import { sipp } from '../helpers/sipp.js';

const DIAL_STRING = 'sip:+447911123456@whatsapp-447418613982.sip.telnyx.com';
const HOP_CFG = fileURLToPath(new URL('../../deploy/kamailio/telnyx-tls-hop.cfg', import.meta.url));

/** telnyx.* sending to `outboundProxy`, verification off. */
const telnyxTo = (outboundProxy: string) => ({ dialDomain: 'sip.telnyx.com', outboundProxy, sources: [`${addrs.telnyx}/32`], tls: { verify: false } });

describeWithDrachtio('TLS to Telnyx', () => {
  describeWithKamailio('edge → TLS → Telnyx', () => {
    let fx: EdgeFixture;
    let pki: TestPki;
    const running: { stop(): Promise<void> }[] = [];

    beforeAll(async () => {
      pki = makeTestPki();
      // The edge's drachtio-server with a TLS contact and no certificate: the self-signed fallback.
      // Its engine does not verify (no verifyOutgoing), and the edge is told so.
      fx = await startEdgeFixture(({ telnyxPort }) => ({ telnyx: { ...telnyxTo(`sip:${addrs.telnyx}:${telnyxPort}`) } }), { drachtio: { tls: true } });
    }, 60_000);
    afterAll(async () => {
      await fx?.stop();
      pki?.remove();
    });
    beforeEach(async () => {
      while (running.length) await running.pop()!.stop();
      await fx.edge.redis.flushall();
      await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    });
    afterAll(async () => {
      while (running.length) await running.pop()!.stop();
    });

    /** Telnyx's TLS side presenting `cert`, relaying to the Telnyx SIPp. */
    const peerWith = async (cert: CertFiles): Promise<TlsPeer> => {
      const peer = await startTlsPeer({ address: addrs.telnyx, ...cert, nextHop: `${addrs.telnyx}:${fx.telnyxPort}` });
      running.push(peer);
      return peer;
    };
    const sendTo = (outboundProxy: string) => fx.reconfigure({ telnyx: telnyxTo(outboundProxy) });
    const lastRecord = async () => {
      const [record] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
      const fields = record![1];
      return Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
    };
    const connectedCall = async () => {
      const { pbx, telnyx } = await outboundCall(
        fx,
        { scenario: 'pbx_call.xml', vars: { hold: 300 } },
        { scenario: 'telnyx_uas_answer_rr.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
      );
      expectOk(pbx, fx);
      expectOk(telnyx, fx);
      await fx.expectIdle();
      expect((await lastRecord()).outcome).toBe('connected');
    };

    it('a call goes edge → TLS → Telnyx, is answered and torn down, every request over TLS at the peer', async () => {
      const peer = await peerWith(pki.leaf('sip.telnyx.com', { fullchain: true }));
      sendTo(peer.uri);
      await connectedCall();
      const fromEdge = peer.received().filter((r) => r.source.startsWith(`${addrs.edge}:`));
      expect(fromEdge.map((r) => r.method), peer.logs().slice(-3000)).toEqual(['INVITE', 'ACK', 'BYE']);
      expect(fromEdge.map((r) => r.proto)).toEqual(['tls', 'tls', 'tls']);
    }, 60_000);

    it('verification off (telnyx.tls.verify: false, or an engine without the patch): the certificate is NOT checked (self-signed, or for another name: connected anyway)', async () => {
      // What the patch (tlsVerify.test.ts) and, for engines the operator does not control,
      // deploy/kamailio/telnyx-tls-hop.cfg are for (docs/tls.md).
      for (const cert of [pki.selfSigned('sip.telnyx.com'), pki.leaf('not-telnyx.example', { fullchain: true })]) {
        const peer = await peerWith(cert);
        sendTo(peer.uri);
        await connectedCall();
        expect(peer.received().filter((r) => r.method === 'INVITE').map((r) => r.proto)).toEqual(['tls']);
        await running.pop()!.stop();
      }
      expect(fx.edge.telnyxTls.state).toBe('off');
      expect(fx.logs()).toMatch(/"level":40[^\n]*TLS to Telnyx verification is OFF \(telnyx\.tls\.verify: false\)/);
    }, 90_000);

    it('Telnyx → TLS (5061) → edge with the operator\'s certificate, verified by the caller: routed to the PBX, answered, torn down', async () => {
      // An edge whose TLS contact has the operator's certificate (leaf + intermediate), its engine
      // verifying outgoing TLS when it can (telnyx.tls's default): inbound TLS needs no client certificate.
      const own = pki.leaf('edge.test', { fullchain: true });
      const ifx = await startEdgeFixture(
        () => ({ telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:sip.telnyx.com;transport=tls', sources: [`${addrs.telnyx}/32`] } }),
        { drachtio: { tls: { keyFile: own.keyFile, certFile: own.certFile }, ...(drachtioVerifies ? { verifyOutgoing: { wildcard: true } } : {}) } },
      );
      running.push(ifx);
      // Calls to Telnyx over TLS: the edge says whether the engine checks Telnyx's certificate,
      // from the version it reports (an engine without the patch: NOT VERIFIED).
      expect(ifx.logs()).toMatch(drachtioVerifies ? /"level":30[^\n]*TLS to Telnyx is verified by drachtio-server/ : /"level":40[^\n]*TLS to Telnyx is NOT VERIFIED/);
      // Telnyx's TLS side verifies the edge against the root alone: it needs the intermediate.
      const peer = await startTlsPeer({ address: addrs.telnyx, ...pki.leaf('sip.telnyx.com', { fullchain: true }), nextHop: `${addrs.edge}:${ifx.drachtio.tlsPort};transport=tls`, verifyWith: pki.root.certFile });
      running.push(peer);
      const pbx = sipp({ scenario: 'pbx_uas_answer.xml', localAddress: addrs.pbx, localPort: ifx.pbxPort, timeoutSec: 20 });
      await pbx.ready;
      const telnyx = sipp({ scenario: 'telnyx_call.xml', localAddress: addrs.telnyx, remote: `${addrs.telnyx}:${peer.udpPort}`, vars: { hold: 300 }, timeoutSec: 20 });
      const telnyxResult = await telnyx.done;
      if (telnyxResult.code !== 0) pbx.kill();
      expectOk(telnyxResult, ifx);
      expectOk(await pbx.done, ifx);
      await ifx.expectIdle();
      const [record] = await ifx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
      expect(record![1]).toEqual(expect.arrayContaining(['direction', 'inbound', 'outcome', 'connected']));
      // Everything between Telnyx's side and the edge went over TLS: the answers and the edge's ACK/BYE
      // relayed back (none from the edge over another transport).
      expect(peer.logs()).toMatch(new RegExp(`wa-peer: reply 200 from ${addrs.edge.replace(/\./g, '\\.')}:${ifx.drachtio.tlsPort} over tls`));
      expect(peer.received().filter((r) => r.source.startsWith(`${addrs.edge}:`))).toEqual([]);
      expect(peer.logs()).not.toMatch(/verification failed/);
    }, 60_000);

    describe('drachtio-server\'s only verification switch, DRACHTIO_TLS_VERIFY_CLIENT_CERT=1, is not usable (why the edge does not turn it on)', () => {
      let vfx: EdgeFixture;
      beforeAll(async () => {
        // The switch is an environment variable of drachtio-server; the engine passes its own on.
        process.env.DRACHTIO_TLS_VERIFY_CLIENT_CERT = '1';
        try {
          vfx = await startEdgeFixture(() => ({}), { drachtio: { tls: { caFile: pki.root.certFile } } });
        } finally {
          delete process.env.DRACHTIO_TLS_VERIFY_CLIENT_CERT;
        }
        await vfx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      }, 60_000);
      afterAll(async () => vfx?.stop());
      const sendVia = (peer: TlsPeer) => vfx.reconfigure({ telnyx: telnyxTo(peer.uri) });

      it('it checks the chain but not the name: a peer with a trusted certificate for another name gets the call', async () => {
        const peer = await startTlsPeer({ address: addrs.telnyx, ...pki.leaf('not-telnyx.example', { fullchain: true }), nextHop: `${addrs.telnyx}:${vfx.telnyxPort}` });
        running.push(peer);
        sendVia(peer);
        const { pbx, telnyx } = await outboundCall(vfx, { scenario: 'pbx_call.xml', vars: { hold: 300 } }, { scenario: 'telnyx_uas_answer_rr.xml' });
        expectOk(pbx, vfx);
        expectOk(telnyx, vfx);
        expect(peer.received().filter((r) => r.method === 'INVITE').map((r) => r.proto)).toEqual(['tls']);
      }, 60_000);

      // Without the patch the refused connection fails nothing: Timer B (32 s) ends the INVITE. The
      // patch reports the failed handshake/verification to the waiting requests at once.
      it(`a self-signed peer is refused in the handshake: ${drachtioVerifies ? 'at once (the patch)' : 'after 32 s (Timer B)'} the PBX hears 503 telnyx_unreachable and the call counts as failed, not unanswered`, async () => {
        const peer = await startTlsPeer({ address: addrs.telnyx, ...pki.selfSigned('sip.telnyx.com'), nextHop: `${addrs.telnyx}:${vfx.telnyxPort}` });
        running.push(peer);
        sendVia(peer);
        const started = Date.now();
        const { pbx } = await outboundCall(vfx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '503', reason: 'telnyx_unreachable' }, timeoutSec: 50 });
        expectOk(pbx, vfx);
        if (drachtioVerifies) expect(Date.now() - started).toBeLessThan(5_000);
        else expect(Date.now() - started).toBeGreaterThan(30_000);
        expect(peer.received()).toEqual([]);
        await vfx.expectIdle();
        const [record] = await vfx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
        // drachtio-server's own 408 (Timer B) is no answer from Telnyx: Meta saw nothing, so it
        // must not count against the customer's permission (src/domain/outcome.ts).
        expect(record![1]).toEqual(expect.arrayContaining(['outcome', 'failed', 'sipStatus', '503', 'reason', 'telnyx_unreachable']));
      }, 90_000);

      it('and it demands a client certificate from every inbound TLS peer: Telnyx\'s calls to 5061 without one are refused', async () => {
        const { connect } = await import('node:tls');
        const err = await new Promise<string>((resolve) => {
          const sock = connect({ host: addrs.edge, port: vfx.drachtio.tlsPort!, rejectUnauthorized: false }, () => {
            sock.write('OPTIONS sip:edge SIP/2.0\r\n\r\n');
          });
          sock.once('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
          sock.once('data', () => resolve('answered'));
          sock.setTimeout(5000, () => resolve('timeout'));
        });
        expect(err).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      }, 30_000);
    });

    describe('the operator recipe: the verifying hop deploy/kamailio/telnyx-tls-hop.cfg (edge → UDP → hop → verified TLS → Telnyx)', () => {
      /** The shipped hop on the edge's address, trusting only the test root, sending to `peer`. */
      const hopTo = async (peer: TlsPeer): Promise<Kamailio & { uri: string }> => {
        const port = await freeSipPort(addrs.edge);
        const tlsPort = await freePort(addrs.edge);
        const own = pki.leaf('hop.edge.test');
        const hop = await startKamailio({
          configFile: HOP_CFG,
          defines: {
            HOP_ADDRESS: addrs.edge,
            HOP_PORT: port,
            HOP_TLS_ADDRESS: addrs.edge,
            HOP_TLS_PORT: tlsPort,
            EDGE_ADDRESS: kamailioString(addrs.edge),
            TELNYX_TARGET: kamailioString(`sip:${peer.address}:${peer.tlsPort};transport=tls`),
            // TELNYX_NAME stays sip.telnyx.com: the name is checked against the hop's setting,
            // so the test needs no DNS for it.
            CA_FILE: kamailioString(pki.root.certFile),
            TLS_CERT: kamailioString(own.certFile),
            TLS_KEY: kamailioString(own.keyFile),
          },
          listens: [
            { proto: 'udp', address: addrs.edge, port },
            { proto: 'tcp', address: addrs.edge, port: tlsPort },
          ],
        });
        running.push(hop);
        return { ...hop, uri: `sip:${addrs.edge}:${port}` };
      };

      it('a peer with a certificate for sip.telnyx.com from a CA the hop trusts: connected and torn down, over TLS at the peer', async () => {
        const peer = await peerWith(pki.leaf('sip.telnyx.com', { fullchain: true }));
        const hop = await hopTo(peer);
        sendTo(hop.uri);
        await connectedCall();
        const fromHop = peer.received().filter((r) => r.proto !== 'udp'); // the hop's source address is the kernel's pick
        // A loaded box may retransmit the 200 and so its ACK (RFC 3261 §13.2.2.4): one step each.
        const steps = fromHop.map((r) => `${r.method} ${r.proto}`).filter((s, i, all) => !(s === 'ACK tls' && all[i - 1] === s));
        expect(steps, hop.logs().slice(-3000)).toEqual(['INVITE tls', 'ACK tls', 'BYE tls']);
      }, 60_000);

      it.each([
        // Chain and dates are checked in the handshake: nothing reaches such a peer.
        ['self-signed', (p: TestPki) => p.selfSigned('sip.telnyx.com'), /certificate verify failed/, []],
        // The name is checked on the peer's first answer (Kamailio 5.6 has no earlier hook): the
        // INVITE has reached it, the call is cancelled there and refused.
        ['for another name, from the trusted CA', (p: TestPki) => p.leaf('not-telnyx.example', { fullchain: true }), /REFUSED TLS peer .*not-telnyx\.example.*not sip\.telnyx\.com/, ['INVITE', 'CANCEL']],
      ])('a peer whose certificate is %s is refused: 503 to the PBX, the reason logged', async (_what, cert, reason, reached) => {
        const peer = await peerWith(cert(pki));
        const hop = await hopTo(peer);
        sendTo(hop.uri);
        const uas = sipp({ scenario: 'telnyx_uas_ring.xml', localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: 20 });
        await uas.ready;
        const { pbx } = await outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', vars: { code: '503' }, timeoutSec: 30 });
        uas.kill();
        await uas.done;
        if (pbx.code !== 0) console.error('--- hop log\n', hop.logs().slice(-6000), '\n--- peer log\n', peer.logs().slice(-3000));
        expectOk(pbx, fx);
        await fx.expectIdle();
        expect(hop.logs()).toMatch(reason);
        expect(hop.logs()).toMatch(/telnyx-tls-hop: refused INVITE .* with 503: no verified TLS peer/);
        expect(peer.received().map((r) => r.method)).toEqual(reached);
        // A refused carrier is a failed call, not an unanswered one (no Meta bookkeeping).
        expect(await lastRecord()).toMatchObject({ outcome: 'failed', sipStatus: '503' });
      }, 60_000);
    });
  });
});
