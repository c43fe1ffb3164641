/**
 * L2-regularised logistic regression with scikit-learn's objective:
 *
 *   minimise  sum_i w_i * logloss(y_i, sigmoid(x_i . coef + intercept)) + ||coef||^2 / (2C)
 *
 * (the intercept is not penalised; w_i = sample weight x class weight). Up to 128 features it is solved by Newton's
 * method with a Cholesky solve of the (p+1)x(p+1) Hessian, which converges to machine precision in a handful of steps;
 * beyond that by L-BFGS, whose steps cost O(n p) instead of O(n p^2).
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
import type { BinaryClassifier, EstimatorJSON, Frame, Matrix } from './types.js';

export type ClassWeight = 'balanced' | { 0: number; 1: number };
export type LogisticSolver = 'auto' | 'newton' | 'lbfgs';

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength, as in scikit-learn (default 1). */
  C?: number;
  /** Maximum solver iterations (default 100). */
  maxIter?: number;
  /** Convergence tolerance (default 1e-6): Newton stops when a step changes no parameter by more than tol x (1 + |it|),
   * L-BFGS when no gradient component exceeds tol x (total sample weight). */
  tol?: number;
  fitIntercept?: boolean;
  /** 'balanced' weighs class c by n / (2 n_c), like scikit-learn; or explicit weights per class. */
  classWeight?: ClassWeight;
  /** 'auto' (default): Newton up to 128 features, else L-BFGS. */
  solver?: LogisticSolver;
}

export const LOGISTIC_KIND = 'logistic_regression';
const FORMAT_VERSION = 1;
const NEWTON_MAX_FEATURES = 128;
const LBFGS_MEMORY = 10;
/** Rows per block when accumulating the Hessian: keeps the working set in cache. */
const HESSIAN_BLOCK = 2048;

/** The serialised form of a fitted LogisticRegression (see docs/MODEL_FORMAT.md). */
export interface LogisticRegressionJSON extends EstimatorJSON {
  kind: typeof LOGISTIC_KIND;
  formatVersion: 1;
  nFeatures: number;
  coef: number[];
  intercept: number;
  params: {
    C: number;
    maxIter: number;
    tol: number;
    fitIntercept: boolean;
    classWeight: ClassWeight | null;
    solver: LogisticSolver;
  };
  /** How the fit went, for the record: solver iterations and whether the tolerance was reached. */
  fit: { nIter: number; converged: boolean };
}

export class LogisticRegression implements BinaryClassifier {
  readonly C: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly fitIntercept: boolean;
  readonly classWeight: ClassWeight | undefined;
  readonly solver: LogisticSolver;

  /** Fitted coefficients, one per feature (empty until fitted). */
  coef: Float64Array = new Float64Array(0);
  intercept = 0;
  nIter = 0;
  converged = false;
  private fitted = false;

  constructor(options: LogisticRegressionOptions = {}) {
    this.C = options.C ?? 1;
    this.maxIter = options.maxIter ?? 100;
    this.tol = options.tol ?? 1e-6;
    this.fitIntercept = options.fitIntercept ?? true;
    this.classWeight = options.classWeight;
    this.solver = options.solver ?? 'auto';
    if (!(this.C > 0 && Number.isFinite(this.C))) throw new RangeError(`LogisticRegression: C must be a positive number, got ${this.C}`);
    if (!(Number.isInteger(this.maxIter) && this.maxIter >= 1)) throw new RangeError(`LogisticRegression: maxIter must be a positive integer, got ${this.maxIter}`);
    if (!(this.tol > 0)) throw new RangeError(`LogisticRegression: tol must be positive, got ${this.tol}`);
    if (!['auto', 'newton', 'lbfgs'].includes(this.solver)) throw new RangeError(`LogisticRegression: unknown solver ${String(this.solver)}`);
    const cw = this.classWeight;
    if (cw !== undefined && cw !== 'balanced' && !(isNonNegative(cw?.[0]) && isNonNegative(cw?.[1]))) {
      throw new RangeError("LogisticRegression: classWeight must be 'balanced' or { 0: weight, 1: weight } with weights >= 0");
    }
  }

  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this {
    const frame = toFrame(X);
    const n = frame.nRows;
    const p = frame.columns.length;
    checkFitInput(frame, y, sampleWeight);
    const w = this.rowWeights(y, sampleWeight, n);
    const problem = new LogisticProblem(frame, y, w, 1 / this.C, this.fitIntercept);
    const useNewton = this.solver === 'newton' || (this.solver === 'auto' && p <= NEWTON_MAX_FEATURES);
    const result = useNewton ? newton(problem, this.maxIter, this.tol) : lbfgs(problem, this.maxIter, this.tol);
    this.coef = result.theta.slice(0, p);
    this.intercept = this.fitIntercept ? result.theta[p] : 0;
    this.nIter = result.nIter;
    this.converged = result.converged;
    this.fitted = true;
    return this;
  }

