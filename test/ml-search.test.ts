/**
 * Random search with stratified k-fold cross-validation: the sampler's ranges and log spacing, the folds' class
 * balance, that the search finds the better region of a problem, and that its result depends on the seed only.
 * The fits run on worker threads loaded from dist/ (npm test builds first).
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/ml/random.js';
import {
  choice,
  HGB_SEARCH_SPACE,
  intRange,
  kFold,
  logUniform,
  randomSearchCV,
  sampleParams,
  stratifiedKFold,
  type SearchTrial,
} from '../src/ml/search.js';
import type { Frame } from '../src/ml/types.js';

/** y = (x0 > 0) XOR (x1 > 0) with 10% of labels flipped, plus a noise column: trees need depth 2 to see it. */
function xorProblem(n: number, seed: number): { X: Frame; y: Float64Array } {
  const rng = createRng(seed);
  const columns = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const col of columns) col[i] = rng.next() * 2 - 1;
    const label = columns[0][i] > 0 !== columns[1][i] > 0 ? 1 : 0;
    y[i] = rng.next() < 0.1 ? 1 - label : label;
  }
  return { X: { nRows: n, columns }, y };
}

describe('sampleParams', () => {
  it('draws log-uniform floats evenly per decade, integers over the whole inclusive range, and listed choices', () => {
    const draws = sampleParams({ ...HGB_SEARCH_SPACE, loss: choice('a', 'b', null) }, 3000, 11);
    const lr = draws.map((d) => d.learningRate as number);
    expect(Math.min(...lr)).toBeGreaterThanOrEqual(1e-3);
    expect(Math.max(...lr)).toBeLessThanOrEqual(1);
    // Log spacing: each of the three decades gets about a third of the draws (a uniform draw would put 90% in the last).
    const perDecade = [1e-2, 1e-1, 1].map((top) => lr.filter((v) => v < top && v >= top / 10).length / lr.length);
    for (const share of perDecade) expect(share).toBeCloseTo(1 / 3, 1);

    const trees = draws.map((d) => d.maxIter as number);
    expect(trees.every((v) => Number.isInteger(v) && v >= 50 && v <= 300)).toBe(true);
    expect(new Set(trees).size).toBe(251); // every value of 50..300, ends included
    expect(new Set(draws.map((d) => d.maxDepth))).toEqual(new Set([3, 4, 5, 6, 7, 8, 9, 10]));
    expect(new Set(draws.map((d) => d.loss))).toEqual(new Set(['a', 'b', null]));
  });

  it('gives the same draws for the same seed and others for another seed', () => {
    const space = { learningRate: logUniform(1e-3, 1), maxIter: intRange(50, 300) };
    expect(sampleParams(space, 20, 5)).toEqual(sampleParams(space, 20, 5));
    expect(sampleParams(space, 20, 6)).not.toEqual(sampleParams(space, 20, 5));
    // The first draws do not depend on how many are asked for.
    expect(sampleParams(space, 40, 5).slice(0, 20)).toEqual(sampleParams(space, 20, 5));
  });

  it('names the parameter of a bad range', () => {
    expect(() => sampleParams({ learningRate: logUniform(0, 1) }, 1, 0)).toThrow(/"learningRate" needs 0 < low <= high/);
    expect(() => sampleParams({ maxDepth: intRange(10, 3) }, 1, 0)).toThrow(/"maxDepth" needs integers low <= high/);
    expect(() => sampleParams({ loss: choice() }, 1, 0)).toThrow(/"loss" needs at least one value/);
    expect(() => sampleParams(HGB_SEARCH_SPACE, 0, 0)).toThrow(/integer >= 1, got 0/);
  });
});

describe('stratifiedKFold', () => {
  const n = 1003;
  const y = Float64Array.from({ length: n }, (_, i) => (i % 10 < 3 ? 1 : 0)); // 301 positives, 702 negatives

  it('puts every row in one fold, keeps the class ratio per fold, and balances the fold sizes', () => {
    const k = 5;
    const folds = stratifiedKFold(y, k, 3);
    expect(folds).toHaveLength(n);
    const sizes = new Array(k).fill(0);
    const positives = new Array(k).fill(0);
    folds.forEach((fold, i) => {
      sizes[fold]++;
      positives[fold] += y[i];
    });
    expect(sizes.reduce((a, b) => a + b)).toBe(n);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const p of positives) expect(p === 60 || p === 61).toBe(true); // 301 / 5
  });

  it('is reproducible from the seed and shuffles rows between seeds', () => {
    expect(stratifiedKFold(y, 4, 9)).toEqual(stratifiedKFold(y, 4, 9));
    const a = stratifiedKFold(y, 4, 9);
    const b = stratifiedKFold(y, 4, 10);
    expect(a.filter((f, i) => f !== b[i]).length).toBeGreaterThan(n / 2);
  });

  it('refuses more folds than rows of a class, and labels other than 0/1', () => {
    expect(() => stratifiedKFold([0, 0, 0, 1, 1, 0], 3, 0)).toThrow('class 1 has 2 rows, fewer than the 3 folds');
    expect(() => stratifiedKFold([0, 1, 2.5], 2, 0)).toThrow('y[2] must be a class code (0 or 1, or 0..K-1), got 2.5');
    expect(() => stratifiedKFold([0, 1], 1, 0)).toThrow('folds must be an integer in [2, 255], got 1');
  });
});

