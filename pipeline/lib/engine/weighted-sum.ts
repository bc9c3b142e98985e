/**
 * Σ wᵢ·tᵢ over same-shape float32 tensors, rounded as tfjs rounds `add(add(mul(t₀, w₀), mul(t₁, w₁)), …)`:
 * each product and each sum to float32, in that order. On the wasm backend one SIMD pass per pair
 * (./simd-kernels.ts `weightedSum`, in place for every tensor after the second: s·1 + tᵢ·wᵢ, and s·1
 * is s); elsewhere, or for one tensor, tfjs' kernels.
 *
 * Why: the CNN's sharded steps (../train/sharded-steps.ts) combine two shards' gradients, 3.46 million
 * values, at every step: tfjs' three kernels per variable, three passes over memory, took 3.4–4.7 ms of
 * each step. The values are tfjs' to the last bit (tests/engine/weighted-sum.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { backendSimdKernels } from './simd-kernels.ts';
import { heapOffset, type WasmBackendLike } from './wasm-kernels/kernel-calls.ts';

/** With tfjs' kernels: add(…add(mul(t₀, w₀), mul(t₁, w₁))…, mul(tₙ, wₙ)). */
function tfjsWeightedSum(tensors: tf.Tensor[], weights: number[]): tf.Tensor {
  return tf.tidy(() => tensors.slice(1).reduce((sum, t, i) => tf.add(sum, tf.mul(t, weights[i + 1])), tf.mul(tensors[0], weights[0])));
}

/** Σ weights[i]·tensors[i], a new tensor; `simd` false keeps tfjs' kernels (for comparisons). */
export function weightedSum(tensors: tf.Tensor[], weights: number[], simd = true): tf.Tensor {
  if (tensors.length !== weights.length || tensors.length === 0) throw new RangeError(`weightedSum: ${tensors.length} tensors for ${weights.length} weights`);
  const kernels = simd && tensors.length > 1 && tf.getBackend() === 'wasm' ? backendSimdKernels(tf.backend()) : null;
  if (!kernels || tensors.some((t) => t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, tensors[0].shape))) return tfjsWeightedSum(tensors, weights);
  const backend = tf.backend() as unknown as WasmBackendLike;
  const out = backend.makeOutput(tensors[0].shape, 'float32');
  const size = tensors[0].size;
  const groups = size >> 2;
  const offset = (t: tf.TensorInfo) => heapOffset(backend, t);
  const f = Math.fround;
  tensors.slice(1).forEach((t, k) => {
    const [a, sa] = k === 0 ? [offset(tensors[0]), weights[0]] : [offset(out), 1];
    kernels.weightedSum(a, offset(t), offset(out), groups, sa, weights[k + 1]);
    // The last size mod 4 values, as the kernel computes them.
    const o = backend.typedArrayFromHeap(out) as Float32Array;
    const av = k === 0 ? (backend.typedArrayFromHeap(tensors[0]) as Float32Array) : o;
    const bv = backend.typedArrayFromHeap(t) as Float32Array;
    for (let i = groups * 4; i < size; i++) o[i] = f(f(av[i] * f(sa)) + f(bv[i] * f(weights[k + 1])));
  });
  return tf.engine().makeTensorFromTensorInfo(out, backend as unknown as tf.KernelBackend);
}
