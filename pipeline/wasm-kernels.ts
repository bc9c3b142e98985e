/**
 * Kernels that make `@tensorflow/tfjs-backend-wasm` (4.22.0) able to train genrelens' models, and
 * faster replacements for the shipped kernels that dominate a training step.
 *
 * Missing on wasm (training fails without them):
 * - `Conv2DBackpropFilter` (conv weight gradient): a stride-1 XNNPACK Conv2D over transposed operands
 *   — the input as [Cin, H, W, N] images, the output gradient as an [OH, OW, N, Cout] filter,
 *   dilated by the forward stride — gives [Cin, FH, FW, Cout], transposed back to [FH, FW, Cin, Cout].
 * - `UnsortedSegmentSum` (gradient of Gather, i.e. of Embedding): one pass over heap views.
 *
 * Shipped but slow or wrong (replaced):
 * - `Conv2DBackpropInput` is a naive loop; here it is an XNNPACK Conv2D over the zero-dilated output
 *   gradient with the spatially flipped, in/out-swapped filter ("full" correlation).
 * - `BatchMatMul` / `_FusedMatMul` only use XNNPACK when no transpose flag is set and both batch
 *   sizes are 1, and gradients always set a flag (the fallback loop also mis-indexes a fused bias
 *   for every row but the first). Here transposed operands are materialised first (O(size) vs
 *   O(M·N·K)), a batched left operand against a shared right one is folded into rows, and a plain
 *   product is computed as (op(B)ᵀ·op(A)ᵀ)ᵀ when that moves less memory (dy·Wᵀ for a big W); then
 *   the shipped kernel's XNNPACK path runs.
 * - `Slice` (and `Unpack`, `SplitV`, `StridedSlice`, which call the shipped slice function directly)
 *   copy the whole input out of the heap once per slice (`readSync`); here slices read heap views and
 *   copy only what they return.
 * - `MaxPoolGrad` searches each window from FLT_MIN (so windows without a positive value lose their
 *   gradient); here a first-maximum scatter like the cpu backend's, about 3x faster.
 * - `Reverse` (Bidirectional's time reversal) moves element by element; here whole rows at a time.
 * - `Identity` copies the tensor; here it shares the buffer (refcounted), as the cpu backend does.
 *
 * Every kernel here composes the backend's own registered kernels (Transpose, Conv2D, …) by calling
 * their `kernelFunc` directly, the way tfjs-backend-wasm's kernels call each other, and reads/writes
 * tensor memory through `backend.typedArrayFromHeap`. Heap views are taken after the last allocation
 * in a kernel, since growing the wasm memory detaches earlier views.
 */
import * as tf from '@tensorflow/tfjs';
// Registers the shipped wasm kernels first, so the ones replaced here are saved (and later delegated
// to) rather than registered over ours when the package is imported after this module.
import '@tensorflow/tfjs-backend-wasm';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackendLike {
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: DataType } | undefined;
  };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: TypedArray): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

type Kernel = (args: KernelArgs) => TensorInfo | TensorInfo[];

const BACKEND = 'wasm';

/** The shipped configs of the kernels replaced here, saved before they are unregistered. */
const shipped = new Map<string, KernelConfig>();
/** Kernels (per backend instance) whose `setupFunc` has been run by `callKernel`. */
const setUp = new WeakMap<object, Set<string>>();
/** Our kernel functions by name, to tell ours from someone else's when re-registering. */
const ours = new Map<string, KernelFunc>();

/**
 * Runs a wasm kernel's `kernelFunc` directly (no engine bookkeeping, no tape): the shipped version for
 * kernels this module replaced, otherwise the registered one. Its `setupFunc` (which binds the C++
 * entry point) runs first, once per backend instance, because kernels registered or unregistered
 * after the backend initialised never had it run.
 */
function callKernel(
  name: string,
  inputs: Record<string, TensorInfo> | TensorInfo[],
  attrs: Record<string, unknown>,
  backend: WasmBackendLike,
): TensorInfo | TensorInfo[] {
  const config = shipped.get(name) ?? tf.getKernel(name, BACKEND);
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  if (config.setupFunc) {
    let done = setUp.get(backend);
    if (!done) setUp.set(backend, (done = new Set()));
    if (!done.has(name)) {
      config.setupFunc(backend as unknown as tf.KernelBackend);
      done.add(name);
    }
  }
  return config.kernelFunc({
    inputs: inputs as unknown as tf.NamedTensorInfoMap,
    attrs: attrs as NamedAttrMap,
    backend: backend as unknown as tf.KernelBackend,
  });
}

