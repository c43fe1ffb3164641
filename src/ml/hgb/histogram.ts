/**
 * Histogram kernels, shared by the main thread and the worker threads. A node's histogram is one Float64Array of
 * nFeatures * nBins * 3 numbers: for feature f and bin b, at (f * nBins + b) * 3, the sums of gradients and hessians and
 * the row count. Binned data is column-major uint8 (feature f of row i at f * nRows + i). Each feature's histogram is
 * always filled by one thread, rows in partition order, so the sums do not depend on the number of threads.
 *
 * The loops take two features and two rows per step: four independent read-modify-write chains let the CPU overlap
 * them (about twice as fast as the plain loop in V8).
 */

/** Fills the histograms of features [f0, f1) over all rows (the root node). */
export function buildRootHistograms(
  X: Uint8Array,
  nRows: number,
  g: Float32Array,
  h: Float32Array,
  hist: Float64Array,
  nBins: number,
  f0: number,
  f1: number,
): void {
  const stride = nBins * 3;
  hist.fill(0, f0 * stride, f1 * stride);
  let f = f0;
  for (; f + 1 < f1; f += 2) {
    const x0 = f * nRows;
    const x1 = x0 + nRows;
    const o0 = f * stride;
    const o1 = o0 + stride;
    let i = 0;
    for (; i + 1 < nRows; i += 2) {
      const ga = g[i];
      const ha = h[i];
      const gb = g[i + 1];
      const hb = h[i + 1];
      const k0 = o0 + X[x0 + i] * 3;
      const k1 = o1 + X[x1 + i] * 3;
      const k2 = o0 + X[x0 + i + 1] * 3;
      const k3 = o1 + X[x1 + i + 1] * 3;
      hist[k0] += ga;
      hist[k0 + 1] += ha;
      hist[k0 + 2] += 1;
      hist[k1] += ga;
      hist[k1 + 1] += ha;
      hist[k1 + 2] += 1;
      hist[k2] += gb;
      hist[k2 + 1] += hb;
      hist[k2 + 2] += 1;
      hist[k3] += gb;
      hist[k3 + 1] += hb;
      hist[k3 + 2] += 1;
    }
    if (i < nRows) {
      const k0 = o0 + X[x0 + i] * 3;
      const k1 = o1 + X[x1 + i] * 3;
      hist[k0] += g[i];
      hist[k0 + 1] += h[i];
      hist[k0 + 2] += 1;
      hist[k1] += g[i];
      hist[k1 + 1] += h[i];
      hist[k1 + 2] += 1;
    }
  }
  if (f < f1) {
    const x0 = f * nRows;
    const o0 = f * stride;
    for (let i = 0; i < nRows; i++) {
      const k = o0 + X[x0 + i] * 3;
      hist[k] += g[i];
      hist[k + 1] += h[i];
      hist[k + 2] += 1;
    }
  }
}

/** Copies the gradients and hessians of rows partition[start + i], i in [i0, i1), to og[i] / oh[i]. */
export function gatherGradients(
  partition: Uint32Array,
  start: number,
  g: Float32Array,
  h: Float32Array,
  og: Float32Array,
  oh: Float32Array,
  i0: number,
  i1: number,
): void {
  for (let i = i0; i < i1; i++) {
    const r = partition[start + i];
    og[i] = g[r];
    oh[i] = h[r];
  }
}

/**
 * Fills the histograms of features [f0, f1) over the `count` rows partition[start ...], whose gradients and hessians
 * were gathered (in the same order) into og / oh.
 */
export function buildHistograms(
  X: Uint8Array,
  nRows: number,
  partition: Uint32Array,
  start: number,
  count: number,
  og: Float32Array,
  oh: Float32Array,
  hist: Float64Array,
  nBins: number,
  f0: number,
  f1: number,
): void {
  const stride = nBins * 3;
  hist.fill(0, f0 * stride, f1 * stride);
  let f = f0;
  for (; f + 1 < f1; f += 2) {
    const x0 = f * nRows;
    const x1 = x0 + nRows;
    const o0 = f * stride;
    const o1 = o0 + stride;
    let i = 0;
    for (; i + 1 < count; i += 2) {
      const ra = partition[start + i];
      const rb = partition[start + i + 1];
      const ga = og[i];
      const ha = oh[i];
      const gb = og[i + 1];
      const hb = oh[i + 1];
      const k0 = o0 + X[x0 + ra] * 3;
      const k1 = o1 + X[x1 + ra] * 3;
      const k2 = o0 + X[x0 + rb] * 3;
      const k3 = o1 + X[x1 + rb] * 3;
      hist[k0] += ga;
      hist[k0 + 1] += ha;
      hist[k0 + 2] += 1;
      hist[k1] += ga;
      hist[k1 + 1] += ha;
      hist[k1 + 2] += 1;
      hist[k2] += gb;
      hist[k2 + 1] += hb;
      hist[k2 + 2] += 1;
      hist[k3] += gb;
      hist[k3 + 1] += hb;
      hist[k3 + 2] += 1;
    }
    if (i < count) {
      const ra = partition[start + i];
      const k0 = o0 + X[x0 + ra] * 3;
      const k1 = o1 + X[x1 + ra] * 3;
      hist[k0] += og[i];
      hist[k0 + 1] += oh[i];
      hist[k0 + 2] += 1;
      hist[k1] += og[i];
      hist[k1 + 1] += oh[i];
      hist[k1 + 2] += 1;
    }
  }
  if (f < f1) {
    const x0 = f * nRows;
    const o0 = f * stride;
    for (let i = 0; i < count; i++) {
      const k = o0 + X[x0 + partition[start + i]] * 3;
      hist[k] += og[i];
      hist[k + 1] += oh[i];
      hist[k + 2] += 1;
    }
  }
}

/** out = parent - child over the whole histogram (the sibling's histogram, without touching its rows). */
export function subtractHistograms(parent: Float64Array, child: Float64Array, out: Float64Array, length: number): void {
  for (let k = 0; k < length; k++) out[k] = parent[k] - child[k];
}