describe('randomSearchCV', () => {
  const { X, y } = xorProblem(600, 1);
  const space = { maxDepth: intRange(1, 3), learningRate: logUniform(0.05, 0.5), maxIter: intRange(10, 30) };

  it('scores each trial on every fold and ranks the region that can see the interaction first', async () => {
    const seen: Array<[SearchTrial, number]> = [];
    const result = await randomSearchCV({
      X,
      y,
      space,
      trials: 8,
      folds: 3,
      seed: 4,
      concurrency: 2,
      onTrial: (trial, progress) => seen.push([trial, progress.done]),
    });
    expect(seen.map(([, done]) => done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(result.trials.map((t) => t.index).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(result.trials.map((t) => t.params)).toEqual(
      result.trials.map((t) => sampleParams(space, 8, 4)[t.index]),
    );
    for (const t of result.trials) {
      expect(t.foldScores).toHaveLength(3);
      expect(t.meanScore).toBeCloseTo(t.foldScores.reduce((a, b) => a + b) / 3, 12);
      const variance = t.foldScores.reduce((s, v) => s + (v - t.meanScore) ** 2, 0) / 3;
      expect(t.stdScore).toBeCloseTo(Math.sqrt(variance), 12);
    }
    const means = result.trials.map((t) => t.meanScore);
    expect(means).toEqual([...means].sort((a, b) => b - a));
    expect(result.best).toBe(result.trials[0]);
    expect(result.bestParams).toEqual(result.trials[0].params);

    // Stumps (depth 1) cannot see an XOR: chance. Depth >= 2 recovers it up to the 10% label noise.
    const stumps = result.trials.filter((t) => t.params.maxDepth === 1);
    const deeper = result.trials.filter((t) => (t.params.maxDepth as number) >= 2);
    expect(stumps.length).toBeGreaterThan(0);
    expect(deeper.length).toBeGreaterThan(0);
    for (const t of stumps) expect(t.meanScore).toBeLessThan(0.6);
    for (const t of deeper) expect(t.meanScore).toBeGreaterThan(0.75);
    expect(result.trials.slice(0, deeper.length)).toEqual(expect.arrayContaining(deeper));
    expect(result.best.params.maxDepth).toBeGreaterThanOrEqual(2);
  });

  it('gives the same trials, scores and ranking with one worker as with two', async () => {
    const options = { X, y, space, trials: 5, folds: 3, seed: 12 };
    const one = await randomSearchCV({ ...options, concurrency: 1 });
    const two = await randomSearchCV({ ...options, concurrency: 2 });
    const strip = (r: typeof one) => r.trials.map(({ seconds: _seconds, ...t }) => t);
    expect(strip(two)).toEqual(strip(one));
  });

  it('fails before fitting on an option the classifier does not accept, naming it', async () => {
    await expect(randomSearchCV({ X, y, space: { maxDepht: intRange(1, 3) }, trials: 2, folds: 2 })).rejects.toThrow(
      'unknown option "maxDepht"',
    );
  });
});

describe('randomSearchCV per task', () => {
  const n = 600;
  const rng = createRng(21);
  const rows = Array.from({ length: n }, () => [rng.next(), rng.next(), rng.next()]);
  const X: number[][] = rows;
  const space = { maxDepth: intRange(1, 3), learningRate: logUniform(0.05, 0.5), maxIter: intRange(10, 30) };

  it('multi-class: stratified folds over all classes, scored by minus the log loss (held-out, as neg_log_loss)', async () => {
    const y = rows.map(([a, b]) => (a > 0.66 ? 2 : b > 0.5 ? 1 : 0));
    const folds = stratifiedKFold(y, 3, 5);
    for (let c = 0; c < 3; c++) {
      const perFold = [0, 1, 2].map((f) => y.filter((v, i) => v === c && folds[i] === f).length);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
    }
    const result = await randomSearchCV({ X, y, task: 'multiclass', space, trials: 3, folds: 3, seed: 5, concurrency: 2 });
    for (const t of result.trials) {
      expect(t.foldScores).toHaveLength(3);
      // Minus a log loss: below 0, and far better than the 3-class uniform guess (-log 3) on this separable target.
      for (const score of t.foldScores) expect(score).toBeLessThan(0);
      expect(t.meanScore).toBeGreaterThan(-Math.log(3) / 2);
    }
  });

  it('regression: shuffled folds, scored by R^2', async () => {
    const y = rows.map(([a, b, c]) => 3 * a + (b > 0.5 ? 2 : 0) + 0.1 * c);
    const folds = kFold(n, 4, 2);
    expect([0, 1, 2, 3].map((f) => folds.filter((v) => v === f).length)).toEqual([150, 150, 150, 150]);
    const result = await randomSearchCV({ X, y, task: 'regression', baseParams: { loss: 'absolute_error' }, space, trials: 3, folds: 4, seed: 2, concurrency: 2 });
    for (const t of result.trials) {
      expect(t.foldScores).toHaveLength(4);
      for (const score of t.foldScores) expect(score).toBeLessThanOrEqual(1);
    }
    expect(result.best.meanScore).toBeGreaterThan(0.8);
    await expect(randomSearchCV({ X, y, task: 'regression', baseParams: { loss: 'huber' as never }, trials: 1, folds: 2 })).rejects.toThrow(/loss must be/);
  });
});
