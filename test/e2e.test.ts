/**
 * The whole system on each backend: a CSV through `training` (load, preprocess, train, register, promote) to a
 * served model answering the original's request, with the prediction row committed; then a no-signal data set that
 * the promotion gate must refuse, leaving production where it was.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { openContext, type AppContext } from '../src/context.js';
import { writeLoanSample } from '../src/data/index.js';
import { buildDags } from '../src/pipeline/dags.js';
import { InProcessExecutor, PipelineRunner } from '../src/pipeline/index.js';
import { buildApp } from '../src/serve/app.js';
import { RegistryModelSource } from '../src/serve/registry-source.js';
import { loadRoc } from '../src/ui/roc.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { ORIGINAL_REQUEST } from './serve-fixtures.js';

const SEED_DATASET = resolve(__dirname, '../../shared/data/seed_dataset.csv');
const haveShared = existsSync(SEED_DATASET) || process.env.CI === 'true';

describe.each(backends)('end to end on $name', (backend) => {
  let store: TestStore;
  let app: AppContext;
  let dir: string;
  let runner: PipelineRunner;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-e2e-'));
    const config = loadConfig({
      MLDEPLOY_HOME: dir,
      MLDEPLOY_DATABASE_URL: store.url,
      MLDEPLOY_ARTIFACTS_URL: pathToFileURL(join(dir, 'artifacts')).href,
    });
    app = await openContext(config, pino({ level: 'silent' }));
    runner = new PipelineRunner({ store: app.store, dags: buildDags(app), executor: new InProcessExecutor(), logger: app.logger });
  });

  afterAll(async () => {
    if (!backend.url) return;
    await runner.close();
    await app.close();
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!backend.url)('trains, promotes and serves the loan model; every prediction is stored', async () => {
    const csv = join(dir, 'loans.csv');
    await writeLoanSample(csv, { rows: 3000, seed: 7 });
    const runId = await runner.trigger('training', { data: csv, target: 'Loan_Approval' });
    const run = await runner.waitFor(runId);
    expect(run.status, JSON.stringify(run.tasks.map((t) => [t.taskId, t.state, t.error]))).toBe('success');
    const result = run.tasks.find((t) => t.taskId === 'train_model')!.output as {
      model: { name: string; version: number };
      promoted: boolean;
      reason: string;
      metrics: { test: { roc_auc: number } };
    };
    expect(result.model).toEqual({ name: 'clients_model', version: 1 });
    expect(result.promoted).toBe(true);
    expect(result.metrics.test.roc_auc).toBeGreaterThan(0.8);
    expect((await app.registry.getAlias('clients_model', 'production'))?.version).toBe(1);

    // The dashboard draws the registered run's ROC curve from its artifact; its area matches the logged test AUC.
    const { runId: modelRunId } = await app.registry.getVersion('clients_model', 1);
    const roc = await loadRoc((key) => app.artifacts.get(key), modelRunId!);
    expect(roc.kind, JSON.stringify(roc)).toBe('ok');
    if (roc.kind === 'ok') expect(roc.curve.auc).toBeCloseTo(result.metrics.test.roc_auc, 2);

    const api = await buildApp({
      store: app.store,
      modelSource: new RegistryModelSource({ registry: app.registry, artifacts: app.artifacts }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
    });
    try {
      const response = await api.inject({ method: 'POST', url: '/predict/', payload: ORIGINAL_REQUEST });
      expect(response.statusCode, response.body).toBe(200);
      const answer = response.json();
      expect([0, 1]).toContain(answer.prediction);
      expect(answer.probability).toBeGreaterThanOrEqual(0);
      expect(answer.probability).toBeLessThanOrEqual(1);
      expect(answer.model).toEqual({ name: 'clients_model', version: 1 });
      expect(answer.label).toBe(String(answer.prediction)); // the target's own labels, 0 and 1
      const row = await app.store.db
        .selectFrom('predictions')
        .selectAll()
        .where('id', '=', answer.prediction_id)
        .executeTakeFirstOrThrow();
      expect(Number(row.model_version)).toBe(1);
      expect(row.row_id).toBe('0');
      expect(Number(row.prediction)).toBe(answer.prediction);
      expect(row.probability).toBeCloseTo(answer.probability, 12);
      expect(JSON.parse(row.inputs_json)).toMatchObject({ credit_score: 331, loan_duration_years: 28 });
    } finally {
      await api.close();
    }
  });

  it.skipIf(!backend.url || !haveShared)("refuses to promote a model trained on the original's no-signal data", async () => {
    const runId = await runner.trigger('training', { data: SEED_DATASET, target: 'Loan_Approval' });
    const run = await runner.waitFor(runId);
    expect(run.status).toBe('success');
    const result = run.tasks.find((t) => t.taskId === 'train_model')!.output as { promoted: boolean; reason: string; model: { version: number } };
    expect(result.model.version).toBe(2);
    expect(result.promoted).toBe(false);
    expect(result.reason).toMatch(/not promoted/);
    expect((await app.registry.getAlias('clients_model', 'production'))?.version).toBe(1);
    const events = await app.registry.events('clients_model');
    expect(events[0]).toMatchObject({ action: 'refuse', version: 2 });
  });
});
