// The console's phone per tenant (SPEC §2a, §4a Phone; issue 35 item 5) in Chromium: a tenant's
// token signs into that tenant's view and its phone offers that tenant's devices only, signs in as
// one of them at the tenant's SIP domain (the host of its address, which is also its digest realm,
// as for any softphone of a tenant), places a call from the tenant's number and rings for a
// WhatsApp call to it. The operator's phone follows the tenant picker. The rig of
// test/console/phone.test.ts: a real drachtio-server (wss), a real rtpengine, SIPp playing Telnyx;
// the tenants are made through the running edge's own /v1/tenants.
import type { Page } from 'playwright-core';
import { beforeEach, expect, it } from 'vitest';
import { recentCalls } from '../../src/state/records.js';
import { USER } from '../helpers/config.js';
import { describeWithChromium } from '../helpers/chromium.js';
import { challengeOf, digestAuthorization, rawClient } from '../helpers/digestClient.js';
import { addrs } from '../helpers/drachtio.js';
import { describeWithMedia } from '../helpers/rtpengine.js';
import { messagesOf, sipp } from '../helpers/sipp.js';
import { until } from '../helpers/until.js';
import { AGENT_ADDRESS, TOKEN, WAIT_MS, type PhoneRig } from './phoneRig.js';
import { usePhoneSuite } from './phoneSuite.js';

const A_NUMBER = '+447418600001';
const B_NUMBER = '+447418600101';
const A_ALICE = { address: 'alice@acme.test', password: 'acme-alice-1' };
const B_BOB = { address: 'bob@bravo.test', password: 'bravo-bob-3' };

