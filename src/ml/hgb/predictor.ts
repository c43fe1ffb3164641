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

const NUMERIC = 1;
const CATEGORICAL = 2;
/** Rows scored together in a batch: their values stay in cache while every tree walks them. */
const BATCH_ROWS = 256;

/**
 * All trees in flat typed arrays. Each tree is laid out breadth-first with the two children of a node side by side, so
 * a step is `node = child[node] + (x > threshold)`. Leaves point to themselves and have threshold +inf, so walking a
 * tree a fixed number of steps (its depth) ends on the right leaf without a test per step.
 *
 * Missing values without a test either: a row is copied to a buffer with two slots per feature, NaN written as +inf in
 * the first and -inf in the second. A numeric node reads the first slot when missing values go right (+inf > any
 * threshold) and the second when they go left. A real +inf becomes Number.MAX_VALUE, and a +inf threshold (all
 * non-missing values left) too, so that it still goes left.
 */
class FlatForest {
  readonly nFeatures: number;
  readonly baseline: number;
  /** Per tree: root node and depth. */
  private readonly roots: Int32Array;
  private readonly depths: Int32Array;
  /** Per group of four trees (0-3, 4-7, ...): the largest of their depths. */
  private readonly quadDepths: Int32Array;
  private readonly kind: Uint8Array;
  /** Buffer slot read by the node: 2 x feature (+1 when missing values go left). */
  private readonly slot: Int32Array;
  /** Numeric split: threshold; leaf: +inf; categorical split: 1 when missing values go left, else 0. */
  private readonly threshold: Float64Array;
  /** Left child (the right child follows it); a leaf points to itself. */
  private readonly child: Int32Array;
  private readonly value: Float64Array;
  /** Offset in `bits` of the 8-word left-category bitset of a categorical split. */
  private readonly bitsOffset: Int32Array;
  private readonly bits: Uint32Array;
  /** Per feature, offset in `bits` of its known-category bitset; -1 for numeric features. */
  private readonly knownOffset: Int32Array;
  private readonly hasCategorical: boolean;
  /** The buffer of one row for single-row scoring. */
  private readonly rowBuffer: Float64Array;

  constructor(model: HgbModelJSON) {
    this.nFeatures = model.nFeatures;
    this.baseline = model.baseline;
    const nNodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
    const nCatSplits = model.trees.reduce((s, t) => s + t.leftCategories.filter((c) => c !== null).length, 0);
    this.roots = new Int32Array(model.trees.length);
    this.depths = new Int32Array(model.trees.length);
    this.kind = new Uint8Array(nNodes);
    this.slot = new Int32Array(nNodes);
    this.threshold = new Float64Array(nNodes);
    this.child = new Int32Array(nNodes);
    this.value = new Float64Array(nNodes);
    this.bitsOffset = new Int32Array(nNodes).fill(-1);
    this.bits = new Uint32Array(8 * (nCatSplits + model.categorical.length));
    this.knownOffset = new Int32Array(model.nFeatures).fill(-1);
    this.hasCategorical = nCatSplits > 0;
    this.rowBuffer = new Float64Array(2 * model.nFeatures);
    let nextBits = 0;
    const setBits = (codes: number[]): number => {
      const offset = nextBits;
      for (const c of codes) this.bits[offset + (c >>> 5)] |= 1 << (c & 31);
      nextBits += 8;
      return offset;
    };
    for (const { feature: f, categories } of model.categorical) this.knownOffset[f] = setBits(categories);
    let base = 0;
    model.trees.forEach((tree, t) => {
      this.roots[t] = base;
      // Breadth-first: queue of JSON node indices; position in the queue = flat index - base.
      const queue = [0];
      const depth = [0];
      for (let q = 0; q < queue.length; q++) {
        const i = queue[q];
        const n = base + q;
        this.depths[t] = Math.max(this.depths[t], depth[q]);
        const f = tree.feature[i];
        if (f < 0) {
          this.threshold[n] = Infinity;
          this.child[n] = n;
          this.value[n] = tree.value[i];
          continue;
        }
        this.child[n] = base + queue.length;
        queue.push(tree.left[i], tree.right[i]);
        depth.push(depth[q] + 1, depth[q] + 1);
        const cats = tree.leftCategories[i];
        if (cats !== null) {
          this.kind[n] = CATEGORICAL;
          this.slot[n] = 2 * f;
          this.threshold[n] = tree.missingLeft[i] ? 1 : 0;
          this.bitsOffset[n] = setBits(cats);
        } else {
          this.kind[n] = NUMERIC;
          this.slot[n] = 2 * f + (tree.missingLeft[i] ? 1 : 0);
          const th = tree.threshold[i];
          this.threshold[n] = th === null || th > Number.MAX_VALUE ? Number.MAX_VALUE : th;
        }
      }
      base += queue.length;
    });
    this.quadDepths = new Int32Array(Math.ceil(model.trees.length / 4));
    this.depths.forEach((d, t) => (this.quadDepths[t >> 2] = Math.max(this.quadDepths[t >> 2], d)));
  }

