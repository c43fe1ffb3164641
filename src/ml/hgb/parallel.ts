/**
 * Where the heavy loops of a fit run. SerialExecutor runs them on the calling thread. ThreadedExecutor keeps the binned
 * data, gradients, partition and histograms in SharedArrayBuffers and splits each command between the calling thread
 * and nThreads - 1 worker threads (features for histograms, rows for gradients); the calling thread blocks in
 * Atomics.wait while workers finish, so nobody spins. Both produce bit-identical results.
 *
 * Locating the worker script: next to this module as worker.js. When running from TypeScript sources (vitest), the
 * compiled dist/ml/hgb/worker.js is used instead (`npm test` builds first); if it is missing or stale there, the fit
 * falls back to one thread with a warning. From compiled code, a missing worker is an error.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { buildHistograms, buildRootHistograms, gatherGradients } from './histogram.js';
import { gradientsAndHessians } from './loss.js';
import { COMMAND, CTRL, type PortMessage, shareOf, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';

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
  g: Float32Array;
  h: Float32Array;
  /** Row indices, grouped by node (each node owns a contiguous range). */
  partition: Uint32Array;
}

export interface Executor {
  readonly buffers: FitBuffers;
  /** A zeroed-or-reused histogram slot of nFeatures * nBins * 3 numbers. */
  acquireSlot(): number;
  releaseSlot(slot: number): void;
  slot(slot: number): Float64Array;
  rootHistograms(slot: number): void;
  /** Histograms of the rows partition[start .. start + count). */
  nodeHistograms(slot: number, start: number, count: number): void;
  /** Gradients and hessians of every row from y, raw and weight. */
  gradients(): void;
  close(): void;
}

/** Below this many (rows x features) a fit does not start workers: thread hand-offs would cost more than they save. */
export const MIN_PARALLEL_FIT_WORK = 200_000;
/** Below this many (rows x features) a node's histograms are built by the calling thread alone. */
export const MIN_PARALLEL_NODE_WORK = 40_000;
/** A worker that neither finishes nor fails within this long is considered lost. */
const WORKER_TIMEOUT_MS = 120_000;

interface BufferAllocator {
  bytes(n: number): ArrayBuffer | SharedArrayBuffer;
}

abstract class BaseExecutor implements Executor {
  readonly buffers: FitBuffers;
  protected readonly orderedG: Float32Array;
  protected readonly orderedH: Float32Array;
  protected readonly slots: Float64Array[] = [];
  private readonly free: number[] = [];

  constructor(
    protected readonly alloc: BufferAllocator,
    nRows: number,
    nFeatures: number,
    nBins: number,
    y: Float64Array,
    weight: Float64Array | null,
    baseline: number,
  ) {
    const f64 = (source: Float64Array): Float64Array => {
      const out = new Float64Array(alloc.bytes(source.length * 8));
      out.set(source);
      return out;
    };
    const raw = new Float64Array(alloc.bytes(nRows * 8)).fill(baseline);
    const partition = new Uint32Array(alloc.bytes(nRows * 4));
    this.buffers = {
      nRows,
      nFeatures,
      nBins,
      X: new Uint8Array(alloc.bytes(nRows * nFeatures)),
      y: f64(y),
      weight: weight ? f64(weight) : null,
      raw,
      g: new Float32Array(alloc.bytes(nRows * 4)),
      h: new Float32Array(alloc.bytes(nRows * 4)),
      partition,
    };
    this.orderedG = new Float32Array(alloc.bytes(nRows * 4));
    this.orderedH = new Float32Array(alloc.bytes(nRows * 4));
  }

  acquireSlot(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const { nFeatures, nBins } = this.buffers;
    const id = this.slots.length;
    this.slots.push(new Float64Array(this.alloc.bytes(nFeatures * nBins * 3 * 8)));
    this.onNewSlot(id);
    return id;
  }

  releaseSlot(slot: number): void {
    this.free.push(slot);
  }

  slot(slot: number): Float64Array {
    return this.slots[slot];
  }

  protected onNewSlot(_id: number): void {}

  abstract rootHistograms(slot: number): void;
  abstract nodeHistograms(slot: number, start: number, count: number): void;
  abstract gradients(): void;
  abstract close(): void;
}

export class SerialExecutor extends BaseExecutor {
  constructor(nRows: number, nFeatures: number, nBins: number, y: Float64Array, weight: Float64Array | null, baseline: number) {
    super({ bytes: (n) => new ArrayBuffer(n) }, nRows, nFeatures, nBins, y, weight, baseline);
  }

  rootHistograms(slot: number): void {
    const b = this.buffers;
    buildRootHistograms(b.X, b.nRows, b.g, b.h, this.slots[slot], b.nBins, 0, b.nFeatures);
  }

  nodeHistograms(slot: number, start: number, count: number): void {
    const b = this.buffers;
    gatherGradients(b.partition, start, b.g, b.h, this.orderedG, this.orderedH, 0, count);
    buildHistograms(b.X, b.nRows, b.partition, start, count, this.orderedG, this.orderedH, this.slots[slot], b.nBins, 0, b.nFeatures);
  }

