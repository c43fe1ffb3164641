/**
 * Live quality of a binary classifier: realised metrics from the labels sent back through /feedback (with 95%
 * confidence intervals), and an estimate of ROC AUC without labels from the predicted probabilities, as NannyML's
 * confidence-based performance estimation (CBPE) does: calibrated probabilities give an expected confusion matrix at
 * every threshold, hence an expected ROC curve. The calibration map is an isotonic regression fitted on the labelled
 * test split at training time. Pure functions, no I/O.
 */
import { accuracy, logLoss, normalQuantile, rocAucConfidenceInterval } from '../ml/metrics.js';

export interface Interval {
  lower: number;
  upper: number;
}

export interface RealisedQuality {
  labels: number;
  positives: number;
  roc_auc: number | null;
  roc_auc_ci: Interval | null;
  accuracy: number | null;
  accuracy_ci: Interval | null;
  log_loss: number | null;
  log_loss_ci: Interval | null;
}

/**
 * Realised quality of the labelled rows: labels `y`, probabilities `p` and the 0/1 predictions that were served.
 * ROC AUC needs both classes (its interval is DeLong's); accuracy's interval is Wilson's; log loss's is the normal
 * interval of the mean per-row loss.
 */
export function realisedQuality(y: ArrayLike<number>, p: ArrayLike<number>, predicted: ArrayLike<number>, level = 0.95): RealisedQuality {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] === 1 ? 1 : 0;
  const empty: RealisedQuality = {
    labels: n,
    positives,
    roc_auc: null,
    roc_auc_ci: null,
    accuracy: null,
    accuracy_ci: null,
    log_loss: null,
    log_loss_ci: null,
  };
  if (n === 0) return empty;
  const z = normalQuantile(0.5 + level / 2);
  const acc = accuracy(y, predicted);
  const loss = logLoss(y, p);
  const out: RealisedQuality = { ...empty, accuracy: acc, accuracy_ci: wilson(acc, n, z), log_loss: loss, log_loss_ci: meanInterval(rowLosses(y, p), z) };
  if (positives > 0 && positives < n) {
    const ci = rocAucConfidenceInterval(y, p, level);
    out.roc_auc = ci.auc;
    out.roc_auc_ci = { lower: ci.lower, upper: ci.upper };
  }
  return out;
}

function wilson(share: number, n: number, z: number): Interval {
  const z2 = z * z;
  const centre = (share + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((share * (1 - share)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Per-row log loss with scikit-learn's clipping of probabilities. */
function rowLosses(y: ArrayLike<number>, p: ArrayLike<number>): Float64Array {
  const eps = 1e-15;
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]));
    out[i] = y[i] === 1 ? -Math.log(q) : -Math.log(1 - q);
  }
  return out;
}

function meanInterval(values: Float64Array, z: number): Interval | null {
  const n = values.length;
  if (n < 2) return null;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const half = z * Math.sqrt(ss / (n - 1) / n);
  return { lower: Math.max(0, mean - half), upper: mean + half };
}

/**
 * NannyML's CBPE estimate of ROC AUC from calibrated probabilities: with the rows sorted by probability, each
 * distinct probability t as a threshold gives expected TP = sum of p over rows >= t, FP = sum of (1 - p) over them,
 * FN and TN likewise below t; the area under the expected (FPR, TPR) points, trapezoidal. Null for fewer than two
 * distinct probabilities.
 */
export function estimateRocAuc(calibrated: ArrayLike<number>): number | null {
  const t = Float64Array.from(calibrated).sort();
  const n = t.length;
  if (n === 0) return null;
  // Suffix sums (rows at or above position i) and prefix sums (rows below it).
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  let s = 0;
  let f = 0;
  for (let i = n - 1; i >= 0; i--) {
    s += t[i];
    f += 1 - t[i];
    tp[i] = s;
    fp[i] = f;
  }
  const fpr: number[] = [];
  const tpr: number[] = [];
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || t[i] !== t[i - 1]) {
      tpr.push(tp[i] / (tp[i] + fn));
      fpr.push(fp[i] / (fp[i] + tn));
    }
    fn += t[i];
    tn += 1 - t[i];
  }
  if (fpr.length < 2) return null;
  // FPR decreases along the thresholds: the trapezoidal area comes out negative, as in scikit-learn's auc.
  let area = 0;
  for (let k = 1; k < fpr.length; k++) area += ((fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1])) / 2;
  const value = -area;
  return Number.isFinite(value) ? value : null;
}

/** A monotone map from raw to calibrated probabilities: linear between the points, clipped outside them. */
export interface Calibration {
  x: number[];
  y: number[];
}

/**
 * Isotonic regression of labels on probabilities (scikit-learn's IsotonicRegression(out_of_bounds='clip') fitted by
 * pool-adjacent-violators), kept as the points where the fitted step function changes.
 */
export function fitIsotonicCalibration(p: ArrayLike<number>, y: ArrayLike<number>): Calibration {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[a] - p[b]);
  // Rows with equal probability are pooled first (scikit-learn averages ties).
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const last = xs.length - 1;
    if (last >= 0 && xs[last] === p[i]) {
      sums[last] += y[i];
      weights[last] += 1;
    } else {
      xs.push(p[i]);
      sums.push(y[i]);
      weights.push(1);
    }
  }
  const blockValue: number[] = [];
  const blockWeight: number[] = [];
  const blockEnd: number[] = [];
  for (let k = 0; k < xs.length; k++) {
    blockValue.push(sums[k] / weights[k]);
    blockWeight.push(weights[k]);
    blockEnd.push(k);
    while (blockValue.length > 1 && blockValue[blockValue.length - 2] > blockValue[blockValue.length - 1]) {
      const w = blockWeight.pop()!;
      const v = blockValue.pop()!;
      const end = blockEnd.pop()!;
      const top = blockValue.length - 1;
      blockValue[top] = (blockValue[top] * blockWeight[top] + v * w) / (blockWeight[top] + w);
      blockWeight[top] += w;
      blockEnd[top] = end;
    }
  }
  const x: number[] = [];
  const fitted: number[] = [];
  let start = 0;
  for (let b = 0; b < blockValue.length; b++) {
    // A block is flat: its first and last x carry the same value (one point when they coincide).
    x.push(xs[start]);
    fitted.push(blockValue[b]);
    if (blockEnd[b] !== start) {
      x.push(xs[blockEnd[b]]);
      fitted.push(blockValue[b]);
    }
    start = blockEnd[b] + 1;
  }
  return { x, y: fitted };
}

/** Applies a calibration map (identity when it has no points). */
export function calibrate(calibration: Calibration | null, p: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(p);
  if (!calibration || calibration.x.length === 0) return out;
  const { x, y } = calibration;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (v <= x[0]) out[i] = y[0];
    else if (v >= x[x.length - 1]) out[i] = y[y.length - 1];
    else {
      let lo = 0;
      let hi = x.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (x[mid] <= v) lo = mid;
        else hi = mid;
      }
      out[i] = x[hi] === x[lo] ? y[lo] : y[lo] + ((y[hi] - y[lo]) * (v - x[lo])) / (x[hi] - x[lo]);
    }
  }
  return out;
}
