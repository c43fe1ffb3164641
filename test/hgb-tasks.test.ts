/**
 * Gradient boosting beyond two classes: HistGradientBoostingClassifier on K >= 3 classes (multinomial log loss) and
 * HistGradientBoostingRegressor (squared error, absolute error, Poisson) against scikit-learn 1.2.1: the fixtures of
 * scripts/hgb_task_fixtures.py (baseline, first iteration's trees, leaves of every tree, test predictions), 5-fold
 * scores on ../shared/data/penguins.csv, and the properties users rely on (threads, serialisation, bad input).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  HistGradientBoostingClassifier,
  HistGradientBoostingRegressor,
  type HgbModelJSON,
  type HgbTreeJSON,
  hgbScorerFromJSON,
} from '../src/ml/hgb/index.js';
import { createRng } from '../src/ml/random.js';
import type { Frame } from '../src/ml/types.js';

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`./fixtures/hgb/${name}`, import.meta.url), 'utf8'));
const nanRows = (rows: (number | null)[][]): number[][] => rows.map((r) => r.map((v) => (v === null ? NaN : v)));
const leaves = (tree: HgbTreeJSON): number => tree.feature.filter((f) => f < 0).length;
const bytes = (p: Float64Array): Buffer => Buffer.from(p.buffer, p.byteOffset, p.byteLength);

/** Largest difference relative to max(1, |expected|). */
function maxRelativeDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  return worst;
}

/** Same structure as scikit-learn's tree: splits, thresholds, missing-value sides, counts exactly; values to 1e-9. */
function expectSameTree(tree: HgbTreeJSON, ref: any): void {
  expect(tree.feature).toEqual(ref.feature);
  expect(tree.left).toEqual(ref.left);
  expect(tree.right).toEqual(ref.right);
  expect(tree.count).toEqual(ref.count);
  expect(tree.missingLeft).toEqual(ref.missingLeft);
  tree.threshold.forEach((t, i) => {
    if (ref.threshold[i] !== null) expect(t).toBe(ref.threshold[i]);
  });
  expect(maxRelativeDiff(tree.value, ref.value)).toBeLessThan(1e-9);
}

function expectSameModel(json: HgbModelJSON, ref: any, nOutputs: number): void {
  // To the last bit or so: V8's Math.log and the C library's log can differ by one unit in the last place.
  const baseline = typeof json.baseline === 'number' ? [json.baseline] : json.baseline;
  expect(maxRelativeDiff(baseline, ref.baseline)).toBeLessThan(1e-15);
  expect(json.nIter).toBe(ref.nIter);
  expect(json.trees).toHaveLength(ref.nIter * nOutputs);
  json.trees.slice(0, nOutputs).forEach((tree, k) => expectSameTree(tree, ref.firstTrees[k]));
  expect(json.trees.map(leaves)).toEqual(ref.leavesPerTree);
}

/** Column-major noise features; deterministic. */
function noise(n: number, nFeatures: number, seed: number): Frame {
  const rng = createRng(seed);
  return { nRows: n, columns: Array.from({ length: nFeatures }, () => Float64Array.from({ length: n }, () => rng.next())) };
}

