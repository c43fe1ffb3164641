/**
 * Linear models for the multi-class and regression tasks, with scikit-learn's objectives:
 *
 * - MultinomialLogisticRegression: LogisticRegression(multi_class="multinomial", solver="lbfgs"), i.e.
 *   minimise sum_i w_i * (-log softmax(x_i W^T + b)[y_i]) + ||W||^2 / (2C), one coefficient row per class, the
 *   intercepts unpenalised (and, as scikit-learn's L-BFGS started at zero leaves them, summing to zero).
 * - Ridge: Ridge(alpha), i.e. minimise sum_i w_i (y_i - x_i . coef - intercept)^2 + alpha ||coef||^2, solved exactly
 *   on centred data by a Cholesky solve of the p x p normal equations.
 */
import { assertWidth, toFrame } from './frame.js';
import {
  expectBoolean,
  expectFinite,
  expectFiniteArray,
  expectInteger,
  expectObject,
  expectOneOf,
  JsonShapeError,
} from './json-check.js';
import { lbfgs, solveSpd, type SmoothObjective } from './logistic.js';
import type { EstimatorJSON, Frame, Matrix, MulticlassClassifier, Regressor } from './types.js';

export const MULTINOMIAL_KIND = 'multinomial_logistic_regression';
export const RIDGE_KIND = 'ridge';
const FORMAT_VERSION = 1;

export interface MultinomialLogisticRegressionOptions {
  /** Inverse regularisation strength, as in scikit-learn (default 1). */
  C?: number;
  /** Maximum L-BFGS iterations (default 500). */
  maxIter?: number;
  /** Stop when no gradient component exceeds tol x (total sample weight) (default 1e-7). */
  tol?: number;
  fitIntercept?: boolean;
}

export interface MultinomialLogisticRegressionJSON extends EstimatorJSON {
  kind: typeof MULTINOMIAL_KIND;
  formatVersion: 1;
  nFeatures: number;
  nClasses: number;
  /** nClasses rows of nFeatures coefficients. */
  coef: number[][];
  intercept: number[];
  params: { C: number; maxIter: number; tol: number; fitIntercept: boolean };
  fit: { nIter: number; converged: boolean };
}

export class MultinomialLogisticRegression implements MulticlassClassifier {
  readonly C: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly fitIntercept: boolean;
  nClasses = 0;
  /** Coefficients, one Float64Array of nFeatures per class (empty until fitted). */
  coef: Float64Array[] = [];
  intercept: Float64Array = new Float64Array(0);
  nIter = 0;
  converged = false;
  private fitted = false;

  constructor(options: MultinomialLogisticRegressionOptions = {}) {
    this.C = options.C ?? 1;
    this.maxIter = options.maxIter ?? 500;
    this.tol = options.tol ?? 1e-7;
    this.fitIntercept = options.fitIntercept ?? true;
    if (!(this.C > 0 && Number.isFinite(this.C))) throw new RangeError(`MultinomialLogisticRegression: C must be a positive number, got ${this.C}`);
    if (!(Number.isInteger(this.maxIter) && this.maxIter >= 1)) {
      throw new RangeError(`MultinomialLogisticRegression: maxIter must be a positive integer, got ${this.maxIter}`);
    }
    if (!(this.tol > 0)) throw new RangeError(`MultinomialLogisticRegression: tol must be positive, got ${this.tol}`);
  }

  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this {
    const frame = toFrame(X);
    const nClasses = checkFitInput('MultinomialLogisticRegression', frame, y, sampleWeight, 'classes');
    const problem = new MultinomialProblem(frame, y, nClasses, sampleWeight, 1 / this.C, this.fitIntercept);
    const result = lbfgs(problem, this.maxIter, this.tol);
    const p = frame.columns.length;
    this.nClasses = nClasses;
    this.coef = Array.from({ length: nClasses }, (_, k) => result.theta.slice(k * p, (k + 1) * p));
    this.intercept = this.fitIntercept ? result.theta.slice(nClasses * p) : new Float64Array(nClasses);
    // The intercepts are unpenalised, so only their differences matter; scikit-learn's are centred.
    let mean = 0;
    for (let k = 0; k < nClasses; k++) mean += this.intercept[k] / nClasses;
    for (let k = 0; k < nClasses; k++) this.intercept[k] -= mean;
    this.nIter = result.nIter;
    this.converged = result.converged;
    this.fitted = true;
    return this;
  }

