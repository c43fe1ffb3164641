/**
 * train_model: fit the candidate models on a dataset snapshot's train split, evaluate on val and test, track every
 * candidate as a child run, register the best on validation, and promote it only through the promotion gate. With a
 * search, gradient boosting's hyperparameters come from a random search with k-fold CV on the train split, each trial
 * tracked as a child run too.
 */
import type { AppContext } from '../../context.js';
import { getSnapshot, readSplit, type DatasetSnapshot } from '../../data/index.js';
import { HistGradientBoostingClassifier, HistGradientBoostingRegressor } from '../../ml/hgb/index.js';
import { MultinomialLogisticRegression, Ridge } from '../../ml/linear.js';
import { LogisticRegression } from '../../ml/logistic.js';
import {
  bestF1Threshold,
  evaluateBinary,
  evaluateMulticlass,
  evaluateRegression,
  rocCurve,
  type BinaryEvaluation,
  type MulticlassEvaluation,
  type RegressionEvaluation,
} from '../../ml/metrics.js';
import { fitTabularModel, type EncodedLayout, type ModelSignature, type TabularModel } from '../../ml/tabular-model.js';
import { TabularPreprocessor, type Encoding, type TabularColumns } from '../../ml/preprocessing.js';
import { randomSearchCV, type RandomSearchResult, type SampledParams, type SearchTrial } from '../../ml/search.js';
import type { BinaryClassifier, FeatureSpec, MulticlassClassifier, Regressor, Task } from '../../ml/types.js';
import { buildReferenceProfile, REFERENCE_PROFILE_PATH } from '../../monitor/index.js';
import { runArtifactKey } from '../../tracking/index.js';
import { evaluateForPromotion, type PromotionOutcome } from '../promotion.js';

import type { EstimatorName } from '../../ml/estimator-names.js';
import type { HgbOptions, HgbRegressorOptions } from '../../ml/hgb/index.js';
import type { SearchConf } from '../workflows.js';

export interface TrainModelOptions {
  snapshotId: string;
  modelName: string;
  experiment?: string;
  /** Candidates to fit; the best on validation (ROC AUC, macro for multi-class; RMSE for regression) is registered. */
  estimators?: EstimatorName[];
  /** 'fixed' keeps 0.5; 'f1' picks the threshold maximising F1 on validation. */
  threshold?: 'fixed' | 'f1';
  dagRunId?: string;
  seed?: number;
  /** Tune gradient boosting by random search with k-fold CV on the train split before fitting it. */
  search?: SearchConf;
}

type Metrics = BinaryEvaluation | MulticlassEvaluation | RegressionEvaluation;

export interface TrainModelResult {
  run_id: string;
  /** binary, multiclass or regression. */
  task: Task;
  model: { name: string; version: number };
  estimator: EstimatorName;
  promoted: boolean;
  reason: string;
  metrics: { val: Metrics; test: Metrics };
  /** The gradient boosting search, when one ran. */
  search?: SearchSummary;
}

export interface SearchSummary {
  trials: number;
  folds: number;
  seed: number;
  /** The cross-validated score: roc_auc (binary), neg_log_loss (multi-class) or r2 (regression); higher is better. */
  scoring: SearchScoring;
  /** `cv_<scoring>_mean` and `cv_<scoring>_std` hold the best trial's mean and standard deviation over the folds. */
  best: { trial: number; run_id: string; params: SampledParams } & Record<string, unknown>;
}

type SearchScoring = 'roc_auc' | 'neg_log_loss' | 'r2';
const SEARCH_SCORING: Record<Task, SearchScoring> = { binary: 'roc_auc', multiclass: 'neg_log_loss', regression: 'r2' };
/** How the task log names each scoring. */
const SCORING_LABEL: Record<SearchScoring, string> = { roc_auc: 'ROC AUC', neg_log_loss: 'minus log loss', r2: 'R^2' };

interface Candidate {
  estimator: EstimatorName;
  runId: string;
  model: TabularModel;
  val: Metrics;
  test: Metrics;
  artifactKey: string;
}

interface Log {
  info(message: string, data?: Record<string, unknown>): void;
}

