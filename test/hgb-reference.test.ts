/**
 * Quality check against scikit-learn on the shared data sets: the same clean-up as
 * ../shared/reference/sklearn_reference.py, the same 5 stratified folds (test/fixtures/hgb/reference_folds.json, made by
 * scripts/hgb_fixtures.py), HistGradientBoostingClassifier with max_iter 100 and early stopping off; the mean ROC AUC
 * must be within 0.005 of ../shared/reference/sklearn_reference.json. Skips when ../shared is absent, except under CI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { HistGradientBoostingClassifier } from '../src/ml/hgb/index.js';
import { rocAuc } from '../src/ml/metrics.js';
import type { Frame } from '../src/ml/types.js';

const SHARED = new URL('../../shared/', import.meta.url);
const available = existsSync(new URL('data/', SHARED)) && existsSync(new URL('reference/sklearn_reference.json', SHARED));
const NA_VALUES = new Set(['NA', 'N/A', 'null', 'NaN', '?', '']);

interface SetSpec {
  separator: string;
  target: string;
  positive: string;
  ids: string[];
}

const SETS: Record<string, SetSpec> = {
  'seed_dataset.csv': { separator: ',', target: 'loan_approval', positive: '1', ids: ['unnamed:_0'] },
  'loan_approval.csv': { separator: ',', target: 'loan_status', positive: 'Approved', ids: ['loan_id'] },
  'credit_default.csv': { separator: ',', target: 'default.payment.next.month', positive: '1', ids: ['id'] },
  'bank_marketing.csv': { separator: ';', target: 'y', positive: 'yes', ids: [] },
};

interface CleanSet {
  X: Frame;
  y: Float64Array;
  categorical: string[];
}

/** sklearn_reference.py's load(): names stripped, lower-cased, spaces to _; ids dropped; text columns ordinal-coded in
 * sorted order of their values; missing markers to NaN. */
function load(file: string, spec: SetSpec): CleanSet {
  const records: string[][] = parse(readFileSync(new URL(`data/${file}`, SHARED)), {
    delimiter: spec.separator,
    ltrim: true,
    relax_column_count: false,
  });
  const header = records[0].map((name, i) => (name.trim() === '' ? `unnamed:_${i}` : name.trim().toLowerCase().replace(/ /g, '_')));
  const rows = records.slice(1);
  const targetIndex = header.indexOf(spec.target);
  const y = Float64Array.from(rows, (r) => (r[targetIndex].trim() === spec.positive ? 1 : 0));
  const names: string[] = [];
  const columns: Float64Array[] = [];
  const categorical: string[] = [];
  header.forEach((name, j) => {
    if (j === targetIndex || spec.ids.includes(name)) return;
    const raw = rows.map((r) => (NA_VALUES.has(r[j].trim()) ? null : r[j].trim()));
    const numeric = raw.every((v) => v === null || !Number.isNaN(Number(v)));
    if (numeric) {
      columns.push(Float64Array.from(raw, (v) => (v === null ? NaN : Number(v))));
    } else {
      const levels = [...new Set(raw.filter((v): v is string => v !== null))].sort();
      columns.push(Float64Array.from(raw, (v) => (v === null ? NaN : levels.indexOf(v))));
      categorical.push(name);
    }
    names.push(name);
  });
  return { X: { nRows: rows.length, columns, names }, y, categorical };
}

function takeRows(frame: Frame, rows: number[]): Frame {
  return { nRows: rows.length, columns: frame.columns.map((c) => Float64Array.from(rows, (r) => c[r])) };
}

describe.skipIf(!available && process.env.CI !== 'true')('5-fold ROC AUC on ../shared/data matches scikit-learn', () => {
  const reference = available ? JSON.parse(readFileSync(new URL('reference/sklearn_reference.json', SHARED), 'utf8')) : null;
  const folds = JSON.parse(readFileSync(new URL('./fixtures/hgb/reference_folds.json', import.meta.url), 'utf8'));

  it.each(Object.keys(SETS))('%s', (file) => {
    const { X, y, categorical } = load(file, SETS[file]);
    const ref = folds.sets[file];
    expect(X.names).toEqual(ref.columns);
    expect(categorical).toEqual(ref.categorical);
    expect(y.reduce((s, v) => s + v, 0)).toBe(ref.positives);
    const mask = (X.names as string[]).map((name) => categorical.includes(name));
    const aucs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const train: number[] = [];
      const test: number[] = [];
      for (let i = 0; i < X.nRows; i++) (ref.fold[i] === String(k) ? test : train).push(i);
      const model = new HistGradientBoostingClassifier({
        maxIter: 100,
        earlyStopping: false,
        categoricalFeatures: mask.some(Boolean) ? mask : null,
      }).fit(takeRows(X, train), Float64Array.from(train, (i) => y[i]));
      aucs.push(rocAuc(Float64Array.from(test, (i) => y[i]), model.predictProba(takeRows(X, test))));
    }
    const mean = aucs.reduce((s, v) => s + v, 0) / aucs.length;
    expect(Math.abs(mean - reference.sets[file].hgb.roc_auc_mean)).toBeLessThan(0.005);
    // Same folds and the same algorithm: each fold's AUC is scikit-learn's up to float rounding.
    aucs.forEach((auc, k) => expect(Math.abs(auc - ref.foldAuc[k])).toBeLessThan(1e-6));
  });
});
