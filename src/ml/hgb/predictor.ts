/**
 * Scoring of a fitted HistGradientBoostingClassifier from its JSON, with no training code: serving imports this file
 * alone. The trees are flattened into typed arrays (node kind, feature, threshold or leaf value, children, categorical
 * bitsets) and a row's raw score is baseline + the sum of its leaf values, tree by tree in order; P(y = 1) is the
 * sigmoid of that. A model and its JSON round trip therefore give bit-identical probabilities.
 *
 * Missing values (NaN) follow each split's learned side. For a categorical feature, a negative code, a code >= 256
 * and a code not seen in training are treated as missing, like scikit-learn; other codes are truncated to integers.
 */
import { assertWidth, toFrame } from '../frame.js';
import {
  expectArray,
  expectBoolean,
  expectFinite,
  expectInteger,
  expectObject,
  JsonShapeError,
} from '../json-check.js';
import type { BinaryScorer, EstimatorJSON, Matrix } from '../types.js';

export const HGB_KIND = 'hist_gradient_boosting';
export const HGB_FORMAT_VERSION = 1;

/** One tree, as parallel arrays indexed by node (node 0 is the root). */
export interface HgbTreeJSON {
  /** Feature tested at the node; -1 for a leaf. */
  feature: number[];
  /** Numeric split: rows with x <= threshold go left; null stands for +Infinity (all non-missing values go left).
   * 0 for leaves and categorical splits. */
  threshold: (number | null)[];
  /** Where missing values go. */
  missingLeft: boolean[];
  /** Categorical split: the category codes that go left; null otherwise. */
  leftCategories: (number[] | null)[];
  /** Child node indices (greater than the node's own); -1 for a leaf. */
  left: number[];
  right: number[];
  /** Leaf value (learning rate applied), added to the raw score; 0 for internal nodes. */
  value: number[];
  /** Training rows that reached the node. */
  count: number[];
}

/** The model file of a HistGradientBoostingClassifier. */
export interface HgbModelJSON extends EstimatorJSON {
  kind: typeof HGB_KIND;
  formatVersion: typeof HGB_FORMAT_VERSION;
  nFeatures: number;
  /** Raw score before the trees: the log-odds of the (weighted) training positive rate. */
  baseline: number;
  /** Categorical features and their category codes seen in training. */
  categorical: { feature: number; categories: number[] }[];
  trees: HgbTreeJSON[];
  /** The remaining fields describe the fit and are not needed to score. */
  params: Record<string, unknown>;
  nIter: number;
  trainScore: number[];
  validationScore: number[];
  featureImportances: number[];
}

const LEAF = 0;
const NUMERIC_MISSING_RIGHT = 1;
const NUMERIC_MISSING_LEFT = 2;
const CATEGORICAL = 3;
/** Rows scored together in a batch: their values stay in cache while every tree walks them. */
const BATCH_ROWS = 256;

/** All trees in flat typed arrays; node indices are global. */
class FlatForest {
  constructor(
    readonly nFeatures: number,
    readonly baseline: number,
    readonly roots: Int32Array,
    readonly kind: Uint8Array,
    readonly feature: Int32Array,
    /** Threshold of a numeric split, value of a leaf. */
    readonly threshold: Float64Array,
    readonly left: Int32Array,
    readonly right: Int32Array,
    /** Offset in `bits` of the 8-word left-category bitset of a categorical split. */
    readonly bitsOffset: Int32Array,
    readonly bits: Uint32Array,
    /** Per feature, offset in `bits` of its known-category bitset; -1 for numeric features. */
    readonly knownOffset: Int32Array,
  ) {}

