/**
 * Scoring of a fitted HistGradientBoostingClassifier or HistGradientBoostingRegressor from its JSON, with no training
 * code: serving imports this file alone. The trees are flattened into a WebAssembly memory walked by the kernels of
 * predict-wasm.ts (big batches are also split across the worker threads of predict-pool.ts), and a row's raw score is
 * baseline + the sum of its leaf values, tree by tree in order, whichever path scores it. A model with K outputs (a
 * classifier over K >= 3 classes) has one forest per class: the trees of class k are trees k, K + k, 2K + k, ... and
 * its raw scores start at baseline[k]. P(y = 1) of a binary classifier is the sigmoid of its raw score, the class
 * probabilities of a multi-class one the softmax of its K raw scores, a regressor's prediction the raw score (its
 * exponential for the Poisson loss). A model and its JSON round trip therefore give bit-identical predictions.
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
import type { RegressionLoss } from './loss.js';
import { scoreInParallel } from './predict-pool.js';
import {
  BITSET_WORDS,
  CATEGORICAL_SLOT_FLAG,
  instantiateForestKernels,
  LANES,
  MISSING_CODE,
  NODE_BYTES,
  type ScoreRowKernel,
  type ScoreRowsKernel,
} from './predict-wasm.js';

/** A binary classifier's kind (and the format's first kind). */
export const HGB_KIND = 'hist_gradient_boosting';
/** A classifier over K >= 3 classes: a kind of its own, so that a reader knows the task from the kind. */
export const HGB_MULTICLASS_KIND = 'hist_gradient_boosting_multiclass';
export const HGB_REGRESSOR_KIND = 'hist_gradient_boosting_regressor';
export const HGB_FORMAT_VERSION = 1;
const REGRESSION_LOSS_NAMES: readonly RegressionLoss[] = ['squared_error', 'absolute_error', 'poisson'];

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

/** The model file of a HistGradientBoostingClassifier or HistGradientBoostingRegressor. */
export interface HgbModelJSON extends EstimatorJSON {
  kind: typeof HGB_KIND | typeof HGB_MULTICLASS_KIND | typeof HGB_REGRESSOR_KIND;
  formatVersion: typeof HGB_FORMAT_VERSION;
  nFeatures: number;
  /** Multi-class classifier (kind hist_gradient_boosting_multiclass): its number of classes K >= 3; absent for the
   * other kinds. */
  nClasses?: number;
  /** Regressor: its loss (absent for classifiers). */
  loss?: RegressionLoss;
  /** Raw score before the trees: the log-odds of the (weighted) training positive rate (binary); one per class
   * (K classes); the training mean, median or log of the mean (regressor, by loss). */
  baseline: number | number[];
  /** Categorical features and their category codes seen in training. */
  categorical: { feature: number; categories: number[] }[];
  /** Iteration after iteration; with K classes, K trees per iteration (class 0 first). */
  trees: HgbTreeJSON[];
  /** The remaining fields describe the fit and are not needed to score. */
  params: Record<string, unknown>;
  nIter: number;
  trainScore: number[];
  validationScore: number[];
  featureImportances: number[];
}

/** What one flat forest scores: a single output's trees and baseline. */
export interface ForestJSON {
  nFeatures: number;
  baseline: number;
  categorical: { feature: number; categories: number[] }[];
  trees: HgbTreeJSON[];
}

/** Rows scored together in a batch: their values stay in cache while every tree walks them. */
const BATCH_ROWS = 64;

/**
 * All trees as nodes in a WebAssembly memory, walked by the kernels of predict-wasm.ts (see there for the layout). Each tree is laid out breadth-first with the two children of a node side by side.
 *
 * Missing values without a test: a row is copied to the memory with two slots per feature, NaN written as +inf in the
 * first and -inf in the second. A numeric node reads the first slot when missing values go right (+inf > any
 * threshold) and the second when they go left. A real +inf becomes Number.MAX_VALUE, and a +inf threshold (all
 * non-missing values left) too, so that it still goes left. A categorical feature's first slot holds its code, or
 * MISSING_CODE when missing, negative, >= 256 or unseen in training (scikit-learn treats those as missing). A last slot
 * per row holds NaN, read by the leaves.
 */