  /** The linear score x . coef + intercept (log-odds of class 1). */
  decisionFunction(X: Matrix): Float64Array {
    if (!this.fitted) throw new Error('LogisticRegression is not fitted: call fit() or LogisticRegression.fromJSON() first');
    const frame = toFrame(X);
    assertWidth(frame, this.coef.length, 'LogisticRegression');
    const z = new Float64Array(frame.nRows).fill(this.intercept);
    for (let j = 0; j < this.coef.length; j++) {
      const c = this.coef[j];
      const col = frame.columns[j];
      for (let i = 0; i < z.length; i++) z[i] += c * col[i];
    }
    return z;
  }

  predictProba(X: Matrix): Float64Array {
    const z = this.decisionFunction(X);
    for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]);
    return z;
  }

  predict(X: Matrix, threshold = 0.5): Uint8Array {
    const proba = this.predictProba(X);
    const out = new Uint8Array(proba.length);
    for (let i = 0; i < proba.length; i++) out[i] = proba[i] >= threshold ? 1 : 0;
    return out;
  }

  toJSON(): LogisticRegressionJSON {
    if (!this.fitted) throw new Error('LogisticRegression is not fitted: nothing to serialise');
    return {
      kind: LOGISTIC_KIND,
      formatVersion: FORMAT_VERSION,
      nFeatures: this.coef.length,
      coef: Array.from(this.coef),
      intercept: this.intercept,
      params: {
        C: this.C,
        maxIter: this.maxIter,
        tol: this.tol,
        fitIntercept: this.fitIntercept,
        classWeight: this.classWeight ?? null,
        solver: this.solver,
      },
      fit: { nIter: this.nIter, converged: this.converged },
    };
  }

  /** Rebuilds a fitted model from `toJSON()` output; every field is checked, errors name it under `path`. */
  static fromJSON(json: unknown, path = 'estimator'): LogisticRegression {
    const o = expectObject(json, path);
    expectOneOf(o.kind, `${path}.kind`, [LOGISTIC_KIND]);
    expectOneOf(o.formatVersion, `${path}.formatVersion`, [FORMAT_VERSION]);
    const nFeatures = expectInteger(o.nFeatures, `${path}.nFeatures`);
    const coef = expectFiniteArray(o.coef, `${path}.coef`, nFeatures);
    const intercept = expectFinite(o.intercept, `${path}.intercept`);
    const params = expectObject(o.params, `${path}.params`);
    const classWeight = parseClassWeight(params.classWeight, `${path}.params.classWeight`);
    const model = new LogisticRegression({
      C: expectFinite(params.C, `${path}.params.C`, { min: Number.MIN_VALUE }),
      maxIter: expectInteger(params.maxIter, `${path}.params.maxIter`, 1),
      tol: expectFinite(params.tol, `${path}.params.tol`, { min: Number.MIN_VALUE }),
      fitIntercept: expectBoolean(params.fitIntercept, `${path}.params.fitIntercept`),
      classWeight,
      solver: expectOneOf(params.solver, `${path}.params.solver`, ['auto', 'newton', 'lbfgs'] as const),
    });
    const fit = expectObject(o.fit, `${path}.fit`);
    model.nIter = expectInteger(fit.nIter, `${path}.fit.nIter`);
    model.converged = expectBoolean(fit.converged, `${path}.fit.converged`);
    if (!model.fitIntercept && intercept !== 0) throw new JsonShapeError(`${path}.intercept`, 'must be 0 when params.fitIntercept is false');
    model.coef = coef;
    model.intercept = intercept;
    model.fitted = true;
    return model;
  }

  /** Sample weight x class weight per row. */
  private rowWeights(y: ArrayLike<number>, sampleWeight: ArrayLike<number> | undefined, n: number): Float64Array {
    let w0 = 1;
    let w1 = 1;
    if (this.classWeight === 'balanced') {
      // Like scikit-learn, from label counts (sample weights do not enter).
      let n1 = 0;
      for (let i = 0; i < n; i++) n1 += y[i];
      w0 = n / (2 * (n - n1));
      w1 = n / (2 * n1);
    } else if (this.classWeight) {
      w0 = this.classWeight[0];
      w1 = this.classWeight[1];
    }
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = (y[i] === 1 ? w1 : w0) * (sampleWeight ? sampleWeight[i] : 1);
    return w;
  }
}

