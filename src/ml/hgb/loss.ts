/**
 * The half binomial loss (log loss / 2 per scikit-learn's convention, which only rescales gradients and hessians by 1):
 * loss(y, r) = log(1 + e^r) - y r, gradient = sigmoid(r) - y, hessian = sigmoid(r) (1 - sigmoid(r)), where r is the raw
 * score (log-odds). These run over row ranges so that worker threads can share the work.
 */

/** Writes weighted gradients and hessians of rows [start, end) into g and h (float32, as scikit-learn). */
export function gradientsAndHessians(
  y: Float64Array,
  raw: Float64Array,
  weight: Float64Array | null,
  g: Float32Array,
  h: Float32Array,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) {
    const r = raw[i];
    const yi = y[i];
    let grad: number;
    let hess: number;
    // exp of a non-positive number only, so nothing overflows.
    if (r > 0) {
      const e = Math.exp(-r);
      const d = 1 + e;
      grad = (1 - yi - yi * e) / d;
      hess = e / (d * d);
    } else {
      const e = Math.exp(r);
      const d = 1 + e;
      grad = ((1 - yi) * e - yi) / d;
      hess = e / (d * d);
    }
    if (weight !== null) {
      const w = weight[i];
      grad *= w;
      hess *= w;
    }
    g[i] = grad;
    h[i] = hess;
  }
}

/** Per-row loss log(1 + e^r) - y r, computed without overflow. */
export function rowLoss(y: number, r: number): number {
  if (r <= 0) return Math.log1p(Math.exp(r)) - y * r;
  return Math.log1p(Math.exp(-r)) + (1 - y) * r;
}

/** Weighted mean loss over all rows. */
export function meanLoss(y: Float64Array, raw: Float64Array, weight: Float64Array | null): number {
  let total = 0;
  let totalWeight = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weight === null ? 1 : weight[i];
    total += w * rowLoss(y[i], raw[i]);
    totalWeight += w;
  }
  return total / totalWeight;
}

/** log-odds of the weighted positive rate, clipped away from 0 and 1 like scikit-learn's fit_intercept_only. */
export function baselineLogOdds(y: Float64Array, weight: Float64Array | null): number {
  let positive = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weight === null ? 1 : weight[i];
    positive += w * y[i];
    total += w;
  }
  const eps = 10 * Number.EPSILON;
  const p = Math.min(Math.max(positive / total, eps), 1 - eps);
  return Math.log(p / (1 - p));
}

export function sigmoid(r: number): number {
  return 1 / (1 + Math.exp(-r));
}
