import { describe, expect, it } from 'vitest';
import { LOSS } from '../src/ml/hgb/loss.js';
import { createExecutor, type Executor, ThreadedExecutor } from '../src/ml/hgb/parallel.js';
import { rowChunkFor } from '../src/ml/hgb/protocol.js';
import { createSharedMemory, instantiateKernels } from '../src/ml/hgb/wasm-kernels.js';
import { createRng } from '../src/ml/random.js';

/** scikit-learn's gradient and hessian of the half binomial loss (_loss.pyx), weighted, rounded to float32. */
function referencePair(y: number, raw: number, w: number): [number, number] {
  let grad: number;
  let hess: number;
  if (raw > 0) {
    const e = Math.exp(-raw);
    grad = (1 - y - y * e) / (1 + e);
    hess = e / ((1 + e) * (1 + e));
  } else {
    const e = Math.exp(raw);
    grad = ((1 - y) * e - y) / (1 + e);
    hess = e / ((1 + e) * (1 + e));
  }
  return [Math.fround(grad * w), Math.fround(hess * w)];
}

describe('gradient kernel', () => {
  const n = 200_001; // odd: the kernel takes rows two at a time, the last one alone
  const rng = createRng(7);
  const raw = Float64Array.from({ length: n }, () => {
    const u = rng.next();
    return u < 0.8 ? (rng.next() - 0.5) * 20 : u < 0.95 ? (rng.next() - 0.5) * 200 : (rng.next() - 0.5) * 2000;
  });
  // Edges: zeros of both signs, where exp underflows to subnormals and to 0, and where float32 underflows.
  [0, -0, 1e-300, -1e-300, 36.7, -36.7, 103.9, -103.9, 708, -708, 709.5, -745.1, -745.2, 746, -1e4].forEach((v, k) => (raw[k * 13] = v));
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const weight = Float64Array.from({ length: n }, () => 0.1 + 3 * rng.next());

  it.each([false, true])('gives scikit-learn float32 gradients and hessians bit for bit (weighted: %s)', (weighted) => {
    const even = n + 1;
    const memory = createSharedMemory(even * 8 * 4);
    const at = { y: 0, raw: even * 8, weight: even * 16, gh: even * 24 };
    new Float64Array(memory.buffer, at.y, n).set(y);
    new Float64Array(memory.buffer, at.raw, n).set(raw);
    new Float64Array(memory.buffer, at.weight, n).set(weight);
    instantiateKernels(memory).gradients(at.y, at.raw, at.weight, at.gh, 0, n, weighted ? 1 : 0);
    const gh = new Float32Array(memory.buffer, at.gh, 2 * n);
    let differing = 0;
    for (let i = 0; i < n; i++) {
      const [g, h] = referencePair(y[i], raw[i], weighted ? weight[i] : 1);
      if (!Object.is(g, gh[2 * i]) || !Object.is(h, gh[2 * i + 1])) differing++;
    }
    expect(differing).toBe(0);
    // The reference itself: at raw 0 the gradient is -+1/2 and the hessian 1/4 (times the weight).
    const w0 = weighted ? weight[0] : 1;
    expect([gh[0], gh[1]]).toEqual([Math.fround((y[0] ? -0.5 : 0.5) * w0), Math.fround(0.25 * w0)]);
  });
});

describe('partition (rows split in chunks between threads)', () => {
  // Several chunks, the last one partial.
  const nRows = 100_000 + 1_234;
  const nFeatures = 3;
  const rng = createRng(11);

  function executor(): Executor {
    const y = Float64Array.from({ length: nRows }, () => (rng.next() < 0.3 ? 1 : 0));
    const exec = createExecutor(1, { nRows, nFeatures, nBins: 256, y, weight: null, loss: LOSS.BINARY, nOutputs: 1, baseline: Float64Array.of(0), maxLeaves: 31, l2Regularization: 0, minSamplesLeaf: 20 });
    const { X } = exec.buffers;
    for (let i = 0; i < X.length; i++) X[i] = Math.floor(rng.next() * 256);
    exec.gradients();
    return exec;
  }

  it('keeps the order of the rows on each side, and gathers the smaller side\'s gradient pairs', () => {
    const exec = executor();
    const { X, partition } = exec.buffers;
    const f = 1;
    const [start, count, threshold, missingBin] = [500, nRows - 900, 90, 255];
    expect(count / rowChunkFor(nRows)).toBeGreaterThan(3);
    const before = Array.from(partition.subarray(start, start + count));
    const goesLeft = (row: number): boolean => X[f * nRows + row] <= threshold || X[f * nRows + row] === missingBin;
    const expected = [...before.filter(goesLeft), ...before.filter((row) => !goesLeft(row))];

    const nLeft = exec.partition(f, start, count, threshold, missingBin);

    expect(nLeft).toBe(before.filter(goesLeft).length);
    expect(nLeft).toBeLessThan(count - nLeft); // the left side is the smaller one here
    expect(Array.from(partition.subarray(start, start + count))).toEqual(expected);
    expect(Array.from(partition.subarray(0, start))).toEqual(Array.from({ length: start }, (_, i) => i));
    // children() reads the smaller side's pairs, gathered in partition order: same histograms as from the rows.
    const slot = exec.acquireSlot();
    const parent = exec.acquireSlot();
    exec.work.slot(parent).fill(0);
    exec.children(slot, start, nLeft, parent, []);
    const hist = exec.work.slot(slot);
    const gh = exec.work.gh;
    const sums = new Float64Array(256 * 3);
    for (const row of expected.slice(0, nLeft)) {
      const b = X[0 * nRows + row];
      sums[3 * b] += gh[2 * row];
      sums[3 * b + 1] += gh[2 * row + 1];
      sums[3 * b + 2] += 1;
    }
    expect(Array.from(hist.subarray(0, 256 * 3))).toEqual(Array.from(sums));
    exec.close();
  });
});

describe('worker failures', () => {
  const nRows = 120_000;
  const y = Float64Array.from({ length: nRows }, (_, i) => i % 2);
  const start = (fixture: string): ThreadedExecutor =>
    new ThreadedExecutor(2, new URL(`./fixtures/hgb-workers/${fixture}`, import.meta.url), {
      nRows,
      nFeatures: 10,
      nBins: 256,
      y,
      weight: null,
      loss: LOSS.BINARY,
      nOutputs: 1,
      baseline: Float64Array.of(0),
      maxLeaves: 31,
      l2Regularization: 0,
      minSamplesLeaf: 20,
    });

  it('reports a worker that fails before it is ready, without waiting for the timeout', () => {
    expect(() => start('throws-at-start.mjs')).toThrow(/failed to start: boom before ready/);
  });

  it("reports a worker's error in a unit of work, with its message", () => {
    const exec = start('traps-in-a-unit.mjs');
    try {
      // The worker claims a unit of one of these commands sooner or later; its kernel then reads outside the memory.
      const slot = exec.acquireSlot();
      expect(() => {
        for (let i = 0; i < 2000; i++) exec.root(slot, []);
      }).toThrow(/HGB worker threads failed to finish a command: HGB worker 1: RuntimeError: memory access out of bounds/);
    } finally {
      exec.close();
    }
  });
});
