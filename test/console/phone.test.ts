// The console's phone (SPEC §4a Phone, issue 24) in a real browser: Debian's Chromium with a fake
// microphone, signed in as a device over the edge's secure WebSocket (wss, the engine's
// self-signed certificate accepted by the browser), calls through a
// real drachtio-server and a real rtpengine (ICE + DTLS-SRTP to the browser, plain RTP to Telnyx),
// with SIPp playing Telnyx and streaming PCMU audio. The rig is test/console/phoneRig.ts (shared with
// bench/console/phoneCost.ts, which measures what such a call costs).
import type { Page } from 'playwright-core';
import { beforeEach, expect, it } from 'vitest';
import { recentCalls } from '../../src/state/records.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { describeWithChromium } from '../helpers/chromium.js';
import { addrs } from '../helpers/drachtio.js';
import { describeWithMedia } from '../helpers/rtpengine.js';
import { sipp } from '../helpers/sipp.js';
import { AGENT, AGENT_ADDRESS, TOKEN, WAIT_MS, type PhoneRig } from './phoneRig.js';
import { usePhoneSuite } from './phoneSuite.js';

const NOT_ALLOWED_USER = '+447700900777';

describeWithChromium('console phone in Chromium', () => {
  describeWithMedia('console phone: WebRTC through rtpengine', () => {
    const suite = usePhoneSuite((rig) => rig.fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test'));
    let rig: PhoneRig;
    let page: Page;
    beforeEach(() => void ({ rig, page } = suite));

    const signInToConsole = () => rig.signInToConsole(page);
    const signInToPhone = (password?: string) => rig.signInToPhone(page, password);
    const registered = () => rig.registered(page);
    const lookUp = (user: string) => rig.lookUp(page, user);
    const mediaArgs = () => rig.mediaArgs();

    it('a wrong device password is said plainly, and nothing is registered', async () => {
      await signInToConsole();
      await signInToPhone('not-the-password');
      await expect.poll(() => page.getByRole('alert').allTextContents(), { timeout: WAIT_MS }).toContainEqual(expect.stringContaining('The edge refused the password for device agent1 (403 auth_failed)'));
      expect(await rig.fx.edge.devices.list(AGENT.username)).toEqual([]);
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
      const telnyx = sipp({ scenario: rig.scenario('uas_answer_media_browser.xml'), localAddress: addrs.telnyx, localPort: rig.fx.telnyxPort, timeoutSec: 60, extraArgs: await mediaArgs() });
      await telnyx.ready;
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(USER);
      await rig.callWithAudio(page, USER);
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
      const t = await rig.finished(telnyx); // it got the BYE and answered it
      expect(t.messages).toMatch(/BYE sip:/);
      await page.locator('.end-reason', { hasText: 'You hung up.' }).waitFor();
      await rig.fx.expectIdle(15_000);
      expect(await rig.rtp.calls()).toEqual([]);
      const [record] = await recentCalls(rig.fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'outbound', outcome: 'connected', reason: 'bye_from_caller', media: 'anchored', user: USER, number: BUSINESS });
      expect(record!.rtpPacketsFromPbx).toBeGreaterThan(50);
      expect(record!.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    }, 90_000);

    it('no rtpengine answering: the browser call is refused 503 media_unavailable and the page says why', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      await lookUp(USER);
      await rig.rtp.kill();
      try {
        await page.getByRole('button', { name: `Call ${USER}` }).click();
        await page.locator('.end-reason', { hasText: 'No media relay (rtpengine) is available' }).waitFor();
        await expect.poll(() => page.locator('.end-reason').textContent()).toContain('503');
        const [record] = await recentCalls(rig.fx.edge.redis, 1);
        expect(record).toMatchObject({ direction: 'outbound', outcome: 'failed', reason: 'media_unavailable' });
      } finally {
        await rig.rtp.start();
      }
      await expect.poll(() => rig.fx.edge.media!.anyUp, { timeout: WAIT_MS }).toBe(true);
    }, 90_000);

    it('a device signed in in two tabs: both ring, the first to answer takes the call, the other stops ringing', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const second = await rig.browser.context.newPage();
      try {
        // The same tab's sessionStorage is not shared: the second tab signs in on its own.
        await second.goto(`${rig.url}/console`);
        await second.getByLabel('Admin token').fill(TOKEN);
        await second.getByRole('button', { name: 'Sign in' }).click();
        await second.getByLabel('Device', { exact: true }).selectOption(AGENT_ADDRESS);
        await second.getByLabel('Device password').fill(AGENT.password);
        await second.getByRole('button', { name: 'Sign in to phone' }).click();
        await expect.poll(async () => (await rig.fx.edge.devices.list(AGENT.username)).length, { timeout: WAIT_MS }).toBe(2);
        const telnyx = sipp({ scenario: rig.scenario('uac_call_media.xml'), localAddress: addrs.telnyx, remote: rig.fx.sip, service: BUSINESS, vars: { from: USER, hold: 2000 }, timeoutSec: 60, extraArgs: await mediaArgs() });
        await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
        await second.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
        await second.getByRole('button', { name: 'Answer' }).click();
        await second.locator('.call-state', { hasText: 'In call' }).waitFor();
        await page.locator('.call-state', { hasText: 'Call ended' }).waitFor();
        await rig.finished(telnyx);
        const [record] = await recentCalls(rig.fx.edge.redis, 1);
        expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected' });
      } finally {
        await second.close();
      }
    }, 90_000);

    it('Decline answers the WhatsApp call 603', async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const telnyx = sipp({ scenario: rig.scenario('telnyx_call_declined.xml'), localAddress: addrs.telnyx, remote: rig.fx.sip, service: BUSINESS, vars: { from: USER }, timeoutSec: 60, extraArgs: await mediaArgs() });
      await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
      await page.getByRole('button', { name: 'Decline' }).click();
      await rig.finished(telnyx);
      await page.locator('.end-reason', { hasText: 'You declined the call.' }).waitFor();
    }, 90_000);

    it("a WhatsApp user's call rings the browser, is answered, and audio flows both ways", async () => {
      await signInToConsole();
      await signInToPhone();
      await registered();
      const telnyx = sipp({ scenario: rig.scenario('uac_call_media.xml'), localAddress: addrs.telnyx, remote: rig.fx.sip, service: BUSINESS, vars: { from: USER, hold: 4000 }, timeoutSec: 60, extraArgs: await mediaArgs() });
      await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
      await expect.poll(() => page.locator('.call-title').textContent()).toContain(USER);
      await page.getByRole('button', { name: 'Answer' }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      await rig.finished(telnyx); // streamed 4 s, then hung up
      await page.locator('.end-reason', { hasText: 'The customer hung up.' }).waitFor();
      await rig.fx.expectIdle(15_000);
      const [record] = await recentCalls(rig.fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected', media: 'anchored' });
      expect(record!.rtpPacketsFromPbx).toBeGreaterThan(50);
      expect(record!.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    }, 90_000);
  });
});
