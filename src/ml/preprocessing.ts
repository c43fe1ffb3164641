/**
 * The fitted, serialisable step that turns input columns or records into the numeric Frame a model scores.
 *
 * Output layout: the numeric features (integer, float, boolean) in signature order, then the categorical ones.
 * - 'linear' encoding (for linear models) = scikit-learn's SimpleImputer(median) + StandardScaler on numerics and
 *   SimpleImputer(most_frequent) + OneHotEncoder(handle_unknown='ignore') on categoricals: no NaN in the output, an
 *   unseen category becomes all zeros.
 * - 'tree' encoding (for gradient boosting) passes numerics through with NaN for missing and turns each categorical
 *   into its integer code among the training categories (sorted), NaN for missing or unseen; the model splits on
 *   those codes natively (`categoricalFeatureIndices`).
 * Everything is learned from the training data passed to `fit`, nothing from later data.
 */
import { describe } from './frame.js';
import {
  expectArray,
  expectFinite,
  expectObject,
  expectOneOf,
  expectString,
  expectStringArray,
  JsonShapeError,
} from './json-check.js';
import type { FeatureSpec, FeatureType, Frame } from './types.js';

/** Training/evaluation data by column: numeric features as Float64Array (NaN = missing), categoricals as strings. */
export type TabularColumns = Record<string, Float64Array | (string | null)[]>;

/** How features become numbers: 'linear' (impute, scale, one-hot) or 'tree' (NaN kept, categorical codes). */
export type Encoding = 'linear' | 'tree';

export type NumericType = Exclude<FeatureType, 'categorical'>;

export interface LinearNumericJSON {
  name: string;
  type: NumericType;
  /** Imputed for missing values. */
  median: number;
  /** Standardisation: (value - mean) / scale, computed after imputation. */
  mean: number;
  scale: number;
}

export interface LinearCategoricalJSON {
  name: string;
  /** One output column per category, in this (sorted) order. */
  categories: string[];
  /** Imputed for missing values; one of `categories`. */
  mostFrequent: string;
}

export interface TreeNumericJSON {
  name: string;
  type: NumericType;
}

export interface TreeCategoricalJSON {
  name: string;
  /** Category i is encoded as the number i. */
  categories: string[];
}

/** The serialised preprocessor, as stored in the model file under `preprocessing`. */
export type PreprocessingJSON =
  | { encoding: 'linear'; numeric: LinearNumericJSON[]; categorical: LinearCategoricalJSON[] }
  | { encoding: 'tree'; numeric: TreeNumericJSON[]; categorical: TreeCategoricalJSON[] };

type NumericStep = LinearNumericJSON | TreeNumericJSON;
type CategoricalStep = LinearCategoricalJSON | TreeCategoricalJSON;

const NUMERIC_TYPES: readonly NumericType[] = ['integer', 'float', 'boolean'];

export class TabularPreprocessor {
  /** Output column names: numeric feature names, then `name=category` per one-hot column (linear) or `name` (tree). */
  readonly featureNames: string[];
  /** Output columns holding categorical codes, for a tree model's native categorical splits (empty for 'linear'). */
  readonly categoricalFeatureIndices: number[];
  private readonly categoryIndex: Map<string, number>[];

  private constructor(private readonly state: PreprocessingJSON) {
    const { numeric, categorical } = state;
    this.categoryIndex = categorical.map((c) => new Map(c.categories.map((cat, i) => [cat, i])));
    this.featureNames = numeric.map((f) => f.name);
    this.categoricalFeatureIndices = [];
    for (const c of categorical) {
      if (state.encoding === 'linear') {
        for (const cat of c.categories) this.featureNames.push(`${c.name}=${cat}`);
      } else {
        this.categoricalFeatureIndices.push(this.featureNames.length);
        this.featureNames.push(c.name);
      }
    }
  }

  get encoding(): Encoding {
    return this.state.encoding;
  }

  /** Number of output columns. */
  get nOutputs(): number {
    return this.featureNames.length;
  }

