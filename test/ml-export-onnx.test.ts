/**
 * ONNX export: the exported graph, run by ONNX Runtime (onnxruntime-web's WebAssembly build, in Node), gives the
 * probabilities and decisions mldeploy gives for the same rows, missing values and unseen categories included; and
 * the file passes the ONNX checker of apt's python3-onnx.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { normaliseHeader } from '../src/data/columns.js';
import { isMissing, parseNumber } from '../src/data/values.js';
import { exportOnnx } from '../src/ml/export/onnx.js';
import { HistGradientBoostingClassifier } from '../src/ml/hgb/index.js';
import { LogisticRegression } from '../src/ml/logistic.js';
import { parseModelFile } from '../src/ml/model-format.js';
import { createRng } from '../src/ml/random.js';
import { fitTabularModel, type TabularModel } from '../src/ml/tabular-model.js';
import type { FeatureSpec } from '../src/ml/types.js';
import { describeResult, makeHome } from './helpers/cli.js';
import { LOAN_FEATURES, loanData } from './serve-fixtures.js';

ort.env.wasm.numThreads = 1;

type Row = Record<string, number | string | null>;

/** P(positive) and the thresholded decision of each row, from ONNX Runtime. */
async function runOnnx(bytes: Uint8Array, features: FeatureSpec[], rows: Row[]): Promise<{ p: number[]; prediction: number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of features) {
    feeds[f.name] =
      f.type === 'categorical'
        ? new ort.Tensor('string', rows.map((r) => (r[f.name] === null ? '' : String(r[f.name]))), [rows.length, 1])
        : new ort.Tensor('float64', Float64Array.from(rows, (r) => (r[f.name] === null ? NaN : Number(r[f.name]))), [rows.length, 1]);
  }
  const out = await session.run(feeds);
  const probabilities = out.probabilities.data as Float32Array;
  expect(out.probabilities.dims).toEqual([rows.length, 2]);
  return {
    p: rows.map((_, i) => probabilities[2 * i + 1]),
    prediction: Array.from(out.prediction.data as BigInt64Array, Number),
  };
}

async function expectSameScores(model: TabularModel, rows: Row[], bytes = exportOnnx(model)): Promise<void> {
  const ours = model.predictRecords(rows);
  const theirs = await runOnnx(bytes, model.signature.features, rows);
  let worst = 0;
  rows.forEach((_, i) => (worst = Math.max(worst, Math.abs(theirs.p[i] - ours.probability[i]))));
  expect(worst).toBeLessThan(1e-6);
  // A decision can differ only for a probability within float32 rounding of the threshold.
  rows.forEach((_, i) => {
    if (Math.abs(ours.probability[i] - model.threshold) > 1e-6) expect(theirs.prediction[i]).toBe(ours.prediction[i]);
  });
}

/** apt's python3-onnx checker on the file; skipped only outside CI when python3-onnx is not installed. */
function checkWithOnnxPackage(bytes: Uint8Array): void {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx']);
  if (probe.status !== 0) {
    if (process.env.CI) throw new Error('python3-onnx is required in CI (apt-get install python3-onnx)');
    return;
  }
  const file = join(tmpdir(), `mldeploy-check-${process.pid}-${Date.now()}.onnx`);
  writeFileSync(file, bytes);
  const check = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file]);
  expect(check.stderr.toString(), 'onnx.checker').toBe('');
  expect(check.status).toBe(0);
}

/** Synthetic loans with a categorical region (some missing) that moves the label. */
function loansWithRegion(n: number, seed: number) {
  const { data, y } = loanData(n, seed);
  const rng = createRng(seed + 1);
  const regions = ['north', 'south', 'east', 'west', 'centre'];
  const region = Array.from({ length: n }, (_, i) => {
    if (rng.next() < 0.05) return null;
    const r = regions[rng.int(regions.length)];
    if (r === 'east' && rng.next() < 0.5) y[i] = 1;
    return r;
  });
  return { data: { ...data, region }, y };
}

const FEATURES: FeatureSpec[] = [...LOAN_FEATURES, { name: 'region', type: 'categorical', nullable: true }];
const SIGNATURE = { features: FEATURES, rowIdColumns: [], target: { name: 'approved', positiveLabel: 'yes', negativeLabel: 'no' } };

/** Scoring rows: the data's own, plus missing values and a category never seen in training. */
function scoringRows(n: number): Row[] {
  const { data } = loansWithRegion(n, 99);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const row: Row = {};
    for (const f of LOAN_FEATURES) {
      const v = (data as unknown as Record<string, Float64Array>)[f.name][i];
      row[f.name] = Number.isNaN(v) ? null : v;
    }
    row.region = i % 17 === 0 ? 'atlantis' : data.region[i];
    if (i % 23 === 0) row.annual_income = null;
    rows.push(row);
  }
  return rows;
}

