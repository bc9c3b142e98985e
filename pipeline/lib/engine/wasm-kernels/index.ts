/**
 * The registry of genrelens' kernels for `@tensorflow/tfjs-backend-wasm` (4.22.0), one kernel family
 * per file as in the package itself: the kernels wasm lacks for training (`Conv2DBackpropFilter`,
 * `UnsortedSegmentSum`) and faster or correct replacements for shipped ones that dominate a training
 * step (matrix products, convolutions and their input gradient, the slice family, `MaxPoolGrad`,
 * `Identity`, `Sum` over leading axes, ReLU's gradient, `GatherV2` of rows). Each file's header says what its kernels do differently and why.
 *
 * With a native engine (../native-kernels.ts: onnxruntime-node's MLAS, when that optional package
 * loads) the matrix products and convolutions run there instead of XNNPACK, in place on the wasm heap.
 * Every kernel composes the backend's own kernels by calling their `kernelFunc` directly, the way
 * tfjs-backend-wasm's kernels call each other, and reads or writes tensor memory through heap views
 * taken after a kernel's last allocation (growing the wasm memory detaches earlier views).
 */
import * as tf from '@tensorflow/tfjs';
// Registers the shipped wasm kernels first, so the ones replaced here are saved (and later delegated
// to) rather than registered over ours when the package is imported after this module.
import '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc } from '@tensorflow/tfjs';
import type { NativeKernels } from '../native-kernels.ts';
import { installFusedLstm } from '../fused-lstm.ts';
import { installFastDropout } from '../fast-dropout.ts';
import { installSimdAdam } from '../simd-adam.ts';
import { BACKEND, engines, ours, shipped, type WasmKernelConfig } from './kernel-calls.ts';
import { conv2DBackpropFilterConfig } from './conv-filter-grad.ts';
import { conv2DBackpropInputConfig, conv2DConfig, fusedConv2DConfig } from './conv.ts';
import { gatherConfig } from './gather.ts';
import { identityConfig } from './identity.ts';
import { batchMatMulConfig, fusedMatMulConfig } from './matmul.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { unsortedSegmentSumConfig } from './segment-sum.ts';
import { reverseConfig, sliceConfig, splitVConfig, stridedSliceConfig, unpackConfig } from './slice.ts';
import { sumConfig } from './sum.ts';
import { installReluGrad, reluGradConfig } from './relu-grad.ts';
import { winogradTuning } from './winograd.ts';

export { filterGradMethod, filterGradTuning } from './conv-filter-grad.ts';
export { sliceHeap, stridedCopy } from './slice.ts';
export type { WasmBackendLike } from './kernel-calls.ts';

const kernels: readonly WasmKernelConfig[] = [
  conv2DBackpropFilterConfig,
  unsortedSegmentSumConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DConfig,
  fusedConv2DConfig,
  sliceConfig,
  unpackConfig,
  splitVConfig,
  stridedSliceConfig,
  maxPoolGradConfig,
  reverseConfig,
  identityConfig,
  sumConfig,
  reluGradConfig,
  gatherConfig,
];

export const WASM_KERNEL_REASONS: Readonly<Record<string, string>> = Object.fromEntries(kernels.map(({ kernelName, why }) => [kernelName, why]));

/** Kernel names by why they are registered: wasm lacks them, or the shipped ones are slow/wrong. */
export const WASM_KERNELS: Readonly<{ missing: readonly string[]; replaced: readonly string[] }> = {
  missing: kernels.filter(({ kind }) => kind === 'missing').map(({ kernelName }) => kernelName),
  replaced: kernels.filter(({ kind }) => kind === 'speed').map(({ kernelName }) => kernelName),
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
  /**
   * With a native engine, run tfjs' LSTM layers as one fused operation per call (../fused-lstm.ts)
   * instead of one set of kernels per timestep (default true). Only with the speed fixes.
   */
  fusedLstm?: boolean;
  /** Draw Dropout layers' masks in one loop, equal to tfjs' (../fast-dropout.ts; default true). Only with the speed fixes. */
  fastDropout?: boolean;
  /** Update Adam's variables in one SIMD pass each, equal to tfjs' (../simd-adam.ts; default true). Only with the speed fixes. */
  simdAdam?: boolean;
  /** With a native engine, compute the 3×3 convolutions Winograd suits by F(2×2, 3×3) (./winograd.ts; default true). Only with the speed fixes. */
  winograd?: boolean;
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
 * Registers the kernels listed above for the `wasm` backend (replacing any registered under the same name,
 * after saving the shipped ones they delegate to) and returns their names. Idempotent. Works before
 * or after `tf.setBackend('wasm')`: the kernels need no `setupFunc`.
 */
export function registerWasmTrainingKernels(options: RegisterOptions = {}): string[] {
  const speedFixes = options.speedFixes ?? true;
  installReluGrad();
  if (options.native !== undefined) engines.given = options.native;
  engines.native = speedFixes ? engines.given : null;
  installFusedLstm(engines.native && (options.fusedLstm ?? true) ? engines.native.gemm : null);
  installFastDropout(speedFixes && (options.fastDropout ?? true));
  installSimdAdam(speedFixes && (options.simdAdam ?? true));
  winogradTuning.enabled = speedFixes && (options.winograd ?? true);
  const names: string[] = [];
  for (const { kernelName: name, kernel, kind } of kernels) {
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
  engines.native = engines.given = null;
  installFusedLstm(null);
  installFastDropout(false);
  installSimdAdam(false);
  for (const { kernelName } of kernels) restoreShipped(kernelName);
}
