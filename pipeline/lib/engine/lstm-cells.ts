/**
 * The fused LSTM's cell passes (./fused-lstm.ts) in WebAssembly SIMD, four units at a time, over
 * every film of one timestep per call, on arrays in one memory of their own (`LstmArena`).
 *
 * Why: with the products on the native engine, the cells' element-wise work in JavaScript (five
 * rational tanh per unit forward, the gates' gradients backward) was about two fifths of a BiLSTM
 * training step. Here it runs in float32, as TensorFlow's CPU kernels compute it (the same Eigen
 * rational tanh, clamped at ±7.905), where the JavaScript passes computed in doubles: outputs and
 * gradients agree to float32 rounding (tests/engine/fused-lstm.test.ts, 1e-5 relative).
 *
 * The arena is one WebAssembly.Memory reserved at its full size once (the system commits pages only
 * when written) and never grown, so views of it stay valid; arrays come from it by a bump pointer
 * and go back to fused-lstm.ts' pool, which reuses them by capacity. A request it cannot hold is
 * answered with null, and that call's passes run in JavaScript.
 */
import { I32, kernelsOver, op, V128, type ValueType, type WasmFunction } from './wasm-encoder.ts';

export interface LstmCells {
  /**
   * One timestep, forward, for `batch` films of `units` units (a multiple of 4); byte offsets: the
   * gates' pre-activation input products [batch, 4·units] (overwritten with i, f, g, o), the recurrent
   * products [batch, 4·units], the bias [4·units], the state c and output h [batch, units], the cell
   * state and its tanh after the step [batch, units], and one int32 per film: 1 when its step runs.
   */
  forward(gates: number, product: number, bias: number, c: number, h: number, cells: number, cellTanh: number, on: number, batch: number, units: number): void;
  /**
   * One timestep, backward; byte offsets: the saved gates [batch, 4·units] and tanh of the cell
   * [batch, units], the cell state before the step (or -1: zeros), the output's and the cell's
   * gradients dh, dc [batch, units] (dc becomes the previous step's), the gates' pre-activation
   * gradients [batch, 4·units] (written for the films whose step ran), and the int32 flags.
   */
  backward(gates: number, cellTanh: number, previousCells: number, dh: number, dc: number, dGates: number, on: number, batch: number, units: number): void;
}

/** float32 tanh beyond which Eigen's rational approximation is clamped (it is ±1 to float32 there). */
const TANH_CLAMP = 7.90531110763549805;
const P = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5, 6.37261928875436e-4, 4.89352455891786e-3,
];
const Q = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3];

const f32x4Const = (value: number) => [...op.f32Const(value), ...op.f32x4Splat];

/**
 * tanh of the v128 in local `input` into local `output` (locals x, x2, p, q are scratch): the clamp
 * as pmin/pmax (a NaN stays NaN, as in the JavaScript), then x·p(x²)/q(x²).
 */
function tanhInto(input: number, output: number, t: { x: number; x2: number; p: number; q: number }): number[][] {
  const code: number[][] = [];
  code.push(op.localGet(input), f32x4Const(-TANH_CLAMP), op.f32x4Pmax, f32x4Const(TANH_CLAMP), op.f32x4Pmin, op.localSet(t.x));
  code.push(op.localGet(t.x), op.localGet(t.x), op.f32x4Mul, op.localSet(t.x2));
  code.push(f32x4Const(P[0]));
  for (const c of P.slice(1)) code.push(op.localGet(t.x2), op.f32x4Mul, f32x4Const(c), op.f32x4Add);
  code.push(op.localSet(t.p), f32x4Const(Q[0]));
  for (const c of Q.slice(1)) code.push(op.localGet(t.x2), op.f32x4Mul, f32x4Const(c), op.f32x4Add);
  code.push(op.localSet(t.q), op.localGet(t.x), op.localGet(t.p), op.f32x4Mul, op.localGet(t.q), op.f32x4Div, op.localSet(output));
  return code;
}

/** σ(v) = 0.5 + 0.5·tanh(0.5·v), of local `input` into local `output`. */
function sigmoidInto(input: number, output: number, t: { x: number; x2: number; p: number; q: number; half: number }): number[][] {
  return [
    op.localGet(input),
    op.localGet(t.half),
    op.f32x4Mul,
    op.localSet(output),
    ...tanhInto(output, output, t),
    op.localGet(output),
    op.localGet(t.half),
    op.f32x4Mul,
    op.localGet(t.half),
    op.f32x4Add,
    op.localSet(output),
  ];
}

/** The locals both passes loop with: film b, its state row (sb bytes in) and gate row (zb), the unit group's byte offset u, a state row's bytes hb. */
interface CellLoops {
  batch: number;
  units: number;
  b: number;
  sb: number;
  zb: number;
  u: number;
  hb: number;
}

/**
 * hb = 4·units; for each film b (sb = b·hb, zb = 4·sb): `perFilm`, then for each group of 4 units
 * (u = 0, 16, … < hb): `perGroup`. With `onlyOn` (the int32 flags' byte offset), films whose flag is 0 are skipped.
 */
