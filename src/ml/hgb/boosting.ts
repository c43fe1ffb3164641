/**
 * The boosting loop both estimators share, scikit-learn's BaseHistGradientBoosting.fit: bin the features, start every
 * row's raw scores at the loss's baseline, then per iteration compute the gradients of all outputs once and grow one
 * tree per output (class) on its gradients, adding its leaves to that output's raw scores; with early stopping, score
 * the training (or a 10,000-row subsample of it) and validation rows after each iteration and stop by scikit-learn's
 * rule. Fitting blocks the calling thread until done; the heavy loops run on worker threads (parallel.ts).
 */
import { describe } from '../frame.js';
import type { Rng } from '../random.js';
import type { Frame } from '../types.js';
import { binColumn, type BinMapper, binMapperOf, binningSample } from './binning.js';
import { addBinnedPredictions, type GrownTree, TreeGrower } from './grower.js';
import { baselineOf, LOSS, type LossCode, median, weightedMedian } from './loss.js';
import { createExecutor, type Executor } from './parallel.js';
import type { HgbTreeParams } from './params.js';
import type { HgbTreeJSON } from './predictor.js';
import type { RowSplit } from './validation-split.js';

/** Early stopping on 'auto' is on above this many rows, as in scikit-learn. */
const AUTO_EARLY_STOPPING_ROWS = 10_000;
/** Rows of the training set scored each iteration when early stopping monitors a metric other than the loss. */
const SMALL_TRAINSET_ROWS = 10_000;

/** A score of raw predictions, higher is better: raw scores of output k at raw[k * stride + row]. */
export type Metric = (y: Float64Array, raw: Float64Array, stride: number, weight: Float64Array | null) => number;

/** What distinguishes one estimator's fit from another's. */
export interface BoostingTask {
  /** For error messages. */
  estimator: string;
  loss: LossCode;
  /** Raw scores per row: the classes of a multinomial loss, else 1. */
  nOutputs: number;
  /** Holds out rows: a fraction (< 1) or a row count; stratified for classifiers. */
  split: (y: Float64Array, size: number, rng: Rng) => RowSplit;
  /** The early-stopping score; with `metricIsLoss` it is minus the mean loss, computed on all training rows. */
  metric: Metric;
  metricIsLoss: boolean;
}

export interface BoostingResult {
  baseline: Float64Array;
  /** nIter x nOutputs trees, iteration by iteration. */
  trees: HgbTreeJSON[];
  nIter: number;
  trainScore: number[];
  validationScore: number[];
  featureImportances: number[];
  categorical: { feature: number; categories: number[] }[];
  categoricalFeatures: number[];
}