function call1(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, backend: WasmBackendLike): TensorInfo {
  return callKernel(name, inputs, attrs, backend) as TensorInfo;
}

function dispose(backend: WasmBackendLike, ...infos: (TensorInfo | null | undefined)[]): void {
  for (const t of infos) if (t) backend.disposeData(t.dataId);
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return call1('Transpose', { x }, { perm }, backend);
}

function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return call1('Reshape', { x }, { shape }, backend);
}

// ---------------------------------------------------------------------------------------------
// Slice family

/**
 * Copies elements of x into a new contiguous tensor of `outShape`: along dim i, output index j reads
 * x index `start[i] + j * step[i]` (step +1 or -1). Slices and reversals are both this. Trailing
 * dimensions read whole and forwards are merged into one contiguous run, and each run is moved with
 * `copyWithin` on a view of the whole wasm heap (a memmove, no allocation per run).
 */
export function stridedCopy(backend: WasmBackendLike, x: TensorInfo, outShape: number[], start: number[], step: number[]): TensorInfo {
  const out = backend.makeOutput(outShape.slice(), x.dtype);
  if (sizeOf(outShape) === 0) return out;
  // Views after the allocation above (growing the heap detaches older views).
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const Heap = xv.constructor as new (buffer: ArrayBufferLike) => TypedArray;
  const heap = new Heap(xv.buffer);
  const bpe = xv.BYTES_PER_ELEMENT;
  const xBase = xv.byteOffset / bpe;
  let o = ov.byteOffset / bpe;
  const rank = x.shape.length;
  if (rank === 0) {
    heap[o] = heap[xBase];
    return out;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * x.shape[i + 1];
  // k: the last dim that is not read whole and forwards (all dims after k are).
  let k = rank - 1;
  while (k >= 0 && step[k] === 1 && start[k] === 0 && outShape[k] === x.shape[k]) k--;
  if (k < 0) {
    heap.copyWithin(o, xBase, xBase + sizeOf(outShape));
    return out;
  }
  // Dims iterated one by one: 0..k-1, plus k itself when it runs backwards.
  let run: number;
  let loopDims: number;
  if (step[k] === 1) {
    run = outShape[k] * strides[k];
    loopDims = k;
  } else {
    run = strides[k];
    loopDims = k + 1;
  }
  let off = xBase;
  for (let i = 0; i < rank; i++) off += start[i] * strides[i];
  if (loopDims === 0) {
    heap.copyWithin(o, off, off + run);
    return out;
  }
  const idx = new Array<number>(loopDims).fill(0);
  const inc = new Array<number>(loopDims);
  for (let i = 0; i < loopDims; i++) inc[i] = step[i] * strides[i];
  const last = loopDims - 1;
  for (;;) {
    if (run === 1) heap[o] = heap[off];
    else heap.copyWithin(o, off, off + run);
    o += run;
    // Advance the odometer, keeping `off` in step.
    let d = last;
    off += inc[d];
    while (++idx[d] === outShape[d]) {
      off -= inc[d] * outShape[d];
      idx[d] = 0;
      if (--d < 0) return out;
      off += inc[d];
    }
  }
}

/** x[begin : begin + size] as a new tensor (see stridedCopy). */
export function sliceHeap(backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return stridedCopy(backend, x, size, begin, size.map(() => 1));
}

const reverseKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (x.dtype === 'string' || x.shape.length === 0) return callKernel(tf.Reverse, inputs, attrs, backend);
  const axes = tf.util.parseAxisParam(attrs.dims as number | number[], x.shape);
  const start = x.shape.map((d, i) => (axes.includes(i) ? d - 1 : 0));
  const step = x.shape.map((_, i) => (axes.includes(i) ? -1 : 1));
  return stridedCopy(backend, x, x.shape, start, step);
};

function parseSlice(x: TensorInfo, begin: unknown, size: unknown): [number[], number[]] {
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin as number[], size as number[]);
  return [b, s];
}

const sliceKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (x.dtype === 'string') return callKernel(tf.Slice, inputs, attrs, backend);
  const [begin, size] = parseSlice(x, attrs.begin, attrs.size);
  return sliceHeap(backend, x, begin, size);
};

const unpackKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { value } = inputs;
  if (value.dtype === 'string') return callKernel(tf.Unpack, inputs, attrs, backend);
  const rank = value.shape.length;
  let axis = attrs.axis as number;
  if (axis < 0) axis += rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const s = sliceHeap(backend, value, begin, size);
    outs.push({ dataId: s.dataId, dtype: s.dtype, shape: outShape });
  }
  return outs;
};

const splitVKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (x.dtype === 'string') return callKernel(tf.SplitV, inputs, attrs, backend);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x as unknown as tf.Tensor,
    attrs.numOrSizeSplits as number[] | number,
    axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const out = sliceHeap(backend, x, begin, size);
    begin[axis] += s;
    return out;
  });
};

const stridedSliceKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  const a = attrs as Record<string, number & number[]>;
  const info = tf.slice_util.sliceInfo(
    x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask,
  );
  if (x.dtype === 'string' || info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
    return callKernel(tf.StridedSlice, inputs, attrs, backend);
  }
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  const sliced = sliceHeap(backend, x, info.begin, size);
  const result = reshape(backend, sliced, info.finalShape);
  dispose(backend, sliced);
  return result;
};

// ---------------------------------------------------------------------------------------------
// Identity

/**
 * Identity shares the input's buffer (refcounted, as the cpu backend does) instead of copying it.
 * wasm tensors are immutable — no kernel writes into an input and Variable.assign swaps buffers — so
 * sharing is safe. It matters because `tf.clone`/`keep(clone(..))` run Identity: every customGrad op
 * under a tape saves clones (a fused matMul saves a, b and its output), and the LSTM runs one fused
 * matMul per timestep against its whole recurrent kernel.
 */
const identityKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs;
  if (x.dtype === 'string') return callKernel(tf.Identity, inputs, attrs, backend);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
};

// ---------------------------------------------------------------------------------------------
// Matrix multiplication

interface MatMulPlan {
  a: TensorInfo;
  b: TensorInfo;
  outShape: number[];
  temps: TensorInfo[];
  /** The product computed is the transposed result, [N, M]; finishMatMul transposes it back. */
  swapped: boolean;
}

/**
 * Rewrites a (batched, possibly transposed) matmul C = op(A)·op(B) into `[1, M', K] x [1, K, N]` with
 * no transpose flags — the only case the shipped kernels hand to XNNPACK — or returns null when the
 * right operand is itself batched (then the shipped kernel runs as is).
 *
 * XNNPACK packs the right operand on every call with a new right tensor (in training every weight is
 * a new tensor each step, and gradients' operands always are), so the cost besides the FLOPs is: the
 * transposes materialised + packing K·N. With `allowSwap`, Cᵀ = op(B)ᵀ·op(A)ᵀ is used instead when
 * that moves less memory — e.g. dy·Wᵀ for a big W becomes W·dyᵀ: W is read as it is and only the small
 * dy and the result are transposed, instead of transposing and packing all of W.
 */
function planMatMul(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  allowSwap: boolean,
): MatMulPlan | null {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  if (batchB !== 1) return null;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const kA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (kA !== kB) return null; // let the shipped kernel raise its error
  const k = kA;
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...outBatch, m, n];
  const temps: TensorInfo[] = [];

  // Elements moved besides the multiply: transposes materialised + the right operand packed.
  const direct = (transposeA ? batchA * m * k : 0) + (transposeB ? k * n : 0) + k * n;
  const swappedCost = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + k * m + m * n;
  if (allowSwap && batchA === 1 && swappedCost < direct) {
    // Left: op(B)ᵀ, [n, k]: B itself when transposeB.
    const b2d = reshape(backend, b, transposeB ? [n, k] : [k, n]);
    temps.push(b2d);
    let left = b2d;
    if (!transposeB) {
      left = transpose(backend, b2d, [1, 0]);
      temps.push(left);
    }
    // Right: op(A)ᵀ, [k, m]: A itself when transposeA.
    const a2d = reshape(backend, a, transposeA ? [k, m] : [m, k]);
    temps.push(a2d);
    let right = a2d;
    if (!transposeA) {
      right = transpose(backend, a2d, [1, 0]);
      temps.push(right);
    }
    const l3 = reshape(backend, left, [1, n, k]);
    const r3 = reshape(backend, right, [1, k, m]);
    temps.push(l3, r3);
    return { a: l3, b: r3, outShape, temps, swapped: true };
  }

  let a2: TensorInfo;
  if (transposeA) {
    const a3 = reshape(backend, a, [batchA, k, m]);
    temps.push(a3);
    const at = transpose(backend, a3, [0, 2, 1]);
    temps.push(at);
    a2 = reshape(backend, at, [1, batchA * m, k]);
  } else {
    a2 = reshape(backend, a, [1, batchA * m, k]);
  }
  temps.push(a2);
  let b2: TensorInfo;
  if (transposeB) {
    const b2d = reshape(backend, b, [n, k]);
    temps.push(b2d);
    const bt = transpose(backend, b2d, [1, 0]);
    temps.push(bt);
    b2 = reshape(backend, bt, [1, k, n]);
  } else {
    b2 = reshape(backend, b, [1, k, n]);
  }
  temps.push(b2);
  return { a: a2, b: b2, outShape, temps, swapped: false };
}

