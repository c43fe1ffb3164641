/**
 * Finds a node's best split from its histograms, following scikit-learn's Splitter rule for rule:
 * - gain = G_L^2/(H_L+l2) + G_R^2/(H_R+l2) - G^2/(H+l2), written as G v - G_L v_L - G_R v_R with v = -G/(H+l2+1e-15)
 *   (the root is given v = 0, as in scikit-learn, so any valid root split counts);
 * - numeric features: scan bins left to right with missing values on the right, and, when the feature had missing
 *   values in training, right to left with missing values on the left; the better gain wins (ties keep the first);
 * - categorical features: categories with enough hessian (10, LightGBM's cat_smooth) sorted by G/(H+10), missing
 *   values as one more category, scanned from both ends up to the middle; rare categories go right;
 * - a split must leave minSamplesLeaf rows and minHessianToSplit hessian on each side, and gain > 0.
 */
export const MIN_HESSIAN_TO_SPLIT = 1e-3;
const MIN_CAT_SUPPORT = 10;

export interface SplitContext {
  nBins: number;
  missingBin: number;
  nBinsNonMissing: Uint32Array;
  /** Feature had missing values in the training rows. */
  hasMissing: Uint8Array;
  isCategorical: Uint8Array;
  l2Regularization: number;
  minSamplesLeaf: number;
}

export interface SplitInfo {
  gain: number;
  feature: number;
  /** Numeric: rows with bin <= binIdx go left. */
  binIdx: number;
  missingLeft: boolean;
  /** Categorical: bitset (8 x 32 bits) of the bins that go left, the missing bin included when missing goes left. */
  leftBins: Uint32Array | null;
  sumGradLeft: number;
  sumHessLeft: number;
  countLeft: number;
  sumGradRight: number;
  sumHessRight: number;
  countRight: number;
  valueLeft: number;
  valueRight: number;
}

export function nodeValue(sumGrad: number, sumHess: number, l2: number): number {
  return -sumGrad / (sumHess + l2 + 1e-15);
}

function splitGain(gl: number, hl: number, gr: number, hr: number, lossCurrent: number, l2: number): number {
  return lossCurrent - gl * nodeValue(gl, hl, l2) - gr * nodeValue(gr, hr, l2);
}

/** Best candidate found so far while scanning one feature. */
class Best {
  gain = -1;
  binIdx = 0;
  missingLeft = false;
  leftBins: Uint32Array | null = null;
  sumGradLeft = 0;
  sumHessLeft = 0;
  countLeft = 0;
}

/**
 * Each feature's best split of a node is written as CANDIDATE_SIZE numbers: gain (-1: none), bin, missing-left (0/1),
 * left gradient sum, left hessian sum, left row count, categorical (0/1), then the 8 words of the categorical bitset.
 * Threads scan disjoint feature ranges into the same array; pickBestSplit then reads them in feature order.
 */
export const CANDIDATE_SIZE = 15;

/** The node whose features are scanned: its histogram and totals. */
export interface NodeStats {
  count: number;
  sumGrad: number;
  sumHess: number;
  /** The node's value as its parent computed it (0 for the root, as in scikit-learn). */
  value: number;
}

/** Writes the best split of each feature in [f0, f1) to out[base + f * CANDIDATE_SIZE ...]. */
export function scanFeatures(ctx: SplitContext, hist: Float64Array, node: NodeStats, f0: number, f1: number, out: Float64Array, base: number): void {
  const best = new Best();
  const { count, sumGrad, sumHess } = node;
  const lossCurrent = sumGrad * node.value;
  for (let f = f0; f < f1; f++) {
    best.gain = -1;
    best.leftBins = null;
    if (ctx.isCategorical[f]) {
      scanCategorical(ctx, hist, f, count, sumGrad, sumHess, lossCurrent, best);
    } else {
      scanNumeric(ctx, hist, f, count, sumGrad, sumHess, lossCurrent, best, false);
      if (ctx.hasMissing[f]) scanNumeric(ctx, hist, f, count, sumGrad, sumHess, lossCurrent, best, true);
    }
    const k = base + f * CANDIDATE_SIZE;
    out[k] = best.gain;
    out[k + 1] = best.binIdx;
    out[k + 2] = best.missingLeft ? 1 : 0;
    out[k + 3] = best.sumGradLeft;
    out[k + 4] = best.sumHessLeft;
    out[k + 5] = best.countLeft;
    out[k + 6] = best.leftBins ? 1 : 0;
    for (let w = 0; w < 8; w++) out[k + 7 + w] = best.leftBins ? best.leftBins[w] : 0;
  }
}

