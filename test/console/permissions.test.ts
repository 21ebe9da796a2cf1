// Permissions the edge has not seen, in the console: Meta's view beside the edge's (in the
// customer lookup, Meta's call cap on the numbers table) and importing permissions from CSV.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { BUSINESS, USER } from '../helpers/config.js';
import { describeWithChromium, pageProblems } from '../helpers/chromium.js';
import { useRedisServer } from '../helpers/redis.js';
import { TOKEN, numbersWithId, useHttpFixtures } from '../http/fixture.js';
import { startFakeMeta, type FakeMeta } from '../http/fakeMeta.js';
import { openConsoleEdge, useConsoleInChromium, type ConsoleEdge } from './edge.js';

const WAIT_MS = 20_000;

describeWithChromium("operator console: Meta's view", () => {
  const redis = useRedisServer();
  const openFixture = useHttpFixtures(redis);
  const ui = useConsoleInChromium(WAIT_MS);
  let meta: FakeMeta;
  let edge: ConsoleEdge;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    meta = await startFakeMeta();
  }, 60_000);
  afterAll(async () => {
    await meta?.close();
  });
  beforeEach(async () => {
    edge = await openConsoleEdge(openFixture, ui.consoleDir, {
      whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: 'tok-123', permissionLookup: true } },
      numbers: numbersWithId(),
    });
    page = await ui.browser.context.newPage();
    problems = pageProblems(page);
  });
  afterEach(async () => {
    await page.close();
    expect(problems).toEqual([]);
  });

  it('a permission Meta holds and the edge has not seen: said plainly; Meta’s cap below the configured one is flagged', async () => {
    meta.answer = {
      status: 200,
      body: { permission: { status: 'permanent' }, actions: [{ action_name: 'start_call', can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 5, current_usage: 1 }] }] },
    };
    await page.goto(`${edge.url}/console`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Numbers' }).waitFor();
    await page.getByLabel('Business number').selectOption(BUSINESS);
    await page.getByLabel('WhatsApp user').fill(USER);
    await page.getByRole('button', { name: 'Look up' }).click();
    const note = page.locator('.meta-view.differs');
    await note.waitFor();
    expect(await note.textContent()).toMatch(/Meta holds a permanent permission; a call can be placed\..*Meta and the edge differ: Meta holds a permanent permission the edge has not seen/);
    // A call now would be placed: the edge asks Meta first.
    expect(await page.locator('.verdict').textContent()).toMatch(/would be placed/);
    // The numbers table refreshes by itself and shows Meta's cap (5) under the configured one (100).
    await page.locator('.meta-cap.above').filter({ hasText: 'Per customer: Meta 5, configured 100' }).waitFor();
  }, 60_000);

  it('import permissions: a pasted CSV is applied row by row, and the rows that could not be are listed', async () => {
    await page.goto(`${edge.url}/console`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Import permissions (CSV)').click();
    await page.getByLabel('Import for').selectOption(BUSINESS);
    await page.getByLabel('Rows').fill(`user,kind,expiresAt,source\n${USER},permanent,,crm\n+4479,permanent`);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('status').filter({ hasText: '1 granted, 0 already held, 1 invalid' }).waitFor();
    expect(await page.locator('.seed-problems').textContent()).toMatch(/Row 3 \(\+4479\): user: neither a possible E\.164 number/);
    expect(await edge.f.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'crm' });
  }, 60_000);
});