export function fitBoosting(
  frame: Frame,
  y: Float64Array,
  weight: Float64Array | null,
  p: HgbTreeParams,
  task: BoostingTask,
  rng: Rng,
): BoostingResult {
  const { nRows } = frame;
  const nFeatures = frame.columns.length;
  const { nOutputs } = task;
  const isCategorical = categoricalMask(p.categoricalFeatures, nFeatures, task.estimator);
  const knownCategories = frame.columns.map((col, f) => (isCategorical[f] ? categoriesOf(col, f, frame, p.maxBins, task.estimator) : null));

  const earlyStopping = p.earlyStopping === 'auto' ? nRows > AUTO_EARLY_STOPPING_ROWS : p.earlyStopping;
  const split = earlyStopping && p.validationFraction !== null ? task.split(y, p.validationFraction, rng) : null;
  const trainRows = split ? split.train : null;
  const nTrain = trainRows ? trainRows.length : nRows;
  const yTrain = trainRows ? pick(y, trainRows) : y;
  const wTrain = weight && trainRows ? pick(weight, trainRows) : weight;

  const binSample = binningSample(trainRows, nTrain, rng);
  const missingBin = p.maxBins;
  const baseline = baselineOf(task.loss, nOutputs, yTrain, wTrain);
  const maxLeaves = p.maxLeafNodes ?? Math.floor(nTrain / p.minSamplesLeaf) + 1;
  const exec = createExecutor(p.nThreads, {
    nRows: nTrain,
    nFeatures,
    nBins: p.maxBins + 1,
    y: yTrain,
    weight: wTrain,
    loss: task.loss,
    nOutputs,
    baseline,
    maxLeaves,
    l2Regularization: p.l2Regularization,
    minSamplesLeaf: p.minSamplesLeaf,
  });
  try {
    const { X: binned, raw, rawStride } = exec.buffers;
    const mapper = binMapperOf(exec.bin(frame.columns, trainRows, binSample, knownCategories, p.maxBins), isCategorical, p.maxBins);
    const hasMissing = new Uint8Array(nFeatures);
    for (let f = 0; f < nFeatures; f++) hasMissing[f] = binned.subarray(f * nTrain, (f + 1) * nTrain).includes(missingBin) ? 1 : 0;
    exec.prepare(mapper.nBinsNonMissing, hasMissing, Uint8Array.from(isCategorical, Number));
    const validation = split ? binnedValidation(frame, split.validation, y, weight, mapper, baseline) : null;
    const small = earlyStopping && !task.metricIsLoss && nTrain > SMALL_TRAINSET_ROWS ? task.split(yTrain, SMALL_TRAINSET_ROWS, rng).validation : null;
    const monitor = earlyStopping ? new EarlyStoppingMonitor(p, task, yTrain, wTrain, raw, rawStride, validation, small) : null;

    const importances = new Float64Array(nFeatures);
    const grower = new TreeGrower(
      exec,
      {
        maxLeafNodes: p.maxLeafNodes,
        maxDepth: p.maxDepth,
        minSamplesLeaf: p.minSamplesLeaf,
        l2Regularization: p.l2Regularization,
        learningRate: p.learningRate,
      },
      mapper,
      importances,
    );
    const trees: HgbTreeJSON[] = [];
    let nIter = 0;
    exec.gradients();
    for (let iteration = 0; iteration < p.maxIter; iteration++) {
      for (let k = 0; k < nOutputs; k++) {
        exec.setOutput(k);
        const tree = grower.grow();
        if (task.loss === LOSS.ABSOLUTE_ERROR) setLeavesToMedians(tree, exec, yTrain, wTrain, p.learningRate);
        exec.applyLeaves(tree.leaves, k === nOutputs - 1 && iteration + 1 < p.maxIter);
        trees.push(tree.json);
        if (validation) addBinnedPredictions(tree.binned, validation.X, validation.nRows, missingBin, validation.raw.subarray(k * validation.nRows, (k + 1) * validation.nRows));
      }
      nIter++;
      if (monitor?.update()) break;
    }
    const total = importances.reduce((s, v) => s + v, 0);
    return {
      baseline,
      trees,
      nIter,
      trainScore: monitor ? monitor.trainScores : [],
      validationScore: monitor ? monitor.validationScores : [],
      featureImportances: Array.from(importances, (v) => (total > 0 ? v / total : 0)),
      categorical: knownCategories.flatMap((cats, feature) => (cats ? [{ feature, categories: Array.from(cats) }] : [])),
      categoricalFeatures: isCategorical.flatMap((c, f) => (c ? [f] : [])),
    };
  } finally {
    exec.close();
  }
}

/**
 * Absolute error: each leaf's value becomes the learning rate times the median (weighted median with sample weights)
 * of its rows' residuals y - raw, as scikit-learn's _update_leaves_values does; the split search used the gradients.
 */
function setLeavesToMedians(tree: GrownTree, exec: Executor, y: Float64Array, weight: Float64Array | null, learningRate: number): void {
  const { partition, raw } = exec.buffers;
  tree.leaves.forEach((leaf, l) => {
    const residuals = new Float64Array(leaf.count);
    const w = weight ? new Float64Array(leaf.count) : null;
    for (let i = 0; i < leaf.count; i++) {
      const row = partition[leaf.start + i];
      residuals[i] = y[row] - raw[row];
      if (w) w[i] = (weight as Float64Array)[row];
    }
    const value = learningRate * (w ? weightedMedian(residuals, w) : median(residuals));
    const node = tree.leafNodes[l];
    leaf.value = value;
    tree.json.value[node] = value;
    tree.binned.value[node] = value;
  });
}

interface BinnedValidation {
  nRows: number;
  X: Uint8Array;
  y: Float64Array;
  weight: Float64Array | null;
  /** Raw scores, output after output (nRows each). */
  raw: Float64Array;
}

function binnedValidation(
  frame: Frame,
  rows: Uint32Array,
  y: Float64Array,
  weight: Float64Array | null,
  mapper: BinMapper,
  baseline: Float64Array,
): BinnedValidation {
  const n = rows.length;
  const X = new Uint8Array(n * frame.columns.length);
  frame.columns.forEach((col, f) => binColumn(col, rows, n, mapper.thresholds[f], mapper.isCategorical[f], mapper.maxBins, X, f * n));
  const raw = new Float64Array(n * baseline.length);
  baseline.forEach((b, k) => raw.fill(b, k * n, (k + 1) * n));
  return { nRows: n, X, y: pick(y, rows), weight: weight ? pick(weight, rows) : null, raw };
}

