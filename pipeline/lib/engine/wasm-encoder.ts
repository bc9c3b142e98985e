/**
 * A minimal WebAssembly binary writer: just what genrelens' small SIMD kernels need (./simd-adam.ts),
 * written as bytes the way ./native-kernels.ts writes its ONNX graphs, so no compiler or tool has to be
 * installed. One module imports the memory of tfjs' wasm backend (`env.memory`) and exports functions
 * over it: they read and write tensors in place, by their byte offsets in that heap.
 *
 * Opcodes are from the WebAssembly core and fixed-width SIMD specifications; a mistake fails at
 * `new WebAssembly.Module` (validation), and the kernels are tested against tfjs' own results.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const I64 = 0x7e;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F32 | typeof V128;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  let n = value >>> 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

/** Signed LEB128 (i32). */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  let n = value | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

/** Signed LEB128 of a 64-bit integer constant. */
function slebBig(value: bigint): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (text: string) => {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
};
const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];

/** Instructions, as byte arrays to concatenate. */
export const op = {
  localGet: (index: number) => [0x20, ...uleb(index)],
  localSet: (index: number) => [0x21, ...uleb(index)],
  localTee: (index: number) => [0x22, ...uleb(index)],
  i32Const: (value: number) => [0x41, ...sleb(value)],
  f32Const: (value: number) => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32RemU: [0x70],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32LtS: [0x48],
  i32GtS: [0x4a],
  i32GtU: [0x4b],
  i32GeS: [0x4e],
  /** i32.load with alignment 4 and a constant offset. */
  i32Load: (offset = 0) => [0x28, 2, ...uleb(offset)],
  i32Eq: [0x46],
  i32DivU: [0x6e],
  /** The first operand when the condition (last) is non-zero, else the second. */
  select: [0x1b],
  if: [0x04, 0x40],
  else: [0x05],
  i64Const: (value: bigint) => [0x42, ...slebBig(value)],
  i64Add: [0x7c],
  i64Mul: [0x7e],
  i64And: [0x83],
  i64ShrU: [0x88],
  i64ExtendI32U: [0xad],
  f32ConvertI64U: [0xb5],
  f32Add: [0x92],
  f32Mul: [0x94],
  f32Floor: [0x8e],
  /** f32.store with alignment 4 and a constant offset. */
  f32Store: (offset = 0) => [0x38, 2, ...uleb(offset)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  /** v128.load / v128.store with byte alignment 1 (any address) and a constant offset. */
  v128Load: (offset = 0) => [0xfd, ...uleb(0), 0, ...uleb(offset)],
  v128Store: (offset = 0) => [0xfd, ...uleb(11), 0, ...uleb(offset)],
  f32x4Splat: [0xfd, ...uleb(19)],
  f32x4Sqrt: [0xfd, ...uleb(227)],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Sub: [0xfd, ...uleb(229)],
  f32x4Neg: [0xfd, ...uleb(225)],
  f32x4Mul: [0xfd, ...uleb(230)],
  f32x4Div: [0xfd, ...uleb(231)],
  /** b < a ? b : a (a NaN a stays) */
  f32x4Pmin: [0xfd, ...uleb(234)],
  /** a < b ? b : a (a NaN a stays) */
  f32x4Pmax: [0xfd, ...uleb(235)],
  f32x4Ne: [0xfd, ...uleb(66)],
  f32x4Gt: [0xfd, ...uleb(68)],
  v128And: [0xfd, ...uleb(78)],
  /** a & ~b */
  v128AndNot: [0xfd, ...uleb(79)],
  v128Or: [0xfd, ...uleb(80)],
  /** (a & mask) | (b & ~mask), operands a, b, mask */
  v128Bitselect: [0xfd, ...uleb(82)],
  /** Bytes of a and b (0–15 a, 16–31 b) picked by 16 constant lane indices. */
  i8x16Shuffle: (lanes: readonly number[]) => [0xfd, ...uleb(13), ...lanes],
  /** The two low float32 lanes as float64 (exact). */
  f64x2PromoteLowF32x4: [0xfd, ...uleb(95)],
  /** Both float64 lanes rounded to float32 (to nearest) in the two low lanes, zeros above. */
  f32x4DemoteF64x2Zero: [0xfd, ...uleb(94)],
  f64x2Add: [0xfd, ...uleb(240)],
};

/**
 * `for (counter = start; counter < limit; counter += step) body`, unsigned: `start` and `limit` push
 * one i32 each (the limit is evaluated on every pass).
 */
export function countedLoop(counter: number, start: number[][], limit: number[][], step: number, body: number[][]): number[][] {
  return [
    ...[...start, op.localSet(counter), op.block, op.loop, op.localGet(counter), ...limit, op.i32GeU, op.brIf(1)],
    ...body,
    ...[op.localGet(counter), op.i32Const(step), op.i32Add, op.localSet(counter), op.br(0), op.end, op.end],
  ];
}

export interface WasmFunction {
  exportName: string;
  params: ValueType[];
  /** Extra locals after the parameters, in order. */
  locals: ValueType[];
  body: number[][];
}

/**
 * The exports of one module of `functions` over a given memory: compiled once (on first use), one
 * instance per memory (a backend's heap per thread, or a memory of one's own).
 */
export function kernelsOver<T>(functions: () => readonly WasmFunction[]): (memory: WebAssembly.Memory) => T {
  let compiled: WebAssembly.Module | null = null;
  const instances = new WeakMap<WebAssembly.Memory, T>();
  return (memory) => {
    let kernels = instances.get(memory);
    if (!kernels) {
      compiled ??= new WebAssembly.Module(wasmModule(functions()));
      kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as T;
      instances.set(memory, kernels);
    }
    return kernels;
  };
}

/** A module importing `env.memory` and exporting `functions` (no results). */
export function wasmModule(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec([])])));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]]));
  const declarations = section(3, vec(functions.map((_, i) => uleb(i))));
  const exports = section(7, vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)])));
  const bodies = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [...uleb(1), t]));
    const code = [...locals, ...f.body.flat(), ...op.end];
    return [...uleb(code.length), ...code];
  });
  const code = section(10, vec(bodies));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...declarations, ...exports, ...code]);
}
