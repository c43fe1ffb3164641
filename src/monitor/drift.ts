/**
 * Drift of one column between the reference (training data) and the current window, with Evidently's default test
 * choice as the anchor:
 * - reference of at most 1,000 rows: two-sample Kolmogorov-Smirnov for numeric columns with more than 5 distinct
 *   values, a proportion z-test for columns with at most 2, chi-squared for the rest; drift when p < 0.05;
 * - larger references: Wasserstein distance normalised by the reference's standard deviation for numeric columns
 *   with more than 5 distinct values, Jensen-Shannon distance otherwise; drift when the distance is >= 0.1.
 * Distinct values are counted over both sides together, missing values are left out (their share is reported
 * separately), and PSI is reported beside every test. Pure functions, no I/O.
 */
import {
  chi2Contingency,
  equalWidthEdges,
  equalWidthHistogram,
  jensenShannonDistance,
  ksTwoSample,
  populationStabilityIndex,
  proportionZTest,
  wassersteinDistance,
} from './stats.js';

/** Task-agnostic kinds: numbers (integer, float, boolean, probabilities, regression outputs) or levels. */
export type ColumnKind = 'numeric' | 'categorical';
export type DriftTest = 'ks' | 'z' | 'chi_squared' | 'wasserstein' | 'jensen_shannon';

export interface DriftOptions {
  /** Reference sizes up to this use statistical tests, above it distances (Evidently: 1,000). */
  smallReferenceRows?: number;
  /** p-value below which a test says drift. */
  alpha?: number;
  /** Distance at or above which Wasserstein or Jensen-Shannon says drift. */
  distanceThreshold?: number;
}

export const DRIFT_DEFAULTS: Required<DriftOptions> = { smallReferenceRows: 1000, alpha: 0.05, distanceThreshold: 0.1 };

/** PSI at or above this is reported as a shift (Evidently's default); it does not decide drift here. */
export const PSI_THRESHOLD = 0.1;
const PSI_BINS = 30;

/**
 * One side of a column. Numeric columns give their non-missing values (for the reference, all of them or a bounded
 * sample) and, when the column has few distinct values, exact counts per value; categorical columns give counts per
 * level. `rows` is the number of non-missing values of the whole side (it decides the test family for the reference).
 */
export type ColumnData =
  | { kind: 'numeric'; rows: number; values: ArrayLike<number>; counts?: ReadonlyMap<number, number>; std?: number }
  | { kind: 'categorical'; rows: number; counts: ReadonlyMap<string, number> };

export interface ColumnDrift {
  test: DriftTest;
  /** The drift score: a p-value for the tests, a distance for Wasserstein and Jensen-Shannon. */
  statistic: number;
  score_kind: 'p_value' | 'distance';
  threshold: number;
  drifted: boolean;
  /** The test's own statistic where it has one (KS D, chi-squared, z). */
  test_statistic: number | null;
  psi: number;
}

/** Drift of one column; null when either side has no non-missing value. */
export function columnDrift(reference: ColumnData, current: ColumnData, options: DriftOptions = {}): ColumnDrift | null {
  const { smallReferenceRows, alpha, distanceThreshold } = { ...DRIFT_DEFAULTS, ...options };
  if (reference.kind !== current.kind) throw new RangeError(`column kinds differ: ${reference.kind} and ${current.kind}`);
  if (reference.rows === 0 || current.rows === 0) return null;
  const small = reference.rows <= smallReferenceRows;
  if (reference.kind === 'numeric' && current.kind === 'numeric' && moreDistinctThan(5, reference, current)) {
    const psi = numericPsi(reference, current);
    if (small) {
      const ks = ksTwoSample(reference.values, current.values);
      return test('ks', ks.pValue, alpha, ks.statistic, psi);
    }
    const std = reference.std ?? populationStd(reference.values);
    const distance = wassersteinDistance(reference.values, current.values) / Math.max(std, 0.001);
    return distanceResult('wasserstein', distance, distanceThreshold, psi);
  }
  const refCounts = countsOf(reference);
  const curCounts = countsOf(current);
  const keys = unionKeys(refCounts, curCounts);
  const refVector = keys.map((k) => refCounts.get(k) ?? 0);
  const curVector = keys.map((k) => curCounts.get(k) ?? 0);
  const psi = populationStabilityIndex(shares(refVector), shares(curVector));
  if (small) {
    if (keys.length <= 2) {
      if (keys.length === 1) return test('z', 1, alpha, 0, psi);
      const z = proportionZTest(refVector[0], sumOf(refVector), curVector[0], sumOf(curVector));
      return test('z', z.pValue, alpha, z.statistic, psi);
    }
    const chi = chi2Contingency([refVector, curVector]);
    return test('chi_squared', chi.pValue, alpha, chi.statistic, psi);
  }
  return distanceResult('jensen_shannon', jensenShannonDistance(refVector, curVector), distanceThreshold, psi);
}

