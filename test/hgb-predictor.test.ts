import { describe, expect, it } from 'vitest';
import { HGB_FORMAT_VERSION, HGB_KIND, type HgbModelJSON, hgbScorerFromJSON, type HgbTreeJSON } from '../src/ml/hgb/index.js';
import { MIN_PARALLEL_ROWS, scoreInParallel, setHgbScoringThreads } from '../src/ml/hgb/predict-pool.js';
import { FlatForest, type ForestJSON } from '../src/ml/hgb/predictor.js';
import { createRng, type Rng } from '../src/ml/random.js';
import type { Frame } from '../src/ml/types.js';

/**
 * The flat forest's kernels against the model format's plain meaning, written out here as a recursive walk of the JSON
 * trees: x <= threshold goes left (null threshold: every non-missing value), NaN follows missingLeft, a categorical
 * value goes left when its integer part is in leftCategories and is missing when negative, >= 256 or unseen.
 */
function referenceProba(model: HgbModelJSON, row: number[]): number {
  if (typeof model.baseline !== 'number') throw new Error('a binary model has one baseline');
  const known = new Map(model.categorical.map((c) => [c.feature, new Set(c.categories)]));
  let raw = model.baseline;
  for (const tree of model.trees) {
    let i = 0;
    while (tree.feature[i] >= 0) {
      const x = row[tree.feature[i]];
      const cats = tree.leftCategories[i];
      let left: boolean;
      if (cats !== null) {
        const code = Math.trunc(x);
        const missing = Number.isNaN(x) || x < 0 || x >= 256 || !known.get(tree.feature[i])!.has(code);
        left = missing ? tree.missingLeft[i] : cats.includes(code);
      } else {
        const th = tree.threshold[i];
        left = Number.isNaN(x) ? tree.missingLeft[i] : th === null || x <= th;
      }
      i = left ? tree.left[i] : tree.right[i];
    }
    raw += tree.value[i];
  }
  return 1 / (1 + Math.exp(-raw));
}

const THRESHOLDS = [-1, -0.5, 0, 0.25, 0.5, 1, 1e300, -1e300];
const CATEGORIES = [0, 1, 2, 5, 9, 31, 32, 200, 255];

/** A random tree (depth 0 to maxDepth, unbalanced), numeric splits on features 0-2 and categorical ones on feature 3. */
function randomTree(rng: Rng, maxDepth: number): HgbTreeJSON {
  const tree: HgbTreeJSON = { feature: [], threshold: [], missingLeft: [], leftCategories: [], left: [], right: [], value: [], count: [] };
  const grow = (depth: number): number => {
    const i = tree.feature.length;
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.missingLeft.push(rng.next() < 0.5);
    tree.leftCategories.push(null);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    tree.count.push(1);
    if (depth === maxDepth || (depth > 0 && rng.next() < 0.3)) {
      tree.value[i] = rng.next() - 0.5;
      tree.missingLeft[i] = false;
      return i;
    }
    const f = rng.int(4);
    tree.feature[i] = f;
    if (f === 3) tree.leftCategories[i] = CATEGORIES.filter(() => rng.next() < 0.5);
    else tree.threshold[i] = rng.next() < 0.1 ? null : THRESHOLDS[rng.int(THRESHOLDS.length)];
    tree.left[i] = grow(depth + 1);
    tree.right[i] = grow(depth + 1);
    return i;
  };
  grow(0);
  return tree;
}

function randomModel(seed: number, nTrees: number, withCategorical: boolean): HgbModelJSON & ForestJSON {
  const rng = createRng(seed);
  const trees = Array.from({ length: nTrees }, (_, t) => randomTree(rng, t % 13));
  if (!withCategorical) {
    for (const tree of trees) tree.feature.forEach((f, i) => f === 3 && ((tree.feature[i] = 2), (tree.leftCategories[i] = null)));
  }
  return {
    kind: HGB_KIND,
    formatVersion: HGB_FORMAT_VERSION,
    nFeatures: 4,
    baseline: 0.3,
    categorical: withCategorical ? [{ feature: 3, categories: CATEGORIES }] : [],
    trees,
    params: {},
    nIter: nTrees,
    trainScore: [],
    validationScore: [],
    featureImportances: [0, 0, 0, 0],
  };
}

/** Values that sit on, next to and beyond the thresholds, plus NaN and both infinities; codes seen, unseen, negative,
 * fractional and out of range for the categorical feature. */
function randomRows(seed: number, n: number): number[][] {
  const rng = createRng(seed);
  const special = [NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, 0, -0, ...THRESHOLDS];
  const numeric = (): number => {
    const u = rng.next();
    if (u < 0.3) return special[rng.int(special.length)];
    if (u < 0.4) return THRESHOLDS[rng.int(THRESHOLDS.length)] * (1 + 2 ** -52);
    return 4 * rng.next() - 2;
  };
  const codes = [...CATEGORIES, 3, 7, 256, 300, -1, -0.5, 5.7, 255.9, NaN, Infinity, -Infinity];
  return Array.from({ length: n }, () => [numeric(), numeric(), numeric(), codes[rng.int(codes.length)]]);
}