  /** Raw score of one row given as values[base + feature]. */
  rawScore(values: ArrayLike<number>, base: number): number {
    const { roots, kind, feature, threshold, left, right } = this;
    let sum = this.baseline;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t];
      let k = kind[node];
      while (k !== LEAF) {
        const x = values[base + feature[node]];
        let goLeft: boolean;
        if (k === NUMERIC_MISSING_RIGHT) goLeft = x <= threshold[node];
        else if (k === NUMERIC_MISSING_LEFT) goLeft = !(x > threshold[node]);
        else goLeft = this.categoryGoesLeft(node, x);
        node = goLeft ? left[node] : right[node];
        k = kind[node];
      }
      sum += threshold[node];
    }
    return sum;
  }

  /** Adds every tree's leaf value to raw[r] for the `nRows` rows stored row-major in `values`. */
  addScores(values: Float64Array, nRows: number, raw: Float64Array): void {
    const { roots, kind, feature, threshold, left, right, nFeatures } = this;
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      for (let r = 0, base = 0; r < nRows; r++, base += nFeatures) {
        let node = root;
        let k = kind[node];
        while (k !== LEAF) {
          const x = values[base + feature[node]];
          let goLeft: boolean;
          if (k === NUMERIC_MISSING_RIGHT) goLeft = x <= threshold[node];
          else if (k === NUMERIC_MISSING_LEFT) goLeft = !(x > threshold[node]);
          else goLeft = this.categoryGoesLeft(node, x);
          node = goLeft ? left[node] : right[node];
          k = kind[node];
        }
        raw[r] += threshold[node];
      }
    }
  }

  private categoryGoesLeft(node: number, x: number): boolean {
    const missingLeft = this.threshold[node] === 1;
    if (!(x >= 0 && x < 256)) return missingLeft; // NaN and out-of-range codes
    const code = Math.trunc(x);
    const known = this.knownOffset[this.feature[node]];
    if ((this.bits[known + (code >>> 5)] & (1 << (code & 31))) === 0) return missingLeft;
    return (this.bits[this.bitsOffset[node] + (code >>> 5)] & (1 << (code & 31))) !== 0;
  }
}

export class HgbScorer implements BinaryScorer {
  private readonly forest: FlatForest;

  constructor(private readonly model: HgbModelJSON) {
    this.forest = flatten(model);
  }

  get nFeatures(): number {
    return this.forest.nFeatures;
  }

  /** Raw scores (log-odds) of the rows. */
  decisionFunction(X: Matrix): Float64Array {
    const forest = this.forest;
    const nf = forest.nFeatures;
    if (Array.isArray(X)) {
      const out = new Float64Array(X.length);
      for (let i = 0; i < X.length; i++) out[i] = forest.rawScore(checkRow(X[i], i, nf), 0);
      return out;
    }
    const frame = toFrame(X);
    assertWidth(frame, nf, 'HistGradientBoostingClassifier');
    const out = new Float64Array(frame.nRows).fill(forest.baseline);
    const chunk = new Float64Array(BATCH_ROWS * nf);
    const columns = frame.columns;
    for (let start = 0; start < frame.nRows; start += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, frame.nRows - start);
      for (let j = 0; j < nf; j++) {
        const col = columns[j];
        for (let r = 0; r < n; r++) chunk[r * nf + j] = col[start + r];
      }
      forest.addScores(chunk, n, out.subarray(start, start + n));
    }
    return out;
  }

  predictProba(X: Matrix): Float64Array {
    const raw = this.decisionFunction(X);
    for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]));
    return raw;
  }

  toJSON(): HgbModelJSON {
    return structuredClone(this.model);
  }
}

/** A scorer for a model file, after checking its shape strictly (errors name the offending field). */
export function hgbScorerFromJSON(json: EstimatorJSON): BinaryScorer {
  return new HgbScorer(parseHgbModel(json));
}

