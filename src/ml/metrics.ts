/**
 * Metrics computed the way scikit-learn computes them (ties, clipping, zero_division=0). Binary: `y` holds 0/1 labels,
 * `p` scores (probabilities of class 1), with DeLong's confidence interval for ROC AUC. Multi-class: `y` holds class
 * codes 0..K-1 and `P` a row-major n x K probability matrix. Regression: `y` and `yPred` hold numbers. Confidence
 * intervals of the multi-class and regression metrics come from a seeded percentile bootstrap.
 * Sorting is done once per call on the scores of each class separately, with the native numeric sort.
 */
import { createRng } from './random.js';


/** Scores of the positive and negative rows, each sorted ascending. */
interface SortedScores {
  pos: Float64Array;
  neg: Float64Array;
}

export interface ConfusionMatrix {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

export interface AucConfidenceInterval {
  auc: number;
  lower: number;
  upper: number;
  standardError: number;
}

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Decreasing; row i is predicted positive at point k when p[i] >= thresholds[k]. The first point (0, 0) uses
   * thresholds[1] + 1, as scikit-learn 1.2 does, so the curve stays JSON-safe. */
  thresholds: Float64Array;
}

export interface F1Threshold {
  threshold: number;
  f1: number;
  precision: number;
  recall: number;
}

/** What `evaluateBinary` reports; snake_case because the keys become logged metric names. */
export interface BinaryEvaluation {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number;
  roc_auc_ci_lower: number;
  roc_auc_ci_upper: number;
  log_loss: number;
  n: number;
  positives: number;
  confusion_matrix: ConfusionMatrix;
}

/** Area under the ROC curve; tied scores count one half, which equals scikit-learn's trapezoidal roc_auc_score. */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const { pos, neg } = sortByClass(y, p, 'rocAuc');
  let sum = 0;
  forEachPlacement(pos, neg, (_i, below, equal) => {
    sum += below + equal / 2;
  });
  return sum / (pos.length * neg.length);
}

/**
 * ROC AUC with a confidence interval from DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988), computed with the
 * O(n log n) placement values of Sun & Xu (2014). The interval is auc ± z·SE, clipped to [0, 1].
 */
export function rocAucConfidenceInterval(y: ArrayLike<number>, p: ArrayLike<number>, level = 0.95): AucConfidenceInterval {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  const { pos, neg } = sortByClass(y, p, 'rocAucConfidenceInterval');
  const m = pos.length;
  const n = neg.length;
  if (m < 2 || n < 2) {
    throw new RangeError(`rocAucConfidenceInterval needs at least 2 positives and 2 negatives, got ${m} and ${n}`);
  }
  // Placement of each positive among the negatives (V10) and of each negative among the positives (V01).
  const v10 = new Float64Array(m);
  forEachPlacement(pos, neg, (i, below, equal) => {
    v10[i] = (below + equal / 2) / n;
  });
  const v01 = new Float64Array(n);
  forEachPlacement(neg, pos, (j, below, equal) => {
    v01[j] = (m - below - equal + equal / 2) / m;
  });
  const auc = mean(v10);
  const variance = sampleVariance(v10, auc) / m + sampleVariance(v01, auc) / n;
  const standardError = Math.sqrt(variance);
  const z = normalQuantile(1 - (1 - level) / 2);
  return {
    auc,
    lower: Math.max(0, auc - z * standardError),
    upper: Math.min(1, auc + z * standardError),
    standardError,
  };
}

/**
 * The ROC curve at each distinct score, with collinear points dropped exactly as scikit-learn's
 * `roc_curve(drop_intermediate=True)`. With `maxPoints`, a longer curve is thinned to that many points, evenly by
 * index, always keeping (0, 0) and (1, 1): enough for storage and plots.
 */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>, maxPoints?: number): RocCurve {
  if (maxPoints !== undefined && !(Number.isInteger(maxPoints) && maxPoints >= 2)) {
    throw new RangeError(`rocCurve maxPoints must be an integer >= 2, got ${maxPoints}`);
  }
  const sorted = sortByClass(y, p, 'rocCurve');
  const { thresholds, tps, fps } = cumulativeCounts(sorted);
  // Keep the ends and every point where the slope changes (a second difference is non-zero).
  const last = thresholds.length - 1;
  const kept: number[] = [];
  for (let k = 0; k <= last; k++) {
    if (k === 0 || k === last || fps[k - 1] - 2 * fps[k] + fps[k + 1] !== 0 || tps[k - 1] - 2 * tps[k] + tps[k + 1] !== 0) {
      kept.push(k);
    }
  }
  const P = sorted.pos.length;
  const N = sorted.neg.length;
  const length = kept.length + 1; // plus the (0, 0) point
  const fpr = new Float64Array(length);
  const tpr = new Float64Array(length);
  const th = new Float64Array(length);
  th[0] = thresholds[0] + 1;
  for (let r = 0; r < kept.length; r++) {
    const k = kept[r];
    fpr[r + 1] = fps[k] / N;
    tpr[r + 1] = tps[k] / P;
    th[r + 1] = thresholds[k];
  }
  const curve = { fpr, tpr, thresholds: th };
  return maxPoints !== undefined && length > maxPoints ? thinEvenly(curve, maxPoints) : curve;
}

