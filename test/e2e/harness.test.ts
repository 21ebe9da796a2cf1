// Self-test of the e2e harness, without the edge app: drachtio-server comes up and goes down,
// SIPp parties talk to each other directly and their checks can fail, and drachtio-srf can
// drive drachtio-server. If this file is red, every e2e test is meaningless.
import Srf from 'drachtio-srf';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addrs, describeWithDrachtio, freeSipPort, portInUse, startDrachtio, tcpAccepts, type DrachtioServer } from '../helpers/drachtio.js';
import { describeSipp, sipp, type SippResult } from '../helpers/sipp.js';

const dialled = '+447911123456';
const business = '+447418613982';

function expectCode(r: SippResult, code: number): void {
  expect(r.code, describeSipp(r)).toBe(code);
}

type Party = { scenario: string; vars?: Record<string, string>; service?: string };

/** A UAS on Telnyx's address and a UAC on the PBX's, straight to each other (no edge). */
async function direct(uas: (port: number) => Party, uac: Party, opts: { stopUacWhenUasEnds?: boolean } = {}) {
  const port = await freeSipPort(addrs.telnyx);
  const u = uas(port);
  const telnyx = sipp({ scenario: u.scenario, localAddress: addrs.telnyx, localPort: port, vars: u.vars, timeoutSec: 10 });
  await telnyx.ready;
  const pbx = sipp({ scenario: uac.scenario, localAddress: addrs.pbx, remote: `${addrs.telnyx}:${port}`, service: uac.service ?? dialled, vars: uac.vars, timeoutSec: 10 });
  if (opts.stopUacWhenUasEnds) void telnyx.done.then(() => pbx.kill());
  const [uasResult, uacResult] = await Promise.all([telnyx.done, pbx.done]);
  return { uas: uasResult, uac: uacResult, port };
}

