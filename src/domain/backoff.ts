// Exponential back-off, one rule for every retry loop of the edge (the local engine's restarts,
// the Telnyx registration): `min` for the first retry, doubling per consecutive failure, capped at `max`.

/** Delay before retry number `retry` (1 = the first), in the unit of `min` and `max`. */
export function backoffDelay(retry: number, min: number, max: number): number {
  return Math.min(max, min * 2 ** Math.max(0, retry - 1));
}
