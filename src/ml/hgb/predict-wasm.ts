/**
 * The tree-walking kernels of the flat forest (predictor.ts) in WebAssembly, assembled here from their instructions
 * (no build step, no binary file). This file is separate from the training kernels (wasm-kernels.ts) so that serving
 * loads no training code.
 *
 * Memory layout (byte addresses; see FlatForest for how predictor.ts fills it):
 * - a node is 16 bytes: f64 threshold at +0, i32 slot at +8 (byte offset of the value it reads in a row), i32 child at
 *   +12 (address of the left child; the right child follows it). A step is
 *   `node = child + 16 * (row[slot] > threshold)`. A leaf reads the row's last slot, always NaN, so it never moves:
 *   its child is itself and its threshold field holds the leaf value.
 * - a categorical split has the top bit of its slot set, and at +0 the address of a 9-word bitset: bit c is set when
 *   category code c goes right, bit 256 when missing values (and unseen codes) go right. The row holds the code, or
 *   256 when missing.
 * - a tree table holds per tree its root address and depth (i32 each); walking a tree exactly `depth` steps ends on
 *   the row's leaf without a test per step.
 *
 * Kernels (`Mixed` versions handle categorical splits; the others only numeric ones, one branch less per step):
 * - scoreRows(rows, nRows, out, trees, nTrees): out[r] += leaf value of row r (rows `stride` bytes apart, a constant of
 *   the module), tree by tree in order. Eight rows walk each tree together, so that their independent loads overlap.
 * - scoreRow(row, out, trees, nTrees, groupDepths): the same for one row, eight trees walked together (groupDepths:
 *   per group of eight trees, the largest depth), the leaf values still added in tree order.
 */
import { I32, F64, uleb, vec, name, op, section } from '../wasm-encoding.js';

export type ScoreRowsKernel = (rows: number, nRows: number, out: number, trees: number, nTrees: number) => void;
export type ScoreRowKernel = (row: number, out: number, trees: number, nTrees: number, groupDepths: number) => void;

export interface ForestKernels {
  scoreRows: ScoreRowsKernel;
  scoreRowsMixed: ScoreRowsKernel;
  scoreRow: ScoreRowKernel;
  scoreRowMixed: ScoreRowKernel;
}

/** Rows walked together by scoreRows, trees by scoreRow. */
export const LANES = 8;
export const NODE_BYTES = 16;
export const CATEGORICAL_SLOT_FLAG = 0x80000000;
/** Words of a categorical split's bitset: codes 0-255 and the missing code 256. */
export const BITSET_WORDS = 9;
export const MISSING_CODE = 256;

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly declarations). */
export interface PredictMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => PredictMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;


/** `while (!(exit)) body`: exit is an i32 condition, tested before each pass. */
function whileNot(exit: number[], body: number[]): number[] {
  return [...op.block, ...op.loop, ...exit, ...op.brIf(1), ...body, ...op.br(0), ...op.end, ...op.end];
}

const increment = (v: number, by: number): number[] => [...op.get(v), ...op.const(by), ...op.add, ...op.set(v)];

/** node = child + 16 * (goes right), for the row at address `row` (a local) + `offset` (a constant). `slot` and
 * `code` are scratch locals. */
function step(node: number, row: number, offset: number, mixed: boolean, scratch: { slot: number; code: number }): number[] {
  const numeric = (slot: number[]): number[] => [
    ...op.get(row), ...slot, ...op.add, ...op.f64Load(offset), ...op.get(node), ...op.f64Load(0), ...op.f64Gt,
  ];
  const goesRight = mixed
    ? [
        ...op.get(node), ...op.load32(8), ...op.tee(scratch.slot), ...op.const(0), ...op.ltS,
        ...op.ifI32,
        // code = row[slot & 0x7fffffff]; bit `code` of the bitset at node+0
        ...op.get(row), ...op.get(scratch.slot), ...op.const(0x7fffffff), ...op.and, ...op.add, ...op.f64Load(offset), ...op.truncF64,
        ...op.set(scratch.code),
        ...op.get(node), ...op.load32(0), ...op.get(scratch.code), ...op.const(5), ...op.shrU, ...op.const(2), ...op.shl, ...op.add,
        ...op.load32(0), ...op.get(scratch.code), ...op.shrU, ...op.const(1), ...op.and,
        ...op.else,
        ...numeric(op.get(scratch.slot)),
        ...op.end,
      ]
    : numeric([...op.get(node), ...op.load32(8)]);
  return [...op.get(node), ...op.load32(12), ...goesRight, ...op.const(4), ...op.shl, ...op.add, ...op.set(node)];
}

