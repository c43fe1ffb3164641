/**
 * The dashboard plugin on every backend: the JSON API (counts, ordering, pagination, 404s, documented schemas) and the
 * pages (values shown, stored text escaped), over realistic rows seeded through Kysely.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/schema.js';
import { ArtifactNotFoundError } from '../src/errors.js';
import { dashboardPlugin, type DagShape } from '../src/ui/index.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const XSS = `<script>alert("x")</script>`;

/** Days before today (UTC) at a given hour, as the stored ISO text. */
function daysAgo(days: number, hour: number, minute = 0): string {
  const d = new Date();
  d.setUTCHours(hour, minute, 0, 0);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString();
}

const ROC = { fpr: [0, 0.1, 0.5, 1], tpr: [0, 0.7, 0.95, 1] };
// Trapezoids: 0.1*(0+0.7)/2 + 0.4*(0.7+0.95)/2 + 0.5*(0.95+1)/2 = 0.035 + 0.33 + 0.4875
const ROC_AREA = '0.8525';

const artifacts = new Map<string, string>([
  ['runs/run-hgb/artifacts/roc.json', JSON.stringify(ROC)],
  ['runs/run-lr/artifacts/roc.json', JSON.stringify({ fpr: [0, 1], tpr: [0.5] })],
]);

async function readArtifact(key: string): Promise<Buffer> {
  const text = artifacts.get(key);
  if (text === undefined) throw new ArtifactNotFoundError(key);
  return Buffer.from(text);
}

const trainingShape: DagShape = [
  { id: 'load_raw_data' },
  { id: 'preprocess_data', upstream: ['load_raw_data'] },
  { id: 'train_model', upstream: ['preprocess_data'] },
];