/** `maxPoints` points of the curve spread evenly by index, always keeping the first and the last. */
function thinEvenly(curve: RocCurve, maxPoints: number): RocCurve {
  const last = curve.fpr.length - 1;
  const pick = (values: Float64Array) =>
    Float64Array.from({ length: maxPoints }, (_, r) => values[Math.round((r * last) / (maxPoints - 1))]);
  return { fpr: pick(curve.fpr), tpr: pick(curve.tpr), thresholds: pick(curve.thresholds) };
}

/** Mean cross-entropy, with p clipped to [eps, 1 - eps] and renormalised like scikit-learn 1.2's log_loss. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'logLoss', true);
  const eps = Number.EPSILON;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const pc = Math.min(Math.max(p[i], eps), 1 - eps);
    const qc = 1 - pc;
    total -= Math.log((y[i] === 1 ? pc : qc) / (pc + qc));
  }
  return total / y.length;
}

export function confusionMatrix(y: ArrayLike<number>, yPred: ArrayLike<number>): ConfusionMatrix {
  checkLabels(y, 'y');
  checkLabels(yPred, 'yPred');
  if (y.length !== yPred.length) throw new RangeError(`y has ${y.length} labels but yPred has ${yPred.length}`);
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let tp = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) yPred[i] === 1 ? tp++ : fn++;
    else yPred[i] === 1 ? fp++ : tn++;
  }
  return { tn, fp, fn, tp };
}

export function accuracy(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const c = confusionMatrix(y, yPred);
  return (c.tp + c.tn) / (c.tp + c.tn + c.fp + c.fn);
}

/** tp / (tp + fp); 0 when nothing is predicted positive (zero_division=0). */
export function precision(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  return precisionOf(confusionMatrix(y, yPred));
}

/** tp / (tp + fn); 0 when there are no positives (zero_division=0). */
export function recall(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  return recallOf(confusionMatrix(y, yPred));
}

/** Harmonic mean of precision and recall; 0 when both are 0 (zero_division=0). */
export function f1(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const c = confusionMatrix(y, yPred);
  return f1Of(precisionOf(c), recallOf(c));
}

/** The threshold t (predict 1 when p >= t) among the distinct scores that maximises F1; the highest such t on ties. */
export function bestF1Threshold(y: ArrayLike<number>, p: ArrayLike<number>): F1Threshold {
  const sorted = sortByClass(y, p, 'bestF1Threshold');
  const { thresholds, tps, fps } = cumulativeCounts(sorted);
  const P = sorted.pos.length;
  let best: F1Threshold = { threshold: thresholds[0], f1: -1, precision: 0, recall: 0 };
  for (let k = 0; k < thresholds.length; k++) {
    const prec = tps[k] / (tps[k] + fps[k]);
    const rec = tps[k] / P;
    const score = f1Of(prec, rec);
    if (score > best.f1) best = { threshold: thresholds[k], f1: score, precision: prec, recall: rec };
  }
  return best;
}

/** The standard report for a binary classifier on held-out data; needs at least 2 rows of each class. */
export function evaluateBinary(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): BinaryEvaluation {
  if (!Number.isFinite(threshold)) throw new RangeError(`threshold must be a finite number, got ${threshold}`);
  checkPair(y, p, 'evaluateBinary', true);
  const yPred = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) yPred[i] = p[i] >= threshold ? 1 : 0;
  const c = confusionMatrix(y, yPred);
  const prec = precisionOf(c);
  const rec = recallOf(c);
  const ci = rocAucConfidenceInterval(y, p);
  return {
    accuracy: (c.tp + c.tn) / y.length,
    precision: prec,
    recall: rec,
    f1: f1Of(prec, rec),
    roc_auc: ci.auc,
    roc_auc_ci_lower: ci.lower,
    roc_auc_ci_upper: ci.upper,
    log_loss: logLoss(y, p),
    n: y.length,
    positives: c.tp + c.fn,
    confusion_matrix: c,
  };
}