describe('ONNX export', () => {
  it('gradient boosting with a categorical feature: ONNX Runtime scores as mldeploy, and the checker accepts it', async () => {
    const { data, y } = loansWithRegion(3000, 5);
    const fitted = fitTabularModel({
      data,
      y,
      signature: SIGNATURE,
      estimator: ({ categoricalFeatures }) => new HistGradientBoostingClassifier({ maxIter: 40, categoricalFeatures, randomState: 0 }),
      encoding: 'tree',
      threshold: 0.37,
    });
    const model = parseModelFile(JSON.stringify(fitted.toJSON()));
    const json = model.estimator.toJSON() as unknown as { trees: { leftCategories: (number[] | null)[] }[] };
    expect(json.trees.some((t) => t.leftCategories.some((c) => c !== null))).toBe(true); // categorical splits exported
    const bytes = exportOnnx(model, { modelName: 'loans', modelVersion: 3 });
    await expectSameScores(model, scoringRows(2000), bytes);
    checkWithOnnxPackage(bytes);
  }, 60_000);

  it('logistic regression with one-hot categories: ONNX Runtime scores as mldeploy', async () => {
    const { data, y } = loansWithRegion(3000, 6);
    const model = fitTabularModel({ data, y, signature: SIGNATURE, estimator: new LogisticRegression({ C: 1 }), encoding: 'linear' });
    const bytes = exportOnnx(model);
    await expectSameScores(model, scoringRows(2000), bytes);
    checkWithOnnxPackage(bytes);
  }, 60_000);

  const SHARED = resolve(__dirname, '../../shared/data');
  const sets: [string, string, string][] = [
    ['loan_approval.csv', ' loan_status', 'Approved'],
    ['credit_default.csv', 'default.payment.next.month', '1'],
    ['bank_marketing.csv', 'y', 'yes'],
  ];
  const hasShared = existsSync(SHARED);
  if (!hasShared && process.env.CI) throw new Error(`the shared data sets are required in CI: ${SHARED} is missing`);

  it.skipIf(!hasShared)(
    'on each shared binary data set, both candidates of a training (the registered one through `mldeploy models export --format onnx`) score as mldeploy',
    async () => {
      const home = makeHome('mldeploy-onnx-');
      try {
        for (const [file, target, positive] of sets) {
          const name = file.replace('.csv', '');
          const path = join(SHARED, file);
          const train = ['run', 'training', '--data', path, '--target', target, '--positive-label', positive, '--model-name', name];
          const trained = await home.run(train);
          expect(trained.code, describeResult(train, trained)).toBe(0);
          const out = join(home.dir, `${name}.onnx`);
          const args = ['models', 'export', name, '1', '--format', 'onnx', '--out', out];
          const exported = await home.run(args);
          expect(exported.code, describeResult(args, exported)).toBe(0);
          const registeredKey = home.query<{ artifact_key: string }>('select artifact_key from model_versions where name = ?', name)[0].artifact_key;
          // Both candidates' model files (gradient boosting and logistic regression) are artifacts of their runs.
          const candidates = home.query<{ run_id: string }>(
            "select r.id as run_id from runs r join experiments e on e.id = r.experiment_id where e.name = ? and r.parent_run_id is not null",
            name,
          );
          const kinds = new Set<string>();
          for (const { run_id: runId } of candidates) {
            const file = home.artifactFiles().find((f) => f.endsWith(join('runs', runId, 'artifacts', 'model.json')));
            if (!file) continue;
            const model = parseModelFile(readFileSync(file, 'utf8'));
            kinds.add(model.estimator.toJSON().kind);
            const bytes = file.endsWith(registeredKey) ? new Uint8Array(readFileSync(out)) : exportOnnx(model);
            await expectSameScores(model, fileRows(path, model.signature.features, 4000), bytes);
          }
          expect([...kinds].sort()).toEqual(['hist_gradient_boosting', 'logistic_regression']);
        }
      } finally {
        home.remove();
      }
    },
    600_000,
  );
});

/** The first rows of a CSV file as the API would receive them: numbers (null when missing) and strings. */
function fileRows(path: string, features: FeatureSpec[], limit: number): Row[] {
  const text = readFileSync(path, 'utf8');
  const delimiter = text.slice(0, text.indexOf('\n')).includes(';') ? ';' : ',';
  const records = parse(text, { delimiter, relax_quotes: true, to: limit + 1 }) as string[][];
  const header = normaliseHeader(records[0]);
  const index = new Map(header.map((c, i) => [c.name, i]));
  return records.slice(1).map((record) => {
    const row: Row = {};
    for (const f of features) {
      const cell = record[index.get(f.name)!].trim();
      if (isMissing(cell)) row[f.name] = null;
      else row[f.name] = f.type === 'categorical' ? cell : f.type === 'boolean' ? (/^true$/i.test(cell) ? 1 : /^false$/i.test(cell) ? 0 : Number(cell)) : parseNumber(cell);
    }
    return row;
  });
}