  /** Row-major n x K linear scores x . coef_k + intercept_k. */
  decisionFunction(X: Matrix): Float64Array {
    if (!this.fitted) throw new Error('MultinomialLogisticRegression is not fitted: call fit() or fromJSON() first');
    const frame = toFrame(X);
    assertWidth(frame, this.coef[0].length, 'MultinomialLogisticRegression');
    return linearScores(frame, this.coef, this.intercept);
  }

  predictProbaMatrix(X: Matrix): Float64Array {
    const z = this.decisionFunction(X);
    softmaxRows(z, this.nClasses);
    return z;
  }

  /** The most probable class code per row. */
  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProbaMatrix(X), this.nClasses);
  }

  toJSON(): MultinomialLogisticRegressionJSON {
    if (!this.fitted) throw new Error('MultinomialLogisticRegression is not fitted: nothing to serialise');
    return {
      kind: MULTINOMIAL_KIND,
      formatVersion: FORMAT_VERSION,
      nFeatures: this.coef[0].length,
      nClasses: this.nClasses,
      coef: this.coef.map((row) => Array.from(row)),
      intercept: Array.from(this.intercept),
      params: { C: this.C, maxIter: this.maxIter, tol: this.tol, fitIntercept: this.fitIntercept },
      fit: { nIter: this.nIter, converged: this.converged },
    };
  }

  get params(): Record<string, unknown> {
    return { C: this.C, maxIter: this.maxIter, tol: this.tol, fitIntercept: this.fitIntercept };
  }

  static fromJSON(json: unknown, path = 'estimator'): MultinomialLogisticRegression {
    const o = expectObject(json, path);
    expectOneOf(o.kind, `${path}.kind`, [MULTINOMIAL_KIND]);
    expectOneOf(o.formatVersion, `${path}.formatVersion`, [FORMAT_VERSION]);
    const nFeatures = expectInteger(o.nFeatures, `${path}.nFeatures`);
    const nClasses = expectInteger(o.nClasses, `${path}.nClasses`, 2);
    const coefRows = o.coef;
    if (!Array.isArray(coefRows) || coefRows.length !== nClasses) {
      throw new JsonShapeError(`${path}.coef`, `must be an array of ${nClasses} rows`);
    }
    const coef = coefRows.map((row, k) => expectFiniteArray(row, `${path}.coef[${k}]`, nFeatures));
    const intercept = expectFiniteArray(o.intercept, `${path}.intercept`, nClasses);
    const params = expectObject(o.params, `${path}.params`);
    const model = new MultinomialLogisticRegression({
      C: expectFinite(params.C, `${path}.params.C`, { min: Number.MIN_VALUE }),
      maxIter: expectInteger(params.maxIter, `${path}.params.maxIter`, 1),
      tol: expectFinite(params.tol, `${path}.params.tol`, { min: Number.MIN_VALUE }),
      fitIntercept: expectBoolean(params.fitIntercept, `${path}.params.fitIntercept`),
    });
    const fit = expectObject(o.fit, `${path}.fit`);
    model.nIter = expectInteger(fit.nIter, `${path}.fit.nIter`);
    model.converged = expectBoolean(fit.converged, `${path}.fit.converged`);
    model.nClasses = nClasses;
    model.coef = coef;
    model.intercept = intercept;
    model.fitted = true;
    return model;
  }
}