/** `for (k = depth; k > 0; k--) body` */
function repeat(k: number, depth: number[], body: number[]): number[] {
  return [...depth, ...op.set(k), ...whileNot([...op.get(k), ...op.eqz], [...body, ...op.get(k), ...op.const(1), ...op.sub, ...op.set(k)])];
}

function scoreRowsBody(stride: number, mixed: boolean): { locals: number[]; code: number[] } {
  // params: rows, nRows, out, trees, nTrees
  const p = { rows: 0, nRows: 1, out: 2, trees: 3, nTrees: 4 };
  let next = 5;
  const t = next++;
  const r = next++;
  const root = next++;
  const depth = next++;
  const k = next++;
  const o = next++;
  const base = next++;
  const slot = next++;
  const code = next++;
  const node = Array.from({ length: LANES }, () => next++);
  const scratch = { slot, code };
  const lanes = (f: (i: number) => number[]): number[] => Array.from({ length: LANES }, (_, i) => f(i)).flat();
  // out[r + i] += value of the leaf reached by lane i
  const addLeaf = (i: number): number[] => [
    ...op.get(o), ...op.get(o), ...op.f64Load(8 * i), ...op.get(node[i]), ...op.f64Load(0), ...op.f64Add, ...op.f64Store(8 * i),
  ];
  const rowStart = [
    ...op.get(p.rows), ...op.get(r), ...op.const(stride), ...op.mul, ...op.add, ...op.set(base),
    ...op.get(p.out), ...op.get(r), ...op.const(3), ...op.shl, ...op.add, ...op.set(o),
  ];
  // Lane i's row is at base + i * stride: a constant offset in its loads, so the lanes share one base register.
  const rowGroup = [
    ...rowStart,
    ...lanes((i) => [...op.get(root), ...op.set(node[i])]),
    ...repeat(k, op.get(depth), lanes((i) => step(node[i], base, i * stride, mixed, scratch))),
    ...lanes(addLeaf),
    ...increment(r, LANES),
  ];
  const singleRow = [
    ...rowStart,
    ...op.get(root), ...op.set(node[0]),
    ...repeat(k, op.get(depth), step(node[0], base, 0, mixed, scratch)),
    ...addLeaf(0),
    ...increment(r, 1),
  ];
  const perTree = [
    ...op.get(p.trees), ...op.get(t), ...op.const(3), ...op.shl, ...op.add, ...op.tee(o), ...op.load32(0), ...op.set(root),
    ...op.get(o), ...op.load32(4), ...op.set(depth),
    ...op.const(0), ...op.set(r),
    ...whileNot([...op.get(r), ...op.const(LANES), ...op.add, ...op.get(p.nRows), ...op.gtU], rowGroup),
    ...whileNot([...op.get(r), ...op.get(p.nRows), ...op.geU], singleRow),
    ...increment(t, 1),
  ];
  return {
    locals: Array.from({ length: next - 5 }, () => I32),
    code: [...op.const(0), ...op.set(t), ...whileNot([...op.get(t), ...op.get(p.nTrees), ...op.geU], perTree), ...op.end],
  };
}

