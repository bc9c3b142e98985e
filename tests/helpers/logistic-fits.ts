/**
 * Shared by the tests of the strong models' native solver (tests/strong/span-logistic.test.ts,
 * dense-logistic.test.ts): how far two fits are apart, and ONNX Runtime's float64 product or null.
 */
import type { LogisticModel } from '../../pipeline/lib/strong/logistic.ts';
import { loadNativeGemm64, type Gemm64 } from '../../pipeline/lib/engine/native-kernels.ts';

/** The largest |difference| of two models' weights and biases. */
export function maxDifference(a: LogisticModel, b: LogisticModel): number {
  let m = 0;
  a.weights.forEach((v, i) => (m = Math.max(m, Math.abs(v - b.weights[i]))));
  a.bias.forEach((v, i) => (m = Math.max(m, Math.abs(v - b.bias[i]))));
  return m;
}

/** ONNX Runtime's float64 product, or null where onnxruntime-node does not load. */
export const nativeGemm: Gemm64 | null = (() => {
  try {
    return loadNativeGemm64();
  } catch {
    return null;
  }
})();
