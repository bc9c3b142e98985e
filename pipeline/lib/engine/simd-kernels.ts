/**
 * genrelens' WebAssembly SIMD kernels, in one module over the wasm backend's own memory (written by
 * ./wasm-encoder.ts): they read and write tensors in place, by their byte offsets in that heap.
 * - `adam`: tfjs' Adam update of one variable (./simd-adam.ts says how it stays exact);
 * - `maxPoolGrad2x2`: the gradient of a 2×2, stride-2 max pool that tiles its input, 4 channels at once
 *   (./wasm-kernels/max-pool-grad.ts; JavaScript took 8.6 ms for the CNN's largest pool);
 * - `reluGrad`: ReLU's gradient dy·step(x) in one pass (./wasm-kernels/relu-grad.ts), where tfjs makes
 *   three (Step, a Cast to the same type, Multiply);
 * - `sumRows`: column sums of a row-major matrix, 4 columns at once, accumulated in float64
 *   (./wasm-kernels/sum.ts: a bias's gradient);
 * - `dropoutMask`: tfjs' dropout multipliers from seedrandom's Alea generator (./fast-dropout.ts), its
 *   state as 32-bit integers (scalar: the generator is one sequential stream);
 * - `patchRows`: rows of the im2col patch matrix of NHWC data (./wasm-kernels/conv.ts: a convolution
 *   as one matrix product), copies and zeros only;
 * - `gridChannels`: NHWC images laid channel by channel on a zero-bordered grid
 *   (./wasm-kernels/conv-filter-grad.ts: the weight gradient's patches), a 4×4 transpose per step;
 * - `weightedSum`: a·sa + b·sb in one pass (./weighted-sum.ts: the sharded steps' gradients combined),
 *   where tfjs makes three (two Multiply, an Add);
 * - `winogradInput`, `winogradOutput`, `winogradGradOutput`, `winogradFilter`, `winogradFilterGrad`,
 *   `borderedCopy`: the transforms of Winograd's 3×3 convolution and the zero-bordered input they
 *   read (./winograd-simd.ts; ./wasm-kernels/winograd.ts).
 * Every operation but Winograd's (a different computation, tested to float32 rounding) is an IEEE one
 * (float64 where the scalar code uses doubles) or a bit mask, in the scalar code's order, so the results
 * are those of the scalar code they replace, to the last bit (tests/engine/simd-adam.test.ts, tests/engine/wasm-kernels.test.ts).
 */
import { countedLoop, F32, I32, I64, op, V128, kernelsOver, type ValueType, type WasmFunction } from './wasm-encoder.ts';
import {
  borderedCopyFunction,
  winogradFilterFunction,
  winogradFilterGradFunction,
  winogradGradOutputFunction,
  winogradInputFunction,
  winogradOutputFunction,
} from './winograd-simd.ts';

