/**
 * Convolutions: `Conv2D` / `FusedConv2D` on the native engine when set (a matrix product of the
 * patch matrix when the input channels come in fours, else ONNX Runtime's Conv; without the engine
 * the shipped XNNPACK kernel), and `Conv2DBackpropInput` as a convolution of the zero-dilated output gradient with the
 * flipped, in/out-swapped filter (the shipped one is a naive loop).
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import {
  activate,
  call1,
  callKernel,
  dispose,
  engines,
  heapOffset,
  sizeOf,
  transpose,
  zeros,
  type Kernel,
  type WasmBackendLike,
  type WasmKernelConfig,
} from './kernel-calls.ts';
import { backendSimdKernels, type SimdKernels } from '../simd-kernels.ts';
import { winogradApplies, winogradConv } from './winograd.ts';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

export function convInfoOf(inShape: number[], filterShape: number[], attrs: Record<string, unknown>): ReturnType<typeof tf.backend_util.computeConv2DInfo> {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW') ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat,
  );
}

interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * NHWC conv2d (+ bias) of an HWIO filter computed by the native engine straight from and into the
 * wasm heap, or null without one (or for shapes it is not given: non-float32, a bias that is not
 * one value per output channel).
 */
function nativeConv(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  pads: Pads,
  strides: [number, number],
  dilations: [number, number],
  outShape: number[],
): TensorInfo | null {
  const engine = engines.native;
  if (!engine || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (bias && (bias.dtype !== 'float32' || sizeOf(bias.shape) !== filter.shape[3])) return null;
  if (Math.min(pads.top, pads.bottom, pads.left, pads.right) < 0 || sizeOf(x.shape) * sizeOf(filter.shape) * sizeOf(outShape) === 0) return null;
  const out = backend.makeOutput(outShape, 'float32');
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [fh, fw, cin, cout] = filter.shape;
  const unpadded = pads.top + pads.bottom + pads.left + pads.right === 0;
  if (fh === 1 && fw === 1 && strides[0] === 1 && strides[1] === 1 && unpadded) {
    // A pointwise convolution of NHWC data is one [n·h·w, cin] × [cin, cout] product: no layout
    // transposes around it (MobileNet's expand and project layers).
    engine.gemm({
      a: view(x),
      b: view(filter),
      bias: bias ? view(bias) : undefined,
      out: view(out),
      m: sizeOf(x.shape) / cin,
      k: cin,
      n: cout,
      transA: false,
      transB: false,
    });
    return out;
  }
  const kernels = cin % 4 === 0 && dilations[0] === 1 && dilations[1] === 1 ? backendSimdKernels(backend) : null;
  if (kernels && winogradApplies(x.shape, filter.shape, strides, dilations, pads)) {
    winogradConv(backend, engine, kernels, x, filter, bias, out);
    return out;
  }
  if (kernels) {
    patchProducts(backend, engine, kernels, x, filter, bias, out, pads, strides);
    return out;
  }
  engine.conv2d({
    x: view(x),
    xShape: x.shape as [number, number, number, number],
    filter: view(filter),
    filterShape: filter.shape as [number, number, number, number],
    bias: bias ? view(bias) : undefined,
    out: view(out),
    pads,
    strides,
    dilations,
  });
  return out;
}

/** Patch-matrix floats per product (`patchProducts`); mutable so tests can force several blocks. */
export const convTuning = { patchBlockFloats: 1 << 20 };

/**
 * out = P·W (+ bias), block by block of rows, with P the im2col patch matrix of NHWC x built in the
 * wasm heap (../simd-kernels.ts `patchRows`) and W the HWIO filter read as [fh·fw·cin, cout]: the
 * output comes out NHWC, with no layout transposes. For the CNN's 3×3 layers the products ran at
 * 150–200 GFLOP/s against 85–145 for ONNX Runtime's Conv between NHWC↔NCHW transposes (whose own
 * im2col works in NCHW), measured per layer on one core.
 */
function patchProducts(
  backend: WasmBackendLike,
  engine: NonNullable<(typeof engines)['native']>,
  kernels: SimdKernels,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  out: TensorInfo,
  pads: Pads,
  strides: [number, number],
): void {
  const [n, h, w, cin] = x.shape;
  const [fh, fw, , cout] = filter.shape;
  const [, oh, ow] = out.shape;
  const k = fh * fw * cin;
  const rows = n * oh * ow;
  const block = Math.max(1, Math.min(rows, Math.floor(convTuning.patchBlockFloats / k)));
  const patches = backend.makeOutput([block * k], 'float32');
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  for (let row = 0; row < rows; row += block) {
    const count = Math.min(block, rows - row);
    const image = Math.floor(row / (oh * ow));
    const within = row % (oh * ow);
    kernels.patchRows(
      heapOffset(backend, x),
      heapOffset(backend, patches),
      count,
      image,
      Math.floor(within / ow),
      within % ow,
      oh,
      ow,
      h,
      w,
      4 * cin,
      fh,
      fw,
      strides[0],
      strides[1],
      pads.top,
      pads.left,
    );
    engine.gemm({
      a: view(patches).subarray(0, count * k),
      b: view(filter),
      bias: bias ? view(bias) : undefined,
      out: view(out).subarray(row * cout, (row + count) * cout),
      m: count,
      k,
      n: cout,
      transA: false,
      transB: false,
    });
  }
  dispose(backend, patches);
}

/** Conv2D / FusedConv2D on the native engine, when there is one and the data is NHWC. */
function nativeConvKernel(inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, backend: WasmBackendLike): TensorInfo | null {
  if (!engines.native || ((attrs.dataFormat as string | undefined) ?? 'NHWC') !== 'NHWC') return null;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const info = convInfoOf(x.shape, filter.shape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  const out = nativeConv(
    backend,
    x,
    filter,
    bias,
    { top, bottom, left, right },
    [info.strideHeight, info.strideWidth],
    [info.dilationHeight, info.dilationWidth],
    info.outShape,
  );
  if (!out) return null;
  const result = activate(backend, out, attrs, preluActivationWeights);
  if (result !== out) dispose(backend, out);
  return result;
}

const conv2DKernel: Kernel = ({ inputs, attrs, backend }) => nativeConvKernel(inputs, attrs, backend) ?? callKernel(tf.Conv2D, inputs, attrs, backend);

const fusedConv2DKernel: Kernel = ({ inputs, attrs, backend }) =>
  nativeConvKernel(inputs, attrs, backend) ?? callKernel(tf.FusedConv2D, inputs, attrs, backend);

/** NHWC Conv2D with explicit (asymmetric, non-negative) padding: native, else the shipped XNNPACK kernel. */
function conv2dExplicit(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, dilations: [number, number], pads: Pads): TensorInfo {
  const [n, h, w] = x.shape;
  const [fh, fw, , cout] = filter.shape;
  const outShape = [n, h + pads.top + pads.bottom - dilations[0] * (fh - 1), w + pads.left + pads.right - dilations[1] * (fw - 1), cout];
  const fast = nativeConv(backend, x, filter, undefined, pads, [1, 1], dilations, outShape);
  if (fast) return fast;
  return call1(
    tf.Conv2D,
    { x, filter },
    {
      strides: [1, 1],
      dilations,
      pad: [
        [0, 0],
        [pads.top, pads.bottom],
        [pads.left, pads.right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
    backend,
  );
}

const conv2DBackpropInputKernel: Kernel = ({ inputs, attrs, backend }) => {
  let { dy } = inputs;
  const { filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  const info = convInfoOf(inputShape, filter.shape, attrs);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const bottom = h - 1 - (oh - 1) * sh + info.padInfo.top;
  const right = w - 1 - (ow - 1) * sw + info.padInfo.left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0 || n * oh * ow === 0 || n * h * w * cin === 0) {
    return callKernel(tf.Conv2DBackpropInput, inputs, attrs, backend);
  }
  const temps: TensorInfo[] = [];
  const channelsFirst = info.dataFormat === 'channelsFirst';
  if (channelsFirst) {
    dy = transpose(backend, dy, [0, 2, 3, 1]);
    temps.push(dy);
  }
  // Zero-dilate dy by the stride.
  let dyD = dy;
  if (sh > 1 || sw > 1) {
    const hd = (oh - 1) * sh + 1;
    const wd = (ow - 1) * sw + 1;
    dyD = zeros(backend, [n, hd, wd, cout]);
    temps.push(dyD);
    const src = backend.typedArrayFromHeap(dy);
    const dst = backend.typedArrayFromHeap(dyD);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        for (let c = 0; c < ow; c++) {
          const s = ((b * oh + r) * ow + c) * cout;
          const d = ((b * hd + r * sh) * wd + c * sw) * cout;
          if (cout === 1) dst[d] = src[s];
          else dst.set(src.subarray(s, s + cout), d);
        }
      }
    }
  }
  // Filter rotated by 180 degrees with in/out channels swapped: [fh, fw, cout, cin].
  const flipped = backend.makeOutput([fh, fw, cout, cin], 'float32');
  temps.push(flipped);
  const fv = backend.typedArrayFromHeap(filter);
  const gv = backend.typedArrayFromHeap(flipped);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const srcBase = ((fh - 1 - i) * fw + (fw - 1 - j)) * cin * cout;
      const dstBase = (i * fw + j) * cout * cin;
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) gv[dstBase + co * cin + ci] = fv[srcBase + ci * cout + co];
      }
    }
  }
  let dx = conv2dExplicit(backend, dyD, flipped, [1, 1], { top, bottom, left, right });
  if (channelsFirst) {
    const t = dx;
    dx = transpose(backend, t, [0, 3, 1, 2]);
    temps.push(t);
  }
  dispose(backend, ...temps);
  return dx;
};

export const conv2DBackpropInputConfig: WasmKernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  kernel: conv2DBackpropInputKernel,
  kind: 'speed',
  why: 'shipped one is a naive loop: XNNPACK conv instead',
};

export const conv2DConfig: WasmKernelConfig = {
  kernelName: tf.Conv2D,
  kernel: conv2DKernel,
  kind: 'speed',
  why: 'native (onnxruntime-node) when it loads, else the shipped XNNPACK kernel',
};

export const fusedConv2DConfig: WasmKernelConfig = {
  kernelName: tf.FusedConv2D,
  kernel: fusedConv2DKernel,
  kind: 'speed',
  why: 'native (onnxruntime-node) when it loads, else the shipped XNNPACK kernel',
};
