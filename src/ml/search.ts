/**
 * Random hyperparameter search of gradient boosting with k-fold cross-validation, like scikit-learn's
 * RandomizedSearchCV, per task: a binary classifier scored by ROC AUC (scoring='roc_auc'), a multi-class one by minus
 * the log loss ('neg_log_loss'), both on stratified folds, and a regressor by R^2 ('r2', its default) on shuffled
 * folds. Trials are drawn up front from the seed and each (trial, fold) fit runs on a pool of worker threads that share
 * the data through SharedArrayBuffers and fit on one thread each, so the result depends on the seed only, never on the
 * concurrency or the order in which fits finish.
 */
import { Worker } from 'node:worker_threads';
import { toFrame } from './frame.js';
import { createRng, shuffleInPlace } from './random.js';
import type { FoldResult, FoldTask, SearchWorkerData } from './search-worker.js';
import { HistGradientBoostingClassifier, HistGradientBoostingRegressor, type HgbOptions, type HgbRegressorOptions } from './hgb/index.js';
import type { Matrix } from './types.js';
import { compiledWorkerUrl } from './worker-url.js';
import { usableCpus } from '../cpus.js';

export type SearchParamValue = number | string | boolean | null;

/** How one hyperparameter is drawn: log-uniform float, integer in [low, high] (inclusive), or one of the values. */
export type ParamDistribution =
  | { kind: 'logUniform'; low: number; high: number }
  | { kind: 'intRange'; low: number; high: number }
  | { kind: 'choice'; values: readonly SearchParamValue[] };

/** Option name (as the estimator spells it) -> distribution. */
export type ParamSpace = Record<string, ParamDistribution>;
export type SampledParams = Record<string, SearchParamValue>;

export const logUniform = (low: number, high: number): ParamDistribution => ({ kind: 'logUniform', low, high });
export const intRange = (low: number, high: number): ParamDistribution => ({ kind: 'intRange', low, high });
export const choice = (...values: SearchParamValue[]): ParamDistribution => ({ kind: 'choice', values });

/** The original stack's notebook search for gradient boosting: learning rate 1e-3..1 (log), 50..300 trees, depth 3..10. */
export const HGB_SEARCH_SPACE: ParamSpace = {
  learningRate: logUniform(1e-3, 1),
  maxIter: intRange(50, 300),
  maxDepth: intRange(3, 10),
};

