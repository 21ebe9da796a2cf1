// The console's phone (SPEC §4a Phone, issue 24) in a real browser: Debian's Chromium with a fake
// microphone, signed in as a device over the edge's secure WebSocket (wss, the engine's
// self-signed certificate accepted by the browser), calls through a
// real drachtio-server and a real rtpengine (ICE + DTLS-SRTP to the browser, plain RTP to Telnyx),
// with SIPp playing Telnyx and streaming PCMU audio.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, onTestFailed } from 'vitest';
import { buildConsole } from '../../scripts/build-console.js';
import { buildHttpServer } from '../../src/http/server.js';
import { NgClient } from '../../src/media/rtpengine.js';
import { received } from '../../src/media/figures.js';
import { parseNgAddress, type NgAddress } from '../../src/media/ngAddress.js';
import { recentCalls } from '../../src/state/records.js';
import { listDevices } from '../../src/state/devices.js';
import { BUSINESS, SOFTPHONE_REALM, USER } from '../helpers/config.js';
import { PHONE_ARGS, describeWithChromium, launchChromium, type Browser } from '../helpers/chromium.js';
import { addrs } from '../helpers/drachtio.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { describeWithMedia, freeMediaPort, pcmuWav, startRtpengine, type RtpengineServer } from '../helpers/rtpengine.js';
import { scenarioPath, sipp, describeSipp, type SippRun } from '../helpers/sipp.js';

const WAIT_MS = 30_000;

/** CPU time (ms) and resident memory (kB) of a process, from /proc (Linux). */
function procFigures(pid: number | undefined): { cpuMs: number; rssKb: number } {
  if (!pid) return { cpuMs: NaN, rssKb: NaN };
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in 1/100 s
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { cpuMs: ticks * 10, rssKb };
}
const TOKEN = 'test-admin-token-0123456789';
const AGENT = { username: 'agent1', password: 'agent1-secret-42' };
const NOT_ALLOWED_USER = '+447700900777';

