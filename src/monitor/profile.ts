/**
 * The reference profile of a model version, built at training time and stored with the version: per feature,
 * quantile bins with their counts, exact counts when there are few distinct values, and a seeded sample of values
 * bounded in size (numeric); level counts and missing values (categorical); the distribution of the predicted
 * probability on the test split; and an isotonic calibration map fitted on the labelled test split for estimating
 * quality without labels. Plain JSON data of tens to a few hundred kilobytes. Pure functions, no I/O.
 */
import { createRng } from '../ml/random.js';
import type { FeatureType } from '../ml/types.js';
import { fitIsotonicCalibration, type Calibration } from './quality.js';
import type { ColumnData, ColumnKind } from './drift.js';
import { populationStd } from './drift.js';

export const PROFILE_FORMAT = 'mldeploy-reference-profile';
export const PROFILE_FORMAT_VERSION = 1;
/** At most this many values per column are kept (seeded sample); all of them when the column has fewer. */
export const PROFILE_SAMPLE_SIZE = 5000;
/** Numeric columns with at most this many distinct values also keep exact counts per value. */
const MAX_COUNTED_VALUES = 20;
const QUANTILE_BINS = 20;

export interface NumericProfile {
  name: string;
  kind: 'numeric';
  type: Exclude<FeatureType, 'categorical'>;
  /** Non-missing values in the reference data. */
  rows: number;
  missing: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Quantile bin edges (distinct, ascending) and the count in each bin: [e_k, e_k+1), the last bin closed. */
  bins: { edges: number[]; counts: number[] };
  /** Exact counts per value, when the column has at most 20 distinct values; else null. */
  values: Array<[number, number]> | null;
  /** Non-missing values: all of them, or a seeded sample of PROFILE_SAMPLE_SIZE. */
  sample: number[];
}

export interface CategoricalProfile {
  name: string;
  kind: 'categorical';
  rows: number;
  missing: number;
  /** Count per level seen in the reference data, most frequent first. */
  levels: Array<[string, number]>;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

export interface ReferenceProfile {
  format: typeof PROFILE_FORMAT;
  formatVersion: number;
  createdAt: string;
  /** Rows of the reference data (the train split). */
  rows: number;
  seed: number;
  features: ColumnProfile[];
  /** The model's output on the test split: the probability of the positive class for a binary classifier. */
  prediction: ColumnProfile;
  /** Isotonic map from predicted to observed probability on the test split (null without both classes). */
  calibration: Calibration | null;
  /** A multi-class model's classes in code order: the log stores a class by its code. */
  classes?: string[];
}

/** A feature of the reference data: numbers with NaN for missing, or strings with null. */
export interface ReferenceColumn {
  name: string;
  type: FeatureType;
  values: ArrayLike<number> | ReadonlyArray<string | null>;
}

export interface BuildProfileOptions {
  features: ReferenceColumn[];
  /**
   * The model's output on the test split, as it is logged with each live prediction: the probability of the positive
   * class for a binary classifier (name 'probability', numeric), the predicted value of a regression (name 'value',
   * numeric) or the predicted class of a multi-class model (name 'class', categorical).
   */
  prediction: ReferenceColumn;
  /** A binary classifier's 0/1 test labels: the calibration map for estimating quality without labels. */
  testLabels?: ArrayLike<number>;
  /** A multi-class model's classes in code order, when `prediction` is its predicted class (name 'class'). */
  classes?: string[];
  seed: number;
  createdAt?: string;
  sampleSize?: number;
}

export function buildReferenceProfile(options: BuildProfileOptions): ReferenceProfile {
  const sampleSize = options.sampleSize ?? PROFILE_SAMPLE_SIZE;
  const rows = options.features[0]?.values.length ?? 0;
  const features = options.features.map((column, j) =>
    column.type === 'categorical'
      ? categoricalProfile(column.name, column.values as ReadonlyArray<string | null>)
      : numericProfile(column.name, column.type, column.values as ArrayLike<number>, sampleSize, options.seed + j),
  );
  const output = options.prediction;
  const prediction =
    output.type === 'categorical'
      ? categoricalProfile(output.name, output.values as ReadonlyArray<string | null>)
      : numericProfile(output.name, output.type, output.values as ArrayLike<number>, sampleSize, options.seed - 1);
  const labels = options.testLabels ?? [];
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const calibration =
    output.type !== 'categorical' && positives > 0 && positives < labels.length
      ? fitIsotonicCalibration(output.values as ArrayLike<number>, labels)
      : null;
  return {
    format: PROFILE_FORMAT,
    formatVersion: PROFILE_FORMAT_VERSION,
    createdAt: options.createdAt ?? new Date().toISOString(),
    rows,
    seed: options.seed,
    features,
    prediction,
    calibration,
    ...(options.classes ? { classes: options.classes } : {}),
  };
}

function numericProfile(
  name: string,
  type: NumericProfile['type'],
  values: ArrayLike<number>,
  sampleSize: number,
  seed: number,
): NumericProfile {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) present.push(values[i]);
  const sorted = Float64Array.from(present).sort();
  const n = sorted.length;
  const counts = new Map<number, number>();
  for (const v of sorted) {
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (counts.size > MAX_COUNTED_VALUES) break;
  }
  let mean = 0;
  for (const v of present) mean += v;
  mean = n > 0 ? mean / n : NaN;
  return {
    name,
    kind: 'numeric',
    type,
    rows: n,
    missing: values.length - n,
    mean: n > 0 ? mean : null,
    std: n > 0 ? populationStd(present) : null,
    min: n > 0 ? sorted[0] : null,
    max: n > 0 ? sorted[n - 1] : null,
    bins: quantileBins(sorted),
    values: counts.size <= MAX_COUNTED_VALUES ? [...counts] : null,
    sample: sampleOf(present, sampleSize, seed),
  };
}

