/**
 * `training` with a random search: every trial is a child run of the training run with its params and cross-validated
 * ROC AUC, the task log has a line per trial, and the registered model carries the best trial's params. Also the
 * search flags and conf checks. SQLite only: the search adds no storage of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { confFromFlags } from '../src/cli/commands/runs.js';
import { loadConfig } from '../src/config.js';
import { openContext, type AppContext } from '../src/context.js';
import { writeLoanSample } from '../src/data/index.js';
import { buildDags } from '../src/pipeline/dags.js';
import { InProcessExecutor, PipelineRunner } from '../src/pipeline/index.js';
import { checkConf } from '../src/pipeline/workflows.js';
import type { TrainModelResult } from '../src/pipeline/tasks/train-model.js';
import { freshStore, type TestStore } from './helpers/stores.js';

describe('training with a random search (sqlite)', () => {
  let store: TestStore;
  let app: AppContext;
  let dir: string;
  let runner: PipelineRunner;

  beforeAll(async () => {
    store = await freshStore({ name: 'sqlite', url: 'sqlite:' });
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-search-'));
    const config = loadConfig({
      MLDEPLOY_HOME: dir,
      MLDEPLOY_DATABASE_URL: store.url,
      MLDEPLOY_ARTIFACTS_URL: pathToFileURL(join(dir, 'artifacts')).href,
    });
    app = await openContext(config, pino({ level: 'silent' }));
    runner = new PipelineRunner({ store: app.store, dags: buildDags(app), executor: new InProcessExecutor(), logger: app.logger });
  });

  afterAll(async () => {
    await runner?.close();
    await app?.close();
    await store?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tracks each trial as a child run and registers gradient boosting with the best trial params', async () => {
    const csv = join(dir, 'loans.csv');
    await writeLoanSample(csv, { rows: 900, seed: 3 });
    const runId = await runner.trigger('training', {
      data: csv,
      target: 'Loan_Approval',
      estimators: ['hist_gradient_boosting'],
      search: { trials: 4, folds: 3, seed: 21 },
    });
    const run = await runner.waitFor(runId);
    expect(run.status, JSON.stringify(run.tasks.map((t) => [t.taskId, t.state, t.error]))).toBe('success');
    const result = run.tasks.find((t) => t.taskId === 'train_model')!.output as TrainModelResult;
    expect(result.search).toMatchObject({ trials: 4, folds: 3, seed: 21 });

    const parent = await app.tracking.getRun(result.run_id);
    expect(parent.params).toMatchObject({ search_trials: '4', search_folds: '3', search_seed: '21' });
    const children = await app.tracking.listRuns({ parentRunId: parent.id });
    const trials = children.filter((r) => r.tags.search_trial !== undefined);
    expect(trials.map((r) => Number(r.tags.search_trial)).sort()).toEqual([0, 1, 2, 3]);
    for (const trial of trials) {
      expect(trial.status).toBe('FINISHED');
      expect(Object.keys(trial.params).sort()).toEqual(['cv_folds', 'learningRate', 'maxDepth', 'maxIter', 'search_trial']);
      const lr = Number(trial.params.learningRate);
      expect(lr).toBeGreaterThanOrEqual(1e-3);
      expect(lr).toBeLessThanOrEqual(1);
      const folds = [1, 2, 3].map((f) => trial.metrics[`cv_roc_auc_fold_${f}`]);
      for (const auc of folds) expect(auc).toBeGreaterThan(0.5);
      expect(trial.metrics.cv_roc_auc_mean).toBeCloseTo((folds[0] + folds[1] + folds[2]) / 3, 12);
      expect(trial.metrics.cv_roc_auc_std).toBeGreaterThanOrEqual(0);
    }
    const bestTrial = trials.reduce((a, b) => (b.metrics.cv_roc_auc_mean > a.metrics.cv_roc_auc_mean ? b : a));
    expect(result.search!.best.run_id).toBe(bestTrial.id);
    expect(result.search!.best.cv_roc_auc_mean).toBe(bestTrial.metrics.cv_roc_auc_mean);

    // The registered version is the gradient boosting candidate refitted with the best trial's params.
    expect(result.estimator).toBe('hist_gradient_boosting');
    const version = await app.registry.getVersion(result.model.name, result.model.version);
    const candidate = await app.tracking.getRun(version.runId!);
    expect(candidate.parentRunId).toBe(parent.id);
    expect(candidate.tags.search_best_run_id).toBe(bestTrial.id);
    for (const key of ['learningRate', 'maxIter', 'maxDepth']) expect(candidate.params[key]).toBe(bestTrial.params[key]);
    const modelFile = JSON.parse((await app.tracking.readArtifact(candidate.id, 'model.json')).toString('utf8'));
    expect(modelFile.estimator.params).toMatchObject({
      learningRate: Number(bestTrial.params.learningRate),
      maxIter: Number(bestTrial.params.maxIter),
      maxDepth: Number(bestTrial.params.maxDepth),
    });

    const log = (await runner.taskLog(runId, 'train_model'))!.log;
    for (let done = 1; done <= 4; done++) expect(log).toContain(`search trial ${done}/4: #`);
    expect(log).toMatch(/search best: trial \d/);
  });
});

describe('search options', () => {
  it('reads --search-trials, --search-folds (default 5) and --search-seed', () => {
    expect(confFromFlags({ searchTrials: '40', searchFolds: '5' }).search).toEqual({ trials: 40, folds: 5 });
    expect(confFromFlags({ searchTrials: '8' }).search).toEqual({ trials: 8, folds: 5 });
    expect(confFromFlags({ searchTrials: '8', searchFolds: '3', searchSeed: '7' }).search).toEqual({ trials: 8, folds: 3, seed: 7 });
    expect(confFromFlags({}).search).toBeUndefined();
  });

  it('names the flag of a bad value', () => {
    expect(() => confFromFlags({ searchTrials: '2.5' })).toThrow('--search-trials must be an integer >= 1, got "2.5"');
    expect(() => confFromFlags({ searchTrials: '0' })).toThrow('--search-trials must be an integer >= 1, got "0"');
    expect(() => confFromFlags({ searchTrials: '8', searchFolds: '1' })).toThrow('--search-folds must be an integer >= 2, got "1"');
    expect(() => confFromFlags({ searchTrials: '8', searchSeed: 'x' })).toThrow('--search-seed must be an integer >= 0, got "x"');
    expect(() => confFromFlags({ searchFolds: '3' })).toThrow('--search-folds needs --search-trials');
  });

  it('checks a stored conf the same way, and that gradient boosting is a candidate', () => {
    const base = { data: 'x.csv', target: 'y' };
    expect(() => checkConf('training', { ...base, search: { trials: 4, folds: 0 } })).toThrow('--search-folds must be an integer >= 2, got 0');
    expect(() => checkConf('training', { ...base, search: { trials: 4, folds: 3 }, estimators: ['logistic_regression'] })).toThrow(
      '--search-trials tunes hist_gradient_boosting, which --estimators leaves out',
    );
    expect(() => checkConf('training', { ...base, search: { trials: 4, folds: 3, seed: 1 } })).not.toThrow();
  });
});
