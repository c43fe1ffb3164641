/**
 * Where the heavy loops of a fit run. Every command (histograms, gradients, partitions, score updates) is cut into
 * units (fit-work.ts). SerialExecutor runs them all on the calling thread. ThreadedExecutor publishes each command to
 * nThreads - 1 worker threads and claims units alongside them (protocol.ts): whoever is awake takes the next unit, so
 * the fitting thread never waits for a sleeping worker, only for units already under way. The binned data, gradient
 * pairs, partition and histograms live in one shared WebAssembly.Memory (the kernels are WebAssembly, see
 * wasm-kernels.ts), the rest in SharedArrayBuffers.
 *
 * Locating the worker script: next to this module as worker.js. When running from TypeScript sources (vitest), the
 * compiled dist/ml/hgb/worker.js is used instead (`npm test` builds first); if it is missing or stale there, the fit
 * falls back to one thread with a warning. From compiled code, a missing worker is an error.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { binColumn, featureThresholds } from './binning.js';
import { allocateShared, FitWork, type FitShared, type MemoryLayout, WORKER_TIMEOUT_MS, WorkerFailure, writeFeatureInfo } from './fit-work.js';
import { countBins } from './histogram.js';
import { type BinMessage, COMMAND, CTRL, type PortMessage, rowChunkFor, shareOf, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';
import type { NodeStats } from './splitter.js';
import { createSharedMemory, kernelModule, PAGE_BYTES, type WasmMemory } from './wasm-kernels.js';
import type { LossCode } from './loss.js';
import { compiledWorkerUrl } from '../worker-url.js';

/** The arrays of a fit that the grower and the classifier read. */
export interface FitBuffers {
  nRows: number;
  nFeatures: number;
  /** Bins per feature including the missing-value bin. */
  nBins: number;
  /** Binned training data, column-major; filled by bin(). */
  X: Uint8Array;
  /** Raw scores of the training rows: for output k, raw[k * rawStride + row]. */
  raw: Float64Array;
  rawStride: number;
  /** Row indices, grouped by node (each node owns a contiguous range). */
  partition: Uint32Array;
}

/** A leaf of a grown tree: its rows are partition[start .. start + count). */
export interface LeafRange {
  start: number;
  count: number;
  value: number;
}

/** A node to scan for its best split: its histogram slot and totals. */
export interface NodeRequest extends NodeStats {
  slot: number;
}

