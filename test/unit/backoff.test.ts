import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/domain/backoff.js';

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