function test(name: DriftTest, pValue: number, alpha: number, statistic: number, psi: number): ColumnDrift {
  return { test: name, statistic: pValue, score_kind: 'p_value', threshold: alpha, drifted: pValue < alpha, test_statistic: statistic, psi };
}

function distanceResult(name: DriftTest, distance: number, threshold: number, psi: number): ColumnDrift {
  return { test: name, statistic: distance, score_kind: 'distance', threshold, drifted: distance >= threshold, test_statistic: null, psi };
}

/** Evidently's binning for PSI: 30 equal-width bins over both sides when the reference has over 20 distinct values. */
function numericPsi(reference: Extract<ColumnData, { kind: 'numeric' }>, current: Extract<ColumnData, { kind: 'numeric' }>): number {
  const refCounts = countsOf(reference);
  if (refCounts.size <= 20) {
    const curCounts = countsOf(current);
    const keys = unionKeys(refCounts, curCounts);
    return populationStabilityIndex(shares(keys.map((k) => refCounts.get(k) ?? 0)), shares(keys.map((k) => curCounts.get(k) ?? 0)));
  }
  let min = Infinity;
  let max = -Infinity;
  for (const side of [reference.values, current.values]) {
    for (let i = 0; i < side.length; i++) {
      if (side[i] < min) min = side[i];
      if (side[i] > max) max = side[i];
    }
  }
  const edges = equalWidthEdges(min, max, PSI_BINS);
  return populationStabilityIndex(
    shares(Array.from(equalWidthHistogram(reference.values, edges))),
    shares(Array.from(equalWidthHistogram(current.values, edges))),
  );
}

/** Whether the two sides together hold more than `limit` distinct non-missing values (stops as soon as they do). */
function moreDistinctThan(limit: number, ...sides: Array<Extract<ColumnData, { kind: 'numeric' }>>): boolean {
  const seen = new Set<number>();
  for (const side of sides) {
    if (side.counts) {
      for (const [value, n] of side.counts) if (n > 0 && seen.add(value).size > limit) return true;
      continue;
    }
    for (let i = 0; i < side.values.length; i++) if (seen.add(side.values[i]).size > limit) return true;
  }
  return false;
}

/** Counts per value: given, or counted from the values (numeric); a sample's counts stand for the side's. */
function countsOf(data: ColumnData): ReadonlyMap<number | string, number> {
  if (data.kind === 'categorical') return data.counts;
  if (data.counts) return data.counts;
  const counts = new Map<number, number>();
  for (let i = 0; i < data.values.length; i++) counts.set(data.values[i], (counts.get(data.values[i]) ?? 0) + 1);
  return counts;
}

function unionKeys<K extends number | string>(a: ReadonlyMap<K, number>, b: ReadonlyMap<K, number>): K[] {
  const keys = new Set<K>();
  for (const [k, n] of a) if (n > 0) keys.add(k);
  for (const [k, n] of b) if (n > 0) keys.add(k);
  return [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function shares(counts: number[]): number[] {
  const total = sumOf(counts);
  return counts.map((c) => c / total);
}

function sumOf(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

/** numpy.std (population). */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return Math.sqrt(ss / n);
}

/** Dataset drift: the share of drifted columns reaches `share` (Evidently: 0.5). */
export function datasetDrift(drifted: boolean[], share = 0.5): { drifted: boolean; share: number; count: number } {
  const count = drifted.filter(Boolean).length;
  const observed = drifted.length === 0 ? 0 : count / drifted.length;
  return { drifted: drifted.length > 0 && observed >= share, share: observed, count };
}
