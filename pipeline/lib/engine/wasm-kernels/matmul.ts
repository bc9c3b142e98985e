/**
 * Matrix products: `BatchMatMul` and `_FusedMatMul`. The shipped kernels use XNNPACK only with no
 * transpose flag and batch 1 (gradients always set a flag); here transposed operands are materialised
 * first, a batched left operand against a shared right one is folded into rows, the product may be
 * computed transposed when that moves less memory, and the native engine computes it when set.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import {
  activate,
  call1,
  callKernel,
  dispose,
  engines,
  matrixOf,
  reshape,
  sizeOf,
  transpose,
  type Kernel,
  type WasmBackendLike,
  type WasmKernelConfig,
} from './kernel-calls.ts';

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
function planMatMul(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, allowSwap: boolean): MatMulPlan | null {
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
 * C = op(A)·op(B) (+ bias) computed by the native engine straight from and into the wasm heap, for a
 * right operand that is one matrix and a left operand that is one matrix or, untransposed, a batch
 * of them (folded into rows). Returns null for everything else (the XNNPACK path handles it).
 */
export function nativeProduct(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transA: boolean,
  transB: boolean,
  bias: TensorInfo | undefined,
): TensorInfo | null {
  const engine = engines.native;
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

export const batchMatMulConfig: WasmKernelConfig = {
  kernelName: tf.BatchMatMul,
  kernel: batchMatMulKernel,
  kind: 'speed',
  why: 'shipped one skips XNNPACK when a transpose flag is set; native (onnxruntime-node) when it loads',
};

export const fusedMatMulConfig: WasmKernelConfig = {
  kernelName: tf._FusedMatMul,
  kernel: fusedMatMulKernel,
  kind: 'speed',
  why: 'shipped one skips XNNPACK when a transpose flag is set (and then mis-indexes the bias); native when it loads',
};
