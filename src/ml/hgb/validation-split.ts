/**
 * The held-out rows for early stopping: a stratified random split like scikit-learn's
 * train_test_split(test_size=validationFraction, stratify=y) for classifiers, a plain random one for regressors. Both
 * index lists come back in increasing row order.
 */
import type { Rng } from '../random.js';

export interface RowSplit {
  train: Uint32Array;
  validation: Uint32Array;
}

/** Rows held out of `n` for a validation fraction (or row count). */
function validationRows(n: number, validationFraction: number, estimator: string): number {
  const nValidation = validationFraction < 1 ? Math.ceil(validationFraction * n) : validationFraction;
  if (nValidation >= n - 1 || nValidation < 2) {
    throw new RangeError(`${estimator}: validationFraction ${validationFraction} leaves ${nValidation} of ${n} rows for validation`);
  }
  return nValidation;
}

/** A stratified split of rows labelled with class codes 0..nClasses-1. */
export function stratifiedSplit(y: Float64Array, validationFraction: number, rng: Rng, nClasses = 2): RowSplit {
  const n = y.length;
  const nValidation = validationRows(n, validationFraction, 'HistGradientBoostingClassifier');
  const byClass: number[][] = Array.from({ length: nClasses }, () => []);
  for (let i = 0; i < n; i++) byClass[y[i]].push(i);
  // Allocate validation rows to classes in proportion, remainders to the largest fractional parts.
  const exact = byClass.map((rows) => (rows.length * nValidation) / n);
  const take = exact.map(Math.floor);
  let missing = nValidation - take.reduce((s, t) => s + t, 0);
  const byFraction = byClass.map((_, c) => c).sort((a, b) => exact[b] - take[b] - (exact[a] - take[a]));
  for (const c of byFraction) {
    if (missing > 0 && take[c] < byClass[c].length) {
      take[c]++;
      missing--;
    }
  }
  const isValidation = new Uint8Array(n);
  byClass.forEach((rows, c) => {
    for (let i = 0; i < take[c]; i++) {
      const j = i + rng.int(rows.length - i);
      const t = rows[i];
      rows[i] = rows[j];
      rows[j] = t;
      isValidation[rows[i]] = 1;
    }
  });
  return splitByMask(isValidation, nValidation);
}

/** A random split of n rows, without regard to their targets. */
export function randomSplit(n: number, validationFraction: number, rng: Rng): RowSplit {
  const nValidation = validationRows(n, validationFraction, 'HistGradientBoostingRegressor');
  const rows = Uint32Array.from({ length: n }, (_, i) => i);
  const isValidation = new Uint8Array(n);
  for (let i = 0; i < nValidation; i++) {
    const j = i + rng.int(n - i);
    const t = rows[i];
    rows[i] = rows[j];
    rows[j] = t;
    isValidation[rows[i]] = 1;
  }
  return splitByMask(isValidation, nValidation);
}

function splitByMask(isValidation: Uint8Array, nValidation: number): RowSplit {
  const n = isValidation.length;
  const validation = new Uint32Array(nValidation);
  const train = new Uint32Array(n - nValidation);
  for (let i = 0, v = 0, t = 0; i < n; i++) {
    if (isValidation[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}
