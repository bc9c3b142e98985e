/**
 * Dropout's random mask in one tight loop, equal to tfjs' to the last bit, on the wasm backend.
 *
 * Why: tfjs' `dropout` draws its uniform numbers one at a time through a `TensorBuffer` and
 * seedrandom's Alea object (about 8.5 ns each), then adds, floors and divides in three more kernels.
 * The CNN's six Dropout layers draw 4.8 million numbers per training step of 64 posters. Here Alea
 * runs in WebAssembly with its state as integers (./simd-kernels.ts `dropoutMask`) and the
 * multiplier floor(u + keep) / keep is written straight into the mask tensor: the CNN's step took
 * 337 ms against 434 ms with tfjs' masks when the loop was JavaScript with its state in doubles
 * (`npm run bench`, alternating steps, one run), whose 22 ms per step the integer loop cuts to a few.
 *
 * The numbers are tfjs' own: the same Alea generator (Baagoe's algorithm, as seedrandom 3.0.5 writes
 * it, including its Mash seeding), seeded as tfjs seeds it (the layer's seed, else one `Math.random()`
 * per mask, as a string), and each float32 operation rounded as tfjs' kernels round it
 * (tests/engine/fast-dropout.test.ts compares both bit for bit). `installFastDropout(false)` puts tfjs'
 * `Dropout.call` back.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-kernels/kernel-calls.ts';
import { backendMemory, simdKernelsFor } from './simd-kernels.ts';

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

/** Memory for masks that live outside the wasm backend's heap (the fused LSTM's), grown as needed. */
let scratch: WebAssembly.Memory | null = null;

function scratchMemory(bytes: number): WebAssembly.Memory {
  const PAGE = 65536;
  scratch ??= new WebAssembly.Memory({ initial: 1 });
  const missing = Math.ceil(bytes / PAGE) - scratch.buffer.byteLength / PAGE;
  if (missing > 0) scratch.grow(missing);
  return scratch;
}

/**
 * Fills `out` with tfjs' dropout multipliers, floor(u + keep) / keep (0 or 1/keep), u drawn as
 * `tf.randomUniform(shape, 0, 1, 'float32', seed)` draws them; `seed` undefined draws one from
 * Math.random, as tfjs does. `out` in `memory` (the wasm backend's heap) is written in place; any
 * other array through a scratch memory.
 */
export function dropoutMultipliers(out: Float32Array, rate: number, seed?: number | string, memory?: WebAssembly.Memory | null): void {
  const { c, s0, s1, s2 } = aleaState(String(seed ?? Math.random()));
  const keep = Math.fround(1 - rate);
  // Alea's states are exact multiples of 2⁻³² in [0, 1): as integers (int32 bit patterns for the call).
  const k = (state: number) => state * 2 ** 32;
  const inPlace = memory && out.buffer === memory.buffer;
  const target = inPlace ? memory : scratchMemory(4 * out.length);
  simdKernelsFor(target).dropoutMask(inPlace ? out.byteOffset : 0, out.length, keep, Math.fround(1 / keep), c, k(s0), k(s1), k(s2));
  if (!inPlace) out.set(new Float32Array(target.buffer, 0, out.length));
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
        const multiplier = wasmTensor(input.shape, (values) => dropoutMultipliers(values, this.rate, this.seed, backendMemory(tf.backend())));
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
