/**
 * HistGradientBoostingClassifier for binary targets: scikit-learn's algorithm (binning, leaf-wise trees on gradient
 * histograms, native categorical and missing-value splits, early stopping) with its defaults and semantics, fitted on
 * the calling thread plus worker threads. Fitting blocks the calling thread until done.
 */
import { describe, toFrame } from '../frame.js';
import { rocAuc } from '../metrics.js';
import { createRng, type Rng } from '../random.js';
import type { BinaryClassifier, Frame, Matrix } from '../types.js';
import { binColumn, type BinMapper, binMapperOf, binningSample } from './binning.js';
import { addBinnedPredictions, TreeGrower } from './grower.js';
import { baselineLogOdds, meanLoss } from './loss.js';
import { createExecutor } from './parallel.js';
import { type HgbOptions, type HgbParams, resolveHgbParams } from './params.js';
import { HGB_FORMAT_VERSION, HGB_KIND, type HgbModelJSON, HgbScorer, type HgbTreeJSON, parseHgbModel } from './predictor.js';
import { stratifiedSplit } from './validation-split.js';

/** Early stopping on 'auto' is on above this many rows, as in scikit-learn. */
const AUTO_EARLY_STOPPING_ROWS = 10_000;
/** Rows of the training set scored each iteration when early stopping monitors a metric other than the loss. */
const SMALL_TRAINSET_ROWS = 10_000;

export class HistGradientBoostingClassifier implements BinaryClassifier {
  readonly params: HgbParams;
  private scorer: HgbScorer | null = null;
  private model: HgbModelJSON | null = null;

  constructor(options: HgbOptions = {}) {
    this.params = resolveHgbParams(options);
  }

  /** A fitted classifier from its toJSON() output. */
  static fromJSON(json: HgbModelJSON): HistGradientBoostingClassifier {
    const model = parseHgbModel(json);
    const clf = new HistGradientBoostingClassifier(model.params as HgbOptions);
    clf.model = structuredClone(model);
    clf.scorer = new HgbScorer(clf.model);
    return clf;
  }

  /** Boosting iterations run (fewer than maxIter when early stopping ended the fit). */
  get nIter(): number {
    return this.fitted().nIter;
  }

  /** Score (negative mean log loss, or the chosen metric) on the training rows: the baseline, then after each
   * iteration. Empty when early stopping is off, as in scikit-learn. */
  get trainScore(): number[] {
    return this.fitted().trainScore.slice();
  }

  /** Same on the held-out validation rows (empty without early stopping or validation data). */
  get validationScore(): number[] {
    return this.fitted().validationScore.slice();
  }

