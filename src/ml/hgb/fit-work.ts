/**
 * The units of work of a fit, run by whichever thread claims them (see protocol.ts): a block of features' histograms
 * and split scan, or a chunk of rows' gradients, partition or score updates. The same class runs on the fitting thread
 * and in the workers, over one shared WebAssembly.Memory (binned data, labels, raw scores, gradient pairs, partition,
 * histograms) and shared buffers for the rest. Every unit writes its own part of the outputs, and every sum runs in a fixed order
 * (a bin over its rows in partition order, a chunk's gradient totals over its rows), so the results do not depend on
 * which thread ran which unit, nor on the number of threads.
 */
import { COMMAND, CONTROL_LENGTH, CTRL, rowChunkFor, spin } from './protocol.js';
import { addLeafValues, LOSS, type LeafIndex, type LossCode, lossGradients, markLeaves } from './loss.js';
import { CANDIDATE_SIZE, type NodeStats, scanFeatures, type SplitContext } from './splitter.js';
import { FEATURE_BLOCK, instantiateKernels, type Kernels, type WasmMemory, type WasmModule } from './wasm-kernels.js';

/** Byte offsets of the arrays in the WebAssembly memory; histogram slots follow each other from `slots`. */
export interface MemoryLayout {
  X: number;
  /** Labels (or targets), weights (when weighted): float64, room for an even number of rows. */
  y: number;
  weight: number;
  /** Raw scores, one block of `outputRows` float64 per output (class). */
  raw: number;
  /** Float32 (gradient, hessian) pairs, one block of `outputRows` pairs per output. */
  gh: number;
  /** Rows per output block of raw and gh: the rows rounded up to even (the gradient kernel takes two at a time). */
  outputRows: number;
  partition: number;
  /** nRows uint32 each: where a partition chunk's left and right rows go before they are copied back. */
  left: number;
  right: number;
  /** nRows float32 pairs: a node's gradient pairs in partition order. */
  pairs: number;
  slots: number;
  slotBytes: number;
}

/** Nodes scanned by one command at most: the two children of a split. */
const MAX_REQUESTS = 2;
/** A scan request: histogram slot, rows, gradient sum, hessian sum, value. */
const REQUEST_SIZE = 5;
/** A worker that neither finishes nor fails within this long is considered lost. */
export const WORKER_TIMEOUT_MS = 120_000;

/** Everything the threads of a fit share. */
export interface FitShared {
  nRows: number;
  nFeatures: number;
  nBins: number;
  /** Rows per unit of the row-wise commands (rowChunkFor). */
  rowChunk: number;
  l2Regularization: number;
  minSamplesLeaf: number;
  loss: LossCode;
  /** Raw scores per row: the classes of a multinomial loss, else 1. */
  nOutputs: number;
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
  /** Rows have weights (layout.weight). */
  weighted: boolean;
  /** A tree's leaves as (partition start, row count, value) triples. */
  leaves: SharedArrayBuffer;
  /** The leaf of each row in the last tree: uint8 when trees have at most 256 leaves, else uint32. */
  leafOf: SharedArrayBuffer;
  /** Int32 per row chunk: left rows of a partition chunk. */
  chunkLefts: SharedArrayBuffer;
  /** Float64 pair per row chunk and output: the chunk's gradient and hessian totals. */
  chunkTotals: SharedArrayBuffer;
  /** Int32 control block (CTRL). */
  control: SharedArrayBuffer;
  /** One BigInt64: the claim word. */
  claim: SharedArrayBuffer;
}

/** The shared buffers of a fit, the WebAssembly memory aside. */
export function allocateShared(
  nRows: number,
  nFeatures: number,
  nBins: number,
  maxLeaves: number,
  nOutputs: number,
): Omit<
  FitShared,
  'nRows' | 'nFeatures' | 'nBins' | 'rowChunk' | 'l2Regularization' | 'minSamplesLeaf' | 'loss' | 'nOutputs' | 'memory' | 'module' | 'layout' | 'weighted'
> {
  const bytes = (n: number): SharedArrayBuffer => new SharedArrayBuffer(n);
  const chunks = Math.ceil(nRows / rowChunkFor(nRows));
  return {
    rootCounts: bytes(nFeatures * nBins * 8),
    featureInfo: bytes(nFeatures * 3 * 4),
    candidates: bytes(MAX_REQUESTS * nFeatures * CANDIDATE_SIZE * 8),
    requests: bytes(MAX_REQUESTS * REQUEST_SIZE * 8),
    leaves: bytes(maxLeaves * 3 * 8),
    leafOf: bytes(maxLeaves <= 256 ? nRows : nRows * 4),
    chunkLefts: bytes(chunks * 4),
    chunkTotals: bytes(chunks * 16 * nOutputs),
    control: bytes(CONTROL_LENGTH * 4),
    claim: bytes(8),
  };
}