function parseClassWeight(value: unknown, path: string): ClassWeight | undefined {
  if (value === null) return undefined;
  if (value === 'balanced') return 'balanced';
  const o = expectObject(value, path);
  return { 0: expectFinite(o['0'], `${path}.0`, { min: 0 }), 1: expectFinite(o['1'], `${path}.1`, { min: 0 }) };
}

function isNonNegative(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function checkFitInput(frame: Frame, y: ArrayLike<number>, sampleWeight: ArrayLike<number> | undefined): void {
  const n = frame.nRows;
  if (y.length !== n) throw new RangeError(`LogisticRegression.fit: X has ${n} rows but y has ${y.length} labels`);
  if (sampleWeight && sampleWeight.length !== n) {
    throw new RangeError(`LogisticRegression.fit: X has ${n} rows but sampleWeight has ${sampleWeight.length} values`);
  }
  const seen = [false, false];
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`LogisticRegression.fit: y[${i}] must be 0 or 1, got ${y[i]}`);
    if (sampleWeight && !(sampleWeight[i] >= 0 && Number.isFinite(sampleWeight[i]))) {
      throw new RangeError(`LogisticRegression.fit: sampleWeight[${i}] must be a finite number >= 0, got ${sampleWeight[i]}`);
    }
    seen[y[i]] = true;
  }
  if (!seen[0] || !seen[1]) throw new RangeError('LogisticRegression.fit: y must contain both classes 0 and 1');
  frame.columns.forEach((col, j) => {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i])) {
        const name = frame.names?.[j] ? ` (${frame.names[j]})` : '';
        throw new RangeError(
          `LogisticRegression.fit: column ${j}${name}, row ${i} is ${col[i]}; impute missing values first (TabularPreprocessor with encoding 'linear' does)`,
        );
      }
    }
  });
}

/** P(y = 1) without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(z)) without overflow. */
export function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * The penalised objective over theta = [coef..., intercept?]: value, gradient and Hessian. Buffers are reused between
 * evaluations; data stays column-major so every inner loop runs over one contiguous column.
 */
class LogisticProblem {
  readonly n: number;
  readonly p: number;
  /** Number of parameters: p, plus 1 for the intercept. */
  readonly dim: number;
  readonly totalWeight: number;
  private readonly z: Float64Array;
  private readonly r: Float64Array;
  private readonly d: Float64Array;

  constructor(
    private readonly X: Frame,
    private readonly y: ArrayLike<number>,
    private readonly w: Float64Array,
    private readonly alpha: number,
    private readonly fitIntercept: boolean,
  ) {
    this.n = X.nRows;
    this.p = X.columns.length;
    this.dim = this.p + (fitIntercept ? 1 : 0);
    this.z = new Float64Array(this.n);
    this.r = new Float64Array(this.n);
    this.d = new Float64Array(this.n);
    let total = 0;
    for (let i = 0; i < this.n; i++) total += w[i];
    this.totalWeight = total;
  }