export class FlatForest {
  readonly nFeatures: number;
  readonly baseline: number;
  private readonly nTrees: number;
  private readonly scoreRows: ScoreRowsKernel;
  private readonly scoreRow: ScoreRowKernel;
  private readonly memory: Float64Array;
  /** Byte addresses in the memory. */
  private readonly trees: number;
  private readonly groupDepths: number;
  private readonly rows: number;
  private readonly out: number;
  /** Doubles per row in the memory: two per feature and the NaN slot. */
  private readonly rowWidth: number;
  /** Per feature, the bitset of the category codes seen in training; null for numeric features. */
  private readonly knownCategories: (Uint32Array | null)[];

  constructor(model: ForestJSON) {
    const nf = model.nFeatures;
    this.nFeatures = nf;
    this.baseline = model.baseline;
    this.nTrees = model.trees.length;
    this.rowWidth = 2 * nf + 1;
    const nNodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
    const nCatSplits = model.trees.reduce((s, t) => s + t.leftCategories.filter((c) => c !== null).length, 0);
    const bitsets = nNodes * NODE_BYTES;
    this.trees = align8(bitsets + nCatSplits * BITSET_WORDS * 4);
    this.groupDepths = this.trees + this.nTrees * 8;
    this.rows = align8(this.groupDepths + Math.ceil(this.nTrees / LANES) * 4);
    this.out = this.rows + BATCH_ROWS * this.rowWidth * 8;
    const { memory, kernels } = instantiateForestKernels(this.out + BATCH_ROWS * 8, this.rowWidth * 8);
    this.scoreRows = nCatSplits > 0 ? kernels.scoreRowsMixed : kernels.scoreRows;
    this.scoreRow = nCatSplits > 0 ? kernels.scoreRowMixed : kernels.scoreRow;
    this.memory = new Float64Array(memory.buffer);
    const words = new Int32Array(memory.buffer);
    this.knownCategories = Array.from({ length: nf }, () => null);
    for (const { feature, categories } of model.categorical) {
      const known = new Uint32Array(8);
      for (const c of categories) known[c >>> 5] |= 1 << (c & 31);
      this.knownCategories[feature] = known;
    }
    for (let r = 0; r < BATCH_ROWS; r++) this.memory[this.rows / 8 + r * this.rowWidth + 2 * nf] = NaN;

    const leafSlot = 2 * nf * 8;
    let nextBitset = bitsets;
    let base = 0;
    model.trees.forEach((tree, t) => {
      words[(this.trees >> 2) + 2 * t] = base * NODE_BYTES;
      let depth = 0;
      // Breadth-first: queue of JSON node indices; position in the queue = flat index - base.
      const queue = [0];
      const depths = [0];
      for (let q = 0; q < queue.length; q++) {
        const i = queue[q];
        const n = base + q;
        depth = Math.max(depth, depths[q]);
        const f = tree.feature[i];
        const w = (n * NODE_BYTES) >> 2;
        if (f < 0) {
          this.memory[w >> 1] = tree.value[i];
          words[w + 2] = leafSlot;
          words[w + 3] = n * NODE_BYTES;
          continue;
        }
        words[w + 3] = (base + queue.length) * NODE_BYTES;
        queue.push(tree.left[i], tree.right[i]);
        depths.push(depths[q] + 1, depths[q] + 1);
        const cats = tree.leftCategories[i];
        if (cats !== null) {
          words[w] = nextBitset;
          words[w + 2] = (2 * f * 8) | CATEGORICAL_SLOT_FLAG;
          const goesRight = new Uint32Array(memory.buffer, nextBitset, BITSET_WORDS);
          goesRight.fill(0xffffffff, 0, 8);
          for (const c of cats) goesRight[c >>> 5] &= ~(1 << (c & 31));
          goesRight[8] = tree.missingLeft[i] ? 0 : 1;
          nextBitset += BITSET_WORDS * 4;
        } else {
          const th = tree.threshold[i];
          this.memory[w >> 1] = th === null || th > Number.MAX_VALUE ? Number.MAX_VALUE : th;
          words[w + 2] = (2 * f + (tree.missingLeft[i] ? 1 : 0)) * 8;
        }
      }
      words[(this.trees >> 2) + 2 * t + 1] = depth;
      const group = (this.groupDepths >> 2) + Math.floor(t / LANES);
      words[group] = Math.max(words[group], depth);
      base += queue.length;
    });
  }