export interface Executor {
  readonly buffers: FitBuffers;
  /** The calling thread's view of the histograms and split candidates. */
  readonly work: FitWork;
  /**
   * Finds each feature's bin thresholds (featureThresholds: its categories when categorical, else edges from the values
   * at `sample`) and fills X with the bins of the training rows `rows` (all when null); missing values go to the last
   * bin. Returns the thresholds.
   */
  bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[];
  /** Call once X is filled, before the first tree: root bin counts and the per-feature facts of the split search. */
  prepare(nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void;
  /** A histogram slot of nFeatures * nBins * 3 numbers (contents undefined until filled). */
  acquireSlot(): number;
  releaseSlot(slot: number): void;
  /** Root histograms into `slot`; scans `nodes` (the root, or none) into candidate rows 0.. */
  root(slot: number, nodes: NodeRequest[]): void;
  /** Histograms of rows partition[start .. start + count) into `small`, `parent` turned into the sibling's, then
   * scans `nodes` (children to split) into candidate rows 0.. The rows must be the smaller side of the last
   * partition (their gradient pairs are gathered then). */
  children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void;
  /** Gradients and hessians of every row from y, raw and weight; resets the partition for the next tree. */
  gradients(): void;
  /** Adds the leaves' values to their rows' raw scores, then, when asked, recomputes the gradients as gradients(). */
  applyLeaves(leaves: LeafRange[], withGradients: boolean): void;
  /** Total gradient and hessian of all rows for the current output after the last gradients. */
  gradientTotals(): { sumGrad: number; sumHess: number };
  /** Chooses the output (class) whose tree the next commands grow and whose raw scores applyLeaves updates. */
  setOutput(k: number): void;
  /** Stable split of the rows partition[start .. start + count): bin of feature f <= threshold, or == missingBin, go
   * first; gathers the smaller side's gradient pairs for children(). Returns the number of rows that went first. */
  partition(f: number, start: number, count: number, threshold: number, missingBin: number): number;
  close(): void;
}

/** What an executor is made for: the training rows and the tree settings its buffers are sized by. */
export interface FitSpec {
  nRows: number;
  nFeatures: number;
  /** Bins per feature including the missing-value bin. */
  nBins: number;
  /** Labels (class codes) or targets of the training rows. */
  y: Float64Array;
  weight: Float64Array | null;
  loss: LossCode;
  /** Raw scores per row (classes of a multinomial loss, else 1). */
  nOutputs: number;
  /** The raw score every row starts from, per output. */
  baseline: Float64Array;
  /** Most leaves a tree can have. */
  maxLeaves: number;
  l2Regularization: number;
  minSamplesLeaf: number;
}

/** Below this many (rows x features) a fit does not start workers: thread hand-offs would cost more than they save. */
export const MIN_PARALLEL_FIT_WORK = 1_000_000;

function layoutFor(nRows: number, nFeatures: number, nBins: number, weighted: boolean, nOutputs: number): MemoryLayout {
  const align = (v: number): number => Math.ceil(v / 16) * 16;
  // The gradient kernel takes rows two at a time.
  const evenRows = nRows + (nRows % 2);
  const X = 0;
  const y = align(X + nRows * nFeatures);
  const weight = y + evenRows * 8;
  const raw = weight + (weighted ? evenRows * 8 : 0);
  const gh = raw + nOutputs * evenRows * 8;
  const partition = align(gh + nOutputs * evenRows * 8);
  const left = align(partition + nRows * 4);
  const right = align(left + nRows * 4);
  const pairs = align(right + nRows * 4);
  const slots = align(pairs + nRows * 8);
  return { X, y, weight, raw, gh, outputRows: evenRows, partition, left, right, pairs, slots, slotBytes: nFeatures * nBins * 24 };
}

abstract class BaseExecutor implements Executor {
  readonly buffers: FitBuffers;
  readonly work: FitWork;
  protected readonly shared: FitShared;
  protected readonly ctrl: Int32Array;
  /** The last command's number; published to workers as CTRL.GENERATION when they take part. */
  private generation = 0;
  private readonly memory: WasmMemory;
  private nSlots = 0;
  private readonly free: number[] = [];

  constructor({ nRows, nFeatures, nBins, y, weight, loss, nOutputs, baseline, maxLeaves, l2Regularization, minSamplesLeaf }: FitSpec) {
    const layout = layoutFor(nRows, nFeatures, nBins, weight !== null, nOutputs);
    // Room for the usual number of live histograms (one per splittable leaf); more are added as needed.
    const initialSlots = Math.min(maxLeaves + 2, 64);
    this.memory = createSharedMemory(layout.slots + initialSlots * layout.slotBytes);
    this.shared = {
      nRows,
      nFeatures,
      nBins,
      rowChunk: rowChunkFor(nRows),
      l2Regularization,
      minSamplesLeaf,
      loss,
      nOutputs,
      memory: this.memory,
      module: kernelModule(),
      layout,
      weighted: weight !== null,
      ...allocateShared(nRows, nFeatures, nBins, maxLeaves, nOutputs),
    };
    this.work = new FitWork(this.shared);
    this.work.y.set(y);
    if (weight) (this.work.weight as Float64Array).set(weight);
    for (let k = 0; k < nOutputs; k++) this.work.rawOf(k).fill(baseline[k]);
    this.ctrl = this.work.ctrl;
    this.buffers = {
      nRows,
      nFeatures,
      nBins,
      X: new Uint8Array(this.memory.buffer, layout.X, nRows * nFeatures),
      raw: this.work.raw,
      rawStride: layout.outputRows,
      partition: this.work.partition,
    };
  }

