/**
 * Hyperparameters of HistGradientBoostingClassifier and HistGradientBoostingRegressor: scikit-learn's names in
 * camelCase, scikit-learn's defaults, and validation that names the estimator and the offending option.
 */
import { describe } from '../frame.js';
import { usableCpus } from '../../cpus.js';
import type { RegressionLoss } from './loss.js';

/** 'balanced' weighs class c by n / (K n_c), like scikit-learn; or a weight per class code (classes left out weigh 1). */
export type HgbClassWeight = 'balanced' | Record<number, number>;

/** What a classifier's early stopping monitors: the log loss (default) or a metric on a 10,000-row training
 * subsample ('roc_auc' for two classes only). */
export type HgbScoring = 'loss' | 'roc_auc' | 'accuracy';

/** What a regressor's early stopping monitors: the loss (default) or R^2 on a 10,000-row training subsample. */
export type HgbRegressorScoring = 'loss' | 'r2';

/** The options both estimators share: the trees, the boosting and early stopping. */
export interface HgbTreeOptions {
  /** Boosting iterations, default 100 (one tree per iteration, or one per class for more than two classes). */
  maxIter?: number;
  /** Shrinkage applied to each leaf value, default 0.1. */
  learningRate?: number;
  /** Maximum leaves per tree, default 31; null for no limit. */
  maxLeafNodes?: number | null;
  /** Maximum depth of a tree (root = depth 0), default none. */
  maxDepth?: number | null;
  /** Minimum (unweighted) rows per leaf, default 20. */
  minSamplesLeaf?: number;
  /** L2 penalty on leaf values, default 0. */
  l2Regularization?: number;
  /** Bins for non-missing values, 2..255, default 255 (one more bin holds missing values). */
  maxBins?: number;
  /** 'auto' (default): on when the training set has more than 10,000 rows. */
  earlyStopping?: 'auto' | boolean;
  /** Held-out share (0 < f < 1) or row count (>= 1) for early stopping, default 0.1; null to monitor training data. */
  validationFraction?: number | null;
  /** Stop when none of the last nIterNoChange scores beats the one before them by more than tol; default 10. */
  nIterNoChange?: number;
  /** Default 1e-7. */
  tol?: number;
  /** Categorical features as column indices or a boolean mask. Their values must be integer codes in [0, maxBins);
   * NaN or a negative code is missing, and a code not seen in training is treated as missing when predicting. */
  categoricalFeatures?: readonly number[] | readonly boolean[] | null;
  /** Seed for the validation split and the binning subsample; default: a random seed. */
  randomState?: number | null;
  /** Threads used to fit (the calling thread plus nThreads - 1 workers); default the usable CPUs (src/cpus.ts: the
   * available ones, capped by a container's CPU quota). */
  nThreads?: number;
}

export interface HgbOptions extends HgbTreeOptions {
  /** Default 'loss'. */
  scoring?: HgbScoring;
  classWeight?: HgbClassWeight | null;
}

export interface HgbRegressorOptions extends HgbTreeOptions {
  /** Default 'squared_error'. */
  loss?: RegressionLoss;
  /** Default 'loss'. */
  scoring?: HgbRegressorScoring;
}

/** Shared options with every default filled in. */
export interface HgbTreeParams {
  maxIter: number;
  learningRate: number;
  maxLeafNodes: number | null;
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2Regularization: number;
  maxBins: number;
  earlyStopping: 'auto' | boolean;
  validationFraction: number | null;
  nIterNoChange: number;
  tol: number;
  categoricalFeatures: number[] | boolean[] | null;
  randomState: number | null;
  nThreads: number;
}

export interface HgbParams extends HgbTreeParams {
  scoring: HgbScoring;
  classWeight: HgbClassWeight | null;
}

export interface HgbRegressorParams extends HgbTreeParams {
  loss: RegressionLoss;
  scoring: HgbRegressorScoring;
}

const TREE_OPTIONS = [
  'maxIter', 'learningRate', 'maxLeafNodes', 'maxDepth', 'minSamplesLeaf', 'l2Regularization', 'maxBins',
  'earlyStopping', 'validationFraction', 'nIterNoChange', 'tol', 'categoricalFeatures', 'randomState', 'nThreads',
];

const CLASSIFIER = 'HistGradientBoostingClassifier';
const REGRESSOR = 'HistGradientBoostingRegressor';

export function resolveHgbParams(options: HgbOptions = {}): HgbParams {
  const check = new Checker(CLASSIFIER);
  check.known(options, [...TREE_OPTIONS, 'scoring', 'classWeight']);
  return {
    ...resolveTreeParams(options, check),
    scoring: check.oneOf(options.scoring ?? 'loss', 'scoring', ['loss', 'roc_auc', 'accuracy'] as const),
    classWeight: classWeight(options.classWeight ?? null, check),
  };
}

