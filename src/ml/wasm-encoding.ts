/**
 * The binary encoding of WebAssembly modules, for the kernels that src/ml assembles by hand at run time (no
 * toolchain, no .wasm files): LEB128 integers, vectors, names, sections, the value type codes and the instructions.
 */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export const uleb = (value: number): number[] => {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
};

/** Signed LEB128 of a 32-bit integer. */
export const sleb = (value: number): number[] => {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));
export const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

/**
 * The instructions the hand-assembled kernels use, as byte sequences (memory access: log2 alignment, then offset).
 * Parameterised ones are functions: locals by index, constants, offsets, branch depths.
 */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  const: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  and: [0x71],
  or: [0x72],
  shl: [0x74],
  shrU: [0x76],
  eqz: [0x45],
  eq: [0x46],
  ltS: [0x48],
  gtU: [0x4b],
  leU: [0x4d],
  geU: [0x4f],
  load8: [0x2d, 0, 0],
  load32: (offset = 0) => [0x28, 2, ...uleb(offset)],
  load64: [0x29, 3, 0],
  store32: [0x36, 2, 0],
  store64: [0x37, 3, 0],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset: number) => [0x39, 3, ...uleb(offset)],
  f64One: [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
  f64Gt: [0x64],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  truncF64: [0xaa],
  v128Load: [0xfd, 0x00, 3, 0],
  v128Store: [0xfd, 0x0b, 3, 0],
  v128Load64Zero: [0xfd, 0x5d, 3, 0],
  v128Bitselect: [0xfd, 0x52],
  f64x2Const: (v: number) => [0xfd, 0x0c, ...bytesOf(new Float64Array([v, v]))],
  i64x2Const: (v: number) => [0xfd, 0x0c, ...bytesOf(new BigInt64Array([BigInt(v), BigInt(v)]))],
  i8x16Shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes],
  f64x2Gt: [0xfd, 0x4a],
  f32x4DemoteF64x2Zero: [0xfd, 0x5e],
  f64x2PromoteLowF32x4: [0xfd, 0x5f],
  f64x2Nearest: [0xfd, 0x94, 0x01],
  i64x2ExtendLowI32x4S: [0xfd, 0xc7, 0x01],
  i64x2Shl: [0xfd, 0xcb, 0x01],
  i64x2Add: [0xfd, 0xce, 0x01],
  f64x2Abs: [0xfd, 0xec, 0x01],
  f64x2Neg: [0xfd, 0xed, 0x01],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Sub: [0xfd, 0xf1, 0x01],
  f64x2Mul: [0xfd, 0xf2, 0x01],
  f64x2Div: [0xfd, 0xf3, 0x01],
  f64x2Max: [0xfd, 0xf5, 0x01],
  i32x4TruncSatF64x2SZero: [0xfd, 0xfc, 0x01],
  /** A block yielding nothing, or (ifI32) an if yielding an i32. */
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  ifI32: [0x04, I32],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
};

function bytesOf(values: Float64Array | BigInt64Array): number[] {
  return [...new Uint8Array(values.buffer)];
}
