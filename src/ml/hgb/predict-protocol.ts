/** What the scoring pool (predict-pool.ts) and its workers (predict-worker.ts) exchange. */
import type { MessagePort } from 'node:worker_threads';
import type { FlatForest, ForestJSON } from './predictor.js';

/** Bumped when the job format changes, so that a stale compiled worker is refused instead of misread. */
export const PREDICT_WORKER_PROTOCOL = 2;

/** Values of a worker's start word (Int32Array of one element over a SharedArrayBuffer). */
export const START_STATE = { LOADING: 0, READY: 1, FAILED: 2 } as const;

export interface PredictWorkerInit {
  protocol: number;
  start: SharedArrayBuffer;
  port: MessagePort;
}

/** What a worker posts back on its port. */
export type WorkerNotice = { type: 'need-model'; modelId: number } | { type: 'error'; message: string };

/** Words of a round's control array (Int32Array over ScoreJob.control). */
export const CONTROL = {
  /** First row not yet taken. */
  NEXT_ROW: 0,
  /** Threads between "about to take a chunk" and "done with it". */
  ACTIVE: 1,
  /** Set when a thread failed on a chunk it took. */
  FAILED: 2,
  WORDS: 3,
} as const;

/**
 * One round of a batch: rows of the columns (column j: nRows doubles at byte j * nRows * 8 of `columns`) to score
 * into `out`. Every thread takes chunks of `chunkRows` rows until none are left (scoreChunks); a worker that comes late
 * takes none, so the calling thread never waits for a worker that has not started.
 */
export interface ScoreJob {
  modelId: number;
  /** Sent when the worker may not have the forest; if it has not, it says so (need-model) and takes no rows. */
  model: ForestJSON | null;
  columns: SharedArrayBuffer;
  nFeatures: number;
  nRows: number;
  out: SharedArrayBuffer;
  control: SharedArrayBuffer;
  chunkRows: number;
}

/** Scores chunks of the round's rows until none are left; the calling thread and the workers run this alike. */
export function scoreChunks(
  forest: Pick<FlatForest, 'scoreColumns'>,
  job: Pick<ScoreJob, 'columns' | 'nFeatures' | 'nRows' | 'out' | 'control' | 'chunkRows'>,
  onError: (error: unknown) => void,
): void {
  const columns = Array.from({ length: job.nFeatures }, (_, j) => new Float64Array(job.columns, j * job.nRows * 8, job.nRows));
  const out = new Float64Array(job.out, 0, job.nRows);
  const control = new Int32Array(job.control);
  for (;;) {
    // Counted active before taking a chunk: whoever sees no rows left then also sees every chunk still in flight.
    Atomics.add(control, CONTROL.ACTIVE, 1);
    try {
      const start = Atomics.add(control, CONTROL.NEXT_ROW, job.chunkRows);
      if (start >= job.nRows) return;
      const end = Math.min(job.nRows, start + job.chunkRows);
      forest.scoreColumns(columns, start, end, out.subarray(start, end));
    } catch (error) {
      onError(error);
      Atomics.store(control, CONTROL.FAILED, 1);
      throw error;
    } finally {
      if (Atomics.sub(control, CONTROL.ACTIVE, 1) === 1) Atomics.notify(control, CONTROL.ACTIVE);
    }
  }
}
