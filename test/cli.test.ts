/**
 * Acceptance tests of the `mldeploy` command line as a user runs it: the BUILT CLI (`node dist/cli/main.js`, made by
 * `npm run build`) in a child process, each test with its own MLDEPLOY_HOME (SQLite file + file artifacts). They cover
 * training on the shared data sets, bad input (a clear message, a non-zero exit, nothing half-written), the model
 * registry commands, run history and retry, and the built-in sample.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, REPO_ROOT, describeResult, makeHome, userError, type CliHome, type CliResult } from './helpers/cli.js';

const CI = process.env.CI === 'true';
const SHARED = resolve(REPO_ROOT, '../shared');
const sharedFile = (name: string) => join(SHARED, 'data', name);
/** Shared data is optional locally and required in CI (a missing file then fails the test instead of skipping it). */
const lacks = (file: string) => !existsSync(file) && !CI;

interface Metrics {
  roc_auc: number;
  accuracy: number;
  f1: number;
  precision: number;
  recall: number;
  log_loss: number;
}

interface TrainingPayload {
  run_id: string;
  status: string;
  model: { name: string; version: number };
  promoted: boolean;
  reason: string;
  metrics: { val: Metrics; test: Metrics };
}

interface FailedPayload {
  run_id: string;
  status: string;
  tasks: { task: string; state: string }[];
}

interface RunDetail {
  id: string;
  dagId: string;
  status: string;
  error: string | null;
  tasks: {
    taskId: string;
    state: string;
    tryNumber: number;
    output: Record<string, unknown> | null;
    attempts: { tryNumber: number; state: string; error: string | null }[];
  }[];
}

interface ModelSummary {
  name: string;
  latestVersion: { version: number } | null;
  aliases: Record<string, number>;
}

interface ModelDetail {
  name: string;
  production: number | null;
  versions: { version: number; runId: string; datasetSnapshotId: string | null }[];
  events: { version: number; action: string; reason: string | null; alias: string | null }[];
}

const homes: CliHome[] = [];
function home(): CliHome {
  const h = makeHome();
  homes.push(h);
  return h;
}