describeWithChromium('console phone in Chromium', () => {
  describeWithMedia('console phone: WebRTC through rtpengine', () => {
    let rtp: RtpengineServer;
    let fx: EdgeFixture;
    let http: FastifyInstance;
    let url: string;
    let consoleDir: string;
    let scenarioDir: string;
    let browser: Browser;
    let page: Page;
    let problems: string[];
    let pki: TestPki | undefined;
    const ng = new NgClient(1000, () => {});

    /** The SIPp media scenarios with __WAV__ replaced by a tone written here. */
    const scenario = (name: string) => {
      const path = join(scenarioDir, name);
      writeFileSync(path, readFileSync(scenarioPath(name), 'utf8').replaceAll('__WAV__', join(scenarioDir, 'tone.wav')));
      return path;
    };

    beforeAll(async () => {
      consoleDir = mkdtempSync(join(tmpdir(), 'wa-edge-phone-console-'));
      scenarioDir = mkdtempSync(join(tmpdir(), 'wa-edge-phone-sipp-'));
      writeFileSync(join(scenarioDir, 'tone.wav'), pcmuWav(2));
      await buildConsole(consoleDir);
      rtp = await startRtpengine();
      pki = makeTestPki();
      const wssCert = pki.leaf('edge.wa-test', { fullchain: true });
      const sip = {
        realm: SOFTPHONE_REALM,
        // One browser on 127.0.0.1 makes many requests in a few seconds; the guard is for scanners.
        scannerBan: { requestsPer10s: 1000, authFailuresPer10m: 100, banSeconds: 60 },
      };
      fx = await startEdgeFixture(
        () => ({
          // The browser connects from 127.0.0.1: no trunk there, so it is a device or nothing.
          trunks: [],
          sip,
          devices: [{ ...AGENT, numbers: [BUSINESS], defaultRegion: 'GB' }],
          numbers: [{ number: BUSINESS, calling: true, inbound: [`device:${AGENT.username}`] }],
          media: { anchor: { rtpengine: [rtp.ng], noMediaSeconds: 10, pingSeconds: 1 } },
        }),
        // WSS as in production: the operator's certificate (leaf + intermediate) and no chainFile, so
        // the engine's default chain file (the certificate chain only, no CA bundle: with one Chromium
        // failed the handshake, ERR_SSL_PROTOCOL_ERROR). The browser is told to accept the test CA.
        { drachtio: { ws: 'wss', tls: wssCert } },
      );
      const { wsContact, wsPort } = fx.drachtio;
      fx.reconfigure({ sip: { ...sip, webrtc: { contact: wsContact, url: `wss://${addrs.edge}:${wsPort}` } } });
      const { edge } = fx;
      http = await buildHttpServer({
        config: () => edge.config.current,
        calls: edge.calls,
        permissions: edge.permissions,
        metrics: edge.metrics,
        logger: edge.logger,
        clock: edge.clock,
        drachtioConnected: () => edge.drachtio.connected,
        rtpengines: () => edge.media!.state(),
        devices: () => listDevices(edge.config.current.devices, edge.devices),
        consoleDir,
      });
      await http.listen({ host: '127.0.0.1', port: 0 });
      const address = http.server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      url = `http://127.0.0.1:${address.port}`;
      browser = await launchChromium({ width: 1280, height: 1000 }, [...PHONE_ARGS, '--ignore-certificate-errors']);
      browser.context.setDefaultTimeout(WAIT_MS);
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await http?.close();
      await fx?.stop();
      await rtp?.stop();
      ng.close();
      rmSync(consoleDir, { recursive: true, force: true });
      rmSync(scenarioDir, { recursive: true, force: true });
      pki?.remove();
    });

    beforeEach(async () => {
      await fx.edge.redis.flushall();
      await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      page = await browser.context.newPage();
      problems = [];
      const browserLog: string[] = [];
      onTestFailed(async () => {
        if (process.env.PHONE_DEBUG) console.error('--- phone panel\n', await page.locator('section.phone').innerText().catch((e: unknown) => String(e)));
        console.error('--- browser console\n', browserLog.slice(-150).join('\n'), '\n--- edge log (tail)\n', fx.logs().split('\n').slice(-120).join('\n'), '\n--- rtpengine (not pings)\n', rtp.logs().split('\n').filter((l) => !/'(ping|list|query)'/.test(l)).slice(-60).join('\n'), '\n--- drachtio\n', process.env.PHONE_DEBUG ? fx.drachtio.logs() : '');
      });
      page.on('console', (m) => browserLog.push(`${m.type()}: ${m.text()}`));
      // JsSIP logs through `debug`, which a browser switches on from localStorage.
      if (process.env.PHONE_DEBUG) await page.addInitScript(() => localStorage.setItem('debug', 'JsSIP:*'));
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (/Content Security Policy|Trusted(HTML|Script)|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
      });
    });

    afterEach(async () => {
      await page.close(); // closes the WebSocket: the registration goes with it
      expect(problems).toEqual([]);
      await fx.expectIdle(15_000);
      expect(await rtp.calls(), 'calls left on rtpengine').toEqual([]);
    });

    async function signInToConsole() {
      await page.goto(`${url}/console`);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Phone', exact: true }).waitFor();
    }

    async function signInToPhone(password = AGENT.password) {
      await page.getByLabel('Device', { exact: true }).selectOption(AGENT.username);
      await page.getByLabel('Device password').fill(password);
      await page.getByRole('button', { name: 'Sign in to phone' }).click();
    }

    async function registered() {
      await page.locator('.phone-state', { hasText: 'registered: calls can be placed' }).waitFor();
      await expect.poll(async () => (await fx.edge.devices.list(AGENT.username)).length, { timeout: WAIT_MS }).toBe(1);
    }

    async function lookUp(user: string) {
      await page.getByLabel('WhatsApp user').fill(user);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.locator('.verdict').waitFor();
    }

    async function mediaOf(callId: string) {
      const q = await ng.query(parseNgAddress(rtp.ng) as NgAddress, callId);
      return { fromBrowser: received(q, 'pbx').packets, fromTelnyx: received(q, 'telnyx').packets };
    }

    async function finished(run: SippRun) {
      const r = await run.done;
      if (r.code !== 0) console.error(describeSipp(r), '\n--- edge log (tail)\n', fx.logs().split('\n').slice(-80).join('\n'));
      expect(r.code, describeSipp(r)).toBe(0);
      return r;
    }

    const mediaArgs = async () => ['-mi', addrs.telnyx, '-mp', String(await freeMediaPort(addrs.telnyx))];

    it('a wrong device password is said plainly, and nothing is registered', async () => {
      await signInToConsole();
      await signInToPhone('not-the-password');
      await expect.poll(() => page.getByRole('alert').allTextContents(), { timeout: WAIT_MS }).toContainEqual(expect.stringContaining('The edge refused the password for device agent1 (403 auth_failed)'));
      expect(await fx.edge.devices.list(AGENT.username)).toEqual([]);
    }, 90_000);

    it('a call the decision refuses cannot be placed: the button is disabled and says why', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(NOT_ALLOWED_USER);
      const call = page.getByRole('button', { name: `Call ${NOT_ALLOWED_USER}` });
      await expect.poll(() => call.isDisabled()).toBe(true);
      await expect.poll(() => page.locator('#call-why').textContent()).toContain('The decision refuses this call: The customer has not given permission');
    }, 90_000);

    it('calls a WhatsApp user: connected, audio both ways through rtpengine, hang up sends BYE to Telnyx and leaves nothing on rtpengine', async () => {
      const telnyx = sipp({ scenario: scenario('uas_answer_media_browser.xml'), localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: 60, extraArgs: await mediaArgs() });
      await telnyx.ready;
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(USER);
      await page.getByRole('button', { name: `Call ${USER}` }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      const [callId] = await rtp.calls();
      expect(callId).toBeDefined();
      // The browser's fake microphone towards Telnyx, SIPp's tone towards the browser: both counted by rtpengine.
      await expect.poll(() => mediaOf(callId!), { timeout: WAIT_MS, interval: 500 }).toMatchObject({ fromBrowser: expect.toSatisfy((n: number) => n > 50), fromTelnyx: expect.toSatisfy((n: number) => n > 50) });
      await page.getByRole('button', { name: 'Mute' }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
      await page.getByRole('button', { name: 'Unmute' }).click();
      await page.getByRole('button', { name: 'Mute' }).waitFor();
      // RFC 4733: the answer carries telephone-event, so Chromium's DTMF sender takes the key.
      await page.getByRole('button', { name: 'Key 1' }).click();
      await page.locator('output.dtmf', { hasText: 'Sent: 1' }).waitFor();
      await page.locator('.timer').waitFor();
      if (process.env.PHONE_SCREENSHOT) {
        // docs/console-phone.png: after the next refresh, so the Softphones section lists the tab.
        await page.getByText('wa-sip-edge console phone').waitFor();
        await page.locator('main').screenshot({ path: process.env.PHONE_SCREENSHOT });
      }
      await page.getByRole('button', { name: 'Hang up' }).click();
      const t = await finished(telnyx); // it got the BYE and answered it
      expect(t.messages).toMatch(/BYE sip:/);
      await page.locator('.end-reason', { hasText: 'You hung up.' }).waitFor();
      await fx.expectIdle(15_000);
      expect(await rtp.calls()).toEqual([]);
      const [record] = await recentCalls(fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'outbound', outcome: 'connected', reason: 'bye_from_caller', media: 'anchored', user: USER, number: BUSINESS });
      expect(record!.rtpPacketsFromPbx).toBeGreaterThan(50);
      expect(record!.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    }, 90_000);

    // Opt-in (PHONE_MEASURE=<seconds>): what one call costs rtpengine, drachtio-server and the
    // edge's process, a browser call (ICE + DTLS-SRTP) next to a SIP call (plain RTP), both PCMU,
    // each against an idle window of the same length. Printed, not asserted.
    it.runIf(!!process.env.PHONE_MEASURE)('measure: a browser call next to a SIP call', async () => {
      const seconds = Number(process.env.PHONE_MEASURE) || 15;
      const sample = () => ({ rtp: procFigures(rtp.pid()), engine: procFigures(fx.drachtio.pid()), edge: process.cpuUsage(), rss: process.memoryUsage().rss });
      const cost = (a: ReturnType<typeof sample>, b: ReturnType<typeof sample>) => ({
        rtpengineCpuMs: b.rtp.cpuMs - a.rtp.cpuMs,
        rtpengineRssKb: b.rtp.rssKb,
        drachtioCpuMs: b.engine.cpuMs - a.engine.cpuMs,
        edgeProcessCpuMs: Math.round((b.edge.user + b.edge.system - a.edge.user - a.edge.system) / 1000),
      });
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(USER);
      let s0 = sample();
      await sleep(seconds * 1000);
      const idle = cost(s0, sample());

      const telnyx = sipp({ scenario: scenario('uas_answer_media_browser.xml'), localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: seconds + 60, extraArgs: await mediaArgs() });
      await telnyx.ready;
      s0 = sample();
      await page.getByRole('button', { name: `Call ${USER}` }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      const inCallRtp = procFigures(rtp.pid()).rssKb;
      await sleep(seconds * 1000);
      await page.getByRole('button', { name: 'Hang up' }).click();
      await finished(telnyx);
      await fx.expectIdle(15_000);
      const browserCall = { ...cost(s0, sample()), rtpengineRssInCallKb: inCallRtp };

      // The same call from a SIP party: a PBX trunk on 127.0.0.5 streaming PCMU for as long.
      fx.reconfigure({ trunks: [{ name: 'bench', sources: [`${addrs.unknown}/32`], numbers: [BUSINESS] }], sip: fx.edge.config.current.sip });
      const callee = sipp({ scenario: scenario('uas_answer_media.xml'), localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: seconds + 60, extraArgs: await mediaArgs() });
      await callee.ready;
      s0 = sample();
      const caller = sipp({ scenario: scenario('uac_call_media.xml'), localAddress: addrs.unknown, remote: fx.sip, service: USER, vars: { hold: seconds * 1000 }, timeoutSec: seconds + 60, extraArgs: ['-mi', addrs.unknown, '-mp', String(await freeMediaPort(addrs.unknown))] });
      await expect.poll(async () => (await rtp.calls()).length, { timeout: WAIT_MS }).toBe(1);
      const inCallRtpSip = procFigures(rtp.pid()).rssKb;
      await finished(caller);
      await finished(callee);
      await fx.expectIdle(15_000);
      const sipCall = { ...cost(s0, sample()), rtpengineRssInCallKb: inCallRtpSip };
      console.log(JSON.stringify({ seconds, idle, browserCall, sipCall }, null, 2));
    }, 300_000);

    it('no rtpengine answering: the browser call is refused 503 media_unavailable and the page says why', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(USER);
      await rtp.kill();
      try {
        await page.getByRole('button', { name: `Call ${USER}` }).click();
        await page.locator('.end-reason', { hasText: 'No media relay (rtpengine) is available' }).waitFor();
        await expect.poll(() => page.locator('.end-reason').textContent()).toContain('503');
        const [record] = await recentCalls(fx.edge.redis, 1);
        expect(record).toMatchObject({ direction: 'outbound', outcome: 'failed', reason: 'media_unavailable' });
      } finally {
        await rtp.start();
      }
      await expect.poll(() => fx.edge.media!.anyUp, { timeout: WAIT_MS }).toBe(true);
    }, 90_000);

    it('a device signed in in two tabs: both ring, the first to answer takes the call, the other stops ringing', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const second = await browser.context.newPage();
      try {
        // The same tab's sessionStorage is not shared: the second tab signs in on its own.
        await second.goto(`${url}/console`);
        await second.getByLabel('Admin token').fill(TOKEN);
        await second.getByRole('button', { name: 'Sign in' }).click();
        await second.getByLabel('Device', { exact: true }).selectOption(AGENT.username);
        await second.getByLabel('Device password').fill(AGENT.password);
        await second.getByRole('button', { name: 'Sign in to phone' }).click();
        await expect.poll(async () => (await fx.edge.devices.list(AGENT.username)).length, { timeout: WAIT_MS }).toBe(2);
        const telnyx = sipp({ scenario: scenario('uac_call_media.xml'), localAddress: addrs.telnyx, remote: fx.sip, service: BUSINESS, vars: { from: USER, hold: 2000 }, timeoutSec: 60, extraArgs: await mediaArgs() });
        await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
        await second.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
        await second.getByRole('button', { name: 'Answer' }).click();
        await second.locator('.call-state', { hasText: 'In call' }).waitFor();
        await page.locator('.call-state', { hasText: 'Call ended' }).waitFor();
        await finished(telnyx);
        const [record] = await recentCalls(fx.edge.redis, 1);
        expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected' });
      } finally {
        await second.close();
      }
    }, 90_000);

    it('Decline answers the WhatsApp call 603', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const telnyx = sipp({ scenario: scenario('telnyx_call_declined.xml'), localAddress: addrs.telnyx, remote: fx.sip, service: BUSINESS, vars: { from: USER }, timeoutSec: 60, extraArgs: await mediaArgs() });
      await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
      await page.getByRole('button', { name: 'Decline' }).click();
      await finished(telnyx);
      await page.locator('.end-reason', { hasText: 'You declined the call.' }).waitFor();
    }, 90_000);

    it("a WhatsApp user's call rings the browser, is answered, and audio flows both ways", async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const telnyx = sipp({ scenario: scenario('uac_call_media.xml'), localAddress: addrs.telnyx, remote: fx.sip, service: BUSINESS, vars: { from: USER, hold: 4000 }, timeoutSec: 60, extraArgs: await mediaArgs() });
      await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
      await expect.poll(() => page.locator('.call-title').textContent()).toContain(USER);
      await page.getByRole('button', { name: 'Answer' }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      await finished(telnyx); // streamed 4 s, then hung up
      await page.locator('.end-reason', { hasText: 'The customer hung up.' }).waitFor();
      await fx.expectIdle(15_000);
      const [record] = await recentCalls(fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected', media: 'anchored' });
      expect(record!.rtpPacketsFromPbx).toBeGreaterThan(50);
      expect(record!.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    }, 90_000);
  });
});