type EstimatorFactory = (layout: EncodedLayout) => BinaryClassifier | MulticlassClassifier | Regressor;

/** The candidates each task fits by default, and the ones it can fit. */
const TASK_ESTIMATORS: Record<Task, EstimatorName[]> = {
  binary: ['hist_gradient_boosting', 'logistic_regression'],
  multiclass: ['hist_gradient_boosting', 'logistic_regression'],
  regression: ['hist_gradient_boosting', 'ridge'],
};

/** `tuned`: gradient boosting options found by the search, over the defaults. */
function makeEstimator(task: Task, name: EstimatorName, seed: number, tuned: HgbOptions = {}): { estimator: EstimatorFactory; encoding: Encoding } {
  if (!TASK_ESTIMATORS[task].includes(name)) {
    throw new Error(`${name} cannot fit a ${task} target; candidates for ${task}: ${TASK_ESTIMATORS[task].join(', ')}`);
  }
  if (name === 'ridge') return { estimator: () => new Ridge({ alpha: 1 }), encoding: 'linear' };
  if (name === 'logistic_regression') {
    return {
      estimator: () => (task === 'multiclass' ? new MultinomialLogisticRegression({ C: 1 }) : new LogisticRegression({ C: 1 })),
      encoding: 'linear',
    };
  }
  if (task === 'regression') {
    return { estimator: ({ categoricalFeatures }) => new HistGradientBoostingRegressor({ ...(tuned as HgbRegressorOptions), randomState: seed, categoricalFeatures }), encoding: 'tree' };
  }
  return {
    estimator: ({ categoricalFeatures }) => new HistGradientBoostingClassifier({ ...tuned, randomState: seed, categoricalFeatures }),
    encoding: 'tree',
  };
}

/** The model's scores on a split and their metrics, as the task defines them. */
function evaluate(task: Task, model: TabularModel, split: { columns: TabularColumns; y: ArrayLike<number> }): { score: Float64Array; metrics: Metrics } {
  const score = model.scoreColumns(split.columns);
  if (task === 'multiclass') return { score, metrics: evaluateMulticlass(split.y, score) };
  if (task === 'regression') return { score, metrics: evaluateRegression(split.y, score) };
  return { score, metrics: evaluateBinary(split.y, score, model.threshold) };
}

/** The headline of a task's metrics, for log lines: "ROC AUC 0.9123" or "RMSE 312.4 (R^2 0.85)". */
function headline(task: Task, m: Metrics): string {
  if (task === 'regression') {
    const r = m as RegressionEvaluation;
    return `RMSE ${Number(r.rmse.toPrecision(5))} (R^2 ${r.r2.toFixed(4)})`;
  }
  return `${task === 'multiclass' ? 'macro ROC AUC' : 'ROC AUC'} ${(m as BinaryEvaluation).roc_auc.toFixed(4)}`;
}

/** True when validation metrics `a` beat `b`: higher ROC AUC, or lower RMSE for regression. */
function better(task: Task, a: Metrics, b: Metrics): boolean {
  if (task === 'regression') return (a as RegressionEvaluation).rmse < (b as RegressionEvaluation).rmse;
  return (a as BinaryEvaluation).roc_auc > (b as BinaryEvaluation).roc_auc;
}

/** The predictions a reference profile describes: P(positive), the predicted class label, or the predicted value. */
function referencePrediction(task: Task, model: TabularModel, columns: TabularColumns) {
  const score = model.scoreColumns(columns);
  if (task === 'binary') return { name: 'probability', type: 'float' as const, values: score };
  if (task === 'regression') return { name: 'value', type: 'float' as const, values: score };
  const K = model.classes.length;
  const labels: string[] = [];
  for (let i = 0; i < score.length / K; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (score[i * K + k] > score[i * K + best]) best = k;
    labels.push(model.classes[best]);
  }
  return { name: 'label', type: 'categorical' as const, values: labels };
}

/** The model's signature target for the snapshot's task. */
function targetOf(snapshot: DatasetSnapshot): ModelSignature['target'] {
  if (snapshot.task === 'multiclass') return { name: snapshot.target, classes: snapshot.classes ?? [] };
  if (snapshot.task === 'regression') return { name: snapshot.target };
  return { name: snapshot.target, positiveLabel: snapshot.positiveLabel, negativeLabel: snapshot.negativeLabel };
}

