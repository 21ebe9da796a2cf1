// The whole permission loop through Telnyx (issue #32, SPEC §2 telnyx.api, §4, §4a), for a business
// onboarded through Telnyx's embedded signup with no Meta app: the console (Chromium) looks the
// customer up and sees no permission, its "Request permission" button sends the template through a
// stand-in Telnyx API (outside the 24 h window), Telnyx's delivery events and the customer's signed
// message.received reply arrive at the edge's webhook, and the call then connects through SIPp and
// a real drachtio-server. Inside the window the same button sends Meta's interactive request.
import type { Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { describeWithChromium, pageProblems } from '../helpers/chromium.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { startFakeTelnyx, telnyxPermissionReply, type FakeTelnyx } from '../helpers/fakeTelnyx.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { until } from '../helpers/until.js';
import { edgeHttpServer } from '../../src/edgeHttp.js';
import { useConsoleInChromium } from '../console/edge.js';
import { TOKEN } from '../http/fixture.js';
import { expectOk, expectRefused, outboundCall } from './call.js';

const DIAL_STRING = 'sip:+447911123456@whatsapp-447418613982.sip.telnyx.com';
const TEMPLATE = { name: 'call_permission_request_v1', language: 'en_GB' };

describeWithDrachtio('the permission loop through Telnyx', () => {
  describeWithChromium('console → Telnyx → webhook → SIP call', () => {
    const ui = useConsoleInChromium(20_000);
    let telnyx: FakeTelnyx;
    let fx: EdgeFixture;
    let http: FastifyInstance;
    let url: string;
    let page: Page;
    let problems: string[];

    beforeAll(async () => {
      telnyx = await startFakeTelnyx();
      telnyx.templates.add(TEMPLATE.name);
      fx = await startEdgeFixture(({ telnyxPort, pbxPort }) => ({
        http: { host: '127.0.0.1', port: 8080, adminToken: TOKEN },
        telnyx: {
          dialDomain: 'sip.telnyx.com',
          outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`,
          sources: [`${addrs.telnyx}/32`],
          webhook: { publicKey: telnyx.publicKey },
          api: { key: telnyx.key, baseUrl: telnyx.baseUrl, timeoutMs: 2000, callingPollSeconds: 60 },
        },
        numbers: [{ number: BUSINESS, calling: true, permissionTemplate: TEMPLATE, inbound: [`sip:100@${addrs.pbx}:${pbxPort}`] }],
      }));
      http = await edgeHttpServer(fx.edge, { consoleDir: ui.consoleDir });
      await http.listen({ host: '127.0.0.1', port: 0 });
      const address = http.server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      url = `http://127.0.0.1:${address.port}`;
      telnyx.webhookUrl = `${url}/v1/webhooks/telnyx`;
    }, 90_000);
    afterAll(async () => {
      await http?.close();
      await fx?.stop();
      await telnyx?.close();
    });
    beforeEach(async () => {
      await fx.edge.redis.flushall();
      telnyx.openWindows.clear();
      telnyx.calling.clear();
      telnyx.faults = {};
      telnyx.autoDelivery = 'delivered';
      await fx.edge.telnyxCalling.poll();
      telnyx.requests.length = 0;
      page = await ui.browser.context.newPage();
      problems = pageProblems(page);
      await page.goto(`${url}/console`);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Numbers' }).waitFor();
      await page.getByLabel('Business number').selectOption(BUSINESS);
      await page.getByLabel('WhatsApp user').fill(USER);
      await page.getByRole('button', { name: 'Look up' }).click();
    });
    afterEach(async () => {
      await page.close();
      expect(problems).toEqual([]);
      await fx.expectIdle();
    });

    const answer = () => page.locator('.request [role=status]');

    it('no permission → the button sends the template → delivered → the signed reply grants → the call connects', async () => {
      const figures: Record<string, number> = {};
      // The lookup says no permission, and a call now would be refused.
      await page.locator('.verdict').filter({ hasText: 'A call now would be refused' }).waitFor();
      expect(await page.locator('.verdict').textContent()).toContain('no_permission');
      await expectRefused(fx, 480, 'no_permission');

      let t = Date.now();
      await page.getByRole('button', { name: 'Request permission' }).click();
      await answer().filter({ hasText: 'Permission request sent through Telnyx: the approved template (outside the 24 h window)' }).waitFor();
      figures.clickToSentMs = Date.now() - t;
      expect(telnyx.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /v2/whatsapp/phone_numbers/${encodeURIComponent(BUSINESS)}/conversation_window`,
        'POST /v2/messages/whatsapp',
      ]);
      expect(telnyx.sent()[0]!.body).toMatchObject({ from: BUSINESS, to: USER, whatsapp_message: { type: 'template', template: { name: TEMPLATE.name, language: { code: 'en_GB' } } } });

      // Telnyx's delivery events (message.sent, message.finalized delivered) reach the console.
      t = Date.now();
      await page.locator('.last-request').filter({ hasText: 'delivered' }).waitFor();
      figures.sentToDeliveredShownMs = Date.now() - t;

      // The customer taps "Allow" (temporary, 7 days): Telnyx forwards it, signed.
      t = Date.now();
      const reply = await telnyx.deliver(telnyxPermissionReply({ business: BUSINESS, user: USER, reply: { response: 'accept', expiration_timestamp: Math.floor(Date.now() / 1000) + 7 * 86400 } }));
      figures.replyWebhookMs = Date.now() - t;
      expect(reply).toEqual({ status: 200, body: { applied: 1, duplicates: 0, unusable: 0, linked: 0 } });
      // The console shows it at its next refresh (every 5 s).
      await page.locator('.verdict').filter({ hasText: 'A call now would be placed' }).waitFor();
      figures.replyToConsoleMs = Date.now() - t;

      t = Date.now();
      const { pbx, telnyx: carrier } = await outboundCall(
        fx,
        { scenario: 'pbx_call.xml', service: USER.slice(1), vars: { hold: 300 } },
        { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
      );
      expectOk(pbx, fx);
      expectOk(carrier, fx);
      figures.callMs = Date.now() - t;
      expect(await fx.edge.calls.connected24h(BUSINESS)).toBe(1);
      console.info(`telnyx loop figures: ${JSON.stringify(figures)}`);
    }, 120_000);

    it("inside the 24 h window the button sends Meta's interactive request; a failed delivery is shown as failed", async () => {
      telnyx.openWindows.add(`${BUSINESS}|${USER}`);
      telnyx.autoDelivery = 'delivery_failed';
      await page.getByRole('button', { name: 'Request permission' }).click();
      await answer().filter({ hasText: 'Permission request sent through Telnyx: an interactive request (inside the 24 h window)' }).waitFor();
      expect(telnyx.sent()[0]!.body).toMatchObject({ whatsapp_message: { type: 'interactive', interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' } } } });
      await page.locator('.last-request').filter({ hasText: 'failed' }).waitFor();
      expect(await page.locator('.last-request').textContent()).toContain('Message undeliverable (131026)');
      await until(async () => (await fx.edge.permissions.userState(BUSINESS, USER)).permissionRequests.last24h === 1, 2000, 'the request to be counted');
    }, 60_000);

    it("the console's calling switch is Mission Control's: off at Telnyx refuses the call 403 calling_disabled; on again connects", async () => {
      const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: BUSINESS, exact: true }) });
      await row.getByRole('button', { name: `Turn off calling for ${BUSINESS}` }).click();
      const dialog = page.getByRole('dialog');
      expect(await dialog.textContent()).toContain(`This changes WhatsApp calling for ${BUSINESS} at Telnyx itself: Mission Control shows the change too`);
      await dialog.getByRole('button', { name: `Turn off ${BUSINESS}` }).click();
      await row.locator('.calling').filter({ hasText: 'Calling: off' }).waitFor();
      expect(await row.locator('.calling').textContent()).toContain('(at Telnyx: off)');
      expect(telnyx.calling.get(BUSINESS)).toBe(false);
      expect(telnyx.requests.filter((r) => r.method === 'PATCH').map((r) => r.body)).toEqual([{ enabled: false }]);
      await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      await expectRefused(fx, 403, 'calling_disabled');

      // Turned on in Mission Control: the next poll brings it back for every instance.
      telnyx.calling.set(BUSINESS, true);
      await fx.edge.telnyxCalling.poll();
      const { pbx, telnyx: carrier } = await outboundCall(
        fx,
        { scenario: 'pbx_call.xml', service: USER.slice(1), vars: { hold: 100 } },
        { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: DIAL_STRING, expected_from: BUSINESS } },
      );
      expectOk(pbx, fx);
      expectOk(carrier, fx);
    }, 60_000);

    it('Telnyx down (5xx on the send): the console says so with the code, and nothing is counted', async () => {
      telnyx.faults.send = { status: 503, body: { errors: [{ code: '10011', title: 'Service unavailable', detail: 'Messaging is down' }] } };
      try {
        await page.getByRole('button', { name: 'Request permission' }).click();
        await answer().filter({ hasText: 'Not sent: Telnyx answered 503 (code 10011): Service unavailable: Messaging is down; nothing was counted' }).waitFor();
        expect((await fx.edge.permissions.userState(BUSINESS, USER)).permissionRequests.last24h).toBe(0);
      } finally {
        telnyx.faults = {};
      }
    }, 60_000);
  });
});
