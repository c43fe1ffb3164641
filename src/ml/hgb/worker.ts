/**
 * An HGB worker thread: sleeps in Atomics.wait until the fitting thread posts a command, does its share (a range of
 * features for histograms, a range of rows for gradients), reports done and sleeps again. It never spins. Loaded
 * through the bootstrap in parallel.ts, which calls runHgbWorker(workerData).
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { buildHistograms, buildRootHistograms } from './histogram.js';
import { gradientsAndHessians } from './loss.js';
import { COMMAND, CTRL, type PortMessage, shareOf, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';

export function runHgbWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.control);
  if (init.protocol !== WORKER_PROTOCOL) {
    fail(init, ctrl, `worker protocol ${WORKER_PROTOCOL} does not match the caller's ${init.protocol} (stale build?)`);
    return;
  }
  const { nRows, nFeatures, nBins, threadIndex, nThreads } = init;
  const X = new Uint8Array(init.X);
  const g = new Float32Array(init.g);
  const h = new Float32Array(init.h);
  const og = new Float32Array(init.orderedG);
  const oh = new Float32Array(init.orderedH);
  const partition = new Uint32Array(init.partition);
  const y = new Float64Array(init.y);
  const raw = new Float64Array(init.raw);
  const weight = init.weight ? new Float64Array(init.weight) : null;
  const slots: Float64Array[] = [];
  const [f0, f1] = shareOf(nFeatures, threadIndex, nThreads);
  const [r0, r1] = shareOf(nRows, threadIndex, nThreads);

  let generation = Atomics.load(ctrl, CTRL.GENERATION);
  Atomics.add(ctrl, CTRL.READY, 1);
  Atomics.notify(ctrl, CTRL.READY);
  for (;;) {
    Atomics.wait(ctrl, CTRL.GENERATION, generation);
    generation = Atomics.load(ctrl, CTRL.GENERATION);
    const command = Atomics.load(ctrl, CTRL.COMMAND);
    if (command === COMMAND.STOP) return;
    try {
      for (let m = receiveMessageOnPort(init.port); m; m = receiveMessageOnPort(init.port)) {
        const message = m.message as PortMessage;
        if (message.type === 'slot') slots[message.id] = new Float64Array(message.buffer);
      }
      if (command === COMMAND.ROOT_HISTOGRAMS) {
        buildRootHistograms(X, nRows, g, h, slots[ctrl[CTRL.SLOT]], nBins, f0, f1);
      } else if (command === COMMAND.NODE_HISTOGRAMS) {
        buildHistograms(X, nRows, partition, ctrl[CTRL.START], ctrl[CTRL.COUNT], og, oh, slots[ctrl[CTRL.SLOT]], nBins, f0, f1);
      } else if (command === COMMAND.GRADIENTS) {
        gradientsAndHessians(y, raw, weight, g, h, r0, r1);
      } else {
        throw new Error(`unknown command ${command}`);
      }
    } catch (error) {
      fail(init, ctrl, error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}

function fail(init: WorkerInit, ctrl: Int32Array, message: string): void {
  init.port.postMessage({ type: 'error', message: `HGB worker ${init.threadIndex}: ${message}` } satisfies PortMessage);
  Atomics.store(ctrl, CTRL.ERROR, 1);
  Atomics.notify(ctrl, CTRL.READY);
  Atomics.notify(ctrl, CTRL.DONE);
}
