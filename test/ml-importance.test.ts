import { describe, expect, it } from 'vitest';
import { featurePermutationImportance, permutationImportance } from '../src/ml/importance.js';
import { LogisticRegression } from '../src/ml/logistic.js';
import { createRng, shuffleInPlace } from '../src/ml/random.js';
import { fitTabularModel } from '../src/ml/tabular-model.js';
import type { Frame } from '../src/ml/types.js';

/** Column 0 decides the label, column 1 helps a little, column 2 is noise. */
function makeFrame(n: number, seed: number): { X: Frame; y: Uint8Array } {
  const rng = createRng(seed);
  const columns = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of columns) c[i] = rng.next() * 2 - 1;
    y[i] = 3 * columns[0][i] + 0.7 * columns[1][i] + 0.5 * (rng.next() - 0.5) > 0 ? 1 : 0;
  }
  return { X: { nRows: n, columns }, y };
}

describe('permutationImportance', () => {
  const { X, y } = makeFrame(800, 11);
  const model = new LogisticRegression().fit(X, y);

  it('ranks the deciding feature first and gives noise about zero', () => {
    const imp = permutationImportance(model, X, y, { nRepeats: 5, seed: 1 });
    expect(imp.baseline).toBeGreaterThan(0.95);
    expect(imp.mean[0]).toBeGreaterThan(0.2);
    expect(imp.mean[1]).toBeGreaterThan(0.005);
    expect(imp.mean[0]).toBeGreaterThan(imp.mean[1]);
    expect(Math.abs(imp.mean[2])).toBeLessThan(0.003);
    expect(imp.std[0]).toBeGreaterThan(0);
  });

  it('is reproducible from the seed and leaves the input untouched', () => {
    const before = X.columns.map((c) => Float64Array.from(c));
    const a = permutationImportance(model, X, y, { seed: 7, metric: 'neg_log_loss' });
    const b = permutationImportance(model, X, y, { seed: 7, metric: 'neg_log_loss' });
    const c = permutationImportance(model, X, y, { seed: 8, metric: 'neg_log_loss' });
    expect(a).toEqual(b);
    expect(a.mean).not.toEqual(c.mean);
    expect(X.columns).toEqual(before);
  });

  it('works per input feature of a TabularModel', () => {
    const data = { a: X.columns[0], b: X.columns[1], noise: X.columns[2] };
    const tabular = fitTabularModel({
      data,
      y,
      encoding: 'linear',
      estimator: new LogisticRegression(),
      signature: {
        features: ['a', 'b', 'noise'].map((name) => ({ name, type: 'float' as const, nullable: false })),
        rowIdColumns: [],
        target: { name: 'label', positiveLabel: '1' },
      },
    });
    const imp = featurePermutationImportance(tabular, data, y, { nRepeats: 3, seed: 2, metric: 'accuracy' });
    expect(imp.names).toEqual(['a', 'b', 'noise']);
    expect(imp.mean[0]).toBeGreaterThan(imp.mean[1]);
    expect(imp.mean[1]).toBeGreaterThan(imp.mean[2]);
  });
});

describe('createRng', () => {
  it('is deterministic per seed and uniform enough for shuffling', () => {
    const a = createRng(42);
    const b = createRng(42);
    const draws = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(draws);
    expect(createRng(43).next()).not.toBe(draws[0]);
    const rng = createRng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500); // > 5 standard deviations
    for (let i = 0; i < 1000; i++) {
      const v = rng.next();
      expect(v >= 0 && v < 1).toBe(true);
    }
  });

  it('shuffles into a permutation', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i);
    shuffleInPlace(values, createRng(5));
    expect(Array.from(values).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(values)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
