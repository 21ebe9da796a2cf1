// Debian's Chromium (`apt-get install chromium`) driven by playwright-core: a real browser, never a
// mock and never a downloaded one. Missing outside CI: the suite is skipped with one loud line;
// missing in CI: it fails.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe, it } from 'vitest';

export const chromiumBin: string = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const hasChromium: boolean = existsSync(chromiumBin);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let warned = false;

/** `describe` with Chromium; without it, `describe.skip` and one SKIPPED line, or a failing test in CI. */
export function describeWithChromium(name: string, fn: () => void): void {
  if (hasChromium) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it(`needs Chromium at ${chromiumBin}`, () => {
        throw new Error(`chromium not found at ${chromiumBin} (apt-get install chromium, or set CHROMIUM_BIN); CI must run the browser tests`);
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.warn(`SKIPPED: chromium not found at ${chromiumBin} (apt-get install chromium, or set CHROMIUM_BIN)`);
  }
  describe.skip(name, fn);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * The console's phone in a headless browser: a fake microphone (a tone) granted without a prompt,
 * ICE over loopback, and host candidates as addresses rtpengine can reach (not mDNS names).
 */
export const PHONE_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/** A fresh profile in a directory of its own, removed on close. */
export async function launchChromium(viewport = { width: 1280, height: 900 }, extraArgs: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'wa-edge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBin,
    headless: true,
    args: [...ARGS, ...extraArgs],
    viewport,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * What must never happen on a console page, collected as it happens: uncaught exceptions and
 * Content Security Policy / Trusted Types refusals. A suite expects the list empty after each test.
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Trusted(HTML|Script)|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  return problems;
}