  /** Total split gain per feature over all trees, normalised to sum to 1 (all zeros when no tree split). */
  get featureImportances(): number[] {
    return this.fitted().featureImportances.slice();
  }

  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this {
    const p = this.params;
    const frame = toFrame(X);
    const { nRows } = frame;
    const nFeatures = frame.columns.length;
    if (nFeatures === 0) throw new RangeError('HistGradientBoostingClassifier: X has no features');
    const labels = checkLabels(y, nRows);
    const weight = combinedWeights(sampleWeight, labels, p);
    const isCategorical = categoricalMask(p.categoricalFeatures, nFeatures);
    const knownCategories = frame.columns.map((col, f) => (isCategorical[f] ? categoriesOf(col, f, frame, p.maxBins) : null));
    const rng = createRng(p.randomState ?? Math.floor(Math.random() * 2 ** 32));

    const earlyStopping = p.earlyStopping === 'auto' ? nRows > AUTO_EARLY_STOPPING_ROWS : p.earlyStopping;
    const split = earlyStopping && p.validationFraction !== null ? stratifiedSplit(labels, p.validationFraction, rng) : null;
    const trainRows = split ? split.train : null;
    const nTrain = trainRows ? trainRows.length : nRows;
    const yTrain = trainRows ? pick(labels, trainRows) : labels;
    const wTrain = weight && trainRows ? pick(weight, trainRows) : weight;
    if (p.scoring === 'roc_auc' && earlyStopping && weight) {
      throw new RangeError("HistGradientBoostingClassifier: scoring 'roc_auc' does not support sample or class weights; use 'loss'");
    }

    const binSample = binningSample(trainRows, nTrain, rng);
    const missingBin = p.maxBins;
    const baseline = baselineLogOdds(yTrain, wTrain);
    const maxLeaves = p.maxLeafNodes ?? Math.floor(nTrain / p.minSamplesLeaf) + 1;
    const exec = createExecutor(p.nThreads, {
      nRows: nTrain,
      nFeatures,
      nBins: p.maxBins + 1,
      y: yTrain,
      weight: wTrain,
      baseline,
      maxLeaves,
      l2Regularization: p.l2Regularization,
      minSamplesLeaf: p.minSamplesLeaf,
    });
    try {
      const { X: binned, raw } = exec.buffers;
      const mapper = binMapperOf(exec.bin(frame.columns, trainRows, binSample, knownCategories, p.maxBins), isCategorical, p.maxBins);
      const hasMissing = new Uint8Array(nFeatures);
      for (let f = 0; f < nFeatures; f++) hasMissing[f] = binned.subarray(f * nTrain, (f + 1) * nTrain).includes(missingBin) ? 1 : 0;
      exec.prepare(mapper.nBinsNonMissing, hasMissing, Uint8Array.from(isCategorical, Number));
      const validation = split ? binnedValidation(frame, split.validation, labels, weight, mapper, baseline) : null;
      const monitor = earlyStopping ? new EarlyStoppingMonitor(p, yTrain, wTrain, raw, validation, rng) : null;

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
      exec.gradients();
      for (let iteration = 0; iteration < p.maxIter; iteration++) {
        const tree = grower.grow();
        exec.applyLeaves(tree.leaves, iteration + 1 < p.maxIter);
        trees.push(tree.json);
        if (validation) addBinnedPredictions(tree.binned, validation.X, validation.nRows, missingBin, validation.raw);
        if (monitor?.update()) break;
      }
      const total = importances.reduce((s, v) => s + v, 0);
      const { nThreads: _machineSpecific, ...params } = p;
      this.model = {
        kind: HGB_KIND,
        formatVersion: HGB_FORMAT_VERSION,
        nFeatures,
        baseline,
        categorical: knownCategories.flatMap((cats, feature) => (cats ? [{ feature, categories: Array.from(cats) }] : [])),
        trees,
        params: { ...params, categoricalFeatures: isCategorical.flatMap((c, f) => (c ? [f] : [])) },
        nIter: trees.length,
        trainScore: monitor ? monitor.trainScores : [],
        validationScore: monitor ? monitor.validationScores : [],
        featureImportances: Array.from(importances, (v) => (total > 0 ? v / total : 0)),
      };
      this.scorer = new HgbScorer(this.model);
    } finally {
      exec.close();
    }
    return this;
  }

  /** Raw scores (log-odds of class 1). */
  decisionFunction(X: Matrix): Float64Array {
    return this.fittedScorer().decisionFunction(X);
  }

  predictProba(X: Matrix): Float64Array {
    return this.fittedScorer().predictProba(X);
  }

  predict(X: Matrix, threshold = 0.5): Uint8Array {
    const proba = this.predictProba(X);
    const out = new Uint8Array(proba.length);
    for (let i = 0; i < proba.length; i++) out[i] = proba[i] >= threshold ? 1 : 0;
    return out;
  }

  toJSON(): HgbModelJSON {
    return structuredClone(this.fitted());
  }

  private fitted(): HgbModelJSON {
    if (!this.model) throw new Error('HistGradientBoostingClassifier is not fitted yet: call fit() first');
    return this.model;
  }

  private fittedScorer(): HgbScorer {
    this.fitted();
    return this.scorer as HgbScorer;
  }
}

interface BinnedValidation {
  nRows: number;
  X: Uint8Array;
  y: Float64Array;
  weight: Float64Array | null;
  raw: Float64Array;
}

function binnedValidation(
  frame: Frame,
  rows: Uint32Array,
  labels: Float64Array,
  weight: Float64Array | null,
  mapper: BinMapper,
  baseline: number,
): BinnedValidation {
  const n = rows.length;
  const X = new Uint8Array(n * frame.columns.length);
  frame.columns.forEach((col, f) => binColumn(col, rows, n, mapper.thresholds[f], mapper.isCategorical[f], mapper.maxBins, X, f * n));
  return { nRows: n, X, y: pick(labels, rows), weight: weight ? pick(weight, rows) : null, raw: new Float64Array(n).fill(baseline) };
}

/** Records scores after each iteration and applies scikit-learn's stopping rule. */
class EarlyStoppingMonitor {
  readonly trainScores: number[] = [];
  readonly validationScores: number[] = [];
  /** Training rows scored for metrics other than the loss. */
  private readonly small: Uint32Array | null;

  constructor(
    private readonly p: HgbParams,
    private readonly y: Float64Array,
    private readonly weight: Float64Array | null,
    private readonly raw: Float64Array,
    private readonly validation: BinnedValidation | null,
    rng: Rng,
  ) {
    this.small = p.scoring !== 'loss' && y.length > SMALL_TRAINSET_ROWS ? stratifiedSplit(y, SMALL_TRAINSET_ROWS, rng).validation : null;
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
    const small = this.small;
    this.trainScores.push(
      small
        ? this.score(pick(this.y, small), pick(this.raw, small), this.weight && pick(this.weight, small))
        : this.score(this.y, this.raw, this.weight),
    );
    const v = this.validation;
    if (v) this.validationScores.push(this.score(v.y, v.raw, v.weight));
  }

