// The one way a test waits for something it can observe: vitest's vi.waitFor, polling `cond` until
// it holds, failing with what was awaited and the tail of the context (a log) when it never does.
// A bench script that reuses a fixture (bench/console/phoneCost.ts) runs outside vitest, where
// vi.waitFor cannot run (it reads the runner's state): there the same poll is a plain loop.
import { vi } from 'vitest';

const insideVitest = (): boolean => '__vitest_worker__' in globalThis;

async function pollLoop(cond: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // as vi.waitFor: a throwing condition is "not yet"
    }
    if (Date.now() >= deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  context: () => string = () => '',
  intervalMs = 50,
): Promise<void> {
  try {
    if (!insideVitest()) return await pollLoop(cond, timeoutMs, intervalMs);
    await vi.waitFor(
      async () => {
        if (!(await cond())) throw new Error('not yet');
      },
      { timeout: timeoutMs, interval: intervalMs },
    );
  } catch {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context().slice(-3000)}`);
  }
}