function finishMatMul(backend: WasmBackendLike, out: TensorInfo, plan: MatMulPlan): TensorInfo {
  let product = out;
  if (plan.swapped) {
    const [, n, m] = out.shape;
    const o2 = reshape(backend, out, [n, m]);
    product = transpose(backend, o2, [1, 0]);
    dispose(backend, o2, out);
  }
  const result = reshape(backend, product, plan.outShape);
  dispose(backend, product, ...plan.temps);
  return result;
}

const batchMatMulKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { a, b } = inputs;
  const plan = planMatMul(backend, a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB), true);
  if (!plan) return callKernel(tf.BatchMatMul, inputs, attrs, backend);
  const out = call1(tf.BatchMatMul, { a: plan.a, b: plan.b }, { transposeA: false, transposeB: false }, backend);
  return finishMatMul(backend, out, plan);
};

/** Applies a fused activation with the backend's own kernels (for the batched-right-operand case). */
function activate(backend: WasmBackendLike, x: TensorInfo, attrs: Record<string, unknown>, preluWeights?: TensorInfo): TensorInfo {
  switch (attrs.activation ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return call1(tf.Relu, { x }, {}, backend);
    case 'relu6':
      return call1(tf.Relu6, { x }, {}, backend);
    case 'elu':
      return call1(tf.Elu, { x }, {}, backend);
    case 'sigmoid':
      return call1(tf.Sigmoid, { x }, {}, backend);
    case 'leakyrelu':
      return call1(tf.LeakyRelu, { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 }, backend);
    case 'prelu':
      if (!preluWeights) throw new Error('_FusedMatMul: prelu activation without weights');
      return call1(tf.Prelu, { x, alpha: preluWeights }, {}, backend);
    default:
      throw new Error(`_FusedMatMul: activation ${String(attrs.activation)} is not supported on wasm`);
  }
}

const fusedMatMulKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { a, b, bias, preluActivationWeights } = inputs;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  // Bias and activation act on the result's columns, so the swapped orientation is only for plain products.
  const plain = !bias && !preluActivationWeights && (attrs.activation ?? 'linear') === 'linear';
  const plan = planMatMul(backend, a, b, transposeA, transposeB, plain);
  if (plan) {
    const fusedInputs: Record<string, TensorInfo> = { a: plan.a, b: plan.b };
    if (bias) fusedInputs.bias = bias;
    if (preluActivationWeights) fusedInputs.preluActivationWeights = preluActivationWeights;
    const out = call1(tf._FusedMatMul, fusedInputs, { ...attrs, transposeA: false, transposeB: false }, backend);
    return finishMatMul(backend, out, plan);
  }
  // Batched right operand: the shipped fused kernel's loop indexes the bias by row*cols+col (wrong
  // for every row but the first), so run the plain matmul and add bias + activation separately.
  const product = batchMatMulKernel({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend }) as TensorInfo;
  let biased = product;
  if (bias) {
    biased = call1(tf.Add, { a: product, b: bias }, {}, backend);
    dispose(backend, product);
  }
  const result = activate(backend, biased, attrs, preluActivationWeights);
  if (result !== biased) dispose(backend, biased);
  return result;
};