  prepare(nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
    const b = this.buffers;
    this.work.rootCounts.set(countBins(b.X, b.nRows, b.nFeatures, b.nBins));
    writeFeatureInfo(this.shared.featureInfo, nBinsNonMissing, hasMissing, isCategorical);
    this.work.loadFeatureInfo();
  }

  acquireSlot(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const id = this.nSlots++;
    const { slots, slotBytes } = this.shared.layout;
    const end = slots + (id + 1) * slotBytes;
    const size = this.memory.buffer.byteLength;
    if (end > size) this.memory.grow(Math.ceil((end - size) / PAGE_BYTES));
    return id;
  }

  releaseSlot(slot: number): void {
    this.free.push(slot);
  }

  root(slot: number, nodes: NodeRequest[]): void {
    this.work.setRequests(nodes);
    this.execute(true, (c) => {
      c[CTRL.COMMAND] = COMMAND.ROOT;
      c[CTRL.SLOT] = slot;
      c[CTRL.REQUESTS] = nodes.length;
    });
  }

  children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void {
    this.work.setRequests(nodes);
    this.execute(true, (c) => {
      c[CTRL.COMMAND] = COMMAND.CHILDREN;
      c[CTRL.SLOT] = small;
      c[CTRL.START] = start;
      c[CTRL.COUNT] = count;
      c[CTRL.PARENT] = parent;
      c[CTRL.REQUESTS] = nodes.length;
    });
  }

  gradients(): void {
    this.execute(true, (c) => {
      c[CTRL.COMMAND] = COMMAND.GRADIENTS;
    });
  }

  applyLeaves(leaves: LeafRange[], withGradients: boolean): void {
    const out = this.work.leaves;
    if (leaves.length * 3 > out.length) throw new Error(`internal: ${leaves.length} leaves exceed the capacity ${out.length / 3}`);
    leaves.forEach((leaf, l) => {
      out[3 * l] = leaf.start;
      out[3 * l + 1] = leaf.count;
      out[3 * l + 2] = leaf.value;
    });
    this.execute(true, (c) => {
      c[CTRL.COMMAND] = COMMAND.APPLY_LEAVES;
      c[CTRL.COUNT] = leaves.length;
      c[CTRL.WITH_GRADIENTS] = withGradients ? 1 : 0;
    });
  }

  gradientTotals(): { sumGrad: number; sumHess: number } {
    return this.work.gradientTotals();
  }

  setOutput(k: number): void {
    // Read by every unit of the following commands; published with them (open() stores the claim word after it).
    this.ctrl[CTRL.OUTPUT] = k;
  }

  partition(f: number, start: number, count: number, threshold: number, missingBin: number): number {
    // A partition of one chunk has nothing to share: its second phase needs its first.
    this.execute(count > this.shared.rowChunk, (c) => {
      c[CTRL.COMMAND] = COMMAND.PARTITION;
      c[CTRL.FEATURE] = f;
      c[CTRL.START] = start;
      c[CTRL.COUNT] = count;
      c[CTRL.THRESHOLD] = threshold;
      c[CTRL.MISSING_BIN] = missingBin;
    });
    return this.work.partitionLefts();
  }

  /** bin() for features [f0, f1), their thresholds into `thresholds`. */
  protected binFeatures(
    columns: Float64Array[],
    rows: Uint32Array | null,
    sample: Uint32Array | null,
    categories: (Float64Array | null)[],
    maxBins: number,
    f0: number,
    f1: number,
    thresholds: Float64Array[],
  ): void {
    const { X, nRows, nBins } = this.buffers;
    for (let f = f0; f < f1; f++) {
      thresholds[f] = featureThresholds(columns[f], sample, categories[f], maxBins);
      binColumn(columns[f], rows, nRows, thresholds[f], categories[f] !== null, nBins - 1, X, f * nRows);
    }
  }

  /** The next command's number, an int32 like the control word that publishes it (wrapping around after 2^31). */
  protected nextGeneration(): number {
    this.generation = (this.generation + 1) | 0;
    return this.generation;
  }