  /** Raw scores of the rows [start, end) of the columns into out[0 .. end - start). */
  scoreColumns(columns: Float64Array[], start: number, end: number, out: Float64Array): void {
    for (let a = start; a < end; a += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, end - a);
      for (let j = 0; j < this.nFeatures; j++) this.fillColumn(j, columns[j], a, n);
      this.score(n, out.subarray(a - start, a - start + n));
    }
  }

  /** Raw scores of rows[start, start + n) into out[0 .. n), n <= BATCH_ROWS. */
  scoreArrayRows(rows: number[][], start: number, n: number, out: Float64Array): void {
    for (let r = 0; r < n; r++) this.fillRow(checkRow(rows[start + r], start + r, this.nFeatures), r);
    this.score(n, out);
  }

  private score(n: number, out: Float64Array): void {
    const mem = this.memory;
    const out0 = this.out >> 3;
    mem.fill(this.baseline, out0, out0 + n);
    if (n >= LANES) {
      this.scoreRows(this.rows, n, this.out, this.trees, this.nTrees);
    } else {
      for (let r = 0; r < n; r++) this.scoreRow(this.rows + r * this.rowWidth * 8, this.out + 8 * r, this.trees, this.nTrees, this.groupDepths);
    }
    for (let r = 0; r < n; r++) out[r] = mem[out0 + r];
  }

  private fillRow(row: number[], r: number): void {
    const mem = this.memory;
    const k0 = (this.rows >> 3) + r * this.rowWidth;
    for (let j = 0; j < this.nFeatures; j++) {
      const known = this.knownCategories[j];
      const k = k0 + 2 * j;
      const v = row[j];
      if (known !== null) mem[k] = kernelCategoryCode(v, known);
      else writeNumericSlots(mem, k, v);
    }
  }

  private fillColumn(j: number, col: Float64Array, start: number, n: number): void {
    const mem = this.memory;
    const w = this.rowWidth;
    const k0 = (this.rows >> 3) + 2 * j;
    const known = this.knownCategories[j];
    if (known !== null) {
      for (let r = 0; r < n; r++) mem[k0 + r * w] = kernelCategoryCode(col[start + r], known);
      return;
    }
    for (let r = 0; r < n; r++) writeNumericSlots(mem, k0 + r * w, col[start + r]);
  }
}

/**
 * A numeric value's two slots: NaN as +inf in the first (missing goes right) and -inf in the second (missing goes
 * left); a real +inf as MAX_VALUE so that it still goes left of a +inf threshold.
 */
function writeNumericSlots(mem: Float64Array, k: number, v: number): void {
  if (v !== v) {
    mem[k] = Infinity;
    mem[k + 1] = -Infinity;
  } else {
    const x = v === Infinity ? Number.MAX_VALUE : v;
    mem[k] = x;
    mem[k + 1] = x;
  }
}

/** The code the kernels read for a categorical value: its integer part, or MISSING_CODE when missing, out of [0, 256)
 * or not seen in training. */