// ---------------------------------------------------------------------------------------------
// Convolution gradients

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

function convInfoOf(
  inShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): ReturnType<typeof tf.backend_util.computeConv2DInfo> {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW') ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat,
  );
}

/** NHWC Conv2D with explicit (asymmetric, non-negative) padding through the shipped XNNPACK kernel. */
function conv2dExplicit(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  dilations: [number, number],
  pads: { top: number; bottom: number; left: number; right: number },
): TensorInfo {
  return call1(
    tf.Conv2D,
    { x, filter },
    {
      strides: [1, 1],
      dilations,
      pad: [[0, 0], [pads.top, pads.bottom], [pads.left, pads.right], [0, 0]],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
    backend,
  );
}

function zeros(backend: WasmBackendLike, shape: number[]): TensorInfo {
  const t = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(t).fill(0);
  return t;
}

const conv2DBackpropFilterKernel: Kernel = ({ inputs, attrs, backend }) => {
  let { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const temps: TensorInfo[] = [];
  const info = convInfoOf(x.shape, filterShape, attrs);
  if (info.dataFormat === 'channelsFirst') {
    x = transpose(backend, x, [0, 2, 3, 1]);
    dy = transpose(backend, dy, [0, 2, 3, 1]);
    temps.push(x, dy);
  }
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  if (n * oh * ow === 0 || cin * cout === 0) {
    dispose(backend, ...temps);
    return zeros(backend, filterShape);
  }
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Padding after the input that makes the correlation's output exactly fh x fw; negative means the
  // forward pass never read the last rows/columns, so they are cropped.
  let bottom = fh + (oh - 1) * sh - h - top;
  let right = fw + (ow - 1) * sw - w - left;
  let xc = x;
  if (bottom < 0 || right < 0) {
    xc = sliceHeap(backend, x, [0, 0, 0, 0], [n, h + Math.min(bottom, 0), w + Math.min(right, 0), cin]);
    temps.push(xc);
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const xT = transpose(backend, xc, [3, 1, 2, 0]); // [cin, h, w, n]: cin images with n channels
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [oh, ow, n, cout]: a filter over them
  const grad = conv2dExplicit(backend, xT, dyT, [sh, sw], { top, bottom, left, right }); // [cin, fh, fw, cout]
  const result = transpose(backend, grad, [1, 2, 0, 3]);
  dispose(backend, xT, dyT, grad, ...temps);
  return result;
};

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

// ---------------------------------------------------------------------------------------------
// Max-pool gradient

/**
 * dx[argmax of each window] += dy, the argmax being the first maximum (as on the cpu backend).
 * Replaces the shipped kernel, which starts each window's search at FLT_MIN (the smallest positive
 * float), so windows with no positive value lose their gradient, and which is slower than this loop.
 */
const maxPoolGradKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = zeros(backend, input.shape);
  const xv = backend.typedArrayFromHeap(input);
  const dyv = backend.typedArrayFromHeap(dy);
  const dxv = backend.typedArrayFromHeap(dx);
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const r0 = Math.max(0, r * sh - top);
      const r1 = Math.min(h, r * sh - top + fh);
      for (let q = 0; q < ow; q++) {
        const c0 = Math.max(0, q * sw - left);
        const c1 = Math.min(w, q * sw - left + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let i = r0; i < r1; i++) {
          for (let j = c0; j < c1; j++) {
            const base = ((b * h + i) * w + j) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > best[k]) {
                best[k] = v;
                pos[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) if (pos[k] >= 0) dxv[pos[k]] += dyv[dyBase + k];
      }
    }
  }
  return dx;
};

// ---------------------------------------------------------------------------------------------
// Segment sum

const unsortedSegmentSumKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const outer = sizeOf(segmentIds.shape);
  const inner = outer === 0 ? 0 : sizeOf(x.shape) / outer;
  if (!Number.isInteger(inner)) {
    throw new Error(`UnsortedSegmentSum: x ${JSON.stringify(x.shape)} does not start with segmentIds ${JSON.stringify(segmentIds.shape)}`);
  }
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype === 'int32' ? 'int32' : 'float32');
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < outer; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) continue; // dropped, as on the cpu backend
    const o = id * inner;
    const s = i * inner;
    for (let j = 0; j < inner; j++) ov[o + j] += xv[s + j];
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Registration