async function seed(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('dag_runs')
    .values([
      { id: 'dr-old', dag_id: 'training', status: 'queued', trigger: 'schedule', conf_json: '{}', error: null, created_at: '2025-01-10T08:00:00.000Z', started_at: null, ended_at: null },
      { id: 'dr-ok', dag_id: 'training', status: 'success', trigger: 'manual', conf_json: JSON.stringify({ data: 'loan_approval.csv', target: 'loan_status' }), error: null, created_at: '2025-01-11T08:00:00.000Z', started_at: '2025-01-11T08:00:01.000Z', ended_at: '2025-01-11T08:01:31.000Z' },
      { id: 'dr-bad', dag_id: 'load_raw_data', status: 'failed', trigger: 'manual', conf_json: JSON.stringify({ data: `${XSS}.csv` }), error: `task load_raw_data failed: no such file ${XSS}.csv`, created_at: '2025-01-12T08:00:00.000Z', started_at: '2025-01-12T08:00:01.000Z', ended_at: '2025-01-12T08:00:09.000Z' },
    ])
    .execute();
  const ti = (dag_run_id: string, task_id: string, state: Database['task_instances']['state'], try_number: number, max_tries: number, started_at: string | null, ended_at: string | null, error: string | null = null) =>
    ({ dag_run_id, task_id, state, try_number, max_tries, output_json: state === 'success' ? JSON.stringify({ task: task_id }) : null, error, started_at, ended_at });
  await db
    .insertInto('task_instances')
    .values([
      ti('dr-ok', 'load_raw_data', 'success', 1, 3, '2025-01-11T08:00:01.000Z', '2025-01-11T08:00:11.000Z'),
      ti('dr-ok', 'preprocess_data', 'success', 2, 3, '2025-01-11T08:00:12.000Z', '2025-01-11T08:00:20.000Z'),
      ti('dr-ok', 'train_model', 'success', 1, 2, '2025-01-11T08:00:21.000Z', '2025-01-11T08:01:30.000Z'),
      ti('dr-bad', 'load_raw_data', 'failed', 3, 3, '2025-01-12T08:00:01.000Z', '2025-01-12T08:00:09.000Z', `no such file ${XSS}.csv`),
      ti('dr-old', 'load_raw_data', 'pending', 0, 3, null, null),
    ])
    .execute();
  const attempt = (dag_run_id: string, task_id: string, try_number: number, state: 'success' | 'failed', log: string, started_at: string, ended_at: string, error: string | null = null) =>
    ({ dag_run_id, task_id, try_number, state, log, error, started_at, ended_at });
  await db
    .insertInto('task_attempts')
    .values([
      attempt('dr-ok', 'load_raw_data', 1, 'success', 'loaded 4269 rows into raw_loan_approval', '2025-01-11T08:00:01.000Z', '2025-01-11T08:00:11.000Z'),
      attempt('dr-ok', 'preprocess_data', 1, 'failed', 'reading raw_loan_approval\nError: connection reset by peer', '2025-01-11T08:00:12.000Z', '2025-01-11T08:00:13.000Z', 'connection reset by peer'),
      attempt('dr-ok', 'preprocess_data', 2, 'success', 'snapshot s1: 2988/427/854 train/val/test rows', '2025-01-11T08:00:15.000Z', '2025-01-11T08:00:20.000Z'),
      attempt('dr-ok', 'train_model', 1, 'success', 'hist_gradient_boosting: val ROC AUC 0.9990', '2025-01-11T08:00:21.000Z', '2025-01-11T08:01:30.000Z'),
      attempt('dr-bad', 'load_raw_data', 1, 'failed', `opening ${XSS}.csv`, '2025-01-12T08:00:01.000Z', '2025-01-12T08:00:02.000Z', 'ENOENT'),
      attempt('dr-bad', 'load_raw_data', 2, 'failed', 'retry 2', '2025-01-12T08:00:04.000Z', '2025-01-12T08:00:05.000Z', 'ENOENT'),
      attempt('dr-bad', 'load_raw_data', 3, 'failed', 'retry 3', '2025-01-12T08:00:08.000Z', '2025-01-12T08:00:09.000Z', 'ENOENT'),
    ])
    .execute();

  await db
    .insertInto('experiments')
    .values([
      { id: 'exp-loan', name: 'loan_model', created_at: '2025-01-09T00:00:00.000Z' },
      { id: 'exp-empty', name: 'empty_experiment', created_at: '2025-01-08T00:00:00.000Z' },
    ])
    .execute();
  const run = (id: string, name: string, parent: string | null, start: string, end: string | null, status: 'RUNNING' | 'FINISHED' | 'FAILED' = 'FINISHED') =>
    ({ id, experiment_id: 'exp-loan', parent_run_id: parent, name, status, dataset_snapshot_id: 'snap-1', dag_run_id: parent ? null : 'dr-ok', start_time: start, end_time: end });
  await db
    .insertInto('runs')
    .values([
      run('run-parent-old', 'train_model loan_approval', null, '2025-01-09T10:00:00.000Z', '2025-01-09T10:02:00.000Z'),
      run('run-hgb-old', 'hist_gradient_boosting', 'run-parent-old', '2025-01-09T10:00:01.000Z', '2025-01-09T10:01:00.000Z'),
      run('run-parent', 'train_model loan_approval', null, '2025-01-11T08:00:21.000Z', '2025-01-11T08:01:30.000Z'),
      run('run-hgb', 'hist_gradient_boosting', 'run-parent', '2025-01-11T08:00:22.000Z', '2025-01-11T08:01:00.000Z'),
      run('run-lr', 'logistic_regression', 'run-parent', '2025-01-11T08:01:01.000Z', '2025-01-11T08:01:20.000Z'),
    ])
    .execute();
  const metric = (run_id: string, key: string, value: number, step = 0) => ({ run_id, key, value, step, timestamp: '2025-01-11T08:01:00.000Z' });
  await db
    .insertInto('run_metrics')
    .values([
      metric('run-hgb-old', 'test_roc_auc', 0.991),
      metric('run-parent-old', 'test_roc_auc', 0.991),
      metric('run-hgb', 'test_roc_auc', 0.9987),
      metric('run-hgb', 'val_roc_auc', 0.999),
      ...[0.69, 0.41, 0.25, 0.17, 0.12].map((v, step) => metric('run-hgb', 'train_loss', v, step)),
      metric('run-lr', 'test_roc_auc', 0.9678),
      metric('run-parent', 'test_roc_auc', 0.9987),
    ])
    .execute();
  await db
    .insertInto('run_params')
    .values([
      { run_id: 'run-hgb', key: 'estimator', value: 'hist_gradient_boosting' },
      { run_id: 'run-hgb', key: 'max_iter', value: '100' },
      { run_id: 'run-hgb', key: 'note', value: XSS },
    ])
    .execute();
  await db.insertInto('run_tags').values({ run_id: 'run-parent', key: 'best_estimator', value: 'hist_gradient_boosting' }).execute();

  await db
    .insertInto('registered_models')
    .values([
      { name: 'loan_model', description: 'loan approval classifier', created_at: '2025-01-09T10:02:00.000Z' },
      { name: 'unserved_model', description: null, created_at: '2025-01-09T11:00:00.000Z' },
    ])
    .execute();
  const version = (v: number, run_id: string, auc: number, created_at: string) => ({
    name: 'loan_model',
    version: v,
    run_id,
    artifact_key: `runs/${run_id}/artifacts/model.json`,
    dataset_snapshot_id: 'snap-1',
    metrics_json: JSON.stringify({ estimator: 'hist_gradient_boosting', val: { roc_auc: auc + 0.001 }, test: { roc_auc: auc, accuracy: 0.98 } }),
    created_at,
  });
  await db
    .insertInto('model_versions')
    .values([
      version(1, 'run-hgb-old', 0.991, '2025-01-09T10:02:00.000Z'),
      version(2, 'run-hgb', 0.9987, '2025-01-11T08:01:25.000Z'),
      version(3, 'run-lr', 0.9678, '2025-01-11T09:00:00.000Z'),
    ])
    .execute();
  await db
    .insertInto('model_aliases')
    .values([
      { name: 'loan_model', alias: 'production', version: 2, updated_at: '2025-01-11T08:01:28.000Z' },
      { name: 'loan_model', alias: 'staging', version: 3, updated_at: '2025-01-11T09:00:00.000Z' },
    ])
    .execute();
  const event = (id: string, v: number, action: Database['model_events']['action'], reason: string, created_at: string) =>
    ({ id, name: 'loan_model', version: v, alias: action === 'register' ? null : 'production', action, reason, created_at });
  await db
    .insertInto('model_events')
    .values([
      event('ev1', 1, 'register', 'registered from run run-hgb-old', '2025-01-09T10:02:00.000Z'),
      event('ev2', 1, 'promote', 'no production version yet', '2025-01-09T10:02:01.000Z'),
      event('ev3', 2, 'register', 'registered from run run-hgb', '2025-01-11T08:01:25.000Z'),
      event('ev4', 2, 'promote', 'ROC AUC 0.9987 beats v1 (0.9910)', '2025-01-11T08:01:28.000Z'),
      event('ev5', 3, 'register', 'registered from run run-lr', '2025-01-11T09:00:00.000Z'),
      event('ev6', 3, 'refuse', `not promoted: ROC AUC 0.9678 is below production v2 (0.9987) ${XSS}`, '2025-01-11T09:00:01.000Z'),
    ])
    .execute();

  const prediction = (id: string, created_at: string, model_name: string, probability: number, label: number | null) => ({
    id,
    request_id: `req-${id}`,
    created_at,
    model_name,
    model_version: 2,
    row_id: id === 'p1' ? XSS : `row-${id}`,
    inputs_json: JSON.stringify({ income_annum: 9_600_000, loan_term: 12, cibil_score: 778 }),
    probability,
    prediction: probability >= 0.5 ? 1 : 0,
    threshold: 0.5,
    label,
    label_at: label === null ? null : created_at,
  });
  await db
    .insertInto('predictions')
    .values([
      prediction('p1', daysAgo(2, 15), 'loan_model', 0.1, 0),
      prediction('p2', daysAgo(2, 15, 30), 'loan_model', 0.6, null),
      prediction('p3', daysAgo(1, 10), 'loan_model', 0.9, 1),
      prediction('p4', daysAgo(1, 10, 20), 'loan_model', 0.2, 1),
      prediction('p5', daysAgo(1, 11), 'loan_model', 0.7, null),
      prediction('p6', daysAgo(3, 9), 'other_model', 0.8, null),
    ])
    .execute();

  await db
    .insertInto('raw_loads')
    .values({
      id: 'load-1',
      dataset: 'loan_approval',
      table_name: 'raw_loan_approval',
      source: '/data/loan_approval.csv',
      content_hash: 'abc123',
      status: 'loaded',
      row_count: 4269,
      reject_count: 2,
      columns_json: JSON.stringify([{ name: 'loan_id', type: 'integer' }, { name: 'loan_status', type: 'text' }]),
      delimiter: ',',
      error: null,
      created_at: '2025-01-11T08:00:11.000Z',
    })
    .execute();
  await db
    .insertInto('dataset_snapshots')
    .values({
      id: 'snap-1',
      dataset: 'loan_approval',
      raw_load_id: 'load-1',
      table_name: 'clean_loan_approval',
      target: 'loan_status',
      positive_label: 'Approved',
      features_json: JSON.stringify([{ name: 'income_annum' }, { name: 'loan_term' }, { name: 'cibil_score' }]),
      row_id_columns_json: JSON.stringify(['loan_id']),
      counts_json: JSON.stringify({ train: 2988, val: 427, test: 854, positives: { train: 1859, val: 266, test: 531 } }),
      content_hash: 'def456',
      seed: 42,
      created_at: '2025-01-11T08:00:20.000Z',
    })
    .execute();
}

