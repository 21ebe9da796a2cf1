// SPEC §7: 1 request per rolling 24 h and 2 per rolling 7 days; the wait the console shows before a click.
import { describe, expect, it } from 'vitest';
import { permissionRequestWaitMs } from '../../src/domain/permissionRequests.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LIMITS = { per24h: 1, per7d: 2 };

describe('the wait before the next permission request', () => {
  it('none made: allowed now', () => {
    expect(permissionRequestWaitMs([], 10 * DAY, LIMITS)).toBe(0);
  });
  it('one an hour ago: 23 h', () => {
    expect(permissionRequestWaitMs([10 * DAY - HOUR], 10 * DAY, LIMITS)).toBe(23 * HOUR);
  });
  it('two in the week, the older 2 days ago: 5 days (the week), not the day', () => {
    expect(permissionRequestWaitMs([8 * DAY, 9 * DAY], 10 * DAY, LIMITS)).toBe(5 * DAY);
  });
  it('requests older than the windows do not count, in any order', () => {
    expect(permissionRequestWaitMs([10 * DAY - HOUR, 1 * DAY], 10 * DAY, LIMITS)).toBe(23 * HOUR);
  });
  it('a cap of 0 waits a whole window', () => {
    expect(permissionRequestWaitMs([], 10 * DAY, { per24h: 0, per7d: 2 })).toBe(DAY);
  });
});