export interface SimdKernels {
  /** Byte offsets of w, m, v, g and the three outputs; groups of four floats; then the eight float32 scalars. */
  adam(
    w: number,
    m: number,
    v: number,
    g: number,
    wOut: number,
    mOut: number,
    vOut: number,
    groups: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
  /** Byte offsets of x (NHWC), dy and dx; output pixels over the batch (n·oh·ow); output width; channels·4 (a multiple of 16). */
  maxPoolGrad2x2(x: number, dy: number, dx: number, pixels: number, outWidth: number, channelBytes: number): void;
  /**
   * `images` NHWC images (h × w × cin floats each, from byte offset x) onto the grid [cin, mg] at dst:
   * grid position p = (image·hs + y)·ws + col of channel c is dst float c·mg + p, holding x's value
   * where y < h and col < w, else 0 (w and cin multiples of 4; hs ≥ h, ws ≥ w).
   */
  gridChannels(x: number, dst: number, images: number, h: number, w: number, hs: number, ws: number, cin: number, mg: number): void;
  /** Byte offsets of a, b and out (which may be a or b); groups of four floats; two float32 scalars: out = a·sa + b·sb, each product and the sum rounded to float32. */
  weightedSum(a: number, b: number, out: number, groups: number, sa: number, sb: number): void;
  /** Byte offsets of x, dy and out; groups of four floats: out = dy · (x > 0 ? 1 : x is NaN ? NaN : 0). */
  reluGrad(x: number, dy: number, out: number, groups: number): void;
  /**
   * Byte offsets of x (rows × columns float32), out (columns float32) and acc (columns float64, zeroed
   * by the caller, 8-byte units); rows; columns / 4: out[c] = float32(Σ_r x[r, c]), summed in row order in float64.
   */
  sumRows(x: number, out: number, acc: number, rows: number, groups: number): void;
  /**
   * Byte offset of out and its float count; keep = float32(1 − rate) and float32(1 / keep); Alea's
   * carry c and its three states as integers k = s·2³² (passed as int32 bit patterns).
   */
  dropoutMask(out: number, count: number, keep: number, inverseKeep: number, c: number, k0: number, k1: number, k2: number): void;
  /**
   * `count` rows of the patch matrix P of NHWC x (byte offset) into dst: row (b, r, q), starting at the
   * given b, r, q and going on in that order, holds for each filter row i and tap j the cin values
   * x[b, r·sh + i − top, q·sw + j − left, :] (zeros outside the image): fh·fw·cin values (dilation 1;
   * cinBytes = 4·cin, a multiple of 16).
   */
  patchRows(
    x: number,
    dst: number,
    count: number,
    b: number,
    r: number,
    q: number,
    oh: number,
    ow: number,
    h: number,
    w: number,
    cinBytes: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
  /**
   * A block of Winograd tiles (./winograd-simd.ts): byte offsets of the source and the block; its
   * first tile and tile count; tiles per row and per image; the image data's row, image and
   * channel bytes (channels·4, a multiple of 16); bytes between the block's planes.
   */
  winogradInput(...block: WinogradBlock): void;
  /** As winogradInput, then the bias's byte offset and whether to add it (1) or not (0). */
  winogradOutput(...args: [...WinogradBlock, bias: number, hasBias: number]): void;
  /** As winogradInput, for the output gradient (the weight gradient's right operand). */
  winogradGradOutput(...block: WinogradBlock): void;
  /** U = G·g·Gᵀ per channel pair: byte offsets of the filter's 9 planes and the 16 planes; pairs / 4; bytes per plane. */
  winogradFilter(filter: number, planes: number, groups: number, planeBytes: number): void;
  /** dg = Gᵀ·dU·G per channel pair: byte offsets of the 16 planes and the gradient's 9 planes; pairs / 4; bytes per plane. */
  winogradFilterGrad(planes: number, filter: number, groups: number, planeBytes: number): void;
  /** Byte offsets of NHWC x and of its copy with a border of zeros ([n, h + 2, w + 2, c]); n, h, w; channels·4 (a multiple of 16). */
  borderedCopy(x: number, dst: number, images: number, h: number, w: number, pixelBytes: number): void;
}

export type WinogradBlock = [
  src: number,
  dst: number,
  first: number,
  count: number,
  tilesW: number,
  tilesPerImage: number,
  rowBytes: number,
  imageBytes: number,
  channelBytes: number,
  planeBytes: number,
];

const at = (base: number, offset: number) => [op.localGet(base), op.localGet(offset), op.i32Add];

/** m' = m·β1 + g·(1−β1); v' = v·β2 + (g·g)·(1−β2); w' = ((m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε))·(−lr) + w. */
function adamFunction(): WasmFunction {
  const [w, m, v, g, wOut, mOut, vOut, groups] = [0, 1, 2, 3, 4, 5, 6, 7];
  const scalar = (k: number) => 8 + k; // beta1 … negLearningRate
  const [i, end] = [16, 17];
  const splat = (k: number) => 18 + k; // the eight scalars in all four lanes
  const [gv, mv, vv] = [26, 27, 28];
  const body: number[][] = [];
  for (let k = 0; k < 8; k++) body.push(op.localGet(scalar(k)), op.f32x4Splat, op.localSet(splat(k)));
  body.push(op.localGet(groups), op.i32Const(4), op.i32Shl, op.localSet(end), op.i32Const(0), op.localSet(i));
  body.push(op.block, op.loop, op.localGet(i), op.localGet(end), op.i32GeU, op.brIf(1));
  body.push(...at(g, i), op.v128Load(), op.localSet(gv));
  body.push(...at(m, i), op.v128Load(), op.localGet(splat(0)), op.f32x4Mul, op.localGet(gv), op.localGet(splat(1)), op.f32x4Mul, op.f32x4Add, op.localSet(mv));
  body.push(...at(mOut, i), op.localGet(mv), op.v128Store());
  body.push(...at(v, i), op.v128Load(), op.localGet(splat(2)), op.f32x4Mul);
  body.push(op.localGet(gv), op.localGet(gv), op.f32x4Mul, op.localGet(splat(3)), op.f32x4Mul, op.f32x4Add, op.localSet(vv));
  body.push(...at(vOut, i), op.localGet(vv), op.v128Store());
  body.push(...at(wOut, i));
  body.push(op.localGet(mv), op.localGet(splat(4)), op.f32x4Div);
  body.push(op.localGet(vv), op.localGet(splat(5)), op.f32x4Div, op.f32x4Sqrt, op.localGet(splat(6)), op.f32x4Add);
  body.push(op.f32x4Div, op.localGet(splat(7)), op.f32x4Mul, ...at(w, i), op.v128Load(), op.f32x4Add, op.v128Store());
  body.push(op.localGet(i), op.i32Const(16), op.i32Add, op.localSet(i), op.br(0), op.end, op.end);
  return {
    exportName: 'adam',
    params: [...Array<ValueType>(8).fill(I32), ...Array<ValueType>(8).fill(F32)],
    locals: [I32, I32, ...Array<ValueType>(11).fill(V128)],
    body,
  };
}

/**
 * For each output pixel P (over the batch) and 4 channels: the window's four values in row order,
 * each compared with the best so far (starting at −∞, so NaN and −∞ never win), the last winner
 * taking dy and the others 0 — the first maximum, as the scalar kernel picks it.
 */
function maxPoolGradFunction(): WasmFunction {
  const [x, dy, dx, pixels, ow, cb] = [0, 1, 2, 3, 4, 5];
  const [p, kb, p00, dyo, rowBytes, a] = [6, 7, 8, 9, 10, 11];
  const [v00, v01, v10, v11, best, c0, c1, c2, c3, g, ninf] = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  // Byte address base + a (+ extra local offsets).
  const addr = (base: number, ...extra: number[]) => [op.localGet(base), op.localGet(a), op.i32Add, ...extra.flatMap((e) => [op.localGet(e), op.i32Add])];
  const body: number[][] = [];
  body.push(op.f32Const(-Infinity), op.f32x4Splat, op.localSet(ninf));
  body.push(op.localGet(ow), op.localGet(cb), op.i32Mul, op.i32Const(1), op.i32Shl, op.localSet(rowBytes));
  body.push(op.i32Const(0), op.localSet(p));
  body.push(op.block, op.loop, op.localGet(p), op.localGet(pixels), op.i32GeU, op.brIf(1));
  // p00 = (2P − P mod ow) · 2 · cb: the window's first input pixel; dyo = P · cb.
  body.push(op.localGet(p), op.i32Const(1), op.i32Shl, op.localGet(p), op.localGet(ow), op.i32RemU, op.i32Sub);
  body.push(op.localGet(cb), op.i32Mul, op.i32Const(1), op.i32Shl, op.localSet(p00));
  body.push(op.localGet(p), op.localGet(cb), op.i32Mul, op.localSet(dyo), op.i32Const(0), op.localSet(kb));
  body.push(op.block, op.loop, op.localGet(kb), op.localGet(cb), op.i32GeU, op.brIf(1));
  body.push(op.localGet(p00), op.localGet(kb), op.i32Add, op.localSet(a));
  body.push(...addr(x), op.v128Load(), op.localSet(v00));
  body.push(...addr(x, cb), op.v128Load(), op.localSet(v01));
  body.push(...addr(x, rowBytes), op.v128Load(), op.localSet(v10));
  body.push(...addr(x, rowBytes, cb), op.v128Load(), op.localSet(v11));
  body.push(op.localGet(v00), op.localGet(ninf), op.f32x4Gt, op.localSet(c0));
  body.push(op.localGet(v00), op.localGet(ninf), op.localGet(c0), op.v128Bitselect, op.localSet(best));
  body.push(op.localGet(v01), op.localGet(best), op.f32x4Gt, op.localSet(c1));
  body.push(op.localGet(v01), op.localGet(best), op.localGet(c1), op.v128Bitselect, op.localSet(best));
  body.push(op.localGet(v10), op.localGet(best), op.f32x4Gt, op.localSet(c2));
  body.push(op.localGet(v10), op.localGet(best), op.localGet(c2), op.v128Bitselect, op.localSet(best));
  body.push(op.localGet(v11), op.localGet(best), op.f32x4Gt, op.localSet(c3));
  body.push(op.localGet(dy), op.localGet(dyo), op.i32Add, op.localGet(kb), op.i32Add, op.v128Load(), op.localSet(g));
  // The last winner keeps dy; each earlier one only where no later one won (c3 becomes "won later").
  body.push(...addr(dx, rowBytes, cb), op.localGet(g), op.localGet(c3), op.v128And, op.v128Store());
  body.push(op.localGet(c2), op.localGet(c3), op.v128AndNot, op.localSet(c2));
  body.push(...addr(dx, rowBytes), op.localGet(g), op.localGet(c2), op.v128And, op.v128Store());
  body.push(op.localGet(c3), op.localGet(c2), op.v128Or, op.localSet(c3));
  body.push(op.localGet(c1), op.localGet(c3), op.v128AndNot, op.localSet(c1));
  body.push(...addr(dx, cb), op.localGet(g), op.localGet(c1), op.v128And, op.v128Store());
  body.push(op.localGet(c3), op.localGet(c1), op.v128Or, op.localSet(c3));
  body.push(op.localGet(c0), op.localGet(c3), op.v128AndNot, op.localSet(c0));
  body.push(...addr(dx), op.localGet(g), op.localGet(c0), op.v128And, op.v128Store());
  body.push(op.localGet(kb), op.i32Const(16), op.i32Add, op.localSet(kb), op.br(0), op.end, op.end);
  body.push(op.localGet(p), op.i32Const(1), op.i32Add, op.localSet(p), op.br(0), op.end, op.end);
  return {
    exportName: 'maxPoolGrad2x2',
    params: Array<ValueType>(6).fill(I32),
    locals: [...Array<ValueType>(6).fill(I32), ...Array<ValueType>(11).fill(V128)],
    body,
  };
}

/** out = dy · s with s = 1 where x > 0, NaN where x is NaN, else 0: tfjs' step(x), multiplied as tfjs multiplies. */
function reluGradFunction(): WasmFunction {
  const [x, dy, out, groups] = [0, 1, 2, 3];
  const [i, end] = [4, 5];
  const [one, zero, xv, s] = [6, 7, 8, 9];
  const body: number[][] = [];
  body.push(op.f32Const(1), op.f32x4Splat, op.localSet(one), op.f32Const(0), op.f32x4Splat, op.localSet(zero));
  body.push(op.localGet(groups), op.i32Const(4), op.i32Shl, op.localSet(end), op.i32Const(0), op.localSet(i));
  body.push(op.block, op.loop, op.localGet(i), op.localGet(end), op.i32GeU, op.brIf(1));
  body.push(...at(x, i), op.v128Load(), op.localSet(xv));
  body.push(op.localGet(one), op.localGet(zero), op.localGet(xv), op.localGet(zero), op.f32x4Gt, op.v128Bitselect, op.localSet(s));
  body.push(op.localGet(xv), op.localGet(s), op.localGet(xv), op.localGet(xv), op.f32x4Ne, op.v128Bitselect, op.localSet(s));
  body.push(...at(out, i), ...at(dy, i), op.v128Load(), op.localGet(s), op.f32x4Mul, op.v128Store());
  body.push(op.localGet(i), op.i32Const(16), op.i32Add, op.localSet(i), op.br(0), op.end, op.end);
  return { exportName: 'reluGrad', params: Array<ValueType>(4).fill(I32), locals: [I32, I32, V128, V128, V128, V128], body };
}

/** Bytes of float32 lanes for i8x16.shuffle: lanes 0–3 of the first operand, 4–7 of the second. */
const floatLanes = (lanes: readonly number[]) => lanes.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]);