/**
 * The standard normal quantile function (inverse CDF), by Acklam's rational approximation (relative error < 1.2e-9),
 * ample for confidence intervals.
 */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normalQuantile needs q in (0, 1), got ${q}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (t: number) =>
    (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1);
  const pLow = 0.02425;
  if (q < pLow) return tail(Math.sqrt(-2 * Math.log(q)));
  if (q > 1 - pLow) return -tail(Math.sqrt(-2 * Math.log(1 - q)));
  const r = q - 0.5;
  const s = r * r;
  return ((((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r) /
    (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
}

function precisionOf(c: ConfusionMatrix): number {
  return c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
}

function recallOf(c: ConfusionMatrix): number {
  return c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
}

function f1Of(prec: number, rec: number): number {
  return prec + rec === 0 ? 0 : (2 * prec * rec) / (prec + rec);
}

/**
 * For each value a[i] of the ascending array `a`, how many values of the ascending array `b` are below it and equal
 * to it; a single merge pass.
 */
function forEachPlacement(a: Float64Array, b: Float64Array, visit: (i: number, below: number, equal: number) => void): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    while (lo < b.length && b[lo] < v) lo++;
    if (hi < lo) hi = lo;
    while (hi < b.length && b[hi] === v) hi++;
    visit(i, lo, hi - lo);
  }
}

/** Counts of true and false positives when predicting 1 for p >= t, for each distinct score t, t decreasing. */
function cumulativeCounts({ pos, neg }: SortedScores): { thresholds: Float64Array; tps: Float64Array; fps: Float64Array } {
  const cap = pos.length + neg.length;
  const thresholds = new Float64Array(cap);
  const tps = new Float64Array(cap);
  const fps = new Float64Array(cap);
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (i >= 0 || j >= 0) {
    const t = Math.max(i >= 0 ? pos[i] : -Infinity, j >= 0 ? neg[j] : -Infinity);
    while (i >= 0 && pos[i] === t) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === t) {
      fp++;
      j--;
    }
    thresholds[k] = t;
    tps[k] = tp;
    fps[k] = fp;
    k++;
  }
  return { thresholds: thresholds.subarray(0, k), tps: tps.subarray(0, k), fps: fps.subarray(0, k) };
}

function sortByClass(y: ArrayLike<number>, p: ArrayLike<number>, who: string): SortedScores {
  checkPair(y, p, who, false);
  let nPos = 0;
  for (let i = 0; i < y.length; i++) nPos += y[i];
  const nNeg = y.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new RangeError(`${who} is undefined when y holds only one class (${nPos} positives, ${nNeg} negatives)`);
  }
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let a = 0;
  let b = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) pos[a++] = p[i];
    else neg[b++] = p[i];
  }
  return { pos: pos.sort(), neg: neg.sort() };
}

