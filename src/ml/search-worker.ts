/**
 * A random search worker thread (see search.ts): reads the shared data once, then for each (trial, fold) it is sent
 * fits the task's estimator on the other folds with one thread and answers the held-out fold's score: ROC AUC
 * (binary), minus the mean log loss (multi-class), R^2 (regression).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { takeRows } from './frame.js';
import { HistGradientBoostingClassifier, HistGradientBoostingRegressor } from './hgb/index.js';
import type { HgbOptions, HgbRegressorOptions } from './hgb/index.js';
import { rocAuc } from './metrics.js';
import type { SampledParams, SearchTask } from './search.js';
import type { Frame } from './types.js';

export interface SearchWorkerData {
  task: SearchTask;
  baseParams: HgbOptions | HgbRegressorOptions;
  nRows: number;
  nFeatures: number;
  /** Float64, feature after feature (column-major). */
  X: SharedArrayBuffer;
  /** Float64 labels, class codes or targets. */
  y: SharedArrayBuffer;
  /** Uint8 fold of each row. */
  folds: SharedArrayBuffer;
}

export interface FoldTask {
  trial: number;
  fold: number;
  params: SampledParams;
}

export interface FoldResult {
  trial: number;
  fold: number;
  score: number;
  seconds: number;
}

/** Fits on the training rows and scores the test rows, as the task scores. */
function foldScore(data: SearchWorkerData, params: SampledParams, train: Frame, yTrain: number[], test: Frame, yTest: number[]): number {
  const options = { ...data.baseParams, ...params, nThreads: 1 };
  if (data.task === 'regression') {
    const predicted = new HistGradientBoostingRegressor(options as HgbRegressorOptions).fit(train, yTrain).predict(test);
    return r2(yTest, predicted);
  }
  const model = new HistGradientBoostingClassifier(options as HgbOptions).fit(train, yTrain);
  if (data.task === 'binary') return rocAuc(yTest, model.predictProba(test));
  return -logLoss(yTest, model.predictProbaMatrix(test), model.nClasses);
}

/** scikit-learn's log_loss: probabilities clipped to [eps, 1 - eps] and each row renormalised, then the mean of
 * -log p(true class). */
function logLoss(y: number[], proba: Float64Array, K: number): number {
  const eps = Number.EPSILON;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.min(Math.max(proba[i * K + k], eps), 1 - eps);
    total -= Math.log(Math.min(Math.max(proba[i * K + y[i]], eps), 1 - eps) / sum);
  }
  return total / y.length;
}

/** The coefficient of determination: 1 - residual sum of squares / total sum of squares (1 or 0 for constant y). */
function r2(y: number[], predicted: Float64Array): number {
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  let residual = 0;
  let total = 0;
  y.forEach((v, i) => {
    residual += (v - predicted[i]) ** 2;
    total += (v - mean) ** 2;
  });
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}

function rowsWhere(folds: Uint8Array, keep: (fold: number) => boolean): Uint32Array {
  const rows: number[] = [];
  for (let i = 0; i < folds.length; i++) if (keep(folds[i])) rows.push(i);
  return Uint32Array.from(rows);
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const data = workerData as SearchWorkerData;
  const all = new Float64Array(data.X);
  const frame: Frame = {
    nRows: data.nRows,
    columns: Array.from({ length: data.nFeatures }, (_, f) => all.subarray(f * data.nRows, (f + 1) * data.nRows)),
  };
  const y = new Float64Array(data.y);
  const folds = new Uint8Array(data.folds);
  port.on('message', (task: FoldTask) => {
    try {
      const started = performance.now();
      const trainRows = rowsWhere(folds, (f) => f !== task.fold);
      const testRows = rowsWhere(folds, (f) => f === task.fold);
      const score = foldScore(
        data,
        task.params,
        takeRows(frame, trainRows),
        Array.from(trainRows, (i) => y[i]),
        takeRows(frame, testRows),
        Array.from(testRows, (i) => y[i]),
      );
      const result: FoldResult = { trial: task.trial, fold: task.fold, score, seconds: (performance.now() - started) / 1000 };
      port.postMessage(result);
    } catch (error) {
      port.postMessage({ trial: task.trial, fold: task.fold, error: error instanceof Error ? error.message : String(error) });
    }
  });
}