/** `n` parameter sets drawn from `space` (keys in the space's order), the same for the same space, n and seed. */
export function sampleParams(space: ParamSpace, n: number, seed: number): SampledParams[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sampleParams: the number of trials must be an integer >= 1, got ${n}`);
  const entries = Object.entries(space);
  if (entries.length === 0) throw new RangeError('sampleParams: the parameter space is empty');
  for (const [name, dist] of entries) checkDistribution(name, dist);
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const params: SampledParams = {};
    for (const [name, dist] of entries) {
      if (dist.kind === 'logUniform') {
        params[name] = Math.exp(Math.log(dist.low) + rng.next() * (Math.log(dist.high) - Math.log(dist.low)));
      } else if (dist.kind === 'intRange') {
        params[name] = dist.low + rng.int(dist.high - dist.low + 1);
      } else {
        params[name] = dist.values[rng.int(dist.values.length)];
      }
    }
    return params;
  });
}

function checkDistribution(name: string, dist: ParamDistribution): void {
  const bad = (why: string): never => {
    throw new RangeError(`parameter space: "${name}" ${why}`);
  };
  if (dist.kind === 'logUniform') {
    if (!(Number.isFinite(dist.low) && Number.isFinite(dist.high) && dist.low > 0 && dist.low <= dist.high)) {
      bad(`needs 0 < low <= high for a log-uniform range, got [${dist.low}, ${dist.high}]`);
    }
  } else if (dist.kind === 'intRange') {
    if (!(Number.isInteger(dist.low) && Number.isInteger(dist.high) && dist.low <= dist.high)) {
      bad(`needs integers low <= high, got [${dist.low}, ${dist.high}]`);
    }
  } else if (dist.kind === 'choice') {
    if (!Array.isArray(dist.values) || dist.values.length === 0) bad('needs at least one value to choose from');
  } else {
    bad(`has an unknown kind ${JSON.stringify((dist as { kind: unknown }).kind)} (logUniform, intRange or choice)`);
  }
}

/** What a search fits and how it scores a fold. */
export type SearchTask = 'binary' | 'multiclass' | 'regression';

/**
 * The fold (0..k-1) of each row, stratified by class code (0/1, or 0..K-1): each class is shuffled on its own and
 * dealt round the folds, each class continuing where the one before stopped, so every fold keeps the class ratios (to
 * one row per class) and the fold sizes differ by at most one row. Needs at least k rows of each class, so that every
 * fold can be scored.
 */
export function stratifiedKFold(y: ArrayLike<number>, k: number, seed: number): Uint8Array {
  if (!Number.isInteger(k) || k < 2 || k > 255) throw new RangeError(`stratifiedKFold: folds must be an integer in [2, 255], got ${k}`);
  const byClass: number[][] = [[], []];
  for (let i = 0; i < y.length; i++) {
    const label = y[i];
    if (!Number.isInteger(label) || label < 0 || label > 255) {
      throw new RangeError(`stratifiedKFold: y[${i}] must be a class code (0 or 1, or 0..K-1), got ${label}`);
    }
    while (byClass.length <= label) byClass.push([]);
    byClass[label].push(i);
  }
  byClass.forEach((rows, label) => {
    if (rows.length < k) throw new RangeError(`stratifiedKFold: class ${label} has ${rows.length} rows, fewer than the ${k} folds`);
  });
  const rng = createRng(seed);
  const folds = new Uint8Array(y.length);
  let next = 0;
  for (const rows of byClass) {
    shuffleInPlace(rows, rng);
    for (const row of rows) {
      folds[row] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** The fold (0..k-1) of each of n rows: shuffled, then dealt round the folds (sizes differ by at most one row). */
export function kFold(n: number, k: number, seed: number): Uint8Array {
  if (!Number.isInteger(k) || k < 2 || k > 255) throw new RangeError(`kFold: folds must be an integer in [2, 255], got ${k}`);
  if (n < k) throw new RangeError(`kFold: ${n} rows are fewer than the ${k} folds`);
  const rows = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(seed));
  const folds = new Uint8Array(n);
  rows.forEach((row, i) => (folds[row] = i % k));
  return folds;
}

export interface SearchTrial {
  /** Position in the order trials were drawn (0-based). */
  index: number;
  params: SampledParams;
  /** The task's score on each held-out fold, in fold order: ROC AUC (binary), minus the mean log loss (multi-class),
   * R^2 (regression); higher is better. */
  foldScores: number[];
  meanScore: number;
  /** Population standard deviation of the fold scores (numpy's default, as scikit-learn's std_test_score). */
  stdScore: number;
  /** Fitting and scoring time summed over the folds. */
  seconds: number;
}

export interface RandomSearchOptions {
  X: Matrix;
  /** 0/1 labels (binary), class codes 0..K-1 (multi-class) or targets (regression). */
  y: ArrayLike<number>;
  /** Default 'binary': HistGradientBoostingClassifier for 'binary' and 'multiclass', HistGradientBoostingRegressor for
   * 'regression'. */
  task?: SearchTask;
  /** Default HGB_SEARCH_SPACE. */
  space?: ParamSpace;
  /** Estimator options every trial shares (e.g. categoricalFeatures, a regressor's loss); sampled params override
   * them. Each fit runs with nThreads 1: the parallelism is across fits. */
  baseParams?: HgbOptions | HgbRegressorOptions;
  trials: number;
  /** Default 5. */
  folds?: number;
  /** Seeds the draws, the folds and, unless baseParams sets randomState, the fits. Default 0. */
  seed?: number;
  /** Fits at once, each on its own worker thread; default the usable CPUs (src/cpus.ts). */
  concurrency?: number;
  /** Called on the calling thread as each trial finishes (all its folds scored), in finishing order. */
  onTrial?: (trial: SearchTrial, progress: { done: number; total: number }) => void;
}

export interface RandomSearchResult {
  /** Best first: by mean fold score, ties to the earlier trial. */
  trials: SearchTrial[];
  best: SearchTrial;
  bestParams: SampledParams;
  folds: number;
  seed: number;
}

/**
 * Random search over gradient boosting options, scored by the task's mean score over k folds; resolves when every
 * trial is scored.
 */
export async function randomSearchCV(options: RandomSearchOptions): Promise<RandomSearchResult> {
  const k = options.folds ?? 5;
  const task = options.task ?? 'binary';
  if (!['binary', 'multiclass', 'regression'].includes(task)) {
    throw new RangeError(`randomSearchCV: task must be 'binary', 'multiclass' or 'regression', got ${JSON.stringify(task)}`);
  }
  const seed = options.seed ?? 0;
  const concurrency = options.concurrency ?? usableCpus();
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`randomSearchCV: concurrency must be an integer >= 1, got ${concurrency}`);
  }
  const frame = toFrame(options.X);
  if (options.y.length !== frame.nRows) {
    throw new RangeError(`randomSearchCV: X has ${frame.nRows} rows but y has ${options.y.length} labels`);
  }
  const drawn = sampleParams(options.space ?? HGB_SEARCH_SPACE, options.trials, seed);
  const folds = task === 'regression' ? kFold(frame.nRows, k, seed) : stratifiedKFold(options.y, k, seed);
  const baseParams = { ...options.baseParams, randomState: options.baseParams?.randomState ?? seed };
  // Bad options fail here, naming the option, rather than in a worker halfway through.
  for (const params of drawn) {
    if (task === 'regression') new HistGradientBoostingRegressor({ ...baseParams, ...params } as HgbRegressorOptions);
    else new HistGradientBoostingClassifier({ ...baseParams, ...params } as HgbOptions);
  }

  // The data goes to the workers once, as shared memory: features column after column, then labels and folds.
  const nFeatures = frame.columns.length;
  const X = new Float64Array(new SharedArrayBuffer(8 * frame.nRows * nFeatures));
  frame.columns.forEach((col, f) => X.set(col, f * frame.nRows));
  const y = new Float64Array(new SharedArrayBuffer(8 * frame.nRows));
  y.set(Array.from(options.y));
  const sharedFolds = new Uint8Array(new SharedArrayBuffer(frame.nRows));
  sharedFolds.set(folds);
  const workerData: SearchWorkerData = {
    task,
    baseParams,
    nRows: frame.nRows,
    nFeatures,
    X: X.buffer as SharedArrayBuffer,
    y: y.buffer as SharedArrayBuffer,
    folds: sharedFolds.buffer as SharedArrayBuffer,
  };

  const tasks: FoldTask[] = drawn.flatMap((params, trial) => Array.from({ length: k }, (_, fold) => ({ trial, fold, params })));
  const scores = drawn.map(() => ({ values: new Array<number>(k).fill(NaN), left: k, seconds: 0 }));
  const finished: SearchTrial[] = [];
  await runPool(workerData, tasks, Math.min(concurrency, tasks.length), (result) => {
    const s = scores[result.trial];
    s.values[result.fold] = result.score;
    s.seconds += result.seconds;
    if (--s.left > 0) return;
    const trial = summarise(result.trial, drawn[result.trial], s.values, s.seconds);
    finished.push(trial);
    options.onTrial?.(trial, { done: finished.length, total: drawn.length });
  });

  const trials = finished.sort((a, b) => b.meanScore - a.meanScore || a.index - b.index);
  return { trials, best: trials[0], bestParams: { ...trials[0].params }, folds: k, seed };
}

function summarise(index: number, params: SampledParams, foldScores: number[], seconds: number): SearchTrial {
  const mean = foldScores.reduce((s, v) => s + v, 0) / foldScores.length;
  const variance = foldScores.reduce((s, v) => s + (v - mean) ** 2, 0) / foldScores.length;
  return { index, params, foldScores, meanScore: mean, stdScore: Math.sqrt(variance), seconds };
}

/** Hands tasks to `size` workers, one at a time each; rejects on the first failure and stops every worker. */
function runPool(data: SearchWorkerData, tasks: FoldTask[], size: number, onResult: (result: FoldResult) => void): Promise<void> {
  const script = compiledWorkerUrl(import.meta.url, './search-worker.js').url;
  return new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let done = 0;
    let failed = false;
    const stop = () => {
      for (const w of workers) w.terminate().catch(() => undefined);
    };
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      stop();
      reject(error);
    };
    const feed = (worker: Worker) => {
      if (next < tasks.length) worker.postMessage(tasks[next++]);
    };
    for (let w = 0; w < size; w++) {
      const worker = new Worker(script, { workerData: data });
      workers.push(worker);
      worker.on('message', (message: FoldResult | { trial: number; fold: number; error: string }) => {
        if (failed) return;
        if ('error' in message) {
          const task = tasks.find((t) => t.trial === message.trial && t.fold === message.fold);
          fail(new Error(`random search: trial ${message.trial} ${JSON.stringify(task?.params)}, fold ${message.fold}: ${message.error}`));
          return;
        }
        try {
          onResult(message);
        } catch (error) {
          fail(error as Error);
          return;
        }
        if (++done === tasks.length) {
          stop();
          resolve();
        } else {
          feed(worker);
        }
      });
      worker.on('error', (error) => {
        const hint = import.meta.url.endsWith('.ts') ? ' (from TypeScript sources the worker is the compiled one: run `npm run build`)' : '';
        fail(new Error(`random search worker ${script.pathname} failed${hint}: ${error.message}`));
      });
      worker.on('exit', (code) => {
        if (done < tasks.length) fail(new Error(`random search worker exited with code ${code} before the search finished`));
      });
      feed(worker);
    }
  });
}