  /** Learns imputation values, scales and categories from the training columns. */
  static fit(data: TabularColumns, features: FeatureSpec[], encoding: Encoding): TabularPreprocessor {
    if (encoding !== 'linear' && encoding !== 'tree') throw new RangeError(`encoding must be 'linear' or 'tree', got ${describe(encoding)}`);
    checkFeatureSpecs(features);
    const nRows = rowCount(data, features);
    const numericSpecs = features.filter((f) => f.type !== 'categorical');
    const categoricalSpecs = features.filter((f) => f.type === 'categorical');
    const raw = readColumns(data, features, nRows);
    const noValues = (name: string) =>
      new RangeError(`cannot fit preprocessing: feature '${name}' has no non-missing values in the training data`);

    const numeric = numericSpecs.map((spec): NumericStep => {
      const values = raw.numeric.get(spec.name)!;
      const type = spec.type as NumericType;
      const median = nanMedian(values);
      if (Number.isNaN(median)) throw noValues(spec.name);
      if (encoding === 'tree') return { name: spec.name, type };
      return { name: spec.name, type, median, ...standardScale(values, median) };
    });
    const categorical = categoricalSpecs.map((spec): CategoricalStep => {
      const counts = new Map<string, number>();
      for (const v of raw.categorical.get(spec.name)!) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
      if (counts.size === 0) throw noValues(spec.name);
      const categories = [...counts.keys()].sort(compareStrings);
      if (encoding === 'tree') return { name: spec.name, categories };
      // Ties go to the smallest category, like scikit-learn's most_frequent.
      let mostFrequent = categories[0];
      for (const c of categories) if (counts.get(c)! > counts.get(mostFrequent)!) mostFrequent = c;
      return { name: spec.name, categories, mostFrequent };
    });
    return new TabularPreprocessor({ encoding, numeric, categorical } as PreprocessingJSON);
  }

  /** Encodes training/evaluation columns (every feature must be present, all of the same length). */
  transformColumns(data: TabularColumns): Frame {
    const features = this.fittedFeatures();
    const nRows = rowCount(data, features);
    return this.encode(readColumns(data, features, nRows), nRows);
  }

