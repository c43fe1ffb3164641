import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOSS } from '../src/ml/hgb/loss.js';
import { binColumn, findThresholds } from '../src/ml/hgb/binning.js';
import {
  HistGradientBoostingClassifier,
  type HgbModelJSON,
  type HgbTreeJSON,
  hgbScorerFromJSON,
} from '../src/ml/hgb/index.js';
import { createExecutor, ThreadedExecutor } from '../src/ml/hgb/parallel.js';
import { rocAuc } from '../src/ml/metrics.js';
import { createRng } from '../src/ml/random.js';
import type { Frame } from '../src/ml/types.js';

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`./fixtures/hgb/${name}`, import.meta.url), 'utf8'));
const nanRows = (rows: (number | null)[][]): number[][] => rows.map((r) => r.map((v) => (v === null ? NaN : v)));

/** Rows of uniform noise features plus whatever `extra` adds; deterministic. */
function noise(n: number, nFeatures: number, seed: number): Frame {
  const rng = createRng(seed);
  return { nRows: n, columns: Array.from({ length: nFeatures }, () => Float64Array.from({ length: n }, () => rng.next())) };
}

function leaves(tree: HgbTreeJSON): number {
  return tree.feature.filter((f) => f < 0).length;
}

describe('binning matches scikit-learn _BinMapper', () => {
  const cases: any[] = fixture('binning.json').cases;
  it.each(cases.map((c) => [c.name, c] as [string, any]))('%s: same thresholds bit for bit, same bins', (_name, c) => {
    const values = Float64Array.from(c.values, (v: number | null) => (v === null ? NaN : v));
    const thresholds = findThresholds(values.filter((v) => !Number.isNaN(v)), c.maxBins);
    expect(Array.from(thresholds)).toEqual(c.thresholds);
    const bins = new Uint8Array(values.length);
    binColumn(values, null, values.length, thresholds, false, c.maxBins, bins, 0);
    expect(Array.from(bins)).toEqual(c.bins);
  });
});

describe('same model as scikit-learn on the same data (early stopping off)', () => {
  const ref = fixture('sklearn_model.json');
  const model = new HistGradientBoostingClassifier({ ...ref.params, nThreads: 1 }).fit(nanRows(ref.trainX), ref.trainY);
  const json = model.toJSON();

  it('has the same baseline, the same first tree and the same number of leaves in every tree', () => {
    expect(json.baseline).toBe(ref.baseline);
    const tree = json.trees[0];
    expect(tree.feature).toEqual(ref.firstTree.feature);
    expect(tree.count).toEqual(ref.firstTree.count);
    expect(tree.missingLeft).toEqual(ref.firstTree.missingLeft);
    tree.threshold.forEach((t, i) => {
      if (ref.firstTree.threshold[i] !== null) expect(t).toBe(ref.firstTree.threshold[i]);
    });
    tree.value.forEach((v, i) => expect(v).toBeCloseTo(ref.firstTree.value[i], 12));
    expect(json.trees.map(leaves)).toEqual(ref.leavesPerTree);
  });

  it('predicts the same test probabilities and ROC AUC (within 0.005, in fact to 1e-9)', () => {
    const proba = model.predictProba(nanRows(ref.testX));
    const maxDiff = Math.max(...Array.from(proba, (p, i) => Math.abs(p - ref.testProba[i])));
    expect(maxDiff).toBeLessThan(1e-9);
    expect(Math.abs(rocAuc(ref.testY, proba) - ref.testAuc)).toBeLessThan(0.005);
  });

  it('matches with other hyperparameters too (odd bin count, depth limit, L2, balanced classes)', () => {
    const variant = new HistGradientBoostingClassifier({ ...ref.variant.params, nThreads: 1 }).fit(nanRows(ref.trainX), ref.trainY);
    const proba = variant.predictProba(nanRows(ref.testX));
    const maxDiff = Math.max(...Array.from(proba, (p, i) => Math.abs(p - ref.variant.testProba[i])));
    expect(maxDiff).toBeLessThan(1e-9);
  });

  it('uses native categorical splits on the categorical column', () => {
    const catSplits = json.trees.flatMap((t) => t.leftCategories.filter((c) => c !== null));
    expect(catSplits.length).toBeGreaterThan(0);
    for (const cats of catSplits) for (const c of cats as number[]) expect([0, 1, 2, 3, 4, 5]).toContain(c);
  });
});