function checkPair(y: ArrayLike<number>, p: ArrayLike<number>, who: string, probabilities: boolean): void {
  if (y.length !== p.length) throw new RangeError(`${who}: y has ${y.length} labels but p has ${p.length} scores`);
  if (y.length === 0) throw new RangeError(`${who}: no rows`);
  checkLabels(y, 'y');
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${who}: p[${i}] must be a finite number, got ${v}`);
    if (probabilities && (v < 0 || v > 1)) throw new RangeError(`${who}: p[${i}] must be a probability in [0, 1], got ${v}`);
  }
}

function checkLabels(y: ArrayLike<number>, name: string): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`${name}[${i}] must be 0 or 1, got ${y[i]}`);
  }
}

function mean(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

function sampleVariance(values: Float64Array, center: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] - center) ** 2;
  return s / (values.length - 1);
}

/** What `evaluateMulticlass` reports; snake_case because the keys become logged metric names. */
export interface MulticlassEvaluation {
  /** Macro one-vs-rest ROC AUC (scikit-learn's roc_auc_score(multi_class="ovr", average="macro")). */
  roc_auc: number;
  /** Bootstrap 95% interval of the macro ROC AUC. */
  roc_auc_ci_lower: number;
  roc_auc_ci_upper: number;
  log_loss: number;
  accuracy: number;
  f1_macro: number;
  n: number;
  n_classes: number;
  /** confusion_matrix[true][predicted], rows and columns in class-code order. */
  confusion_matrix: number[][];
}

/** What `evaluateRegression` reports. */
export interface RegressionEvaluation {
  rmse: number;
  mae: number;
  r2: number;
  /** Bootstrap 95% interval of R^2. */
  r2_ci_lower: number;
  r2_ci_upper: number;
  n: number;
}

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0): the same data and seed give the same interval. */
  seed?: number;
}

export interface BootstrapInterval {
  lower: number;
  upper: number;
  /** Resamples on which the statistic was defined (e.g. every class present for an AUC). */
  used: number;
}

/**
 * Percentile bootstrap interval of `statistic` over n rows. Resample b draws n row indices with replacement from the
 * seeded generator (`rng.int(n)`, row after row, resample after resample); resamples on which the statistic is
 * undefined (it throws a RangeError) are skipped. The bounds are numpy's linear-interpolation percentiles.
 */
export function bootstrapInterval(
  n: number,
  statistic: (rows: Int32Array) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`bootstrap resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`bootstrap needs at least one row, got ${n}`);
  const rng = createRng(options.seed ?? 0);
  const values: number[] = [];
  const rows = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) rows[i] = rng.int(n);
    try {
      values.push(statistic(rows));
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  if (values.length === 0) throw new RangeError('bootstrap: the statistic is undefined on every resample');
  const sorted = Float64Array.from(values).sort();
  const tail = (1 - level) / 2;
  return { lower: percentile(sorted, tail), upper: percentile(sorted, 1 - tail), used: values.length };
}

/** numpy.percentile(values, 100 q) with linear interpolation, on ascending `sorted`. */
function percentile(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

/** Number of classes K of a row-major probability matrix for y, checked. */
function classCount(y: ArrayLike<number>, P: ArrayLike<number>, who: string): number {
  if (y.length === 0) throw new RangeError(`${who}: no rows`);
  const K = P.length / y.length;
  if (!Number.isInteger(K) || K < 2) throw new RangeError(`${who}: P must hold n x K probabilities (K >= 2) for ${y.length} rows, got ${P.length} values`);
  for (let i = 0; i < y.length; i++) {
    if (!(Number.isInteger(y[i]) && y[i] >= 0 && y[i] < K)) throw new RangeError(`${who}: y[${i}] must be a class code in 0..${K - 1}, got ${y[i]}`);
  }
  for (let i = 0; i < P.length; i++) {
    if (!(P[i] >= 0 && P[i] <= 1)) throw new RangeError(`${who}: P[${i}] must be a probability in [0, 1], got ${P[i]}`);
  }
  return K;
}

/** The labels and scores of one class against the rest, for the rows given (all by default). */
function oneVsRest(y: ArrayLike<number>, P: ArrayLike<number>, K: number, k: number, rows?: Int32Array) {
  const n = rows ? rows.length : y.length;
  const yk = new Uint8Array(n);
  const pk = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const i = rows ? rows[r] : r;
    yk[r] = y[i] === k ? 1 : 0;
    pk[r] = P[i * K + k];
  }
  return { yk, pk };
}

/** Macro one-vs-rest ROC AUC: the mean over classes of each class's AUC against the rest; every class must be present. */
export function rocAucOvr(y: ArrayLike<number>, P: ArrayLike<number>, rows?: Int32Array): number {
  const K = classCount(y, P, 'rocAucOvr');
  return macroOvr(y, P, K, rows);
}

function macroOvr(y: ArrayLike<number>, P: ArrayLike<number>, K: number, rows?: Int32Array): number {
  let total = 0;
  for (let k = 0; k < K; k++) {
    const { yk, pk } = oneVsRest(y, P, K, k, rows);
    total += rocAuc(yk, pk);
  }
  return total / K;
}

/** Mean cross-entropy like scikit-learn 1.2's log_loss: P clipped to [eps, 1 - eps], rows renormalised. */
export function logLossMulticlass(y: ArrayLike<number>, P: ArrayLike<number>): number {
  const K = classCount(y, P, 'logLossMulticlass');
  const eps = Number.EPSILON;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.min(Math.max(P[i * K + k], eps), 1 - eps);
    total -= Math.log(Math.min(Math.max(P[i * K + y[i]], eps), 1 - eps) / sum);
  }
  return total / y.length;
}

