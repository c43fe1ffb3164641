/**
 * HistGradientBoostingClassifier: scikit-learn's algorithm (binning, leaf-wise trees on gradient histograms, native
 * categorical and missing-value splits, early stopping) with its defaults and semantics. Two classes: the binary log
 * loss, one tree per iteration. K >= 3 classes: the multinomial log loss, one tree per class per iteration, raw
 * scores starting at scikit-learn's baseline (the symmetric logit of the class shares). Fitted on the calling thread
 * plus worker threads; fitting blocks the calling thread until done.
 */
import { describe, toFrame } from '../frame.js';
import { rocAuc } from '../metrics.js';
import { createRng } from '../random.js';
import type { BinaryClassifier, Matrix, MulticlassClassifier } from '../types.js';
import { type BoostingTask, checkSampleWeight, checkWeightTotal, fitBoosting, type Metric } from './boosting.js';
import { LOSS, meanLoss } from './loss.js';
import { type HgbOptions, type HgbParams, resolveHgbParams } from './params.js';
import { HGB_FORMAT_VERSION, HGB_KIND, HGB_MULTICLASS_KIND, type HgbModelJSON, HgbScorer, parseHgbModel } from './predictor.js';
import { stratifiedSplit } from './validation-split.js';

const NAME = 'HistGradientBoostingClassifier';
/** Class codes fit in the bytes predict() returns. */
const MAX_CLASSES = 256;

export class HistGradientBoostingClassifier implements BinaryClassifier, MulticlassClassifier {
  readonly params: HgbParams;
  private scorer: HgbScorer | null = null;
  private model: HgbModelJSON | null = null;

  constructor(options: HgbOptions = {}) {
    this.params = resolveHgbParams(options);
  }

  /** A fitted classifier from its toJSON() output. */
  static fromJSON(json: HgbModelJSON): HistGradientBoostingClassifier {
    const model = parseHgbModel(json);
    if (model.kind !== HGB_KIND && model.kind !== HGB_MULTICLASS_KIND) {
      throw new TypeError(`${NAME}.fromJSON: the model is a ${JSON.stringify(model.kind)}, not a classifier`);
    }
    const clf = new HistGradientBoostingClassifier(model.params as HgbOptions);
    clf.model = structuredClone(model);
    clf.scorer = new HgbScorer(clf.model);
    return clf;
  }

  /** Classes seen in training (codes 0..nClasses-1). */
  get nClasses(): number {
    return this.fitted().nClasses ?? 2;
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

  /** Fits on class codes 0..K-1 (every class present; two classes give the binary model). */
  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this {
    const p = this.params;
    const frame = toFrame(X);
    const { nRows } = frame;
    if (frame.columns.length === 0) throw new RangeError(`${NAME}: X has no features`);
    const { labels, nClasses } = checkLabels(y, nRows);
    const weight = combinedWeights(checkSampleWeight(sampleWeight, nRows, NAME), labels, nClasses, p);
    const earlyStopping = p.earlyStopping === 'auto' ? nRows > 10_000 : p.earlyStopping;
    if (p.scoring === 'roc_auc' && earlyStopping) {
      if (nClasses > 2) throw new RangeError(`${NAME}: scoring 'roc_auc' needs two classes, y has ${nClasses}; use 'loss' or 'accuracy'`);
      if (weight) throw new RangeError(`${NAME}: scoring 'roc_auc' does not support sample or class weights; use 'loss'`);
    }
    const binary = nClasses === 2;
    const task: BoostingTask = {
      estimator: NAME,
      loss: binary ? LOSS.BINARY : LOSS.MULTINOMIAL,
      nOutputs: binary ? 1 : nClasses,
      split: (labelsOf, size, rng) => stratifiedSplit(labelsOf, size, rng, nClasses),
      metric: classifierMetric(p, nClasses),
      metricIsLoss: p.scoring === 'loss',
    };
    const rng = createRng(p.randomState ?? Math.floor(Math.random() * 2 ** 32));
    const fit = fitBoosting(frame, labels, weight, p, task, rng);
    const { nThreads: _machineSpecific, ...params } = p;
    this.model = {
      kind: binary ? HGB_KIND : HGB_MULTICLASS_KIND,
      formatVersion: HGB_FORMAT_VERSION,
      nFeatures: frame.columns.length,
      ...(binary ? {} : { nClasses }),
      baseline: binary ? fit.baseline[0] : Array.from(fit.baseline),
      categorical: fit.categorical,
      trees: fit.trees,
      params: { ...params, categoricalFeatures: fit.categoricalFeatures },
      nIter: fit.nIter,
      trainScore: fit.trainScore,
      validationScore: fit.validationScore,
      featureImportances: fit.featureImportances,
    };
    this.scorer = new HgbScorer(this.model);
    return this;
  }

  /** Raw scores: the log-odds of class 1 (two classes), or a row-major n x K matrix of per-class scores. */
  decisionFunction(X: Matrix): Float64Array {
    return this.fittedScorer().decisionFunction(X);
  }

  /** P(y = 1) of a binary classifier. */
  predictProba(X: Matrix): Float64Array {
    return this.fittedScorer().predictProba(X);
  }

  /** Row-major n x K class probabilities; each row sums to 1. */
  predictProbaMatrix(X: Matrix): Float64Array {
    return this.fittedScorer().predictProbaMatrix(X);
  }

  /** Two classes: 1 where P(y = 1) >= threshold (default 0.5), else 0. More: the most probable class (the first on a
   * tie; the threshold does not apply). */
  predict(X: Matrix, threshold = 0.5): Uint8Array {
    const K = this.nClasses;
    if (K === 2) {
      const proba = this.predictProba(X);
      const out = new Uint8Array(proba.length);
      for (let i = 0; i < proba.length; i++) out[i] = proba[i] >= threshold ? 1 : 0;
      return out;
    }
    const raw = this.decisionFunction(X);
    const out = new Uint8Array(raw.length / K);
    for (let i = 0; i < out.length; i++) out[i] = argmaxRow(raw, i * K, K);
    return out;
  }

  toJSON(): HgbModelJSON {
    return structuredClone(this.fitted());
  }

  private fitted(): HgbModelJSON {
    if (!this.model) throw new Error(`${NAME} is not fitted yet: call fit() first`);
    return this.model;
  }

  private fittedScorer(): HgbScorer {
    this.fitted();
    return this.scorer as HgbScorer;
  }
}

function argmaxRow(values: Float64Array, at: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (values[at + k] > values[at + best]) best = k;
  return best;
}

/** The early-stopping score: minus the mean log loss, ROC AUC (two classes) or accuracy. */
function classifierMetric(p: HgbParams, nClasses: number): Metric {
  const binary = nClasses === 2;
  const loss = binary ? LOSS.BINARY : LOSS.MULTINOMIAL;
  const nOutputs = binary ? 1 : nClasses;
  if (p.scoring === 'loss') return (y, raw, stride, weight) => -meanLoss(loss, nOutputs, stride, y, raw, weight);
  if (p.scoring === 'roc_auc') return (y, raw) => rocAuc(y, raw.subarray(0, y.length));
  return (y, raw, stride, weight) => {
    let right = 0;
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weight ? weight[i] : 1;
      let predicted: number;
      if (binary) {
        predicted = raw[i] > 0 ? 1 : 0;
      } else {
        predicted = 0;
        for (let k = 1; k < nClasses; k++) if (raw[k * stride + i] > raw[predicted * stride + i]) predicted = k;
      }
      if (predicted === y[i]) right += w;
      total += w;
    }
    return right / total;
  };
}

