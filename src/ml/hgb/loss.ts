/**
 * The half binomial loss (log loss / 2 per scikit-learn's convention, which only rescales gradients and hessians by 1):
 * loss(y, r) = log(1 + e^r) - y r, gradient = sigmoid(r) - y, hessian = sigmoid(r) (1 - sigmoid(r)), where r is the raw
 * score (log-odds). The per-row gradients are computed by a WebAssembly kernel (wasm-kernels.ts, `gradients`); the
 * functions here run over row ranges so that worker threads can share the work.
 */

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

/** Per-row loss log(1 + e^r) - y r, computed without overflow. */
function rowLoss(y: number, r: number): number {
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
