/**
 * The per-feature work of growing a tree, done by every thread on its own range of features: build a node's
 * histograms (WebAssembly kernels), derive the sibling's by subtraction, and scan the nodes to split for each feature's
 * best split. Features are independent, so the threads need no synchronisation until the fitting thread picks the best
 * feature from the candidates. The same class runs on the fitting thread and in the workers, over shared memory.
 */
import { shareOf } from './protocol.js';
import { CANDIDATE_SIZE, type NodeStats, scanFeatures, type SplitContext } from './splitter.js';
import { instantiateKernels, type Kernels, type WasmMemory, type WasmModule } from './wasm-kernels.js';

/** Byte offsets of the arrays in the WebAssembly memory; histogram slots follow each other from `slots`. */
export interface MemoryLayout {
  X: number;
  gh: number;
  partition: number;
  /** nRows uint32 of scratch for partitioning. */
  scratch: number;
  /** Per thread, nRows float32 pairs: a node's gradient pairs in partition order (thread t's at pairs + t * nRows * 8). */
  pairs: number;
  slots: number;
  slotBytes: number;
}

/** Nodes scanned by one command at most: the two children of a split. */
export const MAX_REQUESTS = 2;
/** A scan request: histogram slot, rows, gradient sum, hessian sum, value. */
const REQUEST_SIZE = 5;

/** Everything FeatureWork needs; all buffers shared between the threads of a fit. */
export interface FeatureWorkInit {
  nRows: number;
  nFeatures: number;
  nBins: number;
  l2Regularization: number;
  minSamplesLeaf: number;
  memory: WasmMemory;
  module: WasmModule;
  layout: MemoryLayout;
  /** Root bin counts, nFeatures * nBins. */
  rootCounts: SharedArrayBuffer;
  /** Int32 per feature: bins used by non-missing values, had missing values (0/1), categorical (0/1). */
  featureInfo: SharedArrayBuffer;
  /** MAX_REQUESTS rows of nFeatures * CANDIDATE_SIZE numbers. */
  candidates: SharedArrayBuffer;
  /** MAX_REQUESTS * REQUEST_SIZE numbers. */
  requests: SharedArrayBuffer;
}

export function allocateFeatureWorkBuffers(nFeatures: number, nBins: number): Pick<FeatureWorkInit, 'rootCounts' | 'featureInfo' | 'candidates' | 'requests'> {
  return {
    rootCounts: new SharedArrayBuffer(nFeatures * nBins * 8),
    featureInfo: new SharedArrayBuffer(nFeatures * 3 * 4),
    candidates: new SharedArrayBuffer(MAX_REQUESTS * nFeatures * CANDIDATE_SIZE * 8),
    requests: new SharedArrayBuffer(MAX_REQUESTS * REQUEST_SIZE * 8),
  };
}

export class FeatureWork {
  readonly ctx: SplitContext;
  readonly rootCounts: Float64Array;
  readonly candidates: Float64Array;
  private readonly requests: Float64Array;
  private readonly kernels: Kernels;
  private readonly views: Float64Array[] = [];

  constructor(
    private readonly init: FeatureWorkInit,
    /** This thread's index (0: the fitting thread), for its own buffer of gathered pairs. */
    private readonly thread: number,
  ) {
    const info = new Int32Array(init.featureInfo);
    const f = init.nFeatures;
    this.ctx = {
      nBins: init.nBins,
      missingBin: init.nBins - 1,
      nBinsNonMissing: new Uint32Array(info.buffer, 0, f),
      hasMissing: new Uint8Array(f),
      isCategorical: new Uint8Array(f),
      l2Regularization: init.l2Regularization,
      minSamplesLeaf: init.minSamplesLeaf,
    };
    this.rootCounts = new Float64Array(init.rootCounts);
    this.candidates = new Float64Array(init.candidates);
    this.requests = new Float64Array(init.requests);
    this.kernels = instantiateKernels(init.memory, init.module);
  }

  /** Reads the per-feature facts the fitting thread wrote with writeFeatureInfo(). */
  loadFeatureInfo(): void {
    const info = new Int32Array(this.init.featureInfo);
    const f = this.init.nFeatures;
    for (let j = 0; j < f; j++) {
      this.ctx.hasMissing[j] = info[f + j];
      this.ctx.isCategorical[j] = info[2 * f + j];
    }
  }

  /** A slot's histogram; the memory may have grown since the view cache was filled. */
  slot(id: number): Float64Array {
    let view = this.views[id];
    if (view === undefined) {
      const { slots, slotBytes } = this.init.layout;
      view = new Float64Array(this.init.memory.buffer, slots + id * slotBytes, slotBytes / 8);
      this.views[id] = view;
    }
    return view;
  }