/** The best of the features' candidates (the first on ties), or null when no split satisfies the constraints. */
export function pickBestSplit(ctx: SplitContext, candidates: Float64Array, base: number, node: NodeStats): SplitInfo | null {
  let feature = -1;
  let gain = -1;
  for (let f = 0; f < ctx.nBinsNonMissing.length; f++) {
    const g = candidates[base + f * CANDIDATE_SIZE];
    if (g > gain) {
      gain = g;
      feature = f;
    }
  }
  if (gain <= 0) return null;
  const k = base + feature * CANDIDATE_SIZE;
  const l2 = ctx.l2Regularization;
  const sumGradLeft = candidates[k + 3];
  const sumHessLeft = candidates[k + 4];
  const sumGradRight = node.sumGrad - sumGradLeft;
  const sumHessRight = node.sumHess - sumHessLeft;
  return {
    gain,
    feature,
    binIdx: candidates[k + 1],
    missingLeft: candidates[k + 2] === 1,
    leftBins: candidates[k + 6] === 1 ? Uint32Array.from(candidates.subarray(k + 7, k + 15)) : null,
    sumGradLeft,
    sumHessLeft,
    countLeft: candidates[k + 5],
    sumGradRight,
    sumHessRight,
    countRight: node.count - candidates[k + 5],
    valueLeft: nodeValue(sumGradLeft, sumHessLeft, l2),
    valueRight: nodeValue(sumGradRight, sumHessRight, l2),
  };
}

/**
 * Scans a numeric feature's bins for its best threshold. With missing values on the right (missingLeft false) the left
 * side grows bin by bin from bin 0; with missing values on the left, the right side grows from the last non-missing bin
 * down. Either way the growing ("near") side's sums are accumulated and the other side's are the node's minus them.
 */
function scanNumeric(
  ctx: SplitContext,
  hist: Float64Array,
  f: number,
  count: number,
  sumGrad: number,
  sumHess: number,
  lossCurrent: number,
  best: Best,
  missingLeft: boolean,
): void {
  const base = f * ctx.nBins * 3;
  const minLeaf = ctx.minSamplesLeaf;
  const l2 = ctx.l2Regularization;
  const nonMissing = ctx.nBinsNonMissing[f];
  // Left to right, the last non-missing bin never goes left alone, unless missing values exist (they stay right).
  const steps = missingLeft ? nonMissing - 1 : nonMissing - 1 + ctx.hasMissing[f];
  const step = missingLeft ? -1 : 1;
  // The threshold bin b takes bin b into the left side, or bin b + 1 into the right side.
  const added = missingLeft ? 3 : 0;
  let gNear = 0;
  let hNear = 0;
  let nNear = 0;
  for (let s = 0, b = missingLeft ? nonMissing - 2 : 0; s < steps; s++, b += step) {
    const k = base + b * 3 + added;
    nNear += hist[k + 2];
    const nFar = count - nNear;
    hNear += hist[k + 1];
    const hFar = sumHess - hNear;
    gNear += hist[k];
    const gFar = sumGrad - gNear;
    if (nNear < minLeaf) continue;
    if (nFar < minLeaf) break;
    if (hNear < MIN_HESSIAN_TO_SPLIT) continue;
    if (hFar < MIN_HESSIAN_TO_SPLIT) break;
    const gain = missingLeft ? splitGain(gFar, hFar, gNear, hNear, lossCurrent, l2) : splitGain(gNear, hNear, gFar, hFar, lossCurrent, l2);
    if (gain > best.gain && gain > 0) {
      best.gain = gain;
      best.binIdx = b;
      best.missingLeft = missingLeft;
      best.leftBins = null;
      best.sumGradLeft = missingLeft ? gFar : gNear;
      best.sumHessLeft = missingLeft ? hFar : hNear;
      best.countLeft = missingLeft ? nFar : nNear;
    }
  }
}