function scoreRowBody(mixed: boolean): { locals: number[]; code: number[] } {
  // params: row, out, trees, nTrees, groupDepths
  const p = { row: 0, out: 1, trees: 2, nTrees: 3, groupDepths: 4 };
  let next = 5;
  const t = next++;
  const k = next++;
  const entry = next++;
  const slot = next++;
  const code = next++;
  const node = Array.from({ length: LANES }, () => next++);
  const sum = next++; // the only f64 local, last
  const scratch = { slot, code };
  const lanes = (f: (i: number) => number[]): number[] => Array.from({ length: LANES }, (_, i) => f(i)).flat();
  const addLeaf = (i: number): number[] => [...op.get(sum), ...op.get(node[i]), ...op.f64Load(0), ...op.f64Add, ...op.set(sum)];
  const treeEntry = [...op.get(p.trees), ...op.get(t), ...op.const(3), ...op.shl, ...op.add, ...op.set(entry)];
  const treeGroup = [
    ...treeEntry,
    ...lanes((i) => [...op.get(entry), ...op.load32(8 * i), ...op.set(node[i])]),
    ...repeat(
      k,
      [...op.get(p.groupDepths), ...op.get(t), ...op.const(Math.log2(LANES)), ...op.shrU, ...op.const(2), ...op.shl, ...op.add, ...op.load32(0)],
      lanes((i) => step(node[i], p.row, 0, mixed, scratch)),
    ),
    ...lanes(addLeaf),
    ...increment(t, LANES),
  ];
  const singleTree = [
    ...treeEntry,
    ...op.get(entry), ...op.load32(0), ...op.set(node[0]),
    ...repeat(k, [...op.get(entry), ...op.load32(4)], step(node[0], p.row, 0, mixed, scratch)),
    ...addLeaf(0),
    ...increment(t, 1),
  ];
  return {
    locals: [...Array.from({ length: sum - 5 }, () => I32), F64],
    code: [
      ...op.get(p.out), ...op.f64Load(0), ...op.set(sum),
      ...op.const(0), ...op.set(t),
      ...whileNot([...op.get(t), ...op.const(LANES), ...op.add, ...op.get(p.nTrees), ...op.gtU], treeGroup),
      ...whileNot([...op.get(t), ...op.get(p.nTrees), ...op.geU], singleTree),
      ...op.get(p.out), ...op.get(sum), ...op.f64Store(0),
      ...op.end,
    ],
  };
}

function moduleBytes(stride: number): Uint8Array {
  const funcType = (nParams: number): number[] => [0x60, ...vec(Array.from({ length: nParams }, () => [I32])), ...vec([])];
  const body = ({ locals, code }: { locals: number[]; code: number[] }): number[] => {
    const bytes = [...vec(locals.map((type) => [1, type])), ...code];
    return [...uleb(bytes.length), ...bytes];
  };
  // Imports one (unshared) memory "env.memory", no maximum.
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([funcType(5)])),
    ...section(2, vec([memoryImport])),
    ...section(3, vec([[0], [0], [0], [0]])),
    ...section(7, vec([
      [...name('scoreRows'), 0x00, 0],
      [...name('scoreRowsMixed'), 0x00, 1],
      [...name('scoreRow'), 0x00, 2],
      [...name('scoreRowMixed'), 0x00, 3],
    ])),
    ...section(10, vec([body(scoreRowsBody(stride, false)), body(scoreRowsBody(stride, true)), body(scoreRowBody(false)), body(scoreRowBody(true))])),
  ]);
}

const PAGE_BYTES = 65536;
/** Compiled modules by row stride (once per thread and stride). */
const compiled = new Map<number, object>();

/** A memory of at least `bytes` bytes and the kernels over it, for rows `stride` bytes apart. */
export function instantiateForestKernels(bytes: number, stride: number): { memory: PredictMemory; kernels: ForestKernels } {
  let module = compiled.get(stride);
  if (module === undefined) {
    module = new wasm.Module(moduleBytes(stride));
    compiled.set(stride, module);
  }
  const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  const instance = new wasm.Instance(module, { env: { memory } });
  return { memory, kernels: instance.exports as unknown as ForestKernels };
}
