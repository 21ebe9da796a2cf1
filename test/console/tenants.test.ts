// The console per tenant (SPEC §2a, §4a) in Chromium: the operator picks a tenant and manages its
// numbers, trunks, devices and tokens; a tenant's token signs into that tenant's view and sees
// nothing of another tenant.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { BUSINESS } from '../helpers/config.js';
import { describeWithChromium, pageProblems } from '../helpers/chromium.js';
import { useRedisServer } from '../helpers/redis.js';
import { TOKEN } from '../http/fixture.js';
import { tenantFixture, type TenantFixture } from '../http/tenantFixture.js';
import { useConsoleInChromium } from './edge.js';

const WAIT_MS = 20_000;
const A_NUMBER = '+447418600001';
const B_NUMBER = '+447418600101';

describeWithChromium('the console per tenant', () => {
  const redis = useRedisServer();
  const ui = useConsoleInChromium(WAIT_MS);
  let f: TenantFixture;
  let url: string;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    f = await tenantFixture(redis.url, {}, 50, { consoleDir: ui.consoleDir });
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const address = f.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => f?.close());
  beforeEach(async () => {
    await f.redis.flushall();
    await f.directory.refresh();
    // Each tenant's PBX on its own range: two tenants' trunks may not share one (409 trunk_overlap).
    for (const [name, number, range] of [['acme', A_NUMBER, '10.1.0.0/16'], ['bravo', B_NUMBER, '10.2.0.0/16']] as const) {
      const res = await f.api('POST', '/v1/tenants', { name, domain: `${name}.test`, numbers: [{ number }], trunks: [{ name: 'pbx', sources: [range], numbers: [number] }] });
      expect(res.statusCode, res.body).toBe(201);
    }
    page = await ui.browser.context.newPage();
    problems = pageProblems(page);
  });
  afterEach(async () => {
    await page?.close();
    expect(problems).toEqual([]);
  });

  async function signIn(token: string) {
    await page.goto(`${url}/console`);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Numbers' }).waitFor();
  }

  it('the operator picks a tenant, sees its numbers only, adds a device, is told a bad trunk by its key path, makes a token', async () => {
    await signIn(TOKEN);
    await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
    await page.getByRole('heading', { name: 'Tenant acme' }).waitFor();
    const numbers = page.locator('section', { has: page.getByRole('heading', { name: 'Numbers', exact: true }) });
    await numbers.getByText(A_NUMBER).first().waitFor();
    expect(await numbers.textContent()).not.toContain(B_NUMBER);
    expect(await numbers.textContent()).not.toContain(BUSINESS);

    await page.getByLabel('Add to devices (JSON)').fill(JSON.stringify({ username: 'alice', password: 'alice-pass-1', numbers: [A_NUMBER] }));
    await page.locator('form', { has: page.getByLabel('Add to devices (JSON)') }).getByRole('button', { name: 'Add' }).click();
    await page.getByRole('button', { name: 'Remove alice' }).waitFor();
    expect((await f.api('GET', '/v1/tenants/acme/devices')).json().devices).toEqual([{ username: 'alice', numbers: [A_NUMBER] }]);

    await page.getByLabel('Add to trunks (JSON)').fill(JSON.stringify({ name: 'second', sources: ['nonsense'], numbers: [A_NUMBER] }));
    await page.locator('form', { has: page.getByLabel('Add to trunks (JSON)') }).getByRole('button', { name: 'Add' }).click();
    await page.getByText('invalid_config: trunks[1].sources[0]: not a CIDR').waitFor();

    await page.getByLabel('New token for').fill('pbx provisioning');
    await page.getByRole('button', { name: 'Make token' }).click();
    const secret = (await page.getByRole('status').filter({ hasText: 'New token' }).locator('code').textContent()) ?? '';
    expect(secret).toMatch(/^wat_/);
    expect((await f.as(secret, 'GET', '/v1/tenants')).json().tenants.map((t: { name: string }) => t.name)).toEqual(['acme']);
  });

  it("a tenant's token signs into that tenant's view: no picker, nothing of another tenant", async () => {
    const token = (await f.api('POST', '/v1/tenants/bravo/tokens', { name: 'console' })).json().token as string;
    await signIn(token);
    await page.getByRole('heading', { name: 'Tenant bravo' }).waitFor();
    expect(await page.getByLabel('Tenant', { exact: true }).count()).toBe(0);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain(B_NUMBER);
    expect(text).not.toContain(A_NUMBER);
    expect(text).not.toContain(BUSINESS);
    // Numbers are the operator's to hand out: no way to add one here.
    expect(await page.getByLabel('Add to numbers (JSON)').count()).toBe(0);
  });
});