describe('missing values', () => {
  // Feature 0 is missing exactly on positive rows (30% of rows); feature 1 carries a weak signal.
  const n = 3000;
  const X = noise(n, 2, 11);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 10 < 3 ? 1 : X.columns[1][i] > 0.8 ? 1 : 0;
    if (i % 10 < 3) X.columns[0][i] = NaN;
  }
  const model = new HistGradientBoostingClassifier({ maxIter: 20, nThreads: 1 }).fit(X, y);

  it('sends NaN to the side that gains: NaN rows are predicted positive', () => {
    const root = model.toJSON().trees[0];
    expect(root.feature[0]).toBe(0);
    // NaN-only positives: the split separates them (threshold +inf, NaN right) or sends NaN left.
    const proba = model.predictProba([
      [NaN, 0.1],
      [NaN, 0.5],
      [0.5, 0.1],
    ]);
    expect(proba[0]).toBeGreaterThan(0.9);
    expect(proba[1]).toBeGreaterThan(0.9);
    expect(proba[2]).toBeLessThan(0.2);
  });

  it('sends NaN of a feature without missing values in training to the child with more rows', () => {
    let checked = 0;
    for (const tree of model.toJSON().trees) {
      tree.feature.forEach((f, i) => {
        if (f !== 1) return;
        expect(tree.missingLeft[i]).toBe(tree.count[tree.left[i]] > tree.count[tree.right[i]]);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('categorical features', () => {
  // y = group(a) XOR group(b), where group() mixes the codes so no ordering of codes separates the classes.
  const group = [0, 1, 1, 0, 1, 0];
  function xorData(n: number, seed: number): { X: Frame; y: Float64Array } {
    const rng = createRng(seed);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = rng.int(6);
      b[i] = rng.int(6);
      y[i] = group[a[i]] ^ group[b[i]] ^ (rng.next() < 0.05 ? 1 : 0);
    }
    return { X: { nRows: n, columns: [a, b] }, y };
  }
  const train = xorData(4000, 1);
  const test = xorData(2000, 2);

  it('learns an XOR of category groups with 4-leaf trees, which numeric splits on the codes cannot', () => {
    const options = { maxIter: 30, learningRate: 0.3, maxLeafNodes: 4, nThreads: 1 };
    const native = new HistGradientBoostingClassifier({ ...options, categoricalFeatures: [0, 1] }).fit(train.X, train.y);
    const numeric = new HistGradientBoostingClassifier(options).fit(train.X, train.y);
    const nativeAccuracy = accuracy(test.y, native.predict(test.X));
    expect(nativeAccuracy).toBeGreaterThan(0.93); // 5% label noise: 0.95 is the best possible
    expect(accuracy(test.y, numeric.predict(test.X))).toBeLessThan(nativeAccuracy - 0.05);
    // The splits below the root separate exactly the two groups of categories.
    const sets = native.toJSON().trees[0].leftCategories.filter((c) => c !== null).map((c) => JSON.stringify(c));
    expect(sets).toContain('[0,3,5]');
    expect(sets).toContain('[1,2,4]');
  });

  it('treats unknown, negative and missing codes as missing', () => {
    const model = new HistGradientBoostingClassifier({ maxIter: 5, categoricalFeatures: [true, true], nThreads: 1 }).fit(train.X, train.y);
    const [unknown, negative, missing] = model.predictProba([
      [7, 0],
      [-1, 0],
      [NaN, 0],
    ]);
    expect(unknown).toBe(missing);
    expect(negative).toBe(missing);
  });

  it('rejects codes that are not integers in [0, maxBins)', () => {
    const X = { nRows: 3, columns: [Float64Array.from([0, 1.5, 2])], names: ['grade'] };
    expect(() => new HistGradientBoostingClassifier({ categoricalFeatures: [0] }).fit(X, [0, 1, 0])).toThrow(
      /categorical feature "grade" \(column 0\).*row 1 has 1.5/,
    );
  });
});

function accuracy(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === pred[i]) right++;
  return right / y.length;
}

describe('early stopping', () => {
  const n = 12_000; // above 10,000 rows: 'auto' turns it on
  const X = noise(n, 5, 3);
  const rng = createRng(4);
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const model = new HistGradientBoostingClassifier({ randomState: 0, nThreads: 1 }).fit(X, y);

  it('stops well before maxIter on data without signal, by scikit-learn rule', () => {
    const scores = model.validationScore;
    expect(model.nIter).toBeLessThan(40);
    expect(model.nIter).toBeGreaterThanOrEqual(10);
    expect(scores).toHaveLength(model.nIter + 1); // the baseline, then one per iteration
    expect(model.trainScore).toHaveLength(model.nIter + 1);
    expect(model.toJSON().trees).toHaveLength(model.nIter);
    const stopsAt = (k: number): boolean => !scores.slice(k - 10, k + 1).some((s) => s > scores[k - 10] + 1e-7);
    for (let k = 10; k < model.nIter; k++) expect(stopsAt(k), `would have stopped after iteration ${k}`).toBe(false);
    expect(stopsAt(model.nIter)).toBe(true);
  });

  it('is off on small data by default and can be forced off', () => {
    const small = new HistGradientBoostingClassifier({ maxIter: 15, nThreads: 1 }).fit(noise(500, 2, 5), Float64Array.from({ length: 500 }, (_, i) => i % 2));
    expect(small.nIter).toBe(15);
    expect(small.validationScore).toEqual([]);
    const forcedOff = new HistGradientBoostingClassifier({ maxIter: 50, earlyStopping: false, nThreads: 1 }).fit(X, y);
    expect(forcedOff.nIter).toBe(50);
  });
});

describe('class and sample weights', () => {
  const n = 4000;
  const X = noise(n, 3, 21);
  const y = Float64Array.from({ length: n }, (_, i) => (X.columns[0][i] > 0.85 || i % 20 === 0 ? 1 : 0)); // ~19% positive
  const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;

  it("'balanced' starts from log-odds 0 and calibrates to a weighted positive rate of 1/2", () => {
    const plain = new HistGradientBoostingClassifier({ maxIter: 20, nThreads: 1 }).fit(X, y);
    const balanced = new HistGradientBoostingClassifier({ maxIter: 20, classWeight: 'balanced', nThreads: 1 }).fit(X, y);
    const positives = mean(y);
    expect(plain.toJSON().baseline as number).toBeCloseTo(Math.log(positives / (1 - positives)), 12);
    expect(Math.abs(balanced.toJSON().baseline as number)).toBeLessThan(1e-12);
    expect(Math.abs(mean(plain.predictProba(X)) - positives)).toBeLessThan(0.01);
    // Balanced weights: n / (2 n_c). The weighted mean probability matches the weighted positive rate, 1/2.
    const w = Array.from(y, (v) => (v ? 1 / (2 * positives) : 1 / (2 * (1 - positives))));
    const p = balanced.predictProba(X);
    const weightedMean = p.reduce((s, v, i) => s + w[i] * v, 0) / w.reduce((s, v) => s + v, 0);
    expect(Math.abs(weightedMean - 0.5)).toBeLessThan(0.01);
    // ... so every row's log-odds moves up, by about log(n_0 / n_1) on average.
    const plainRaw = plain.decisionFunction(X);
    const shift = mean(balanced.decisionFunction(X).map((v, i) => v - plainRaw[i]));
    expect(shift).toBeGreaterThan(0.5 * Math.log((1 - positives) / positives));
  });

  it('class weights equal the same sample weights', () => {
    const byClass = new HistGradientBoostingClassifier({ maxIter: 10, classWeight: { 0: 1, 1: 3 }, nThreads: 1 }).fit(X, y);
    const bySample = new HistGradientBoostingClassifier({ maxIter: 10, nThreads: 1 }).fit(X, y, Array.from(y, (v) => (v ? 3 : 1)));
    expect(byClass.toJSON().trees).toEqual(bySample.toJSON().trees);
  });
});

describe('serialisation', () => {
  const n = 3000;
  const X = noise(n, 4, 31);
  const rng = createRng(32);
  for (let i = 0; i < n; i++) {
    X.columns[3][i] = rng.int(5);
    if (rng.next() < 0.1) X.columns[1][i] = NaN;
  }
  const y = Float64Array.from({ length: n }, (_, i) => (X.columns[0][i] + (X.columns[3][i] === 2 ? 0.5 : 0) + 0.3 * rng.next() > 0.8 ? 1 : 0));
  const model = new HistGradientBoostingClassifier({ maxIter: 30, categoricalFeatures: [3], nThreads: 1 }).fit(X, y);
  const probe: number[][] = [...Array.from({ length: 200 }, (_, i) => X.columns.map((c) => c[i])), [NaN, NaN, NaN, NaN], [0.5, 0.5, 0.5, 9]];

  it('round-trips through JSON text with bit-identical probabilities', () => {
    const text = JSON.stringify(model.toJSON());
    const scorer = hgbScorerFromJSON(JSON.parse(text));
    expect(scorer.predictProba(probe)).toEqual(model.predictProba(probe));
    expect(scorer.predictProba(X)).toEqual(model.predictProba(X));
    const restored = HistGradientBoostingClassifier.fromJSON(JSON.parse(text));
    expect(restored.predictProba(X)).toEqual(model.predictProba(X));
    expect(JSON.stringify(scorer.toJSON())).toBe(text);
  });

  it('scores rows and frames identically', () => {
    const frame: Frame = { nRows: probe.length, columns: X.columns.map((_, j) => Float64Array.from(probe, (r) => r[j])) };
    expect(model.predictProba(frame)).toEqual(model.predictProba(probe));
  });

  it('rejects malformed model files with the field named', () => {
    const bad = (edit: (m: HgbModelJSON) => void): (() => unknown) => {
      const m = model.toJSON();
      edit(m);
      return () => hgbScorerFromJSON(m);
    };
    expect(bad((m) => ((m as { kind: string }).kind = 'other'))).toThrow(/model\.kind/);
    expect(bad((m) => (m.trees[0].left[0] = 0))).toThrow(/model\.trees\[0\]\.left\[0\]/);
    expect(bad((m) => (m.trees[1].feature[0] = 4))).toThrow(/model\.trees\[1\]\.feature\[0\]/);
    expect(bad((m) => m.trees[2].value.pop())).toThrow(/model\.trees\[2\]\.value must have/);
    expect(bad((m) => (m.baseline = Number.NaN))).toThrow(/model\.baseline/);
    expect(() => model.predictProba([[1, 2, 3]])).toThrow(/fitted on 4 features but row 0 has 3/);
  });
});

describe('threads', () => {
  // Large enough for the fit to start workers and split node histograms and partitions between threads.
  const n = 120_000;
  const X = noise(n, 10, 41);
  for (let i = 0; i < n; i += 7) X.columns[2][i] = NaN;
  const y = Float64Array.from({ length: n }, (_, i) => (X.columns[0][i] + X.columns[1][i] * X.columns[2][i] > 0.7 ? 1 : 0));

  it('fits with worker threads (compiled worker from dist/)', () => {
    const exec = createExecutor(2, { nRows: n, nFeatures: 10, nBins: 256, y, weight: null, loss: LOSS.BINARY, nOutputs: 1, baseline: Float64Array.of(0), maxLeaves: 31, l2Regularization: 0, minSamplesLeaf: 20 });
    try {
      expect(exec).toBeInstanceOf(ThreadedExecutor);
    } finally {
      exec.close();
    }
  });

  const test = noise(20_000, 10, 43);
  const bytes = (p: Float64Array): Buffer => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

  it('gives the same model and bit-identical probabilities with nThreads 1 and 2', () => {
    const options = { maxIter: 8, earlyStopping: false, randomState: 1 } as const;
    const one = new HistGradientBoostingClassifier({ ...options, nThreads: 1 }).fit(X, y);
    const two = new HistGradientBoostingClassifier({ ...options, nThreads: 2 }).fit(X, y);
    expect(two.toJSON()).toEqual(one.toJSON());
    expect(bytes(two.predictProba(test))).toEqual(bytes(one.predictProba(test)));
  });

  it('gives the same model with nThreads 1 and 2 when early stopping holds out validation rows', () => {
    const options = { maxIter: 4, earlyStopping: true, validationFraction: 0.2, randomState: 2 } as const;
    const one = new HistGradientBoostingClassifier({ ...options, nThreads: 1 }).fit(X, y);
    const two = new HistGradientBoostingClassifier({ ...options, nThreads: 2 }).fit(X, y);
    expect(two.toJSON()).toEqual(one.toJSON());
    expect(two.validationScore).toHaveLength(5);
    expect(bytes(two.predictProba(test))).toEqual(bytes(one.predictProba(test)));
  });
});

describe('options and inputs', () => {
  it('defaults to scikit-learn values', () => {
    const { nThreads, ...params } = new HistGradientBoostingClassifier().params;
    expect(params).toEqual({
      maxIter: 100,
      learningRate: 0.1,
      maxLeafNodes: 31,
      maxDepth: null,
      minSamplesLeaf: 20,
      l2Regularization: 0,
      maxBins: 255,
      earlyStopping: 'auto',
      validationFraction: 0.1,
      nIterNoChange: 10,
      tol: 1e-7,
      scoring: 'loss',
      categoricalFeatures: null,
      classWeight: null,
      randomState: null,
    });
    expect(nThreads).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad options and inputs with the name of the field', () => {
    expect(() => new HistGradientBoostingClassifier({ maxBins: 256 })).toThrow(/maxBins must be an integer in \[2, 255\]/);
    expect(() => new HistGradientBoostingClassifier({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => new HistGradientBoostingClassifier({ maxLeafNodes: 1 })).toThrow(/maxLeafNodes/);
    expect(() => new HistGradientBoostingClassifier({ classWeight: { 0: -1 } })).toThrow(/classWeight\[0\]/);
    expect(() => new HistGradientBoostingClassifier({ classWeight: { a: 1 } as never })).toThrow(/classWeight must be/);
    expect(() => new HistGradientBoostingClassifier({ maxIters: 3 } as never)).toThrow(/unknown option "maxIters"/);
    const clf = new HistGradientBoostingClassifier({ nThreads: 1 });
    expect(() => clf.fit([[1], [2]], [0, 0.5])).toThrow(/y\[1\] must be a class code/);
    expect(() => clf.fit([[1], [2]], [0, 2])).toThrow(/no row of class 1/);
    expect(() => clf.fit([[1], [2]], [1, 1])).toThrow(/both classes/);
    expect(() => clf.fit([[1], [2]], [0, 1], [1, -1])).toThrow(/sampleWeight\[1\]/);
    expect(() => clf.predictProba([[1]])).toThrow(/not fitted/);
  });

  it('limits leaves and depth, and reports normalised feature importances', () => {
    const X = noise(2000, 3, 51);
    const y = Float64Array.from({ length: 2000 }, (_, i) => (X.columns[1][i] > 0.5 ? 1 : 0));
    const model = new HistGradientBoostingClassifier({ maxIter: 5, maxLeafNodes: 5, maxDepth: 2, nThreads: 1 }).fit(X, y);
    for (const tree of model.toJSON().trees) expect(leaves(tree)).toBeLessThanOrEqual(4);
    const importances = model.featureImportances;
    expect(importances.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(importances[1]).toBeGreaterThan(0.9);
  });
});