function flatMetrics(prefix: string, m: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(m)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[`${prefix}_${key}`] = value;
  }
  return out;
}

export async function trainModel(ctx: AppContext, options: TrainModelOptions, log: Log): Promise<TrainModelResult> {
  const snapshot: DatasetSnapshot = await getSnapshot(ctx.store, options.snapshotId);
  const seed = options.seed ?? snapshot.seed;
  const { task } = snapshot;
  const estimators = options.estimators ?? TASK_ESTIMATORS[task];
  for (const name of estimators) makeEstimator(task, name, seed);
  if (options.threshold === 'f1' && task !== 'binary') throw new Error(`--threshold f1 applies to binary models; this target is ${task}`);
  const [train, val, test] = await Promise.all(
    (['train', 'val', 'test'] as const).map((split) => readSplit(ctx.store, snapshot.id, split)),
  );
  log.info(`task: ${task}${snapshot.taskReason ? ` (${snapshot.taskReason})` : ''}${snapshot.classes ? `; classes ${snapshot.classes.join(', ')}` : ''}`);
  log.info(`training on snapshot ${snapshot.id}: ${train.nRows} train, ${val.nRows} val, ${test.nRows} test rows`);

  const experiment = options.experiment ?? options.modelName;
  const parent = await ctx.tracking.startRun({
    experiment,
    name: `train_model ${snapshot.dataset}`,
    datasetSnapshotId: snapshot.id,
    dagRunId: options.dagRunId,
    tags: { dataset: snapshot.dataset, target: snapshot.target, task },
  });
  try {
    await ctx.tracking.logParams(parent.id, {
      dataset: snapshot.dataset,
      dataset_snapshot_id: snapshot.id,
      target: snapshot.target,
      task,
      ...(snapshot.taskReason ? { task_reason: snapshot.taskReason } : {}),
      ...(task === 'binary' ? { positive_label: snapshot.positiveLabel } : {}),
      ...(snapshot.classes ? { classes: snapshot.classes.join(',') } : {}),
      seed,
      candidates: estimators.join(','),
      threshold_rule: options.threshold ?? 'fixed',
      train_rows: train.nRows,
      val_rows: val.nRows,
      test_rows: test.nRows,
      ...(options.search
        ? { search_trials: options.search.trials, search_folds: options.search.folds, search_seed: options.search.seed ?? seed }
        : {}),
    });

    const signature: ModelSignature = { features: snapshot.features, rowIdColumns: snapshot.rowIdColumns, target: targetOf(snapshot) };
    const candidates: Candidate[] = [];
    let searchSummary: SearchSummary | undefined;
    for (const name of estimators) {
      const child = await ctx.tracking.startRun({
        experiment,
        name,
        parentRunId: parent.id,
        datasetSnapshotId: snapshot.id,
        dagRunId: options.dagRunId,
        tags: { estimator: name },
      });
      try {
        let tuned: HgbOptions = {};
        if (name === 'hist_gradient_boosting' && options.search) {
          const track = { ctx, experiment, parentRunId: parent.id, snapshotId: snapshot.id, dagRunId: options.dagRunId };
          searchSummary = await searchGradientBoosting(task, train, signature.features, seed, options.search, track, log);
          const { best, scoring } = searchSummary;
          tuned = best.params as HgbOptions;
          const cv = (stat: string) => best[`cv_${scoring}_${stat}`] as number;
          await ctx.tracking.logMetrics(child.id, { [`cv_${scoring}_mean`]: cv('mean'), [`cv_${scoring}_std`]: cv('std') });
          await ctx.tracking.setTags(child.id, { search_best_trial: String(best.trial), search_best_run_id: best.run_id });
        }
        const { estimator, encoding } = makeEstimator(task, name, seed, tuned);
        const started = performance.now();
        const fitted = fitTabularModel({ task, data: train.columns, y: train.y, signature, estimator, encoding });
        const fitSeconds = (performance.now() - started) / 1000;
        const model =
          options.threshold === 'f1'
            ? fitted.withThreshold(bestF1Threshold(val.y, fitted.predictProbaColumns(val.columns)).threshold)
            : fitted;
        const { metrics: valMetrics } = evaluate(task, model, val);
        const { score: testScore, metrics: testMetrics } = evaluate(task, model, test);
        log.info(`${name}: val ${headline(task, valMetrics)}, test ${headline(task, testMetrics)} (fit ${fitSeconds.toFixed(2)} s)`);
        await ctx.tracking.logParams(child.id, {
          estimator: name,
          encoding,
          ...(task === 'binary' ? { threshold: model.threshold } : {}),
          ...estimatorParams(model),
        });
        await ctx.tracking.logMetrics(child.id, {
          ...flatMetrics('val', valMetrics),
          ...flatMetrics('test', testMetrics),
          fit_seconds: fitSeconds,
        });
        const modelFile = JSON.stringify(model.toJSON());
        await ctx.tracking.logArtifact(child.id, 'model.json', modelFile);
        await ctx.tracking.logArtifact(child.id, 'metrics.json', JSON.stringify({ val: valMetrics, test: testMetrics }, null, 2));
        if (task === 'binary') {
          const roc = rocCurve(test.y, testScore, 200);
          await ctx.tracking.logArtifact(child.id, 'roc.json', JSON.stringify({ fpr: Array.from(roc.fpr), tpr: Array.from(roc.tpr) }));
        }
        await ctx.tracking.endRun(child.id, 'FINISHED');
        candidates.push({
          estimator: name,
          runId: child.id,
          model,
          val: valMetrics,
          test: testMetrics,
          artifactKey: runArtifactKey(child.id, 'model.json'),
        });
      } catch (error) {
        await ctx.tracking.endRun(child.id, 'FAILED');
        throw error;
      }
    }

    const best = candidates.reduce((a, b) => (better(task, b.val, a.val) ? b : a));
    log.info(`best on validation: ${best.estimator} (val ${headline(task, best.val)})`);
    // What monitoring compares live traffic with: the train split's features and the test split's predictions
    // (P(positive) for binary models, the predicted class or value for the other tasks).
    const profile = buildReferenceProfile({
      features: signature.features.map((f) => ({ name: f.name, type: f.type, values: train.columns[f.name] })),
      prediction: referencePrediction(task, best.model, test.columns),
      ...(task === 'binary' ? { testLabels: test.y } : {}),
      ...(task === 'multiclass' ? { classes: best.model.classes } : {}),
      seed,
    });
    await ctx.tracking.logArtifact(best.runId, REFERENCE_PROFILE_PATH, JSON.stringify(profile));
    const version = await ctx.registry.registerVersion({
      name: options.modelName,
      runId: best.runId,
      artifactKey: best.artifactKey,
      datasetSnapshotId: snapshot.id,
      metrics: { estimator: best.estimator, val: best.val, test: best.test },
    });
    const outcome: PromotionOutcome = await evaluateForPromotion(ctx, {
      name: options.modelName,
      candidateVersion: version.version,
      candidate: best.model,
      test,
      snapshotId: snapshot.id,
    });
    log.info(outcome.reason);

    await ctx.tracking.logMetrics(parent.id, { ...flatMetrics('val', best.val), ...flatMetrics('test', best.test) });
    await ctx.tracking.setTags(parent.id, {
      best_estimator: best.estimator,
      registered_model: `${options.modelName}@${version.version}`,
      promoted: String(outcome.promoted),
      promotion_reason: outcome.reason,
    });
    await ctx.tracking.endRun(parent.id, 'FINISHED');
    return {
      run_id: parent.id,
      task,
      model: { name: options.modelName, version: version.version },
      estimator: best.estimator,
      promoted: outcome.promoted,
      reason: outcome.reason,
      metrics: { val: best.val, test: best.test },
      ...(searchSummary ? { search: searchSummary } : {}),
    };
  } catch (error) {
    await ctx.tracking.endRun(parent.id, 'FAILED');
    throw error;
  }
}

