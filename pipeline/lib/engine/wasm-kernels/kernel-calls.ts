/**
 * What every wasm kernel here is built from: the slice of tfjs-backend-wasm's backend they use,
 * `callKernel` (running a shipped or registered kernel's function directly, as the package's own
 * kernels call each other), small tensor helpers, and the native engine the products run on when set.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { NativeKernels } from '../native-kernels.ts';

export type TypedArray = Float32Array | Int32Array | Uint8Array;

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

export interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

export type Kernel = (args: KernelArgs) => TensorInfo | TensorInfo[];

export const BACKEND = 'wasm';

/** The shipped configs of the kernels replaced here, saved before they are unregistered. */
export const shipped = new Map<string, KernelConfig>();
/** Kernels (per backend instance) whose `setupFunc` has been run by `callKernel`. */
export const setUp = new WeakMap<object, Set<string>>();
/** Our kernel functions by name, to tell ours from someone else's when re-registering. */
export const ours = new Map<string, KernelFunc>();

/**
 * Runs a wasm kernel's `kernelFunc` directly (no engine bookkeeping, no tape): the shipped version for
 * kernels this module replaced, otherwise the registered one. Its `setupFunc` (which binds the C++
 * entry point) runs first, once per backend instance, because kernels registered or unregistered
 * after the backend initialised never had it run.
 */
export function callKernel(
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

export function call1(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>, backend: WasmBackendLike): TensorInfo {
  return callKernel(name, inputs, attrs, backend) as TensorInfo;
}

export function dispose(backend: WasmBackendLike, ...infos: (TensorInfo | null | undefined)[]): void {
  for (const t of infos) if (t) backend.disposeData(t.dataId);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return call1('Transpose', { x }, { perm }, backend);
}

export function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return call1('Reshape', { x }, { shape }, backend);
}

/** One kernel of this folder: its name, function, why it is registered, and whether wasm lacks it. */
export interface WasmKernelConfig {
  kernelName: string;
  kernel: Kernel;
  /** 'missing': wasm has no such kernel; 'speed': it replaces a slow or wrong shipped one. */
  kind: 'missing' | 'speed';
  why: string;
}

/**
 * Where matrix products and convolutions compute when `native` is set (pipeline/lib/engine/native-kernels.ts):
 * the matmul kernels, Conv2D / FusedConv2D and the convolution gradients; XNNPACK otherwise.
 * `given` is the engine last given to registerWasmTrainingKernels (kept while the speed fixes are off).
 */
export const engines: { native: NativeKernels | null; given: NativeKernels | null } = { native: null, given: null };

/**
 * The native engine's matrix product while the wasm backend computes with it, else null: for work
 * written as products outside tfjs' kernels (the learned fusion's steps, ../../gmu/gmu-steps.ts).
 * It lives here, not in ./index.ts, because importing that module registers the wasm backend.
 */
export function nativeGemm(): NativeKernels['gemm'] | null {
  return tf.getBackend() === BACKEND && engines.native ? engines.native.gemm : null;
}

/** Applies a fused activation with the backend's own kernels (matmul and conv epilogues). */
export function activate(backend: WasmBackendLike, x: TensorInfo, attrs: Record<string, unknown>, preluWeights?: TensorInfo): TensorInfo {
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

export function zeros(backend: WasmBackendLike, shape: number[]): TensorInfo {
  const t = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(t).fill(0);
  return t;
}

/**
 * `x` as a matrix of its stored shape `[rows, cols]`, transposed when `transposed` (a materialised
 * copy); every tensor made is pushed on `temps`.
 */
export function matrixOf(backend: WasmBackendLike, x: TensorInfo, stored: [number, number], transposed: boolean, temps: TensorInfo[]): TensorInfo {
  const matrix = reshape(backend, x, stored);
  temps.push(matrix);
  if (!transposed) return matrix;
  const copy = transpose(backend, matrix, [1, 0]);
  temps.push(copy);
  return copy;
}

/** The byte offset of `t` in the wasm heap (stable when the heap grows), for kernels over that memory. */
export function heapOffset(backend: WasmBackendLike, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** Float32 view of the whole wasm heap and the element offset of `t` in it (take after allocating). */
export function heapOf(backend: WasmBackendLike, t: TensorInfo): [Float32Array, number] {
  const v = backend.typedArrayFromHeap(t) as Float32Array;
  return [new Float32Array(v.buffer), v.byteOffset >>> 2];
}