const kernels: [string, Kernel, 'missing' | 'speed', string][] = [
  [tf.Conv2DBackpropFilter, conv2DBackpropFilterKernel, 'missing', 'missing on wasm: conv weight gradient'],
  [tf.UnsortedSegmentSum, unsortedSegmentSumKernel, 'missing', 'missing on wasm: Gather/Embedding gradient'],
  [tf.Conv2DBackpropInput, conv2DBackpropInputKernel, 'speed', 'shipped one is a naive loop: XNNPACK conv instead'],
  [tf.BatchMatMul, batchMatMulKernel, 'speed', 'shipped one skips XNNPACK when a transpose flag is set'],
  [tf._FusedMatMul, fusedMatMulKernel, 'speed', 'shipped one skips XNNPACK when a transpose flag is set (and then mis-indexes the bias)'],
  [tf.Slice, sliceKernel, 'speed', 'shipped one copies the whole input per slice'],
  [tf.Unpack, unpackKernel, 'speed', 'shipped one copies the whole input per output'],
  [tf.SplitV, splitVKernel, 'speed', 'shipped one copies the whole input per output'],
  [tf.StridedSlice, stridedSliceKernel, 'speed', 'shipped one copies the whole input for contiguous slices'],
  [tf.MaxPoolGrad, maxPoolGradKernel, 'speed', 'shipped one drops the gradient of windows with no positive value, and is slower'],
  [tf.Reverse, reverseKernel, 'speed', 'shipped one is an element-by-element loop; runs of rows instead'],
  [tf.Identity, identityKernel, 'speed', 'shipped one copies the tensor; clones (customGrad saves) now share it'],
];

/** Why each kernel is registered, by name (for logs and reports). */
export const WASM_KERNEL_REASONS: Readonly<Record<string, string>> = Object.fromEntries(
  kernels.map(([name, , , why]) => [name, why]),
);

/** Kernel names by why they are registered: wasm lacks them, or the shipped ones are slow/wrong. */
export const WASM_KERNELS: Readonly<{ missing: readonly string[]; replaced: readonly string[] }> = {
  missing: kernels.filter(([, , kind]) => kind === 'missing').map(([name]) => name),
  replaced: kernels.filter(([, , kind]) => kind === 'speed').map(([name]) => name),
};

export interface RegisterOptions {
  /**
   * Also replace the slow shipped kernels (default true). `false` registers only the kernels wasm
   * lacks and puts back any shipped kernel replaced earlier — the "before" state for benchmarks.
   */
  speedFixes?: boolean;
}

function restoreShipped(name: string): void {
  const existing = tf.getKernel(name, BACKEND);
  if (existing && existing.kernelFunc === ours.get(name)) tf.unregisterKernel(name, BACKEND);
  const original = shipped.get(name);
  if (original && !tf.getKernel(name, BACKEND)) {
    tf.registerKernel(original);
    // Re-bind its C++ entry point if the backend is already up (otherwise its init does it).
    const backend = tf.engine().registry[BACKEND];
    if (backend && original.setupFunc) original.setupFunc(backend);
  }
}

/**
 * Registers the kernels above for the `wasm` backend (replacing any registered under the same name,
 * after saving the shipped ones they delegate to) and returns their names. Idempotent. Works before
 * or after `tf.setBackend('wasm')`: the kernels need no `setupFunc`.
 */
export function registerWasmTrainingKernels(options: RegisterOptions = {}): string[] {
  const speedFixes = options.speedFixes ?? true;
  const names: string[] = [];
  for (const [name, kernel, kind] of kernels) {
    if (kind === 'speed' && !speedFixes) {
      restoreShipped(name);
      continue;
    }
    const existing = tf.getKernel(name, BACKEND);
    const mine = ours.get(name);
    if (existing && mine && existing.kernelFunc === mine) {
      names.push(name);
      continue;
    }
    if (existing) {
      if (!shipped.has(name)) shipped.set(name, existing);
      tf.unregisterKernel(name, BACKEND);
    }
    const kernelFunc = mine ?? (kernel as unknown as KernelFunc);
    ours.set(name, kernelFunc);
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
    names.push(name);
  }
  return names;
}

/** Removes every kernel registered here and puts the shipped ones back. */
export function unregisterWasmTrainingKernels(): void {
  for (const [name] of kernels) restoreShipped(name);
}
