/**
 * An HGB worker thread: waits until the fitting thread publishes a command, claims and runs its units (or, for a
 * per-thread command, does its own share), then waits again, polling the control block for some tens of microseconds
 * before it sleeps in Atomics.wait (protocol.ts). Loaded through the bootstrap in parallel.ts, which calls runHgbWorker(workerData).
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { binColumn, featureThresholds } from './binning.js';
import { FitWork } from './fit-work.js';
import { type BinMessage, COMMAND, CTRL, type PortMessage, shareOf, spin, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';

export function runHgbWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.shared.control);
  if (init.protocol !== WORKER_PROTOCOL) {
    fail(init, ctrl, `worker protocol ${WORKER_PROTOCOL} does not match the caller's ${init.protocol} (stale build?)`);
    return;
  }
  const work = new FitWork(init.shared);
  let generation = Atomics.load(ctrl, CTRL.GENERATION);
  Atomics.add(ctrl, CTRL.READY, 1);
  Atomics.notify(ctrl, CTRL.READY);
  for (;;) {
    // Poll for a while (the next command usually follows within microseconds, and waking a sleeping thread costs
    // more), then sleep until the generation moves on: a return from Atomics.wait alone is not taken as a new command.
    let next = spin(ctrl, CTRL.GENERATION, (value) => value !== generation);
    while (next === generation) {
      Atomics.wait(ctrl, CTRL.GENERATION, generation);
      next = Atomics.load(ctrl, CTRL.GENERATION);
    }
    generation = next;
    const command = Atomics.load(ctrl, CTRL.COMMAND);
    if (command === COMMAND.STOP) return;
    try {
      if (command === COMMAND.LOAD_FEATURE_INFO) {
        work.loadFeatureInfo();
        finishShare(ctrl);
      } else if (command === COMMAND.BIN) {
        binShare(init);
        finishShare(ctrl);
      } else {
        work.participate(generation);
      }
    } catch (error) {
      fail(init, ctrl, error instanceof Error ? (error.stack ?? error.message) : String(error));
      return;
    }
  }
}

function finishShare(ctrl: Int32Array): void {
  Atomics.add(ctrl, CTRL.DONE, 1);
  Atomics.notify(ctrl, CTRL.DONE);
}

/** Finds the thresholds of the thread's share of the features and bins them, from the values sent on its port. */
function binShare(init: WorkerInit): void {
  const { nRows, nFeatures, nBins, layout, memory } = init.shared;
  const message = receiveMessageOnPort(init.port)?.message as BinMessage | undefined;
  if (message?.type !== 'bin') throw new Error('no values to bin on the port');
  const X = new Uint8Array(memory.buffer, layout.X, nRows * nFeatures);
  const { maxBins, sampleSize } = message;
  const thresholds = new Float64Array(message.thresholds);
  const counts = new Int32Array(message.thresholdCounts);
  const [f0, f1] = shareOf(nFeatures, init.threadIndex, init.nThreads);
  for (let f = f0; f < f1; f++) {
    const k = f - f0;
    const values = new Float64Array(message.values, k * nRows * 8, nRows);
    const sample = message.sampleValues ? new Float64Array(message.sampleValues, k * sampleSize * 8, sampleSize) : values;
    const t = featureThresholds(sample, null, message.categories[k], maxBins);
    thresholds.set(t, k * maxBins);
    counts[k] = t.length;
    binColumn(values, null, nRows, t, message.categories[k] !== null, nBins - 1, X, f * nRows);
  }
}

function fail(init: WorkerInit, ctrl: Int32Array, message: string): void {
  init.port.postMessage({ type: 'error', message: `HGB worker ${init.threadIndex}: ${message}` } satisfies PortMessage);
  Atomics.store(ctrl, CTRL.ERROR, 1);
  Atomics.notify(ctrl, CTRL.READY);
  Atomics.notify(ctrl, CTRL.DONE);
}
