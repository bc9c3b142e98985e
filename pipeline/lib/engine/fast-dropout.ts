/**
 * Dropout's random mask in one tight loop, equal to tfjs' to the last bit, on the wasm backend.
 *
 * Why: tfjs' `dropout` draws its uniform numbers one at a time through a `TensorBuffer` and
 * seedrandom's Alea object (about 8.5 ns each), then adds, floors and divides in three more kernels.
 * The CNN's six Dropout layers draw 4.8 million numbers per training step of 64 posters. Here Alea
 * runs with its state in local variables and the multiplier floor(u + keep) / keep is written
 * straight into the mask tensor: the CNN's step took 337 ms against 434 ms with tfjs' masks
 * (`npm run bench`, alternating steps, one run).
 *
 * The numbers are tfjs' own: the same Alea generator (Baagoe's algorithm, as seedrandom 3.0.5 writes
 * it, including its Mash seeding), seeded as tfjs seeds it (the layer's seed, else one `Math.random()`
 * per mask, as a string), and each float32 operation rounded as tfjs' kernels round it
 * (tests/engine/fast-dropout.test.ts compares both bit for bit). `installFastDropout(false)` puts tfjs'
 * `Dropout.call` back.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-kernels/kernel-calls.ts';

/** seedrandom's Mash: hashes a seed string into Alea's initial state. */
function mash(): (data: string) => number {
  let n = 0xefc8249d;
  return (data) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
}

/** Alea's state after seeding with `seed` (seedrandom 3.0.5's `alea(seed)`). */
function aleaState(seed: string): { c: number; s0: number; s1: number; s2: number } {
  const m = mash();
  let s0 = m(' ');
  let s1 = m(' ');
  let s2 = m(' ');
  s0 -= m(seed);
  if (s0 < 0) s0 += 1;
  s1 -= m(seed);
  if (s1 < 0) s1 += 1;
  s2 -= m(seed);
  if (s2 < 0) s2 += 1;
  return { c: 1, s0, s1, s2 };
}

/**
 * Fills `out` with tfjs' dropout multipliers, floor(u + keep) / keep (0 or 1/keep), u drawn as
 * `tf.randomUniform(shape, 0, 1, 'float32', seed)` draws them; `seed` undefined draws one from
 * Math.random, as tfjs does.
 */
export function dropoutMultipliers(out: Float32Array, rate: number, seed?: number | string): void {
  const { c, s0, s1, s2 } = aleaState(String(seed ?? Math.random()));
  fillMultipliers(out, Math.fround(1 - rate), c, s0, s1, s2);
}

/**
 * The loop itself, with Alea's state in plain number arguments: written so V8 keeps it in doubles
 * (destructured state and `t | 0` made it five times slower here). c = floor(t) equals seedrandom's
 * `t | 0`, since 0 ≤ t < 2091640.
 */
function fillMultipliers(out: Float32Array, keep: number, c: number, s0: number, s1: number, s2: number): void {
  const f = Math.fround;
  for (let i = 0; i < out.length; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    c = Math.floor(t);
    s2 = t - c;
    out[i] = f(Math.floor(f(f(s2) + keep)) / keep);
  }
}

/** A float32 tensor of `shape` on the wasm heap, filled by `fill` (given its values in place). */
function wasmTensor(shape: number[], fill: (values: Float32Array) => void): tf.Tensor {
  const backend = tf.backend() as unknown as WasmBackendLike;
  const info = backend.makeOutput(shape, 'float32');
  fill(backend.typedArrayFromHeap(info) as Float32Array);
  return tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend);
}

/** The parts of tfjs-layers' `Dropout` the fast call reads. */
interface DropoutLike {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

type LayerCall = (this: DropoutLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const state: { original: LayerCall | null; active: boolean; calls: number } = { original: null, active: false, calls: 0 };

/** Runs tfjs' Dropout layers' training-mode masks in one loop on the wasm backend (true), or as tfjs does (false). Idempotent. */
export function installFastDropout(active: boolean): void {
  const prototype = Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })) as { call: LayerCall };
  if (!state.original) {
    const original = prototype.call;
    state.original = original;
    prototype.call = function fastOrOriginal(this: DropoutLike, inputs, kwargs) {
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      const covered =
        state.active &&
        tf.getBackend() === 'wasm' &&
        Boolean(kwargs?.training) &&
        this.rate > 0 &&
        this.rate < 1 &&
        this.noiseShape == null &&
        input.dtype === 'float32';
      if (!covered) return original.call(this, inputs, kwargs);
      state.calls++;
      return tf.tidy(() => {
        this.invokeCallHook(inputs, kwargs);
        const multiplier = wasmTensor(input.shape, (values) => dropoutMultipliers(values, this.rate, this.seed));
        return tf.mul(input, multiplier);
      });
    };
  }
  state.active = active;
}

/** Whether Dropout layers run the fast masks now, and how many calls did so far. */
export function fastDropoutStatus(): { active: boolean; calls: number } {
  return { active: state.active, calls: state.calls };
}
