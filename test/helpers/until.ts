// The one way a test waits for something it can observe: vitest's vi.waitFor, polling `cond` until
// it holds, failing with what was awaited and the tail of the context (a log) when it never does.
// Not for bench/ (no vitest there).
import { vi } from 'vitest';

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  context: () => string = () => '',
  intervalMs = 50,
): Promise<void> {
  try {
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
