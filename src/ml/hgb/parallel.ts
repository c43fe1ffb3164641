/**
 * Where the heavy loops of a fit run. The binned data, the (gradient, hessian) pairs, the row partition and the
 * histograms live in one shared WebAssembly.Memory (the histogram kernels are WebAssembly, see wasm-kernels.ts); labels,
 * weights and raw scores in SharedArrayBuffers. SerialExecutor runs everything on the calling thread. ThreadedExecutor
 * splits each command between the calling thread and nThreads - 1 worker threads (features for binning and histograms,
 * rows for gradients); a waiting thread polls briefly, then sleeps in Atomics.wait, so nobody spins for long. Each
 * feature's histogram and each row's gradient is computed by one thread in a fixed order, so results do not depend on
 * nThreads.
 *
 * Locating the worker script: next to this module as worker.js. When running from TypeScript sources (vitest), the
 * compiled dist/ml/hgb/worker.js is used instead (`npm test` builds first); if it is missing or stale there, the fit
 * falls back to one thread with a warning. From compiled code, a missing worker is an error.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { binColumn, featureThresholds } from './binning.js';
import { allocateFeatureWorkBuffers, FeatureWork, type FeatureWorkInit, type MemoryLayout, writeFeatureInfo } from './feature-work.js';
import { countBins } from './histogram.js';
import { gradientsAndHessians, type LeafIndex, markLeaves, updateScores } from './loss.js';
import { type BinMessage, COMMAND, CTRL, controlLength, type PortMessage, shareOf, SPIN_POLLS, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';
import type { NodeStats } from './splitter.js';
import { createSharedMemory, kernelModule, PAGE_BYTES, type WasmMemory } from './wasm-kernels.js';
import { compiledWorkerUrl } from '../worker-url.js';

/** The arrays a fit works on; shared with workers when threaded. */
export interface FitBuffers {
  nRows: number;
  nFeatures: number;
  /** Bins per feature including the missing-value bin. */
  nBins: number;
  /** Binned training data, column-major; filled by the caller before the first command. */
  X: Uint8Array;
  y: Float64Array;
  weight: Float64Array | null;
  /** Raw scores (log-odds) of the training rows. */
  raw: Float64Array;
  /** Gradient and hessian of row i at 2i and 2i + 1 (float32, as scikit-learn). */
  gh: Float32Array;
  /** Row indices, grouped by node (each node owns a contiguous range). */
  partition: Uint32Array;
  /** A tree's leaves as (partition start, row count, value) triples, for applyLeaves(). */
  leaves: Float64Array;
  /** The leaf of each row in the last tree. */
  leafOf: LeafIndex;
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
  readonly work: FeatureWork;
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
   * scans `nodes` (children to split) into candidate rows 0.. */
  children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void;
  /** Gradients and hessians of every row from y, raw and weight. */
  gradients(): void;
  /** Adds the leaves' values to their rows' raw scores, then recomputes the gradients when asked. */
  applyLeaves(leaves: LeafRange[], withGradients: boolean): void;
  /** Stable split of the rows partition[start .. start + count): bin of feature f <= threshold, or == missingBin, go
   * first. Returns the number of those rows. */
  partition(f: number, start: number, count: number, threshold: number, missingBin: number): number;
  close(): void;
}

/** Below this many (rows x features) a fit does not start workers: thread hand-offs would cost more than they save. */
export const MIN_PARALLEL_FIT_WORK = 1_000_000;
/** Below this many (rows x features) a node's histograms are built by the calling thread alone. */
export const MIN_PARALLEL_NODE_WORK = 50_000;
/** Below this many rows a node is partitioned by the calling thread alone. */
export const MIN_PARALLEL_PARTITION = 30_000;
/** A worker that neither finishes nor fails within this long is considered lost. */
const WORKER_TIMEOUT_MS = 120_000;

