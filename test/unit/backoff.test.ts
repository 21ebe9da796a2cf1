import { describe, expect, it } from 'vitest';
import { backoffDelay, nextTryWithin } from '../../src/domain/backoff.js';

describe('backoffDelay', () => {
  it.each([
    [1, 250],
    [2, 500],
    [3, 1000],
    [7, 10_000], // 16 s capped at 10 s
    [0, 250], // before the first failure: the minimum
  ])('retry %i → %i ms (min 250, max 10 000)', (retry, ms) => {
    expect(backoffDelay(retry, 250, 10_000)).toBe(ms);
  });
});

describe('nextTryWithin: a wait for Redis bounded in all', () => {
  it.each([
    [1, 0, 5000, 25], // first retry: the minimum
    [4, 100, 5000, 200],
    [9, 1000, 5000, 250], // capped at the maximum
    [9, 4900, 5000, 100], // never past the bound
    [2, 5000, 5000, undefined], // bound spent: give up
    [1, 0, 0, undefined], // failoverWaitMs 0: no wait at all
  ])('retry %i after %i ms of %i → %s', (retry, waited, bound, ms) => {
    expect(nextTryWithin(retry, waited, bound, 25, 250)).toBe(ms);
  });
});