  private scores(theta: Float64Array): Float64Array {
    const { z, p } = this;
    z.fill(this.fitIntercept ? theta[p] : 0);
    for (let j = 0; j < p; j++) {
      const c = theta[j];
      if (c === 0) continue;
      const col = this.X.columns[j];
      for (let i = 0; i < z.length; i++) z[i] += c * col[i];
    }
    return z;
  }

  /** Root mean square of each column (1 for constant-zero columns and the intercept): L-BFGS's preconditioner. */
  columnScales(): Float64Array {
    const scale = new Float64Array(this.dim).fill(1);
    for (let j = 0; j < this.p; j++) {
      const rms = Math.sqrt(dot(this.X.columns[j], this.X.columns[j]) / Math.max(this.n, 1));
      if (rms > 0 && Number.isFinite(rms)) scale[j] = rms;
    }
    return scale;
  }

  private penalty(theta: Float64Array): number {
    let s = 0;
    for (let j = 0; j < this.p; j++) s += theta[j] * theta[j];
    return (0.5 * this.alpha) * s;
  }

  value(theta: Float64Array): number {
    const z = this.scores(theta);
    const { y, w } = this;
    let loss = 0;
    for (let i = 0; i < z.length; i++) if (w[i] !== 0) loss += w[i] * (log1pExp(z[i]) - y[i] * z[i]);
    return loss + this.penalty(theta);
  }

  /** Objective value; fills `grad`; with `withCurvature`, keeps the per-row curvature for `hessian()`. */
  valueAndGradient(theta: Float64Array, grad: Float64Array, withCurvature = false): number {
    const z = this.scores(theta);
    const { y, w, r, d, p } = this;
    let loss = 0;
    for (let i = 0; i < z.length; i++) {
      const zi = z[i];
      const s = sigmoid(zi);
      loss += w[i] === 0 ? 0 : w[i] * (log1pExp(zi) - y[i] * zi);
      r[i] = w[i] * (s - y[i]);
      if (withCurvature) d[i] = w[i] * s * (1 - s);
    }
    for (let j = 0; j < p; j++) grad[j] = dot(r, this.X.columns[j]) + this.alpha * theta[j];
    if (this.fitIntercept) grad[p] = sum(r);
    return loss + this.penalty(theta);
  }

  /**
   * The Hessian (row-major dim x dim) at the theta of the last `valueAndGradient(..., true)` call. Rows are taken in
   * cache-sized blocks and four columns at a time, which makes this O(n p^2) step several times faster.
   */
  hessian(H: Float64Array): void {
    const { d, p, dim, n } = this;
    const cols = this.X.columns;
    H.fill(0);
    const scaled = new Float64Array(HESSIAN_BLOCK);
    for (let start = 0; start < n; start += HESSIAN_BLOCK) {
      const end = Math.min(n, start + HESSIAN_BLOCK);
      for (let j = 0; j < p; j++) {
        const cj = cols[j];
        let sumScaled = 0;
        for (let i = start; i < end; i++) {
          const v = d[i] * cj[i];
          scaled[i - start] = v;
          sumScaled += v;
        }
        const row = j * dim;
        let k = 0;
        for (; k + 3 <= j; k += 4) {
          const c0 = cols[k];
          const c1 = cols[k + 1];
          const c2 = cols[k + 2];
          const c3 = cols[k + 3];
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let i = start; i < end; i++) {
            const v = scaled[i - start];
            s0 += v * c0[i];
            s1 += v * c1[i];
            s2 += v * c2[i];
            s3 += v * c3[i];
          }
          H[row + k] += s0;
          H[row + k + 1] += s1;
          H[row + k + 2] += s2;
          H[row + k + 3] += s3;
        }
        for (; k <= j; k++) {
          const ck = cols[k];
          let s0 = 0;
          for (let i = start; i < end; i++) s0 += scaled[i - start] * ck[i];
          H[row + k] += s0;
        }
        if (this.fitIntercept) H[row + p] += sumScaled;
      }
    }
    for (let j = 0; j < p; j++) {
      H[j * dim + j] += this.alpha;
      for (let k = 0; k < j; k++) H[k * dim + j] = H[j * dim + k];
      if (this.fitIntercept) H[p * dim + j] = H[j * dim + p];
    }
    if (this.fitIntercept) H[p * dim + p] = sum(d);
  }
}

