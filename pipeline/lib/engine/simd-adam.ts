/**
 * tfjs' Adam update in one WebAssembly SIMD pass per variable, on the wasm backend's heap.
 *
 * Why: tfjs' `AdamOptimizer.applyGradients` runs thirteen element-wise kernels per variable (each a
 * pass over memory, plus a scalar tensor or two): about 20 ms per step for the CNN's 3.5 M weights
 * here, 15–20% of a step at the demo's batch of 16. Written in JavaScript as one pass it was slower
 * (44 ms: no SIMD). Here one small SIMD function (./simd-kernels.ts, over the backend's own memory)
 * reads w, m, v and the gradient and writes the new w, m and v.
 *
 * Exactness: every operation is tfjs' own, in tfjs' order, each rounded to float32 as tfjs' wasm
 * kernels round it (IEEE single precision, no fused multiply-add): m' = m·β1 + g·(1−β1);
 * v' = v·β2 + (g·g)·(1−β2); w' = ((m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε))·(−lr) + w, with the
 * scalars rounded to float32 as tfjs makes them tensors. The last 0–3 values of a variable are done
 * in JavaScript with `Math.fround` after each operation, which is exact for these operations (double
 * precision has more than 2·24 + 2 bits). So weights, moments and losses equal tfjs' to the last bit
 * (tests/engine/simd-adam.test.ts). The optimizer keeps its class, its moment variables (same names)
 * and its saved state; other backends and non-float32 variables go to tfjs' own code.
 */
import * as tf from '@tensorflow/tfjs';
import { backendSimdKernels, type SimdKernels } from './simd-kernels.ts';
import { heapOffset, type WasmBackendLike } from './wasm-kernels/kernel-calls.ts';

/** The float32 scalars of one update, as tfjs makes them. */
interface Scalars {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLearningRate: number;
}

/** The same update for the values from `from` on, in JavaScript, each operation rounded to float32. */
function adamTail(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  wOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  from: number,
  s: Scalars,
): void {
  const f = Math.fround;
  for (let k = from; k < w.length; k++) {
    const mv = f(f(m[k] * s.beta1) + f(g[k] * s.oneMinusBeta1));
    const vv = f(f(v[k] * s.beta2) + f(f(g[k] * g[k]) * s.oneMinusBeta2));
    mOut[k] = mv;
    vOut[k] = vv;
    wOut[k] = f(f(f(f(mv / s.oneMinusAccBeta1) / f(f(Math.sqrt(f(vv / s.oneMinusAccBeta2))) + s.epsilon)) * s.negLearningRate) + w[k]);
  }
}

/** The parts of tfjs' AdamOptimizer this update reads and writes (protected in its typings). */
interface AdamLike {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

type Gradients = tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[];
type ApplyGradients = (this: tf.AdamOptimizer, gradients: Gradients) => void;

const state: { original: ApplyGradients | null; active: boolean; variables: number; ms: number } = { original: null, active: false, variables: 0, ms: 0 };

const f32 = Math.fround;

/** tfjs' applyGradients, with each variable's update in one SIMD pass. */
function simdApplyGradients(optimizer: AdamLike, gradients: Gradients, backend: WasmBackendLike, { adam }: SimdKernels): void {
  const started = performance.now();
  const names = Array.isArray(gradients) ? gradients.map((entry) => entry.name) : Object.keys(gradients);
  const [accBeta1] = optimizer.accBeta1.dataSync();
  const [accBeta2] = optimizer.accBeta2.dataSync();
  const scalars: Scalars = {
    beta1: f32(optimizer.beta1),
    oneMinusBeta1: f32(1 - optimizer.beta1),
    beta2: f32(optimizer.beta2),
    oneMinusBeta2: f32(1 - optimizer.beta2),
    oneMinusAccBeta1: f32(1 - accBeta1),
    oneMinusAccBeta2: f32(1 - accBeta2),
    epsilon: f32(optimizer.epsilon),
    negLearningRate: f32(-optimizer.learningRate),
  };
  const offset = (t: tf.TensorInfo) => heapOffset(backend, t);
  names.forEach((name, i) => {
    const value = tf.engine().registeredVariables[name];
    optimizer.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    optimizer.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    const gradient = Array.isArray(gradients) ? gradients[i].tensor : gradients[name];
    if (gradient == null) return;
    const first = optimizer.accumulatedFirstMoment[i].variable;
    const second = optimizer.accumulatedSecondMoment[i].variable;
    const outs = [value, first, second].map((t) => backend.makeOutput(t.shape, 'float32'));
    const [wOut, mOut, vOut] = outs;
    const size = value.size;
    const groups = size >> 2;
    adam(
      offset(value),
      offset(first),
      offset(second),
      offset(gradient),
      offset(wOut),
      offset(mOut),
      offset(vOut),
      groups,
      scalars.beta1,
      scalars.oneMinusBeta1,
      scalars.beta2,
      scalars.oneMinusBeta2,
      scalars.oneMinusAccBeta1,
      scalars.oneMinusAccBeta2,
      scalars.epsilon,
      scalars.negLearningRate,
    );
    if (groups * 4 < size) {
      const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      adamTail(view(value), view(first), view(second), view(gradient), view(wOut), view(mOut), view(vOut), groups * 4, scalars);
    }
    const [w, m, v] = outs.map((info) => tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend));
    first.assign(m);
    second.assign(v);
    value.assign(w);
    tf.dispose([w, m, v]);
    state.variables++;
  });
  tf.tidy(() => {
    optimizer.accBeta1.assign(tf.mul(optimizer.accBeta1, optimizer.beta1));
    optimizer.accBeta2.assign(tf.mul(optimizer.accBeta2, optimizer.beta2));
  });
  optimizer.incrementIterations();
  state.ms += performance.now() - started;
}

/** Whether every variable and gradient of this update is float32 (else tfjs' own code runs). */
function allFloat32(gradients: Gradients): boolean {
  const entries = Array.isArray(gradients) ? gradients.map((entry) => [entry.name, entry.tensor] as const) : Object.entries(gradients);
  return entries.every(([name, t]) => (t == null || t.dtype === 'float32') && tf.engine().registeredVariables[name]?.dtype === 'float32');
}

/** Turns the SIMD update on or off for every AdamOptimizer (idempotent). */
export function installSimdAdam(on: boolean): void {
  const prototype = tf.AdamOptimizer.prototype as unknown as { applyGradients: ApplyGradients };
  if (!state.original) {
    const original = prototype.applyGradients;
    state.original = original;
    prototype.applyGradients = function simdOrOriginal(this: tf.AdamOptimizer, gradients: Gradients) {
      const kernels = state.active && tf.getBackend() === 'wasm' ? backendSimdKernels(tf.backend()) : null;
      if (kernels && allFloat32(gradients)) {
        simdApplyGradients(this as unknown as AdamLike, gradients, tf.backend() as unknown as WasmBackendLike, kernels);
        return;
      }
      original.call(this, gradients);
    };
  }
  state.active = on;
}

/** Whether the SIMD update is on, how many variable updates it has made (run records, tests) and in how long (bench). */
export function simdAdamStatus(): { active: boolean; variables: number; ms: number } {
  return { active: state.active, variables: state.variables, ms: state.ms };
}
