/**
 * Slice family: `Slice`, `Unpack`, `SplitV`, `StridedSlice` and `Reverse` as copies from heap views.
 * The shipped ones copy the whole input out of the heap once per slice (`readSync`), and `Reverse`
 * moves element by element; here each moves only what it returns, in runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { callKernel, dispose, reshape, sizeOf, type Kernel, type TypedArray, type WasmBackendLike, type WasmKernelConfig } from './kernel-calls.ts';

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
  return stridedCopy(
    backend,
    x,
    size,
    begin,
    size.map(() => 1),
  );
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
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
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
  const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
  if (x.dtype === 'string' || info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
    return callKernel(tf.StridedSlice, inputs, attrs, backend);
  }
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  const sliced = sliceHeap(backend, x, info.begin, size);
  const result = reshape(backend, sliced, info.finalShape);
  dispose(backend, sliced);
  return result;
};

export const reverseConfig: WasmKernelConfig = {
  kernelName: tf.Reverse,
  kernel: reverseKernel,
  kind: 'speed',
  why: 'shipped one is an element-by-element loop; runs of rows instead',
};

export const sliceConfig: WasmKernelConfig = {
  kernelName: tf.Slice,
  kernel: sliceKernel,
  kind: 'speed',
  why: 'shipped one copies the whole input per slice',
};

export const unpackConfig: WasmKernelConfig = {
  kernelName: tf.Unpack,
  kernel: unpackKernel,
  kind: 'speed',
  why: 'shipped one copies the whole input per output',
};

export const splitVConfig: WasmKernelConfig = {
  kernelName: tf.SplitV,
  kernel: splitVKernel,
  kind: 'speed',
  why: 'shipped one copies the whole input per output',
};

export const stridedSliceConfig: WasmKernelConfig = {
  kernelName: tf.StridedSlice,
  kernel: stridedSliceKernel,
  kind: 'speed',
  why: 'shipped one copies the whole input for contiguous slices',
};