/**
 * The categories in increasing order of their ratio, in the order scikit-learn's qsort puts them: glibc's qsort is a
 * merge sort (halves of n / 2 and the rest), and scikit-learn's comparison answers "greater" for equal ratios, so on
 * a tie the merge takes the element of the right half first. The order of tied categories decides which side of
 * the scan a split can reach.
 */
function sortLikeQsort(items: number[], key: number[]): number[] {
  if (items.length <= 1) return items;
  const half = items.length >> 1;
  const a = sortLikeQsort(items.slice(0, half), key);
  const b = sortLikeQsort(items.slice(half), key);
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(key[a[i]] < key[b[j]] ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

function scanCategorical(
  ctx: SplitContext,
  hist: Float64Array,
  f: number,
  count: number,
  sumGrad: number,
  sumHess: number,
  lossCurrent: number,
  best: Best,
): void {
  const base = f * ctx.nBins * 3;
  const supportFactor = count / sumHess;
  const bins: number[] = [];
  const ratios: number[] = [];
  const consider = (b: number): void => {
    const hb = hist[base + b * 3 + 1];
    if (hb * supportFactor >= MIN_CAT_SUPPORT) {
      bins.push(b);
      ratios.push(hist[base + b * 3] / (hb + MIN_CAT_SUPPORT));
    }
  };
  for (let b = 0; b < ctx.nBinsNonMissing[f]; b++) consider(b);
  if (ctx.hasMissing[f]) consider(ctx.missingBin);
  const used = bins.length;
  if (used <= 1) return;
  const sorted = sortLikeQsort(bins.map((_, i) => i), ratios).map((i) => bins[i]);

  const minLeaf = ctx.minSamplesLeaf;
  const l2 = ctx.l2Regularization;
  let bestEnd = -1;
  let bestDirection = 0;
  const before = best.gain;
  for (const direction of [1, -1]) {
    const middle = direction === 1 ? (used + 1) >> 1 : ((used + 1) >> 1) - 1;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let i = 0; i < middle; i++) {
      const s = direction === 1 ? i : used - 1 - i;
      const k = base + sorted[s] * 3;
      nl += hist[k + 2];
      const nr = count - nl;
      hl += hist[k + 1];
      const hr = sumHess - hl;
      gl += hist[k];
      const gr = sumGrad - gl;
      if (nl < minLeaf || hl < MIN_HESSIAN_TO_SPLIT) continue;
      if (nr < minLeaf || hr < MIN_HESSIAN_TO_SPLIT) break;
      const gain = splitGain(gl, hl, gr, hr, lossCurrent, l2);
      if (gain > best.gain && gain > 0) {
        best.gain = gain;
        best.sumGradLeft = gl;
        best.sumHessLeft = hl;
        best.countLeft = nl;
        bestEnd = s;
        bestDirection = direction;
      }
    }
  }
  if (best.gain === before) return;
  const left = new Uint32Array(8);
  const [from, to] = bestDirection === 1 ? [0, bestEnd + 1] : [bestEnd, used];
  for (let s = from; s < to; s++) left[sorted[s] >>> 5] |= 1 << (sorted[s] & 31);
  best.leftBins = left;
  best.binIdx = 0;
  best.missingLeft = ctx.hasMissing[f] === 1 && (left[ctx.missingBin >>> 5] & (1 << (ctx.missingBin & 31))) !== 0;
}