  /** Raw score of one row: four trees walked together (fixed steps, as in addNumericScores) to overlap their loads. */
  rowScore(row: ArrayLike<number>): number {
    const buf = this.rowBuffer;
    fillRow(row, buf, this.nFeatures);
    const { roots, quadDepths, slot, threshold: th, child, value } = this;
    let sum = this.baseline;
    if (this.hasCategorical) {
      for (let t = 0; t < roots.length; t++) sum += value[this.walk(buf, 0, roots[t])];
      return sum;
    }
    let t = 0;
    for (; t + 3 < roots.length; t += 4) {
      let n0 = roots[t];
      let n1 = roots[t + 1];
      let n2 = roots[t + 2];
      let n3 = roots[t + 3];
      for (let k = quadDepths[t >> 2]; k > 0; k--) {
        n0 = child[n0] + (((buf[slot[n0]] > th[n0]) as unknown as number) | 0);
        n1 = child[n1] + (((buf[slot[n1]] > th[n1]) as unknown as number) | 0);
        n2 = child[n2] + (((buf[slot[n2]] > th[n2]) as unknown as number) | 0);
        n3 = child[n3] + (((buf[slot[n3]] > th[n3]) as unknown as number) | 0);
      }
      sum += value[n0];
      sum += value[n1];
      sum += value[n2];
      sum += value[n3];
    }
    for (; t < roots.length; t++) {
      let a = roots[t];
      while (child[a] !== a) a = child[a] + (((buf[slot[a]] > th[a]) as unknown as number) | 0);
      sum += value[a];
    }
    return sum;
  }

  /** Adds every tree's leaf value to raw[r] for the `nRows` rows stored in `buf`, 2 x nFeatures values each. */
  addScores(buf: Float64Array, nRows: number, raw: Float64Array): void {
    if (this.hasCategorical) {
      const w = 2 * this.nFeatures;
      for (let t = 0; t < this.roots.length; t++) {
        const root = this.roots[t];
        for (let r = 0; r < nRows; r++) raw[r] += this.value[this.walk(buf, r * w, root)];
      }
      return;
    }
    this.addNumericScores(buf, nRows, raw);
  }

