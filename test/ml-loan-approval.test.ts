/**
 * End to end on real data: the logistic pipeline (median impute + scale + one-hot + C=1) on loan_approval.csv, 5-fold
 * stratified cross-validation, against scikit-learn's figure for the same recipe in ../shared/reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LogisticRegression } from '../src/ml/logistic.js';
import { rocAuc } from '../src/ml/metrics.js';
import type { TabularColumns } from '../src/ml/preprocessing.js';
import { createRng, shuffleInPlace } from '../src/ml/random.js';
import { fitTabularModel, type ModelSignature } from '../src/ml/tabular-model.js';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const csvPath = `${shared}data/loan_approval.csv`;
const referencePath = `${shared}reference/sklearn_reference.json`;
const available = existsSync(csvPath) && existsSync(referencePath);
if (!available && process.env.CI === 'true') throw new Error(`CI=true but ${csvPath} is missing`);

/** The file is plain (no quotes); names and values carry a leading space, which we strip. */
function loadLoans(): { data: TabularColumns; y: Uint8Array; signature: ModelSignature } {
  const lines = readFileSync(csvPath, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0].split(',').map((h) => h.trim());
  const rows = lines.slice(1).map((l) => l.split(',').map((v) => v.trim()));
  const categorical = new Set(['education', 'self_employed']);
  const features = header.filter((h) => h !== 'loan_id' && h !== 'loan_status');
  const data: TabularColumns = {};
  for (const name of features) {
    const j = header.indexOf(name);
    data[name] = categorical.has(name) ? rows.map((r) => r[j]) : Float64Array.from(rows, (r) => Number(r[j]));
  }
  const target = header.indexOf('loan_status');
  const y = Uint8Array.from(rows, (r) => (r[target] === 'Approved' ? 1 : 0));
  const signature: ModelSignature = {
    features: features.map((name) => ({ name, type: categorical.has(name) ? ('categorical' as const) : ('integer' as const), nullable: false })),
    rowIdColumns: ['loan_id'],
    target: { name: 'loan_status', positiveLabel: 'Approved', negativeLabel: 'Rejected' },
  };
  return { data, y, signature };
}

function subset(data: TabularColumns, rows: number[]): TabularColumns {
  const out: TabularColumns = {};
  for (const [name, col] of Object.entries(data)) {
    out[name] = col instanceof Float64Array ? Float64Array.from(rows, (i) => col[i]) : rows.map((i) => col[i]);
  }
  return out;
}

/** Stratified k folds: each class shuffled (seeded) and dealt round-robin. */
function stratifiedFolds(y: Uint8Array, k: number, seed: number): number[][] {
  const rng = createRng(seed);
  const folds: number[][] = Array.from({ length: k }, () => []);
  for (const cls of [0, 1]) {
    const idx = shuffleInPlace(Array.from(y.keys()).filter((i) => y[i] === cls), rng);
    idx.forEach((i, r) => folds[r % k].push(i));
  }
  return folds;
}

describe.skipIf(!available)('loan_approval.csv, logistic pipeline', () => {
  it("reaches scikit-learn's 5-fold ROC AUC", () => {
    const reference = JSON.parse(readFileSync(referencePath, 'utf8')).sets['loan_approval.csv'].logreg.roc_auc_mean as number;
    const { data, y, signature } = loadLoans();
    expect(y.length).toBe(4269);
    const folds = stratifiedFolds(y, 5, 1337);
    const aucs = folds.map((testRows) => {
      const inTest = new Set(testRows);
      const trainRows = Array.from(y.keys()).filter((i) => !inTest.has(i));
      const model = fitTabularModel({
        data: subset(data, trainRows),
        y: trainRows.map((i) => y[i]),
        signature,
        estimator: new LogisticRegression({ C: 1 }),
        encoding: 'linear',
      });
      return rocAuc(testRows.map((i) => y[i]), model.predictProbaColumns(subset(data, testRows)));
    });
    const mean = aucs.reduce((s, a) => s + a, 0) / aucs.length;
    // Different (but equally stratified) folds than scikit-learn's: allow a few fold-to-fold standard deviations.
    expect(Math.abs(mean - reference)).toBeLessThan(0.006);
  });
});
