/**
 * DeLong's test for two correlated ROC curves: two models scored on the same rows (DeLong, DeLong & Clarke-Pearson,
 * 1988). The AUC difference is divided by its standard error from the structural components (each positive's and each
 * negative's placement among the other class) of both models, so the test accounts for the rows being shared.
 */

export interface RocComparison {
  auc1: number;
  auc2: number;
  /** auc2 - auc1. */
  difference: number;
  standardError: number;
  /** difference / standardError (0 when both curves are identical). */
  z: number;
  /** Two-sided p-value of "the two AUCs are equal". */
  pValue: number;
  /** The 95% confidence interval of the difference. */
  lower: number;
  upper: number;
}

export function compareRocAuc(y: ArrayLike<number>, p1: ArrayLike<number>, p2: ArrayLike<number>): RocComparison {
  if (p1.length !== y.length || p2.length !== y.length) {
    throw new RangeError(`compareRocAuc: ${y.length} labels but ${p1.length} and ${p2.length} scores`);
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) positives.push(i);
    else if (y[i] === 0) negatives.push(i);
    else throw new RangeError(`compareRocAuc: y[${i}] must be 0 or 1, got ${y[i]}`);
  }
  const m = positives.length;
  const n = negatives.length;
  if (m < 2 || n < 2) throw new RangeError(`compareRocAuc needs at least 2 positives and 2 negatives, got ${m} and ${n}`);
  const a = components(p1, positives, negatives);
  const b = components(p2, positives, negatives);
  const auc1 = mean(a.v10);
  const auc2 = mean(b.v10);
  // Var(auc2 - auc1) = Var1 + Var2 - 2 Cov, each from the positives' (V10) and the negatives' (V01) components.
  const variance =
    (covariance(a.v10, a.v10) + covariance(b.v10, b.v10) - 2 * covariance(a.v10, b.v10)) / m +
    (covariance(a.v01, a.v01) + covariance(b.v01, b.v01) - 2 * covariance(a.v01, b.v01)) / n;
  const standardError = Math.sqrt(Math.max(variance, 0));
  const difference = auc2 - auc1;
  const z = standardError > 0 ? difference / standardError : 0;
  const pValue = standardError > 0 ? Math.min(1, 2 * normalUpperTail(Math.abs(z))) : difference === 0 ? 1 : 0;
  const half = 1.959963984540054 * standardError;
  return { auc1, auc2, difference, standardError, z, pValue, lower: difference - half, upper: difference + half };
}

/** Each positive's share of negatives scored below it (ties count half), and each negative's share of positives above. */
function components(p: ArrayLike<number>, positives: number[], negatives: number[]): { v10: Float64Array; v01: Float64Array } {
  const pos = Float64Array.from(positives, (i) => p[i]);
  const neg = Float64Array.from(negatives, (i) => p[i]);
  for (const v of [...pos, ...neg]) if (!Number.isFinite(v)) throw new RangeError(`compareRocAuc: scores must be finite, got ${v}`);
  const sortedPos = pos.slice().sort();
  const sortedNeg = neg.slice().sort();
  const v10 = pos.map((v) => (countBelow(sortedNeg, v) + countEqual(sortedNeg, v) / 2) / neg.length);
  const v01 = neg.map((v) => (pos.length - countBelow(sortedPos, v) - countEqual(sortedPos, v) / 2) / pos.length);
  return { v10, v01 };
}

/** How many values of the ascending array are below v (binary search). */
function countBelow(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countEqual(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo - countBelow(sorted, v);
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample covariance (n - 1). */
function covariance(x: Float64Array, y: Float64Array): number {
  const mx = mean(x);
  const my = mean(y);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - mx) * (y[i] - my);
  return s / (x.length - 1);
}

/**
 * P(Z > z) for a standard normal Z, through the complementary error function (Numerical Recipes' Chebyshev fit,
 * relative error below 1.2e-7): ample for a p-value.
 */
export function normalUpperTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const r =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