const toFrame = (rows: number[][]): Frame => ({
  nRows: rows.length,
  columns: [0, 1, 2, 3].map((j) => Float64Array.from(rows, (r) => r[j])),
});

describe('flat forest scoring', () => {
  // Batches of 1 to 7 rows take the one-row kernel; 8 and more the eight-row one, with a tail past each 8.
  const sizes = [1, 3, 8, 13, 64, 65, 1003];

  for (const withCategorical of [false, true]) {
    describe(withCategorical ? 'numeric and categorical splits' : 'numeric splits only', () => {
      const model = randomModel(withCategorical ? 2 : 1, 37, withCategorical);
      const scorer = hgbScorerFromJSON(model);
      const rows = randomRows(withCategorical ? 4 : 3, 1003);
      const expected = rows.map((r) => referenceProba(model, r));

      it('gives each row the probability of the model format, bit for bit', () => {
        expect(Array.from(scorer.predictProba(rows))).toEqual(expected);
      });

      it.each(sizes)('gives a batch of %i rows as a Frame the same probabilities as one row at a time', (n) => {
        const one = rows.slice(0, n).map((r) => scorer.predictProba([r])[0]);
        expect(Array.from(scorer.predictProba(toFrame(rows.slice(0, n))))).toEqual(one);
        expect(one).toEqual(expected.slice(0, n));
      });
    });
  }

  it('scores trees that are a single leaf', () => {
    const model = randomModel(5, 3, false);
    model.trees = [{ feature: [-1], threshold: [0], missingLeft: [false], leftCategories: [null], left: [-1], right: [-1], value: [0.25], count: [1] }];
    const scorer = hgbScorerFromJSON(model);
    expect(Array.from(scorer.predictProba(toFrame(randomRows(6, 20))))).toEqual(new Array(20).fill(1 / (1 + Math.exp(-0.55))));
  });

  it('keeps scorers of different widths apart', () => {
    const narrow = randomModel(7, 10, true);
    const wide: HgbModelJSON & ForestJSON = { ...randomModel(8, 10, true), nFeatures: 6, featureImportances: new Array(6).fill(0) };
    const rows = randomRows(9, 100);
    const wideRows = rows.map((r) => [...r, 1, 2]);
    const [a, b] = [hgbScorerFromJSON(narrow), hgbScorerFromJSON(wide)];
    expect(Array.from(a.predictProba(toFrame(rows)))).toEqual(rows.map((r) => referenceProba(narrow, r)));
    expect(Array.from(b.predictProba(wideRows))).toEqual(wideRows.map((r) => referenceProba(wide, r)));
  });
});

describe('batch scoring on worker threads (needs the compiled worker: npm run build)', () => {
  const rows = randomRows(10, MIN_PARALLEL_ROWS * 2 + 77);
  const frame = toFrame(rows);
  /** Scores on the pool once its workers are up (the batches before that stay on the calling thread). */
  const scoreOnPool = async (model: ForestJSON): Promise<Float64Array> => {
    const forest = new FlatForest(model);
    const out = new Float64Array(frame.nRows);
    for (let attempt = 0; !scoreInParallel(forest, model, frame.columns, frame.nRows, out); attempt++) {
      if (attempt === 200) throw new Error('the scoring pool did not start within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return out;
  };
  const rawOnOneThread = (forest: FlatForest): Float64Array => {
    const out = new Float64Array(frame.nRows);
    forest.scoreColumns(frame.columns, 0, frame.nRows, out);
    return out;
  };

  it('splits a big batch across threads with the probabilities of one thread, bit for bit', async () => {
    setHgbScoringThreads(2);
    try {
      const model = randomModel(11, 50, true);
      expect(await scoreOnPool(model)).toEqual(rawOnOneThread(new FlatForest(model)));
      expect(Array.from(hgbScorerFromJSON(model).predictProba(frame))).toEqual(rows.map((r) => referenceProba(model, r)));
    } finally {
      setHgbScoringThreads(0);
    }
  });

  it('keeps batches below the threshold on the calling thread', async () => {
    setHgbScoringThreads(2);
    try {
      const model = randomModel(12, 5, false);
      await scoreOnPool(model);
      const n = MIN_PARALLEL_ROWS - 1;
      expect(scoreInParallel(new FlatForest(model), model, frame.columns, n, new Float64Array(n))).toBe(false);
    } finally {
      setHgbScoringThreads(0);
    }
  });

  it('scores a model right after its worker let it go for newer ones', async () => {
    setHgbScoringThreads(1);
    try {
      const models = Array.from({ length: 10 }, (_, i) => randomModel(20 + i, 3, i % 2 === 0));
      for (const model of models) await scoreOnPool(model);
      expect(await scoreOnPool(models[0])).toEqual(rawOnOneThread(new FlatForest(models[0])));
    } finally {
      setHgbScoringThreads(0);
    }
  });
});
