// Exponential back-off, one rule for every retry loop of the edge (the local engine's restarts,
// the Telnyx registration): `min` for the first retry, doubling per consecutive failure, capped at `max`.

/** Delay before retry number `retry` (1 = the first), in the unit of `min` and `max`. */
export function backoffDelay(retry: number, min: number, max: number): number {
  return Math.min(max, min * 2 ** Math.max(0, retry - 1));
}

/** The next try of an operation that waits at most `boundMs` in all for Redis; `undefined` once the bound is spent. */
export function nextTryWithin(retry: number, waitedMs: number, boundMs: number, min: number, max: number): number | undefined {
  const left = boundMs - waitedMs;
  if (left <= 0) return undefined;
  return Math.min(left, backoffDelay(retry, min, max));
}
