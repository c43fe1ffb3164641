/** DeLong's paired test against a fixture computed by its definition (every positive against every negative) and scipy. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareRocAuc } from '../src/ml/roc-compare.js';

interface Case {
  y: number[];
  p1: number[];
  p2: number[];
  auc1: number;
  auc2: number;
  standard_error: number;
  z: number;
  p_value: number;
}

const cases = JSON.parse(readFileSync(new URL('./fixtures/delong.json', import.meta.url), 'utf8')) as Case[];

describe('compareRocAuc (DeLong paired test)', () => {
  it.each(cases.map((c, i) => [i, c] as const))('case %i: AUCs, standard error, z and p-value as by the definition', (_, c) => {
    const result = compareRocAuc(c.y, c.p1, c.p2);
    expect(result.auc1).toBeCloseTo(c.auc1, 12);
    expect(result.auc2).toBeCloseTo(c.auc2, 12);
    expect(result.standardError).toBeCloseTo(c.standard_error, 12);
    expect(result.z).toBeCloseTo(c.z, 9);
    expect(Math.abs(result.pValue - c.p_value)).toBeLessThan(1e-7 * Math.max(1, c.p_value) + 1e-12);
    expect(result.lower).toBeLessThan(result.difference);
    expect(result.upper).toBeGreaterThan(result.difference);
  });

  it('finds no difference between a model and itself, and refuses labels that are not 0/1', () => {
    const c = cases[0];
    expect(compareRocAuc(c.y, c.p1, c.p1)).toMatchObject({ difference: 0, z: 0, pValue: 1 });
    expect(() => compareRocAuc([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])).toThrow(/y\[2\] must be 0 or 1/);
    expect(() => compareRocAuc([0, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3])).toThrow(/at least 2 positives and 2 negatives/);
  });
});