describe('multi-class: same model as scikit-learn (multinomial log loss, one tree per class per iteration)', () => {
  const ref = fixture('multiclass.json');
  const K = 4;
  const testX = nanRows(ref.testX);

  it.each(['default', 'variant'])('%s hyperparameters: same baseline, trees and test probabilities (to 1e-9)', (name) => {
    const c = ref[name];
    const model = new HistGradientBoostingClassifier({ ...c.params, nThreads: 1 }).fit(nanRows(ref.trainX), ref.trainY, c.trainWeight);
    expect(model.nClasses).toBe(K);
    expectSameModel(model.toJSON(), c, K);
    const proba = model.predictProbaMatrix(testX);
    expect(maxRelativeDiff(proba, c.test.flat())).toBeLessThan(1e-9);
    // The most probable class, as scikit-learn's predict.
    const predicted = model.predict(testX);
    predicted.forEach((cls, i) => expect(cls).toBe(c.test[i].indexOf(Math.max(...c.test[i]))));
  });

  it('gives probability rows that sum to 1, and refuses P(y = 1) of a multi-class model', () => {
    const model = new HistGradientBoostingClassifier({ maxIter: 5, nThreads: 1 }).fit(nanRows(ref.trainX), ref.trainY);
    const proba = model.predictProbaMatrix(testX);
    for (let i = 0; i < testX.length; i++) expect(proba[i * K] + proba[i * K + 1] + proba[i * K + 2] + proba[i * K + 3]).toBeCloseTo(1, 12);
    expect(() => model.predictProba(testX)).toThrow(/4 classes: use predictProbaMatrix/);
  });

  it('keeps the binary model unchanged, with [1 - p, p] as its probability matrix', () => {
    const binary = fixture('sklearn_model.json');
    const model = new HistGradientBoostingClassifier({ ...binary.params, nThreads: 1 }).fit(nanRows(binary.trainX), binary.trainY);
    expect(model.nClasses).toBe(2);
    expect(model.toJSON().nClasses).toBeUndefined();
    const X = nanRows(binary.testX);
    const p = model.predictProba(X);
    const matrix = model.predictProbaMatrix(X);
    p.forEach((pi, i) => {
      expect(matrix[2 * i + 1]).toBe(pi);
      expect(matrix[2 * i]).toBe(1 - pi);
    });
  });
});

describe('regression: same model as scikit-learn for each loss', () => {
  const ref = fixture('regression.json');
  const testX = nanRows(ref.testX);
  const cases = Object.keys(ref.losses).flatMap((loss) => ['default', 'variant'].map((name) => [loss, name]));

  it.each(cases)('%s, %s hyperparameters: same baseline, trees and test predictions (to 1e-9)', (loss, name) => {
    const r = ref.losses[loss];
    const c = r[name];
    const model = new HistGradientBoostingRegressor({ ...c.params, nThreads: 1 }).fit(nanRows(ref.trainX), r.trainY, c.trainWeight);
    expectSameModel(model.toJSON(), c, 1);
    expect(maxRelativeDiff(model.predict(testX), c.test)).toBeLessThan(1e-9);
  });

  it('starts absolute error from the median and Poisson from the log of the mean', () => {
    const y = [1, 2, 3, 10, 50];
    const X = y.map((_, i) => [i]);
    const median = new HistGradientBoostingRegressor({ loss: 'absolute_error', maxIter: 1, minSamplesLeaf: 5 }).fit(X, y);
    expect(median.toJSON().baseline).toBe(3);
    const poisson = new HistGradientBoostingRegressor({ loss: 'poisson', maxIter: 1, minSamplesLeaf: 5 }).fit(X, y);
    expect(poisson.toJSON().baseline).toBe(Math.log(66 / 5));
    // One leaf (too few rows to split) whose Newton step from the mean is about 0 (float32 gradients).
    expect(poisson.predict([[0]])[0]).toBeCloseTo(66 / 5, 5);
    expect(median.predict([[0]])[0]).toBe(3);
  });
});

describe('threads: 1 and 2 give byte-identical models', () => {
  // Large enough for the fit to start workers (rows x features >= 1,000,000).
  const n = 110_000;
  const X = noise(n, 10, 51);
  for (let i = 0; i < n; i += 9) X.columns[4][i] = NaN;
  const c = X.columns;
  const test = noise(5_000, 10, 52);

  it('multi-class, with early stopping holding out validation rows', () => {
    const y = Float64Array.from({ length: n }, (_, i) => (c[0][i] + c[1][i] > 1.2 ? 2 : c[2][i] * c[3][i] > 0.3 ? 1 : 0));
    const options = { maxIter: 3, earlyStopping: true, validationFraction: 0.2, randomState: 3 } as const;
    const one = new HistGradientBoostingClassifier({ ...options, nThreads: 1 }).fit(X, y);
    const two = new HistGradientBoostingClassifier({ ...options, nThreads: 2 }).fit(X, y);
    expect(two.toJSON()).toEqual(one.toJSON());
    expect(two.toJSON().trees).toHaveLength(9);
    expect(two.validationScore).toHaveLength(4);
    expect(bytes(two.predictProbaMatrix(test))).toEqual(bytes(one.predictProbaMatrix(test)));
  });

  it.each(['squared_error', 'absolute_error', 'poisson'] as const)('regression, %s', (loss) => {
    const y = Float64Array.from({ length: n }, (_, i) => Math.round(4 * c[0][i] + 3 * c[1][i] * c[2][i] + (Number.isNaN(c[4][i]) ? 2 : 0)));
    const options = { loss, maxIter: 3, earlyStopping: false } as const;
    const one = new HistGradientBoostingRegressor({ ...options, nThreads: 1 }).fit(X, y);
    const two = new HistGradientBoostingRegressor({ ...options, nThreads: 2 }).fit(X, y);
    expect(two.toJSON()).toEqual(one.toJSON());
    expect(bytes(two.predict(test))).toEqual(bytes(one.predict(test)));
  });
});

