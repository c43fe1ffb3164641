/**
 * The losses of gradient boosting, with scikit-learn's conventions (its _loss module): the "half" losses, whose
 * gradients and hessians are those of scikit-learn, computed in float64 and stored as float32 pairs.
 * - binary log loss (half binomial): loss(y, r) = log(1 + e^r) - y r, gradient sigmoid(r) - y, hessian
 *   sigmoid(r) (1 - sigmoid(r)); r is the log-odds. Its per-row gradients run in a WebAssembly kernel
 *   (wasm-kernels.ts, `gradients`); the others run here.
 * - multinomial log loss (half multinomial, K >= 3 classes, one raw score per class): loss = log(sum_k e^{r_k}) -
 *   r_y, gradient p_k - [y = k], hessian p_k (1 - p_k), with p the softmax of the row's raw scores.
 * - squared error (half): (r - y)^2 / 2, gradient r - y, hessian 1.
 * - absolute error: |r - y|, gradient sign(r - y) (-1 on a tie), hessian 1; after a tree is grown each leaf takes the
 *   (weighted) median of its rows' residuals y - r instead of its Newton step.
 * - Poisson (half, log link): e^r - y r, gradient e^r - y, hessian e^r.
 * With sample weights, gradients and hessians are multiplied by the row's weight. The functions run over row ranges so
 * that worker threads can share the work.
 */

export const LOSS = {
  BINARY: 0,
  MULTINOMIAL: 1,
  SQUARED_ERROR: 2,
  ABSOLUTE_ERROR: 3,
  POISSON: 4,
} as const;
export type LossCode = (typeof LOSS)[keyof typeof LOSS];

/** The regression losses by their scikit-learn names. */
export type RegressionLoss = 'squared_error' | 'absolute_error' | 'poisson';
export const REGRESSION_LOSSES: Record<RegressionLoss, LossCode> = {
  squared_error: LOSS.SQUARED_ERROR,
  absolute_error: LOSS.ABSOLUTE_ERROR,
  poisson: LOSS.POISSON,
};

/** Which leaf of the current tree each row fell in: one byte per row when a tree has at most 256 leaves. */
export type LeafIndex = Uint8Array | Uint32Array;

/**
 * Records the leaf of the rows at partition positions [p0, p1): `leaves` holds (start, count, value) triples of
 * partition ranges covering all rows. Scattering one byte per row is cheaper than scattering the 8-byte score updates;
 * updateScores then walks the rows in order.
 */
export function markLeaves(partition: Uint32Array, leaves: Float64Array, nLeaves: number, p0: number, p1: number, leafOf: LeafIndex): void {
  for (let l = 0; l < nLeaves; l++) {
    const from = Math.max(leaves[3 * l], p0);
    const to = Math.min(leaves[3 * l] + leaves[3 * l + 1], p1);
    for (let i = from; i < to; i++) leafOf[partition[i]] = l;
  }
}

/** Adds each row's leaf value (markLeaves) to its raw score, rows [r0, r1). */
export function addLeafValues(leafOf: LeafIndex, leaves: Float64Array, raw: Float64Array, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) raw[r] += leaves[3 * leafOf[r] + 2];
}

/**
 * Gradients and hessians of rows [r0, r1) for the losses other than the binary one, into gh: output k's float32 pairs
 * start at gh[2 * k * stride], its raw scores at raw[k * stride].
 */
export function lossGradients(
  loss: LossCode,
  nOutputs: number,
  stride: number,
  y: Float64Array,
  raw: Float64Array,
  weight: Float64Array | null,
  gh: Float32Array,
  r0: number,
  r1: number,
): void {
  switch (loss) {
    case LOSS.MULTINOMIAL: {
      const p = new Float64Array(nOutputs);
      for (let i = r0; i < r1; i++) {
        let max = raw[i];
        for (let k = 1; k < nOutputs; k++) if (max < raw[k * stride + i]) max = raw[k * stride + i];
        let sum = 0;
        for (let k = 0; k < nOutputs; k++) {
          p[k] = Math.exp(raw[k * stride + i] - max);
          sum += p[k];
        }
        const label = y[i];
        const w = weight === null ? 1 : weight[i];
        for (let k = 0; k < nOutputs; k++) {
          const pk = p[k] / sum;
          const at = 2 * (k * stride + i);
          if (weight === null) {
            gh[at] = pk - (label === k ? 1 : 0);
            gh[at + 1] = pk * (1 - pk);
          } else {
            gh[at] = (pk - (label === k ? 1 : 0)) * w;
            gh[at + 1] = pk * (1 - pk) * w;
          }
        }
      }
      return;
    }
    case LOSS.SQUARED_ERROR:
      for (let i = r0; i < r1; i++) {
        if (weight === null) {
          gh[2 * i] = raw[i] - y[i];
          gh[2 * i + 1] = 1;
        } else {
          gh[2 * i] = weight[i] * (raw[i] - y[i]);
          gh[2 * i + 1] = weight[i];
        }
      }
      return;
    case LOSS.ABSOLUTE_ERROR:
      for (let i = r0; i < r1; i++) {
        const sign = raw[i] > y[i] ? 1 : -1;
        if (weight === null) {
          gh[2 * i] = sign;
          gh[2 * i + 1] = 1;
        } else {
          gh[2 * i] = weight[i] * sign;
          gh[2 * i + 1] = weight[i];
        }
      }
      return;
    case LOSS.POISSON:
      for (let i = r0; i < r1; i++) {
        const e = Math.exp(raw[i]);
        if (weight === null) {
          gh[2 * i] = e - y[i];
          gh[2 * i + 1] = e;
        } else {
          gh[2 * i] = weight[i] * (e - y[i]);
          gh[2 * i + 1] = weight[i] * e;
        }
      }
      return;
    default:
      throw new Error(`internal: loss ${loss} has no JavaScript gradients`);
  }
}