  /**
   * Encodes records as an API receives them. Numeric fields take numbers or numeric strings; boolean fields take
   * true/false, 0/1 or "true"/"false"; categorical fields take strings (numbers are converted). null, a missing key
   * or "" means missing. Unknown fields are ignored. Errors name the record and the field.
   */
  transformRecords(records: readonly Record<string, unknown>[]): Frame {
    if (!Array.isArray(records)) throw new TypeError(`records must be an array of objects, got ${describe(records)}`);
    const n = records.length;
    const raw: RawColumns = { numeric: new Map(), categorical: new Map() };
    for (const f of this.state.numeric) raw.numeric.set(f.name, new Float64Array(n));
    for (const f of this.state.categorical) raw.categorical.set(f.name, new Array<string | null>(n));
    for (let i = 0; i < n; i++) {
      const record = records[i];
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw new TypeError(`record ${i} must be an object, got ${describe(record)}`);
      }
      for (const f of this.state.numeric) raw.numeric.get(f.name)![i] = parseNumeric(record[f.name], f.type, i, f.name);
      for (const f of this.state.categorical) raw.categorical.get(f.name)![i] = parseCategorical(record[f.name], i, f.name);
    }
    return this.encode(raw, n);
  }

  /** The input features with the categories seen in training, in code order. */
  fittedFeatures(): Pick<FeatureSpec, 'name' | 'type' | 'categories'>[] {
    return [
      ...this.state.numeric.map((f) => ({ name: f.name, type: f.type })),
      ...this.state.categorical.map((f) => ({ name: f.name, type: 'categorical' as const, categories: f.categories.slice() })),
    ];
  }

  toJSON(): PreprocessingJSON {
    return structuredClone(this.state);
  }

  /** Rebuilds a preprocessor from `toJSON()` output, checking every field; errors name it under `path`. */
  static fromJSON(json: unknown, path = 'preprocessing'): TabularPreprocessor {
    const o = expectObject(json, path);
    const encoding = expectOneOf(o.encoding, `${path}.encoding`, ['linear', 'tree'] as const);
    const names = new Set<string>();
    const uniqueName = (value: unknown, at: string) => {
      const name = expectString(value, at, { nonEmpty: true });
      if (names.has(name)) throw new JsonShapeError(at, `repeats feature ${JSON.stringify(name)}`);
      names.add(name);
      return name;
    };
    const numeric = expectArray(o.numeric, `${path}.numeric`).map((item, j): NumericStep => {
      const at = `${path}.numeric[${j}]`;
      const f = expectObject(item, at);
      const name = uniqueName(f.name, `${at}.name`);
      const type = expectOneOf(f.type, `${at}.type`, NUMERIC_TYPES);
      if (encoding === 'tree') return { name, type };
      return {
        name,
        type,
        median: expectFinite(f.median, `${at}.median`),
        mean: expectFinite(f.mean, `${at}.mean`),
        scale: expectFinite(f.scale, `${at}.scale`, { min: Number.MIN_VALUE }),
      };
    });
    const categorical = expectArray(o.categorical, `${path}.categorical`).map((item, j): CategoricalStep => {
      const at = `${path}.categorical[${j}]`;
      const f = expectObject(item, at);
      const name = uniqueName(f.name, `${at}.name`);
      const categories = expectStringArray(f.categories, `${at}.categories`, { unique: true });
      if (categories.length === 0) throw new JsonShapeError(`${at}.categories`, 'must not be empty');
      if (encoding === 'tree') return { name, categories };
      return { name, categories, mostFrequent: expectOneOf(f.mostFrequent, `${at}.mostFrequent`, categories) };
    });
    return new TabularPreprocessor({ encoding, numeric, categorical } as PreprocessingJSON);
  }

  private encode(raw: RawColumns, nRows: number): Frame {
    const columns: Float64Array[] = [];
    const { state } = this;
    for (const f of state.numeric) {
      const values = raw.numeric.get(f.name)!;
      if (state.encoding === 'tree') {
        columns.push(Float64Array.from(values));
        continue;
      }
      const { median, mean, scale } = f as LinearNumericJSON;
      const out = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) out[i] = ((Number.isNaN(values[i]) ? median : values[i]) - mean) / scale;
      columns.push(out);
    }
    state.categorical.forEach((f, c) => {
      const values = raw.categorical.get(f.name)!;
      const index = this.categoryIndex[c];
      if (state.encoding === 'tree') {
        const out = new Float64Array(nRows);
        for (let i = 0; i < nRows; i++) {
          const code = values[i] === null ? undefined : index.get(values[i]!);
          out[i] = code === undefined ? NaN : code;
        }
        columns.push(out);
        return;
      }
      const fill = (f as LinearCategoricalJSON).mostFrequent;
      const oneHot = f.categories.map(() => new Float64Array(nRows));
      for (let i = 0; i < nRows; i++) {
        const code = index.get(values[i] ?? fill);
        if (code !== undefined) oneHot[code][i] = 1;
      }
      columns.push(...oneHot);
    });
    return { nRows, columns, names: this.featureNames.slice() };
  }
}

/** Raw input values per feature after parsing: numbers with NaN for missing; trimmed strings with null for missing. */
interface RawColumns {
  numeric: Map<string, Float64Array>;
  categorical: Map<string, (string | null)[]>;
}

function readColumns(data: TabularColumns, features: { name: string; type: FeatureType }[], nRows: number): RawColumns {
  const raw: RawColumns = { numeric: new Map(), categorical: new Map() };
  for (const f of features) {
    const column = data[f.name];
    if (f.type === 'categorical') {
      const out = new Array<string | null>(nRows);
      if (column instanceof Float64Array) {
        for (let i = 0; i < nRows; i++) out[i] = Number.isNaN(column[i]) ? null : String(column[i]);
      } else {
        for (let i = 0; i < nRows; i++) {
          const v = column[i];
          if (v !== null && typeof v !== 'string') {
            throw new TypeError(`column '${f.name}' (categorical) row ${i} must be a string or null, got ${describe(v)}`);
          }
          out[i] = normaliseCategory(v);
        }
      }
      raw.categorical.set(f.name, out);
    } else {
      if (!(column instanceof Float64Array)) {
        throw new TypeError(`column '${f.name}' (${f.type} feature) must be a Float64Array (NaN = missing), got ${describe(column)}`);
      }
      raw.numeric.set(f.name, column);
    }
  }
  return raw;
}