/** A smooth convex objective over `dim` parameters, as L-BFGS needs it. */
export interface SmoothObjective {
  readonly dim: number;
  /** Sum of the sample weights: the gradient tolerance is relative to it. */
  readonly totalWeight: number;
  /** A typical magnitude per parameter (1 where none applies): the preconditioner. */
  columnScales(): Float64Array;
  /** Objective value; fills `grad`. */
  valueAndGradient(theta: Float64Array, grad: Float64Array): number;
}

export interface SolverResult {
  theta: Float64Array;
  nIter: number;
  converged: boolean;
}

/**
 * Damped Newton: solve H step = -g by Cholesky, then backtrack until the objective decreases enough (Armijo). Stops
 * once a full step changes no parameter by more than tol x (1 + |parameter|): convergence is quadratic, so the
 * parameters are then exact to about tol^2.
 */
function newton(problem: LogisticProblem, maxIter: number, tol: number): SolverResult {
  const dim = problem.dim;
  const theta = new Float64Array(dim);
  const grad = new Float64Array(dim);
  const H = new Float64Array(dim * dim);
  const trial = new Float64Array(dim);
  for (let iter = 0; iter < maxIter; iter++) {
    const f = problem.valueAndGradient(theta, grad, true);
    problem.hessian(H);
    const step = solveSpd(H, grad, dim);
    let slope = 0;
    let tiny = true;
    for (let j = 0; j < dim; j++) {
      step[j] = -step[j];
      slope += step[j] * grad[j];
      if (Math.abs(step[j]) > tol * (1 + Math.abs(theta[j]))) tiny = false;
    }
    if (tiny) {
      for (let j = 0; j < dim; j++) theta[j] += step[j];
      return { theta, nIter: iter + 1, converged: true };
    }
    let t = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 40; halvings++, t /= 2) {
      for (let j = 0; j < dim; j++) trial[j] = theta[j] + t * step[j];
      if (problem.value(trial) <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
    }
    // No decrease possible: rounding error dominates before the tolerance was reached.
    if (!accepted) return { theta, nIter: iter + 1, converged: false };
    theta.set(trial);
  }
  return { theta, nIter: maxIter, converged: false };
}

/**
 * Solves A x = b for a symmetric positive definite A (row-major, dim x dim). A is first scaled to unit diagonal so
 * features on very different scales (money next to ratios) do not ruin the factorisation; if it is still not
 * numerically positive definite, a growing ridge is added.
 */
export function solveSpd(A: Float64Array, b: Float64Array, dim: number): Float64Array {
  const scale = new Float64Array(dim);
  for (let j = 0; j < dim; j++) scale[j] = A[j * dim + j] > 0 ? 1 / Math.sqrt(A[j * dim + j]) : 1;
  const L = new Float64Array(dim * dim);
  for (let ridge = 0; ; ridge = ridge === 0 ? 1e-12 : ridge * 100) {
    if (ridge > 1) throw new Error('LogisticRegression: the Hessian is not positive definite; check the input for extreme values');
    if (cholesky(A, scale, ridge, L, dim)) break;
  }
  // Forward and back substitution on the scaled system, then undo the scaling.
  const x = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    let s = b[i] * scale[i];
    for (let k = 0; k < i; k++) s -= L[i * dim + k] * x[k];
    x[i] = s / L[i * dim + i];
  }
  for (let i = dim - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < dim; k++) s -= L[k * dim + i] * x[k];
    x[i] = s / L[i * dim + i];
  }
  for (let i = 0; i < dim; i++) x[i] *= scale[i];
  return x;
}