/**
 * The multinomial objective over theta = [W (class-major, K x p)..., b (K)?]. Probabilities are computed with the
 * row maximum subtracted, so large scores do not overflow.
 */
class MultinomialProblem implements SmoothObjective {
  readonly dim: number;
  readonly totalWeight: number;
  private readonly n: number;
  private readonly p: number;
  private readonly w: Float64Array;
  /** Row-major n x K scores, then probabilities. */
  private readonly z: Float64Array;

  constructor(
    private readonly X: Frame,
    private readonly y: ArrayLike<number>,
    private readonly K: number,
    sampleWeight: ArrayLike<number> | undefined,
    private readonly alpha: number,
    private readonly fitIntercept: boolean,
  ) {
    this.n = X.nRows;
    this.p = X.columns.length;
    this.dim = K * this.p + (fitIntercept ? K : 0);
    this.w = Float64Array.from({ length: this.n }, (_, i) => (sampleWeight ? sampleWeight[i] : 1));
    this.totalWeight = this.w.reduce((a, b) => a + b, 0);
    this.z = new Float64Array(this.n * K);
  }

  columnScales(): Float64Array {
    const scale = new Float64Array(this.dim).fill(1);
    for (let j = 0; j < this.p; j++) {
      const col = this.X.columns[j];
      let ss = 0;
      for (let i = 0; i < this.n; i++) ss += col[i] * col[i];
      const rms = Math.sqrt(ss / Math.max(this.n, 1));
      if (rms > 0 && Number.isFinite(rms)) for (let k = 0; k < this.K; k++) scale[k * this.p + j] = rms;
    }
    return scale;
  }

  valueAndGradient(theta: Float64Array, grad: Float64Array): number {
    const { n, p, K, w, y, z } = this;
    const cols = this.X.columns;
    z.fill(0);
    for (let k = 0; k < K; k++) {
      const b = this.fitIntercept ? theta[K * p + k] : 0;
      for (let i = 0; i < n; i++) z[i * K + k] = b;
      for (let j = 0; j < p; j++) {
        const c = theta[k * p + j];
        if (c === 0) continue;
        const col = cols[j];
        for (let i = 0; i < n; i++) z[i * K + k] += c * col[i];
      }
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * K;
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (z[row + k] > max) max = z[row + k];
      let total = 0;
      for (let k = 0; k < K; k++) total += Math.exp(z[row + k] - max);
      const logSum = max + Math.log(total);
      if (w[i] !== 0) loss += w[i] * (logSum - z[row + y[i]]);
      // z becomes the weighted residual w_i (P_ik - Y_ik), what the gradient needs.
      for (let k = 0; k < K; k++) z[row + k] = w[i] * (Math.exp(z[row + k] - logSum) - (y[i] === k ? 1 : 0));
    }
    let penalty = 0;
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < p; j++) {
        const col = cols[j];
        let s = 0;
        for (let i = 0; i < n; i++) s += z[i * K + k] * col[i];
        const c = theta[k * p + j];
        grad[k * p + j] = s + this.alpha * c;
        penalty += c * c;
      }
      if (this.fitIntercept) {
        let s = 0;
        for (let i = 0; i < n; i++) s += z[i * K + k];
        grad[K * p + k] = s;
      }
    }
    return loss + 0.5 * this.alpha * penalty;
  }
}

export interface RidgeOptions {
  /** L2 penalty strength, as in scikit-learn (default 1). */
  alpha?: number;
  fitIntercept?: boolean;
}

export interface RidgeJSON extends EstimatorJSON {
  kind: typeof RIDGE_KIND;
  formatVersion: 1;
  nFeatures: number;
  coef: number[];
  intercept: number;
  params: { alpha: number; fitIntercept: boolean };
}

export class Ridge implements Regressor {
  readonly alpha: number;
  readonly fitIntercept: boolean;
  coef: Float64Array = new Float64Array(0);
  intercept = 0;
  private fitted = false;

