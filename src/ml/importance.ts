/**
 * Permutation importance (Breiman 2001; scikit-learn's permutation_importance): how much a score drops when one
 * feature's values are shuffled across rows, breaking its link with the target. Seeded, so reruns agree.
 */
import { toFrame } from './frame.js';
import { accuracy, logLoss, rocAuc } from './metrics.js';
import type { TabularColumns } from './preprocessing.js';
import { createRng, shuffleInPlace, type Rng } from './random.js';
import type { TabularModel } from './tabular-model.js';
import type { BinaryScorer, Frame, Matrix } from './types.js';

/** Scores where higher is better, as scikit-learn names them. */
export type ImportanceMetric = 'roc_auc' | 'neg_log_loss' | 'accuracy';

export interface PermutationImportanceOptions {
  /** Shuffles per feature (default 5). */
  nRepeats?: number;
  /** PRNG seed (default 0). */
  seed?: number;
  metric?: ImportanceMetric;
}

export interface PermutationImportance {
  /** Score on the unshuffled data. */
  baseline: number;
  /** Per feature: mean over repeats of (baseline - score with the feature shuffled). */
  mean: Float64Array;
  /** Per feature: population standard deviation of those drops. */
  std: Float64Array;
}

/** Importance of each column of X for a fitted scorer. */
export function permutationImportance(
  model: BinaryScorer,
  X: Matrix,
  y: ArrayLike<number>,
  options: PermutationImportanceOptions = {},
): PermutationImportance {
  const frame = toFrame(X);
  const columns = frame.columns.slice();
  const shuffled: Frame = { nRows: frame.nRows, columns };
  return measure(frame.columns.length, y, options, (j, rng) => {
    if (j === undefined) return model.predictProba(frame);
    columns[j] = shuffleInPlace(Float64Array.from(frame.columns[j]), rng);
    const p = model.predictProba(shuffled);
    columns[j] = frame.columns[j];
    return p;
  });
}

/** Importance of each input feature of a TabularModel (one entry per signature feature, in signature order). */
export function featurePermutationImportance(
  model: TabularModel,
  data: TabularColumns,
  y: ArrayLike<number>,
  options: PermutationImportanceOptions = {},
): PermutationImportance & { names: string[] } {
  const names = model.signature.features.map((f) => f.name);
  const shuffled: TabularColumns = { ...data };
  const result = measure(names.length, y, options, (j, rng) => {
    if (j === undefined) return model.predictProbaColumns(data);
    const name = names[j];
    const original = data[name];
    shuffled[name] = shuffleInPlace(original instanceof Float64Array ? Float64Array.from(original) : original.slice(), rng);
    const p = model.predictProbaColumns(shuffled);
    shuffled[name] = original;
    return p;
  });
  return { ...result, names };
}

/** `predict(undefined)` scores the data as is; `predict(j, rng)` with feature j shuffled. */
function measure(
  nFeatures: number,
  y: ArrayLike<number>,
  options: PermutationImportanceOptions,
  predict: (feature: number | undefined, rng: Rng) => Float64Array,
): PermutationImportance {
  const { nRepeats = 5, seed = 0, metric = 'roc_auc' } = options;
  if (!(Number.isInteger(nRepeats) && nRepeats >= 1)) throw new RangeError(`nRepeats must be a positive integer, got ${nRepeats}`);
  const score = scorer(metric);
  const rng = createRng(seed);
  const baseline = score(y, predict(undefined, rng));
  const mean = new Float64Array(nFeatures);
  const std = new Float64Array(nFeatures);
  const drops = new Float64Array(nRepeats);
  for (let j = 0; j < nFeatures; j++) {
    for (let r = 0; r < nRepeats; r++) drops[r] = baseline - score(y, predict(j, rng));
    let m = 0;
    for (const d of drops) m += d;
    m /= nRepeats;
    let v = 0;
    for (const d of drops) v += (d - m) ** 2;
    mean[j] = m;
    std[j] = Math.sqrt(v / nRepeats);
  }
  return { baseline, mean, std };
}

function scorer(metric: ImportanceMetric): (y: ArrayLike<number>, p: Float64Array) => number {
  switch (metric) {
    case 'roc_auc':
      return rocAuc;
    case 'neg_log_loss':
      return (y, p) => -logLoss(y, p);
    case 'accuracy':
      return (y, p) => accuracy(y, Uint8Array.from(p, (v) => (v >= 0.5 ? 1 : 0)));
    default:
      throw new RangeError(`unknown importance metric ${JSON.stringify(metric)}: use roc_auc, neg_log_loss or accuracy`);
  }
}
