/**
 * Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2016) for 3×3, stride-1, 'same'
 * convolutions of NHWC data whose channels come in fours and pair up at least
 * `winogradTuning.minChannelPairs` times (the CNN's Conv3–Conv6): the forward pass
 * and the input gradient (a convolution with the flipped filter, ./conv.ts) and the weight gradient
 * (./conv-filter-grad.ts). Each 2×2 output tile takes 16 multiply-adds per channel pair where direct
 * convolution takes 36: the products shrink 2.25 times, to 16 batched matrix products on the native
 * engine (ONNX Runtime's MLAS) between SIMD transforms (../winograd-simd.ts), block by block of tiles
 * so that each block's planes stay in cache.
 *   forward: Y = Aᵀ·[Σ_c U ⊙ V]·A with U = G·g·Gᵀ (the filter) and V = Bᵀ·d·B (each 4×4 input patch);
 *   weight gradient: dg = Gᵀ·[Σ_tiles V ⊙ (A·dY·Aᵀ)]·G.
 * The transforms add and subtract before the products, so results agree with direct convolution to
 * float32 rounding, not to the bit (tests/engine/winograd.test.ts: against the cpu backend's direct
 * convolution and its gradients).
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Conv2DCall, NativeKernels } from '../native-kernels.ts';
import { MAX_OUTPUT_FLOATS_PER_CALL } from '../native-kernels.ts';
import type { SimdKernels, WinogradBlock } from '../simd-kernels.ts';
import { dispose, engines, heapOffset, type WasmBackendLike } from './kernel-calls.ts';

/**
 * `enabled` off: direct convolution (registerWasmTrainingKernels' `winograd`). `blockFloats`: floats of
 * a block's larger plane stack (16 × tiles × channels; larger blocks measured slower, out of cache).
 * `minChannelPairs`: below cin·cout = 2,048 the 16 products are too narrow for MLAS to gain (measured
 * at 32 posters: Conv2, 32 → 32, its forward 8.0 against 7.8 ms, its weight gradient 12.1 against 11.4).
 * Mutable for tests and the bench.
 */
export const winogradTuning = { enabled: true, blockFloats: MAX_OUTPUT_FLOATS_PER_CALL, minChannelPairs: 2048 };

const counts = { calls: 0 };

/** Whether Winograd computes the convolutions it suits (on, with a native engine), and how many it computed in this thread so far (forward, input and weight gradients; for run.json). */
export function winogradStatus(): { active: boolean; calls: number } {
  return { active: winogradTuning.enabled && engines.native !== null, calls: counts.calls };
}

/** Whether a convolution of x [n, h, w, cin] with an HWIO filter is one Winograd computes. */
export function winogradApplies(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
  pads: Conv2DCall['pads'],
): boolean {
  const [, h, w, cin] = xShape;
  const [fh, fw, , cout] = filterShape;
  return (
    winogradTuning.enabled &&
    fh === 3 &&
    fw === 3 &&
    strides.every((s) => s === 1) &&
    dilations.every((d) => d === 1) &&
    pads.top === 1 &&
    pads.bottom === 1 &&
    pads.left === 1 &&
    pads.right === 1 &&
    h % 2 === 0 &&
    w % 2 === 0 &&
    cin % 4 === 0 &&
    cout % 4 === 0 &&
    cin * cout >= winogradTuning.minChannelPairs
  );
}

interface Geometry {
  n: number;
  h: number;
  w: number;
  tilesW: number;
  tilesPerImage: number;
  tiles: number;
}

function geometryOf(xShape: readonly number[]): Geometry {
  const [n, h, w] = xShape;
  const tilesW = w / 2;
  const tilesPerImage = (h / 2) * tilesW;
  return { n, h, w, tilesW, tilesPerImage, tiles: n * tilesPerImage };
}

/** Tiles per block: the larger of its two plane stacks holds at most winogradTuning.blockFloats. */
function blockTiles(g: Geometry, channels: number): number {
  const most = Math.max(1, Math.floor(winogradTuning.blockFloats / (16 * channels)));
  if (most >= g.tiles) return g.tiles;
  // Blocks of equal size, odd: planes a power of two apart would share the same cache sets.
  const tiles = Math.ceil(g.tiles / Math.ceil(g.tiles / most));
  return tiles % 2 === 0 ? Math.min(tiles + 1, g.tiles) : tiles;
}