function rowCount(data: TabularColumns, features: { name: string }[]): number {
  if (data === null || typeof data !== 'object') throw new TypeError(`data must be an object of columns, got ${describe(data)}`);
  let n = -1;
  let first = '';
  for (const f of features) {
    const column = data[f.name];
    if (column === undefined) throw new RangeError(`data has no column for feature '${f.name}'`);
    if (!(column instanceof Float64Array) && !Array.isArray(column)) {
      throw new TypeError(`column '${f.name}' must be a Float64Array or an array of strings, got ${describe(column)}`);
    }
    if (n === -1) {
      n = column.length;
      first = f.name;
    } else if (column.length !== n) {
      throw new RangeError(`column '${f.name}' has ${column.length} rows but column '${first}' has ${n}`);
    }
  }
  return Math.max(n, 0);
}

function checkFeatureSpecs(features: FeatureSpec[]): void {
  if (!Array.isArray(features) || features.length === 0) throw new RangeError('features must be a non-empty array of FeatureSpec');
  const seen = new Set<string>();
  features.forEach((f, j) => {
    if (typeof f?.name !== 'string' || f.name === '') throw new TypeError(`features[${j}].name must be a non-empty string`);
    if (seen.has(f.name)) throw new RangeError(`features[${j}].name repeats feature '${f.name}'`);
    seen.add(f.name);
    if (f.type !== 'categorical' && !NUMERIC_TYPES.includes(f.type)) {
      throw new RangeError(`features[${j}].type must be integer, float, boolean or categorical, got ${describe(f.type)}`);
    }
  });
}

function parseNumeric(value: unknown, type: NumericType, row: number, name: string): number {
  if (value === null || value === undefined) return NaN;
  const fail = (): never => {
    const expected = type === 'boolean' ? 'true/false (or 0/1)' : 'a number';
    throw new TypeError(`record ${row}: field '${name}' must be ${expected} or null, got ${describe(value)}`);
  };
  if (type === 'boolean') {
    if (value === true || value === 1) return 1;
    if (value === false || value === 0) return 0;
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (s === '') return NaN;
      if (s === 'true' || s === '1') return 1;
      if (s === 'false' || s === '0') return 0;
    }
    return fail();
  }
  if (typeof value === 'number') return Number.isNaN(value) || Number.isFinite(value) ? value : fail();
  if (typeof value === 'string') {
    const s = value.trim();
    if (s === '') return NaN;
    const v = Number(s);
    return Number.isFinite(v) ? v : fail();
  }
  return fail();
}

function parseCategorical(value: unknown, row: number, name: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return normaliseCategory(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  throw new TypeError(`record ${row}: field '${name}' must be a string or null, got ${describe(value)}`);
}

/** Categories are compared trimmed; an empty string is missing. */
function normaliseCategory(value: string | null): string | null {
  if (value === null) return null;
  const s = value.trim();
  return s === '' ? null : s;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Median of the non-NaN values (mean of the middle two for an even count); NaN when there are none. */
function nanMedian(values: Float64Array): number {
  const present = values.filter((v) => !Number.isNaN(v)).sort();
  const n = present.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
}

/**
 * Mean and population standard deviation of the median-imputed column, as scikit-learn's StandardScaler computes
 * them (with the same rounding-error correction); a constant column gets scale 1.
 */
function standardScale(values: Float64Array, median: number): { mean: number; scale: number } {
  const n = values.length;
  const at = (i: number) => (Number.isNaN(values[i]) ? median : values[i]);
  let total = 0;
  for (let i = 0; i < n; i++) total += at(i);
  const mean = total / n;
  let sq = 0;
  let correction = 0;
  for (let i = 0; i < n; i++) {
    const d = at(i) - mean;
    correction += d;
    sq += d * d;
  }
  const variance = (sq - (correction * correction) / n) / n;
  const eps = Number.EPSILON;
  const constant = variance <= n * eps * variance + (n * mean * eps) ** 2;
  return { mean, scale: constant ? 1 : Math.sqrt(variance) };
}
