// One vitest suite of the console's phone in Chromium (test/console/phone.test.ts,
// tenantPhone.test.ts): the rig started once (test/console/phoneRig.ts), and around each test a
// fresh page over a flushed Redis, the browser's console and the edge's, rtpengine's and
// drachtio's logs printed when it fails, and after it no page problem, no call left on the edge
// nor on rtpengine.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, onTestFailed } from 'vitest';
import { pageProblems } from '../helpers/chromium.js';
import { startPhoneRig, type PhoneRig } from './phoneRig.js';

export interface PhoneSuite {
  readonly rig: PhoneRig;
  /** This test's page. */
  readonly page: Page;
}

/** `prepare`: what each test starts from, after Redis is flushed and before its page opens. */
export function usePhoneSuite(prepare: (rig: PhoneRig) => Promise<unknown>): PhoneSuite {
  const suite = {} as { rig: PhoneRig; page: Page; problems: string[] };

  beforeAll(async () => {
    suite.rig = await startPhoneRig();
  }, 90_000);

  afterAll(async () => {
    await suite.rig?.stop();
  });

  beforeEach(async () => {
    const { fx, rtp, browser } = suite.rig;
    await fx.edge.redis.flushall();
    await prepare(suite.rig);
    const page = await browser.context.newPage();
    suite.page = page;
    const browserLog: string[] = [];
    onTestFailed(async () => {
      console.error('--- phone panel\n', await page.locator('section.phone').innerText().catch((e: unknown) => String(e)));
      console.error('--- browser console\n', browserLog.slice(-150).join('\n'), '\n--- edge log (tail)\n', fx.logs().split('\n').slice(-120).join('\n'), '\n--- rtpengine (not pings)\n', rtp.logs().split('\n').filter((l) => !/'(ping|list|query)'/.test(l)).slice(-60).join('\n'), '\n--- drachtio\n', process.env.PHONE_DEBUG ? fx.drachtio.logs() : '');
    });
    page.on('console', (m) => browserLog.push(`${m.type()}: ${m.text()}`));
    // JsSIP logs through `debug`, which a browser switches on from localStorage.
    if (process.env.PHONE_DEBUG) await page.addInitScript(() => localStorage.setItem('debug', 'JsSIP:*'));
    suite.problems = pageProblems(page);
  });

  afterEach(async () => {
    await suite.page.close(); // closes the WebSocket: the registration goes with it
    expect(suite.problems).toEqual([]);
    await suite.rig.fx.expectIdle(15_000);
    expect(await suite.rig.rtp.calls(), 'calls left on rtpengine').toEqual([]);
  });

  return suite;
}
