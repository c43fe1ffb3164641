/**
 * Hyperparameters of HistGradientBoostingClassifier: scikit-learn's names in camelCase, scikit-learn's defaults, and
 * validation that names the offending option.
 */
import { describe } from '../frame.js';
import { usableCpus } from '../../cpus.js';

/** 'balanced' weighs class c by n / (2 n_c), like scikit-learn; or an explicit weight per class. */
export type HgbClassWeight = 'balanced' | { 0: number; 1: number };

/** What early stopping monitors: the log loss (default) or a metric on a 10,000-row training subsample. */
export type HgbScoring = 'loss' | 'roc_auc' | 'accuracy';

export interface HgbOptions {
  /** Boosting iterations (trees), default 100. */
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
  /** Default 'loss'. */
  scoring?: HgbScoring;
  /** Categorical features as column indices or a boolean mask. Their values must be integer codes in [0, maxBins);
   * NaN or a negative code is missing, and a code not seen in training is treated as missing when predicting. */
  categoricalFeatures?: readonly number[] | readonly boolean[] | null;
  classWeight?: HgbClassWeight | null;
  /** Seed for the validation split and the binning subsample; default: a random seed. */
  randomState?: number | null;
  /** Threads used to fit (the calling thread plus nThreads - 1 workers); default the usable CPUs (src/cpus.ts: the
   * available ones, capped by a container's CPU quota). */
  nThreads?: number;
}

/** Options with every default filled in. */
export interface HgbParams {
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
  scoring: HgbScoring;
  categoricalFeatures: number[] | boolean[] | null;
  classWeight: HgbClassWeight | null;
  randomState: number | null;
  nThreads: number;
}

const KNOWN_OPTIONS = new Set<string>([
  'maxIter', 'learningRate', 'maxLeafNodes', 'maxDepth', 'minSamplesLeaf', 'l2Regularization', 'maxBins',
  'earlyStopping', 'validationFraction', 'nIterNoChange', 'tol', 'scoring', 'categoricalFeatures', 'classWeight',
  'randomState', 'nThreads',
]);

export function resolveHgbParams(options: HgbOptions = {}): HgbParams {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`HistGradientBoostingClassifier: unknown option ${JSON.stringify(key)}`);
  }
  const o = options;
  return {
    maxIter: integer(o.maxIter ?? 100, 'maxIter', 1),
    learningRate: positive(o.learningRate ?? 0.1, 'learningRate'),
    maxLeafNodes: o.maxLeafNodes === null ? null : integer(o.maxLeafNodes ?? 31, 'maxLeafNodes', 2),
    maxDepth: o.maxDepth == null ? null : integer(o.maxDepth, 'maxDepth', 1),
    minSamplesLeaf: integer(o.minSamplesLeaf ?? 20, 'minSamplesLeaf', 1),
    l2Regularization: nonNegative(o.l2Regularization ?? 0, 'l2Regularization'),
    maxBins: integerIn(o.maxBins ?? 255, 'maxBins', 2, 255),
    earlyStopping: earlyStopping(o.earlyStopping ?? 'auto'),
    validationFraction: validationFraction(o.validationFraction === undefined ? 0.1 : o.validationFraction),
    nIterNoChange: integer(o.nIterNoChange ?? 10, 'nIterNoChange', 1),
    tol: nonNegative(o.tol ?? 1e-7, 'tol'),
    scoring: scoring(o.scoring ?? 'loss'),
    categoricalFeatures: categoricalFeatures(o.categoricalFeatures ?? null),
    classWeight: classWeight(o.classWeight ?? null),
    randomState: o.randomState == null ? null : integer(o.randomState, 'randomState', 0),
    nThreads: o.nThreads === undefined ? usableCpus() : integer(o.nThreads, 'nThreads', 1),
  };
}

function fail(name: string, expected: string, value: unknown): never {
  throw new RangeError(`HistGradientBoostingClassifier: ${name} must be ${expected}, got ${describe(value)}`);
}

function integer(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(name, `an integer >= ${min}`, value);
  return value;
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(name, 'a finite number > 0', value);
  return value;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(name, 'a finite number >= 0', value);
  return value;
}

function earlyStopping(value: unknown): 'auto' | boolean {
  if (value !== 'auto' && value !== true && value !== false) fail('earlyStopping', "'auto', true or false", value);
  return value;
}

function validationFraction(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (value > 1 && !Number.isInteger(value)) || value === 1) {
    fail('validationFraction', 'null, a fraction in (0, 1) or a row count >= 2', value);
  }
  return value;
}

function scoring(value: unknown): HgbScoring {
  if (value !== 'loss' && value !== 'roc_auc' && value !== 'accuracy') fail('scoring', "'loss', 'roc_auc' or 'accuracy'", value);
  return value;
}

function categoricalFeatures(value: unknown): number[] | boolean[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) fail('categoricalFeatures', 'an array of column indices or a boolean mask', value);
  if (value.every((v) => typeof v === 'boolean')) return value.slice() as boolean[];
  value.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`categoricalFeatures[${i}]`, 'a column index (integer >= 0)', v);
  });
  return value.slice() as number[];
}

function classWeight(value: unknown): HgbClassWeight | null {
  if (value === null || value === 'balanced') return value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const w = value as Record<string, unknown>;
    const keys = Object.keys(w);
    if (keys.length === 2 && keys.includes('0') && keys.includes('1')) {
      const w0 = nonNegative(w[0], 'classWeight[0]');
      const w1 = nonNegative(w[1], 'classWeight[1]');
      return { 0: w0, 1: w1 };
    }
  }
  return fail('classWeight', "null, 'balanced' or { 0: weight, 1: weight }", value);
}