/**
 * Four pixels × four channels per step: four loads (a pixel's four channels each), a 4×4 transpose in
 * eight shuffles, four stores (a channel's four pixels each, in four rows of the grid); then the row's
 * border columns, and the border rows, as zeros. Data movement only: the bits are x's.
 */
function gridChannelsFunction(): WasmFunction {
  const [x, dst, images, h, w, hs, ws, cin, mg] = Array.from({ length: 9 }, (_, k) => k);
  const [image, y, col, c, row, src, d, rowStride, pixelBytes, zeroFrom] = Array.from({ length: 10 }, (_, k) => 9 + k);
  const [v0, v1, v2, v3, t0, t1, t2, t3] = Array.from({ length: 8 }, (_, k) => 19 + k);
  const get = op.localGet;
  const set = op.localSet;
  /** `counter` from the value `start` leaves, while below the local `limit`, by `step`, around `inner`. */
  const loop = (counter: number, start: number[][], limit: number, step: number, inner: number[][]) => countedLoop(counter, start, [get(limit)], step, inner);
  const zeroStart = [op.i32Const(0)];
  /** The address of channel c's float at grid position row + col: dst + c·rowStride + (row + col)·4. */
  const channelAt = [get(dst), get(c), get(rowStride), op.i32Mul, op.i32Add, get(row), get(col), op.i32Add, op.i32Const(2), op.i32Shl, op.i32Add];
  const shuffle = (a: number, b: number, lanes: number[]) => [get(a), get(b), op.i8x16Shuffle(floatLanes(lanes))];
  // A step: four pixels' channels c…c+3 from src + col·pixelBytes + c·4, transposed, stored in four channels' rows.
  const step = [
    ...[get(src), get(col), get(pixelBytes), op.i32Mul, op.i32Add, get(c), op.i32Const(2), op.i32Shl, op.i32Add, set(d)],
    ...[v0, v1, v2, v3].flatMap((v, k) => [get(d), op.v128Load(0), set(v), ...(k < 3 ? [get(d), get(pixelBytes), op.i32Add, set(d)] : [])]),
    ...[...shuffle(v0, v1, [0, 4, 1, 5]), set(t0), ...shuffle(v0, v1, [2, 6, 3, 7]), set(t1)],
    ...[...shuffle(v2, v3, [0, 4, 1, 5]), set(t2), ...shuffle(v2, v3, [2, 6, 3, 7]), set(t3)],
    ...channelAt,
    set(d),
    ...(
      [
        [t0, t2, [0, 1, 4, 5]],
        [t0, t2, [2, 3, 6, 7]],
        [t1, t3, [0, 1, 4, 5]],
        [t1, t3, [2, 3, 6, 7]],
      ] as const
    ).flatMap(([a, b, lanes], k) => [get(d), ...shuffle(a, b, [...lanes]), op.v128Store(0), ...(k < 3 ? [get(d), get(rowStride), op.i32Add, set(d)] : [])]),
  ];
  // A row of the grid: its pixels (a row of x), then zeros from zeroFrom (the border columns, or the whole border row).
  const perRow = [
    ...[get(image), get(hs), op.i32Mul, get(y), op.i32Add, get(ws), op.i32Mul, set(row)],
    ...[get(y), get(h), op.i32LtU, op.if],
    ...loop(col, zeroStart, w, 4, loop(c, zeroStart, cin, 4, step)),
    ...[get(src), get(w), get(pixelBytes), op.i32Mul, op.i32Add, set(src), get(w), set(zeroFrom)],
    ...[op.else, op.i32Const(0), set(zeroFrom), op.end],
    ...loop(c, zeroStart, cin, 1, loop(col, [get(zeroFrom)], ws, 1, [...channelAt, op.f32Const(0), op.f32Store(0)])),
  ];
  const body: number[][] = [];
  body.push(get(mg), op.i32Const(2), op.i32Shl, set(rowStride), get(cin), op.i32Const(2), op.i32Shl, set(pixelBytes), get(x), set(src));
  body.push(...loop(image, zeroStart, images, 1, loop(y, zeroStart, hs, 1, perRow)));
  return {
    exportName: 'gridChannels',
    params: Array<ValueType>(9).fill(I32),
    locals: [...Array<ValueType>(10).fill(I32), ...Array<ValueType>(8).fill(V128)],
    body,
  };
}

