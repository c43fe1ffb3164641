/**
 * The stratified, seeded train/validation/test split: each class is shuffled on its own and cut by the fractions, so
 * every split has the class balance of the whole (to one row per class).
 */
import { createRng, shuffleInPlace } from '../ml/random.js';
import { DataError } from './errors.js';

export type SplitName = 'train' | 'val' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];
export type Fractions = readonly [train: number, val: number, test: number];
export const DEFAULT_FRACTIONS: Fractions = [0.7, 0.1, 0.2];

export function checkFractions(fractions: readonly number[]): Fractions {
  const ok =
    fractions.length === 3 &&
    fractions.every((f) => Number.isFinite(f) && f >= 0) &&
    fractions[0] > 0 &&
    Math.abs(fractions[0] + fractions[1] + fractions[2] - 1) < 1e-9;
  if (!ok) {
    throw new DataError(
      `fractions must be three shares (train, val, test) that sum to 1 with train > 0, got [${fractions.join(', ')}]`,
    );
  }
  return fractions as unknown as Fractions;
}

/** Rows of one class per split: val and test rounded, train the rest; a non-empty share gets at least one row. */
export function allocate(n: number, fractions: Fractions): [number, number, number] {
  let val = Math.round(n * fractions[1]);
  let test = Math.round(n * fractions[2]);
  if (fractions[1] > 0 && val === 0 && n - test > 1) val = 1;
  if (fractions[2] > 0 && test === 0 && n - val > 1) test = 1;
  return [n - val - test, val, test];
}

/** The split code of a row left out (its label is neither 0 nor 1). */
export const NO_SPLIT = 255;

/**
 * Split codes (0 train, 1 val, 2 test; NO_SPLIT for rows whose stratum is NO_SPLIT), stratified by the strata
 * 0..nStrata-1 (class labels; one stratum for a plain random split) and reproducible from `seed`: the same strata,
 * fractions and seed give the same split.
 */
export function assignSplits(labels: Uint8Array, fractions: Fractions, seed: number, nStrata = 2): Uint8Array {
  const codes = new Uint8Array(labels.length).fill(NO_SPLIT);
  const rng = createRng(seed);
  for (let label = 0; label < nStrata; label++) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === label) rows.push(i);
    shuffleInPlace(rows, rng);
    const [train, val] = allocate(rows.length, fractions);
    rows.forEach((row, k) => {
      codes[row] = k < train ? 0 : k < train + val ? 1 : 2;
    });
  }
  return codes;
}