/** Records scores after each iteration and applies scikit-learn's stopping rule. */
class EarlyStoppingMonitor {
  readonly trainScores: number[] = [];
  readonly validationScores: number[] = [];

  constructor(
    private readonly p: HgbTreeParams,
    private readonly task: BoostingTask,
    private readonly y: Float64Array,
    private readonly weight: Float64Array | null,
    private readonly raw: Float64Array,
    private readonly rawStride: number,
    private readonly validation: BinnedValidation | null,
    /** Training rows scored for metrics other than the loss (all when null). */
    private readonly small: Uint32Array | null,
  ) {
    this.record();
  }

  /** Records the scores after an iteration; true when the fit should stop. */
  update(): boolean {
    this.record();
    const scores = this.validation ? this.validationScores : this.trainScores;
    const reference = this.p.nIterNoChange + 1;
    if (scores.length < reference) return false;
    const referenceScore = scores[scores.length - reference] + this.p.tol;
    return !scores.slice(scores.length - reference + 1).some((s) => s > referenceScore);
  }

  private record(): void {
    const { small, task } = this;
    if (small) {
      const m = small.length;
      const raw = new Float64Array(m * task.nOutputs);
      for (let k = 0; k < task.nOutputs; k++) for (let i = 0; i < m; i++) raw[k * m + i] = this.raw[k * this.rawStride + small[i]];
      this.trainScores.push(task.metric(pick(this.y, small), raw, m, this.weight && pick(this.weight, small)));
    } else {
      this.trainScores.push(task.metric(this.y, this.raw, this.rawStride, this.weight));
    }
    const v = this.validation;
    if (v) this.validationScores.push(task.metric(v.y, v.raw, v.nRows, v.weight));
  }
}

export function pick(values: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}

/** Sample weights checked (finite, >= 0) as a Float64Array, or null when not given. */
export function checkSampleWeight(sampleWeight: ArrayLike<number> | undefined, n: number, estimator: string): Float64Array | null {
  if (sampleWeight === undefined) return null;
  if (sampleWeight === null || typeof sampleWeight.length !== 'number') {
    throw new TypeError(`${estimator}: sampleWeight must be an array of numbers, got ${describe(sampleWeight)}`);
  }
  if (sampleWeight.length !== n) throw new RangeError(`${estimator}: sampleWeight has ${sampleWeight.length} values but X has ${n} rows`);
  const weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = sampleWeight[i];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new RangeError(`${estimator}: sampleWeight[${i}] must be a finite number >= 0, got ${describe(w)}`);
    }
    weight[i] = w;
  }
  return weight;
}

/** Throws unless the weights have a positive sum. */
export function checkWeightTotal(weight: Float64Array | null, estimator: string, what = 'sample'): void {
  if (weight === null) return;
  let total = 0;
  for (let i = 0; i < weight.length; i++) total += weight[i];
  if (!(total > 0)) throw new RangeError(`${estimator}: the ${what} weights sum to zero`);
}

function categoricalMask(spec: number[] | boolean[] | null, nFeatures: number, estimator: string): boolean[] {
  const mask = new Array<boolean>(nFeatures).fill(false);
  if (spec === null || spec.length === 0) return mask;
  if (typeof spec[0] === 'boolean') {
    if (spec.length !== nFeatures) {
      throw new RangeError(`${estimator}: categoricalFeatures mask has ${spec.length} entries but X has ${nFeatures} features`);
    }
    return (spec as boolean[]).slice();
  }
  for (const f of spec as number[]) {
    if (f >= nFeatures) throw new RangeError(`${estimator}: categoricalFeatures index ${f} is not below the ${nFeatures} features`);
    mask[f] = true;
  }
  return mask;
}

/** Sorted distinct category codes of a categorical column (NaN and negative codes are missing). */
function categoriesOf(column: Float64Array, f: number, frame: Frame, maxBins: number, estimator: string): Float64Array {
  const name = frame.names?.[f] !== undefined ? `categorical feature ${JSON.stringify(frame.names[f])} (column ${f})` : `categorical feature ${f}`;
  const seen = new Uint8Array(maxBins);
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v !== v || v < 0) continue;
    if (!Number.isInteger(v) || v >= maxBins) {
      throw new RangeError(`${estimator}: ${name} must hold integer codes in [0, ${maxBins}) (NaN or negative for missing); row ${i} has ${v}`);
    }
    seen[v] = 1;
  }
  const codes: number[] = [];
  seen.forEach((s, code) => {
    if (s) codes.push(code);
  });
  return Float64Array.from(codes);
}
