// A real edge HTTP server for the browser: the HTTP fixture over real Redis, listening on a
// kernel-chosen port, on the wall clock (the browser has no other), with softphone registrations
// and the console built by the same script as `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildConsole } from '../../scripts/build-console.js';
import { launchChromium, type Browser } from '../helpers/chromium.js';
import { DeviceRegistry, listDevices } from '../../src/state/devices.js';
import type { HttpDeps } from '../../src/http/server.js';
import type { HttpFixture } from '../http/fixture.js';

export interface ConsoleEdge {
  f: HttpFixture;
  /** http://127.0.0.1:<port> */
  url: string;
  registry: DeviceRegistry;
}

type Open = (overrides: Record<string, unknown>, deps: Partial<HttpDeps>) => Promise<HttpFixture>;

export async function openConsoleEdge(open: Open, consoleDir: string, overrides: Record<string, unknown> = {}): Promise<ConsoleEdge> {
  const holder: { registry?: DeviceRegistry; f?: HttpFixture } = {};
  const devices = async () => (holder.registry && holder.f ? listDevices(holder.f.config.current.devices, holder.registry) : []);
  const f = await open(overrides, { consoleDir, devices });
  Object.defineProperty(f.clock, 'now', { get: () => Date.now(), set: () => {}, configurable: true });
  holder.f = f;
  holder.registry = new DeviceRegistry(f.calls.store);
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const address = f.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('edge HTTP server has no TCP address');
  return { f, url: `http://127.0.0.1:${address.port}`, registry: holder.registry };
}

export interface ConsoleInChromium {
  /** The console as `npm run build` makes it, in a folder of the suite's own. */
  readonly consoleDir: string;
  readonly browser: Browser;
}

/** For one suite: the console built and Chromium launched before it (waits up to `waitMs`), both gone after it. */
export function useConsoleInChromium(waitMs: number): ConsoleInChromium {
  const ui = {} as { consoleDir: string; browser: Browser };
  beforeAll(async () => {
    ui.consoleDir = mkdtempSync(join(tmpdir(), 'wa-edge-console-'));
    await buildConsole(ui.consoleDir);
    ui.browser = await launchChromium();
    ui.browser.context.setDefaultTimeout(waitMs);
  }, 60_000);
  afterAll(async () => {
    await ui.browser?.close();
    if (ui.consoleDir) rmSync(ui.consoleDir, { recursive: true, force: true });
  });
  return ui;
}