/** out = a·sa + b·sb, four floats at a time: a Multiply and an Add as tfjs' kernels round them (no fused multiply-add in WebAssembly). */
function weightedSumFunction(): WasmFunction {
  const [a, b, out, groups, sa, sb] = [0, 1, 2, 3, 4, 5];
  const [i, end] = [6, 7];
  const [va, vb] = [8, 9];
  const body: number[][] = [];
  body.push(op.localGet(sa), op.f32x4Splat, op.localSet(va), op.localGet(sb), op.f32x4Splat, op.localSet(vb));
  body.push(op.localGet(groups), op.i32Const(4), op.i32Shl, op.localSet(end), op.i32Const(0), op.localSet(i));
  body.push(op.block, op.loop, op.localGet(i), op.localGet(end), op.i32GeU, op.brIf(1));
  body.push(...at(out, i), ...at(a, i), op.v128Load(), op.localGet(va), op.f32x4Mul, ...at(b, i), op.v128Load(), op.localGet(vb), op.f32x4Mul, op.f32x4Add);
  body.push(op.v128Store());
  body.push(op.localGet(i), op.i32Const(16), op.i32Add, op.localSet(i), op.br(0), op.end, op.end);
  return { exportName: 'weightedSum', params: [I32, I32, I32, I32, F32, F32], locals: [I32, I32, V128, V128], body };
}