/** The units of a command: the first phase's, then the second's (none when phaseTwo === nUnits). */
export interface UnitPlan {
  nUnits: number;
  phaseTwo: number;
}

/** Feature blocks of a histogram command: FEATURE_BLOCK features each, the kernel's pass over the rows. */
const featureBlocks = (nFeatures: number): number => Math.ceil(nFeatures / FEATURE_BLOCK);

export class FitWork {
  readonly ctx: SplitContext;
  readonly rootCounts: Float64Array;
  readonly candidates: Float64Array;
  readonly ctrl: Int32Array;
  readonly y: Float64Array;
  readonly weight: Float64Array | null;
  readonly raw: Float64Array;
  readonly leaves: Float64Array;
  readonly leafOf: LeafIndex;
  readonly gh: Float32Array;
  readonly partition: Uint32Array;
  private readonly left: Uint32Array;
  private readonly right: Uint32Array;
  private readonly chunkLefts: Int32Array;
  private readonly chunkTotals: Float64Array;
  private readonly claim: BigInt64Array;
  private readonly requests: Float64Array;
  private readonly kernels: Kernels;
  private readonly views: Float64Array[] = [];

  constructor(private readonly shared: FitShared) {
    const { nRows, nFeatures: f, layout, memory } = shared;
    const info = new Int32Array(shared.featureInfo);
    this.ctx = {
      nBins: shared.nBins,
      missingBin: shared.nBins - 1,
      nBinsNonMissing: new Uint32Array(info.buffer, 0, f),
      hasMissing: new Uint8Array(f),
      isCategorical: new Uint8Array(f),
      l2Regularization: shared.l2Regularization,
      minSamplesLeaf: shared.minSamplesLeaf,
    };
    this.rootCounts = new Float64Array(shared.rootCounts);
    this.candidates = new Float64Array(shared.candidates);
    this.requests = new Float64Array(shared.requests);
    this.ctrl = new Int32Array(shared.control);
    this.claim = new BigInt64Array(shared.claim);
    this.leaves = new Float64Array(shared.leaves);
    this.leafOf = shared.leafOf.byteLength === nRows ? new Uint8Array(shared.leafOf) : new Uint32Array(shared.leafOf);
    this.chunkLefts = new Int32Array(shared.chunkLefts);
    this.chunkTotals = new Float64Array(shared.chunkTotals);
    // The memory grows only beyond these arrays (more histogram slots), and views of a shared memory stay valid.
    this.y = new Float64Array(memory.buffer, layout.y, nRows);
    this.weight = shared.weighted ? new Float64Array(memory.buffer, layout.weight, nRows) : null;
    const blocks = (shared.nOutputs - 1) * layout.outputRows + nRows;
    this.raw = new Float64Array(memory.buffer, layout.raw, blocks);
    this.gh = new Float32Array(memory.buffer, layout.gh, 2 * blocks);
    this.partition = new Uint32Array(memory.buffer, layout.partition, nRows);
    this.left = new Uint32Array(memory.buffer, layout.left, nRows);
    this.right = new Uint32Array(memory.buffer, layout.right, nRows);
    this.kernels = instantiateKernels(memory, shared.module);
  }

  /** Reads the per-feature facts the fitting thread wrote with writeFeatureInfo(). */
  loadFeatureInfo(): void {
    const info = new Int32Array(this.shared.featureInfo);
    const f = this.shared.nFeatures;
    for (let j = 0; j < f; j++) {
      this.ctx.hasMissing[j] = info[f + j];
      this.ctx.isCategorical[j] = info[2 * f + j];
    }
  }

