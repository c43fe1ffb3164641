/**
 * The histogram kernels in WebAssembly with 128-bit SIMD: a row's (gradient, hessian) pair is one 64-bit load,
 * widened to two doubles and added to its bin with one vector add, where JavaScript needs two scalar read-modify-writes.
 * They run over a WebAssembly.Memory that holds the fit's binned data, gradient pairs, partition and histograms, shared
 * with the worker threads. The module is assembled here from its instructions (no build step, no binary file).
 *
 * Addresses are byte offsets in the memory. A histogram bin is 24 bytes: sum of gradients, sum of hessians, row count
 * (three doubles), at hist + (f * nBins + b) * 24.
 */
import { I32, V128, uleb, vec, name, op, section } from '../wasm-encoding.js';

/** rootHistograms(X, nRows, gh, hist, nBins, f0, f1): adds every row's pair to its bin, features [f0, f1). The caller
 * zeroes the sums and writes the (constant) root counts first. */
export type RootKernel = (X: number, nRows: number, gh: number, hist: number, nBins: number, f0: number, f1: number) => void;
/** nodeHistograms(X, nRows, pairs, hist, nBins, f0, f1, partition, start, count): adds the counts of the rows
 * partition[start .. start + count) and their (gradient, hessian) pairs, gathered in that order at `pairs` (see
 * gatherPairs), to their bins, features [f0, f1), over a zeroed histogram. One pass over the rows fills a block of
 * features; each bin still sums its rows in partition order. */
export type NodeKernel = (
  X: number,
  nRows: number,
  pairs: number,
  hist: number,
  nBins: number,
  f0: number,
  f1: number,
  partition: number,
  start: number,
  count: number,
) => void;

/** gatherPairs(gh, partition, start, count, out): out[i] = pair of row partition[start + i], so that the per-feature
 * loops read the pairs in sequence (once per node) instead of gathering them once per feature. */
export type GatherKernel = (gh: number, partition: number, start: number, count: number, out: number) => void;
/** subtractHistograms(parent, child, nDoubles): parent[k] -= child[k], two doubles at a time. */
export type SubtractKernel = (parent: number, child: number, nDoubles: number) => void;
/** partitionRows(column, rows, left, right, count, threshold, missingBin): stable, branch-free split of the `count`
 * row indices at `rows` on bin <= threshold or bin == missingBin: left rows to `left`, right rows to `right`, each in
 * order. Returns the number of left rows. */
export type PartitionKernel = (
  column: number,
  rows: number,
  left: number,
  right: number,
  count: number,
  threshold: number,
  missingBin: number,
) => number;

/** gradients(y, raw, weight, gh, start, end, weighted): gradient and hessian of the half binomial loss of rows
 * [start, end) (start even; rows are taken two at a time, so the arrays must have room for an even number of rows)
 * from labels y and raw scores raw, times the row's weight when `weighted`, stored as float32 pairs at gh. The same
 * arithmetic as scikit-learn's, exp included (see expBody). */
export type GradientKernel = (y: number, raw: number, weight: number, gh: number, start: number, end: number, weighted: number) => void;

