// The console's phone rig, shared by test/console/phone.test.ts and bench/console/phoneCost.ts:
// the built console served by the edge's HTTP server, a real drachtio-server with a secure
// WebSocket (wss) listener, a real rtpengine anchoring the media, a device `agent1` the browser
// signs in as, and Debian's Chromium with a fake microphone. SIPp plays Telnyx. Nothing here uses
// vitest's runner (no expect.poll): a bench script runs it outside vitest.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.js';
import { edgeHttpServer } from '../../src/edgeHttp.js';
import { NgClient } from '../../src/media/rtpengine.js';
import { received } from '../../src/media/figures.js';
import { parseNgAddress, type NgAddress } from '../../src/domain/ngAddress.js';
import { BUSINESS, SOFTPHONE_REALM } from '../helpers/config.js';
import { PHONE_ARGS, launchChromium, type Browser } from '../helpers/chromium.js';
import { addrs } from '../helpers/drachtio.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { freeMediaPort, pcmuWav, startRtpengine, type RtpengineServer } from '../helpers/rtpengine.js';
import { describeSipp, scenarioPath, type SippResult, type SippRun } from '../helpers/sipp.js';
import { until } from '../helpers/until.js';

export const WAIT_MS = 30_000;
export const TOKEN = 'test-admin-token-0123456789';
export const AGENT = { username: 'agent1', password: 'agent1-secret-42' };
/** The phone's Device choice for AGENT: its address, at the host the phone connects to (tenant default). */
export const AGENT_ADDRESS = `${AGENT.username}@${addrs.edge}`;