/**
 * Row by row, each group of 4 columns: lanes 0–1 and 2–3 promoted to float64 and added to the group's
 * two float64x2 accumulators in memory; at the end each accumulator rounded to float32 and stored.
 */
function sumRowsFunction(): WasmFunction {
  const [x, out, acc, rows, groups] = [0, 1, 2, 3, 4];
  const [r, g, src, a] = [5, 6, 7, 8];
  const [v] = [9];
  const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  const body: number[][] = [];
  body.push(op.localGet(x), op.localSet(src), op.i32Const(0), op.localSet(r));
  body.push(op.block, op.loop, op.localGet(r), op.localGet(rows), op.i32GeU, op.brIf(1));
  body.push(op.localGet(acc), op.localSet(a), op.i32Const(0), op.localSet(g));
  body.push(op.block, op.loop, op.localGet(g), op.localGet(groups), op.i32GeU, op.brIf(1));
  body.push(op.localGet(src), op.v128Load(), op.localSet(v));
  body.push(op.localGet(a), op.localGet(a), op.v128Load(), op.localGet(v), op.f64x2PromoteLowF32x4, op.f64x2Add, op.v128Store());
  body.push(op.localGet(a), op.localGet(a), op.v128Load(16), op.localGet(v), op.localGet(v), op.i8x16Shuffle(HIGH_HALF), op.f64x2PromoteLowF32x4, op.f64x2Add);
  body.push(op.v128Store(16));
  body.push(op.localGet(src), op.i32Const(16), op.i32Add, op.localSet(src), op.localGet(a), op.i32Const(32), op.i32Add, op.localSet(a));
  body.push(op.localGet(g), op.i32Const(1), op.i32Add, op.localSet(g), op.br(0), op.end, op.end);
  body.push(op.localGet(r), op.i32Const(1), op.i32Add, op.localSet(r), op.br(0), op.end, op.end);
  // out = the accumulators rounded to float32, 4 columns per store.
  body.push(op.i32Const(0), op.localSet(g));
  body.push(op.block, op.loop, op.localGet(g), op.localGet(groups), op.i32GeU, op.brIf(1));
  body.push(op.localGet(out), op.localGet(g), op.i32Const(4), op.i32Shl, op.i32Add);
  body.push(op.localGet(acc), op.localGet(g), op.i32Const(5), op.i32Shl, op.i32Add, op.localSet(a));
  body.push(op.localGet(a), op.v128Load(), op.f32x4DemoteF64x2Zero, op.localGet(a), op.v128Load(16), op.f32x4DemoteF64x2Zero, op.i8x16Shuffle(LOW_HALVES));
  body.push(op.v128Store());
  body.push(op.localGet(g), op.i32Const(1), op.i32Add, op.localSet(g), op.br(0), op.end, op.end);
  return { exportName: 'sumRows', params: Array<ValueType>(5).fill(I32), locals: [I32, I32, I32, I32, V128], body };
}

