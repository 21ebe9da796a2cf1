// SPEC §7: at most `per24h` permission requests in any rolling 24 h and `per7d` in any rolling 7
// days per business+user. How long until the next one fits, from the times of the ones made: the
// same arithmetic as reserve_permission_request.lua, which enforces it atomically; this copy only
// tells the console the wait before an agent clicks.

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export interface PermissionRequestLimits {
  per24h: number;
  per7d: number;
}

/** Milliseconds until another request is allowed (0: allowed now). `times`: epoch ms of requests made, any order. */
export function permissionRequestWaitMs(times: readonly number[], now: number, limits: PermissionRequestLimits): number {
  let wait = 0;
  for (const [span, cap] of [
    [DAY_MS, limits.per24h],
    [WEEK_MS, limits.per7d],
  ] as const) {
    const inWindow = times.filter((t) => t > now - span).sort((a, b) => a - b);
    if (inWindow.length < cap) continue;
    // The (count - cap + 1)-th oldest request must leave the window before another fits.
    const w = cap === 0 ? span : (inWindow[inWindow.length - cap] as number) + span - now;
    wait = Math.max(wait, w);
  }
  return wait;
}
