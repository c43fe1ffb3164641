/**
 * What the fitting thread and its HGB workers share: the layout of the control block (an Int32Array over a
 * SharedArrayBuffer) and the data handed to each worker at start. Workers sleep in Atomics.wait on GENERATION; the
 * fitting thread writes a command, bumps GENERATION and notifies; each worker does its share, then increments DONE.
 */

/** Bumped whenever this protocol or the kernels change, so that a stale compiled worker is detected. */
export const WORKER_PROTOCOL = 1;

export const CTRL = {
  GENERATION: 0,
  COMMAND: 1,
  DONE: 2,
  READY: 3,
  ERROR: 4,
  SLOT: 5,
  START: 6,
  COUNT: 7,
  LENGTH: 8,
} as const;

export const COMMAND = {
  STOP: 0,
  ROOT_HISTOGRAMS: 1,
  NODE_HISTOGRAMS: 2,
  GRADIENTS: 3,
} as const;

export interface WorkerInit {
  protocol: number;
  /** 1..nThreads-1 (the fitting thread is thread 0). */
  threadIndex: number;
  nThreads: number;
  control: SharedArrayBuffer;
  nRows: number;
  nFeatures: number;
  nBins: number;
  X: SharedArrayBuffer;
  g: SharedArrayBuffer;
  h: SharedArrayBuffer;
  orderedG: SharedArrayBuffer;
  orderedH: SharedArrayBuffer;
  partition: SharedArrayBuffer;
  y: SharedArrayBuffer;
  raw: SharedArrayBuffer;
  weight: SharedArrayBuffer | null;
  /** Where the worker reports errors and the fitting thread registers new histogram slots. */
  port: import('node:worker_threads').MessagePort;
}

/** A message on the port: a new histogram slot (fitting thread -> worker) or an error (worker -> fitting thread). */
export type PortMessage = { type: 'slot'; id: number; buffer: SharedArrayBuffer } | { type: 'error'; message: string };

/** The [begin, end) share of `total` items for thread t of n (contiguous, as even as possible). */
export function shareOf(total: number, t: number, n: number): [number, number] {
  return [Math.floor((total * t) / n), Math.floor((total * (t + 1)) / n)];
}