describeWithDrachtio('e2e harness', () => {
  let drachtio: DrachtioServer;

  beforeAll(async () => {
    drachtio = await startDrachtio();
  });
  afterAll(async () => {
    await drachtio?.stop();
  });

  it('runs drachtio-server with its admin port open and SIP bound on the edge address', async () => {
    expect(drachtio.sipAddress).toBe(addrs.edge);
    expect(await tcpAccepts(drachtio.adminHost, drachtio.adminPort)).toBe(true);
    expect(await portInUse('udp', addrs.edge, drachtio.sipPort)).toBe(true);
    expect(await portInUse('tcp', addrs.edge, drachtio.sipPort)).toBe(true);
    expect(drachtio.logs()).toContain('Starting drachtio');
  });

  it('restarts drachtio-server on the same ports, and brings it back after a kill', async () => {
    const { sipPort, adminPort } = drachtio;
    await drachtio.restart();
    expect(drachtio.running()).toBe(true);
    expect(drachtio.logs().match(/^--- spawn /gm)).toHaveLength(2);
    expect(await tcpAccepts(drachtio.adminHost, adminPort)).toBe(true);

    await drachtio.kill();
    expect(drachtio.running()).toBe(false);
    expect(await tcpAccepts(drachtio.adminHost, adminPort)).toBe(false);
    expect(await portInUse('udp', addrs.edge, sipPort)).toBe(false);
    await drachtio.start();
    expect(drachtio.running()).toBe(true);
    expect(await portInUse('udp', addrs.edge, sipPort)).toBe(true);
    expect(await tcpAccepts(drachtio.adminHost, adminPort)).toBe(true);
  });

  it('connects drachtio-srf, which answers an OPTIONS that SIPp sends to drachtio-server', async () => {
    const srf = new Srf();
    const seen: string[] = [];
    srf.use('options', (req, res) => {
      seen.push(req.source_address);
      res.send(200);
    });
    const connected = new Promise<void>((resolve, reject) => {
      srf.on('connect', (err) => (err ? reject(err) : resolve()));
      srf.on('error', reject);
    });
    void srf.connect({ host: drachtio.adminHost, port: drachtio.adminPort, secret: drachtio.secret });
    try {
      await connected;
      const ping = sipp({ scenario: 'options.xml', localAddress: addrs.pbx, remote: drachtio.sipHostPort, service: 'ping', timeoutSec: 10 });
      expectCode(await ping.done, 0);
      expect(seen).toEqual([addrs.pbx]); // the source address is the SIPp party's own
    } finally {
      srf.disconnect();
    }
  });

  it('completes a PBX → Telnyx call between two SIPp parties, the UAS checks passing', async () => {
    const { uas, uac } = await direct(
      (port) => ({ scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: `sip:${dialled}@${addrs.telnyx}:${port}`, expected_from: business } }),
      { scenario: 'pbx_call.xml', vars: { from: business, hold: '200' } },
    );
    expectCode(uac, 0);
    expectCode(uas, 0);
    expect(uas.logs).toContain(`INVITE Request-URI sip:${dialled}@${addrs.telnyx}`);
    // Every message the UAS got came from the PBX's address (SIPp binds its -i address).
    expect(uas.messages).toMatch(/UDP message received/);
    expect(uas.messages).toContain(`Via: SIP/2.0/UDP ${addrs.pbx}:`);
    expect(uac.messages).toMatch(/^BYE sip:telnyx@127\.0\.0\.2:\d+;transport=UDP SIP\/2\.0/m);
  });

  it('fails the UAS (exit 1) when the Request-URI is not the expected one', async () => {
    const { uas, uac } = await direct(
      (port) => ({ scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: `sip:+449999@${addrs.telnyx}:${port}` } }),
      { scenario: 'pbx_call.xml', vars: { hold: '100' } },
    );
    expectCode(uas, 1);
    expect(uas.errors).toContain(`Failed regexp match: looking in 'sip:+449999@`);
    expectCode(uac, 0); // the call itself went through
  });

  it('fails the UAS (exit 1) when the From user is not the expected one', async () => {
    const { uas } = await direct(
      () => ({ scenario: 'telnyx_uas_answer.xml', vars: { expected_from: '+15550000000' } }),
      { scenario: 'pbx_call.xml', vars: { hold: '100' } },
    );
    expectCode(uas, 1);
    expect(uas.errors).toContain(`looking in '+15550000000 ${business}'`);
  });

  it('fails the Telnyx UAS on a re-INVITE (Meta rejects them; the edge must never send one)', async () => {
    const { uas, uac } = await direct(
      () => ({ scenario: 'telnyx_uas_answer.xml' }),
      { scenario: 'pbx_call_reinvite.xml', vars: { hold: '100' } },
      { stopUacWhenUasEnds: true }, // the aborted UAS leaves the UAC waiting for its re-INVITE's answer
    );
    expect(uac.killed).toBe(true);
    expectCode(uas, 1);
    expect(uas.errors).toMatch(/Aborting call on unexpected message .* while expecting 'BYE'/);
  });

  it('checks a rejection: code, and the absence of Reason and Retry-After', async () => {
    const ok = await direct(() => ({ scenario: 'telnyx_uas_reject.xml', vars: { code: '486' } }), {
      scenario: 'pbx_call_expect_reject.xml',
      vars: { code: '486', retry_after: 'no' },
    });
    expectCode(ok.uas, 0);
    expectCode(ok.uac, 0);

    const wrongCode = await direct(() => ({ scenario: 'telnyx_uas_reject.xml', vars: { code: '480' } }), {
      scenario: 'pbx_call_expect_reject.xml',
      vars: { code: '403' },
    });
    expectCode(wrongCode.uac, 1);
    expect(wrongCode.uac.errors).toContain('CHECK FAILED: final status 480, expected 403');

    const noReason = await direct(() => ({ scenario: 'telnyx_uas_reject.xml', vars: { code: '480' } }), {
      scenario: 'pbx_call_expect_reject.xml',
      vars: { code: '480', reason: 'no_permission' },
    });
    expectCode(noReason.uac, 1);
    expect(noReason.uac.errors).toContain("CHECK FAILED: Reason text ''");
  });

  it('cancels a ringing call', async () => {
    const { uas, uac } = await direct(() => ({ scenario: 'telnyx_uas_ring.xml' }), { scenario: 'pbx_call_cancel.xml', vars: { ring: '100' } });
    expectCode(uac, 0);
    expectCode(uas, 0);
  });

  it('reports a UAS that never got its call: killed, or failed on its timeout', async () => {
    const waiting = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, timeoutSec: 10 });
    await waiting.ready;
    const t0 = Date.now();
    waiting.kill();
    const killed = await waiting.done;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(killed.killed).toBe(true);
    expect(killed.messages).toBe(''); // nothing was received

    const port = await freeSipPort(addrs.telnyx);
    const idle = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: port, timeoutSec: 1 });
    await idle.ready;
    const r = await idle.done;
    expect(r.code).not.toBe(0); // -timeout_error: a timeout is a failure
    expect(r.errors).toContain('timed out');
    expect(await portInUse('udp', addrs.telnyx, port)).toBe(false);
  });
});