  /** A slot's histogram; the memory may have grown since the view cache was filled. */
  slot(id: number): Float64Array {
    let view = this.views[id];
    if (view === undefined) {
      const { slots, slotBytes } = this.shared.layout;
      view = new Float64Array(this.shared.memory.buffer, slots + id * slotBytes, slotBytes / 8);
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

  /** The units of the command in the control block. */
  plan(): UnitPlan {
    const c = this.ctrl;
    const blocks = featureBlocks(this.shared.nFeatures);
    switch (c[CTRL.COMMAND]) {
      case COMMAND.ROOT:
        return { nUnits: blocks, phaseTwo: blocks };
      case COMMAND.CHILDREN:
        return { nUnits: blocks, phaseTwo: blocks };
      case COMMAND.PARTITION: {
        const chunks = this.chunks(c[CTRL.COUNT]);
        return { nUnits: 2 * chunks, phaseTwo: chunks };
      }
      case COMMAND.GRADIENTS: {
        const chunks = this.chunks(this.shared.nRows);
        return { nUnits: chunks, phaseTwo: chunks };
      }
      case COMMAND.APPLY_LEAVES: {
        const chunks = this.chunks(this.shared.nRows);
        return { nUnits: 2 * chunks, phaseTwo: chunks };
      }
      default:
        throw new Error(`internal: command ${c[CTRL.COMMAND]} has no units`);
    }
  }

  /** Runs every unit of the command in the control block on this thread, in order. */
  runAll(): void {
    const { nUnits, phaseTwo } = this.plan();
    for (let unit = 0; unit < nUnits; unit++) this.run(unit, phaseTwo);
  }

  /**
   * Publishes the command `generation` (the caller then bumps CTRL.GENERATION): closes the previous command first, so
   * that a thread still holding its parameters cannot claim any more, writes the parameters and, when `claimable`,
   * opens the new command's units for claiming. Returns their plan (null for a per-thread command).
   */
  open(generation: number, writeParameters: () => void, claimable: boolean): UnitPlan | null {
    Atomics.store(this.claim, 0, claimWord(generation, CLOSED));
    writeParameters();
    Atomics.store(this.ctrl, CTRL.DONE, 0);
    if (!claimable) return null;
    const plan = this.plan();
    this.ctrl[CTRL.N_UNITS] = plan.nUnits;
    this.ctrl[CTRL.PHASE_TWO] = plan.phaseTwo;
    Atomics.store(this.claim, 0, claimWord(generation, 0));
    return plan;
  }

  /** Claims and runs units of command `generation` until none are left (or it is over). */
  participate(generation: number): void {
    const c = this.ctrl;
    const nUnits = c[CTRL.N_UNITS];
    const phaseTwo = c[CTRL.PHASE_TWO];
    const tag = BigInt(generation);
    for (;;) {
      const word = Atomics.load(this.claim, 0);
      if (word >> 32n !== tag) return;
      const unit = Number(word & UNIT_MASK);
      if (unit >= nUnits) return;
      if (Atomics.compareExchange(this.claim, 0, word, word + 1n) !== word) continue;
      if (unit >= phaseTwo) this.awaitDone(phaseTwo);
      this.run(unit, phaseTwo);
      Atomics.add(c, CTRL.DONE, 1);
      Atomics.notify(c, CTRL.DONE);
    }
  }

  /** Waits until `target` units of the current command are done: polls, then sleeps; throws on a worker's error or
   * after WORKER_TIMEOUT_MS without progress. */
  awaitDone(target: number): void {
    const c = this.ctrl;
    if (spin(c, CTRL.DONE, (done) => done >= target) >= target) return;
    for (;;) {
      if (Atomics.load(c, CTRL.ERROR) !== 0) throw new WorkerFailure();
      const done = Atomics.load(c, CTRL.DONE);
      if (done >= target) return;
      if (Atomics.wait(c, CTRL.DONE, done, WORKER_TIMEOUT_MS) === 'timed-out' && Atomics.load(c, CTRL.DONE) === done) {
        throw new Error(`HGB worker threads made no progress within ${WORKER_TIMEOUT_MS / 1000} s`);
      }
    }
  }

  /** Total gradient and hessian of all rows for the current output, from the chunk totals of the last gradient
   * update. */
  gradientTotals(): { sumGrad: number; sumHess: number } {
    let sumGrad = 0;
    let sumHess = 0;
    const { nOutputs } = this.shared;
    const at = this.output();
    for (let k = 0, n = this.chunks(this.shared.nRows); k < n; k++) {
      sumGrad += this.chunkTotals[2 * (k * nOutputs + at)];
      sumHess += this.chunkTotals[2 * (k * nOutputs + at) + 1];
    }
    return { sumGrad, sumHess };
  }

  /** The output whose tree is being grown. */
  output(): number {
    return this.ctrl[CTRL.OUTPUT];
  }

  /** Raw scores of output k, one per row. */
  rawOf(k: number): Float64Array {
    const at = k * this.shared.layout.outputRows;
    return this.raw.subarray(at, at + this.shared.nRows);
  }

  /** Address of the current output's gradient pairs. */
  private ghAddress(): number {
    const { layout } = this.shared;
    return layout.gh + this.output() * layout.outputRows * 8;
  }

  /** Left rows of the last PARTITION command. */
  partitionLefts(): number {
    let nLeft = 0;
    for (let k = 0, n = this.chunks(this.ctrl[CTRL.COUNT]); k < n; k++) nLeft += this.chunkLefts[k];
    return nLeft;
  }

  private run(unit: number, phaseTwo: number): void {
    const c = this.ctrl;
    switch (c[CTRL.COMMAND]) {
      case COMMAND.ROOT:
        this.rootBlock(unit, c[CTRL.SLOT], c[CTRL.REQUESTS]);
        return;
      case COMMAND.CHILDREN:
        this.childBlock(unit, c[CTRL.SLOT], c[CTRL.START], c[CTRL.COUNT], c[CTRL.PARENT], c[CTRL.REQUESTS]);
        return;
      case COMMAND.PARTITION:
        if (unit < phaseTwo) this.partitionChunk(unit, c[CTRL.FEATURE], c[CTRL.START], c[CTRL.COUNT], c[CTRL.THRESHOLD], c[CTRL.MISSING_BIN]);
        else this.placeChunk(unit - phaseTwo, c[CTRL.START], c[CTRL.COUNT]);
        return;
      case COMMAND.GRADIENTS:
        this.gradientChunk(unit);
        return;
      case COMMAND.APPLY_LEAVES: {
        if (unit < phaseTwo) {
          const [p0, p1] = this.rowChunk(unit);
          markLeaves(this.partition, this.leaves, c[CTRL.COUNT], p0, p1, this.leafOf);
          return;
        }
        const [r0, r1] = this.rowChunk(unit - phaseTwo);
        addLeafValues(this.leafOf, this.leaves, this.rawOf(this.output()), r0, r1);
        // The next tree starts from the identity partition, as scikit-learn's grower does (the gradients reset it too).
        if (c[CTRL.WITH_GRADIENTS] === 1) this.gradientChunk(unit - phaseTwo);
        else for (let i = r0; i < r1; i++) this.partition[i] = i;
        return;
      }
      default:
        throw new Error(`internal: command ${c[CTRL.COMMAND]} has no units`);
    }
  }

  /** Row chunks covering `count` rows. */
  private chunks(count: number): number {
    return Math.ceil(count / this.shared.rowChunk);
  }

  private rowChunk(k: number): [number, number] {
    const size = this.shared.rowChunk;
    return [k * size, Math.min((k + 1) * size, this.shared.nRows)];
  }

  private featureBlock(b: number): [number, number] {
    return [b * FEATURE_BLOCK, Math.min((b + 1) * FEATURE_BLOCK, this.shared.nFeatures)];
  }

  /** Gradients of row chunk k (every output), then their totals (for the next roots) and the identity partition (for
   * the next tree). */
  private gradientChunk(k: number): void {
    const [r0, r1] = this.rowChunk(k);
    const { layout, loss, nOutputs } = this.shared;
    if (loss === LOSS.BINARY) this.kernels.gradients(layout.y, layout.raw, layout.weight, layout.gh, r0, r1, this.shared.weighted ? 1 : 0);
    else lossGradients(loss, nOutputs, layout.outputRows, this.y, this.raw, this.weight, this.gh, r0, r1);
    const gh = this.gh;
    for (let out = 0; out < nOutputs; out++) {
      const base = 2 * out * layout.outputRows;
      let sumGrad = 0;
      let sumHess = 0;
      for (let i = r0; i < r1; i++) {
        sumGrad += gh[base + 2 * i];
        sumHess += gh[base + 2 * i + 1];
      }
      this.chunkTotals[2 * (k * nOutputs + out)] = sumGrad;
      this.chunkTotals[2 * (k * nOutputs + out) + 1] = sumHess;
    }
    for (let i = r0; i < r1; i++) this.partition[i] = i;
  }

  /** Root histograms of feature block b into `slot`, then the scan of the requested nodes. */
  private rootBlock(b: number, slot: number, nRequests: number): void {
    const { nRows, nBins, layout } = this.shared;
    const [f0, f1] = this.featureBlock(b);
    const hist = this.slot(slot);
    for (let k = f0 * nBins; k < f1 * nBins; k++) {
      hist[3 * k] = 0;
      hist[3 * k + 1] = 0;
      hist[3 * k + 2] = this.rootCounts[k];
    }
    this.kernels.rootHistograms(layout.X, nRows, this.ghAddress(), this.address(slot), nBins, f0, f1);
    this.scan(nRequests, f0, f1);
  }

  /** Gathers the gradient pairs of rows partition[start .. start + count), in that order, for the next CHILDREN
   * command (PARTITION does this for the smaller child of a numeric split). */
  gatherPairs(start: number, count: number): void {
    const { layout } = this.shared;
    this.kernels.gatherPairs(this.ghAddress(), layout.partition, start, count, layout.pairs);
  }

  /**
   * Histograms of feature block b of rows partition[start .. start + count) into `small`, from their gathered gradient
   * pairs; `parent` becomes the sibling's (parent - small); then the scan of the requested nodes.
   */
  private childBlock(b: number, small: number, start: number, count: number, parent: number, nRequests: number): void {
    const { nRows, nBins, layout } = this.shared;
    const [f0, f1] = this.featureBlock(b);
    const stride = nBins * 3;
    this.slot(small).fill(0, f0 * stride, f1 * stride);
    this.kernels.nodeHistograms(layout.X, nRows, layout.pairs, this.address(small), nBins, f0, f1, layout.partition, start, count);
    const offset = f0 * stride * 8;
    this.kernels.subtractHistograms(this.address(parent) + offset, this.address(small) + offset, (f1 - f0) * stride);
    this.scan(nRequests, f0, f1);
  }

  /** Chunk k of splitting rows partition[start .. start + count) on feature f: its left and right rows, in order, to
   * the same positions of the left and right arrays. */
  private partitionChunk(k: number, f: number, start: number, count: number, threshold: number, missingBin: number): void {
    const { nRows, layout } = this.shared;
    const i0 = k * this.shared.rowChunk;
    const at = (start + i0) * 4;
    const n = Math.min(this.shared.rowChunk, count - i0);
    this.chunkLefts[k] = this.kernels.partitionRows(layout.X + f * nRows, layout.partition + at, layout.left + at, layout.right + at, n, threshold, missingBin);
  }

  /**
   * Copies chunk k's left and right rows back: all left rows first (chunk by chunk), then all right rows. Its rows of
   * the smaller side (the right one on a tie, as the grower decides) also gather their gradient pairs to their place
   * in the pairs array, for the children's histograms: the row indices are at hand here.
   */
  private placeChunk(k: number, start: number, count: number): void {
    const chunks = this.chunks(count);
    let leftsBefore = 0;
    for (let j = 0; j < k; j++) leftsBefore += this.chunkLefts[j];
    let nLeft = leftsBefore;
    for (let j = k; j < chunks; j++) nLeft += this.chunkLefts[j];
    const i0 = k * this.shared.rowChunk;
    const from = start + i0;
    const lefts = this.chunkLefts[k];
    const rights = Math.min(this.shared.rowChunk, count - i0) - lefts;
    this.partition.set(this.left.subarray(from, from + lefts), start + leftsBefore);
    this.partition.set(this.right.subarray(from, from + rights), start + nLeft + (i0 - leftsBefore));
    const { layout } = this.shared;
    const gh = this.ghAddress();
    if (nLeft < count - nLeft) this.kernels.gatherPairs(gh, layout.left, from, lefts, layout.pairs + leftsBefore * 8);
    else this.kernels.gatherPairs(gh, layout.right, from, rights, layout.pairs + (i0 - leftsBefore) * 8);
  }

  private scan(nRequests: number, f0: number, f1: number): void {
    const rowSize = this.shared.nFeatures * CANDIDATE_SIZE;
    for (let i = 0; i < nRequests; i++) {
      const k = i * REQUEST_SIZE;
      const r = this.requests;
      const node = { count: r[k + 1], sumGrad: r[k + 2], sumHess: r[k + 3], value: r[k + 4] };
      scanFeatures(this.ctx, this.slot(r[k]), node, f0, f1, this.candidates, i * rowSize);
    }
  }

  private address(slot: number): number {
    return this.shared.layout.slots + slot * this.shared.layout.slotBytes;
  }
}

/** Thrown on the fitting thread when a worker reported an error (the message is on its port). */
export class WorkerFailure extends Error {
  constructor() {
    super('an HGB worker thread failed');
  }
}

const UNIT_MASK = 0xffffffffn;
/** The unit number of a closed command: above any command's units. */
const CLOSED = 0xffffffff;
const claimWord = (generation: number, unit: number): bigint => (BigInt(generation) << 32n) | BigInt(unit);

/** Writes the per-feature facts (after binning) for every thread's FitWork. */
export function writeFeatureInfo(buffer: SharedArrayBuffer, nBinsNonMissing: Uint32Array, hasMissing: Uint8Array, isCategorical: Uint8Array): void {
  const info = new Int32Array(buffer);
  const f = nBinsNonMissing.length;
  for (let j = 0; j < f; j++) {
    info[j] = nBinsNonMissing[j];
    info[f + j] = hasMissing[j];
    info[2 * f + j] = isCategorical[j];
  }
}