/** Distinct quantile edges of sorted values, and the counts in the bins they make. */
function quantileBins(sorted: Float64Array): { edges: number[]; counts: number[] } {
  const n = sorted.length;
  if (n === 0) return { edges: [], counts: [] };
  const edges: number[] = [];
  for (let k = 0; k <= QUANTILE_BINS; k++) {
    const position = (k / QUANTILE_BINS) * (n - 1);
    const lo = Math.floor(position);
    const value = sorted[lo] + (sorted[Math.min(lo + 1, n - 1)] - sorted[lo]) * (position - lo);
    if (edges.length === 0 || value > edges[edges.length - 1]) edges.push(value);
  }
  return { edges, counts: Array.from(binCounts(sorted, edges)) };
}

/** Counts of values in the bins [e_k, e_k+1), the last closed; values outside the edges go to the end bins. */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): Float64Array {
  const bins = Math.max(1, edges.length - 1);
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    let lo = 0;
    let hi = edges.length - 1;
    // The last edge <= v (binary search), clamped into the bins.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    counts[Math.min(lo, bins - 1)]++;
  }
  return counts;
}

function sampleOf(values: number[], size: number, seed: number): number[] {
  if (values.length <= size) return values.slice();
  // Partial Fisher-Yates on a copy: the first `size` entries are a uniform sample without replacement.
  const copy = values.slice();
  const rng = createRng(seed);
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, size);
}

function categoricalProfile(name: string, values: ReadonlyArray<string | null>): CategoricalProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const v of values) {
    if (v === null || v === undefined) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return {
    name,
    kind: 'categorical',
    rows: values.length - missing,
    missing,
    levels: [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  };
}

/** The reference side of a column as the drift tests take it. */
export function referenceColumnData(profile: ColumnProfile): ColumnData {
  if (profile.kind === 'categorical') return { kind: 'categorical', rows: profile.rows, counts: new Map(profile.levels) };
  return {
    kind: 'numeric',
    rows: profile.rows,
    values: profile.sample,
    ...(profile.values ? { counts: new Map(profile.values) } : {}),
    ...(profile.std !== null ? { std: profile.std } : {}),
  };
}

export function kindOf(type: FeatureType): ColumnKind {
  return type === 'categorical' ? 'categorical' : 'numeric';
}

/** Checks that parsed JSON is a reference profile this code reads. */
export function parseReferenceProfile(json: unknown): ReferenceProfile {
  const profile = json as Partial<ReferenceProfile> | null;
  if (!profile || profile.format !== PROFILE_FORMAT) throw new Error('not a reference profile');
  if (profile.formatVersion !== PROFILE_FORMAT_VERSION) {
    throw new Error(`reference profile format version ${profile.formatVersion} is not supported (expected ${PROFILE_FORMAT_VERSION})`);
  }
  if (!Array.isArray(profile.features) || !profile.prediction) throw new Error('reference profile without features or prediction');
  // Samples sorted once here: the tests sort their inputs, and an already sorted array sorts fastest.
  for (const column of [...profile.features, profile.prediction]) {
    if (column.kind === 'numeric') column.sample.sort((a, b) => a - b);
  }
  return profile as ReferenceProfile;
}

/** A profile without its samples: what `mldeploy models show` prints. */
export interface ProfileSummary {
  rows: number;
  createdAt: string;
  features: ColumnSummary[];
  prediction: ColumnSummary;
  calibrated: boolean;
}

export type ColumnSummary =
  | { name: string; kind: 'numeric'; rows: number; missing: number; mean: number | null; std: number | null; min: number | null; max: number | null; bins: number }
  | { name: string; kind: 'categorical'; rows: number; missing: number; levels: number; top: Array<[string, number]> };

export function summariseProfile(profile: ReferenceProfile): ProfileSummary {
  const column = (c: ColumnProfile): ColumnSummary =>
    c.kind === 'numeric'
      ? { name: c.name, kind: 'numeric', rows: c.rows, missing: c.missing, mean: c.mean, std: c.std, min: c.min, max: c.max, bins: c.bins.counts.length }
      : { name: c.name, kind: 'categorical', rows: c.rows, missing: c.missing, levels: c.levels.length, top: c.levels.slice(0, 5) };
  return {
    rows: profile.rows,
    createdAt: profile.createdAt,
    features: profile.features.map(column),
    prediction: column(profile.prediction),
    calibrated: profile.calibration !== null,
  };
}