export function resolveHgbRegressorParams(options: HgbRegressorOptions = {}): HgbRegressorParams {
  const check = new Checker(REGRESSOR);
  check.known(options, [...TREE_OPTIONS, 'loss', 'scoring']);
  return {
    ...resolveTreeParams(options, check),
    loss: check.oneOf(options.loss ?? 'squared_error', 'loss', ['squared_error', 'absolute_error', 'poisson'] as const),
    scoring: check.oneOf(options.scoring ?? 'loss', 'scoring', ['loss', 'r2'] as const),
  };
}

function resolveTreeParams(o: HgbTreeOptions, check: Checker): HgbTreeParams {
  return {
    maxIter: check.integer(o.maxIter ?? 100, 'maxIter', 1),
    learningRate: check.positive(o.learningRate ?? 0.1, 'learningRate'),
    maxLeafNodes: o.maxLeafNodes === null ? null : check.integer(o.maxLeafNodes ?? 31, 'maxLeafNodes', 2),
    maxDepth: o.maxDepth == null ? null : check.integer(o.maxDepth, 'maxDepth', 1),
    minSamplesLeaf: check.integer(o.minSamplesLeaf ?? 20, 'minSamplesLeaf', 1),
    l2Regularization: check.nonNegative(o.l2Regularization ?? 0, 'l2Regularization'),
    maxBins: check.integerIn(o.maxBins ?? 255, 'maxBins', 2, 255),
    earlyStopping: check.oneOf(o.earlyStopping ?? 'auto', 'earlyStopping', ['auto', true, false] as const),
    validationFraction: validationFraction(o.validationFraction === undefined ? 0.1 : o.validationFraction, check),
    nIterNoChange: check.integer(o.nIterNoChange ?? 10, 'nIterNoChange', 1),
    tol: check.nonNegative(o.tol ?? 1e-7, 'tol'),
    categoricalFeatures: categoricalFeatures(o.categoricalFeatures ?? null, check),
    randomState: o.randomState == null ? null : check.integer(o.randomState, 'randomState', 0),
    nThreads: o.nThreads === undefined ? usableCpus() : check.integer(o.nThreads, 'nThreads', 1),
  };
}

/** Option checks whose errors name the estimator and the option. */
class Checker {
  constructor(readonly estimator: string) {}

  fail(name: string, expected: string, value: unknown): never {
    throw new RangeError(`${this.estimator}: ${name} must be ${expected}, got ${describe(value)}`);
  }

  known(options: object, names: string[]): void {
    for (const key of Object.keys(options)) {
      if (!names.includes(key)) throw new TypeError(`${this.estimator}: unknown option ${JSON.stringify(key)}`);
    }
  }

  integer(value: unknown, name: string, min: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) this.fail(name, `an integer >= ${min}`, value);
    return value;
  }

  integerIn(value: unknown, name: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(name, `an integer in [${min}, ${max}]`, value);
    }
    return value;
  }

  positive(value: unknown, name: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.fail(name, 'a finite number > 0', value);
    return value;
  }

  nonNegative(value: unknown, name: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) this.fail(name, 'a finite number >= 0', value);
    return value;
  }

  oneOf<T extends string | boolean>(value: unknown, name: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) {
      const listed = allowed.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
      this.fail(name, `${listed.slice(0, -1).join(', ')} or ${listed[listed.length - 1]}`, value);
    }
    return value as T;
  }
}

function validationFraction(value: unknown, check: Checker): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (value > 1 && !Number.isInteger(value)) || value === 1) {
    check.fail('validationFraction', 'null, a fraction in (0, 1) or a row count >= 2', value);
  }
  return value;
}

function categoricalFeatures(value: unknown, check: Checker): number[] | boolean[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) check.fail('categoricalFeatures', 'an array of column indices or a boolean mask', value);
  if (value.every((v) => typeof v === 'boolean')) return value.slice() as boolean[];
  value.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) check.fail(`categoricalFeatures[${i}]`, 'a column index (integer >= 0)', v);
  });
  return value.slice() as number[];
}

function classWeight(value: unknown, check: Checker): HgbClassWeight | null {
  if (value === null || value === 'balanced') return value;
  const expected = "null, 'balanced' or { [class code]: weight >= 0 }";
  if (typeof value !== 'object' || Array.isArray(value)) return check.fail('classWeight', expected, value);
  const out: Record<number, number> = {};
  for (const [key, w] of Object.entries(value as Record<string, unknown>)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) check.fail('classWeight', `${expected} (class codes are integers >= 0, got key ${JSON.stringify(key)})`, value);
    out[Number(key)] = check.nonNegative(w, `classWeight[${key}]`);
  }
  return out;
}