function estimatorParams(model: TabularModel): Record<string, string | number | boolean> {
  const params = (model.estimator as { params?: Record<string, unknown> }).params ?? {};
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'object' ? JSON.stringify(value) : (value as string | number | boolean);
  }
  return out;
}

interface TrialTracking {
  ctx: AppContext;
  experiment: string;
  parentRunId: string;
  snapshotId: string;
  dagRunId?: string;
}

/**
 * Random search with k-fold CV on the train split (preprocessed as the gradient boosting candidate will be). Each
 * trial is logged to the task log and tracked as a child run as soon as it finishes.
 */
async function searchGradientBoosting(
  task: Task,
  train: { columns: TabularColumns; y: ArrayLike<number>; nRows: number },
  features: FeatureSpec[],
  seed: number,
  search: SearchConf,
  track: TrialTracking,
  log: Log,
): Promise<SearchSummary> {
  const preprocessor = TabularPreprocessor.fit(train.columns, features, 'tree');
  const X = preprocessor.transformColumns(train.columns);
  const scoring = SEARCH_SCORING[task];
  const label = SCORING_LABEL[scoring];
  log.info(`random search: ${search.trials} trials x ${search.folds} folds on ${train.nRows} train rows, scored by ${label}`);
  const runIds = new Map<number, string>();
  // Tracking writes are chained in finishing order while the search goes on; the first failure is kept and rethrown.
  let tracked: Promise<void> = Promise.resolve();
  let trackingError: unknown;
  let result: RandomSearchResult;
  try {
    result = await randomSearchCV({
      X,
      y: train.y,
      trials: search.trials,
      folds: search.folds,
      seed: search.seed ?? seed,
      task,
      baseParams: { randomState: seed, categoricalFeatures: preprocessor.categoricalFeatureIndices },
      onTrial: (trial, { done, total }) => {
        log.info(
          `search trial ${done}/${total}: #${trial.index} ${formatParams(trial.params)}: cv ${label} ` +
            `${trial.meanScore.toFixed(4)} ± ${trial.stdScore.toFixed(4)} (${trial.seconds.toFixed(2)} s)`,
        );
        tracked = tracked
          .then(async () => runIds.set(trial.index, await trackTrial(track, trial, scoring)))
          .then(
            () => undefined,
            (error) => {
              trackingError ??= error;
            },
          );
      },
    });
  } finally {
    await tracked;
  }
  if (trackingError) throw trackingError;
  const { best } = result;
  log.info(`search best: trial ${best.index} ${formatParams(best.params)} (cv ${label} ${best.meanScore.toFixed(4)}); refitting on the train split`);
  return {
    trials: search.trials,
    folds: result.folds,
    seed: result.seed,
    scoring,
    best: {
      trial: best.index,
      run_id: runIds.get(best.index)!,
      params: best.params,
      [`cv_${scoring}_mean`]: best.meanScore,
      [`cv_${scoring}_std`]: best.stdScore,
    },
  };
}

