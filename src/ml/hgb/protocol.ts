/**
 * How the fitting thread and its HGB workers share a command. The fitting thread writes a command and its parameters
 * into the control block (an Int32Array over a SharedArrayBuffer), opens its units for claiming and bumps GENERATION.
 * Every thread that is awake then claims units one at a time from the claim word until none are left, so a worker that
 * wakes late takes fewer units and the fitting thread never waits for one that is asleep; it only waits for units
 * already claimed to finish. A command may have two phases: a unit of the second waits until every unit of the first
 * is done. Per-thread commands (LOAD_FEATURE_INFO, BIN) are not claimed: each thread does its own share.
 *
 * The claim word is a BigInt64: the command's generation in the high 32 bits, the next unit in the low 32. A thread
 * claims with compare-and-swap only while the generation is the one whose parameters it read, so a worker that wakes
 * after its command ended can never take a unit of the next one with stale parameters.
 */

/** Bumped whenever this protocol or the kernels change, so that a stale compiled worker is detected. */
export const WORKER_PROTOCOL = 14;

/**
 * How long a waiting thread polls a control word before it sleeps in Atomics.wait. Between two commands of a fit the
 * fitting thread works alone for some tens to hundreds of microseconds (split choice, small nodes); a worker that
 * slept through that gap costs a futex wake-up and arrives late for the next command. Measured on 1M x 20: with 12 us
 * of polling a worker slept about 3,700 times per fit, with 300 us about 150 times, and the fit took 10% less time.
 * OpenMP runtimes spin for a similar time before they sleep.
 */
export const SPIN_MICROSECONDS = 300;

/** Polls ctrl[index] until `ready` accepts its value or SPIN_MICROSECONDS pass; returns the last value read. */
export function spin(ctrl: Int32Array, index: number, ready: (value: number) => boolean): number {
  const deadline = performance.now() + SPIN_MICROSECONDS / 1000;
  for (;;) {
    for (let poll = 0; poll < 64; poll++) {
      const value = Atomics.load(ctrl, index);
      if (ready(value)) return value;
    }
    if (performance.now() > deadline) return Atomics.load(ctrl, index);
  }
}

/** Rows per unit of the row-wise commands (gradients, score updates, partitions): about 1/32 of the training rows,
 * from 4,096 to 32,768. It depends on the rows alone, so that per-chunk sums do not depend on the number of threads. */
export function rowChunkFor(nRows: number): number {
  return Math.min(32_768, Math.max(4_096, Math.ceil(nRows / 32)));
}

export const CTRL = {
  GENERATION: 0,
  COMMAND: 1,
  /** Units of the current command finished. */
  DONE: 2,
  READY: 3,
  ERROR: 4,
  N_UNITS: 5,
  /** First unit of the second phase (N_UNITS when there is one phase). */
  PHASE_TWO: 6,
  SLOT: 7,
  START: 8,
  COUNT: 9,
  REQUESTS: 10,
  PARENT: 11,
  FEATURE: 12,
  THRESHOLD: 13,
  MISSING_BIN: 14,
  /** APPLY_LEAVES: 1 to recompute gradients too. */
  WITH_GRADIENTS: 15,
  /** The output (class) whose tree is grown: its gradient pairs feed the histograms, its raw scores take the leaves. */
  OUTPUT: 16,
} as const;

/** Int32 words of the control block. */
export const CONTROL_LENGTH = 17;

export const COMMAND = {
  STOP: 0,
  /** Per thread: reload the per-feature facts. */
  LOAD_FEATURE_INFO: 1,
  /** Per thread: bin the thread's features from the BinMessage waiting on its port. */
  BIN: 2,
  /** Histograms of all rows into SLOT, then scan REQUESTS nodes; a unit per feature block. */
  ROOT: 3,
  /** Rows START .. START + COUNT, their gradient pairs gathered: a unit per feature block: their histograms into SLOT,
   * PARENT turned into the sibling's, scan REQUESTS nodes. */
  CHILDREN: 4,
  /** Gradients of every row and output, per row chunk; also the chunk's gradient sums and the identity partition. */
  GRADIENTS: 5,
  /** COUNT leaves: mark each row's leaf (per chunk of partition positions), then per row chunk add the leaf values to
   * the raw scores of OUTPUT, and when WITH_GRADIENTS as GRADIENTS. */
  APPLY_LEAVES: 6,
  /** Rows START .. START + COUNT split on FEATURE, THRESHOLD, MISSING_BIN: each chunk into the left and right scratch
   * arrays, then each chunk copied back to its place, gathering the gradient pairs of the smaller side's rows. */
  PARTITION: 7,
} as const;

export interface WorkerInit {
  protocol: number;
  /** 1..nThreads-1 (the fitting thread is thread 0). */
  threadIndex: number;
  nThreads: number;
  shared: import('./fit-work.js').FitShared;
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