export interface PhoneRig {
  rtp: RtpengineServer;
  fx: EdgeFixture;
  browser: Browser;
  /** The console's base URL (http://127.0.0.1:PORT). */
  url: string;
  /** A SIPp media scenario with __WAV__ replaced by a tone written for this rig. */
  scenario(name: string): string;
  /** SIPp's media address and a free RTP port on Telnyx's loopback address. */
  mediaArgs(address?: string): Promise<string[]>;
  /** Packets rtpengine received from the browser (the PBX side) and from Telnyx on one call. */
  mediaOf(callId: string): Promise<{ fromBrowser: number; fromTelnyx: number }>;
  /** A SIPp run's result, thrown with its description (and the edge's log tail) unless it exited 0. */
  finished(run: SippRun): Promise<SippResult>;
  /** Signs the console in with `token` (the operator's by default) and waits for the phone. */
  signInToConsole(page: Page, token?: string): Promise<void>;
  /** Picks `device` (an address, `alice@acme.test`; AGENT by default) and signs the phone in with `password`. */
  signInToPhone(page: Page, password?: string, device?: string): Promise<void>;
  /** The phone says registered and the edge holds one binding for the device. */
  registered(page: Page): Promise<void>;
  lookUp(page: Page, user: string): Promise<void>;
  /** Clicks **Call** for `user` in the lookup shown, waits for "In call" and for audio both ways through rtpengine (> 50 packets each); the call's id in rtpengine. */
  callWithAudio(page: Page, user: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPhoneRig(): Promise<PhoneRig> {
  const consoleDir = mkdtempSync(join(tmpdir(), 'wa-edge-phone-console-'));
  const scenarioDir = mkdtempSync(join(tmpdir(), 'wa-edge-phone-sipp-'));
  const ng = new NgClient(1000, () => {});
  let rtp: RtpengineServer | undefined;
  let pki: TestPki | undefined;
  let fx: EdgeFixture | undefined;
  let http: FastifyInstance | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await http?.close();
    await fx?.stop();
    await rtp?.stop();
    ng.close();
    rmSync(consoleDir, { recursive: true, force: true });
    rmSync(scenarioDir, { recursive: true, force: true });
    pki?.remove();
  };
  try {
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
    const rtpNg = rtp.ng;
    fx = await startEdgeFixture(
      () => ({
        // The browser connects from 127.0.0.1: no trunk there, so it is a device or nothing.
        trunks: [],
        sip,
        devices: [{ ...AGENT, numbers: [BUSINESS], defaultRegion: 'GB' }],
        numbers: [{ number: BUSINESS, calling: true, inbound: [`device:${AGENT.username}`] }],
        media: { anchor: { rtpengine: [rtpNg], noMediaSeconds: 10, pingSeconds: 1 } },
      }),
      // WSS as in production: the operator's certificate (leaf + intermediate) and no chainFile, so
      // the engine's default chain file (the certificate chain only, no CA bundle: with one Chromium
      // failed the handshake, ERR_SSL_PROTOCOL_ERROR). The browser is told to accept the test CA.
      { drachtio: { ws: 'wss', tls: wssCert } },
    );
    const { wsContact, wsPort } = fx.drachtio;
    fx.reconfigure({ sip: { ...sip, webrtc: { contact: wsContact, url: `wss://${addrs.edge}:${wsPort}` } } });
    http = await edgeHttpServer(fx.edge, { consoleDir });
    await http.listen({ host: '127.0.0.1', port: 0 });
    const address = http.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    browser = await launchChromium({ width: 1280, height: 1000 }, [...PHONE_ARGS, '--ignore-certificate-errors']);
    browser.context.setDefaultTimeout(WAIT_MS);
  } catch (e) {
    await stop();
    throw e;
  }
  const started = { rtp, fx, browser };
  const url = `http://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  const mediaOf = async (callId: string) => {
    const q = await ng.query(parseNgAddress(started.rtp.ng) as NgAddress, callId);
    return { fromBrowser: received(q, 'pbx').packets, fromTelnyx: received(q, 'telnyx').packets };
  };
  return {
    ...started,
    url,
    scenario(name) {
      const path = join(scenarioDir, name);
      writeFileSync(path, readFileSync(scenarioPath(name), 'utf8').replaceAll('__WAV__', join(scenarioDir, 'tone.wav')));
      return path;
    },
    mediaArgs: async (address = addrs.telnyx) => ['-mi', address, '-mp', String(await freeMediaPort(address))],
    mediaOf,
    async finished(run) {
      const r = await run.done;
      if (r.code !== 0) throw new Error(`${describeSipp(r)}\n--- edge log (tail)\n${started.fx.logs().split('\n').slice(-80).join('\n')}`);
      return r;
    },
    async signInToConsole(page, token = TOKEN) {
      await page.goto(`${url}/console`);
      await page.getByLabel('Admin token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Phone', exact: true }).waitFor();
    },
    async signInToPhone(page, password = AGENT.password, device = AGENT_ADDRESS) {
      await page.getByLabel('Device', { exact: true }).selectOption(device);
      await page.getByLabel('Device password').fill(password);
      await page.getByRole('button', { name: 'Sign in to phone' }).click();
    },
    async registered(page) {
      await page.locator('.phone-state', { hasText: 'registered: calls can be placed' }).waitFor();
      await until(async () => (await started.fx.edge.devices.list(AGENT.username)).length === 1, WAIT_MS, 'one binding of the device');
    },
    async lookUp(page, user) {
      await page.getByLabel('WhatsApp user').fill(user);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.locator('.verdict').waitFor();
    },
    async callWithAudio(page, user) {
      await page.getByRole('button', { name: `Call ${user}` }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      const [callId] = await started.rtp.calls();
      if (callId === undefined) throw new Error('the call is not on rtpengine');
      // The browser's fake microphone towards Telnyx, SIPp's tone towards the browser: both counted by rtpengine.
      await until(async () => {
        const q = await mediaOf(callId);
        return q.fromBrowser > 50 && q.fromTelnyx > 50;
      }, WAIT_MS, 'audio both ways through rtpengine');
      return callId;
    },
    stop,
  };
}