function cellLoops(l: CellLoops, perGroup: number[][], options: { perFilm?: number[][]; onlyOn?: number } = {}): number[][] {
  const get = op.localGet;
  const code: number[][] = [get(l.units), op.i32Const(2), op.i32Shl, op.localSet(l.hb), op.i32Const(0), op.localSet(l.b)];
  code.push(op.block, op.loop, get(l.b), get(l.batch), op.i32GeU, op.brIf(1));
  code.push(get(l.b), get(l.hb), op.i32Mul, op.localSet(l.sb), get(l.sb), op.i32Const(2), op.i32Shl, op.localSet(l.zb), ...(options.perFilm ?? []));
  if (options.onlyOn !== undefined) code.push(get(options.onlyOn), get(l.b), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(), op.if);
  code.push(op.i32Const(0), op.localSet(l.u), op.block, op.loop, get(l.u), get(l.hb), op.i32GeU, op.brIf(1));
  code.push(...perGroup, get(l.u), op.i32Const(16), op.i32Add, op.localSet(l.u), op.br(0), op.end, op.end);
  if (options.onlyOn !== undefined) code.push(op.end);
  code.push(get(l.b), op.i32Const(1), op.i32Add, op.localSet(l.b), op.br(0), op.end, op.end);
  return code;
}

/** The byte address base + row + u (+ k·hb: gate k's block of a gate row). */
const address = (l: CellLoops, base: number, row: number | null, k = 0) => [
  op.localGet(base),
  ...(row === null ? [] : [op.localGet(row), op.i32Add]),
  op.localGet(l.u),
  op.i32Add,
  ...(k ? [op.localGet(l.hb), op.i32Const(k), op.i32Mul, op.i32Add] : []),
];

/** The four gates in Keras' order i, f, g (the cell's tanh), o, with the locals that hold them. */
const gatesIn = (i: number, f: number, g: number, o: number) =>
  [
    [0, i],
    [1, f],
    [2, g],
    [3, o],
  ] as const;

function forwardFunction(): WasmFunction {
  const [gates, product, bias, c, h, cells, cellTanh, on, batch, units] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // i32 locals: film, unit byte offset, row bytes (units·4), the film's gate rows (input, recurrent product), state row.
  const [b, u, hb, zb, pb, sb] = [10, 11, 12, 13, 14, 15];
  const [vi, vf, vg, vo, vc, tc] = [16, 17, 18, 19, 20, 21];
  const t = { x: 22, x2: 23, p: 24, q: 25, half: 26 };
  const l: CellLoops = { batch, units, b, sb, zb, u, hb };
  const perFilm = [op.localGet(product), op.localGet(zb), op.i32Add, op.localSet(pb), op.localGet(gates), op.localGet(zb), op.i32Add, op.localSet(zb)];
  const group: number[][] = [];
  // Pre-activations (input product + recurrent product) + bias, as the JavaScript adds them.
  for (const [k, into] of gatesIn(vi, vf, vg, vo)) {
    group.push(...address(l, zb, null, k), op.v128Load(), ...address(l, pb, null, k), op.v128Load(), op.f32x4Add);
    group.push(...address(l, bias, null, k), op.v128Load(), op.f32x4Add, op.localSet(into));
  }
  group.push(...sigmoidInto(vi, vi, t), ...sigmoidInto(vf, vf, t), ...tanhInto(vg, vg, t), ...sigmoidInto(vo, vo, t));
  for (const [k, from] of gatesIn(vi, vf, vg, vo)) group.push(...address(l, zb, null, k), op.localGet(from), op.v128Store());
  // A film whose step runs: the new cell state and output.
  group.push(op.localGet(on), op.localGet(b), op.i32Const(2), op.i32Shl, op.i32Add, op.i32Load(), op.if);
  group.push(op.localGet(vf), ...address(l, c, sb), op.v128Load(), op.f32x4Mul, op.localGet(vi), op.localGet(vg), op.f32x4Mul, op.f32x4Add, op.localSet(vc));
  group.push(...tanhInto(vc, tc, t));
  group.push(...address(l, c, sb), op.localGet(vc), op.v128Store());
  group.push(...address(l, h, sb), op.localGet(vo), op.localGet(tc), op.f32x4Mul, op.v128Store());
  group.push(...address(l, cellTanh, sb), op.localGet(tc), op.v128Store());
  group.push(op.end);
  group.push(...address(l, cells, sb), ...address(l, c, sb), op.v128Load(), op.v128Store());
  return {
    exportName: 'forward',
    params: Array<ValueType>(10).fill(I32),
    locals: [...Array<ValueType>(6).fill(I32), ...Array<ValueType>(11).fill(V128)],
    body: [f32x4Const(0.5), op.localSet(t.half), ...cellLoops(l, group, { perFilm })],
  };
}