  /** Runs the command that `write` puts in the control block: shared with the workers when `parallel` and there are
   * any, else all its units on this thread. */
  protected abstract execute(parallel: boolean, write: (ctrl: Int32Array) => void): void;
  abstract bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[];
  abstract close(): void;
}

export class SerialExecutor extends BaseExecutor {
  bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[] {
    const thresholds: Float64Array[] = [];
    this.binFeatures(columns, rows, sample, categories, maxBins, 0, this.buffers.nFeatures, thresholds);
    return thresholds;
  }

  protected execute(_parallel: boolean, write: (ctrl: Int32Array) => void): void {
    this.work.open(this.nextGeneration(), () => write(this.ctrl), false);
    this.work.runAll();
  }

  close(): void {}
}

export class ThreadedExecutor extends BaseExecutor {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private closed = false;

  /** Starts nThreads - 1 workers and waits until they are ready; throws if they cannot start. */
  constructor(
    private readonly nThreads: number,
    workerUrl: URL,
    spec: FitSpec,
  ) {
    super(spec);
    try {
      for (let t = 1; t < nThreads; t++) {
        const channel = new MessageChannel();
        const init: WorkerInit = { protocol: WORKER_PROTOCOL, threadIndex: t, nThreads, shared: this.shared, port: channel.port2 };
        const worker = new Worker(BOOTSTRAP, {
          eval: true,
          workerData: { init, scriptUrl: workerUrl.href },
          transferList: [channel.port2],
        });
        worker.unref();
        this.workers.push(worker);
        this.ports.push(channel.port1);
      }
      this.awaitReady();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  override prepare(nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
    super.prepare(nBinsNonMissing, hasMissing, isCategorical);
    this.perThread(COMMAND.LOAD_FEATURE_INFO, () => undefined, 'load the feature facts');
  }

  /** Each worker finds the thresholds of its share of the features and bins them, from shared copies of their values. */
  bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[] {
    const { nRows, nFeatures } = this.buffers;
    // A sample other than the training rows themselves is a subsample, copied apart.
    const subsample = sample !== null && sample !== rows ? sample : null;
    const copy = (indices: Uint32Array | null, size: number, f0: number, f1: number): SharedArrayBuffer => {
      const out = new Float64Array(new SharedArrayBuffer((f1 - f0) * size * 8));
      for (let f = f0; f < f1; f++) {
        const column = columns[f];
        const at = (f - f0) * size;
        if (indices === null) out.set(column.subarray(0, size), at);
        else for (let i = 0; i < size; i++) out[at + i] = column[indices[i]];
      }
      return out.buffer as SharedArrayBuffer;
    };
    const results: { f0: number; f1: number; thresholds: Float64Array; counts: Int32Array }[] = [];
    for (let t = 1; t < this.nThreads; t++) {
      const [f0, f1] = shareOf(nFeatures, t, this.nThreads);
      const message: BinMessage = {
        type: 'bin',
        values: copy(rows, nRows, f0, f1),
        sampleValues: subsample ? copy(subsample, subsample.length, f0, f1) : null,
        sampleSize: subsample ? subsample.length : nRows,
        categories: categories.slice(f0, f1),
        maxBins,
        thresholds: new SharedArrayBuffer((f1 - f0) * maxBins * 8),
        thresholdCounts: new SharedArrayBuffer((f1 - f0) * 4),
      };
      results.push({ f0, f1, thresholds: new Float64Array(message.thresholds), counts: new Int32Array(message.thresholdCounts) });
      this.ports[t - 1].postMessage(message);
    }
    const thresholds: Float64Array[] = [];
    this.perThread(
      COMMAND.BIN,
      () => {
        const [f0, f1] = shareOf(nFeatures, 0, this.nThreads);
        this.binFeatures(columns, rows, sample, categories, maxBins, f0, f1, thresholds);
      },
      'bin the data',
    );
    for (const r of results) {
      for (let f = r.f0; f < r.f1; f++) {
        const k = f - r.f0;
        thresholds[f] = r.thresholds.slice(k * maxBins, k * maxBins + r.counts[k]);
      }
    }
    return thresholds;
  }

  protected execute(parallel: boolean, write: (ctrl: Int32Array) => void): void {
    const generation = this.nextGeneration();
    const plan = this.work.open(generation, () => write(this.ctrl), parallel);
    if (plan === null) {
      this.work.runAll();
      return;
    }
    this.publish(generation);
    this.work.participate(generation);
    this.awaitDone(plan.nUnits, 'finish a command');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const generation = this.nextGeneration();
    this.work.open(generation, () => (this.ctrl[CTRL.COMMAND] = COMMAND.STOP), false);
    this.publish(generation);
    for (const worker of this.workers) worker.terminate().catch(() => undefined);
    for (const port of this.ports) port.close();
  }

  /** A command each thread does its own share of: the workers theirs, this thread `own`. */
  private perThread(command: number, own: () => void, what: string): void {
    const generation = this.nextGeneration();
    this.work.open(generation, () => (this.ctrl[CTRL.COMMAND] = command), false);
    this.publish(generation);
    own();
    this.awaitDone(this.nThreads - 1, what);
  }

  private publish(generation: number): void {
    Atomics.store(this.ctrl, CTRL.GENERATION, generation);
    Atomics.notify(this.ctrl, CTRL.GENERATION);
  }

  private awaitDone(target: number, what: string): void {
    try {
      this.work.awaitDone(target);
    } catch (error) {
      if (error instanceof WorkerFailure) throw new Error(this.workerError(what));
      throw error;
    }
  }

  /** Sleeps until every worker has started; throws a worker's error or after WORKER_TIMEOUT_MS. */
  private awaitReady(): void {
    const c = this.ctrl;
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (;;) {
      if (Atomics.load(c, CTRL.ERROR) !== 0) throw new Error(this.workerError('start'));
      const ready = Atomics.load(c, CTRL.READY);
      if (ready >= this.nThreads - 1) return;
      if (Date.now() > deadline) throw new Error(`HGB worker threads did not start within ${WORKER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(c, CTRL.READY, ready, 100);
    }
  }

  private workerError(what: string): string {
    const messages: string[] = [];
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const message = m.message as PortMessage;
        messages.push(message.message);
      }
    }
    return `HGB worker threads failed to ${what}: ${messages.join('; ') || 'unknown error'}`;
  }
}

/** Runs in each new worker: loads the worker module and runs it, or reports why it could not load or start. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.scriptUrl).then(
  (m) => m.runHgbWorker(workerData.init),
  (error) => { throw new Error('cannot load ' + workerData.scriptUrl + ': ' + (error && error.message)); },
).catch((error) => {
  const ctrl = new Int32Array(workerData.init.shared.control);
  workerData.init.port.postMessage({ type: 'error', message: String((error && error.message) || error) });
  Atomics.store(ctrl, ${CTRL.ERROR}, 1);
  Atomics.notify(ctrl, ${CTRL.READY});
  Atomics.notify(ctrl, ${CTRL.DONE});
});
`;

let warnedFallback = false;

/**
 * The executor for a fit: threaded when nThreads > 1 and the data is big enough to pay for it, else serial. From
 * TypeScript sources without a usable compiled worker it warns once and runs serially.
 */
export function createExecutor(nThreads: number, spec: FitSpec): Executor {
  const threads = Math.min(nThreads, Math.max(1, spec.nFeatures));
  if (threads > 1 && spec.nRows * spec.nFeatures >= MIN_PARALLEL_FIT_WORK) {
    const { url, fromSources } = compiledWorkerUrl(import.meta.url, './worker.js');
    try {
      return new ThreadedExecutor(threads, url, spec);
    } catch (error) {
      if (!fromSources) throw error;
      if (!warnedFallback) {
        warnedFallback = true;
        process.emitWarning(`${(error as Error).message}; fitting on one thread (run \`npm run build\` to enable workers)`, 'HgbWorkerWarning');
      }
    }
  }
  return new SerialExecutor(spec);
}
