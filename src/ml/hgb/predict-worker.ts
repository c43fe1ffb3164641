/**
 * A scoring thread of the pool in predict-pool.ts: takes chunks of a round's rows and scores them with its own copy of
 * the flat forest. Loaded through the pool's bootstrap, which calls runPredictWorker.
 */
import {
  PREDICT_WORKER_PROTOCOL,
  type PredictWorkerInit,
  type ScoreJob,
  scoreChunks,
  START_STATE,
  type WorkerNotice,
} from './predict-protocol.js';
import { FlatForest } from './predictor.js';

/** Forests kept per worker: enough for the models a server swaps between, bounded so old ones are let go. */
const MAX_FORESTS = 8;

export function runPredictWorker(init: PredictWorkerInit): void {
  const start = new Int32Array(init.start);
  const notify = (notice: WorkerNotice): void => init.port.postMessage(notice);
  const started = (value: number): void => {
    Atomics.store(start, 0, value);
    Atomics.notify(start, 0);
  };
  if (init.protocol !== PREDICT_WORKER_PROTOCOL) {
    notify({ type: 'error', message: `scoring worker protocol ${PREDICT_WORKER_PROTOCOL} does not match the caller's ${init.protocol} (stale build?)` });
    started(START_STATE.FAILED);
    return;
  }
  const reportError = (error: unknown): void => notify({ type: 'error', message: `scoring worker failed: ${(error as Error).message}` });
  // Least recently used first (Map keeps insertion order).
  const forests = new Map<number, FlatForest>();
  init.port.on('message', (job: ScoreJob) => {
    let forest = forests.get(job.modelId);
    if (forest !== undefined) {
      forests.delete(job.modelId);
    } else if (job.model !== null) {
      try {
        forest = new FlatForest(job.model);
      } catch (error) {
        reportError(error);
        return;
      }
      if (forests.size === MAX_FORESTS) forests.delete(forests.keys().next().value as number);
    } else {
      notify({ type: 'need-model', modelId: job.modelId });
      return;
    }
    forests.set(job.modelId, forest);
    try {
      scoreChunks(forest, job, reportError);
    } catch {
      // Reported (FAILED in the round's control, message on the port) by scoreChunks.
    }
  });
  started(START_STATE.READY);
}