async function trackTrial(track: TrialTracking, trial: SearchTrial, scoring: SearchScoring): Promise<string> {
  const { ctx } = track;
  const run = await ctx.tracking.startRun({
    experiment: track.experiment,
    name: `hist_gradient_boosting trial ${trial.index}`,
    parentRunId: track.parentRunId,
    datasetSnapshotId: track.snapshotId,
    dagRunId: track.dagRunId,
    tags: { estimator: 'hist_gradient_boosting', search_trial: String(trial.index) },
  });
  const params = Object.fromEntries(Object.entries(trial.params).map(([key, value]) => [key, value ?? 'null']));
  await ctx.tracking.logParams(run.id, { ...params, search_trial: trial.index, cv_folds: trial.foldScores.length });
  await ctx.tracking.logMetrics(run.id, {
    [`cv_${scoring}_mean`]: trial.meanScore,
    [`cv_${scoring}_std`]: trial.stdScore,
    ...Object.fromEntries(trial.foldScores.map((score, fold) => [`cv_${scoring}_fold_${fold + 1}`, score])),
    fit_seconds: trial.seconds,
  });
  await ctx.tracking.endRun(run.id, 'FINISHED');
  return run.id;
}

function formatParams(params: SampledParams): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(3) : value}`)
    .join(' ');
}