/**
 * Alea (seedrandom 3.0.5) in integers. Its doubles are exact multiples of 2⁻³² (Mash's outputs are
 * and each step keeps them so), so t = 2091639·s0 + c·2⁻³² is T·2⁻³² for the integer
 * T = 2091639·k0 + c < 2⁵³: the next carry is T >> 32 and the next state T mod 2³². The carry chain is
 * an add and a shift per number, where the double version waits on a multiply-add and a floor. Each
 * multiplier is tfjs' float32 floor(float32(s2) + keep) / keep, which is 0 or 1/keep (keep ≤ 1), so it
 * is written as that floor times float32(1/keep): the same bits.
 */
function dropoutMaskFunction(): WasmFunction {
  const [out, count, keep, inverseKeep, c0, s0, s1, s2] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, end, c, k0, k1, k2, t] = [8, 9, 10, 11, 12, 13, 14];
  const body: number[][] = [];
  for (const [from, to] of [
    [c0, c],
    [s0, k0],
    [s1, k1],
    [s2, k2],
  ])
    body.push(op.localGet(from), op.i64ExtendI32U, op.localSet(to));
  body.push(op.localGet(out), op.localSet(i), op.localGet(out), op.localGet(count), op.i32Const(2), op.i32Shl, op.i32Add, op.localSet(end));
  body.push(op.block, op.loop, op.localGet(i), op.localGet(end), op.i32GeU, op.brIf(1));
  body.push(op.i64Const(2091639n), op.localGet(k0), op.i64Mul, op.localGet(c), op.i64Add, op.localSet(t));
  body.push(op.localGet(k1), op.localSet(k0), op.localGet(k2), op.localSet(k1));
  body.push(op.localGet(t), op.i64Const(32n), op.i64ShrU, op.localSet(c));
  body.push(op.localGet(t), op.i64Const(0xffffffffn), op.i64And, op.localSet(k2));
  body.push(op.localGet(i), op.localGet(k2), op.f32ConvertI64U, op.f32Const(2 ** -32), op.f32Mul, op.localGet(keep), op.f32Add, op.f32Floor);
  body.push(op.localGet(inverseKeep), op.f32Mul, op.f32Store());
  body.push(op.localGet(i), op.i32Const(4), op.i32Add, op.localSet(i), op.br(0), op.end, op.end);
  return {
    exportName: 'dropoutMask',
    params: [I32, I32, F32, F32, I32, I32, I32, I32],
    locals: [I32, I32, I64, I64, I64, I64, I64],
    body,
  };
}