/** A block's arguments to the SIMD transforms: `channels` per pixel of image data with `rowPixels` per row, `rows` per image. */
function block(src: number, dst: number, g: Geometry, first: number, count: number, rows: number, rowPixels: number, channels: number): WinogradBlock {
  const channelBytes = 4 * channels;
  return [src, dst, first, count, g.tilesW, g.tilesPerImage, rowPixels * channelBytes, rows * rowPixels * channelBytes, channelBytes, count * channelBytes];
}

/** x [n, h, w, c] with a border of zeros: [n, h + 2, w + 2, c]. */
function bordered(backend: WasmBackendLike, kernels: SimdKernels, x: TensorInfo): TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = backend.makeOutput([n, h + 2, w + 2, c], 'float32');
  kernels.borderedCopy(heapOffset(backend, x), heapOffset(backend, out), n, h, w, 4 * c);
  return out;
}

const view = (backend: WasmBackendLike, t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;

/** out = conv(x, filter) (+ bias), NHWC, 'same', stride 1 (winogradApplies). */
export function winogradConv(
  backend: WasmBackendLike,
  engine: NativeKernels,
  kernels: SimdKernels,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  out: TensorInfo,
): void {
  counts.calls++;
  const [, , cin, cout] = filter.shape;
  const g = geometryOf(x.shape);
  const tiles = blockTiles(g, Math.max(cin, cout));
  const xb = bordered(backend, kernels, x);
  const u = backend.makeOutput([16, cin, cout], 'float32');
  const v = backend.makeOutput([16 * tiles * cin], 'float32');
  const m = backend.makeOutput([16 * tiles * cout], 'float32');
  const at = (t: TensorInfo) => heapOffset(backend, t);
  kernels.winogradFilter(at(filter), at(u), (cin * cout) / 4, 4 * cin * cout);
  for (let first = 0; first < g.tiles; first += tiles) {
    const count = Math.min(tiles, g.tiles - first);
    kernels.winogradInput(...block(at(xb), at(v), g, first, count, g.h + 2, g.w + 2, cin));
    engine.batchedGemm({
      a: view(backend, v).subarray(0, 16 * count * cin),
      b: view(backend, u),
      out: view(backend, m).subarray(0, 16 * count * cout),
      batch: 16,
      m: count,
      k: cin,
      n: cout,
      transA: false,
    });
    kernels.winogradOutput(...block(at(m), at(out), g, first, count, g.h, g.w, cout), bias ? at(bias) : 0, bias ? 1 : 0);
  }
  dispose(backend, xb, u, v, m);
}

/** The weight gradient [3, 3, cin, cout] of conv(x, filter) for the output gradient dy (winogradApplies). */
export function winogradFilterGrad(backend: WasmBackendLike, engine: NativeKernels, kernels: SimdKernels, x: TensorInfo, dy: TensorInfo): TensorInfo {
  counts.calls++;
  const cin = x.shape[3];
  const cout = dy.shape[3];
  const g = geometryOf(x.shape);
  const tiles = blockTiles(g, Math.max(cin, cout));
  const xb = bordered(backend, kernels, x);
  const v = backend.makeOutput([16 * tiles * cin], 'float32');
  const z = backend.makeOutput([16 * tiles * cout], 'float32');
  // The blocks' products summed: each block's sum written to the other accumulator.
  const sums = [backend.makeOutput([16, cin, cout], 'float32'), backend.makeOutput([16, cin, cout], 'float32')];
  const dw = backend.makeOutput([3, 3, cin, cout], 'float32');
  const at = (t: TensorInfo) => heapOffset(backend, t);
  let blocks = 0;
  for (let first = 0; first < g.tiles; first += tiles, blocks++) {
    const count = Math.min(tiles, g.tiles - first);
    kernels.winogradInput(...block(at(xb), at(v), g, first, count, g.h + 2, g.w + 2, cin));
    kernels.winogradGradOutput(...block(at(dy), at(z), g, first, count, g.h, g.w, cout));
    engine.batchedGemm({
      a: view(backend, v).subarray(0, 16 * count * cin),
      b: view(backend, z).subarray(0, 16 * count * cout),
      addend: blocks > 0 ? view(backend, sums[(blocks + 1) % 2]) : undefined,
      out: view(backend, sums[blocks % 2]),
      batch: 16,
      m: cin,
      k: count,
      n: cout,
      transA: true,
    });
  }
  kernels.winogradFilterGrad(at(sums[(blocks + 1) % 2]), at(dw), (cin * cout) / 4, 4 * cin * cout);
  dispose(backend, xb, v, z, ...sums);
  return dw;
}