function kernelCategoryCode(v: number, known: Uint32Array): number {
  if (!(v >= 0 && v < 256)) return MISSING_CODE;
  const code = Math.trunc(v);
  return (known[code >>> 5] & (1 << (code & 31))) !== 0 ? code : MISSING_CODE;
}

const align8 = (bytes: number): number => Math.ceil(bytes / 8) * 8;

/** Raw scores per row of a model: K for a classifier over K >= 3 classes, else 1. */
export function outputsOf(model: Pick<HgbModelJSON, 'nClasses'>): number {
  return model.nClasses !== undefined && model.nClasses > 2 ? model.nClasses : 1;
}

/** Scores rows with a fitted model of any task; each method checks that it fits the model's task. */
export class HgbScorer implements BinaryScorer {
  /** Raw scores per row. */
  readonly nOutputs: number;
  private readonly forests: FlatForest[];
  /** The forests' JSON: the model itself with one output (so the scoring pool knows it by the model object). */
  private readonly parts: ForestJSON[];

  constructor(private readonly model: HgbModelJSON) {
    this.nOutputs = outputsOf(model);
    const K = this.nOutputs;
    const baseline = model.baseline;
    this.parts =
      K === 1
        ? [model as ForestJSON]
        : Array.from({ length: K }, (_, k) => ({
            nFeatures: model.nFeatures,
            baseline: (baseline as number[])[k],
            categorical: model.categorical,
            trees: model.trees.filter((_tree, t) => t % K === k),
          }));
    this.forests = this.parts.map((part) => new FlatForest(part));
  }

  get nFeatures(): number {
    return this.model.nFeatures;
  }

  /** Classes of a classifier (2 for a binary one). */
  get nClasses(): number {
    this.expect('classifier');
    return this.model.nClasses ?? 2;
  }

  /** Raw scores: one per row (log-odds of a binary classifier, a regressor's raw prediction), or with K classes a
   * row-major n x K matrix. */
  decisionFunction(X: Matrix): Float64Array {
    if (this.nOutputs === 1) return this.scoreOutput(0, X);
    const K = this.nOutputs;
    const columns = this.forests.map((_, k) => this.scoreOutput(k, X));
    const n = columns[0].length;
    const out = new Float64Array(n * K);
    for (let k = 0; k < K; k++) {
      const column = columns[k];
      for (let i = 0; i < n; i++) out[i * K + k] = column[i];
    }
    return out;
  }

  /** P(y = 1) for each row: binary classifiers only. */
  predictProba(X: Matrix): Float64Array {
    this.expect('classifier');
    if (this.nOutputs > 1) {
      throw new TypeError(`HistGradientBoostingClassifier: predictProba gives P(y = 1) of a binary classifier; this one has ${this.nClasses} classes: use predictProbaMatrix`);
    }
    const raw = this.decisionFunction(X);
    for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]));
    return raw;
  }

  /** Row-major n x K class probabilities (K = 2 for a binary classifier: [1 - p, p]); each row sums to 1. */
  predictProbaMatrix(X: Matrix): Float64Array {
    this.expect('classifier');
    if (this.nOutputs === 1) {
      const p = this.predictProba(X);
      const out = new Float64Array(2 * p.length);
      for (let i = 0; i < p.length; i++) {
        out[2 * i] = 1 - p[i];
        out[2 * i + 1] = p[i];
      }
      return out;
    }
    return softmaxRows(this.decisionFunction(X), this.nOutputs);
  }

  /** A regressor's predictions: the raw scores, through the exponential for the Poisson loss. */
  predict(X: Matrix): Float64Array {
    this.expect('regressor');
    const raw = this.decisionFunction(X);
    if (this.model.loss === 'poisson') for (let i = 0; i < raw.length; i++) raw[i] = Math.exp(raw[i]);
    return raw;
  }

  toJSON(): HgbModelJSON {
    return structuredClone(this.model);
  }

  private expect(task: 'classifier' | 'regressor'): void {
    const isRegressor = this.model.kind === HGB_REGRESSOR_KIND;
    if (isRegressor !== (task === 'regressor')) {
      throw new TypeError(`this gradient boosting model is a ${isRegressor ? 'regressor' : 'classifier'}, not a ${task}`);
    }
  }

  /** Raw scores of output k, one per row. */
  private scoreOutput(k: number, X: Matrix): Float64Array {
    const forest = this.forests[k];
    if (Array.isArray(X)) {
      const out = new Float64Array(X.length);
      for (let start = 0; start < X.length; start += BATCH_ROWS) {
        const n = Math.min(BATCH_ROWS, X.length - start);
        forest.scoreArrayRows(X, start, n, out.subarray(start, start + n));
      }
      return out;
    }
    const frame = toFrame(X);
    assertWidth(frame, forest.nFeatures, this.model.kind === HGB_REGRESSOR_KIND ? 'HistGradientBoostingRegressor' : 'HistGradientBoostingClassifier');
    const out = new Float64Array(frame.nRows);
    if (!scoreInParallel(forest, this.parts[k], frame.columns, frame.nRows, out)) forest.scoreColumns(frame.columns, 0, frame.nRows, out);
    return out;
  }
}

