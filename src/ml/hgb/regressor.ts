/**
 * HistGradientBoostingRegressor: scikit-learn's algorithm and defaults, one tree per iteration, with its three losses:
 * 'squared_error' (default; baseline the weighted mean), 'absolute_error' (baseline the median; each leaf then takes
 * the median residual of its rows) and 'poisson' (log link: baseline the log of the mean, predictions exp of the raw
 * score; y must be >= 0 with a positive sum). Early stopping holds out a random (not stratified) validation share.
 */
import { describe, toFrame } from '../frame.js';
import { createRng } from '../random.js';
import type { Matrix, Regressor } from '../types.js';
import { type BoostingTask, checkSampleWeight, checkWeightTotal, fitBoosting, type Metric } from './boosting.js';
import { meanLoss, REGRESSION_LOSSES } from './loss.js';
import { type HgbRegressorOptions, type HgbRegressorParams, resolveHgbRegressorParams } from './params.js';
import { HGB_FORMAT_VERSION, HGB_REGRESSOR_KIND, type HgbModelJSON, HgbScorer, parseHgbModel } from './predictor.js';
import { randomSplit } from './validation-split.js';

const NAME = 'HistGradientBoostingRegressor';

export class HistGradientBoostingRegressor implements Regressor {
  readonly params: HgbRegressorParams;
  private scorer: HgbScorer | null = null;
  private model: HgbModelJSON | null = null;

  constructor(options: HgbRegressorOptions = {}) {
    this.params = resolveHgbRegressorParams(options);
  }

  /** A fitted regressor from its toJSON() output. */
  static fromJSON(json: HgbModelJSON): HistGradientBoostingRegressor {
    const model = parseHgbModel(json);
    if (model.kind !== HGB_REGRESSOR_KIND) throw new TypeError(`${NAME}.fromJSON: the model is a ${JSON.stringify(model.kind)}, not a regressor`);
    const reg = new HistGradientBoostingRegressor(model.params as HgbRegressorOptions);
    reg.model = structuredClone(model);
    reg.scorer = new HgbScorer(reg.model);
    return reg;
  }

  /** Boosting iterations run (fewer than maxIter when early stopping ended the fit). */
  get nIter(): number {
    return this.fitted().nIter;
  }

  /** Score (minus the mean loss, or R^2) on the training rows: the baseline, then after each iteration. Empty when
   * early stopping is off. */
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
    if (frame.columns.length === 0) throw new RangeError(`${NAME}: X has no features`);
    const targets = checkTargets(y, nRows, p);
    const weight = checkSampleWeight(sampleWeight, nRows, NAME);
    checkWeightTotal(weight, NAME);
    const task: BoostingTask = {
      estimator: NAME,
      loss: REGRESSION_LOSSES[p.loss],
      nOutputs: 1,
      split: (values, size, rng) => randomSplit(values.length, size, rng),
      metric: regressorMetric(p),
      metricIsLoss: p.scoring === 'loss',
    };
    const rng = createRng(p.randomState ?? Math.floor(Math.random() * 2 ** 32));
    const fit = fitBoosting(frame, targets, weight, p, task, rng);
    const { nThreads: _machineSpecific, ...params } = p;
    this.model = {
      kind: HGB_REGRESSOR_KIND,
      formatVersion: HGB_FORMAT_VERSION,
      nFeatures: frame.columns.length,
      loss: p.loss,
      baseline: fit.baseline[0],
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

  predict(X: Matrix): Float64Array {
    return this.fittedScorer().predict(X);
  }

  /** Raw scores: the predictions, or their logarithm for the Poisson loss. */
  decisionFunction(X: Matrix): Float64Array {
    return this.fittedScorer().decisionFunction(X);
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

/** The early-stopping score: minus the mean loss, or R^2 of the predictions (scikit-learn's r2_score, weighted). */
function regressorMetric(p: HgbRegressorParams): Metric {
  const loss = REGRESSION_LOSSES[p.loss];
  if (p.scoring === 'loss') return (y, raw, stride, weight) => -meanLoss(loss, 1, stride, y, raw, weight);
  return (y, raw, _stride, weight) => {
    const predicted = (i: number): number => (p.loss === 'poisson' ? Math.exp(raw[i]) : raw[i]);
    let sw = 0;
    let swy = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weight ? weight[i] : 1;
      sw += w;
      swy += w * y[i];
    }
    const mean = swy / sw;
    let residual = 0;
    let totalSquares = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weight ? weight[i] : 1;
      residual += w * (y[i] - predicted(i)) ** 2;
      totalSquares += w * (y[i] - mean) ** 2;
    }
    if (totalSquares === 0) return residual === 0 ? 1 : 0;
    return 1 - residual / totalSquares;
  };
}

function checkTargets(y: ArrayLike<number>, nRows: number, p: HgbRegressorParams): Float64Array {
  if (y == null || typeof y.length !== 'number') throw new TypeError(`${NAME}: y must be an array of numbers, got ${describe(y)}`);
  if (y.length !== nRows) throw new RangeError(`${NAME}: y has ${y.length} values but X has ${nRows} rows`);
  const targets = new Float64Array(nRows);
  let sum = 0;
  for (let i = 0; i < nRows; i++) {
    const v = y[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${NAME}: y[${i}] must be a finite number, got ${describe(v)}`);
    if (p.loss === 'poisson' && v < 0) throw new RangeError(`${NAME}: y[${i}] is ${v}, but the 'poisson' loss needs y >= 0`);
    targets[i] = v;
    sum += v;
  }
  if (p.loss === 'poisson' && !(sum > 0)) throw new RangeError(`${NAME}: the 'poisson' loss needs y with a positive sum`);
  return targets;
}
