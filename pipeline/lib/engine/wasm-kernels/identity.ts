/** `Identity` that shares its input's buffer instead of copying it (see below). */
import * as tf from '@tensorflow/tfjs';
import { callKernel, type Kernel, type WasmKernelConfig } from './kernel-calls.ts';

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

export const identityConfig: WasmKernelConfig = {
  kernelName: tf.Identity,
  kernel: identityKernel,
  kind: 'speed',
  why: 'shipped one copies the tensor; clones (customGrad saves) now share it',
};