/** confusion[true][predicted] over class codes 0..K-1. */
export function confusionMatrixMulticlass(y: ArrayLike<number>, yPred: ArrayLike<number>, K: number): number[][] {
  if (y.length !== yPred.length) throw new RangeError(`y has ${y.length} labels but yPred has ${yPred.length}`);
  const m = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let i = 0; i < y.length; i++) {
    for (const [name, v] of [['y', y[i]], ['yPred', yPred[i]]] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v < K)) throw new RangeError(`${name}[${i}] must be a class code in 0..${K - 1}, got ${v}`);
    }
    m[y[i]][yPred[i]]++;
  }
  return m;
}

/** Unweighted mean of the per-class F1 scores (a class never predicted nor present scores 0, zero_division=0). */
export function f1Macro(confusion: number[][]): number {
  const K = confusion.length;
  let total = 0;
  for (let k = 0; k < K; k++) {
    const tp = confusion[k][k];
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < K; j++) {
      predicted += confusion[j][k];
      actual += confusion[k][j];
    }
    total += predicted + actual === 0 ? 0 : (2 * tp) / (predicted + actual);
  }
  return total / K;
}

/** The standard report for a multi-class classifier on held-out data; every class must be present in y. */
export function evaluateMulticlass(y: ArrayLike<number>, P: ArrayLike<number>, bootstrap: BootstrapOptions = {}): MulticlassEvaluation {
  const K = classCount(y, P, 'evaluateMulticlass');
  const yPred = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (P[i * K + k] > P[i * K + best]) best = k;
    yPred[i] = best;
  }
  const confusion = confusionMatrixMulticlass(y, yPred, K);
  let correct = 0;
  for (let k = 0; k < K; k++) correct += confusion[k][k];
  const auc = macroOvr(y, P, K);
  const ci = bootstrapInterval(y.length, (rows) => macroOvr(y, P, K, rows), bootstrap);
  return {
    roc_auc: auc,
    roc_auc_ci_lower: ci.lower,
    roc_auc_ci_upper: ci.upper,
    log_loss: logLossMulticlass(y, P),
    accuracy: correct / y.length,
    f1_macro: f1Macro(confusion),
    n: y.length,
    n_classes: K,
    confusion_matrix: confusion,
  };
}

function checkValues(y: ArrayLike<number>, yPred: ArrayLike<number>, who: string): void {
  if (y.length !== yPred.length) throw new RangeError(`${who}: y has ${y.length} values but yPred has ${yPred.length}`);
  if (y.length === 0) throw new RangeError(`${who}: no rows`);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new RangeError(`${who}: y[${i}] must be a finite number, got ${y[i]}`);
    if (!Number.isFinite(yPred[i])) throw new RangeError(`${who}: yPred[${i}] must be a finite number, got ${yPred[i]}`);
  }
}

export function rootMeanSquaredError(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkValues(y, yPred, 'rootMeanSquaredError');
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - yPred[i]) ** 2;
  return Math.sqrt(s / y.length);
}

export function meanAbsoluteError(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkValues(y, yPred, 'meanAbsoluteError');
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(y[i] - yPred[i]);
  return s / y.length;
}

/** 1 - SS_res / SS_tot; like scikit-learn, 1 for a perfect fit of constant y and 0 for an imperfect one. */
export function r2Score(y: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkValues(y, yPred, 'r2Score');
  return r2Of(y, yPred);
}

function r2Of(y: ArrayLike<number>, yPred: ArrayLike<number>, rows?: Int32Array): number {
  const n = rows ? rows.length : y.length;
  let mean = 0;
  for (let r = 0; r < n; r++) mean += y[rows ? rows[r] : r];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let r = 0; r < n; r++) {
    const i = rows ? rows[r] : r;
    ssRes += (y[i] - yPred[i]) ** 2;
    ssTot += (y[i] - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** The standard report for a regressor on held-out data. */
export function evaluateRegression(y: ArrayLike<number>, yPred: ArrayLike<number>, bootstrap: BootstrapOptions = {}): RegressionEvaluation {
  checkValues(y, yPred, 'evaluateRegression');
  const ci = bootstrapInterval(y.length, (rows) => r2Of(y, yPred, rows), bootstrap);
  return {
    rmse: rootMeanSquaredError(y, yPred),
    mae: meanAbsoluteError(y, yPred),
    r2: r2Of(y, yPred),
    r2_ci_lower: ci.lower,
    r2_ci_upper: ci.upper,
    n: y.length,
  };
}