function layoutFor(nRows: number, nFeatures: number, nBins: number, nThreads: number): MemoryLayout {
  const align = (v: number): number => Math.ceil(v / 16) * 16;
  const X = 0;
  const gh = align(X + nRows * nFeatures);
  const partition = align(gh + nRows * 8);
  const scratch = align(partition + nRows * 4);
  const pairs = align(scratch + nRows * 4);
  const slots = align(pairs + nThreads * nRows * 8);
  return { X, gh, partition, scratch, pairs, slots, slotBytes: nFeatures * nBins * 24 };
}

abstract class BaseExecutor implements Executor {
  readonly buffers: FitBuffers;
  readonly work: FeatureWork;
  protected readonly memory: WasmMemory;
  protected readonly workInit: FeatureWorkInit;
  private nSlots = 0;
  private readonly free: number[] = [];

  constructor(
    nThreads: number,
    nRows: number,
    nFeatures: number,
    nBins: number,
    y: Float64Array,
    weight: Float64Array | null,
    baseline: number,
    maxLeaves: number,
    split: { l2Regularization: number; minSamplesLeaf: number },
  ) {
    const bytes = (n: number): ArrayBuffer | SharedArrayBuffer => (nThreads > 1 ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
    const f64 = (source: Float64Array): Float64Array => {
      const out = new Float64Array(bytes(source.length * 8));
      out.set(source);
      return out;
    };
    const layout = layoutFor(nRows, nFeatures, nBins, nThreads);
    // Room for the usual number of live histograms (one per splittable leaf); more are added as needed.
    const initialSlots = Math.min(maxLeaves + 2, 64);
    this.memory = createSharedMemory(layout.slots + initialSlots * layout.slotBytes);
    this.workInit = {
      nRows,
      nFeatures,
      nBins,
      ...split,
      memory: this.memory,
      module: kernelModule(),
      layout,
      ...allocateFeatureWorkBuffers(nFeatures, nBins),
    };
    this.work = new FeatureWork(this.workInit, 0);
    const buffer = this.memory.buffer;
    this.buffers = {
      nRows,
      nFeatures,
      nBins,
      X: new Uint8Array(buffer, layout.X, nRows * nFeatures),
      y: f64(y),
      weight: weight ? f64(weight) : null,
      raw: new Float64Array(bytes(nRows * 8)).fill(baseline),
      gh: new Float32Array(buffer, layout.gh, 2 * nRows),
      partition: new Uint32Array(buffer, layout.partition, nRows),
      leaves: new Float64Array(bytes(maxLeaves * 3 * 8)),
      leafOf: maxLeaves <= 256 ? new Uint8Array(bytes(nRows)) : new Uint32Array(bytes(nRows * 4)),
    };
  }

  prepare(nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
    const b = this.buffers;
    this.work.rootCounts.set(countBins(b.X, b.nRows, b.nFeatures, b.nBins));
    writeFeatureInfo(this.workInit.featureInfo, nBinsNonMissing, hasMissing, isCategorical);
    this.work.loadFeatureInfo();
  }

  acquireSlot(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const id = this.nSlots++;
    const { slots, slotBytes } = this.workInit.layout;
    const end = slots + (id + 1) * slotBytes;
    const size = this.memory.buffer.byteLength;
    if (end > size) this.memory.grow(Math.ceil((end - size) / PAGE_BYTES));
    return id;
  }

  releaseSlot(slot: number): void {
    this.free.push(slot);
  }

  /** Writes the leaves into the shared buffer; returns their number. */
  protected storeLeaves(leaves: LeafRange[]): number {
    const out = this.buffers.leaves;
    if (leaves.length * 3 > out.length) throw new Error(`internal: ${leaves.length} leaves exceed the capacity ${out.length / 3}`);
    leaves.forEach((leaf, l) => {
      out[3 * l] = leaf.start;
      out[3 * l + 1] = leaf.count;
      out[3 * l + 2] = leaf.value;
    });
    return leaves.length;
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

  abstract bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[];
  abstract root(slot: number, nodes: NodeRequest[]): void;
  abstract children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void;
  abstract gradients(): void;
  abstract applyLeaves(leaves: LeafRange[], withGradients: boolean): void;
  abstract partition(f: number, start: number, count: number, threshold: number, missingBin: number): number;
  abstract close(): void;
}

export class SerialExecutor extends BaseExecutor {
  bin(columns: Float64Array[], rows: Uint32Array | null, sample: Uint32Array | null, categories: (Float64Array | null)[], maxBins: number): Float64Array[] {
    const thresholds: Float64Array[] = [];
    this.binFeatures(columns, rows, sample, categories, maxBins, 0, this.buffers.nFeatures, thresholds);
    return thresholds;
  }

  root(slot: number, nodes: NodeRequest[]): void {
    this.work.setRequests(nodes);
    this.work.root(slot, nodes.length, 0, this.buffers.nFeatures);
  }

  children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void {
    this.work.setRequests(nodes);
    this.work.children(small, start, count, parent, nodes.length, 0, this.buffers.nFeatures);
  }

  gradients(): void {
    const b = this.buffers;
    gradientsAndHessians(b.y, b.raw, b.weight, b.gh, 0, b.nRows);
  }

  applyLeaves(leaves: LeafRange[], withGradients: boolean): void {
    const b = this.buffers;
    markLeaves(b.partition, b.leaves, this.storeLeaves(leaves), 0, b.nRows, b.leafOf);
    updateScores(b.leafOf, b.leaves, b.y, b.raw, b.weight, b.gh, 0, b.nRows, withGradients);
  }

  partition(f: number, start: number, count: number, threshold: number, missingBin: number): number {
    const nLeft = this.work.partitionChunk(f, start, count, threshold, missingBin, 0, 1);
    return this.work.mergePartition(start, count, [nLeft], 1);
  }

  close(): void {}
}

export class ThreadedExecutor extends BaseExecutor {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private closed = false;

  /** Starts nThreads - 1 workers and waits until they are ready; throws if they cannot start. */
  constructor(
    private readonly nThreads: number,
    workerUrl: URL,
    nRows: number,
    nFeatures: number,
    nBins: number,
    y: Float64Array,
    weight: Float64Array | null,
    baseline: number,
    maxLeaves: number,
    split: { l2Regularization: number; minSamplesLeaf: number },
  ) {
    super(nThreads, nRows, nFeatures, nBins, y, weight, baseline, maxLeaves, split);
    this.ctrl = new Int32Array(new SharedArrayBuffer(controlLength(nThreads) * 4));
    const b = this.buffers;
    const shared = (view: ArrayBufferView): SharedArrayBuffer => view.buffer as SharedArrayBuffer;
    try {
      for (let t = 1; t < nThreads; t++) {
        const channel = new MessageChannel();
        const init: WorkerInit = {
          protocol: WORKER_PROTOCOL,
          threadIndex: t,
          nThreads,
          control: this.ctrl.buffer as SharedArrayBuffer,
          work: this.workInit,
          y: shared(b.y),
          raw: shared(b.raw),
          weight: b.weight ? shared(b.weight) : null,
          leaves: shared(b.leaves),
          leafOf: shared(b.leafOf),
          port: channel.port2,
        };
        const worker = new Worker(BOOTSTRAP, {
          eval: true,
          workerData: { init, scriptUrl: workerUrl.href },
          transferList: [channel.port2],
        });
        worker.unref();
        this.workers.push(worker);
        this.ports.push(channel.port1);
      }
      this.await(CTRL.READY, nThreads - 1, 'start');
    } catch (error) {
      this.close();
      throw error;
    }
  }

  override prepare(nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
    super.prepare(nBinsNonMissing, hasMissing, isCategorical);
    this.dispatch(COMMAND.LOAD_FEATURE_INFO, 0, 0, 0);
    this.await(CTRL.DONE, this.nThreads - 1, 'start');
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
    this.dispatch(COMMAND.BIN, 0, 0, 0);
    const thresholds: Float64Array[] = [];
    const [f0, f1] = shareOf(nFeatures, 0, this.nThreads);
    this.binFeatures(columns, rows, sample, categories, maxBins, f0, f1, thresholds);
    this.await(CTRL.DONE, this.nThreads - 1, 'bin the data');
    for (const r of results) {
      for (let f = r.f0; f < r.f1; f++) {
        const k = f - r.f0;
        thresholds[f] = r.thresholds.slice(k * maxBins, k * maxBins + r.counts[k]);
      }
    }
    return thresholds;
  }

  root(slot: number, nodes: NodeRequest[]): void {
    const b = this.buffers;
    this.work.setRequests(nodes);
    if (b.nRows * b.nFeatures < MIN_PARALLEL_NODE_WORK) {
      this.work.root(slot, nodes.length, 0, b.nFeatures);
      return;
    }
    this.dispatch(COMMAND.ROOT, slot, 0, 0, nodes.length);
    const [f0, f1] = shareOf(b.nFeatures, 0, this.nThreads);
    this.work.root(slot, nodes.length, f0, f1);
    this.await(CTRL.DONE, this.nThreads - 1, 'build histograms');
  }

  children(small: number, start: number, count: number, parent: number, nodes: NodeRequest[]): void {
    const b = this.buffers;
    this.work.setRequests(nodes);
    if (count * b.nFeatures < MIN_PARALLEL_NODE_WORK) {
      this.work.children(small, start, count, parent, nodes.length, 0, b.nFeatures);
      return;
    }
    this.dispatch(COMMAND.CHILDREN, small, start, count, nodes.length, parent);
    const [f0, f1] = shareOf(b.nFeatures, 0, this.nThreads);
    this.work.children(small, start, count, parent, nodes.length, f0, f1);
    this.await(CTRL.DONE, this.nThreads - 1, 'build histograms');
  }

  gradients(): void {
    const b = this.buffers;
    this.dispatch(COMMAND.GRADIENTS, 0, 0, 0);
    const [r0, r1] = shareOf(b.nRows, 0, this.nThreads);
    gradientsAndHessians(b.y, b.raw, b.weight, b.gh, r0, r1);
    this.await(CTRL.DONE, this.nThreads - 1, 'compute gradients');
  }

  applyLeaves(leaves: LeafRange[], withGradients: boolean): void {
    const b = this.buffers;
    const n = this.storeLeaves(leaves);
    const [r0, r1] = shareOf(b.nRows, 0, this.nThreads);
    this.dispatch(COMMAND.MARK_LEAVES, 0, 0, n);
    markLeaves(b.partition, b.leaves, n, r0, r1, b.leafOf);
    this.await(CTRL.DONE, this.nThreads - 1, 'update scores');
    this.dispatch(COMMAND.UPDATE_SCORES, 0, withGradients ? 1 : 0, 0);
    updateScores(b.leafOf, b.leaves, b.y, b.raw, b.weight, b.gh, r0, r1, withGradients);
    this.await(CTRL.DONE, this.nThreads - 1, 'update scores');
  }

  partition(f: number, start: number, count: number, threshold: number, missingBin: number): number {
    const c = this.ctrl;
    if (count < MIN_PARALLEL_PARTITION) {
      const nLeft = this.work.partitionChunk(f, start, count, threshold, missingBin, 0, 1);
      return this.work.mergePartition(start, count, [nLeft], 1);
    }
    c[CTRL.FEATURE] = f;
    c[CTRL.THRESHOLD] = threshold;
    c[CTRL.MISSING_BIN] = missingBin;
    this.dispatch(COMMAND.PARTITION, 0, start, count);
    c[CTRL.LEFT_COUNTS] = this.work.partitionChunk(f, start, count, threshold, missingBin, 0, this.nThreads);
    this.await(CTRL.DONE, this.nThreads - 1, 'partition rows');
    return this.work.mergePartition(start, count, c.subarray(CTRL.LEFT_COUNTS), this.nThreads);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CTRL.COMMAND, COMMAND.STOP);
    Atomics.add(this.ctrl, CTRL.GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL.GENERATION);
    for (const worker of this.workers) worker.terminate().catch(() => undefined);
    for (const port of this.ports) port.close();
  }

  private dispatch(command: number, slot: number, start: number, count: number, nRequests = 0, parent = 0): void {
    const c = this.ctrl;
    c[CTRL.COMMAND] = command;
    c[CTRL.SLOT] = slot;
    c[CTRL.START] = start;
    c[CTRL.COUNT] = count;
    c[CTRL.REQUESTS] = nRequests;
    c[CTRL.PARENT] = parent;
    Atomics.store(c, CTRL.DONE, 0);
    Atomics.add(c, CTRL.GENERATION, 1);
    Atomics.notify(c, CTRL.GENERATION);
  }

  /** Sleeps until ctrl[index] reaches `target`; throws a worker's error or after WORKER_TIMEOUT_MS without progress. */
  private await(index: number, target: number, what: string): void {
    const c = this.ctrl;
    for (let poll = 0; poll < SPIN_POLLS; poll++) if (Atomics.load(c, index) >= target) return;
    for (;;) {
      if (Atomics.load(c, CTRL.ERROR) !== 0) throw new Error(this.workerError(what));
      const value = Atomics.load(c, index);
      if (value >= target) return;
      if (Atomics.wait(c, index, value, WORKER_TIMEOUT_MS) === 'timed-out' && Atomics.load(c, index) === value) {
        throw new Error(`HGB worker threads did not ${what} within ${WORKER_TIMEOUT_MS / 1000} s`);
      }
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

/** Runs in each new worker: loads the worker module, or reports why it could not. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.scriptUrl).then(
  (m) => m.runHgbWorker(workerData.init),
  (error) => {
    const ctrl = new Int32Array(workerData.init.control);
    workerData.init.port.postMessage({ type: 'error', message: 'cannot load ' + workerData.scriptUrl + ': ' + (error && error.message) });
    Atomics.store(ctrl, ${CTRL.ERROR}, 1);
    Atomics.notify(ctrl, ${CTRL.READY});
  },
);
`;

let warnedFallback = false;

/**
 * The executor for a fit: threaded when nThreads > 1 and the data is big enough to pay for it, else serial. From
 * TypeScript sources without a usable compiled worker it warns once and runs serially.
 */
export function createExecutor(
  nThreads: number,
  nRows: number,
  nFeatures: number,
  nBins: number,
  y: Float64Array,
  weight: Float64Array | null,
  baseline: number,
  maxLeaves: number,
  split: { l2Regularization: number; minSamplesLeaf: number },
): Executor {
  const threads = Math.min(nThreads, Math.max(1, nFeatures));
  if (threads > 1 && nRows * nFeatures >= MIN_PARALLEL_FIT_WORK) {
    const { url, fromSources } = compiledWorkerUrl(import.meta.url, './worker.js');
    try {
      return new ThreadedExecutor(threads, url, nRows, nFeatures, nBins, y, weight, baseline, maxLeaves, split);
    } catch (error) {
      if (!fromSources) throw error;
      if (!warnedFallback) {
        warnedFallback = true;
        process.emitWarning(`${(error as Error).message}; fitting on one thread (run \`npm run build\` to enable workers)`, 'HgbWorkerWarning');
      }
    }
  }
  return new SerialExecutor(1, nRows, nFeatures, nBins, y, weight, baseline, maxLeaves, split);
}