beforeAll(() => {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first (npm test does)`);
});

afterAll(() => {
  for (const h of homes) h.remove();
});

function expectExit(args: string[], result: CliResult, code: number): void {
  expect(result.code, describeResult(args, result)).toBe(code);
}

/** Runs a command that must succeed (exit 0). */
async function ok(h: CliHome, args: string[]): Promise<CliResult> {
  const result = await h.run(args);
  expectExit(args, result, 0);
  return result;
}

/** The JSON contract of `run training --json` on success. */
function expectTrainingPayload(payload: TrainingPayload): void {
  expect(payload.run_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(payload.status).toBe('success');
  expect(payload.model).toEqual({ name: 'clients_model', version: expect.any(Number) });
  expect(typeof payload.promoted).toBe('boolean');
  expect(payload.reason).toMatch(payload.promoted ? /^promoted/ : /^not promoted/);
  for (const split of ['val', 'test'] as const) {
    const m = payload.metrics[split];
    for (const key of ['roc_auc', 'accuracy', 'f1', 'precision', 'recall'] as const) {
      expect(m[key], `${split}.${key}`).toBeGreaterThanOrEqual(0);
      expect(m[key], `${split}.${key}`).toBeLessThanOrEqual(1);
    }
    expect(m.log_loss, `${split}.log_loss`).toBeGreaterThan(0);
    expect(Number.isFinite(m.log_loss)).toBe(true);
  }
}

/** A tiny deterministic generator, so test files are the same on every run. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * A small labelled CSV: a numeric and a categorical feature and a target `outcome` written as approved/declined,
 * learnable from x1. `ragged` lists data rows (0-based) written with one field too many.
 */
function smallCsv(rows: number, options: { ragged?: number[]; labels?: [string, string] } = {}): string {
  const next = rng(7);
  const [yes, no] = options.labels ?? ['approved', 'declined'];
  const lines = ['x1,city,outcome'];
  for (let i = 0; i < rows; i++) {
    const x1 = Math.round(next() * 1000) / 10;
    const city = ['lima', 'quito', 'bogota'][Math.floor(next() * 3)];
    const label = x1 + next() * 40 > 70 ? yes : no;
    lines.push(options.ragged?.includes(i) ? `${x1},${city},${label},extra` : `${x1},${city},${label}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What a failed training must leave: the data tables of the steps that finished (none, or raw_<dataset> when the load
 * did), no snapshot, tracked run, model version or artifact, and one failed DAG run.
 */
function expectNothingAfter(h: CliHome, tables: string[]): void {
  expect(h.dataTables()).toEqual(tables);
  expect(h.count('dataset_snapshots')).toBe(0);
  expect(h.count('runs')).toBe(0);
  expect(h.count('model_versions')).toBe(0);
  expect(h.artifactFiles()).toEqual([]);
  expect(h.query('select status from dag_runs')).toEqual([{ status: 'failed' }]);
}

/** The stored output of one task of a run (read from the SQLite file, to spare a CLI start). */
function taskOutput(h: CliHome, runId: string, taskId: string): unknown {
  const [row] = h.query<{ output_json: string | null }>(
    'select output_json from task_instances where dag_run_id = ? and task_id = ?',
    runId,
    taskId,
  );
  return row?.output_json ? JSON.parse(row.output_json) : undefined;
}

function production(h: CliHome): number | undefined {
  return h.query<{ version: number }>("select version from model_aliases where name = 'clients_model' and alias = 'production'")[0]
    ?.version;
}

/** A failed `run training --json`: exit 1, the failure as JSON on stdout, and the user's message on stderr. */
async function failTraining(h: CliHome, args: string[], failedTask: string): Promise<{ message: string; runId: string }> {
  const full = ['run', 'training', ...args, '--json'];
  const result = await h.run(full);
  expectExit(full, result, 1);
  const payload = JSON.parse(result.stdout) as FailedPayload;
  expect(payload.status).toBe('failed');
  expect(payload.tasks.find((t) => t.task === failedTask)?.state).toBe('failed');
  const message = userError(result);
  expect(message, describeResult(full, result)).toContain(`dag run ${payload.run_id} failed: Task "${failedTask}" failed`);
  return { message, runId: payload.run_id };
}

describe('run training on the shared data sets', () => {
  const reference = join(SHARED, 'reference/sklearn_reference.json');
  /** scikit-learn's 5-fold HistGradientBoosting ROC AUC (../shared/reference, made by sklearn_reference.py). */
  const sklearnAuc = (file: string): number =>
    (JSON.parse(readFileSync(reference, 'utf8')) as { sets: Record<string, { hgb: { roc_auc_mean: number } }> }).sets[file]
      .hgb.roc_auc_mean;

  it.skipIf(lacks(sharedFile('loan_approval.csv')))('loan_approval.csv: a near-perfect model, promoted', async () => {
    const h = home();
    const payload = await h.json<TrainingPayload>([
      'run', 'training', '--data', sharedFile('loan_approval.csv'), '--target', ' loan_status', '--positive-label', 'Approved', '--json',
    ]);
    expectTrainingPayload(payload);
    expect(payload.model.version).toBe(1);
    expect(payload.metrics.test.roc_auc).toBeGreaterThanOrEqual(0.95);
    expect(payload.promoted).toBe(true);
    const detail = await h.json<ModelDetail>(['models', 'show', 'clients_model', '--json']);
    expect(detail.production).toBe(1);
  });

  // Floors: scikit-learn's cross-validated AUC minus 0.03 (a single 20% test split varies by about 0.01).
  it.skipIf(lacks(sharedFile('credit_default.csv')))('credit_default.csv: trains at scikit-learn level', async () => {
    const h = home();
    const payload = await h.json<TrainingPayload>([
      'run', 'training', '--data', sharedFile('credit_default.csv'), '--target', 'default.payment.next.month', '--json',
    ]);
    expectTrainingPayload(payload);
    expect(payload.metrics.test.roc_auc).toBeGreaterThanOrEqual(sklearnAuc('credit_default.csv') - 0.03);
    expect(payload.promoted).toBe(true);
  });

  it.skipIf(lacks(sharedFile('bank_marketing.csv')))('bank_marketing.csv (";"-separated, quoted): trains at scikit-learn level', async () => {
    const h = home();
    const payload = await h.json<TrainingPayload>([
      'run', 'training', '--data', sharedFile('bank_marketing.csv'), '--target', 'y', '--json',
    ]);
    expectTrainingPayload(payload);
    expect(payload.metrics.test.roc_auc).toBeGreaterThanOrEqual(sklearnAuc('bank_marketing.csv') - 0.03);
    expect(payload.promoted).toBe(true);
  });

  it.skipIf(lacks(sharedFile('seed_dataset.csv')))('seed_dataset.csv (no signal): completes, not promoted, says why', async () => {
    const h = home();
    const payload = await h.json<TrainingPayload>([
      'run', 'training', '--data', sharedFile('seed_dataset.csv'), '--target', 'Loan_Approval', '--json',
    ]);
    expectTrainingPayload(payload);
    expect(payload.promoted).toBe(false);
    expect(payload.reason).toMatch(/not promoted/);
    expect(payload.reason).toMatch(/chance/);
    const detail = await h.json<ModelDetail>(['models', 'show', 'clients_model', '--json']);
    expect(detail.production).toBeNull();
    expect(detail.events).toContainEqual(expect.objectContaining({ version: 1, action: 'refuse', reason: payload.reason }));
  });
});

// The commands on small data run side by side: most of their time is CLI start-up and the load task's retry back-off.
describe.concurrent('commands on small data', () => {
  it('ragged rows above the 1% threshold: names the count and the first bad line', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'ragged.csv');
    // Data rows 3, 4 and 5 (file lines 5, 6, 7) have 4 fields: 3 of 200 rows = 1.5%.
    writeFileSync(file, smallCsv(200, { ragged: [3, 4, 5] }));
    const { message } = await failTraining(h, ['--data', file, '--target', 'outcome'], 'load_raw_data');
    expect(message).toMatch(/3 of 200 rows \(1\.5%\) malformed, above the 1% threshold/);
    expect(message).toMatch(/line 5: expected 3 fields, found 4/);
    expectNothingAfter(h, []);
  });

  it('random binary bytes: not a CSV file', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'noise.csv');
    const next = rng(3);
    writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i === 100 ? 0 : Math.floor(next() * 256)))));
    const { message } = await failTraining(h, ['--data', file, '--target', 'y'], 'load_raw_data');
    expect(message).toContain(`${file} is not a CSV file`);
    expectNothingAfter(h, []);
  });

  it('a gzip file: says to decompress it', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'data.csv');
    writeFileSync(file, gzipSync(smallCsv(50)));
    const { message } = await failTraining(h, ['--data', file, '--target', 'outcome'], 'load_raw_data');
    expect(message).toContain(`${file} is not a CSV file`);
    expect(message).toMatch(/gzip/);
    expectNothingAfter(h, []);
  });

  it('an empty file', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'empty.csv');
    writeFileSync(file, '');
    const { message } = await failTraining(h, ['--data', file, '--target', 'y'], 'load_raw_data');
    expect(message).toContain(`${file} is empty`);
    expectNothingAfter(h, []);
  });

  // A target or label problem is found by preprocess_data: the load before it finished, so raw_<dataset> stays (a
  // retry or another run reuses it), but nothing after it may exist.
  it('a missing target column: lists the columns', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, smallCsv(100));
    const { message } = await failTraining(h, ['--data', file, '--target', 'outcom'], 'preprocess_data');
    expect(message).toMatch(/column "outcom" not found/);
    for (const column of ['x1', 'city', 'outcome']) expect(message).toContain(column);
    expectNothingAfter(h, ['raw_applicants']);
  });

  it('an unknown positive label: lists the values found', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, smallCsv(100));
    const { message } = await failTraining(
      h,
      ['--data', file, '--target', 'outcome', '--positive-label', 'accepted'],
      'preprocess_data',
    );
    expect(message).toMatch(/positive label "accepted" is not a value of target "outcome"/);
    expect(message).toContain('"approved"');
    expect(message).toContain('"declined"');
    expectNothingAfter(h, ['raw_applicants']);
  });

  it('labels that are not an obvious pair and no --positive-label: asks for it and lists the values', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, smallCsv(100));
    const { message } = await failTraining(h, ['--data', file, '--target', 'outcome'], 'preprocess_data');
    expect(message).toContain('--positive-label');
    expect(message).toContain('"approved"');
    expect(message).toContain('"declined"');
    expectNothingAfter(h, ['raw_applicants']);
  });

  it('an obvious pair (yes/no) needs no --positive-label', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, smallCsv(300, { labels: ['Yes', 'No'] }));
    const payload = await h.json<TrainingPayload>(['run', 'training', '--data', file, '--target', 'outcome', '--json']);
    expect(payload.status).toBe('success');
    expect(taskOutput(h, payload.run_id, 'preprocess_data')).toMatchObject({ positiveLabel: 'Yes' });
  });

  it('a few ragged rows under the threshold are set aside, the rest trains', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, smallCsv(300, { ragged: [10, 20] }));
    const payload = await h.json<TrainingPayload>(['run', 'training', '--data', file, '--target', 'outcome', '--positive-label', 'approved', '--json']);
    expect(payload.status).toBe('success');
    expect(taskOutput(h, payload.run_id, 'load_raw_data')).toMatchObject({ rows: 298, rejects: 2 });
  });

  it('bad options: refused with the option named and exit 2 before anything runs or is stored', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'small.csv');
    writeFileSync(file, smallCsv(200));
    const cases: [string[], RegExp][] = [
      [['run', 'load_raw_data', '--data', file, '--dataset', 'Bad Name'], /--dataset: Invalid dataset name "Bad Name"/],
      [['run', 'training', '--data', file, '--target', 'outcome', '--model-name', '<script>'], /--model-name: invalid model name "<script>"/],
      [['run', 'training', '--data', file, '--target', 'outcome', '--threshold', 'best'], /--threshold must be 'fixed' or 'f1'/],
      [['run', 'training', '--data', file, '--target', 'outcome', '--seed', '-3'], /--seed must be a whole number from 0/],
      [['run', 'training', '--data', join(h.dir, 'absent.csv'), '--target', 'outcome'], /--data: file not found: .*absent\.csv/],
      [['schedule', 'set', 'training', '0 3 * * *', '--data', file, '--target', 'outcome', '--experiment', 'a\u0001b'], /--experiment: invalid experiment name/],
    ];
    for (const [args, pattern] of cases) {
      const result = await h.run(args);
      expect(result.code, describeResult(args, result)).toBe(2);
      expect(userError(result), describeResult(args, result)).toMatch(pattern);
    }
    expect(h.count('dag_runs')).toBe(0);
    expect(h.count('schedules')).toBe(0);
    expect(h.dataTables()).toEqual([]);
  });

  it('usage errors: unknown workflow, unknown run, unknown model', async ({ expect }) => {
    const h = home();
    const cases: [string[], RegExp][] = [
      [['run', 'trainig', '--data', 'x.csv'], /Unknown DAG "trainig": one of load_raw_data, preprocess_data, train_model, training/],
      [['runs', 'show', 'no-such-run'], /No dag run "no-such-run"/],
      [['models', 'show', 'no_such_model'], /no_such_model/],
    ];
    for (const [args, pattern] of cases) {
      const result = await h.run(args);
      // Exit 3: what was named does not exist (README, "Exit codes").
      expect(result.code, describeResult(args, result)).toBe(3);
      expect(userError(result), describeResult(args, result)).toMatch(pattern);
    }
  });

  it('registry: lists, shows the history, refuses a gated promotion, forces it, rolls back', async ({ expect }) => {
    const h = home();
    const loans = join(h.dir, 'loans.csv');
    const noise = join(h.dir, 'loans_shuffled.csv');
    await ok(h, ['sample', loans, '--rows', '1000', '--seed', '11']);
    // The same rows with the labels shuffled: the features say nothing about them, so no model beats chance.
    const [header, ...rows] = readFileSync(loans, 'utf8').trimEnd().split('\n');
    const labels = rows.map((r) => r.slice(r.lastIndexOf(',') + 1));
    const next = rng(5);
    for (let i = labels.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [labels[i], labels[j]] = [labels[j], labels[i]];
    }
    writeFileSync(noise, `${[header, ...rows.map((r, i) => `${r.slice(0, r.lastIndexOf(',') + 1)}${labels[i]}`)].join('\n')}\n`);

    const first = await h.json<TrainingPayload>(['run', 'training', '--data', loans, '--target', 'Loan_Approval', '--json']);
    expect(first.model.version).toBe(1);
    expect(first.promoted).toBe(true);
    const second = await h.json<TrainingPayload>(['run', 'training', '--data', noise, '--target', 'Loan_Approval', '--json']);
    expect(second.model.version).toBe(2);
    expect(second.promoted).toBe(false);
    expect(second.reason).toMatch(/^not promoted/);

    const list = await h.json<ModelSummary[]>(['models', 'list', '--json']);
    expect(list).toHaveLength(1);
    // The data set is the latest version's (the shuffled copy), with its target.
    expect(list[0]).toMatchObject({
      name: 'clients_model',
      dataset: 'loans_shuffled',
      target: 'loan_approval',
      latestVersion: { version: 2 },
      aliases: { production: 1 },
    });
    const table = (await ok(h, ['models', 'list'])).stdout.split('\n');
    expect(table[0].split(/\s+/)).toEqual(['name', 'dataset', 'target', 'latest', 'production', 'aliases']);
    expect(table[2].split(/\s+/)).toEqual(['clients_model', 'loans_shuffled', 'loan_approval', '2', '1', 'production=v1']);

    const gated = ['models', 'promote', 'clients_model', '2'];
    const refused = await h.run(gated);
    expectExit(gated, refused, 1);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/not promoted/);
    expect(production(h)).toBe(1);

    const forced = await ok(h, [...gated, '--force', '--reason', 'acceptance test']);
    expect(forced.stdout).toContain('forced promotion of v2 over v1, gate skipped: acceptance test');
    expect(production(h)).toBe(2);

    const rolledBack = await ok(h, ['models', 'rollback', 'clients_model']);
    expect(rolledBack.stdout).toContain('clients_model: production is now v1');

    const detail = await h.json<ModelDetail>(['models', 'show', 'clients_model', '--json']);
    expect(detail.production).toBe(1);
    expect(detail.versions.map((v) => v.version).sort()).toEqual([1, 2]);
    const events = detail.events.map((e) => [e.action, e.version]);
    // Newest first: the history a user reads to see who moved production, when and why.
    expect(events).toEqual([
      ['rollback', 1],
      ['force_promote', 2],
      ['refuse', 2],
      ['refuse', 2],
      ['register', 2],
      ['promote', 1],
      ['register', 1],
    ]);
    expect(detail.events[1].reason).toContain('acceptance test');
    expect(detail.events[3].reason).toBe(second.reason);
  });

  it('runs: a run failed on a bad file succeeds on `runs retry` once the file is fixed; show and --logs tell it', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'applicants.csv');
    writeFileSync(file, 'Age,Loan_Approval\n30,1,extra\n41,0,extra\n');
    const { message, runId: id } = await failTraining(h, ['--data', file, '--target', 'Loan_Approval'], 'load_raw_data');
    expect(message).toMatch(/line 2: expected 2 fields, found 3/);

    let run = await h.json<RunDetail>(['runs', 'show', id, '--json']);
    const load = () => run.tasks.find((t) => t.taskId === 'load_raw_data')!;
    expect(run.status).toBe('failed');
    expect(run.tasks.map((t) => [t.taskId, t.state])).toEqual([
      ['load_raw_data', 'failed'],
      ['preprocess_data', 'upstream_failed'],
      ['train_model', 'upstream_failed'],
    ]);
    const triesBefore = load().tryNumber;
    expect(load().attempts.every((a) => a.state === 'failed' && /expected 2 fields, found 3/.test(a.error ?? ''))).toBe(true);

    await ok(h, ['sample', file, '--rows', '1000']);
    const retried = await ok(h, ['runs', 'retry', id]);
    expect(retried.stdout).toMatch(/load_raw_data\s+success/);

    run = await h.json<RunDetail>(['runs', 'show', id, '--json']);
    expect(run.status).toBe('success');
    expect(run.tasks.map((t) => [t.taskId, t.state, t.tryNumber])).toEqual([
      ['load_raw_data', 'success', triesBefore + 1],
      ['preprocess_data', 'success', 1],
      ['train_model', 'success', 1],
    ]);
    expect(load().attempts.map((a) => a.state)).toEqual([...Array(triesBefore).fill('failed'), 'success']);
    expect(load().output).toMatchObject({ rows: 1000, rejects: 0, table: 'raw_applicants' });
    expect(run.tasks.find((t) => t.taskId === 'train_model')?.output).toMatchObject({
      model: { name: 'clients_model', version: 1 },
      promoted: true,
    });

    const logs = (await ok(h, ['runs', 'show', id, '--logs'])).stdout;
    expect(logs).toContain(`training ${id}: success`);
    expect(logs).toContain('--- load_raw_data try 1 (failed) ---');
    expect(logs).toContain(`--- load_raw_data try ${triesBefore + 1} (success) ---`);
    expect(logs).toContain('--- preprocess_data try 1 (success) ---');
    expect(logs).toContain('--- train_model try 1 (success) ---');
    expect(logs).toContain('loaded 1000 rows into raw_applicants (0 rejected; delimiter ",", utf-8)');
    expect(logs).toMatch(/snapshot [0-9a-f-]{36}: \d+\/\d+\/\d+ train\/val\/test rows/);
    expect(logs).toMatch(/best on validation: (hist_gradient_boosting|logistic_regression)/);
  });

  it('sample: writes a loan CSV that trains into a promoted model; `runs list` and `runs show` have the run', async ({ expect }) => {
    const h = home();
    const file = join(h.dir, 'out.csv');
    const written = await ok(h, ['sample', file, '--rows', '1000']);
    expect(written.stdout).toContain(`wrote 1000 rows to ${file}`);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1001);
    expect(lines[0].split(',')).toContain('Loan_Approval');

    const payload = await h.json<TrainingPayload>(['run', 'training', '--data', file, '--target', 'Loan_Approval', '--json']);
    expectTrainingPayload(payload);
    expect(payload.promoted).toBe(true);
    expect(payload.metrics.test.roc_auc).toBeGreaterThan(0.75);

    const runs = await h.json<{ id: string; dagId: string; status: string }[]>(['runs', 'list', '--json']);
    expect(runs).toEqual([expect.objectContaining({ id: payload.run_id, dagId: 'training', status: 'success' })]);
    const run = await h.json<RunDetail>(['runs', 'show', payload.run_id, '--json']);
    expect(run.tasks.map((t) => [t.taskId, t.state, t.tryNumber])).toEqual([
      ['load_raw_data', 'success', 1],
      ['preprocess_data', 'success', 1],
      ['train_model', 'success', 1],
    ]);
    expect(run.tasks[2].output).toMatchObject({ model: payload.model, promoted: true, reason: payload.reason });
    expect(h.dataTables()).toEqual([expect.stringMatching(/^clean_out_[0-9a-f]{12}$/), 'raw_out']);
    expect(h.count('dataset_snapshots')).toBe(1);
  });

  it('sample: rejects a bad --rows', async ({ expect }) => {
    const h = home();
    const result = await h.run(['sample', join(h.dir, 'x.csv'), '--rows', '0']);
    expectExit(['sample'], result, 2);
    expect(userError(result)).toContain('--rows must be a positive integer, got "0"');
    expect(existsSync(join(h.dir, 'x.csv'))).toBe(false);
  });
});
