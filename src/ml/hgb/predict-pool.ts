/**
 * Batch scoring across threads: a pool of scoring workers (predict-worker.ts), started once per process on the first
 * batch big enough to use it and never per request. Workers are unref'd: an idle pool does not keep the process alive.
 *
 * The API stays synchronous: the calling thread copies the rows to shared memory, takes chunks of them like the workers,
 * then waits (Atomics.wait) for the chunks still in flight. Rows go in rounds so the copy stays small. Each row is
 * scored whole by one thread with the same forest, so the probabilities are those of one thread, bit for bit. A worker
 * that fails costs the batch nothing but time: its rows are scored again here and the pool stops, with a warning.
 */
import { type MessagePort, MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { FlatForest, ForestJSON } from './predictor.js';
import { compiledWorkerUrl } from '../worker-url.js';
import {
  CONTROL,
  PREDICT_WORKER_PROTOCOL,
  type PredictWorkerInit,
  type ScoreJob,
  scoreChunks,
  START_STATE,
  type WorkerNotice,
} from './predict-protocol.js';
import { usableCpus } from '../../cpus.js';

/** Below this many rows a batch stays on the calling thread: a round trip to a worker costs ~0.1 ms. */
export const MIN_PARALLEL_ROWS = 16_384;
/** Rows per round, all threads together: bounds the shared copy (ROUND_ROWS x nFeatures doubles). */
const ROUND_ROWS = 65_536;
/** Rows a thread takes at a time (~0.5 ms of work): the calling thread waits at most this for a worker. */
const CHUNK_ROWS = 512;
const CHUNK_TIMEOUT_MS = 60_000;

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  start: Int32Array;
  /** Models (by id) this worker was sent; it may drop one since, and then says so. */
  sent: Set<number>;
}

/** The workers and the shared copy of a round's rows they read. */
interface Pool {
  workers: PoolWorker[];
  /** Until every worker has reported it is ready. */
  starting: boolean;
  columns: SharedArrayBuffer;
  out: SharedArrayBuffer;
}

let helperThreads = Math.max(0, Math.min(usableCpus() - 1, 3));
let pool: Pool | null = null;
let poolFailed = false;
const modelIds = new WeakMap<ForestJSON, number>();
let nextModelId = 1;

/**
 * Sets how many worker threads help score big batches (default: cores - 1, at most 3; 0 scores on the calling thread
 * only). Takes effect on the next batch; a running pool of another size is stopped.
 */
export function setHgbScoringThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`scoring threads must be an integer >= 0, got ${n}`);
  if (n === helperThreads) return;
  helperThreads = n;
  closePool();
  poolFailed = false;
}

/**
 * Scores the rows [0, nRows) of the columns into out on the pool and the calling thread; false (nothing done) when
 * the batch is small, threads are off or the pool is not (yet) running.
 */
export function scoreInParallel(forest: FlatForest, model: ForestJSON, columns: Float64Array[], nRows: number, out: Float64Array): boolean {
  if (nRows < MIN_PARALLEL_ROWS || helperThreads === 0) return false;
  const p = readyPool();
  if (p === null) return false;
  let modelId = modelIds.get(model);
  if (modelId === undefined) {
    modelId = nextModelId++;
    modelIds.set(model, modelId);
  }
  const nf = columns.length;
  for (let start = 0; start < nRows; start += ROUND_ROWS) {
    const m = Math.min(ROUND_ROWS, nRows - start);
    if (p.columns.byteLength < m * nf * 8) p.columns = new SharedArrayBuffer(m * nf * 8);
    const shared = new Float64Array(p.columns);
    for (let j = 0; j < nf; j++) shared.set(columns[j].subarray(start, start + m), j * m);
    // A fresh control per round: a worker still holding an earlier round's job finds no rows left in it.
    const control = new SharedArrayBuffer(CONTROL.WORDS * 4);
    const job = { columns: p.columns, nFeatures: nf, nRows: m, out: p.out, control, chunkRows: CHUNK_ROWS };
    for (const w of p.workers) {
      const sendModel = !w.sent.has(modelId);
      w.sent.add(modelId);
      w.port.postMessage({ ...job, modelId, model: sendModel ? model : null } satisfies ScoreJob);
    }
    scoreChunks(forest, job, () => {});
    const words = new Int32Array(control);
    for (let active = Atomics.load(words, CONTROL.ACTIVE); active !== 0; active = Atomics.load(words, CONTROL.ACTIVE)) {
      if (Atomics.wait(words, CONTROL.ACTIVE, active, CHUNK_TIMEOUT_MS) === 'timed-out') {
        giveUp(`a scoring thread did not finish a chunk within ${CHUNK_TIMEOUT_MS / 1000} s`);
        forest.scoreColumns(columns, start, nRows, out.subarray(start));
        return true;
      }
    }
    if (Atomics.load(words, CONTROL.FAILED) !== 0) {
      // A worker failed on rows it took: score the round again here (an error in the rows themselves throws here).
      giveUp(firstError(p) ?? 'a scoring thread failed');
      forest.scoreColumns(columns, start, nRows, out.subarray(start));
      return true;
    }
    out.set(new Float64Array(p.out, 0, m), start);
  }
  readNotices(p);
  return true;
}