  constructor(options: RidgeOptions = {}) {
    this.alpha = options.alpha ?? 1;
    this.fitIntercept = options.fitIntercept ?? true;
    if (!(this.alpha >= 0 && Number.isFinite(this.alpha))) throw new RangeError(`Ridge: alpha must be a number >= 0, got ${this.alpha}`);
  }

  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this {
    const frame = toFrame(X);
    checkFitInput('Ridge', frame, y, sampleWeight, 'values');
    const n = frame.nRows;
    const p = frame.columns.length;
    const w = Float64Array.from({ length: n }, (_, i) => (sampleWeight ? sampleWeight[i] : 1));
    const totalWeight = w.reduce((a, b) => a + b, 0);
    if (!(totalWeight > 0)) throw new RangeError('Ridge.fit: the sample weights sum to 0');
    // Centre X and y on their weighted means: the intercept then drops out of the penalised problem.
    const xMean = new Float64Array(p);
    let yMean = 0;
    if (this.fitIntercept) {
      for (let j = 0; j < p; j++) xMean[j] = weightedMean(frame.columns[j], w, totalWeight);
      yMean = weightedMean(y, w, totalWeight);
    }
    const centred = frame.columns.map((col, j) => Float64Array.from(col, (v) => v - xMean[j]));
    const gram = new Float64Array(p * p);
    const rhs = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      const cj = centred[j];
      let s = 0;
      for (let i = 0; i < n; i++) s += w[i] * cj[i] * (y[i] - yMean);
      rhs[j] = s;
      for (let k = 0; k <= j; k++) {
        const ck = centred[k];
        let g = 0;
        for (let i = 0; i < n; i++) g += w[i] * cj[i] * ck[i];
        gram[j * p + k] = g;
        gram[k * p + j] = g;
      }
      gram[j * p + j] += this.alpha;
    }
    this.coef = p === 0 ? new Float64Array(0) : solveSpd(gram, rhs, p);
    let offset = 0;
    for (let j = 0; j < p; j++) offset += xMean[j] * this.coef[j];
    this.intercept = this.fitIntercept ? yMean - offset : 0;
    this.fitted = true;
    return this;
  }

  predict(X: Matrix): Float64Array {
    if (!this.fitted) throw new Error('Ridge is not fitted: call fit() or Ridge.fromJSON() first');
    const frame = toFrame(X);
    assertWidth(frame, this.coef.length, 'Ridge');
    return linearScores(frame, [this.coef], Float64Array.of(this.intercept));
  }

  get params(): Record<string, unknown> {
    return { alpha: this.alpha, fitIntercept: this.fitIntercept };
  }

  toJSON(): RidgeJSON {
    if (!this.fitted) throw new Error('Ridge is not fitted: nothing to serialise');
    return {
      kind: RIDGE_KIND,
      formatVersion: FORMAT_VERSION,
      nFeatures: this.coef.length,
      coef: Array.from(this.coef),
      intercept: this.intercept,
      params: { alpha: this.alpha, fitIntercept: this.fitIntercept },
    };
  }

  static fromJSON(json: unknown, path = 'estimator'): Ridge {
    const o = expectObject(json, path);
    expectOneOf(o.kind, `${path}.kind`, [RIDGE_KIND]);
    expectOneOf(o.formatVersion, `${path}.formatVersion`, [FORMAT_VERSION]);
    const nFeatures = expectInteger(o.nFeatures, `${path}.nFeatures`);
    const params = expectObject(o.params, `${path}.params`);
    const model = new Ridge({
      alpha: expectFinite(params.alpha, `${path}.params.alpha`, { min: 0 }),
      fitIntercept: expectBoolean(params.fitIntercept, `${path}.params.fitIntercept`),
    });
    model.coef = expectFiniteArray(o.coef, `${path}.coef`, nFeatures);
    model.intercept = expectFinite(o.intercept, `${path}.intercept`);
    if (!model.fitIntercept && model.intercept !== 0) throw new JsonShapeError(`${path}.intercept`, 'must be 0 when params.fitIntercept is false');
    model.fitted = true;
    return model;
  }
}

