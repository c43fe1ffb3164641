/**
 * Feature binning, as scikit-learn's _BinMapper does it: each numeric feature is cut into at most `maxBins` bins whose
 * upper bounds are the midpoints between distinct values when there are few of them, else the "midpoint" percentiles
 * of (a subsample of 200,000) training values. Categorical features get one bin per known category (sorted). The last
 * bin, index `maxBins`, always holds missing values.
 */
import type { Rng } from '../random.js';

/** Largest threshold kept: +inf is reserved for "all non-missing values go left" splits (as in scikit-learn). */
export const ALMOST_INF = 1e300;
/** Rows used to find the quantiles (scikit-learn's default subsample). */
export const BINNING_SUBSAMPLE = 200_000;

export interface BinMapper {
  /** Bins for non-missing values; the missing-value bin is `maxBins`. */
  maxBins: number;
  isCategorical: boolean[];
  /** Numeric feature: increasing upper bounds of bins 0..k-2 (bin k-1 is open-ended). Categorical feature: the raw
   * category of each bin. */
  thresholds: Float64Array[];
  /** Bins used by non-missing values, per feature. */
  nBinsNonMissing: Uint32Array;
}

/** The rows whose values place the bin edges: the training rows `rows` (all nRows rows when null), or a random
 * BINNING_SUBSAMPLE of them when there are more. */
export function binningSample(rows: Uint32Array | null, nRows: number, rng: Rng): Uint32Array | null {
  return nRows > BINNING_SUBSAMPLE ? subsampleRows(rows, nRows, BINNING_SUBSAMPLE, rng) : rows;
}

/**
 * One feature's bin thresholds: for a categorical feature its known categories (sorted codes over the whole data, so
 * validation rows bin correctly), else the edges found from its values at the `sample` rows (all rows when null).
 */
export function featureThresholds(column: Float64Array, sample: Uint32Array | null, categories: Float64Array | null, maxBins: number): Float64Array {
  return categories ?? findThresholds(nonMissingValues(column, sample), maxBins);
}

/** The mapper of thresholds found by featureThresholds(), feature by feature. */
export function binMapperOf(thresholds: Float64Array[], isCategorical: boolean[], maxBins: number): BinMapper {
  const nBinsNonMissing = Uint32Array.from(thresholds, (t, f) => (isCategorical[f] ? t.length : t.length + 1));
  return { maxBins, isCategorical: isCategorical.slice(), thresholds, nBinsNonMissing };
}

/**
 * Upper bounds of at most `maxBins` bins for the (unsorted, non-missing) values: midpoints of consecutive distinct values
 * when there are at most maxBins of them, else numpy's percentile(values, linspace(0, 100, maxBins + 1)[1:-1],
 * method="midpoint"), reproduced operation by operation so the edges equal scikit-learn's bit for bit.
 */
export function findThresholds(values: Float64Array, maxBins: number): Float64Array {
  values.sort();
  const n = values.length;
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || values[i] !== values[i - 1]) distinct++;
  let out: Float64Array;
  if (distinct <= maxBins) {
    out = new Float64Array(Math.max(0, distinct - 1));
    let k = 0;
    let prev = values[0];
    for (let i = 1; i < n; i++) {
      const v = values[i];
      if (v !== prev) {
        out[k++] = (prev + v) * 0.5;
        prev = v;
      }
    }
  } else {
    out = new Float64Array(maxBins - 1);
    const step = 100 / maxBins;
    for (let i = 1; i < maxBins; i++) {
      const q = (i * step) / 100;
      const position = (n - 1) * q;
      const virtual = 0.5 * (Math.floor(position) + Math.ceil(position));
      let lo = Math.floor(virtual);
      let hi = lo + 1;
      if (virtual >= n - 1) lo = hi = n - 1;
      const a = values[lo];
      const b = values[hi];
      // numpy's _lerp with gamma 0.5 (between two values) or 0 (on a value).
      out[i - 1] = virtual % 1 === 0 ? a : b - (b - a) * 0.5;
    }
  }
  for (let i = 0; i < out.length; i++) if (out[i] > ALMOST_INF) out[i] = ALMOST_INF;
  return out;
}

/**
 * Writes the bins of `rows` (all rows when null) of a feature to out[outOffset ...]. NaN, and for categorical
 * features a negative code, go to the missing bin; other values to the first bin whose upper bound is >= the value,
 * that is the count of thresholds below the value. Counted without branches in two rounds of 16 independent
 * comparisons (the thresholds padded to 256 with +inf): which group of 16 holds the bin, then where in the group.
 */
export function binColumn(
  values: Float64Array,
  rows: Uint32Array | null,
  nRows: number,
  thresholds: Float64Array,
  isCategorical: boolean,
  missingBin: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const t = new Float64Array(256).fill(Infinity);
  t.set(thresholds);
  const g = new Float64Array(16);
  for (let j = 0; j < 16; j++) g[j] = t[16 * j + 15];
  const below = (a: number, x: number): number => ((a < x) as unknown as number) | 0;
  for (let i = 0; i < nRows; i++) {
    const x = values[rows === null ? i : rows[i]];
    if (x !== x || (isCategorical && x < 0)) {
      out[outOffset + i] = missingBin;
      continue;
    }
    const b =
      (below(g[0], x) + below(g[1], x) + below(g[2], x) + below(g[3], x) + below(g[4], x) + below(g[5], x) +
        below(g[6], x) + below(g[7], x) + below(g[8], x) + below(g[9], x) + below(g[10], x) + below(g[11], x) +
        below(g[12], x) + below(g[13], x) + below(g[14], x) + below(g[15], x)) << 4;
    out[outOffset + i] =
      b + below(t[b], x) + below(t[b + 1], x) + below(t[b + 2], x) + below(t[b + 3], x) + below(t[b + 4], x) +
      below(t[b + 5], x) + below(t[b + 6], x) + below(t[b + 7], x) + below(t[b + 8], x) + below(t[b + 9], x) +
      below(t[b + 10], x) + below(t[b + 11], x) + below(t[b + 12], x) + below(t[b + 13], x) + below(t[b + 14], x) +
      below(t[b + 15], x);
  }
}

/** The non-NaN values of `column` at `rows` (all rows when null). */
function nonMissingValues(column: Float64Array, rows: Uint32Array | null): Float64Array {
  const n = rows ? rows.length : column.length;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = column[rows === null ? i : rows[i]];
    if (v === v) out[k++] = v;
  }
  return k === n ? out : out.slice(0, k);
}

/** `size` distinct rows drawn at random from `rows` (or from 0..nRows-1), in increasing order. */
function subsampleRows(rows: Uint32Array | null, nRows: number, size: number, rng: Rng): Uint32Array {
  const pool = new Uint32Array(nRows);
  for (let i = 0; i < nRows; i++) pool[i] = rows ? rows[i] : i;
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(nRows - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.subarray(0, size).sort();
}
