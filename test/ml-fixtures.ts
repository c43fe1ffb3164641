/** Shared by the test/ml-*.test.ts files: scikit-learn reference fixtures and numeric comparison. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Reads test/fixtures/<name>, written by scripts/sklearn_fixtures.py. */
export function loadFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Element-wise |actual - expected| <= tol (null in `expected` stands for NaN), with the first bad index named. */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number | null>, tol: number): void {
  expect(actual.length, 'length').toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e === null || Number.isNaN(e)) {
      expect(Number.isNaN(actual[i]), `index ${i} should be NaN, got ${actual[i]}`).toBe(true);
    } else {
      expect(Math.abs(actual[i] - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tol);
    }
  }
}
