/**
 * ReLU's gradient in one pass. tfjs computes it as `mul(dy, cast(step(x), 'float32'))`: three kernels,
 * three passes over the activation (the CNN has nine ReLUs). Here it is one kernel, `GenrelensReluGrad`,
 * in WebAssembly SIMD (../simd-kernels.ts) with a JavaScript tail, giving the same values bit for bit:
 * dy·1, dy·0 (so −0 for a negative dy) or dy·NaN. `installReluGrad` re-registers Relu's gradient to use
 * it on the wasm backend while this kernel is registered, and tfjs' formula everywhere else.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig } from '@tensorflow/tfjs';
import { heapOffset, sizeOf, type Kernel, type WasmKernelConfig } from './kernel-calls.ts';
import { backendSimdKernels } from '../simd-kernels.ts';

export const RELU_GRAD = 'GenrelensReluGrad';

const reluGradKernel: Kernel = ({ inputs, backend }) => {
  const { dy, x } = inputs;
  const out = backend.makeOutput(x.shape, 'float32');
  const size = sizeOf(x.shape);
  const groups = size >> 2;
  const kernels = backendSimdKernels(backend);
  let from = 0;
  if (kernels) {
    kernels.reluGrad(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), groups);
    from = groups * 4;
  }
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const ov = backend.typedArrayFromHeap(out);
  for (let i = from; i < size; i++) {
    const v = xv[i];
    ov[i] = dyv[i] * (v > 0 ? 1 : v !== v ? Number.NaN : 0);
  }
  return out;
};

export const reluGradConfig: WasmKernelConfig = {
  kernelName: RELU_GRAD,
  kernel: reluGradKernel,
  kind: 'speed',
  why: "ReLU's gradient in one SIMD pass instead of tfjs' Step, Cast and Multiply",
};

let installed = false;

/** Re-registers Relu's gradient (once): this kernel where it is registered for the backend in use, else tfjs' formula. */
export function installReluGrad(): void {
  if (installed) return;
  installed = true;
  const config: GradConfig = {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      if (x.dtype === 'float32' && g.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())) {
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor };
      }
      return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
    },
  };
  tf.registerGradient(config);
}