function checkRow(row: unknown, i: number, nFeatures: number): number[] {
  if (!Array.isArray(row)) throw new TypeError(`row ${i} must be an array of numbers`);
  if (row.length !== nFeatures) {
    throw new RangeError(`HistGradientBoostingClassifier was fitted on ${nFeatures} features but row ${i} has ${row.length}`);
  }
  for (let j = 0; j < nFeatures; j++) {
    if (typeof row[j] !== 'number') throw new TypeError(`row ${i}, column ${j} must be a number (NaN for missing)`);
  }
  return row as number[];
}

function flatten(model: HgbModelJSON): FlatForest {
  const nNodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
  const nCatSplits = model.trees.reduce((s, t) => s + t.leftCategories.filter((c) => c !== null).length, 0);
  const roots = new Int32Array(model.trees.length);
  const kind = new Uint8Array(nNodes);
  const feature = new Int32Array(nNodes);
  const threshold = new Float64Array(nNodes);
  const left = new Int32Array(nNodes);
  const right = new Int32Array(nNodes);
  const bitsOffset = new Int32Array(nNodes).fill(-1);
  const bits = new Uint32Array(8 * (nCatSplits + model.categorical.length));
  const knownOffset = new Int32Array(model.nFeatures).fill(-1);
  let nextBits = 0;
  const setBits = (codes: number[]): number => {
    const offset = nextBits;
    for (const c of codes) bits[offset + (c >>> 5)] |= 1 << (c & 31);
    nextBits += 8;
    return offset;
  };
  for (const { feature: f, categories } of model.categorical) knownOffset[f] = setBits(categories);
  let base = 0;
  model.trees.forEach((tree, t) => {
    roots[t] = base;
    for (let i = 0; i < tree.feature.length; i++) {
      const n = base + i;
      if (tree.feature[i] < 0) {
        kind[n] = LEAF;
        threshold[n] = tree.value[i];
        continue;
      }
      feature[n] = tree.feature[i];
      left[n] = base + tree.left[i];
      right[n] = base + tree.right[i];
      const cats = tree.leftCategories[i];
      if (cats !== null) {
        kind[n] = CATEGORICAL;
        bitsOffset[n] = setBits(cats);
        threshold[n] = tree.missingLeft[i] ? 1 : 0; // categorical nodes keep their missing side here
      } else {
        kind[n] = tree.missingLeft[i] ? NUMERIC_MISSING_LEFT : NUMERIC_MISSING_RIGHT;
        const th = tree.threshold[i];
        threshold[n] = th === null ? Infinity : th;
      }
    }
    base += tree.feature.length;
  });
  return new FlatForest(model.nFeatures, model.baseline, roots, kind, feature, threshold, left, right, bitsOffset, bits, knownOffset);
}

/** Checks every field a scorer relies on and returns the model typed; throws JsonShapeError naming the field. */
export function parseHgbModel(json: EstimatorJSON): HgbModelJSON {
  const m = expectObject(json, 'model');
  if (m.kind !== HGB_KIND) throw new JsonShapeError('model.kind', `must be ${JSON.stringify(HGB_KIND)}, got ${JSON.stringify(m.kind)}`);
  if (m.formatVersion !== HGB_FORMAT_VERSION) {
    throw new JsonShapeError('model.formatVersion', `must be ${HGB_FORMAT_VERSION}, got ${JSON.stringify(m.formatVersion)}`);
  }
  const nFeatures = expectInteger(m.nFeatures, 'model.nFeatures', 1);
  expectFinite(m.baseline, 'model.baseline');
  const categoricalFeatures = new Set<number>();
  const knownCategories = new Map<number, Set<number>>();
  expectArray(m.categorical, 'model.categorical').forEach((entry, i) => {
    const path = `model.categorical[${i}]`;
    const c = expectObject(entry, path);
    const f = expectInteger(c.feature, `${path}.feature`);
    if (f >= nFeatures) throw new JsonShapeError(`${path}.feature`, `must be < nFeatures (${nFeatures}), got ${f}`);
    if (categoricalFeatures.has(f)) throw new JsonShapeError(`${path}.feature`, `repeats feature ${f}`);
    categoricalFeatures.add(f);
    knownCategories.set(f, new Set(expectArray(c.categories, `${path}.categories`).map((v, j) => categoryCode(v, `${path}.categories[${j}]`))));
  });
  const trees = expectArray(m.trees, 'model.trees');
  trees.forEach((tree, t) => checkTree(tree, `model.trees[${t}]`, nFeatures, knownCategories));
  for (const field of ['trainScore', 'validationScore', 'featureImportances'] as const) {
    expectArray(m[field], `model.${field}`).forEach((v, i) => {
      if (typeof v !== 'number') throw new JsonShapeError(`model.${field}[${i}]`, `must be a number, got ${JSON.stringify(v)}`);
    });
  }
  expectInteger(m.nIter, 'model.nIter');
  expectObject(m.params, 'model.params');
  return json as HgbModelJSON;
}

