// `npm run screenshot`: docs/console.png, the operator console of a seeded edge (real Redis, the
// real HTTP server, Debian's Chromium) at 1280 px, and docs/console-narrow.png, the customer lookup
// at a phone's width (390 px); with --phone PREFIX, also the whole page at 390 px, in parts of
// 1,300 px (PREFIX-1.png, ...), for checking the layout (not committed).
//   npx tsx scripts/console-screenshot.ts [--out docs/console.png] [--narrow docs/console-narrow.png] [--phone /tmp/console-phone]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildConsole } from './build-console.js';
import { startRedis } from '../test/helpers/redis.js';
import { launchChromium, chromiumBin, hasChromium } from '../test/helpers/chromium.js';
import { httpFixture, TOKEN } from '../test/http/fixture.js';
import { openConsoleEdge } from '../test/console/edge.js';
import { SEEDED_DEVICES, SEEDED_NUMBERS, seedEdge } from '../test/console/seed.js';
import { USER } from '../test/helpers/config.js';
import type { Page } from 'playwright-core';

const PHONE_PART = 1300;
const { values } = parseArgs({
  options: { out: { type: 'string', default: 'docs/console.png' }, narrow: { type: 'string', default: 'docs/console-narrow.png' }, phone: { type: 'string' } },
});

async function showLookup(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/console`);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('WhatsApp user').fill(USER);
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('A call now would be refused').waitFor();
  // No Cloud API on this edge: the agent sent the request from their WhatsApp tool and records it.
  await page.getByRole('button', { name: 'Record a request sent from my WhatsApp tool' }).click();
  await page.getByRole('status').filter({ hasText: 'Recorded' }).waitFor();
  await page.getByText('the next request is allowed in').waitFor();
  await page.getByRole('heading', { name: 'Recent calls with this customer' }).locator('..').getByRole('table').waitFor();
  await page.getByRole('cell', { name: 'Zoiper' }).or(page.getByText('Zoiper')).first().waitFor();
}

/** A 256-colour palette reads the same for a page of flat colours at a third of the size (pngquant, Debian package). */
function shrink(path: string): void {
  const r = spawnSync('pngquant', ['--quality', '70-95', '--strip', '--skip-if-larger', '--force', '--output', path, '--', path], { stdio: 'inherit' });
  if (r.error) process.stderr.write(`pngquant not found (apt-get install pngquant): ${path} kept at full colour\n`);
}

async function main(): Promise<void> {
  if (!hasChromium) throw new Error(`chromium not found at ${chromiumBin}`);
  const redis = await startRedis();
  const consoleDir = mkdtempSync(join(tmpdir(), 'wa-edge-console-'));
  await buildConsole(consoleDir);
  const edge = await openConsoleEdge((o, d) => httpFixture(redis.url, o, d), consoleDir, { numbers: SEEDED_NUMBERS, devices: SEEDED_DEVICES });
  const browser = await launchChromium({ width: 1280, height: 900 });
  try {
    await seedEdge(edge.f, edge.registry);
    const page = await browser.context.newPage();
    await showLookup(page, edge.url);
    await page.screenshot({ path: values.out, fullPage: true });
    shrink(values.out);
    process.stdout.write(`wrote ${values.out} (${Math.round(statSync(values.out).size / 1024)} KiB)\n`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('section').filter({ has: page.getByRole('heading', { name: 'Customer lookup' }) }).screenshot({ path: values.narrow });
    shrink(values.narrow);
    process.stdout.write(`wrote ${values.narrow} (${Math.round(statSync(values.narrow).size / 1024)} KiB)\n`);
    if (values.phone) {
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      for (let y = 0, part = 1; y < height; y += PHONE_PART, part++) {
        const path = `${values.phone}-${part}.png`;
        await page.screenshot({ path, fullPage: true, clip: { x: 0, y, width: 390, height: Math.min(PHONE_PART, height - y) } });
        process.stdout.write(`wrote ${path}\n`);
      }
    }
  } finally {
    await browser.close();
    await edge.f.close();
    await redis.stop();
    rmSync(consoleDir, { recursive: true, force: true });
  }
}

await main();