/** Cholesky factor of D A D + ridge I into L (lower, row-major); false when not positive definite. */
function cholesky(A: Float64Array, scale: Float64Array, ridge: number, L: Float64Array, dim: number): boolean {
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * dim + j] * scale[i] * scale[j] + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= L[i * dim + k] * L[j * dim + k];
      if (i === j) {
        if (!(s > 1e-14)) return false;
        L[i * dim + i] = Math.sqrt(s);
      } else {
        L[i * dim + j] = s / L[j * dim + j];
      }
    }
  }
  return true;
}

/**
 * Limited-memory BFGS with a backtracking (Armijo) line search, for many features. It runs on parameters multiplied
 * by each column's root mean square, so that unscaled columns (money next to ratios) do not stall it.
 */
export function lbfgs(problem: SmoothObjective, maxIter: number, tol: number): SolverResult {
  const dim = problem.dim;
  const scale = problem.columnScales();
  // u = theta * scale is what L-BFGS sees; the gradient with respect to u is grad / scale.
  const toTheta = (u: Float64Array, theta: Float64Array) => {
    for (let j = 0; j < dim; j++) theta[j] = u[j] / scale[j];
  };
  const evaluate = (u: Float64Array, gradU: Float64Array, theta: Float64Array): number => {
    toTheta(u, theta);
    const f = problem.valueAndGradient(theta, gradU);
    for (let j = 0; j < dim; j++) gradU[j] /= scale[j];
    return f;
  };
  const u = new Float64Array(dim);
  const grad = new Float64Array(dim);
  const theta = new Float64Array(dim);
  const nextU = new Float64Array(dim);
  const nextGrad = new Float64Array(dim);
  const converged = () => {
    // The stopping rule is on the gradient in the original parameters.
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(grad[j] * scale[j]));
    return max <= tol * Math.max(problem.totalWeight, 1);
  };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let f = evaluate(u, grad, theta);
  for (let iter = 0; iter < maxIter; iter++) {
    if (converged()) return { theta: finalTheta(u), nIter: iter, converged: true };
    const direction = twoLoopDirection(grad, S, Y, rho);
    let slope = dot(direction, grad);
    if (!(slope < 0)) {
      // The curvature history went stale: restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let j = 0; j < dim; j++) direction[j] = -grad[j];
      slope = dot(direction, grad);
    }
    // The very first step has no curvature information: keep it short.
    let t = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNext = Infinity;
    for (let halvings = 0; halvings < 50; halvings++, t /= 2) {
      for (let j = 0; j < dim; j++) nextU[j] = u[j] + t * direction[j];
      fNext = evaluate(nextU, nextGrad, theta);
      if (fNext <= f + 1e-4 * t * slope) break;
    }
    if (!(fNext < f)) return { theta: finalTheta(u), nIter: iter + 1, converged: false };
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      s[j] = nextU[j] - u[j];
      yv[j] = nextGrad[j] - grad[j];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === LBFGS_MEMORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    u.set(nextU);
    grad.set(nextGrad);
    f = fNext;
  }
  return { theta: finalTheta(u), nIter: maxIter, converged: converged() };

  function finalTheta(at: Float64Array): Float64Array {
    const out = new Float64Array(dim);
    toTheta(at, out);
    return out;
  }
}

function twoLoopDirection(grad: Float64Array, S: Float64Array[], Y: Float64Array[], rho: number[]): Float64Array {
  const q = Float64Array.from(grad);
  const a = new Float64Array(S.length);
  for (let k = S.length - 1; k >= 0; k--) {
    a[k] = rho[k] * dot(S[k], q);
    axpy(-a[k], Y[k], q);
  }
  if (S.length > 0) {
    const last = S.length - 1;
    const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
    for (let j = 0; j < q.length; j++) q[j] *= gamma;
  }
  for (let k = 0; k < S.length; k++) {
    const b = rho[k] * dot(Y[k], q);
    axpy(a[k] - b, S[k], q);
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j];
  return q;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}
