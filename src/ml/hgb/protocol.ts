/**
 * What the fitting thread and its HGB workers share: the layout of the control block (an Int32Array over a
 * SharedArrayBuffer) and the data handed to each worker at start. Workers sleep in Atomics.wait on GENERATION; the
 * fitting thread writes a command, bumps GENERATION and notifies; each worker does its share, then increments DONE.
 */

/** Bumped whenever this protocol or the kernels change, so that a stale compiled worker is detected. */
export const WORKER_PROTOCOL = 9;

/** Reads of a control word before a waiting thread sleeps in Atomics.wait (about 40 us, an Atomics.load costing some
 * 20 ns): catches the next step of a fit, which usually follows within microseconds, without a futex wake-up, and
 * wastes little CPU on a busy machine. */
export const SPIN_POLLS = 2_000;

export const CTRL = {
  GENERATION: 0,
  COMMAND: 1,
  DONE: 2,
  READY: 3,
  ERROR: 4,
  SLOT: 5,
  START: 6,
  COUNT: 7,
  REQUESTS: 8,
  PARENT: 9,
  FEATURE: 10,
  THRESHOLD: 11,
  MISSING_BIN: 12,
  /** Left-row counts of the threads' chunks after PARTITION, one per thread from here. */
  LEFT_COUNTS: 13,
} as const;

/** Length of the control block for n threads. */
export const controlLength = (nThreads: number): number => CTRL.LEFT_COUNTS + nThreads;

export const COMMAND = {
  STOP: 0,
  LOAD_FEATURE_INFO: 1,
  /** SLOT; scan REQUESTS nodes. */
  ROOT: 2,
  /** SLOT = small child, rows START .. START + COUNT, PARENT; scan REQUESTS nodes. */
  CHILDREN: 3,
  GRADIENTS: 4,
  /** COUNT = number of leaves (partition positions split between threads). */
  MARK_LEAVES: 5,
  /** START = 1 to recompute gradients too (rows split between threads). */
  UPDATE_SCORES: 6,
  /** Rows START .. START + COUNT split on FEATURE, THRESHOLD, MISSING_BIN; each thread a chunk (LEFT_COUNTS). */
  PARTITION: 7,
  /** Bin the thread's features from the BinMessage waiting on its port. */
  BIN: 8,
} as const;

export interface WorkerInit {
  protocol: number;
  /** 1..nThreads-1 (the fitting thread is thread 0). */
  threadIndex: number;
  nThreads: number;
  control: SharedArrayBuffer;
  /** Histograms and split search (see FeatureWork). */
  work: import('./feature-work.js').FeatureWorkInit;
  y: SharedArrayBuffer;
  raw: SharedArrayBuffer;
  weight: SharedArrayBuffer | null;
  leaves: SharedArrayBuffer;
  /** Uint8 per row when trees have at most 256 leaves, else Uint32. */
  leafOf: SharedArrayBuffer;
  /** Where the worker reports errors. */
  port: import('node:worker_threads').MessagePort;
}

/** An error reported by a worker on its port. */
export interface PortMessage {
  type: 'error';
  message: string;
}

/** Sent to a worker's port before COMMAND.BIN, for its features [f0, f1): their training values, column after column
 * (nRows each), and their values at the binning sample when it is a subsample (sampleSize each; else the training
 * values are the sample); the worker writes each feature's thresholds to `thresholds` (maxBins each) and their number
 * to `thresholdCounts`. */
export interface BinMessage {
  type: 'bin';
  values: SharedArrayBuffer;
  sampleValues: SharedArrayBuffer | null;
  sampleSize: number;
  categories: (Float64Array | null)[];
  maxBins: number;
  thresholds: SharedArrayBuffer;
  thresholdCounts: SharedArrayBuffer;
}

/** The [begin, end) share of `total` items for thread t of n (contiguous, as even as possible). */
export function shareOf(total: number, t: number, n: number): [number, number] {
  return [Math.floor((total * t) / n), Math.floor((total * (t + 1)) / n)];
}
