/**
 * An HGB worker thread: waits until the fitting thread posts a command, does its share (a range of features for
 * binning, histograms and split search, a range of rows for gradients), reports done and waits again, polling the
 * control block for some tens of microseconds before it sleeps in Atomics.wait. Loaded through the bootstrap in
 * parallel.ts, which calls runHgbWorker(workerData).
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { binColumn, featureThresholds } from './binning.js';
import { FeatureWork } from './feature-work.js';
import { gradientsAndHessians, markLeaves, updateScores } from './loss.js';
import { type BinMessage, COMMAND, CTRL, type PortMessage, shareOf, SPIN_POLLS, WORKER_PROTOCOL, type WorkerInit } from './protocol.js';

export function runHgbWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.control);
  if (init.protocol !== WORKER_PROTOCOL) {
    fail(init, ctrl, `worker protocol ${WORKER_PROTOCOL} does not match the caller's ${init.protocol} (stale build?)`);
    return;
  }
  const { threadIndex, nThreads } = init;
  const { nRows, nFeatures, nBins, layout, memory } = init.work;
  const work = new FeatureWork(init.work, threadIndex);
  const gh = new Float32Array(memory.buffer, layout.gh, 2 * nRows);
  const partition = new Uint32Array(memory.buffer, layout.partition, nRows);
  const y = new Float64Array(init.y);
  const raw = new Float64Array(init.raw);
  const weight = init.weight ? new Float64Array(init.weight) : null;
  const leaves = new Float64Array(init.leaves);
  const leafOf = init.leafOf.byteLength === nRows ? new Uint8Array(init.leafOf) : new Uint32Array(init.leafOf);
  const [f0, f1] = shareOf(nFeatures, threadIndex, nThreads);
  const [r0, r1] = shareOf(nRows, threadIndex, nThreads);

  let generation = Atomics.load(ctrl, CTRL.GENERATION);
  Atomics.add(ctrl, CTRL.READY, 1);
  Atomics.notify(ctrl, CTRL.READY);
  for (;;) {
    // Poll briefly (the next command usually follows within microseconds, and waking a sleeping thread costs more),
    // then sleep until the generation moves on: a return from Atomics.wait alone is not taken as a new command.
    let next = Atomics.load(ctrl, CTRL.GENERATION);
    for (let poll = 0; next === generation && poll < SPIN_POLLS; poll++) next = Atomics.load(ctrl, CTRL.GENERATION);
    while (next === generation) {
      Atomics.wait(ctrl, CTRL.GENERATION, generation);
      next = Atomics.load(ctrl, CTRL.GENERATION);
    }
    generation = next;
    const command = Atomics.load(ctrl, CTRL.COMMAND);
    if (command === COMMAND.STOP) return;
    try {
      if (command === COMMAND.ROOT) {
        work.root(ctrl[CTRL.SLOT], ctrl[CTRL.REQUESTS], f0, f1);
      } else if (command === COMMAND.CHILDREN) {
        work.children(ctrl[CTRL.SLOT], ctrl[CTRL.START], ctrl[CTRL.COUNT], ctrl[CTRL.PARENT], ctrl[CTRL.REQUESTS], f0, f1);
      } else if (command === COMMAND.GRADIENTS) {
        gradientsAndHessians(y, raw, weight, gh, r0, r1);
      } else if (command === COMMAND.MARK_LEAVES) {
        markLeaves(partition, leaves, ctrl[CTRL.COUNT], r0, r1, leafOf);
      } else if (command === COMMAND.UPDATE_SCORES) {
        updateScores(leafOf, leaves, y, raw, weight, gh, r0, r1, ctrl[CTRL.START] === 1);
      } else if (command === COMMAND.PARTITION) {
        ctrl[CTRL.LEFT_COUNTS + threadIndex] = work.partitionChunk(
          ctrl[CTRL.FEATURE], ctrl[CTRL.START], ctrl[CTRL.COUNT], ctrl[CTRL.THRESHOLD], ctrl[CTRL.MISSING_BIN], threadIndex, nThreads,
        );
      } else if (command === COMMAND.BIN) {
        const message = receiveMessageOnPort(init.port)?.message as BinMessage | undefined;
        if (message?.type !== 'bin') throw new Error('no values to bin on the port');
        const X = new Uint8Array(memory.buffer, layout.X, nRows * nFeatures);
        const { maxBins, sampleSize } = message;
        const thresholds = new Float64Array(message.thresholds);
        const counts = new Int32Array(message.thresholdCounts);
        for (let f = f0; f < f1; f++) {
          const k = f - f0;
          const values = new Float64Array(message.values, k * nRows * 8, nRows);
          const sample = message.sampleValues ? new Float64Array(message.sampleValues, k * sampleSize * 8, sampleSize) : values;
          const t = featureThresholds(sample, null, message.categories[k], maxBins);
          thresholds.set(t, k * maxBins);
          counts[k] = t.length;
          binColumn(values, null, nRows, t, message.categories[k] !== null, nBins - 1, X, f * nRows);
        }
      } else if (command === COMMAND.LOAD_FEATURE_INFO) {
        work.loadFeatureInfo();
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