function backwardFunction(): WasmFunction {
  const [gates, cellTanh, previousCells, dh, dc, dGates, on, batch, units] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [b, u, hb, zb, sb] = [9, 10, 11, 12, 13];
  const [vi, vf, vg, vo, tc, dhu, dcNew, cPrev, one] = [14, 15, 16, 17, 18, 19, 20, 21, 22];
  const l: CellLoops = { batch, units, b, sb, zb, u, hb };
  const group: number[][] = [];
  for (const [k, into] of gatesIn(vi, vf, vg, vo)) group.push(...address(l, gates, zb, k), op.v128Load(), op.localSet(into));
  group.push(...address(l, cellTanh, sb), op.v128Load(), op.localSet(tc));
  group.push(...address(l, dh, sb), op.v128Load(), op.localSet(dhu));
  // dcNew = dc + dh·o·(1 − tc²)
  group.push(...address(l, dc, sb), op.v128Load(), op.localGet(dhu), op.localGet(vo), op.f32x4Mul);
  group.push(op.localGet(one), op.localGet(tc), op.localGet(tc), op.f32x4Mul, op.f32x4Sub, op.f32x4Mul, op.f32x4Add, op.localSet(dcNew));
  // cPrev: the cell state before the step, or 0 at the first step (previousCells = −1).
  group.push(f32x4Const(0), op.localSet(cPrev));
  group.push(op.localGet(previousCells), op.i32Const(0), op.i32GeS, op.if, ...address(l, previousCells, sb), op.v128Load(), op.localSet(cPrev), op.end);
  // dz_i = dcNew·g·i·(1 − i); dz_f = dcNew·cPrev·f·(1 − f); dz_g = dcNew·i·(1 − g²); dz_o = dh·tc·o·(1 − o)
  const oneMinus = (v: number) => [op.localGet(one), op.localGet(v), op.f32x4Sub];
  const dz = (k: number) => address(l, dGates, zb, k);
  group.push(...dz(0), op.localGet(dcNew), op.localGet(vg), op.f32x4Mul, op.localGet(vi), op.f32x4Mul, ...oneMinus(vi), op.f32x4Mul, op.v128Store());
  group.push(...dz(1), op.localGet(dcNew), op.localGet(cPrev), op.f32x4Mul, op.localGet(vf), op.f32x4Mul, ...oneMinus(vf), op.f32x4Mul, op.v128Store());
  group.push(
    ...dz(2),
    op.localGet(dcNew),
    op.localGet(vi),
    op.f32x4Mul,
    op.localGet(one),
    op.localGet(vg),
    op.localGet(vg),
    op.f32x4Mul,
    op.f32x4Sub,
    op.f32x4Mul,
    op.v128Store(),
  );
  group.push(...dz(3), op.localGet(dhu), op.localGet(tc), op.f32x4Mul, op.localGet(vo), op.f32x4Mul, ...oneMinus(vo), op.f32x4Mul, op.v128Store());
  group.push(...address(l, dc, sb), op.localGet(dcNew), op.localGet(vf), op.f32x4Mul, op.v128Store());
  return {
    exportName: 'backward',
    params: Array<ValueType>(9).fill(I32),
    locals: [...Array<ValueType>(5).fill(I32), ...Array<ValueType>(9).fill(V128)],
    body: [f32x4Const(1), op.localSet(one), ...cellLoops(l, group, { onlyOn: on })],
  };
}

/** The cell kernels over a memory (an arena's). */
const cellsOver = kernelsOver<LstmCells>(() => [forwardFunction(), backwardFunction()]);

/** Bytes reserved for the arena: committed by the system only as pages are written. */
const ARENA_BYTES = 1 << 30;

/** Arrays in one never-grown WebAssembly.Memory, and the cell kernels over it. */
export class LstmArena {
  readonly memory: WebAssembly.Memory;
  readonly cells: LstmCells;
  private next = 0;

  constructor(bytes = ARENA_BYTES) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    this.cells = cellsOver(this.memory);
  }

  /** `length` floats of the arena (64-byte aligned, contents undefined), or null when it is full. */
  take(length: number): Float32Array | null {
    const start = Math.ceil(this.next / 64) * 64;
    if (start + 4 * length > this.memory.buffer.byteLength) return null;
    this.next = start + 4 * length;
    return new Float32Array(this.memory.buffer, start, length);
  }

  /** Forgets every array taken (the pool that held them was emptied): the next take starts at the beginning. */
  reset(): void {
    this.next = 0;
  }

  /** Whether every array lies in the arena (so the kernels can reach it by byte offset). */
  holds(...arrays: ArrayBufferView[]): boolean {
    return arrays.every((a) => a.buffer === this.memory.buffer);
  }
}

let shared: LstmArena | null | undefined;

/** The process's arena, made on first use; null where the memory cannot be reserved (the cells then run in JavaScript). */
export function lstmArena(): LstmArena | null {
  if (shared === undefined) {
    try {
      shared = new LstmArena();
    } catch {
      shared = null;
    }
  }
  return shared;
}
