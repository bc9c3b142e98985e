/**
 * `Conv2DBackpropFilter` (the conv weight gradient, missing on wasm): dW = Pᵀ·DY with Pᵀ built
 * directly in the layout XNNPACK's untransposed matmul takes, on a shared zero-bordered grid or by
 * dense im2col (see below); on the native engine, dense im2col builds P itself, a row of runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import {
  call1,
  dispose,
  engines,
  heapOf,
  heapOffset,
  reshape,
  sizeOf,
  transpose,
  zeros,
  type Kernel,
  type WasmBackendLike,
  type WasmKernelConfig,
} from './kernel-calls.ts';
import { convInfoOf } from './conv.ts';
import { nativeProduct } from './matmul.ts';
import { sliceHeap } from './slice.ts';
import { backendSimdKernels } from '../simd-kernels.ts';
import { winogradApplies, winogradFilterGrad } from './winograd.ts';

// Conv2DBackpropFilter: dW = Pᵀ·DY on XNNPACK's matmul path.
//
// With P the im2col patch matrix ([n·oh·ow, fh·fw·cin], row (b, r, q) = the input values the filter
// meets at output position (b, r, q)) and DY = dy as [n·oh·ow, cout], the weight gradient is
// dW = Pᵀ·DY, which as a [fh·fw·cin, cout] matrix is already dW's [fh, fw, cin, cout] layout. Pᵀ is
// built directly (row-major [fh·fw·cin, n·oh·ow]) so the product needs no transpose flag — the only
// case the shipped BatchMatMul hands to XNNPACK — and XNNPACK packs only DY (its right operand).
//
// Pᵀ is built one of two ways:
// - Grid (stride 1): the images are laid on a zero-bordered grid shared by neighbours (one border
//   row/column between images, not two), transposed to [cin, grid] (in one SIMD pass, ../simd-kernels.ts
//   `gridChannels`, when pixels and channels come in fours). On that grid every filter tap is
//   a constant shift, so the tap's [cin, grid] block of Pᵀ is ONE contiguous window of the transposed
//   grid: fh·fw memmoves build all of Pᵀ. dy is laid on the same grid with zeros on the border
//   positions, so those extra columns of Pᵀ contribute nothing. Cost: the border columns are multiplied
//   too ((h+1)(w+1)/(h·w) more FLOPs for 'same' 3x3: +6% at 32x32, +13% at 16x16, +27% at 8x8).
// - Dense im2col (any stride/padding, and small images where the grid's border costs more than it
//   saves). With the native engine (matmul.ts `nativeProduct`), whose product takes a transposed
//   left operand, P itself is built ([n·oh·ow, fh·fw·cin]) straight from NHWC x: each output
//   position's row is one run of fw·cin values per filter row (cin per tap when dilated or at an
//   edge), a block copy, by the forward convolution's SIMD kernel (../simd-kernels.ts `patchRows`)
//   when the channels come in fours and nothing is dilated, else in JS. Without it (XNNPACK), Pᵀ's rows are gathered element by element in JS from
//   x transposed to [cin, n, h, w] (contiguous runs along each output row, zeros in the padding);
//   for the CNN's 8×8 layers that gather took 15–20 ms of a 240 ms step, the copies about a fifth.
//
// Work is split over the batch in whole images so that each product's operands stay cache-sized and
// Pᵀ's memory is bounded (filterGradTuning); the partial products are summed in JS. DY is always a
// fresh tensor: the wasm matmul caches its XNNPACK operator (the packed right operand) by the right
// operand's tensor id alone, so it must not be a tensor that outlives this kernel or is reused with
// another shape. What remains over the forward conv's cost (about 1.4x on the CNN) is XNNPACK packing
// DY (scalar code, a few ns per element; the forward conv packs only its small filter), building Pᵀ,
// and the grid's border FLOPs.
//
// Grid and dense agree with the cpu backend up to float32 summation order, with one exception: a
// non-finite x value is also met (times a zero of dy) at border positions, so it can turn a few more
// entries NaN than on the cpu backend — by then the forward pass is non-finite too.

/**
 * Tuning of the Conv2DBackpropFilter kernel, measured on genrelens' CNN (batch 64). Mutable so tests
 * can force either path and shrink the blocks to exercise the split over the batch.
 */
