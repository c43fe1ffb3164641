/**
 * Bin counts over all rows: the root's histogram counts, the same for every tree, so computed once per fit (the
 * kernels, in wasm-kernels.ts, then only add gradients and hessians at the root). Binned data is column-major uint8.
 */
/** Rows per bin of each feature over all rows: counts[f * nBins + b]. */
export function countBins(X: Uint8Array, nRows: number, nFeatures: number, nBins: number): Float64Array {
  const counts = new Float64Array(nFeatures * nBins);
  const perFeature = new Uint32Array(nBins);
  for (let f = 0; f < nFeatures; f++) {
    perFeature.fill(0);
    const column = X.subarray(f * nRows, (f + 1) * nRows);
    for (let i = 0; i < nRows; i++) perFeature[column[i]]++;
    counts.set(perFeature, f * nBins);
  }
  return counts;
}
