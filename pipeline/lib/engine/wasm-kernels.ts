/**
 * Kernels that make `@tensorflow/tfjs-backend-wasm` (4.22.0) able to train genrelens' models, and
 * faster replacements for the shipped kernels that dominate a training step.
 *
 * Missing on wasm (training fails without them):
 * - `Conv2DBackpropFilter` (conv weight gradient): im2col + one XNNPACK matmul per block of images,
 *   dW[FH·FW·Cin, Cout] = Pᵀ·dy with P the [N·OH·OW, FH·FW·Cin] patch matrix. Pᵀ is built directly in
 *   the layout XNNPACK's untransposed path takes (so only dy is packed): for stride 1 the images go on
 *   a shared zero-bordered grid where each filter tap is one contiguous window (FH·FW memmoves, dy laid
 *   on the grid with zeros at the border); for strides > 1 and small images (where the border's extra
 *   FLOPs cost more) Pᵀ is gathered in JS. See "Conv2DBackpropFilter" below.
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
 * With a native engine (pipeline/lib/engine/native-kernels.ts: onnxruntime-node's MLAS, when that optional
 * package loads), the matrix products (`BatchMatMul`, `_FusedMatMul`, the products inside
 * `Conv2DBackpropFilter`) and the convolutions (`Conv2D`, `FusedConv2D`, the one inside
 * `Conv2DBackpropInput`) are computed there instead of by XNNPACK, in place on the wasm heap.
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
import type { NativeKernels } from './native-kernels.ts';

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
    // Left: op(B)ᵀ, [n, k]: B itself when transposeB. Right: op(A)ᵀ, [k, m]: A itself when transposeA.
    const left = matrixOf(backend, b, transposeB ? [n, k] : [k, n], !transposeB, temps);
    const right = matrixOf(backend, a, transposeA ? [k, m] : [m, k], !transposeA, temps);
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
  const b2 = reshape(backend, matrixOf(backend, b, transposeB ? [n, k] : [k, n], transposeB, temps), [1, k, n]);
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

/**
 * Where matrix products and convolutions compute when set (pipeline/lib/engine/native-kernels.ts): the
 * matmul kernels, Conv2D / FusedConv2D and the convolution gradients; XNNPACK otherwise.
 */
let native: NativeKernels | null = null;
/** The engine last given to registerWasmTrainingKernels (kept while the speed fixes are off). */
let nativeGiven: NativeKernels | null = null;

/**
 * C = op(A)·op(B) (+ bias) computed by the native engine straight from and into the wasm heap, for a
 * right operand that is one matrix and a left operand that is one matrix or, untransposed, a batch
 * of them (folded into rows). Returns null for everything else (the XNNPACK path handles it).
 */
function nativeProduct(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transA: boolean,
  transB: boolean,
  bias: TensorInfo | undefined,
): TensorInfo | null {
  const engine = native;
  if (!engine || a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return null;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2 || sizeOf(b.shape.slice(0, -2)) !== 1) return null;
  const batchA = sizeOf(a.shape.slice(0, -2));
  if (transA && batchA !== 1) return null;
  const m = (transA ? a.shape[aRank - 1] : a.shape[aRank - 2]) * batchA;
  const k = transA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const n = transB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== (transB ? b.shape[bRank - 1] : b.shape[bRank - 2]) || m * n * k === 0) return null;
  if (bias && (sizeOf(bias.shape) !== n || bias.shape[bias.shape.length - 1] !== n)) return null;
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = backend.makeOutput([...outBatch, m / batchA, n], 'float32');
  // Views after the allocation (growing the heap detaches earlier ones).
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  engine.gemm({ a: view(a), b: view(b), bias: bias ? view(bias) : undefined, out: view(out), m, k, n, transA, transB });
  return out;
}

const batchMatMulKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { a, b } = inputs;
  const direct = nativeProduct(backend, a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB), undefined);
  if (direct) return direct;
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
  const direct = nativeProduct(backend, a, b, transposeA, transposeB, bias);
  if (direct) {
    const result = activate(backend, direct, attrs, preluActivationWeights);
    if (result !== direct) dispose(backend, direct);
    return result;
  }
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
  const engine = native;
  if (!engine || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (bias && (bias.dtype !== 'float32' || sizeOf(bias.shape) !== filter.shape[3])) return null;
  if (Math.min(pads.top, pads.bottom, pads.left, pads.right) < 0 || sizeOf(x.shape) * sizeOf(filter.shape) * sizeOf(outShape) === 0) return null;
  const out = backend.makeOutput(outShape, 'float32');
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
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

/** Conv2D / FusedConv2D on the native engine, when there is one and the data is NHWC. */
function nativeConvKernel(inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, backend: WasmBackendLike): TensorInfo | null {
  if (!native || ((attrs.dataFormat as string | undefined) ?? 'NHWC') !== 'NHWC') return null;
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
//   row/column between images, not two), transposed to [cin, grid]. On that grid every filter tap is
//   a constant shift, so the tap's [cin, grid] block of Pᵀ is ONE contiguous window of the transposed
//   grid: fh·fw memmoves build all of Pᵀ. dy is laid on the same grid with zeros on the border
//   positions, so those extra columns of Pᵀ contribute nothing. Cost: the border columns are multiplied
//   too ((h+1)(w+1)/(h·w) more FLOPs for 'same' 3x3: +6% at 32x32, +13% at 16x16, +27% at 8x8).
// - Dense im2col (any stride/padding, and small images where the grid's border costs more than it
//   saves): Pᵀ's rows are gathered element by element in JS from x transposed to [cin, n, h, w]
//   (contiguous runs along each output row, zeros in the padding).
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

/**
 * `x` as a matrix of its stored shape `[rows, cols]`, transposed when `transposed` (a materialised
 * copy); every tensor made is pushed on `temps`.
 */
function matrixOf(backend: WasmBackendLike, x: TensorInfo, stored: [number, number], transposed: boolean, temps: TensorInfo[]): TensorInfo {
  const matrix = reshape(backend, x, stored);
  temps.push(matrix);
  if (!transposed) return matrix;
  const copy = transpose(backend, matrix, [1, 0]);
  temps.push(copy);
  return copy;
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

/** Float32 view of the whole wasm heap and the element offset of `t` in it (take after allocating). */
function heapOf(backend: WasmBackendLike, t: TensorInfo): [Float32Array, number] {
  const v = backend.typedArrayFromHeap(t) as Float32Array;
  return [new Float32Array(v.buffer), v.byteOffset >> 2];
}

/**
 * Σ over chunks of A_chunk·B_chunk ([1, k, m_c] · [1, m_c, cout]) through the shipped BatchMatMul
 * (XNNPACK), summed in JS. `make` builds one chunk's operands; both are disposed here.
 */
function sumOfProducts(
  backend: WasmBackendLike,
  count: number,
  make: (chunk: number) => { a: TensorInfo; b: TensorInfo },
): TensorInfo {
  let acc: TensorInfo | null = null;
  for (let c = 0; c < count; c++) {
    const { a, b } = make(c);
    const part = nativeProduct(backend, a, b, false, false, undefined) ?? call1(tf.BatchMatMul, { a, b }, { transposeA: false, transposeB: false }, backend);
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

/** dW by dense im2col: Pᵀ gathered in JS (see fillPatchesT). x and dy are NHWC. */
function filterGradDense(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, g: PatchGeometry, cout: number): TensorInfo {
  const xT = transpose(backend, x, [3, 0, 1, 2]); // [cin, n, h, w]
  const k = g.fh * g.fw * g.cin;
  const perImage = g.oh * g.ow;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(filterGradTuning.denseBlockFloats / (k * perImage))));
  const result = sumOfProducts(backend, Math.ceil(g.n / chunk), (c) => {
    const b0 = c * chunk;
    const nb = Math.min(chunk, g.n - b0);
    const dyc = sliceHeap(backend, dy, [b0, 0, 0, 0], [nb, g.oh, g.ow, cout]); // a fresh copy (see above)
    const b = reshape(backend, dyc, [1, nb * perImage, cout]);
    dispose(backend, dyc);
    const a = backend.makeOutput([1, k, nb * perImage], 'float32');
    const [heap, at] = heapOf(backend, a);
    fillPatchesT(heap, at, heapOf(backend, xT)[1], g, b0, nb);
    return { a, b };
  });
  dispose(backend, xT);
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
  const { n, h, w, cin, oh, ow, fh, fw, dh, dw, top, left } = g;
  const { hs, ws } = gridOf(g);
  const cell = hs * ws;
  const k = fh * fw * cin;
  const chunk = Math.max(1, Math.min(n, Math.floor(filterGradTuning.gridBlockFloats / (k * cell))));
  return sumOfProducts(backend, Math.ceil(n / chunk), (c) => {
    const b0 = c * chunk;
    const nb = Math.min(chunk, n - b0);
    const mg = nb * cell;
    const xg = backend.makeOutput([mg, cin], 'float32'); // the grid, NHWC
    const b = backend.makeOutput([1, mg, cout], 'float32'); // dy on the grid
    {
      const [heap, xAt] = heapOf(backend, x);
      const dyAt = heapOf(backend, dy)[1];
      const xgAt = heapOf(backend, xg)[1];
      const dgAt = heapOf(backend, b)[1];
      const xRow = w * cin;
      const xgRow = ws * cin;
      const dRow = ow * cout;
      const dgRow = ws * cout;
      for (let bi = 0; bi < nb; bi++) {
        for (let y = 0; y < hs; y++) {
          placeGridRow(heap, xgAt + (bi * hs + y) * xgRow, xAt + ((b0 + bi) * h + y) * xRow, xRow, xgRow, y < h);
          placeGridRow(heap, dgAt + (bi * hs + y) * dgRow, dyAt + ((b0 + bi) * oh + y) * dRow, dRow, dgRow, y < oh);
        }
      }
    }
    const xgT = transpose(backend, xg, [1, 0]); // [cin, mg]
    dispose(backend, xg);
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

/**
 * How the Conv2DBackpropFilter kernel builds Pᵀ for these shapes and attrs (as given to the kernel),
 * with the current filterGradTuning: 'grid' or 'dense' (see above).
 */
export function filterGradMethod(xShape: number[], filterShape: number[], attrs: Record<string, unknown>): 'grid' | 'dense' {
  return usesGrid(geometryOf(convInfoOf(xShape, filterShape, attrs))) ? 'grid' : 'dense';
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
  const product = usesGrid(g) ? filterGradGrid(backend, x, dy, g, cout) : filterGradDense(backend, x, dy, g, cout);
  const result = reshape(backend, product, filterShape);
  dispose(backend, product, ...temps);
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
  [tf.BatchMatMul, batchMatMulKernel, 'speed', 'shipped one skips XNNPACK when a transpose flag is set; native (onnxruntime-node) when it loads'],
  [tf._FusedMatMul, fusedMatMulKernel, 'speed', 'shipped one skips XNNPACK when a transpose flag is set (and then mis-indexes the bias); native when it loads'],
  [tf.Conv2D, conv2DKernel, 'speed', 'native (onnxruntime-node) when it loads, else the shipped XNNPACK kernel'],
  [tf.FusedConv2D, fusedConv2DKernel, 'speed', 'native (onnxruntime-node) when it loads, else the shipped XNNPACK kernel'],
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
  /**
   * Computes matrix products and convolutions with this native engine (pipeline/lib/engine/native-kernels.ts)
   * instead of XNNPACK; null keeps XNNPACK; left out, the engine given last stays. Only with the
   * speed fixes.
   */
  native?: NativeKernels | null;
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
  if (options.native !== undefined) nativeGiven = options.native;
  native = speedFixes ? nativeGiven : null;
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
  native = nativeGiven = null;
  for (const [name] of kernels) restoreShipped(name);
}