describe('early stopping', () => {
  const n = 12_000;
  const X = noise(n, 4, 61);
  const rng = createRng(62);

  it('stops a multi-class fit on data without signal, scored by loss or accuracy', () => {
    const y = Float64Array.from({ length: n }, () => rng.int(3));
    for (const scoring of ['loss', 'accuracy'] as const) {
      const model = new HistGradientBoostingClassifier({ scoring, randomState: 0, nThreads: 1 }).fit(X, y);
      expect(model.nIter).toBeLessThan(100);
      expect(model.toJSON().trees).toHaveLength(3 * model.nIter);
      expect(model.validationScore).toHaveLength(model.nIter + 1);
    }
    expect(() => new HistGradientBoostingClassifier({ scoring: 'roc_auc' }).fit(X, y)).toThrow(/'roc_auc' needs two classes, y has 3/);
  });

  it('stops a regression on noise, scored by loss or R^2', () => {
    const y = Float64Array.from({ length: n }, () => rng.next() * 10);
    for (const scoring of ['loss', 'r2'] as const) {
      const model = new HistGradientBoostingRegressor({ scoring, randomState: 0, nThreads: 1 }).fit(X, y);
      expect(model.nIter).toBeLessThan(100);
      expect(model.validationScore).toHaveLength(model.nIter + 1);
      // The baseline predicts the training mean: R^2 about 0 on held-out rows, loss about var / 2.
      if (scoring === 'r2') expect(Math.abs(model.validationScore[0])).toBeLessThan(0.01);
      else expect(model.validationScore[0]).toBeCloseTo(-100 / 12 / 2, 0);
    }
  });
});

describe('serialisation', () => {
  const ref = fixture('multiclass.json');
  const reg = fixture('regression.json');
  const classifier = new HistGradientBoostingClassifier({ maxIter: 10, categoricalFeatures: [6], nThreads: 1 }).fit(nanRows(ref.trainX), ref.trainY);
  const poisson = new HistGradientBoostingRegressor({ loss: 'poisson', maxIter: 10, nThreads: 1 }).fit(nanRows(reg.trainX), reg.losses.poisson.trainY);
  const X = nanRows(ref.testX);

  it('round-trips both through JSON text with bit-identical predictions', () => {
    const text = JSON.stringify(classifier.toJSON());
    expect(bytes(hgbScorerFromJSON(JSON.parse(text)).predictProbaMatrix(X))).toEqual(bytes(classifier.predictProbaMatrix(X)));
    expect(bytes(HistGradientBoostingClassifier.fromJSON(JSON.parse(text)).predictProbaMatrix(X))).toEqual(bytes(classifier.predictProbaMatrix(X)));
    const regText = JSON.stringify(poisson.toJSON());
    expect(bytes(HistGradientBoostingRegressor.fromJSON(JSON.parse(regText)).predict(X))).toEqual(bytes(poisson.predict(X)));
    expect(bytes(hgbScorerFromJSON(JSON.parse(regText)).predict(X))).toEqual(bytes(poisson.predict(X)));
  });

  it('scores rows and frames identically', () => {
    const frame: Frame = { nRows: X.length, columns: X[0].map((_, j) => Float64Array.from(X, (r) => r[j])) };
    expect(bytes(classifier.predictProbaMatrix(frame))).toEqual(bytes(classifier.predictProbaMatrix(X)));
    expect(bytes(poisson.predict(frame))).toEqual(bytes(poisson.predict(X)));
  });

  it('rejects malformed model files with the field named, and the wrong task', () => {
    const bad = (model: { toJSON(): HgbModelJSON }, edit: (m: HgbModelJSON) => void): (() => unknown) => {
      const m = model.toJSON();
      edit(m);
      return () => hgbScorerFromJSON(m);
    };
    expect(bad(classifier, (m) => (m.baseline as number[]).pop())).toThrow(/model\.baseline must have 4/);
    expect(bad(classifier, (m) => m.trees.pop())).toThrow(/model\.trees must hold 4 trees per iteration/);
    expect(bad(classifier, (m) => (m.nClasses = 2))).toThrow(/model\.nClasses must be >= 3, got 2/);
    expect(bad(classifier, (m) => (m.kind = 'hist_gradient_boosting'))).toThrow(/model\.nClasses must be absent for kind "hist_gradient_boosting"/);
    expect(bad(poisson, (m) => ((m as { loss: string }).loss = 'huber'))).toThrow(/model\.loss/);
    expect(bad(poisson, (m) => (m.nClasses = 3))).toThrow(/model\.nClasses must be absent/);
    expect(classifier.toJSON().kind).toBe('hist_gradient_boosting_multiclass');
    expect(poisson.toJSON().kind).toBe('hist_gradient_boosting_regressor');
    expect(() => HistGradientBoostingRegressor.fromJSON(classifier.toJSON())).toThrow(/not a regressor/);
    expect(() => hgbScorerFromJSON(poisson.toJSON()).predictProbaMatrix(X)).toThrow(/is a regressor, not a classifier/);
  });
});