export const filterGradTuning = {
  /** Pᵀ floats per product on the grid path (4 MB: 1–6 images per product for the CNN). */
  gridBlockFloats: 1 << 20,
  /** Pᵀ floats per product on the dense path (64 MB: bounds memory; splitting measured no faster). */
  denseBlockFloats: 1 << 24,
  /** The grid path is used (stride 1) while its border adds at most this fraction of FLOPs. */
  gridMaxExtra: 0.2,
};

interface PatchGeometry {
  n: number;
  h: number;
  w: number;
  cin: number;
  oh: number;
  ow: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
}

/**
 * Writes the dense Pᵀ block of images [b0, b0 + nb) at heap[dst…]: [fh·fw·cin, nb·oh·ow] row-major,
 * row (i, j, c), column (b, r, q) = x[b, r·sh + i·dh − top, q·sw + j·dw − left, c], or 0 in the
 * padding. x is read from heap[src…] laid out [cin, n, h, w], so each output row is a run along x's
 * row.
 */
function fillPatchesT(heap: Float32Array, dst: number, src: number, g: PatchGeometry, b0: number, nb: number): void {
  const { n, h, w, cin, oh, ow, fh, fw, sh, sw, dh, dw, top, left } = g;
  const plane = h * w;
  let d = dst;
  for (let i = 0; i < fh; i++) {
    const rowOff = i * dh - top; // input row of output row r: r·sh + rowOff
    for (let j = 0; j < fw; j++) {
      const colOff = j * dw - left; // input column of output column q: q·sw + colOff
      // Output columns [qLo, qHi) read inside the row; the rest read padding.
      const qLo = Math.min(ow, Math.max(0, Math.ceil(-colOff / sw)));
      const qHi = Math.max(qLo, Math.min(ow, Math.floor((w - 1 - colOff) / sw) + 1));
      for (let c = 0; c < cin; c++) {
        for (let b = b0; b < b0 + nb; b++) {
          const planeBase = src + (c * n + b) * plane;
          for (let r = 0; r < oh; r++) {
            const ih = r * sh + rowOff;
            if (ih < 0 || ih >= h) {
              for (let q = 0; q < ow; q++) heap[d++] = 0;
              continue;
            }
            const s = planeBase + ih * w + colOff;
            let q = 0;
            for (; q < qLo; q++) heap[d++] = 0;
            if (sw === 1) for (; q < qHi; q++) heap[d++] = heap[s + q];
            else for (; q < qHi; q++) heap[d++] = heap[s + q * sw];
            for (; q < ow; q++) heap[d++] = 0;
          }
        }
      }
    }
  }
}

/** heap[dst…dst+length) = heap[src…src+length): a block copy, or a loop for short runs (few channels), where the call costs more than the copy. */
function copyRun(heap: Float32Array, dst: number, src: number, length: number): void {
  if (length >= 32) heap.copyWithin(dst, src, src + length);
  else for (let i = 0; i < length; i++) heap[dst + i] = heap[src + i];
}

/**
 * Writes the dense P block of images [b0, b0 + nb) at heap[dst…]: [nb·oh·ow, fh·fw·cin] row-major,
 * row (b, r, q), column (i, j, c) = x[b, r·sh + i·dh − top, q·sw + j·dw − left, c], or 0 in the
 * padding. x is NHWC at heap[src…]: the taps of one filter row inside the image are one run
 * (dw = 1) or one run each.
 */
