import { describe, expect, it } from 'vitest';
import { TabularPreprocessor, type TabularColumns } from '../src/ml/preprocessing.js';
import type { FeatureSpec } from '../src/ml/types.js';
import { expectAllClose, loadFixture } from './ml-fixtures.js';

interface PreprocessingFixture {
  numeric: string[];
  categorical: string[];
  train: Record<string, (number | string | null)[]>;
  test: Record<string, (number | string | null)[]>;
  linear: {
    median: number[];
    mean: number[];
    scale: number[];
    categories: string[][];
    most_frequent: string[];
    train: (number | null)[][];
    test: (number | null)[][];
  };
  tree: { categories: string[][]; train: (number | null)[][]; test: (number | null)[][] };
}
const fx = loadFixture<PreprocessingFixture>('sklearn_preprocessing.json');

const features: FeatureSpec[] = [
  { name: 'age', type: 'integer', nullable: true },
  { name: 'income', type: 'float', nullable: true },
  { name: 'flag', type: 'boolean', nullable: true },
  { name: 'city', type: 'categorical', nullable: true },
  { name: 'plan', type: 'categorical', nullable: true },
];

function toColumns(table: PreprocessingFixture['train']): TabularColumns {
  const out: TabularColumns = {};
  for (const name of fx.numeric) out[name] = Float64Array.from(table[name], (v) => (v === null ? NaN : (v as number)));
  for (const name of fx.categorical) out[name] = table[name] as (string | null)[];
  return out;
}

function toRecords(table: PreprocessingFixture['train']): Record<string, unknown>[] {
  const names = Object.keys(table);
  return table[names[0]].map((_, i) => Object.fromEntries(names.map((n) => [n, table[n][i]])));
}

/** Compares a column-major Frame with scikit-learn's row-major output. */
function expectFrameClose(columns: Float64Array[], rows: (number | null)[][], tol: number): void {
  expect(columns.length).toBe(rows[0].length);
  columns.forEach((col, j) => expectAllClose(col, rows.map((r) => r[j]), tol));
}

const train = toColumns(fx.train);
const test = toColumns(fx.test);

describe("'linear' encoding vs SimpleImputer + StandardScaler + OneHotEncoder", () => {
  const pre = TabularPreprocessor.fit(train, features, 'linear');

  it('learns the same medians, means, scales, categories and most frequent values', () => {
    const json = pre.toJSON();
    if (json.encoding !== 'linear') throw new Error('expected linear');
    expectAllClose(json.numeric.map((f) => f.median), fx.linear.median, 1e-12);
    expectAllClose(json.numeric.map((f) => f.mean), fx.linear.mean, 1e-9);
    expectAllClose(json.numeric.map((f) => f.scale), fx.linear.scale, 1e-9);
    expect(json.categorical.map((f) => f.categories)).toEqual(fx.linear.categories);
    // 'b' and 'c' tie for most frequent city: the smaller wins, as in scikit-learn.
    expect(json.categorical.map((f) => f.mostFrequent)).toEqual(fx.linear.most_frequent);
  });

  it('transforms training and unseen rows identically (unknown category -> all zeros)', () => {
    expectFrameClose(pre.transformColumns(train).columns, fx.linear.train, 1e-12);
    expectFrameClose(pre.transformColumns(test).columns, fx.linear.test, 1e-12);
  });

  it('names the output columns', () => {
    expect(pre.featureNames).toEqual(['age', 'income', 'flag', 'city=a', 'city=b', 'city=c', 'city=d', 'plan=x', 'plan=y']);
    expect(pre.categoricalFeatureIndices).toEqual([]);
  });
});

describe("'tree' encoding", () => {
  const pre = TabularPreprocessor.fit(train, features, 'tree');

  it('keeps NaN and codes categories in sorted order (missing or unseen -> NaN)', () => {
    expectFrameClose(pre.transformColumns(train).columns, fx.tree.train, 0);
    expectFrameClose(pre.transformColumns(test).columns, fx.tree.test, 0);
    expect(pre.fittedFeatures().filter((f) => f.type === 'categorical').map((f) => f.categories)).toEqual(fx.tree.categories);
  });

  it('reports the categorical output columns', () => {
    expect(pre.featureNames).toEqual(['age', 'income', 'flag', 'city', 'plan']);
    expect(pre.categoricalFeatureIndices).toEqual([3, 4]);
  });
});