describeWithChromium('console phone per tenant in Chromium', () => {
  describeWithMedia('console phone per tenant: WebRTC through rtpengine', () => {
    const suite = usePhoneSuite(async (rig) => {
      await rig.fx.edge.tenants.refresh();
      // Both tenants have an `alice` (each its own softphone, its own password); B also has a `bob`.
      await api('POST', '/v1/tenants', {
        name: 'acme',
        domain: 'acme.test',
        numbers: [{ number: A_NUMBER, calling: true, inbound: ['device:alice'] }],
        devices: [{ username: 'alice', password: A_ALICE.password, numbers: [A_NUMBER], defaultRegion: 'GB' }],
      });
      await api('POST', '/v1/tenants', {
        name: 'bravo',
        domain: 'bravo.test',
        numbers: [{ number: B_NUMBER, calling: true, inbound: ['device:alice'] }],
        devices: [
          { username: 'alice', password: 'bravo-alice-2', numbers: [B_NUMBER], defaultRegion: 'GB' },
          { username: 'bob', password: B_BOB.password, numbers: [B_NUMBER], defaultRegion: 'GB' },
        ],
      });
      await rig.fx.edge.permissions.grant(A_NUMBER, USER, 'permanent', 'test');
      await rig.fx.edge.permissions.grant(B_NUMBER, USER, 'permanent', 'test');
    });
    let rig: PhoneRig;
    let page: Page;
    beforeEach(() => void ({ rig, page } = suite));

    const api = async (method: 'GET' | 'POST', path: string, body?: unknown, token = TOKEN) => {
      const res = await fetch(`${suite.rig.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const tokenOf = async (tenant: string) => (await api('POST', `/v1/tenants/${tenant}/tokens`, { name: 'console' })).token as string;

    const offered = () => page.locator('#phone-device option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    const registeredAs = async (merged: string) => {
      await page.locator('.phone-state', { hasText: 'registered: calls can be placed' }).waitFor();
      await until(async () => (await rig.fx.edge.devices.list(merged)).length === 1, WAIT_MS, `one binding of ${merged}`);
    };

    it("A's token: the phone offers A's device only, registers as alice@acme.test, calls a user from A's number (Telnyx gets A's number), hang up", async () => {
      const telnyx = sipp({ scenario: rig.scenario('uas_answer_media_browser.xml'), localAddress: addrs.telnyx, localPort: rig.fx.telnyxPort, timeoutSec: 60, extraArgs: await rig.mediaArgs() });
      await telnyx.ready;
      await rig.signInToConsole(page, await tokenOf('acme'));
      expect(await offered()).toEqual([A_ALICE.address]);
      await rig.signInToPhone(page, A_ALICE.password, A_ALICE.address);
      await registeredAs('alice@acme');
      expect(await rig.fx.edge.devices.list('alice@bravo')).toEqual([]);
      expect(await rig.fx.edge.devices.list('alice')).toEqual([]);
      await expect.poll(() => page.locator('section.phone').textContent()).toContain(`Signed in as alice@acme.test (${A_NUMBER})`);

      await rig.lookUp(page, USER);
      await rig.callWithAudio(page, USER);
      await page.getByRole('button', { name: 'Hang up' }).click();
      const t = await rig.finished(telnyx);
      const invite = messagesOf(t).find((m) => /message received/.test(m) && /^INVITE /m.test(m)) ?? '';
      expect(invite).toMatch(new RegExp(`^From:[^\\n]*sip:\\${A_NUMBER}@`, 'm'));
      expect(invite).toMatch(new RegExp(`^INVITE sip:\\${USER}@`, 'm'));
      expect(t.messages).toMatch(/BYE sip:/);
      await page.locator('.end-reason', { hasText: 'You hung up.' }).waitFor();
      await rig.fx.expectIdle(15_000);
      const [record] = await recentCalls(rig.fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'outbound', outcome: 'connected', reason: 'bye_from_caller', media: 'anchored', user: USER, number: A_NUMBER });
    }, 90_000);

    it("A's phone cannot sign in as B's device: it is not offered, and B's username at A's domain is refused (at B's domain the same password registers)", async () => {
      await rig.signInToConsole(page, await tokenOf('acme'));
      expect(await offered()).toEqual([A_ALICE.address]);
      expect(await page.locator('main').textContent()).not.toContain('bravo');
      // Forced into the page: bob with B's password, at A's domain (the phone's realm is A's).
      await page.locator('#phone-device').evaluate((select) => {
        const option = document.createElement('option');
        option.value = 'bob@acme.test';
        option.textContent = 'bob@acme.test';
        select.appendChild(option);
      });
      await rig.signInToPhone(page, B_BOB.password, 'bob@acme.test');
      await expect.poll(() => page.getByRole('alert').allTextContents(), { timeout: WAIT_MS }).toContainEqual(expect.stringContaining('The edge refused the password for device bob (403 auth_failed)'));
      expect(await rig.fx.edge.devices.list('bob@bravo')).toEqual([]);
      expect(await rig.fx.edge.devices.list('bob@acme')).toEqual([]);

      // The control: the same username and password at B's domain is B's bob, and registers.
      const phone = await rawClient(addrs.softphone);
      const edge = { host: addrs.edge, port: Number(rig.fx.sip.split(':')[1]) };
      try {
        const challenge = challengeOf(await phone.request(edge, 'REGISTER', { user: 'bob', domain: 'bravo.test' }));
        expect(challenge.realm).toBe('bravo.test');
        const ok = await phone.request(edge, 'REGISTER', { user: 'bob', domain: 'bravo.test', expires: 60, auth: digestAuthorization(challenge, 'REGISTER', `sip:${edge.host}:${edge.port}`, 'bob', B_BOB.password) });
        expect(ok.status).toBe(200);
        expect(await rig.fx.edge.devices.list('bob@bravo')).toHaveLength(1);
      } finally {
        phone.close();
      }
    }, 90_000);

    it("a WhatsApp call to A's number rings A's tab, which answers it", async () => {
      await rig.signInToConsole(page, await tokenOf('acme'));
      await rig.signInToPhone(page, A_ALICE.password, A_ALICE.address);
      await registeredAs('alice@acme');
      const telnyx = sipp({ scenario: rig.scenario('uac_call_media.xml'), localAddress: addrs.telnyx, remote: rig.fx.sip, service: A_NUMBER, vars: { from: USER, hold: 3000 }, timeoutSec: 60, extraArgs: await rig.mediaArgs() });
      await page.locator('.call-state', { hasText: 'Incoming WhatsApp call' }).waitFor();
      await expect.poll(() => page.locator('.call-title').textContent()).toBe(`Incoming WhatsApp call from ${USER} on ${A_NUMBER}`);
      await page.getByRole('button', { name: 'Answer' }).click();
      await page.locator('.call-state', { hasText: 'In call' }).waitFor();
      await rig.finished(telnyx); // streamed 3 s, then hung up
      await page.locator('.end-reason', { hasText: 'The customer hung up.' }).waitFor();
      await rig.fx.expectIdle(15_000);
      const [record] = await recentCalls(rig.fx.edge.redis, 1);
      expect(record).toMatchObject({ direction: 'inbound', outcome: 'connected', number: A_NUMBER });
    }, 90_000);

    it("the operator's phone follows the tenant picker: each tenant's devices at its domain; a device signed in stays signed in when another tenant is picked", async () => {
      await rig.signInToConsole(page);
      const picker = page.getByLabel('Tenant', { exact: true });
      await picker.selectOption('acme');
      await expect.poll(offered).toEqual([A_ALICE.address]);
      await picker.selectOption('default');
      await expect.poll(offered).toEqual([AGENT_ADDRESS]);
      await picker.selectOption('bravo');
      await expect.poll(offered).toEqual(['alice@bravo.test', B_BOB.address]);
      await rig.signInToPhone(page, B_BOB.password, B_BOB.address);
      await registeredAs('bob@bravo');
      await picker.selectOption('acme');
      await page.getByRole('heading', { name: 'Tenant acme' }).waitFor();
      await expect.poll(() => page.locator('section.phone').textContent()).toContain(`Signed in as bob@bravo.test (${B_NUMBER})`);
      expect(await rig.fx.edge.devices.list('bob@bravo')).toHaveLength(1);
    }, 90_000);
  });
});