describe('options and inputs', () => {
  it('defaults to scikit-learn values and names bad options', () => {
    const reg = new HistGradientBoostingRegressor();
    expect(reg.params).toMatchObject({ loss: 'squared_error', scoring: 'loss', maxIter: 100, learningRate: 0.1, maxLeafNodes: 31 });
    expect(() => new HistGradientBoostingRegressor({ loss: 'huber' as never })).toThrow(
      /HistGradientBoostingRegressor: loss must be 'squared_error', 'absolute_error' or 'poisson'/,
    );
    expect(() => new HistGradientBoostingRegressor({ scoring: 'roc_auc' as never })).toThrow(/scoring must be 'loss' or 'r2'/);
    expect(() => new HistGradientBoostingRegressor({ classWeight: 'balanced' } as never)).toThrow(/unknown option "classWeight"/);
  });

  it('rejects bad targets with the row named', () => {
    const X = [[1], [2], [3]];
    expect(() => new HistGradientBoostingRegressor().fit(X, [1, NaN, 2])).toThrow(/y\[1\] must be a finite number/);
    expect(() => new HistGradientBoostingRegressor({ loss: 'poisson' }).fit(X, [1, -1, 2])).toThrow(/y\[1\] is -1, but the 'poisson' loss needs y >= 0/);
    expect(() => new HistGradientBoostingRegressor({ loss: 'poisson' }).fit(X, [0, 0, 0])).toThrow(/positive sum/);
    expect(() => new HistGradientBoostingClassifier().fit(X, [0, 2, 2])).toThrow(/no row of class 1/);
    expect(() => new HistGradientBoostingClassifier().fit(X, [0, 1.5, 2])).toThrow(/y\[1\] must be a class code/);
    expect(() => new HistGradientBoostingClassifier({ classWeight: { 3: 2 } }).fit(X, [0, 1, 2])).toThrow(/classWeight names class 3/);
  });
});

const SHARED = new URL('../../shared/', import.meta.url);
const penguinsAvailable = existsSync(new URL('data/penguins.csv', SHARED));

