// The registration with Telnyx (SPEC §1, §2 `telnyx.register`, §5 `telnyx_registered`) end to end:
// SIPp plays Telnyx's registrar on 127.0.0.2, then delivers a user's call to the registered contact.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { sipp, describeSipp, messagesOf, type SippResult } from '../helpers/sipp.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { expectOk, inboundCall } from './call.js';
import { until } from '../helpers/until.js';

const USERNAME = 'wasipedge01';
const PASSWORD = 'correct-horse-battery';
const ASKED = 600;
const GRANTED = 4;

const untilLogged = (cond: () => boolean | Promise<boolean>, ms: number, what: string, fx?: EdgeFixture) =>
  until(cond, ms, what, () => fx?.logs().split('\n').slice(-40).join('\n') ?? '', 25);

/** Each message SIPp logged: direction, time (ms, local clock) and first line. */
function timeline(r: SippResult) {
  return messagesOf(r).map((m) => {
    const stamp = /^-{5,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(m);
    const lines = m.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    const first = lines.find((l) => /^(REGISTER |SIP\/2\.0 )/.test(l)) ?? '';
    return { dir: /message sent/.test(m) ? 'sent' : 'received', at: stamp ? new Date(`${stamp[1]}T${stamp[2]}`).getTime() : NaN, first, text: m };
  });
}

function telnyxConfig(registrarPort: number, telnyxPort: number, extra: Record<string, unknown> = {}) {
  return {
    telnyx: {
      dialDomain: 'sip.telnyx.com',
      outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`,
      sources: [`${addrs.telnyx}/32`],
      auth: { username: USERNAME, password: PASSWORD },
      register: { registrar: `sip:${addrs.telnyx}:${registrarPort}`, expires: ASKED, retry: { minSeconds: 1, maxSeconds: 60 }, ...extra },
    },
  };
}

describeWithDrachtio('Telnyx registration: register, refresh, retry, take a call, unregister', () => {
  let fx: EdgeFixture | undefined;
  afterAll(async () => fx?.stop());

  it('registers through the challenge, refreshes before the granted expiry, retries after a 503, takes a call through it and unregisters on shutdown', async () => {
    const registrarPort = await freeSipPort(addrs.telnyx);
    const registrar = sipp({
      scenario: 'telnyx_registrar.xml',
      localAddress: addrs.telnyx,
      localPort: registrarPort,
      vars: { user: USERNAME, password: PASSWORD, asked: ASKED, granted: GRANTED },
      timeoutSec: 90,
    });
    await registrar.ready;
    const edge = (fx = await startEdgeFixture(({ telnyxPort }) => telnyxConfig(registrarPort, telnyxPort)));
    const registration = edge.edge.registration;
    // A failure below shows what the registrar saw as well as the edge's log.
    const withRegistrarTrace = async <T>(step: () => Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (e) {
        registrar.kill();
        const r = await registrar.done;
        throw new Error(`${(e as Error).message}\n--- registrar\n${describeSipp(r)}\n${r.messages.slice(-3000)}\n--- drachtio\n${edge.drachtio.logs().slice(-6000)}`);
      }
    };
    const registeredLines = () => edge.logs().split('\n').filter((l) => l.includes('Telnyx registration registered')).length;

    // Registered, refreshed once (200 again), then the 503 and the retry's 200: registered twice in the log.
    await withRegistrarTrace(() => untilLogged(() => registration.state === 'retrying', 30_000, 'the 503 on the second refresh', edge));
    expect(registeredLines(), 'a successful refresh logs nothing').toBe(1);
    expect(edge.logs()).toMatch(/Telnyx registration failed: 503 Service Unavailable/);
    await withRegistrarTrace(() => untilLogged(() => registration.state === 'registered', 30_000, 'registered again after the retry', edge));
    expect(registeredLines()).toBe(2);
    expect(await edge.edge.metrics.registry.getSingleMetricAsString('wa_edge_telnyx_registered')).toMatch(/^wa_edge_telnyx_registered 1$/m);

    // A user's call to the registered contact: To names the business number; the PBX answers.
    const { telnyx, pbx } = await inboundCall(edge, { scenario: 'telnyx_call_registered.xml', service: USERNAME, vars: { hold: 200, user: USER } }, [
      { scenario: 'pbx_uas_answer.xml', port: edge.pbxPort, vars: { expected_from: USER } },
    ]);
    expectOk(telnyx, edge);
    expectOk(pbx[0], edge);
    await edge.expectIdle();
    const st = await edge.edge.permissions.userState(BUSINESS, USER);
    expect(st.permission.kind).toBe('temporary');
    expect(st.permission.source).toBe('callback');

    // Shutdown after the drain: Expires: 0 (the scenario checks it and answers the challenge).
    await edge.stop();
    fx = undefined;
    const r = await registrar.done;
    expect(r.code, describeSipp(r)).toBe(0);
    expect(registration.state).toBe('unregistered');
    expect(await edge.edge.metrics.registry.getSingleMetricAsString('wa_edge_telnyx_registered')).toMatch(/^wa_edge_telnyx_registered 0$/m);

    // What the registrar saw: the Contact the call went to, and the refresh before the granted expiry.
    const t = timeline(r);
    const registers = t.filter((m) => m.dir === 'received' && m.first.startsWith('REGISTER'));
    expect(registers).toHaveLength(9);
    expect(registers[0]!.text).toMatch(new RegExp(`Contact: <sip:${USERNAME}@${edge.sip.replace(/\./g, '\\.')}>;expires=${ASKED}`));
    expect(registers[0]!.text).not.toMatch(/Authorization:/);
    expect(registers[1]!.text).toMatch(/Authorization: Digest username="wasipedge01"/);
    const callIds = new Set(registers.map((m) => /Call-ID: *(\S+)/i.exec(m.text)?.[1]));
    expect(callIds.size, 'one Call-ID for every REGISTER of the instance').toBe(1);
    const cseqs = registers.map((m) => Number(/CSeq: *(\d+)/i.exec(m.text)?.[1]));
    expect(cseqs).toEqual([...cseqs].sort((a, b) => a - b));
    expect(new Set(cseqs).size).toBe(cseqs.length);
    const firstOk = t.find((m) => m.dir === 'sent' && m.first.startsWith('SIP/2.0 200'))!;
    const refresh = registers[2]!;
    const gapMs = refresh.at - firstOk.at;
    expect(gapMs, 'refreshed before the granted expiry').toBeLessThan(GRANTED * 1000);
    expect(gapMs, 'not immediately: at about half of it').toBeGreaterThan(GRANTED * 250);
    const the503 = t.find((m) => m.dir === 'sent' && m.first.startsWith('SIP/2.0 503'))!;
    const retry = registers[5]!;
    expect(retry.at - the503.at, 'retried after the back-off (retry.minSeconds = 1)').toBeGreaterThanOrEqual(900);
  }, 120_000);
});

describeWithDrachtio('Telnyx registration: refused credentials', () => {
  let fx: EdgeFixture;
  let telnyxPort: number;
  beforeAll(async () => {
    // Starts without a registration; each case points it at its own registrar by a reload.
    fx = await startEdgeFixture();
    telnyxPort = fx.telnyxPort;
  }, 60_000);
  afterAll(async () => fx?.stop());

  for (const code of [401, 403]) {
    it(`a ${code} to the answered challenge stops fast retries and says why`, async () => {
      const registrarPort = await freeSipPort(addrs.telnyx);
      const registrar = sipp({ scenario: 'telnyx_registrar_refuse.xml', localAddress: addrs.telnyx, localPort: registrarPort, vars: { code, quiet: 4000 }, timeoutSec: 30 });
      await registrar.ready;
      fx.reconfigure(telnyxConfig(registrarPort, telnyxPort));
      await untilLogged(() => fx.edge.registration.state === 'refused', 15_000, 'refused', fx);
      const r = await registrar.done;
      expect(r.code, `${describeSipp(r)}\n${fx.logs().split('\n').slice(-20).join('\n')}`).toBe(0);
      expect(fx.edge.registration.state).toBe('refused');
      expect(fx.logs()).toMatch(code === 403 ? /Telnyx registration refused: 403 .*Telnyx refuses this connection/ : /Telnyx registration refused: 401 again .*telnyx\.auth\.username\/password are wrong/);
      expect(await fx.edge.metrics.registry.getSingleMetricAsString('wa_edge_telnyx_registered')).toMatch(/ 0$/m);

      // The connection fixed at Telnyx: a SIGHUP with the same file tries again at once.
      const fixed = sipp({ scenario: 'telnyx_registrar_accept.xml', localAddress: addrs.telnyx, localPort: registrarPort, vars: { rounds: 1 }, timeoutSec: 30 });
      await fixed.ready;
      fx.reconfigure(telnyxConfig(registrarPort, telnyxPort));
      await untilLogged(() => fx.edge.registration.state === 'registered', 10_000, 'registered after the SIGHUP', fx);
      const ok = await fixed.done;
      expect(ok.code, describeSipp(ok)).toBe(0);
    }, 60_000);
  }

  it('registers again after drachtio-server restarts (the edge reconnects by itself)', async () => {
    const registrarPort = await freeSipPort(addrs.telnyx);
    const registrar = sipp({ scenario: 'telnyx_registrar_accept.xml', localAddress: addrs.telnyx, localPort: registrarPort, vars: { rounds: 2 }, timeoutSec: 60 });
    await registrar.ready;
    // Registered with this registrar (the previous case left a binding elsewhere, removed first).
    const registeredLines = () => fx.logs().split('\n').filter((l) => l.includes('Telnyx registration registered') && l.includes(`:${registrarPort}"`)).length;
    fx.reconfigure(telnyxConfig(registrarPort, telnyxPort));
    await untilLogged(() => registeredLines() === 1, 15_000, 'registered', fx);
    // A reload that changes nothing of the registration sends nothing (the registrar has one round left).
    fx.reconfigure({ ...telnyxConfig(registrarPort, telnyxPort), whatsapp: { maxConcurrentCalls: 5 } });
    await fx.drachtio.restart();
    await untilLogged(() => fx.edge.registration.state !== 'registered', 15_000, 'the registration to follow the lost connection', fx);
    await untilLogged(() => fx.edge.registration.state === 'registered' && fx.edge.drachtio.connected, 30_000, 'registered again after the reconnect', fx);
    const r = await registrar.done;
    expect(r.code, describeSipp(r)).toBe(0);
    expect(registeredLines()).toBe(2);
    expect(fx.logs()).toMatch(/Telnyx registration registering: drachtio-server disconnected/);
  }, 60_000);

  it('an INVITE naming the registration user from a source that is not Telnyx is refused 403', async () => {
    const { telnyx } = await inboundCall(fx, {
      scenario: 'pbx_call_expect_reject.xml',
      localAddress: addrs.unknown,
      vars: { from: USER, code: '403', reason: 'unknown_source' },
      service: USERNAME,
    });
    expectOk(telnyx, fx);
  });

  it('without telnyx.register the metric is not exported and the state is undefined', async () => {
    const removed = () => fx.logs().split('\n').filter((l) => l.includes('Telnyx registration removed')).length;
    const before = removed();
    fx.reconfigure();
    expect(fx.edge.registration.state).toBeUndefined();
    expect(await fx.edge.metrics.registry.metrics()).not.toMatch(/wa_edge_telnyx_registered/);
    // The previous case's binding is removed first (its registrar is gone: the Expires: 0 times out).
    await untilLogged(() => removed() > before, 15_000, 'the old binding removed', fx);
    expect(fx.edge.registration.state).toBeUndefined();
  });
});