export interface Kernels {
  rootHistograms: RootKernel;
  nodeHistograms: NodeKernel;
  gatherPairs: GatherKernel;
  subtractHistograms: SubtractKernel;
  partitionRows: PartitionKernel;
  gradients: GradientKernel;
}

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly declarations). */
export interface WasmMemory {
  /** A SharedArrayBuffer for a shared memory; a new object (same bytes, larger) after grow(). */
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
/** A compiled module; structured-cloneable, so it can be sent to a worker. */
export interface WasmModule {
  readonly __wasmModule: unique symbol;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A function body: its i32 locals (after the parameters), then its v128 locals, and its code. */
interface KernelBody {
  locals: number;
  v128Locals?: number;
  code: number[];
}

/** `for (v = from; v < to; v++) body` (unsigned compare). */
function forLoop(v: number, from: number[], to: number[], body: number[]): number[] {
  return [
    ...from, ...op.set(v),
    ...op.block, ...op.loop,
    ...op.get(v), ...to, ...op.geU, ...op.brIf(1),
    ...body,
    ...op.get(v), ...op.const(1), ...op.add, ...op.set(v),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

/** Features whose histograms one pass over the rows fills: their 5 x 256 bins (30 KiB) stay in the L1 cache, and each
 * row's index and pair are loaded once for all of them. */
export const FEATURE_BLOCK = 5;

/**
 * Both histogram kernels: features [f0, f1) in blocks of FEATURE_BLOCK (the rest one at a time), each block in one pass
 * over the rows, in order, so every bin sums its rows in the same order whatever the blocks. The root kernel reads all
 * rows with their pairs from gh and leaves the counts alone; the node kernel reads its rows from the partition, their
 * pairs gathered in that order, and counts them.
 */
function histogramBody(node: boolean): KernelBody {
  // params: X, nRows, pairs (gh for the root), hist, nBins, f0, f1[, partition, start, count]; then i32 locals f, i,
  // row, k, rows (= partition + start * 4), per feature of a block its column and histogram addresses; one v128 local,
  // the row's pair widened to two doubles.
  const W = FEATURE_BLOCK;
  const p = { X: 0, nRows: 1, pairs: 2, hist: 3, nBins: 4, f0: 5, f1: 6, partition: 7, start: 8, count: 9 };
  const first = node ? 10 : 7;
  const [f, i, row, k, rows] = [first, first + 1, first + 2, first + 3, first + 4];
  const column = (j: number): number => first + 5 + j;
  const histF = (j: number): number => first + 5 + W + j;
  const pair = first + 5 + 2 * W;
  const blockStart = (width: number): number[] =>
    Array.from({ length: width }, (_, j) => [
      ...op.get(p.X), ...op.get(f), ...op.const(j), ...op.add, ...op.get(p.nRows), ...op.mul, ...op.add, ...op.set(column(j)),
      ...op.get(p.hist), ...op.get(f), ...op.const(j), ...op.add, ...op.get(p.nBins), ...op.mul, ...op.const(24), ...op.mul, ...op.add, ...op.set(histF(j)),
    ]).flat();
  const countRow = [...op.get(k), ...op.get(k), ...op.f64Load(16), ...op.f64One, ...op.f64Add, ...op.f64Store(16)];
  const perRow = (width: number): number[] => [
    ...(node ? [...op.get(rows), ...op.get(i), ...op.const(2), ...op.shl, ...op.add, ...op.load32()] : op.get(i)), ...op.set(row),
    ...op.get(p.pairs), ...op.get(i), ...op.const(3), ...op.shl, ...op.add, ...op.v128Load64Zero, ...op.f64x2PromoteLowF32x4, ...op.set(pair),
    ...Array.from({ length: width }, (_, j) => [
      ...op.get(histF(j)), ...op.get(column(j)), ...op.get(row), ...op.add, ...op.load8, ...op.const(24), ...op.mul, ...op.add, ...op.set(k),
      ...op.get(k), ...op.get(k), ...op.v128Load, ...op.get(pair), ...op.f64x2Add, ...op.v128Store,
      ...(node ? countRow : []),
    ]).flat(),
  ];
  const rowLoop = (width: number): number[] => forLoop(i, op.const(0), op.get(node ? p.count : p.nRows), perRow(width));
  /** Blocks of `width` features while they fit in [f, f1). */
  const blocks = (width: number): number[] => [
    ...op.block, ...op.loop,
    ...op.get(f), ...op.const(width), ...op.add, ...op.get(p.f1), ...op.gtU, ...op.brIf(1),
    ...blockStart(width), ...rowLoop(width),
    ...op.get(f), ...op.const(width), ...op.add, ...op.set(f),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
  return {
    locals: 5 + 2 * W,
    v128Locals: 1,
    code: [
      ...(node ? [...op.get(p.partition), ...op.get(p.start), ...op.const(2), ...op.shl, ...op.add, ...op.set(rows)] : []),
      ...op.get(p.f0), ...op.set(f),
      ...blocks(W),
      ...blocks(1),
      ...op.end,
    ],
  };
}

function gatherBody(): KernelBody {
  // params: gh, partition, start, count, out; locals: i, row
  const p = { gh: 0, partition: 1, start: 2, count: 3, out: 4, i: 5, row: 6 };
  const perRow = [
    ...op.get(p.partition), ...op.get(p.start), ...op.get(p.i), ...op.add, ...op.const(2), ...op.shl, ...op.add, ...op.load32(), ...op.set(p.row),
    ...op.get(p.out), ...op.get(p.i), ...op.const(3), ...op.shl, ...op.add,
    ...op.get(p.gh), ...op.get(p.row), ...op.const(3), ...op.shl, ...op.add, ...op.load64,
    ...op.store64,
  ];
  return { locals: 2, code: [...forLoop(p.i, op.const(0), op.get(p.count), perRow), ...op.end] };
}

function subtractBody(): KernelBody {
  // params: parent, child, nDoubles; locals: k (byte offset), pairsEnd (bytes)
  const p = { parent: 0, child: 1, n: 2, k: 3, pairsEnd: 4 };
  const at = (base: number): number[] => [...op.get(base), ...op.get(p.k), ...op.add];
  const pairs = [
    ...at(p.parent), ...at(p.parent), ...op.v128Load, ...at(p.child), ...op.v128Load, ...op.f64x2Sub, ...op.v128Store,
  ];
  // k advances by 16 bytes per pair: loop over pair index i with k = i * 16.
  return {
    locals: 2,
    code: [
      ...op.get(p.n), ...op.const(1), ...op.shrU, ...op.const(4), ...op.shl, ...op.set(p.pairsEnd),
      ...op.const(0), ...op.set(p.k),
      ...op.block, ...op.loop,
      ...op.get(p.k), ...op.get(p.pairsEnd), ...op.geU, ...op.brIf(1),
      ...pairs,
      ...op.get(p.k), ...op.const(16), ...op.add, ...op.set(p.k),
      ...op.br(0),
      ...op.end, ...op.end,
      // An odd count leaves one double.
      ...op.get(p.n), ...op.const(1), ...op.and, ...op.if,
      ...at(p.parent), ...at(p.parent), ...op.f64Load(0), ...at(p.child), ...op.f64Load(0), ...op.f64Sub, ...op.f64Store(0),
      ...op.end,
      ...op.end,
    ],
  };
}

function partitionBody(): KernelBody {
  // params: column, rows, left, right, count, threshold, missingBin; locals: i, row, isLeft, nl, nr
  const p = { column: 0, rows: 1, left: 2, right: 3, count: 4, threshold: 5, missingBin: 6, i: 7, row: 8, isLeft: 9, nl: 10, nr: 11 };
  const word = (base: number, index: number): number[] => [...op.get(base), ...op.get(index), ...op.const(2), ...op.shl, ...op.add];
  const perRow = [
    ...word(p.rows, p.i), ...op.load32(), ...op.set(p.row),
    // isLeft = bin <= threshold | bin == missingBin
    ...op.get(p.column), ...op.get(p.row), ...op.add, ...op.load8, ...op.tee(p.isLeft), ...op.get(p.threshold), ...op.leU,
    ...op.get(p.isLeft), ...op.get(p.missingBin), ...op.eq, ...op.or, ...op.set(p.isLeft),
    // left[nl] = row; right[nr] = row; nl += isLeft; nr += 1 - isLeft
    ...word(p.left, p.nl), ...op.get(p.row), ...op.store32,
    ...word(p.right, p.nr), ...op.get(p.row), ...op.store32,
    ...op.get(p.nl), ...op.get(p.isLeft), ...op.add, ...op.set(p.nl),
    ...op.get(p.nr), ...op.const(1), ...op.add, ...op.get(p.isLeft), ...op.sub, ...op.set(p.nr),
  ];
  return { locals: 5, code: [...forLoop(p.i, op.const(0), op.get(p.count), perRow), ...op.get(p.nl), ...op.end] };
}

/**
 * exp(t) of two doubles in local t (t <= 0) into local `out`, with locals k, r, r2 as scratch: k = nearest(t / ln 2),
 * r = t - k ln 2 (ln 2 in fdlibm's two parts, so that k ln2_hi is exact), exp(r) by its Taylor series to r^13
 * (|r| <= ln 2 / 2: truncation below 1e-17), evaluated in Estrin's scheme (short dependency chains), times 2^k built
 * from its bits. t is clamped at -708 so that 2^k stays a normal double, and below -745.13 (where the C library's exp
 * underflows to 0) the result is 0. Within about 2 ulp of the C library's exp: a float32 gradient differs for about
 * one row in 10^8, by 1 ulp.
 */
function expBody(t: number, k: number, r: number, r2: number, out: number): number[] {
  const LN2_HI = 6.93147180369123816490e-1;
  const LN2_LO = 1.90821492927058770002e-10;
  const UNDERFLOW = -745.1332191019412;
  const c = (n: number): number[] => op.f64x2Const(1 / factorial(n));
  /** c(n) + c(n + 1) r */
  const pair = (n: number): number[] => [...c(n), ...op.get(r), ...c(n + 1), ...op.f64x2Mul, ...op.f64x2Add];
  /** a, b, power on the stack: a + b power */
  const mulAdd = [...op.f64x2Mul, ...op.f64x2Add];
  const r4 = [...op.get(r2), ...op.get(r2), ...op.f64x2Mul];
  return [
    // out = mask of the lanes that do not underflow
    ...op.get(t), ...op.f64x2Const(UNDERFLOW), ...op.f64x2Gt, ...op.set(out),
    ...op.get(t), ...op.f64x2Const(-708), ...op.f64x2Max, ...op.set(t),
    ...op.get(t), ...op.f64x2Const(Math.LOG2E), ...op.f64x2Mul, ...op.f64x2Nearest, ...op.set(k),
    ...op.get(t), ...op.get(k), ...op.f64x2Const(LN2_HI), ...op.f64x2Mul, ...op.f64x2Sub,
    ...op.get(k), ...op.f64x2Const(LN2_LO), ...op.f64x2Mul, ...op.f64x2Sub, ...op.tee(r),
    ...op.get(r), ...op.f64x2Mul, ...op.set(r2),
    // ((c0 + c1 r) + (c2 + c3 r) r2) + ((c4 + c5 r) + (c6 + c7 r) r2) r4
    //   + (((c8 + c9 r) + (c10 + c11 r) r2) + (c12 + c13 r) r4) r8
    ...pair(0), ...pair(2), ...op.get(r2), ...mulAdd,
    ...pair(4), ...pair(6), ...op.get(r2), ...mulAdd, ...r4, ...mulAdd,
    ...pair(8), ...pair(10), ...op.get(r2), ...mulAdd, ...pair(12), ...r4, ...mulAdd,
    ...r4, ...r4, ...op.f64x2Mul, ...mulAdd,
    // 2^k: bits (k + 1023) << 52
    ...op.get(k), ...op.i32x4TruncSatF64x2SZero, ...op.i64x2ExtendLowI32x4S, ...op.i64x2Const(1023), ...op.i64x2Add,
    ...op.const(52), ...op.i64x2Shl,
    ...op.f64x2Mul,
    ...op.f64x2Const(0), ...op.get(out), ...op.v128Bitselect, ...op.set(out),
  ];
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

function gradientBody(): KernelBody {
  // params: y, raw, weight, gh, start, end, weighted; i32 local i; v128 locals x, y, t, k, r, r2, e, d, g, h
  const p = { y: 0, raw: 1, weight: 2, gh: 3, start: 4, end: 5, weighted: 6, i: 7 };
  const v = { x: 8, y: 9, t: 10, k: 11, r: 12, r2: 13, e: 14, d: 15, g: 16, h: 17 };
  const at = (base: number): number[] => [...op.get(base), ...op.get(p.i), ...op.const(3), ...op.shl, ...op.add];
  const weigh = (local: number): number[] => [...op.get(local), ...at(p.weight), ...op.v128Load, ...op.f64x2Mul, ...op.set(local)];
  const body = [
    ...at(p.raw), ...op.v128Load, ...op.set(v.x),
    ...at(p.y), ...op.v128Load, ...op.set(v.y),
    // e = exp(-|x|): exp(-x) for x > 0, exp(x) otherwise, as scikit-learn computes it
    ...op.get(v.x), ...op.f64x2Abs, ...op.f64x2Neg, ...op.set(v.t),
    ...expBody(v.t, v.k, v.r, v.r2, v.e),
    ...op.get(v.e), ...op.f64x2Const(1), ...op.f64x2Add, ...op.set(v.d),
    // gradient numerator: x > 0 ? (1 - y) - y e : (1 - y) e - y
    ...op.f64x2Const(1), ...op.get(v.y), ...op.f64x2Sub, ...op.get(v.y), ...op.get(v.e), ...op.f64x2Mul, ...op.f64x2Sub,
    ...op.f64x2Const(1), ...op.get(v.y), ...op.f64x2Sub, ...op.get(v.e), ...op.f64x2Mul, ...op.get(v.y), ...op.f64x2Sub,
    ...op.get(v.x), ...op.f64x2Const(0), ...op.f64x2Gt, ...op.v128Bitselect,
    ...op.get(v.d), ...op.f64x2Div, ...op.set(v.g),
    ...op.get(v.e), ...op.get(v.d), ...op.get(v.d), ...op.f64x2Mul, ...op.f64x2Div, ...op.set(v.h),
    ...op.get(p.weighted), ...op.if, ...weigh(v.g), ...weigh(v.h), ...op.end,
    // (g0, h0, g1, h1) as float32
    ...at(p.gh),
    ...op.get(v.g), ...op.f32x4DemoteF64x2Zero, ...op.get(v.h), ...op.f32x4DemoteF64x2Zero,
    ...op.i8x16Shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]),
    ...op.v128Store,
  ];
  return {
    locals: 1,
    v128Locals: 10,
    code: [
      ...op.get(p.start), ...op.set(p.i),
      ...op.block, ...op.loop,
      ...op.get(p.i), ...op.get(p.end), ...op.geU, ...op.brIf(1),
      ...body,
      ...op.get(p.i), ...op.const(2), ...op.add, ...op.set(p.i),
      ...op.br(0),
      ...op.end, ...op.end,
      ...op.end,
    ],
  };
}

function moduleBytes(): Uint8Array {
  const funcType = (nParams: number, results = 0): number[] => [
    0x60, ...vec(Array.from({ length: nParams }, () => [I32])), ...vec(Array.from({ length: results }, () => [I32])),
  ];
  const body = ({ locals, v128Locals = 0, code }: KernelBody): number[] => {
    const bytes = [...vec(v128Locals > 0 ? [[...uleb(locals), I32], [...uleb(v128Locals), V128]] : [[...uleb(locals), I32]]), ...code];
    return [...uleb(bytes.length), ...bytes];
  };
  // Imports one shared memory "env.memory" (flags 3: shared, with a maximum).
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([funcType(7), funcType(10), funcType(3), funcType(7, 1), funcType(5)])),
    ...section(2, vec([memoryImport])),
    ...section(3, vec([[0], [1], [2], [3], [4], [0]])),
    ...section(7, vec([
      [...name('rootHistograms'), 0x00, 0],
      [...name('nodeHistograms'), 0x00, 1],
      [...name('subtractHistograms'), 0x00, 2],
      [...name('partitionRows'), 0x00, 3],
      [...name('gatherPairs'), 0x00, 4],
      [...name('gradients'), 0x00, 5],
    ])),
    ...section(10, vec([body(histogramBody(false)), body(histogramBody(true)), body(subtractBody()), body(partitionBody()), body(gatherBody()), body(gradientBody())])),
  ]);
}

/** 4 GiB, the wasm32 limit: only reserved address space until the memory grows. */
export const MAX_PAGES = 65536;
export const PAGE_BYTES = 65536;

let compiled: WasmModule | null = null;

/** The compiled kernel module (compiled once per thread; a Module can also be sent to a worker). */
export function kernelModule(): WasmModule {
  compiled ??= new wasm.Module(moduleBytes());
  return compiled;
}

export function instantiateKernels(memory: WasmMemory, module: WasmModule = kernelModule()): Kernels {
  const instance = new wasm.Instance(module, { env: { memory } });
  return instance.exports as unknown as Kernels;
}

/** A shared memory of at least `bytes` bytes that can grow up to 4 GiB. */
export function createSharedMemory(bytes: number): WasmMemory {
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (pages > MAX_PAGES) throw new RangeError(`HistGradientBoostingClassifier: the fit needs ${bytes} bytes of working memory, more than 4 GiB`);
  return new wasm.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}