function checkLabels(y: ArrayLike<number>, nRows: number): { labels: Float64Array; nClasses: number } {
  if (y == null || typeof y.length !== 'number') throw new TypeError(`${NAME}: y must be an array of class codes 0..K-1, got ${describe(y)}`);
  if (y.length !== nRows) throw new RangeError(`${NAME}: y has ${y.length} labels but X has ${nRows} rows`);
  const labels = new Float64Array(nRows);
  const counts: number[] = [];
  for (let i = 0; i < nRows; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= MAX_CLASSES) {
      throw new RangeError(`${NAME}: y[${i}] must be a class code, an integer in [0, ${MAX_CLASSES}) (0 or 1 for a binary target), got ${describe(v)}`);
    }
    labels[i] = v;
    while (counts.length <= v) counts.push(0);
    counts[v]++;
  }
  if (counts.length < 2) throw new RangeError(`${NAME}: y must contain both classes 0 and 1 (or codes 0..K-1 of K classes)`);
  const absent = counts.findIndex((c) => c === 0);
  if (absent >= 0) {
    throw new RangeError(
      counts.length === 2
        ? `${NAME}: y must contain both classes 0 and 1`
        : `${NAME}: y codes its ${counts.length} classes 0..${counts.length - 1} but has no row of class ${absent}`,
    );
  }
  return { labels, nClasses: counts.length };
}

/** Sample weights times class weights, or null when neither is given. */
function combinedWeights(sampleWeight: Float64Array | null, labels: Float64Array, nClasses: number, p: HgbParams): Float64Array | null {
  const n = labels.length;
  if (sampleWeight === null && p.classWeight === null) return null;
  const weight = sampleWeight ?? new Float64Array(n).fill(1);
  if (p.classWeight !== null) {
    const classWeights = new Float64Array(nClasses).fill(1);
    if (p.classWeight === 'balanced') {
      const counts = new Float64Array(nClasses);
      for (let i = 0; i < n; i++) counts[labels[i]]++;
      for (let c = 0; c < nClasses; c++) classWeights[c] = n / (nClasses * counts[c]);
    } else {
      for (const [key, w] of Object.entries(p.classWeight)) {
        const c = Number(key);
        if (c >= nClasses) throw new RangeError(`${NAME}: classWeight names class ${c}, but y has classes 0..${nClasses - 1}`);
        classWeights[c] = w;
      }
    }
    for (let i = 0; i < n; i++) weight[i] *= classWeights[labels[i]];
  }
  checkWeightTotal(weight, NAME, 'sample (and class)');
  return weight;
}
