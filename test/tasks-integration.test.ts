/**
 * Multi-class and regression targets from end to end: task detection, the model file per task, the promotion gate per
 * task, and penguins.csv trained through the CLI (side by side with scikit-learn on the same split), promoted, served
 * and answered through the API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/ports.js';
import type { ColumnSchema } from '../src/data/columns.js';
import { decideTask } from '../src/data/task.js';
import { MultinomialLogisticRegression, Ridge } from '../src/ml/linear.js';
import { LogisticRegression } from '../src/ml/logistic.js';
import { parseModelFile } from '../src/ml/model-format.js';
import { createRng } from '../src/ml/random.js';
import { fitTabularModel, type ModelSignature } from '../src/ml/tabular-model.js';
import type { FeatureSpec } from '../src/ml/types.js';
import { decideMulticlassPromotion, decideRegressionPromotion } from '../src/tracking/promotion-gate.js';
import { CLI_MAIN, REPO_ROOT, makeHome, type CliHome } from './helpers/cli.js';

const CI = process.env.CI === 'true';
const PENGUINS = resolve(REPO_ROOT, '../shared/data/penguins.csv');
const PYTHON = '/usr/bin/python3';

function column(type: ColumnSchema['type']): ColumnSchema {
  return { name: 'target', original: 'Target', type, nullable: false, missing: 0 };
}
const levels = (n: number, rowsEach = 20) => Array.from({ length: n }, (_, i) => ({ value: String(i * 7), count: rowsEach }));

describe('task detection', () => {
  it('reads two values as binary, a few labels as classes and a quantity as regression, saying why', () => {
    expect(decideTask({ column: column('categorical'), counts: levels(2), manyValues: false, rows: 40 }, {}).task).toBe('binary');
    const species = decideTask({ column: column('categorical'), counts: levels(3), manyValues: false, rows: 60 }, {});
    expect(species).toEqual({ task: 'multiclass', reason: 'target "Target" is categorical with 3 distinct values' });
    // An integer with few values and many rows each is a class label; with many values, a quantity.
    expect(decideTask({ column: column('integer'), counts: levels(5), manyValues: false, rows: 100 }, {}).task).toBe('multiclass');
    const mass = decideTask({ column: column('integer'), counts: levels(94, 4), manyValues: false, rows: 342 }, {});
    expect(mass.task).toBe('regression');
    expect(mass.reason).toMatch(/integer with 94 distinct values \(3\.6 rows each on average\)/);
    expect(decideTask({ column: column('float'), counts: levels(30), manyValues: false, rows: 600 }, {}).task).toBe('regression');
    expect(decideTask({ column: column('float'), counts: levels(10_000), manyValues: true, rows: 50_000 }, {}).task).toBe('regression');
  });

  it('--task overrides the guess within what the data allows; --positive-label keeps one-vs-rest', () => {
    const three = { column: column('integer'), counts: levels(3), manyValues: false, rows: 60 };
    expect(decideTask(three, { task: 'regression' })).toEqual({
      task: 'regression',
      reason: '--task regression given (target "Target" is integer with 3 distinct values)',
    });
    expect(decideTask(three, { positiveLabel: '7' }).task).toBe('binary');
    expect(() => decideTask({ ...three, column: column('categorical') }, { task: 'regression' })).toThrow(
      /--task regression needs a numeric target, but "Target" is categorical/,
    );
    expect(() => decideTask({ column: column('categorical'), counts: levels(150), manyValues: false, rows: 3000 }, {})).toThrow(
      /150 distinct values: too many classes for a classifier \(at most 100\)/,
    );
    expect(() => decideTask(three, { task: 'multiclass', positiveLabel: '7' })).toThrow(/--positive-label applies to binary targets only/);
  });
});

const FEATURES: FeatureSpec[] = [
  { name: 'x1', type: 'float', nullable: true },
  { name: 'x2', type: 'integer', nullable: false },
  { name: 'colour', type: 'categorical', nullable: true },
];

function syntheticData(n: number, seed: number) {
  const rng = createRng(seed);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const colour: (string | null)[] = [];
  const cls = new Uint8Array(n);
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = rng.next() < 0.05 ? NaN : rng.next() * 10;
    x2[i] = rng.int(5);
    colour.push(rng.next() < 0.05 ? null : ['red', 'green', 'blue'][rng.int(3)]);
    const score = (Number.isNaN(x1[i]) ? 5 : x1[i]) + 2 * x2[i] + (colour[i] === 'red' ? 3 : 0) + rng.next() * 3;
    cls[i] = score < 7 ? 0 : score < 12 ? 1 : 2;
    value[i] = 100 + 3 * score + rng.next();
  }
  return { data: { x1, x2, colour }, cls, value };
}

describe('the model file per task', () => {
  const { data, cls, value } = syntheticData(300, 5);
  const records = [{ x1: 9, x2: 4, colour: 'red' }, { x1: null, x2: 0, colour: 'purple' }];

  it('a multi-class model is a version 2 file with its classes, read back to the same probabilities', () => {
    const signature: ModelSignature = { features: FEATURES, rowIdColumns: [], target: { name: 'grade', classes: ['A', 'B', 'C'] } };
    const model = fitTabularModel({ task: 'multiclass', data, y: cls, signature, estimator: new MultinomialLogisticRegression(), encoding: 'linear' });
    const file = model.toJSON();
    expect(file).toMatchObject({ formatVersion: 2, task: 'multiclass', signature: { target: { name: 'grade', classes: ['A', 'B', 'C'] } } });
    expect(file).not.toHaveProperty('threshold');
    const back = parseModelFile(JSON.stringify(file));
    const answers = back.predictTaskRecords(records);
    expect(answers.task).toBe('multiclass');
    if (answers.task !== 'multiclass') return;
    expect(Array.from(answers.probabilities)).toEqual(Array.from((model.predictTaskRecords(records) as typeof answers).probabilities));
    expect(answers.probabilities[0] + answers.probabilities[1] + answers.probabilities[2]).toBeCloseTo(1, 12);
    expect(answers.prediction[0]).toBe(2); // x1 9, x2 4, red: the highest scores
    expect(() => back.predictRecords(records)).toThrow(/this is a multiclass model/);
  });

  it('a regression model is a version 2 file whose values survive the round trip', () => {
    const signature: ModelSignature = { features: FEATURES, rowIdColumns: [], target: { name: 'price' } };
    const model = fitTabularModel({ task: 'regression', data, y: value, signature, estimator: new Ridge(), encoding: 'linear' });
    const back = parseModelFile(JSON.parse(JSON.stringify(model.toJSON())));
    expect(back.task).toBe('regression');
    expect(Array.from(back.scoreColumns(data))).toEqual(Array.from(model.scoreColumns(data)));
  });

  it('a binary model keeps the version 1 layout: threshold, no task', () => {
    const signature: ModelSignature = { features: FEATURES, rowIdColumns: [], target: { name: 'ok', positiveLabel: 'yes' } };
    const y = Uint8Array.from(cls, (c) => (c === 2 ? 1 : 0));
    const file = fitTabularModel({ data, y, signature, estimator: new LogisticRegression(), encoding: 'linear' }).toJSON();
    expect(file.formatVersion).toBe(1);
    expect(file.threshold).toBe(0.5);
    expect(file).not.toHaveProperty('task');
  });

  it('rejects files whose task, estimator and classes disagree, naming the field', () => {
    const signature: ModelSignature = { features: FEATURES, rowIdColumns: [], target: { name: 'grade', classes: ['A', 'B', 'C'] } };
    const file = fitTabularModel({ task: 'multiclass', data, y: cls, signature, estimator: new MultinomialLogisticRegression(), encoding: 'linear' }).toJSON();
    expect(() => parseModelFile({ ...file, task: 'regression' })).toThrow(
      /model file: estimator.kind "multinomial_logistic_regression" is a multiclass estimator but the model's task is regression/,
    );
    const twoClasses = { ...file, signature: { ...file.signature, target: { name: 'grade', classes: ['A', 'B'] } } };
    expect(() => parseModelFile(twoClasses)).toThrow(/model file: signature.target.classes lists 2 classes but the estimator has 3/);
    expect(() => parseModelFile({ ...file, task: 'ranking' })).toThrow(/model file: task/);
    expect(() => parseModelFile({ ...file, formatVersion: 3 })).toThrow(/formatVersion 3 is not supported: this build reads versions 1 and 2/);
  });
});

describe('the promotion gate per task', () => {
  it('multi-class: beats production on macro AUC with a bootstrap lower bound above chance', () => {
    const candidate = { version: 2, macroAuc: 0.91, ciLower: 0.86, ciUpper: 0.95 };
    expect(decideMulticlassPromotion({ candidate })).toEqual({
      promote: true,
      reason: 'promoted: no production model yet; test macro ROC AUC 0.910 (bootstrap 95% CI 0.86 to 0.95)',
    });
    expect(decideMulticlassPromotion({ candidate, current: { version: 1, macroAuc: 0.93 } })).toEqual({
      promote: false,
      reason: "not promoted: test macro ROC AUC 0.910 does not beat production v1's 0.930 on the same test split",
    });
    expect(decideMulticlassPromotion({ candidate: { ...candidate, macroAuc: 0.55, ciLower: 0.48 } }).reason).toBe(
      'not promoted: test macro ROC AUC 0.550 (bootstrap 95% CI 0.48 to 0.95) is not better than chance',
    );
  });

  it('regression: a lower RMSE than production and an R^2 lower bound above 0', () => {
    const candidate = { version: 3, rmse: 272.1, r2: 0.885, r2CiLower: 0.82, r2CiUpper: 0.93 };
    expect(decideRegressionPromotion({ candidate, current: { version: 2, rmse: 280.4 } })).toEqual({
      promote: true,
      reason: "promoted: test RMSE 272.1 beats production v2's 280.4 on the same test split; test R^2 0.885 (bootstrap 95% CI 0.82 to 0.93)",
    });
    expect(decideRegressionPromotion({ candidate, current: { version: 2, rmse: 272.1 } }).promote).toBe(false);
    expect(decideRegressionPromotion({ candidate: { ...candidate, r2: 0.02, r2CiLower: -0.05 } })).toEqual({
      promote: false,
      reason: 'not promoted: test R^2 0.020 (bootstrap 95% CI -0.05 to 0.93) is not better than predicting the mean',
    });
  });
});

interface TrainingJson {
  task: string;
  status: string;
  estimator: string;
  promoted: boolean;
  reason: string;
  model: { name: string; version: number };
  metrics: { test: Record<string, number> };
}

const lacksPenguins = !existsSync(PENGUINS) && !CI;

describe.skipIf(lacksPenguins)('penguins.csv through the CLI and the API, beside scikit-learn on the same split', () => {
  let home: CliHome;
  let server: ChildProcess | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'mldeploy-tasks-'));
  afterAll(() => {
    server?.kill('SIGTERM');
    home?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The snapshot's split as CSV (target in `y`), for scikit-learn. */
  function exportSplit(split: string, table: string, features: FeatureSpec[]): string {
    const names = features.map((f) => f.name);
    const rows = home.query<Record<string, unknown>>(`select y, ${names.join(', ')} from ${table} where split = ? order by source_line`, split);
    const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? JSON.stringify(v) : String(v));
    const text = [['y', ...names].join(','), ...rows.map((r) => ['y', ...names].map((c) => cell(r[c])).join(','))].join('\n');
    const path = join(scratch, `${table}_${split}.csv`);
    writeFileSync(path, `${text}\n`);
    return path;
  }

  /** A metric of the latest child run of one candidate. */
  function candidateMetric(estimator: string, key: string): number {
    const [row] = home.query<{ value: number }>(
      'select m.value from run_metrics m join runs r on r.id = m.run_id where r.name = ? and m.key = ? order by r.start_time desc limit 1',
      estimator,
      key,
    );
    if (!row) throw new Error(`no ${key} logged for ${estimator}`);
    return row.value;
  }

  function sklearnOnSameSplit(task: string, model: string): Record<string, Record<string, number>> {
    const [version] = home.query<{ dataset_snapshot_id: string }>(
      'select dataset_snapshot_id from model_versions where name = ? order by version desc limit 1',
      model,
    );
    const [snapshot] = home.query<{ table_name: string; features_json: string }>(
      'select table_name, features_json from dataset_snapshots where id = ?',
      version.dataset_snapshot_id,
    );
    const features = JSON.parse(snapshot.features_json) as FeatureSpec[];
    const categorical = features.filter((f) => f.type === 'categorical').map((f) => f.name);
    const args = [join(REPO_ROOT, 'scripts/sklearn_split_reference.py'), task, exportSplit('train', snapshot.table_name, features), exportSplit('test', snapshot.table_name, features), categorical.join(',')];
    const result = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 240_000 });
    if (result.status !== 0) throw new Error(`scikit-learn reference failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, Record<string, number>>;
  }

  // Each training runs the CLI end to end (load, preprocess, fit, bootstrap, register) on a shared, busy machine.
  it('species: a multi-class model, promoted, at scikit-learn level on the same split', { timeout: 300_000 }, async () => {
    home = makeHome('mldeploy-tasks-');
    const species = await home.json<TrainingJson>(['run', 'training', '--data', PENGUINS, '--target', 'species', '--json']);
    expect(species).toMatchObject({ task: 'multiclass', status: 'success', promoted: true });
    expect(species.reason).toMatch(/^promoted: no production model yet; test macro ROC AUC/);
    const test = species.metrics.test;
    for (const key of ['roc_auc', 'accuracy', 'log_loss', 'f1_macro']) expect(Number.isFinite(test[key]), key).toBe(true);
    const reference = sklearnOnSameSplit('multiclass', 'clients_model');
    const same = species.estimator === 'hist_gradient_boosting' ? reference.hgb : reference.linear;
    expect(Math.abs(test.roc_auc - same.roc_auc)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(test.roc_auc - reference.hgb.roc_auc)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(test.accuracy - same.accuracy)).toBeLessThanOrEqual(0.03);
    // The gradient boosting candidate against scikit-learn's HistGradientBoostingClassifier on the same split.
    expect(Math.abs(candidateMetric('hist_gradient_boosting', 'test_roc_auc') - reference.hgb.roc_auc)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(candidateMetric('hist_gradient_boosting', 'test_accuracy') - reference.hgb.accuracy)).toBeLessThanOrEqual(0.015);
    const [run] = home.query<{ value: string }>("select value from run_params where key = 'task_reason'");
    expect(run.value).toBe('target "species" is categorical with 3 distinct values');
  });

  it('body_mass_g: a regressor, promoted, with the RMSE scikit-learn gets on the same split', { timeout: 300_000 }, async () => {
    const mass = await home.json<TrainingJson>(['run', 'training', '--data', PENGUINS, '--target', 'body_mass_g', '--model-name', 'penguin_mass', '--json']);
    expect(mass).toMatchObject({ task: 'regression', status: 'success', promoted: true });
    for (const key of ['rmse', 'mae', 'r2']) expect(Number.isFinite(mass.metrics.test[key]), key).toBe(true);
    const reference = sklearnOnSameSplit('regression', 'penguin_mass');
    const same = mass.estimator === 'hist_gradient_boosting' ? reference.hgb : reference.linear;
    const tolerance = mass.estimator === 'ridge' ? 1e-6 : 0.01; // ridge is solved exactly; boosting within 1%
    expect(Math.abs(mass.metrics.test.rmse - same.rmse) / same.rmse).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(mass.metrics.test.mae - same.mae) / same.mae).toBeLessThanOrEqual(tolerance);
    // Both candidates beside their scikit-learn counterparts: ridge exactly, boosting within 1%.
    expect(Math.abs(candidateMetric('ridge', 'test_rmse') - reference.linear.rmse) / reference.linear.rmse).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(candidateMetric('hist_gradient_boosting', 'test_rmse') - reference.hgb.rmse) / reference.hgb.rmse).toBeLessThanOrEqual(0.01);
  });

  it('the search scores trials by the task: R^2 for a regressor', { timeout: 300_000 }, async () => {
    const args = ['run', 'training', '--data', PENGUINS, '--target', 'body_mass_g', '--model-name', 'mass_searched', '--search-trials', '2', '--search-folds', '2', '--json'];
    const searched = await home.json<TrainingJson & { search: { scoring: string; best: Record<string, number> } }>(args);
    expect(searched.search.scoring).toBe('r2');
    expect(searched.search.best.cv_r2_mean).toBeGreaterThan(0);
    expect(candidateMetric('hist_gradient_boosting trial 0', 'cv_r2_fold_2')).toBeGreaterThan(-1);
  });

  it('both are served: /predict answers per task, /feedback takes a class label or a number', { timeout: 60_000 }, async () => {
    const port = await freePort();
    server = spawn(process.execPath, [CLI_MAIN, 'serve'], {
      env: { PATH: process.env.PATH, MLDEPLOY_HOME: home.dir, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200; i++) {
      const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ ready: boolean }>, () => undefined);
      if (health?.ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };
    const gentoo = { island: 'Biscoe', bill_length_mm: 47.5, bill_depth_mm: 14.2, flipper_length_mm: 219, body_mass_g: 5000, sex: 'female', year: 2008 };
    const species = await post('/predict', gentoo);
    expect(species.status).toBe(200);
    expect(species.body.label).toBe('Gentoo');
    expect(Object.keys(species.body.probabilities)).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    expect(Object.values(species.body.probabilities as Record<string, number>).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const { body_mass_g: _, ...measures } = gentoo;
    const mass = await post('/models/penguin_mass/predict', [{ ...measures, species: 'Gentoo' }, { ...measures, species: 'Adelie', flipper_length_mm: 185, bill_depth_mm: 18.5 }]);
    expect(mass.status).toBe(200);
    expect(mass.body).toHaveLength(2);
    expect(mass.body[0].value).toBeGreaterThan(mass.body[1].value); // a big Gentoo outweighs a small Adelie
    expect(mass.body[0].value).toBeGreaterThan(3500);

    expect((await post('/feedback', { prediction_id: species.body.prediction_id, label: 'Gentoo' })).status).toBe(200);
    const wrongClass = await post('/feedback', { prediction_id: species.body.prediction_id, label: 'Emperor' });
    expect(wrongClass.status).toBe(422);
    expect(wrongClass.body.details[0].message).toMatch(/one of the classes "Adelie", "Chinstrap", "Gentoo"/);
    expect((await post('/feedback', { prediction_id: mass.body[0].prediction_id, label: 5150 })).status).toBe(200);
    expect((await post('/feedback', { prediction_id: mass.body[0].prediction_id, label: 'heavy' })).status).toBe(422);

    const stored = home.query<{ id: string; prediction: number; value: number | null; probabilities_json: string | null; label: number | null; label_value: number | null }>(
      'select id, prediction, value, probabilities_json, label, label_value from predictions order by created_at, id',
    );
    const speciesRow = stored.find((r) => r.id === species.body.prediction_id)!;
    expect(speciesRow).toMatchObject({ prediction: 2, label: 2, value: null });
    expect(JSON.parse(speciesRow.probabilities_json!)).toEqual(species.body.probabilities);
    expect(stored.find((r) => r.id === mass.body[0].prediction_id)).toMatchObject({ value: mass.body[0].value, label_value: 5150, probabilities_json: null });

    const spec = (await fetch(`${base}/openapi.json`).then((r) => r.json())) as any;
    expect(Object.keys(spec.components.schemas)).toEqual(expect.arrayContaining(['clients_model_v1_row', 'penguin_mass_v1_row']));
    expect(spec.components.schemas.penguin_mass_v1_row.properties).toHaveProperty('species');
  });
});