describe('records (serving input)', () => {
  it.each(['linear', 'tree'] as const)('%s: records encode exactly like columns', (encoding) => {
    const pre = TabularPreprocessor.fit(train, features, encoding);
    for (const table of [fx.train, fx.test]) {
      expect(pre.transformRecords(toRecords(table))).toEqual(pre.transformColumns(toColumns(table)));
    }
  });

  it('accepts numeric strings, booleans as true/false or 0/1, numbers for categories, and blanks as missing', () => {
    const pre = TabularPreprocessor.fit(train, features, 'tree');
    const frame = pre.transformRecords([
      { age: '40', income: ' 2.5e6 ', flag: true, city: ' a ', plan: 'y' },
      { age: '', income: null, flag: 'false', city: '', extra: 'ignored' },
      { age: 7, income: 1, flag: 1, city: 12, plan: 'x' },
    ]);
    const rows = [0, 1, 2].map((i) => frame.columns.map((c) => c[i]));
    expect(rows[0]).toEqual([40, 2.5e6, 1, 0, 1]);
    expect(rows[1]).toEqual([NaN, NaN, 0, NaN, NaN]);
    expect(rows[2]).toEqual([7, 1, 1, NaN, 0]);
  });

  it('names the record and field of a bad value', () => {
    const pre = TabularPreprocessor.fit(train, features, 'linear');
    expect(() => pre.transformRecords([{ age: 1 }, { age: 'old' }])).toThrow("record 1: field 'age' must be a number or null, got \"old\"");
    expect(() => pre.transformRecords([{ flag: 'maybe' }])).toThrow("record 0: field 'flag' must be true/false (or 0/1) or null");
    expect(() => pre.transformRecords([{ income: Infinity }])).toThrow("record 0: field 'income' must be a number");
    expect(() => pre.transformRecords([{ city: { a: 1 } }])).toThrow("record 0: field 'city' must be a string or null, got an object");
    expect(() => pre.transformRecords([{}, null as unknown as Record<string, unknown>])).toThrow('record 1 must be an object, got null');
  });
});

describe('fitting errors and serialisation', () => {
  it('names the missing, ragged or mistyped column', () => {
    expect(() => TabularPreprocessor.fit({ ...train, plan: undefined as never }, features, 'linear')).toThrow("data has no column for feature 'plan'");
    expect(() => TabularPreprocessor.fit({ ...train, age: new Float64Array(3) }, features, 'linear')).toThrow(
      "column 'income' has 8 rows but column 'age' has 3",
    );
    expect(() => TabularPreprocessor.fit({ ...train, age: new Array(8).fill('1') as never }, features, 'linear')).toThrow(
      "column 'age' (integer feature) must be a Float64Array",
    );
    expect(() => TabularPreprocessor.fit({ ...train, age: new Float64Array(8).fill(NaN) }, features, 'tree')).toThrow(
      "feature 'age' has no non-missing values",
    );
  });

  it('round-trips through JSON and rejects broken state naming the field', () => {
    const pre = TabularPreprocessor.fit(train, features, 'linear');
    const copy = TabularPreprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON())));
    expect(copy.transformColumns(test)).toEqual(pre.transformColumns(test));
    const json = pre.toJSON() as any;
    json.numeric[1].scale = 0;
    expect(() => TabularPreprocessor.fromJSON(json)).toThrow('preprocessing.numeric[1].scale must be >=');
    json.numeric[1].scale = 1;
    json.categorical[0].mostFrequent = 'nowhere';
    expect(() => TabularPreprocessor.fromJSON(json)).toThrow('preprocessing.categorical[0].mostFrequent must be one of "a", "b", "c", "d"');
  });

  it('scales a constant column by 1, like StandardScaler', () => {
    const pre = TabularPreprocessor.fit({ k: new Float64Array([5, 5, NaN]) }, [{ name: 'k', type: 'float', nullable: true }], 'linear');
    expect(Array.from(pre.transformColumns({ k: new Float64Array([5, 7]) }).columns[0])).toEqual([0, 2]);
  });
});