function fillPatches(heap: Float32Array, dst: number, src: number, g: PatchGeometry, b0: number, nb: number): void {
  const { h, w, cin, oh, ow, fh, fw, sh, sw, dh, dw, top, left } = g;
  const tap = cin;
  const filterRow = fw * cin;
  let d = dst;
  for (let b = b0; b < b0 + nb; b++) {
    const image = src + b * h * w * cin;
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const colOff = q * sw - left; // input column of tap j: colOff + j·dw
        // Taps [jLo, jHi) read inside the row; the rest read padding.
        const jLo = Math.min(fw, Math.max(0, Math.ceil(-colOff / dw)));
        const jHi = Math.max(jLo, Math.min(fw, Math.floor((w - 1 - colOff) / dw) + 1));
        for (let i = 0; i < fh; i++) {
          const ih = r * sh + i * dh - top;
          if (ih < 0 || ih >= h) {
            heap.fill(0, d, d + filterRow);
            d += filterRow;
            continue;
          }
          const rowStart = image + ih * w * cin;
          if (jLo > 0) heap.fill(0, d, d + jLo * tap);
          if (dw === 1) {
            copyRun(heap, d + jLo * tap, rowStart + (colOff + jLo) * cin, (jHi - jLo) * tap);
          } else {
            for (let j = jLo; j < jHi; j++) copyRun(heap, d + j * tap, rowStart + (colOff + j * dw) * cin, tap);
          }
          if (jHi < fw) heap.fill(0, d + jHi * tap, d + filterRow);
          d += filterRow;
        }
      }
    }
  }
}

/**
 * One row of the zero-bordered grid at heap[dst…dst+gridLength): the source row heap[src…src+length)
 * followed by zeros, or only zeros for a border row (`inside` false).
 */
function placeGridRow(heap: Float32Array, dst: number, src: number, length: number, gridLength: number, inside: boolean): void {
  if (inside) {
    heap.copyWithin(dst, src, src + length);
    heap.fill(0, dst + length, dst + gridLength);
  } else {
    heap.fill(0, dst, dst + gridLength);
  }
}

/**
 * Σ over chunks of A_chunk·B_chunk ([1, k, m_c] · [1, m_c, cout], or A_chunkᵀ·B_chunk with A_chunk
 * [m_c, k] when `transA`) on the native engine or the shipped BatchMatMul (XNNPACK), summed in JS.
 * `make` builds one chunk's operands; both are disposed here.
 */
function sumOfProducts(backend: WasmBackendLike, count: number, transA: boolean, make: (chunk: number) => { a: TensorInfo; b: TensorInfo }): TensorInfo {
  let acc: TensorInfo | null = null;
  for (let c = 0; c < count; c++) {
    const { a, b } = make(c);
    const part = nativeProduct(backend, a, b, transA, false, undefined) ?? call1(tf.BatchMatMul, { a, b }, { transposeA: transA, transposeB: false }, backend);
    dispose(backend, a, b);
    if (!acc) {
      acc = part;
      continue;
    }
    const [heap, at] = heapOf(backend, acc);
    const pt = heapOf(backend, part)[1];
    const size = sizeOf(acc.shape);
    for (let i = 0; i < size; i++) heap[at + i] += heap[pt + i];
    dispose(backend, part);
  }
  return acc!;
}

/** dW by dense im2col: P built by runs on the native engine (fillPatches), else Pᵀ gathered in JS (fillPatchesT). x and dy are NHWC. */
function filterGradDense(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, g: PatchGeometry, cout: number): TensorInfo {
  const native = engines.native !== null;
  const xT = native ? null : transpose(backend, x, [3, 0, 1, 2]); // [cin, n, h, w]
  // P's rows in WebAssembly SIMD (the forward convolution's patchRows: the same rows, ../simd-kernels.ts)
  // when the channels come in fours and nothing is dilated; else in JS (the CNN's first layer, 3 channels).
  const kernels = native && g.cin % 4 === 0 && g.dh === 1 && g.dw === 1 ? backendSimdKernels(backend) : null;
  const k = g.fh * g.fw * g.cin;
  const perImage = g.oh * g.ow;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(filterGradTuning.denseBlockFloats / (k * perImage))));
  const result = sumOfProducts(backend, Math.ceil(g.n / chunk), native, (c) => {
    const b0 = c * chunk;
    const nb = Math.min(chunk, g.n - b0);
    const dyc = sliceHeap(backend, dy, [b0, 0, 0, 0], [nb, g.oh, g.ow, cout]); // a fresh copy (see above)
    const b = reshape(backend, dyc, [1, nb * perImage, cout]);
    dispose(backend, dyc);
    if (!xT) {
      const a = backend.makeOutput([1, nb * perImage, k], 'float32');
      if (kernels) {
        const { oh, ow, h, w, cin, fh, fw, sh, sw, top, left } = g;
        kernels.patchRows(heapOffset(backend, x), heapOffset(backend, a), nb * perImage, b0, 0, 0, oh, ow, h, w, 4 * cin, fh, fw, sh, sw, top, left);
        return { a, b };
      }
      const [heap, at] = heapOf(backend, a);
      fillPatches(heap, at, heapOf(backend, x)[1], g, b0, nb);
      return { a, b };
    }
    const a = backend.makeOutput([1, k, nb * perImage], 'float32');
    const [heap, at] = heapOf(backend, a);
    fillPatchesT(heap, at, heapOf(backend, xT)[1], g, b0, nb);
    return { a, b };
  });
  if (xT) dispose(backend, xT);
  return result;
}