  gradients(): void {
    const b = this.buffers;
    gradientsAndHessians(b.y, b.raw, b.weight, b.g, b.h, 0, b.nRows);
  }

  close(): void {}
}

export class ThreadedExecutor extends BaseExecutor {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: import('node:worker_threads').MessagePort[] = [];
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
  ) {
    super({ bytes: (n) => new SharedArrayBuffer(n) }, nRows, nFeatures, nBins, y, weight, baseline);
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL.LENGTH * 4));
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
          nRows,
          nFeatures,
          nBins,
          X: shared(b.X),
          g: shared(b.g),
          h: shared(b.h),
          orderedG: shared(this.orderedG),
          orderedH: shared(this.orderedH),
          partition: shared(b.partition),
          y: shared(b.y),
          raw: shared(b.raw),
          weight: b.weight ? shared(b.weight) : null,
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

  protected override onNewSlot(id: number): void {
    const buffer = this.slots[id].buffer as SharedArrayBuffer;
    for (const port of this.ports) port.postMessage({ type: 'slot', id, buffer } satisfies PortMessage);
  }

  rootHistograms(slot: number): void {
    const b = this.buffers;
    if (b.nRows * b.nFeatures < MIN_PARALLEL_NODE_WORK) {
      buildRootHistograms(b.X, b.nRows, b.g, b.h, this.slots[slot], b.nBins, 0, b.nFeatures);
      return;
    }
    this.dispatch(COMMAND.ROOT_HISTOGRAMS, slot, 0, 0);
    const [f0, f1] = shareOf(b.nFeatures, 0, this.nThreads);
    buildRootHistograms(b.X, b.nRows, b.g, b.h, this.slots[slot], b.nBins, f0, f1);
    this.await(CTRL.DONE, this.nThreads - 1, 'build histograms');
  }

  nodeHistograms(slot: number, start: number, count: number): void {
    const b = this.buffers;
    gatherGradients(b.partition, start, b.g, b.h, this.orderedG, this.orderedH, 0, count);
    if (count * b.nFeatures < MIN_PARALLEL_NODE_WORK) {
      buildHistograms(b.X, b.nRows, b.partition, start, count, this.orderedG, this.orderedH, this.slots[slot], b.nBins, 0, b.nFeatures);
      return;
    }
    this.dispatch(COMMAND.NODE_HISTOGRAMS, slot, start, count);
    const [f0, f1] = shareOf(b.nFeatures, 0, this.nThreads);
    buildHistograms(b.X, b.nRows, b.partition, start, count, this.orderedG, this.orderedH, this.slots[slot], b.nBins, f0, f1);
    this.await(CTRL.DONE, this.nThreads - 1, 'build histograms');
  }

  gradients(): void {
    const b = this.buffers;
    this.dispatch(COMMAND.GRADIENTS, 0, 0, 0);
    const [r0, r1] = shareOf(b.nRows, 0, this.nThreads);
    gradientsAndHessians(b.y, b.raw, b.weight, b.g, b.h, r0, r1);
    this.await(CTRL.DONE, this.nThreads - 1, 'compute gradients');
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

  private dispatch(command: number, slot: number, start: number, count: number): void {
    const c = this.ctrl;
    c[CTRL.COMMAND] = command;
    c[CTRL.SLOT] = slot;
    c[CTRL.START] = start;
    c[CTRL.COUNT] = count;
    Atomics.store(c, CTRL.DONE, 0);
    Atomics.add(c, CTRL.GENERATION, 1);
    Atomics.notify(c, CTRL.GENERATION);
  }

  /** Sleeps until ctrl[index] reaches `target`; throws a worker's error or after WORKER_TIMEOUT_MS without progress. */
  private await(index: number, target: number, what: string): void {
    const c = this.ctrl;
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
        if (message.type === 'error') messages.push(message.message);
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

/** The compiled worker script for this module: ./worker.js, or dist/.../worker.js when running from src/*.ts. */
export function workerScriptUrl(moduleUrl: string = import.meta.url): { url: URL; fromSources: boolean } {
  if (moduleUrl.endsWith('.ts')) {
    const i = moduleUrl.lastIndexOf('/src/');
    const compiled = i < 0 ? moduleUrl : `${moduleUrl.slice(0, i)}/dist/${moduleUrl.slice(i + 5)}`;
    return { url: new URL('./worker.js', compiled), fromSources: true };
  }
  return { url: new URL('./worker.js', moduleUrl), fromSources: false };
}

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
): Executor {
  const threads = Math.min(nThreads, Math.max(1, nFeatures));
  if (threads > 1 && nRows * nFeatures >= MIN_PARALLEL_FIT_WORK) {
    const { url, fromSources } = workerScriptUrl();
    try {
      return new ThreadedExecutor(threads, url, nRows, nFeatures, nBins, y, weight, baseline);
    } catch (error) {
      if (!fromSources) throw error;
      if (!warnedFallback) {
        warnedFallback = true;
        process.emitWarning(`${(error as Error).message}; fitting on one thread (run \`npm run build\` to enable workers)`, 'HgbWorkerWarning');
      }
    }
  }
  return new SerialExecutor(nRows, nFeatures, nBins, y, weight, baseline);
}