/** Per-row loss log(1 + e^r) - y r, computed without overflow. */
function binaryRowLoss(y: number, r: number): number {
  if (r <= 0) return Math.log1p(Math.exp(r)) - y * r;
  return Math.log1p(Math.exp(-r)) + (1 - y) * r;
}

/** One row's loss; raw scores of output k at raw[k * stride + i]. */
function rowLoss(loss: LossCode, nOutputs: number, stride: number, y: number, raw: Float64Array, i: number): number {
  switch (loss) {
    case LOSS.BINARY:
      return binaryRowLoss(y, raw[i]);
    case LOSS.MULTINOMIAL: {
      let max = raw[i];
      for (let k = 1; k < nOutputs; k++) if (max < raw[k * stride + i]) max = raw[k * stride + i];
      let sum = 0;
      for (let k = 0; k < nOutputs; k++) sum += Math.exp(raw[k * stride + i] - max);
      return Math.log(sum) + max - raw[y * stride + i];
    }
    case LOSS.SQUARED_ERROR: {
      const d = raw[i] - y;
      return 0.5 * d * d;
    }
    case LOSS.ABSOLUTE_ERROR:
      return Math.abs(raw[i] - y);
    case LOSS.POISSON:
      return Math.exp(raw[i]) - y * raw[i];
    default:
      throw new Error(`internal: unknown loss ${loss}`);
  }
}

/** Weighted mean loss of rows [0, y.length); raw scores of output k at raw[k * stride ..]. */
export function meanLoss(loss: LossCode, nOutputs: number, stride: number, y: Float64Array, raw: Float64Array, weight: Float64Array | null): number {
  let total = 0;
  let totalWeight = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weight === null ? 1 : weight[i];
    total += w * rowLoss(loss, nOutputs, stride, y[i], raw, i);
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

/**
 * The raw scores every row starts from (scikit-learn's fit_intercept_only), one per output: log-odds of the positive
 * rate (binary); per class log(p_k) minus the mean of the log(p_j), p clipped to [eps, 1 - eps] (multinomial, the
 * symmetric logit); the weighted mean (squared error); the median, or the weighted median (absolute error); the log of
 * the weighted mean, clipped below at 10 eps (Poisson). Means are summed like numpy's (pairwise), so that the baseline
 * is scikit-learn's to the last bit.
 */
export function baselineOf(loss: LossCode, nOutputs: number, y: Float64Array, weight: Float64Array | null): Float64Array {
  switch (loss) {
    case LOSS.BINARY:
      return Float64Array.of(baselineLogOdds(y, weight));
    case LOSS.MULTINOMIAL: {
      const eps = Number.EPSILON;
      const p = new Float64Array(nOutputs);
      for (let k = 0; k < nOutputs; k++) {
        const isK = Float64Array.from(y, (v) => (v === k ? 1 : 0));
        p[k] = Math.min(Math.max(average(isK, weight), eps), 1 - eps);
      }
      // log(p_k / gmean(p)) with gmean(p) = exp(mean(log p)), as scipy computes it.
      const gmean = Math.exp(pairwiseSum(p.map(Math.log), 0, nOutputs) / nOutputs);
      return p.map((pk) => Math.log(pk / gmean));
    }
    case LOSS.SQUARED_ERROR:
      return Float64Array.of(average(y, weight));
    case LOSS.ABSOLUTE_ERROR:
      return Float64Array.of(weight === null ? median(y.slice()) : weightedMedian(y, weight));
    case LOSS.POISSON:
      return Float64Array.of(Math.log(Math.max(average(y, weight), 10 * Number.EPSILON)));
    default:
      throw new Error(`internal: unknown loss ${loss}`);
  }
}

/** numpy's average(values, weights): pairwise sums. */
function average(values: Float64Array, weight: Float64Array | null): number {
  if (weight === null) return pairwiseSum(values, 0, values.length) / values.length;
  const products = values.map((v, i) => v * weight[i]);
  return pairwiseSum(products, 0, products.length) / pairwiseSum(weight, 0, weight.length);
}

/** numpy's sum of a contiguous float64 array: pairwise, in blocks of up to 128 summed with 8 accumulators. */
export function pairwiseSum(a: Float64Array, from: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[from + i];
    return s;
  }
  if (n <= 128) {
    const r = a.slice(from, from + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[from + i + j];
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += a[from + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, from, half) + pairwiseSum(a, from + half, n - half);
}

/** numpy's median: the middle value, or the mean of the two middle values (sorts `values` in place). */
export function median(values: Float64Array): number {
  values.sort();
  const n = values.length;
  const mid = n >> 1;
  return n % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/** scikit-learn's _weighted_percentile(values, weight, 50): the first value, in sorted order, at which the running
 * sum of weights reaches half of the total. */
export function weightedMedian(values: Float64Array, weight: Float64Array): number {
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b]);
  let total = 0;
  const cdf = new Float64Array(order.length);
  order.forEach((row, i) => {
    total += weight[row];
    cdf[i] = total;
  });
  let target = 0.5 * total;
  if (target === 0) target = Number.MIN_VALUE;
  let i = 0;
  while (i < cdf.length - 1 && cdf[i] < target) i++;
  return values[order[i]];
}