/** Rows and columns per image of the grid layout (stride 1): the image plus its border. */
function gridOf(g: PatchGeometry): { hs: number; ws: number } {
  // Taps read rows r + i·dh − top for output rows r < oh: the border must cover the reads above
  // (top) and below (…− h) the image, and the grid must hold every output row (oh ≤ hs).
  const ph = Math.max(g.top, g.oh + (g.fh - 1) * g.dh - g.top - g.h, g.oh - g.h, 0);
  const pw = Math.max(g.left, g.ow + (g.fw - 1) * g.dw - g.left - g.w, g.ow - g.w, 0);
  return { hs: g.h + ph, ws: g.w + pw };
}

/**
 * Images [b0, b0 + nb) of NHWC `t` (rows × cols × channels each) on the grid, NHWC: hs × ws positions
 * per image, zeros on the border; `shape` is the result's ([nb·hs·ws, channels] as any shape).
 */
function placeOnGrid(
  backend: WasmBackendLike,
  t: TensorInfo,
  rows: number,
  cols: number,
  channels: number,
  b0: number,
  nb: number,
  hs: number,
  ws: number,
  shape: number[],
): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  const [heap, at] = heapOf(backend, t);
  const outAt = heapOf(backend, out)[1];
  const row = cols * channels;
  const gridRow = ws * channels;
  for (let bi = 0; bi < nb; bi++) {
    for (let y = 0; y < hs; y++) placeGridRow(heap, outAt + (bi * hs + y) * gridRow, at + ((b0 + bi) * rows + y) * row, row, gridRow, y < rows);
  }
  return out;
}

/**
 * x's images [b0, b0 + nb) on the grid, transposed to [cin, nb·hs·ws]: in one SIMD pass when pixels
 * and channels come in fours (../simd-kernels.ts `gridChannels`), else placed on the grid and transposed.
 */
function transposedGrid(backend: WasmBackendLike, x: TensorInfo, g: PatchGeometry, b0: number, nb: number, hs: number, ws: number): TensorInfo {
  const { h, w, cin } = g;
  const mg = nb * hs * ws;
  const kernels = cin % 4 === 0 && w % 4 === 0 ? backendSimdKernels(backend) : null;
  if (kernels) {
    const out = backend.makeOutput([cin, mg], 'float32');
    kernels.gridChannels(heapOffset(backend, x) + 4 * b0 * h * w * cin, heapOffset(backend, out), nb, h, w, hs, ws, cin, mg);
    return out;
  }
  const xg = placeOnGrid(backend, x, h, w, cin, b0, nb, hs, ws, [mg, cin]);
  const xgT = transpose(backend, xg, [1, 0]);
  dispose(backend, xg);
  return xgT;
}

/**
 * dW on the grid (stride 1). Grid position (b, y, x) ↦ (b·hs + y)·ws + x holds x[b, y, x] for y < h,
 * x < w and 0 elsewhere (the border). Output (b, r, q) sits at grid position (b, r, q); its tap (i, j)
 * reads grid position + (i·dh − top)·ws + (j·dw − left). When that image coordinate is outside the
 * image, the linear position lands on a border (the row above image b is the border below image
 * b − 1, a column left of a row is the border right of the row before), since the border is at least
 * as wide as the padding on either side. So tap (i, j)'s block of Pᵀ, [cin, grid], is the transposed
 * grid [cin, grid] read at a constant shift — one contiguous window. Its ends that fall outside the
 * buffer are zero-filled; what a window reads across a channel boundary is only ever met at a border
 * output position, where dy is laid as 0.
 */