  /** Trees without categorical splits: eight rows walk each tree together, a fixed number of branch-free steps. */
  private addNumericScores(buf: Float64Array, nRows: number, raw: Float64Array): void {
    const { roots, depths, slot, threshold: th, child, value } = this;
    const w = 2 * this.nFeatures;
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      const depth = depths[t];
      let r = 0;
      for (; r + 7 < nRows; r += 8) {
        const b0 = r * w;
        const b1 = b0 + w;
        const b2 = b1 + w;
        const b3 = b2 + w;
        const b4 = b3 + w;
        const b5 = b4 + w;
        const b6 = b5 + w;
        const b7 = b6 + w;
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        let n4 = root;
        let n5 = root;
        let n6 = root;
        let n7 = root;
        for (let k = 0; k < depth; k++) {
          // `(x > t) | 0` compiles to a flag move in V8 where `x > t ? 1 : 0` is a branch.
          n0 = child[n0] + (((buf[b0 + slot[n0]] > th[n0]) as unknown as number) | 0);
          n1 = child[n1] + (((buf[b1 + slot[n1]] > th[n1]) as unknown as number) | 0);
          n2 = child[n2] + (((buf[b2 + slot[n2]] > th[n2]) as unknown as number) | 0);
          n3 = child[n3] + (((buf[b3 + slot[n3]] > th[n3]) as unknown as number) | 0);
          n4 = child[n4] + (((buf[b4 + slot[n4]] > th[n4]) as unknown as number) | 0);
          n5 = child[n5] + (((buf[b5 + slot[n5]] > th[n5]) as unknown as number) | 0);
          n6 = child[n6] + (((buf[b6 + slot[n6]] > th[n6]) as unknown as number) | 0);
          n7 = child[n7] + (((buf[b7 + slot[n7]] > th[n7]) as unknown as number) | 0);
        }
        raw[r] += value[n0];
        raw[r + 1] += value[n1];
        raw[r + 2] += value[n2];
        raw[r + 3] += value[n3];
        raw[r + 4] += value[n4];
        raw[r + 5] += value[n5];
        raw[r + 6] += value[n6];
        raw[r + 7] += value[n7];
      }
      for (; r < nRows; r++) {
        let a = root;
        const b = r * w;
        while (child[a] !== a) a = child[a] + (((buf[b + slot[a]] > th[a]) as unknown as number) | 0);
        raw[r] += value[a];
      }
    }
  }

  /** The leaf reached from `node` by the row at buf[base ...], any kind of split. */
  private walk(buf: Float64Array, base: number, node: number): number {
    const { kind, slot, threshold, child } = this;
    let a = node;
    while (child[a] !== a) {
      if (kind[a] === NUMERIC) a = child[a] + (((buf[base + slot[a]] > threshold[a]) as unknown as number) | 0);
      else a = child[a] + (this.categoryGoesLeft(a, buf[base + slot[a]]) ? 0 : 1);
    }
    return a;
  }

  private categoryGoesLeft(node: number, x: number): boolean {
    const missingLeft = this.threshold[node] === 1;
    if (!(x >= 0 && x < 256)) return missingLeft; // missing (+/-inf in the buffer) and out-of-range codes
    const code = Math.trunc(x);
    const known = this.knownOffset[this.slot[node] >> 1];
    if ((this.bits[known + (code >>> 5)] & (1 << (code & 31))) === 0) return missingLeft;
    return (this.bits[this.bitsOffset[node] + (code >>> 5)] & (1 << (code & 31))) !== 0;
  }
}

/** Copies a row's values to buf as two slots each (see FlatForest). */
function fillRow(row: ArrayLike<number>, buf: Float64Array, nFeatures: number): void {
  for (let j = 0; j < nFeatures; j++) {
    const v = row[j];
    const k = 2 * j;
    if (v !== v) {
      buf[k] = Infinity;
      buf[k + 1] = -Infinity;
    } else {
      const x = v === Infinity ? Number.MAX_VALUE : v;
      buf[k] = x;
      buf[k + 1] = x;
    }
  }
}

export class HgbScorer implements BinaryScorer {
  private readonly forest: FlatForest;

  constructor(private readonly model: HgbModelJSON) {
    this.forest = new FlatForest(model);
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
      for (let i = 0; i < X.length; i++) out[i] = forest.rowScore(checkRow(X[i], i, nf));
      return out;
    }
    const frame = toFrame(X);
    assertWidth(frame, nf, 'HistGradientBoostingClassifier');
    const out = new Float64Array(frame.nRows).fill(forest.baseline);
    const buf = new Float64Array(BATCH_ROWS * 2 * nf);
    const columns = frame.columns;
    for (let start = 0; start < frame.nRows; start += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, frame.nRows - start);
      for (let j = 0; j < nf; j++) {
        const col = columns[j];
        for (let r = 0; r < n; r++) {
          const v = col[start + r];
          const k = r * 2 * nf + 2 * j;
          if (v !== v) {
            buf[k] = Infinity;
            buf[k + 1] = -Infinity;
          } else {
            const x = v === Infinity ? Number.MAX_VALUE : v;
            buf[k] = x;
            buf[k + 1] = x;
          }
        }
      }
      forest.addScores(buf, n, out.subarray(start, start + n));
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