/** Softmax of each row of a row-major n x K matrix, in place, as scikit-learn's (subtract the row's maximum, exp,
 * divide by the sum). */
export function softmaxRows(raw: Float64Array, K: number): Float64Array {
  for (let at = 0; at < raw.length; at += K) {
    let max = raw[at];
    for (let k = 1; k < K; k++) if (raw[at + k] > max) max = raw[at + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      raw[at + k] = Math.exp(raw[at + k] - max);
      sum += raw[at + k];
    }
    for (let k = 0; k < K; k++) raw[at + k] /= sum;
  }
  return raw;
}

/** A scorer for a model file (classifier or regressor), after checking its shape strictly (errors name the offending
 * field). */
export function hgbScorerFromJSON(json: EstimatorJSON): HgbScorer {
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
  const kinds = [HGB_KIND, HGB_MULTICLASS_KIND, HGB_REGRESSOR_KIND];
  if (!kinds.includes(m.kind as string)) {
    throw new JsonShapeError('model.kind', `must be one of ${kinds.map((k) => JSON.stringify(k)).join(', ')}, got ${JSON.stringify(m.kind)}`);
  }
  if (m.formatVersion !== HGB_FORMAT_VERSION) {
    throw new JsonShapeError('model.formatVersion', `must be ${HGB_FORMAT_VERSION}, got ${JSON.stringify(m.formatVersion)}`);
  }
  const nFeatures = expectInteger(m.nFeatures, 'model.nFeatures', 1);
  let nOutputs = 1;
  if (m.kind === HGB_MULTICLASS_KIND) nOutputs = expectInteger(m.nClasses, 'model.nClasses', 3);
  else if (m.nClasses !== undefined) throw new JsonShapeError('model.nClasses', `must be absent for kind ${JSON.stringify(m.kind)}`);
  if (m.kind === HGB_REGRESSOR_KIND) {
    if (!REGRESSION_LOSS_NAMES.includes(m.loss as RegressionLoss)) {
      throw new JsonShapeError('model.loss', `must be one of ${REGRESSION_LOSS_NAMES.map((l) => JSON.stringify(l)).join(', ')}, got ${JSON.stringify(m.loss)}`);
    }
  } else if (m.loss !== undefined) {
    throw new JsonShapeError('model.loss', 'must be absent for a classifier');
  }
  if (nOutputs === 1) {
    expectFinite(m.baseline, 'model.baseline');
  } else {
    expectArray(m.baseline, 'model.baseline', nOutputs).forEach((v, k) => expectFinite(v, `model.baseline[${k}]`));
  }
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
  if (trees.length % nOutputs !== 0) {
    throw new JsonShapeError('model.trees', `must hold ${nOutputs} trees per iteration (one per class), got ${trees.length} trees`);
  }
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
