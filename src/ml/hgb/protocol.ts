/**
 * What the fitting thread and its HGB workers share: the layout of the control block (an Int32Array over a
 * SharedArrayBuffer) and the data handed to each worker at start. Workers sleep in Atomics.wait on GENERATION; the
 * fitting thread writes a command, bumps GENERATION and notifies; each worker does its share, then increments DONE.
 */

/** Bumped whenever this protocol or the kernels change, so that a stale compiled worker is detected. */
export const WORKER_PROTOCOL = 7;

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
  LENGTH: 10,
} as const;

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

/** The [begin, end) share of `total` items for thread t of n (contiguous, as even as possible). */
export function shareOf(total: number, t: number, n: number): [number, number] {
  return [Math.floor((total * t) / n), Math.floor((total * (t + 1)) / n)];
}