/** Applies what the workers posted: a model to send again; an error (outside any rows) stops the pool. */
function readNotices(p: Pool): void {
  for (const w of p.workers) {
    for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) {
      const notice = m.message as WorkerNotice;
      if (notice.type === 'need-model') w.sent.delete(notice.modelId);
      else return giveUp(notice.message);
    }
  }
}

function firstError(p: Pool): string | null {
  for (const w of p.workers) {
    for (let m = receiveMessageOnPort(w.port); m !== undefined; m = receiveMessageOnPort(w.port)) {
      const notice = m.message as WorkerNotice;
      if (notice.type === 'error') return notice.message;
    }
  }
  return null;
}

/** Stops the pool for good (until setHgbScoringThreads) with a warning: scoring goes on, on the calling thread. */
function giveUp(reason: string): void {
  closePool();
  poolFailed = true;
  const hint = compiledWorkerUrl(import.meta.url, './predict-worker.js').fromSources ? ' (run `npm run build` to enable workers)' : '';
  process.emitWarning(`HistGradientBoostingClassifier: ${reason}; scoring on one thread${hint}`, 'HgbWorkerWarning');
}

/**
 * The pool once all its workers are up, else null: the first big batch starts it and is scored on the calling thread
 * (a worker takes a few hundred ms to load, more than such a batch takes on one thread).
 */
function readyPool(): Pool | null {
  if (poolFailed) return null;
  if (pool === null) {
    const { url } = compiledWorkerUrl(import.meta.url, './predict-worker.js');
    pool = {
      workers: Array.from({ length: helperThreads }, () => startWorker(url)),
      starting: true,
      columns: new SharedArrayBuffer(0),
      out: new SharedArrayBuffer(ROUND_ROWS * 8),
    };
    return null;
  }
  if (pool.starting) {
    if (pool.workers.some((w) => Atomics.load(w.start, 0) === START_STATE.FAILED)) {
      giveUp(firstError(pool) ?? 'a scoring thread failed to start');
      return null;
    }
    if (pool.workers.some((w) => Atomics.load(w.start, 0) !== START_STATE.READY)) return null;
    pool.starting = false;
  }
  return pool;
}

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.scriptUrl).then(
  (m) => m.runPredictWorker(workerData.init),
  (error) => {
    workerData.init.port.postMessage({ type: 'error', message: 'cannot load ' + workerData.scriptUrl + ': ' + (error && error.message) });
    Atomics.store(new Int32Array(workerData.init.start), 0, ${START_STATE.FAILED});
  },
);
`;

function startWorker(url: URL): PoolWorker {
  const channel = new MessageChannel();
  const start = new SharedArrayBuffer(4);
  const init: PredictWorkerInit = { protocol: PREDICT_WORKER_PROTOCOL, start, port: channel.port2 };
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { init, scriptUrl: url.href }, transferList: [channel.port2] });
  worker.unref();
  channel.port1.unref();
  const w: PoolWorker = { worker, port: channel.port1, start: new Int32Array(start), sent: new Set() };
  // The worker catches its own errors; this is for one that dies anyway (an unhandled 'error' would end the process).
  worker.on('error', (error) => {
    if (pool?.workers.includes(w)) giveUp(`a scoring thread died: ${error.message}`);
  });
  return w;
}

function stopWorker(w: PoolWorker): void {
  w.port.close();
  void w.worker.terminate();
}

function closePool(): void {
  pool?.workers.forEach(stopWorker);
  pool = null;
}