describe.skipIf(!penguinsAvailable && process.env.CI !== 'true')('5-fold scores on ../shared/data/penguins.csv match scikit-learn', () => {
  const folds = fixture('penguins_folds.json');

  /** The clean-up of scripts/hgb_task_fixtures.py: rows without the target dropped, NA missing, text columns
   * ordinal-coded in sorted order of their values (categorical). */
  function load(target: string): { X: Frame; y: string[]; categorical: string[] } {
    const [header, ...all] = parse(readFileSync(new URL('data/penguins.csv', SHARED))) as string[][];
    const t = header.indexOf(target);
    const rows = all.filter((r) => r[t] !== 'NA');
    const columns: Float64Array[] = [];
    const names: string[] = [];
    const categorical: string[] = [];
    header.forEach((name, j) => {
      if (j === t) return;
      const raw = rows.map((r) => (r[j] === 'NA' ? null : r[j]));
      if (raw.every((v) => v === null || !Number.isNaN(Number(v)))) {
        columns.push(Float64Array.from(raw, (v) => (v === null ? NaN : Number(v))));
      } else {
        const levels = [...new Set(raw.filter((v): v is string => v !== null))].sort();
        columns.push(Float64Array.from(raw, (v) => (v === null ? NaN : levels.indexOf(v))));
        categorical.push(name);
      }
      names.push(name);
    });
    return { X: { nRows: rows.length, columns, names }, y: rows.map((r) => r[t]), categorical };
  }

  const take = (frame: Frame, rows: number[]): Frame => ({ nRows: rows.length, columns: frame.columns.map((c) => Float64Array.from(rows, (r) => c[r])) });
  const split = (fold: string, k: number): { train: number[]; test: number[] } => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < fold.length; i++) (fold[i] === String(k) ? test : train).push(i);
    return { train, test };
  };

  it('species (3 classes): per-fold log loss and accuracy', () => {
    const ref = folds.species;
    const { X, y, categorical } = load('species');
    expect([X.nRows, X.names, categorical]).toEqual([ref.rows, ref.columns, ref.categorical]);
    const labels = y.map((s) => ref.classes.indexOf(s));
    const mask = (X.names as string[]).map((name) => categorical.includes(name));
    for (let k = 0; k < 5; k++) {
      const { train, test } = split(ref.fold, k);
      const model = new HistGradientBoostingClassifier({ maxIter: 100, earlyStopping: false, categoricalFeatures: mask }).fit(
        take(X, train),
        train.map((i) => labels[i]),
      );
      const proba = model.predictProbaMatrix(take(X, test));
      let loss = 0;
      let right = 0;
      test.forEach((row, i) => {
        const p = proba.subarray(3 * i, 3 * i + 3);
        // scikit-learn's log_loss: probabilities clipped to [eps, 1 - eps], rows renormalised.
        const clipped = Array.from(p, (v) => Math.min(Math.max(v, Number.EPSILON), 1 - Number.EPSILON));
        loss -= Math.log(clipped[labels[row]] / clipped.reduce((s, v) => s + v, 0));
        if (p.indexOf(Math.max(...p)) === labels[row]) right++;
      });
      expect(Math.abs(loss / test.length - ref.scores[k].logLoss)).toBeLessThan(1e-6);
      expect(right / test.length).toBe(ref.scores[k].accuracy);
    }
  });

  it.each(['squared_error', 'absolute_error', 'poisson'] as const)('body_mass_g (regression, %s): per-fold R^2', (loss) => {
    const ref = folds.body_mass_g;
    const { X, y, categorical } = load('body_mass_g');
    expect([X.nRows, X.names, categorical]).toEqual([ref.rows, ref.columns, ref.categorical]);
    const mass = y.map(Number);
    const mask = (X.names as string[]).map((name) => categorical.includes(name));
    for (let k = 0; k < 5; k++) {
      const { train, test } = split(ref.fold, k);
      const model = new HistGradientBoostingRegressor({ loss, maxIter: 100, earlyStopping: false, categoricalFeatures: mask }).fit(
        take(X, train),
        train.map((i) => mass[i]),
      );
      const predicted = model.predict(take(X, test));
      const actual = test.map((i) => mass[i]);
      const mean = actual.reduce((s, v) => s + v, 0) / actual.length;
      const residual = actual.reduce((s, v, i) => s + (v - predicted[i]) ** 2, 0);
      const total = actual.reduce((s, v) => s + (v - mean) ** 2, 0);
      expect(Math.abs(1 - residual / total - ref.r2[loss][k])).toBeLessThan(1e-6);
    }
  });
});
