// The console's one refresh loop: a load runs, and the next is scheduled only once it has finished
// (never two at once, however slow the edge); a newer run aborts an older one, so a late answer
// (a previous customer's lookup, a figure from before a change) never replaces a newer one.
import { useCallback, useEffect, useRef } from 'preact/hooks';

export const REFRESH_MS = 5000;

/** A load: reads with `signal`, and sets state only while `signal` is not aborted. */
export type Load = (signal: AbortSignal) => Promise<void>;

/**
 * Runs `load` now, then REFRESH_MS after each run finished; restarts (aborting the run in flight)
 * when `load` changes, stops on unmount or when `load` is null. Returns "run now": it aborts the
 * run in flight and starts a fresh one (after a change the page made).
 */
export function usePoll(load: Load | null, intervalMs: number = REFRESH_MS): () => void {
  const runNow = useRef<() => void>(() => {});
  useEffect(() => {
    if (!load) return undefined;
    let controller: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      clearTimeout(timer);
      controller?.abort();
      const mine = new AbortController();
      controller = mine;
      await load(mine.signal).catch(() => {}); // a load reports its own failures
      // Aborted: a newer run (or the cleanup) owns the schedule now.
      if (!mine.signal.aborted) timer = setTimeout(() => void run(), intervalMs);
    };
    runNow.current = () => void run();
    void run();
    return () => {
      clearTimeout(timer);
      controller?.abort();
      runNow.current = () => {};
    };
  }, [load, intervalMs]);
  return useCallback(() => runNow.current(), []);
}