  /** Higher is better: negative mean log loss, ROC AUC or accuracy. */
  private score(y: Float64Array, raw: Float64Array, weight: Float64Array | null): number {
    if (this.p.scoring === 'loss') return -meanLoss(y, raw, weight);
    if (this.p.scoring === 'roc_auc') return rocAuc(y, raw);
    let right = 0;
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weight ? weight[i] : 1;
      if ((raw[i] > 0 ? 1 : 0) === y[i]) right += w;
      total += w;
    }
    return right / total;
  }
}

function pick(values: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}

function checkLabels(y: ArrayLike<number>, nRows: number): Float64Array {
  if (y == null || typeof y.length !== 'number') throw new TypeError(`HistGradientBoostingClassifier: y must be an array of 0/1 labels, got ${describe(y)}`);
  if (y.length !== nRows) throw new RangeError(`HistGradientBoostingClassifier: y has ${y.length} labels but X has ${nRows} rows`);
  const labels = new Float64Array(nRows);
  const seen = [0, 0];
  for (let i = 0; i < nRows; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new RangeError(`HistGradientBoostingClassifier: y[${i}] must be 0 or 1, got ${describe(v)}`);
    labels[i] = v;
    seen[v]++;
  }
  if (seen[0] === 0 || seen[1] === 0) throw new RangeError('HistGradientBoostingClassifier: y must contain both classes 0 and 1');
  return labels;
}

/** Sample weights times class weights, or null when neither is given. */
function combinedWeights(sampleWeight: ArrayLike<number> | undefined, labels: Float64Array, p: HgbParams): Float64Array | null {
  const n = labels.length;
  if (sampleWeight === undefined && p.classWeight === null) return null;
  const weight = new Float64Array(n).fill(1);
  if (sampleWeight !== undefined) {
    if (sampleWeight.length !== n) throw new RangeError(`HistGradientBoostingClassifier: sampleWeight has ${sampleWeight.length} values but X has ${n} rows`);
    for (let i = 0; i < n; i++) {
      const w = sampleWeight[i];
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
        throw new RangeError(`HistGradientBoostingClassifier: sampleWeight[${i}] must be a finite number >= 0, got ${describe(w)}`);
      }
      weight[i] = w;
    }
  }
  if (p.classWeight !== null) {
    let classWeights: [number, number];
    if (p.classWeight === 'balanced') {
      const positives = labels.reduce((s, v) => s + v, 0);
      classWeights = [n / (2 * (n - positives)), n / (2 * positives)];
    } else {
      classWeights = [p.classWeight[0], p.classWeight[1]];
    }
    for (let i = 0; i < n; i++) weight[i] *= classWeights[labels[i]];
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += weight[i];
  if (!(total > 0)) throw new RangeError('HistGradientBoostingClassifier: the sample (and class) weights sum to zero');
  return weight;
}

function categoricalMask(spec: number[] | boolean[] | null, nFeatures: number): boolean[] {
  const mask = new Array<boolean>(nFeatures).fill(false);
  if (spec === null || spec.length === 0) return mask;
  if (typeof spec[0] === 'boolean') {
    if (spec.length !== nFeatures) {
      throw new RangeError(`HistGradientBoostingClassifier: categoricalFeatures mask has ${spec.length} entries but X has ${nFeatures} features`);
    }
    return (spec as boolean[]).slice();
  }
  for (const f of spec as number[]) {
    if (f >= nFeatures) throw new RangeError(`HistGradientBoostingClassifier: categoricalFeatures index ${f} is not below the ${nFeatures} features`);
    mask[f] = true;
  }
  return mask;
}

/** Sorted distinct category codes of a categorical column (NaN and negative codes are missing). */
function categoriesOf(column: Float64Array, f: number, frame: Frame, maxBins: number): Float64Array {
  const name = frame.names?.[f] !== undefined ? `categorical feature ${JSON.stringify(frame.names[f])} (column ${f})` : `categorical feature ${f}`;
  const seen = new Uint8Array(maxBins);
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v !== v || v < 0) continue;
    if (!Number.isInteger(v) || v >= maxBins) {
      throw new RangeError(`HistGradientBoostingClassifier: ${name} must hold integer codes in [0, ${maxBins}) (NaN or negative for missing); row ${i} has ${v}`);
    }
    seen[v] = 1;
  }
  const codes: number[] = [];
  seen.forEach((s, code) => {
    if (s) codes.push(code);
  });
  return Float64Array.from(codes);
}