function filterGradGrid(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, g: PatchGeometry, cout: number): TensorInfo {
  const { n, cin, oh, ow, fh, fw, dh, dw, top, left } = g;
  const { hs, ws } = gridOf(g);
  const cell = hs * ws;
  const k = fh * fw * cin;
  const chunk = Math.max(1, Math.min(n, Math.floor(filterGradTuning.gridBlockFloats / (k * cell))));
  return sumOfProducts(backend, Math.ceil(n / chunk), false, (c) => {
    const b0 = c * chunk;
    const nb = Math.min(chunk, n - b0);
    const mg = nb * cell;
    const b = placeOnGrid(backend, dy, oh, ow, cout, b0, nb, hs, ws, [1, mg, cout]); // dy on the grid
    const xgT = transposedGrid(backend, x, g, b0, nb, hs, ws); // [cin, mg]
    const a = backend.makeOutput([1, k, mg], 'float32');
    const [heap, src] = heapOf(backend, xgT);
    let d = heapOf(backend, a)[1];
    const len = cin * mg;
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const shift = (i * dh - top) * ws + (j * dw - left);
        const lo = Math.min(len, Math.max(0, -shift));
        const hi = Math.max(lo, Math.min(len, len - shift));
        heap.fill(0, d, d + lo);
        heap.copyWithin(d + lo, src + lo + shift, src + hi + shift);
        heap.fill(0, d + hi, d + len);
        d += len;
      }
    }
    dispose(backend, xgT);
    return { a, b };
  });
}

function geometryOf(info: ReturnType<typeof convInfoOf>): PatchGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    cin: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

function usesGrid(g: PatchGeometry): boolean {
  if (g.sh !== 1 || g.sw !== 1) return false;
  const { hs, ws } = gridOf(g);
  return (hs * ws) / (g.oh * g.ow) <= 1 + filterGradTuning.gridMaxExtra;
}

/** Whether Winograd's F(2×2, 3×3) computes this weight gradient (./winograd.ts; NHWC, on the native engine). */
function usesWinograd(info: ReturnType<typeof convInfoOf>): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return (
    info.dataFormat === 'channelsLast' &&
    winogradApplies(
      [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
      [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
      [info.strideHeight, info.strideWidth],
      [info.dilationHeight, info.dilationWidth],
      { top, bottom, left, right },
    )
  );
}

/**
 * How the Conv2DBackpropFilter kernel computes for these shapes and attrs (as given to the kernel),
 * with the current engine and tunings: 'winograd' (./winograd.ts), else Pᵀ·DY with Pᵀ built on the
 * 'grid' or 'dense' (see above).
 */
export function filterGradMethod(xShape: number[], filterShape: number[], attrs: Record<string, unknown>): 'winograd' | 'grid' | 'dense' {
  const info = convInfoOf(xShape, filterShape, attrs);
  if (engines.native && usesWinograd(info)) return 'winograd';
  return usesGrid(geometryOf(info)) ? 'grid' : 'dense';
}

const conv2DBackpropFilterKernel: Kernel = ({ inputs, attrs, backend }) => {
  let { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const info = convInfoOf(x.shape, filterShape, attrs);
  const g = geometryOf(info);
  const cout = info.outChannels;
  if (g.n * g.oh * g.ow === 0 || g.fh * g.fw * g.cin * cout === 0) return zeros(backend, filterShape);
  const temps: TensorInfo[] = [];
  if (info.dataFormat === 'channelsFirst') {
    x = transpose(backend, x, [0, 2, 3, 1]);
    dy = transpose(backend, dy, [0, 2, 3, 1]);
    temps.push(x, dy);
  }
  const engine = engines.native;
  const kernels = engine && usesWinograd(info) ? backendSimdKernels(backend) : null;
  let product: TensorInfo;
  if (engine && kernels) product = winogradFilterGrad(backend, engine, kernels, x, dy);
  else product = usesGrid(g) ? filterGradGrid(backend, x, dy, g, cout) : filterGradDense(backend, x, dy, g, cout);
  const result = reshape(backend, product, filterShape);
  dispose(backend, product, ...temps);
  return result;
};

export const conv2DBackpropFilterConfig: WasmKernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  kernel: conv2DBackpropFilterKernel,
  kind: 'missing',
  why: 'missing on wasm: conv weight gradient',
};