/** Row-major n x K scores x . coef[k] + intercept[k]. */
function linearScores(frame: Frame, coef: Float64Array[], intercept: Float64Array): Float64Array {
  const K = coef.length;
  const n = frame.nRows;
  const z = new Float64Array(n * K);
  for (let k = 0; k < K; k++) {
    const row = coef[k];
    for (let i = 0; i < n; i++) z[i * K + k] = intercept[k];
    for (let j = 0; j < row.length; j++) {
      const c = row[j];
      const col = frame.columns[j];
      for (let i = 0; i < n; i++) z[i * K + k] += c * col[i];
    }
  }
  return z;
}

/** Replaces each row of K scores by its softmax, in place. */
export function softmaxRows(z: Float64Array, K: number): void {
  for (let row = 0; row < z.length; row += K) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (z[row + k] > max) max = z[row + k];
    let total = 0;
    for (let k = 0; k < K; k++) {
      z[row + k] = Math.exp(z[row + k] - max);
      total += z[row + k];
    }
    for (let k = 0; k < K; k++) z[row + k] /= total;
  }
}

/** The index of the largest of each row's K values (the first on ties, as numpy's argmax). */
export function argmaxRows(values: Float64Array, K: number): Int32Array {
  const out = new Int32Array(values.length / K);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (values[i * K + k] > values[i * K + best]) best = k;
    out[i] = best;
  }
  return out;
}

function weightedMean(values: ArrayLike<number>, w: Float64Array, totalWeight: number): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * values[i];
  return s / totalWeight;
}

/** Checks shapes, finiteness and labels; for classes, returns K (labels must be integers 0..K-1, each present). */
function checkFitInput(
  who: string,
  frame: Frame,
  y: ArrayLike<number>,
  sampleWeight: ArrayLike<number> | undefined,
  target: 'classes' | 'values',
): number {
  const n = frame.nRows;
  if (n === 0) throw new RangeError(`${who}.fit: no rows`);
  if (y.length !== n) throw new RangeError(`${who}.fit: X has ${n} rows but y has ${y.length} values`);
  if (sampleWeight && sampleWeight.length !== n) throw new RangeError(`${who}.fit: X has ${n} rows but sampleWeight has ${sampleWeight.length} values`);
  let nClasses = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (target === 'classes') {
      if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`${who}.fit: y[${i}] must be a class code 0, 1, 2, ..., got ${v}`);
      nClasses = Math.max(nClasses, v + 1);
    } else if (!Number.isFinite(v)) {
      throw new RangeError(`${who}.fit: y[${i}] must be a finite number, got ${v}`);
    }
    if (sampleWeight && !(sampleWeight[i] >= 0 && Number.isFinite(sampleWeight[i]))) {
      throw new RangeError(`${who}.fit: sampleWeight[${i}] must be a finite number >= 0, got ${sampleWeight[i]}`);
    }
  }
  if (target === 'classes') {
    const seen = new Uint8Array(nClasses);
    for (let i = 0; i < n; i++) seen[y[i]] = 1;
    const absent = seen.indexOf(0);
    if (absent >= 0) throw new RangeError(`${who}.fit: class ${absent} has no rows; code the classes 0..K-1 with each present`);
    if (nClasses < 2) throw new RangeError(`${who}.fit: y must contain at least two classes`);
  }
  frame.columns.forEach((col, j) => {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i])) {
        const name = frame.names?.[j] ? ` (${frame.names[j]})` : '';
        throw new RangeError(`${who}.fit: column ${j}${name}, row ${i} is ${col[i]}; impute missing values first (encoding 'linear' does)`);
      }
    }
  });
  return nClasses;
}