function categoryCode(value: unknown, path: string): number {
  const code = expectInteger(value, path);
  if (code > 255) throw new JsonShapeError(path, `must be a category code in [0, 255], got ${code}`);
  return code;
}

function checkTree(value: unknown, path: string, nFeatures: number, known: Map<number, Set<number>>): void {
  const tree = expectObject(value, path);
  const feature = expectArray(tree.feature, `${path}.feature`);
  const n = feature.length;
  if (n === 0) throw new JsonShapeError(`${path}.feature`, 'must have at least one node');
  const fields = ['threshold', 'missingLeft', 'leftCategories', 'left', 'right', 'value', 'count'] as const;
  const arrays = Object.fromEntries(fields.map((name) => [name, expectArray(tree[name], `${path}.${name}`, n)])) as Record<
    (typeof fields)[number],
    unknown[]
  >;
  for (let i = 0; i < n; i++) {
    const f = feature[i];
    if (typeof f !== 'number' || !Number.isInteger(f) || f < -1 || f >= nFeatures) {
      throw new JsonShapeError(`${path}.feature[${i}]`, `must be -1 (leaf) or a feature index below ${nFeatures}, got ${JSON.stringify(f)}`);
    }
    expectBoolean(arrays.missingLeft[i], `${path}.missingLeft[${i}]`);
    expectInteger(arrays.count[i], `${path}.count[${i}]`);
    const v = expectFinite(arrays.value[i], `${path}.value[${i}]`);
    if (f === -1) {
      if (arrays.left[i] !== -1 || arrays.right[i] !== -1) throw new JsonShapeError(`${path}.left[${i}]`, 'must be -1 at a leaf (and right too)');
      continue;
    }
    if (v !== 0) throw new JsonShapeError(`${path}.value[${i}]`, `must be 0 at an internal node, got ${v}`);
    for (const side of ['left', 'right'] as const) {
      const child = arrays[side][i];
      if (typeof child !== 'number' || !Number.isInteger(child) || child <= i || child >= n) {
        throw new JsonShapeError(`${path}.${side}[${i}]`, `must be a node index in (${i}, ${n}), got ${JSON.stringify(child)}`);
      }
    }
    const cats = arrays.leftCategories[i];
    if (cats === null) {
      if (known.has(f)) throw new JsonShapeError(`${path}.leftCategories[${i}]`, `must list categories: feature ${f} is categorical`);
      const th = arrays.threshold[i];
      if (th !== null) expectFinite(th, `${path}.threshold[${i}]`);
    } else {
      const knownCats = known.get(f);
      if (!knownCats) throw new JsonShapeError(`${path}.leftCategories[${i}]`, `must be null: feature ${f} is not categorical`);
      expectArray(cats, `${path}.leftCategories[${i}]`).forEach((c, j) => {
        const p = `${path}.leftCategories[${i}][${j}]`;
        if (!knownCats.has(categoryCode(c, p))) throw new JsonShapeError(p, `is not a known category of feature ${f}`);
      });
    }
  }
}
