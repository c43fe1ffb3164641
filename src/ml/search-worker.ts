/**
 * A random search worker thread (see search.ts): reads the shared data once, then for each (trial, fold) it is sent
 * fits a HistGradientBoostingClassifier on the other folds with one thread and answers the held-out fold's ROC AUC.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { takeRows } from './frame.js';
import { HistGradientBoostingClassifier } from './hgb/index.js';
import type { HgbOptions } from './hgb/index.js';
import { rocAuc } from './metrics.js';
import type { SampledParams } from './search.js';
import type { Frame } from './types.js';

export interface SearchWorkerData {
  baseParams: HgbOptions;
  nRows: number;
  nFeatures: number;
  /** Float64, feature after feature (column-major). */
  X: SharedArrayBuffer;
  /** Float64 0/1 labels. */
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
      const options: HgbOptions = { ...data.baseParams, ...(task.params as HgbOptions), nThreads: 1 };
      const model = new HistGradientBoostingClassifier(options);
      model.fit(takeRows(frame, trainRows), Array.from(trainRows, (i) => y[i]));
      const score = rocAuc(Array.from(testRows, (i) => y[i]), model.predictProba(takeRows(frame, testRows)));
      const result: FoldResult = { trial: task.trial, fold: task.fold, score, seconds: (performance.now() - started) / 1000 };
      port.postMessage(result);
    } catch (error) {
      port.postMessage({ trial: task.trial, fold: task.fold, error: error instanceof Error ? error.message : String(error) });
    }
  });
}