  setRequests(nodes: (NodeStats & { slot: number })[]): void {
    nodes.forEach((node, i) => {
      const k = i * REQUEST_SIZE;
      this.requests[k] = node.slot;
      this.requests[k + 1] = node.count;
      this.requests[k + 2] = node.sumGrad;
      this.requests[k + 3] = node.sumHess;
      this.requests[k + 4] = node.value;
    });
  }

  /** Root histograms of features [f0, f1) into `slot`, then scans the first `nRequests` requested nodes. */
  root(slot: number, nRequests: number, f0: number, f1: number): void {
    const { nRows, nBins, layout } = this.init;
    const hist = this.slot(slot);
    for (let k = f0 * nBins; k < f1 * nBins; k++) {
      hist[3 * k] = 0;
      hist[3 * k + 1] = 0;
      hist[3 * k + 2] = this.rootCounts[k];
    }
    this.kernels.rootHistograms(layout.X, nRows, layout.gh, this.address(slot), nBins, f0, f1);
    this.scan(nRequests, f0, f1);
  }

  /**
   * Histograms of features [f0, f1) of rows partition[start .. start + count) into `small`; `parent` becomes the
   * sibling's (parent - small); then scans the requested nodes.
   */
  children(small: number, start: number, count: number, parent: number, nRequests: number, f0: number, f1: number): void {
    const { nRows, nBins, layout } = this.init;
    const stride = nBins * 3;
    const child = this.slot(small);
    child.fill(0, f0 * stride, f1 * stride);
    const pairs = layout.pairs + this.thread * nRows * 8;
    this.kernels.gatherPairs(layout.gh, layout.partition, start, count, pairs);
    this.kernels.nodeHistograms(layout.X, nRows, pairs, this.address(small), nBins, f0, f1, layout.partition, start, count);
    const offset = f0 * stride * 8;
    this.kernels.subtractHistograms(this.address(parent) + offset, this.address(small) + offset, (f1 - f0) * stride);
    this.scan(nRequests, f0, f1);
  }

  /**
   * Thread `thread` of `nThreads`'s part of splitting the rows partition[start .. start + count) on feature f (bin <=
   * threshold, or bin == missingBin, goes left): its chunk of the range keeps its left rows in place, in order, and
   * puts its right rows at the same positions of the scratch array. Returns the chunk's left count; mergePartition()
   * then assembles the chunks.
   */
  partitionChunk(f: number, start: number, count: number, threshold: number, missingBin: number, thread: number, nThreads: number): number {
    const { nRows, layout } = this.init;
    const [c0, c1] = shareOf(count, thread, nThreads);
    const at = start + c0;
    return this.kernels.partitionRows(layout.X + f * nRows, layout.partition, layout.scratch + at * 4, at, c1 - c0, threshold, missingBin);
  }

  /** Joins the chunks of partitionChunk(): all left rows (chunk by chunk), then all right rows. Returns the left count. */
  mergePartition(start: number, count: number, leftCounts: ArrayLike<number>, nThreads: number): number {
    const { nRows, layout, memory } = this.init;
    const partition = new Uint32Array(memory.buffer, layout.partition, nRows);
    const scratch = new Uint32Array(memory.buffer, layout.scratch, nRows);
    let to = start;
    for (let t = 0; t < nThreads; t++) {
      const from = start + shareOf(count, t, nThreads)[0];
      if (from !== to) partition.copyWithin(to, from, from + leftCounts[t]);
      to += leftCounts[t];
    }
    const nLeft = to - start;
    for (let t = 0; t < nThreads; t++) {
      const [c0, c1] = shareOf(count, t, nThreads);
      const rights = c1 - c0 - leftCounts[t];
      partition.set(scratch.subarray(start + c0, start + c0 + rights), to);
      to += rights;
    }
    return nLeft;
  }

  private scan(nRequests: number, f0: number, f1: number): void {
    const rowSize = this.init.nFeatures * CANDIDATE_SIZE;
    for (let i = 0; i < nRequests; i++) {
      const k = i * REQUEST_SIZE;
      const r = this.requests;
      const node = { count: r[k + 1], sumGrad: r[k + 2], sumHess: r[k + 3], value: r[k + 4] };
      scanFeatures(this.ctx, this.slot(r[k]), node, f0, f1, this.candidates, i * rowSize);
    }
  }

  private address(slot: number): number {
    return this.init.layout.slots + slot * this.init.layout.slotBytes;
  }
}

/** Writes the per-feature facts (after binning) for every thread's FeatureWork. */
export function writeFeatureInfo(buffer: SharedArrayBuffer, nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
  const info = new Int32Array(buffer);
  const f = nBinsNonMissing.length;
  for (let j = 0; j < f; j++) {
    info[j] = nBinsNonMissing[j];
    info[f + j] = hasMissing[j];
    info[2 * f + j] = isCategorical[j];
  }
}