async function buildApp(store: TestStore): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(swagger, { openapi: { info: { title: 'mldeploy', version: 'test' } } });
  await app.register(dashboardPlugin, {
    store,
    readArtifact,
    dagShape: (dagId) => (dagId === 'training' ? trainingShape : undefined),
  });
  await app.ready();
  return app;
}

describe.each(backends)('dashboard on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    await seed(store.db);
    app = await buildApp(store);
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  async function getJson(url: string, status = 200) {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    return res.json();
  }

  async function getPage(url: string, status = 200): Promise<string> {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(status);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    // Every page must keep stored text inert.
    expect(res.body).not.toContain('<script');
    return res.body;
  }

  it.skipIf(!backend.url)('lists DAG runs newest first, filters by DAG, pages, and counts task states', async () => {
    const all = await getJson('/api/dag-runs');
    expect(all.total).toBe(3);
    expect(all.items.map((r: { id: string }) => r.id)).toEqual(['dr-bad', 'dr-ok', 'dr-old']);
    expect(all.items[1]).toMatchObject({ dagId: 'training', status: 'success', durationMs: 90_000, taskCounts: { success: 3 } });
    expect(all.items[1].conf).toEqual({ data: 'loan_approval.csv', target: 'loan_status' });
    expect(all.items[0].taskCounts).toEqual({ failed: 1 });

    const training = await getJson('/api/dag-runs?dag=training&limit=1');
    expect(training).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect(training.items.map((r: { id: string }) => r.id)).toEqual(['dr-ok']);
    const next = await getJson('/api/dag-runs?dag=training&limit=1&offset=1');
    expect(next.items.map((r: { id: string }) => r.id)).toEqual(['dr-old']);

    expect((await getJson('/api/dag-runs?limit=100000')).limit).toBe(500);
    const bad = await getJson('/api/dag-runs?limit=abc', 400);
    expect(bad.message).toMatch(/limit/);
  });

  it.skipIf(!backend.url)('returns one DAG run with tasks in start order and every attempt with its log', async () => {
    const run = await getJson('/api/dag-runs/dr-ok');
    expect(run.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(['load_raw_data', 'preprocess_data', 'train_model']);
    const preprocess = run.tasks[1];
    expect(preprocess).toMatchObject({ state: 'success', tryNumber: 2, maxTries: 3, durationMs: 8000, output: { task: 'preprocess_data' } });
    expect(preprocess.attempts).toHaveLength(2);
    expect(preprocess.attempts[0]).toMatchObject({ tryNumber: 1, state: 'failed', error: 'connection reset by peer', durationMs: 1000 });
    expect(preprocess.attempts[0].log).toContain('connection reset by peer');
    expect(preprocess.attempts[1]).toMatchObject({ tryNumber: 2, state: 'success' });

    const missing = await getJson('/api/dag-runs/nope', 404);
    expect(missing.message).toBe('DAG run "nope" not found');
  });

  it.skipIf(!backend.url)('lists experiments with run counts and runs filtered by experiment and parent', async () => {
    const experiments = await getJson('/api/experiments');
    expect(experiments.total).toBe(2);
    expect(experiments.items[0]).toMatchObject({ name: 'loan_model', runCount: 5, lastRunAt: '2025-01-11T08:01:01.000Z' });
    expect(experiments.items[1]).toMatchObject({ name: 'empty_experiment', runCount: 0, lastRunAt: null });

    const byName = await getJson('/api/runs?experiment=loan_model&parent=none');
    expect(byName.total).toBe(2);
    expect(byName.items.map((r: { id: string }) => r.id)).toEqual(['run-parent', 'run-parent-old']);
    const children = await getJson('/api/runs?parent=run-parent&limit=1');
    expect(children).toMatchObject({ total: 2, limit: 1 });
    expect(children.items[0].id).toBe('run-lr');
    const unknown = await getJson('/api/runs?experiment=nope', 404);
    expect(unknown.message).toMatch(/experiment "nope" not found/);
  });

  it.skipIf(!backend.url)('returns a run with params, last metric values, tags, children and versions', async () => {
    const hgb = await getJson('/api/runs/run-hgb');
    expect(hgb).toMatchObject({ experimentName: 'loan_model', parentRunId: 'run-parent', status: 'FINISHED', durationMs: 38_000 });
    expect(hgb.params).toEqual({ estimator: 'hist_gradient_boosting', max_iter: '100', note: XSS });
    const loss = hgb.metrics.find((m: { key: string }) => m.key === 'train_loss');
    expect(loss).toMatchObject({ value: 0.12, step: 4, steps: 5 });
    expect(hgb.metrics.map((m: { key: string }) => m.key)).toEqual(['test_roc_auc', 'train_loss', 'val_roc_auc']);
    expect(hgb.modelVersions).toEqual([{ name: 'loan_model', version: 2 }]);
    expect(hgb.artifacts).toBeNull(); // no listArtifacts given

    const parent = await getJson('/api/runs/run-parent');
    expect(parent.children.map((c: { id: string }) => c.id)).toEqual(['run-hgb', 'run-lr']);
    expect(parent.tags).toEqual({ best_estimator: 'hist_gradient_boosting' });

    const history = await getJson('/api/runs/run-hgb/metrics/train_loss');
    expect(history.points.map((p: { value: number }) => p.value)).toEqual([0.69, 0.41, 0.25, 0.17, 0.12]);
    expect((await getJson('/api/runs/run-hgb/metrics/nope', 404)).message).toBe('run "run-hgb" has no metric "nope"');
    expect((await getJson('/api/runs/nope', 404)).message).toBe('run "nope" not found');
  });

  it.skipIf(!backend.url)('returns models with their production version, and one model with versions, aliases and events', async () => {
    const models = await getJson('/api/models');
    expect(models.items.map((m: { name: string }) => m.name)).toEqual(['loan_model', 'unserved_model']);
    expect(models.items[0]).toMatchObject({ versionCount: 3, latestVersion: 3, aliases: { production: 2, staging: 3 } });
    expect(models.items[0].production).toMatchObject({ version: 2, testAuc: 0.9987 });
    expect(models.items[1]).toMatchObject({ versionCount: 0, latestVersion: null, production: null });

    const model = await getJson('/api/models/loan_model');
    expect(model.versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    expect(model.versions[1]).toMatchObject({ aliases: ['production'], testAuc: 0.9987, runId: 'run-hgb' });
    expect(model.versions[1].metrics.test).toEqual({ roc_auc: 0.9987, accuracy: 0.98 });
    expect(model.events.map((e: { id: string }) => e.id)).toEqual(['ev6', 'ev5', 'ev4', 'ev3', 'ev2', 'ev1']);
    expect(model.events[0]).toMatchObject({ action: 'refuse', version: 3 });
    expect((await getJson('/api/models/loan_model?events=2')).events).toHaveLength(2);
    expect((await getJson('/api/models/nope', 404)).message).toBe('model "nope" is not registered');
  });

  it.skipIf(!backend.url)('lists predictions newest first with inputs and labels, and pages without counting', async () => {
    const page1 = await getJson('/api/predictions?model=loan_model&limit=2');
    expect(page1.items.map((p: { id: string }) => p.id)).toEqual(['p5', 'p4']);
    expect(page1.hasMore).toBe(true);
    expect(page1.items[1]).toMatchObject({ probability: 0.2, prediction: 0, label: 1, modelVersion: 2, threshold: 0.5 });
    expect(page1.items[1].inputs).toEqual({ income_annum: 9_600_000, loan_term: 12, cibil_score: 778 });
    const page3 = await getJson('/api/predictions?model=loan_model&limit=2&offset=4');
    expect(page3.items.map((p: { id: string }) => p.id)).toEqual(['p1']);
    expect(page3.hasMore).toBe(false);
    expect((await getJson('/api/predictions')).items).toHaveLength(6);
  });

  it.skipIf(!backend.url)('aggregates predictions per day and hour with positive rate, mean probability and label agreement', async () => {
    const stats = await getJson('/api/predictions/stats?model=loan_model');
    expect(stats.bucket).toBe('day');
    expect(stats.totals).toMatchObject({ count: 5, labelled: 3 });
    expect(stats.totals.positiveRate).toBeCloseTo(3 / 5, 12);
    expect(stats.totals.meanProbability).toBeCloseTo(0.5, 12);
    expect(stats.totals.labelAgreement).toBeCloseTo(2 / 3, 12);
    // 30 days back to today, empty days included.
    expect(stats.buckets.length).toBeGreaterThanOrEqual(30);
    expect(stats.buckets.at(-1).start.slice(0, 10)).toBe(new Date().toISOString().slice(0, 10));
    const day1 = stats.buckets.find((b: { start: string }) => b.start === `${daysAgo(1, 0).slice(0, 10)}T00:00:00.000Z`);
    expect(day1).toMatchObject({ count: 3, labelled: 2, labelAgreement: 0.5 });
    expect(day1.positiveRate).toBeCloseTo(2 / 3, 12);
    expect(day1.meanProbability).toBeCloseTo(0.6, 12);
    const empty = stats.buckets.find((b: { start: string }) => b.start === `${daysAgo(5, 0).slice(0, 10)}T00:00:00.000Z`);
    expect(empty).toEqual({ start: empty.start, count: 0, positiveRate: null, meanProbability: null, labelled: 0, labelAgreement: null });

    const since = daysAgo(2, 0);
    const until = daysAgo(2, 18);
    const hourly = await getJson(`/api/predictions/stats?model=loan_model&bucket=hour&since=${since}&until=${until}`);
    expect(hourly.buckets).toHaveLength(18);
    expect(hourly.buckets.filter((b: { count: number }) => b.count > 0)).toEqual([
      expect.objectContaining({ start: daysAgo(2, 15), count: 2, positiveRate: 0.5, labelled: 1, labelAgreement: 1 }),
    ]);
    const all = await getJson('/api/predictions/stats');
    expect(all.totals.count).toBe(6);
    expect((await getJson('/api/predictions/stats?since=yesterday-ish', 400)).message).toMatch(/since/);
  });

  it.skipIf(!backend.url)('lists raw loads and snapshots', async () => {
    const data = await getJson('/api/datasets');
    expect(data.rawLoads).toHaveLength(1);
    expect(data.rawLoads[0]).toMatchObject({ dataset: 'loan_approval', rowCount: 4269, rejectCount: 2, status: 'loaded' });
    expect(data.snapshots[0]).toMatchObject({ id: 'snap-1', target: 'loan_status', seed: 42 });
    expect(data.snapshots[0].counts.test).toBe(854);
    expect((await getJson('/api/datasets?dataset=other')).rawLoads).toHaveLength(0);
  });

  it.skipIf(!backend.url)('documents the API in OpenAPI under the dashboard tag and keeps pages out of it', async () => {
    const spec = app.swagger() as unknown as { paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>> };
    for (const path of ['/api/dag-runs', '/api/dag-runs/{id}', '/api/experiments', '/api/runs', '/api/runs/{id}', '/api/models', '/api/models/{name}', '/api/predictions', '/api/predictions/stats', '/api/datasets']) {
      expect(spec.paths[path]?.get?.tags, path).toEqual(['dashboard']);
      expect(spec.paths[path].get.responses['200'], path).toBeDefined();
    }
    expect(spec.paths['/api/models/{name}'].get.responses['404']).toBeDefined();
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });

  it.skipIf(!backend.url)('shows production models, recent pipeline runs and prediction volume on the overview', async () => {
    const html = await getPage('/ui');
    expect(html).toContain('href="/ui/models/loan_model"');
    expect(html).toMatch(/>v2<\/span>/);
    expect(html).toContain('0.9987');
    expect(html).toContain('href="/ui/pipelines/dr-bad"');
    expect(html).toMatch(/<svg class="chart"[^>]*aria-label="Predictions per day"/);
  });

  it.skipIf(!backend.url)('shows pipeline runs filtered by DAG, and a run with its graph, attempts and escaped logs', async () => {
    const list = await getPage('/ui/pipelines?dag=training');
    expect(list).toContain('href="/ui/pipelines/dr-ok"');
    expect(list).not.toContain('href="/ui/pipelines/dr-bad"');

    const ok = await getPage('/ui/pipelines/dr-ok');
    expect(ok).toContain('aria-label="Task graph"');
    // Two dependency arrows from the DAG shape, three task boxes.
    expect(ok.match(/marker-end="url\(#dag-arrow\)"/g)).toHaveLength(2);
    expect(ok.match(/<rect [^>]*rx="7"/g)).toHaveLength(3);
    expect(ok).toContain('Attempt 2');
    expect(ok).toContain('Error: connection reset by peer');
    expect(ok).toContain('1 min 30 s');

    const bad = await getPage('/ui/pipelines/dr-bad');
    expect(bad).toContain('opening &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.csv');
    expect(bad).toContain('Tasks in start order'); // no shape for this DAG: no arrows
    expect(bad).not.toContain('marker-end');

    const missing = await getPage('/ui/pipelines/nope', 404);
    expect(missing).toContain('There is no DAG run &quot;nope&quot;.');
  });

  it.skipIf(!backend.url)('charts a metric across an experiment’s runs and lists them', async () => {
    const list = await getPage('/ui/experiments');
    expect(list).toContain('href="/ui/experiments/exp-loan"');
    const page = await getPage('/ui/experiments/loan_model');
    expect(page).toContain('aria-label="test_roc_auc per run"');
    // One marker per run that logged test_roc_auc (5 runs), grouped by run name.
    expect(page.match(/<circle /g)).toHaveLength(5);
    expect(page).toContain('hist_gradient_boosting (2025-01-11 08:00:22): test_roc_auc = 0.9987');
    const other = await getPage('/ui/experiments/exp-loan?metric=train_loss');
    expect(other).toContain('aria-label="train_loss per run"');
    await getPage('/ui/experiments/nope', 404);
  });

  it.skipIf(!backend.url)('shows a run with params, metrics, its ROC curve from roc.json, and escapes param values', async () => {
    const page = await getPage('/ui/runs/run-hgb');
    expect(page).toContain('max_iter');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('aria-label="ROC curve"');
    expect(page).toContain(`ROC (area ${ROC_AREA})`);
    expect(page).toContain('aria-label="train_loss by step"');
    expect(page).toContain('href="/ui/models/loan_model"');

    const broken = await getPage('/ui/runs/run-lr');
    expect(broken).toContain('roc.json has 2 fpr values but 1 tpr values');
    const parent = await getPage('/ui/runs/run-parent');
    expect(parent).not.toContain('ROC curve');
    expect(parent).toContain('href="/ui/runs/run-hgb"');
  });

  it.skipIf(!backend.url)('shows models, the production version and the registry history with escaped reasons', async () => {
    const list = await getPage('/ui/models');
    expect(list).toContain('unserved_model');
    const page = await getPage('/ui/models/loan_model');
    expect(page).toContain('production v2');
    expect(page).toContain('>refused</span>');
    expect(page).toContain('not promoted: ROC AUC 0.9678 is below production v2 (0.9987) &lt;script&gt;');
    expect(page).toContain('test.roc_auc');
    expect(page).toContain('aria-label="Test ROC AUC by version"');
    await getPage('/ui/models/nope', 404);
  });

  it.skipIf(!backend.url)('shows the latest predictions and their traffic charts, escaping row ids', async () => {
    const page = await getPage('/ui/predictions?model=loan_model');
    expect(page.match(/<tr><td>/g)).toHaveLength(5);
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('60.0%'); // positive rate of the five
    expect(page).toContain('aria-label="Positive rate and mean probability per day"');
    expect(page).toContain('>miss</span>');
    const hourly = await getPage('/ui/predictions?bucket=hour');
    expect(hourly).toContain('aria-label="Predictions per hour (UTC)"');
  });

  it.skipIf(!backend.url)('shows raw loads and snapshots', async () => {
    const page = await getPage('/ui/datasets');
    expect(page).toContain('raw_loan_approval');
    expect(page).toContain('2,988 (1,859+) / 427 (266+) / 854 (531+)');
  });
});

describe('dashboard failures', () => {
  it('shows an HTML error page when a page fails and leaves API errors to the host app', async () => {
    const store = await freshStore(backends[0]);
    const app = Fastify();
    try {
      app.setErrorHandler((error: Error, _request, reply) => reply.code(503).send({ host: true, message: error.message }));
      await app.register(dashboardPlugin, { store });
      await app.ready();
      await store.close(); // every query fails from here on
      const page = await app.inject({ method: 'GET', url: '/ui/models' });
      expect(page.statusCode).toBe(500);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('The page could not be built');
      const api = await app.inject({ method: 'GET', url: '/api/models' });
      expect(api.statusCode).toBe(503);
      expect(api.json().host).toBe(true);
    } finally {
      await app.close();
      await store.dispose();
    }
  });
});

describe('dashboard under a prefix', () => {
  it('links pages under the prefix it is mounted at', async () => {
    const store = await freshStore(backends[0]);
    const app = Fastify();
    try {
      await app.register(dashboardPlugin, { prefix: '/dash', store });
      const res = await app.inject({ method: 'GET', url: '/dash/ui/pipelines' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('href="/dash/ui/models"');
      expect((await app.inject({ method: 'GET', url: '/dash/api/models' })).json()).toEqual({ items: [] });
    } finally {
      await app.close();
      await store.dispose();
    }
  });
});