/** Copies of whole vectors: the patch matrix is data movement only, so any order gives the same bits. */
function patchRowsFunction(): WasmFunction {
  const [x, dstIn, count, b, r, q, oh, ow, h, w, cinBytes, fh, fw, sh, sw, top, left] = Array.from({ length: 17 }, (_, k) => k);
  const [n, i, ih, colOff, jLo, jHi, src, len, k, d, rowBytes, dst] = Array.from({ length: 12 }, (_, k) => 17 + k);
  const zero = 29;
  const get = op.localGet;
  const set = op.localSet;
  // Both loops move 64 bytes per pass while 64 remain, then 16 (runs are multiples of 16 bytes): the
  // loop's own work, once per 16 bytes, was much of the kernel's time (a CNN shard step's forward
  // patches now take about 0.75× as long).
  /** The loop over k: `step` bytes per pass, `perPass` its body at address d + k (+ offset). */
  const passes = (step: number, perPass: (offset: number) => number[][]) => {
    const loop = [op.block, op.loop, get(k), op.i32Const(step), op.i32Add, get(len), op.i32GtU, op.brIf(1)];
    for (let offset = 0; offset < step; offset += 16) loop.push(...perPass(offset));
    loop.push(get(k), op.i32Const(step), op.i32Add, set(k), op.br(0), op.end, op.end);
    return loop;
  };
  /** Zeros at d for len bytes (a multiple of 16). */
  const zeroAt = (offset: number) => [get(d), get(k), op.i32Add, get(zero), op.v128Store(offset)];
  const zeros = [op.i32Const(0), set(k), ...passes(64, zeroAt), ...passes(16, zeroAt)];
  /** len bytes from src to d. */
  const copyAt = (offset: number) => [get(d), get(k), op.i32Add, get(src), get(k), op.i32Add, op.v128Load(offset), op.v128Store(offset)];
  const copy = [op.i32Const(0), set(k), ...passes(64, copyAt), ...passes(16, copyAt)];
  const body: number[][] = [];
  body.push(op.f32Const(0), op.f32x4Splat, set(zero), get(dstIn), set(dst));
  body.push(get(fw), get(cinBytes), op.i32Mul, set(rowBytes), op.i32Const(0), set(n));
  body.push(op.block, op.loop, get(n), get(count), op.i32GeU, op.brIf(1));
  body.push(op.i32Const(0), set(i));
  body.push(op.block, op.loop, get(i), get(fh), op.i32GeU, op.brIf(1));
  body.push(get(r), get(sh), op.i32Mul, get(i), op.i32Add, get(top), op.i32Sub, set(ih));
  // A filter row inside the image (unsigned: a negative row is outside too).
  body.push(get(ih), get(h), op.i32LtU, op.if);
  body.push(get(q), get(sw), op.i32Mul, get(left), op.i32Sub, set(colOff));
  // Taps [jLo, jHi) read inside the row: jLo = clamp(−colOff, 0, fw), jHi = clamp(w − colOff, jLo, fw).
  body.push(op.i32Const(0), get(colOff), op.i32Sub, op.i32Const(0), get(colOff), op.i32Const(0), op.i32LtS, op.select, set(jLo));
  body.push(get(fw), get(jLo), get(jLo), get(fw), op.i32GtS, op.select, set(jLo));
  body.push(get(w), get(colOff), op.i32Sub, set(jHi));
  body.push(get(fw), get(jHi), get(jHi), get(fw), op.i32GtS, op.select, set(jHi));
  body.push(get(jLo), get(jHi), get(jHi), get(jLo), op.i32LtS, op.select, set(jHi));
  body.push(get(dst), set(d), get(jLo), get(cinBytes), op.i32Mul, set(len), ...zeros);
  body.push(get(dst), get(jLo), get(cinBytes), op.i32Mul, op.i32Add, set(d));
  body.push(
    get(b),
    get(h),
    op.i32Mul,
    get(ih),
    op.i32Add,
    get(w),
    op.i32Mul,
    get(colOff),
    op.i32Add,
    get(jLo),
    op.i32Add,
    get(cinBytes),
    op.i32Mul,
    get(x),
    op.i32Add,
    set(src),
  );
  body.push(get(jHi), get(jLo), op.i32Sub, get(cinBytes), op.i32Mul, set(len), ...copy);
  body.push(get(dst), get(jHi), get(cinBytes), op.i32Mul, op.i32Add, set(d), get(fw), get(jHi), op.i32Sub, get(cinBytes), op.i32Mul, set(len), ...zeros);
  body.push(op.else, get(dst), set(d), get(rowBytes), set(len), ...zeros, op.end);
  body.push(get(dst), get(rowBytes), op.i32Add, set(dst));
  body.push(get(i), op.i32Const(1), op.i32Add, set(i), op.br(0), op.end, op.end);
  // The next output position: q, then r, then b.
  body.push(get(q), op.i32Const(1), op.i32Add, set(q));
  body.push(get(q), get(ow), op.i32Eq, op.if, op.i32Const(0), set(q), get(r), op.i32Const(1), op.i32Add, set(r), op.end);
  body.push(get(r), get(oh), op.i32Eq, op.if, op.i32Const(0), set(r), get(b), op.i32Const(1), op.i32Add, set(b), op.end);
  body.push(get(n), op.i32Const(1), op.i32Add, set(n), op.br(0), op.end, op.end);
  return { exportName: 'patchRows', params: Array<ValueType>(17).fill(I32), locals: [...Array<ValueType>(12).fill(I32), V128], body };
}

/** The kernels over `memory` (the wasm backend's `wasm.asm.memory`, or a scratch memory). */
export const simdKernelsFor = kernelsOver<SimdKernels>(() => [
  adamFunction(),
  maxPoolGradFunction(),
  reluGradFunction(),
  weightedSumFunction(),
  sumRowsFunction(),
  gridChannelsFunction(),
  dropoutMaskFunction(),
  patchRowsFunction(),
  winogradInputFunction(),
  winogradOutputFunction(),
  winogradGradOutputFunction(),
  winogradFilterFunction(),
  winogradFilterGradFunction(),
  borderedCopyFunction(),
]);

/** The wasm backend's memory, when the backend exposes it (tfjs-backend-wasm's Emscripten module does). */
export function backendMemory(backend: unknown): WebAssembly.Memory | null {
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** The kernels over the wasm backend's own memory, or null when the backend does not expose it (callers then compute in JavaScript or with tfjs). */
export function backendSimdKernels(backend: unknown): SimdKernels | null {
  const memory = backendMemory(backend);
  return memory ? simdKernelsFor(memory) : null;
}
