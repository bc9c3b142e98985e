/**
 * The LSTM layer's whole sequence, forward and backward, as one operation with its own gradient, on
 * the native engine's matrix products (../native-kernels.ts).
 *
 * Why: tfjs runs an LSTM one timestep at a time as some thirty small kernels (the step's products,
 * the gate split, activations, the cell update, the mask selects), and the tape records each, so a
 * BiLSTM training step made 18,744 kernel calls and reached 14% of the core's peak. Here, per
 * direction and call:
 * - the input product of every timestep is one matrix product, hoisted out of the loop (the input
 *   dropout mask is the same at every timestep, as in tfjs' LSTMCell, which uses its first mask for
 *   all four gates);
 * - each timestep is one product (the previous output times the recurrent kernel) plus one pass over
 *   the gates: WebAssembly SIMD when the arrays lie in the LSTM arena (./lstm-cells.ts, float32 as
 *   TensorFlow computes it), else plain JavaScript (in doubles);
 * - the backward pass is one product per timestep (the gates' gradient times the recurrent kernel,
 *   transposed) and three products over the whole sequence (the kernels' and the input's gradients).
 *
 * Semantics are tfjs' `LSTM` layer's (tfjs-layers 4.22.0, `rnn()` and `LSTMCell.call`): sigmoid gates
 * i, f, o and tanh cell in Keras' [i, f, c, o] kernel order; a masked timestep keeps the previous output
 * and state; `goBackwards` walks the sequence from its end and returns the outputs in that order (the
 * Bidirectional wrapper reverses them); the dropout masks are drawn exactly as tfjs draws them (four per
 * kind, the first used) at the same point, so a seeded `Math.random` gives the same masks either way.
 * Outputs and gradients equal tfjs' own path to float32 rounding (tests/engine/fused-lstm.test.ts).
 *
 * The layer keeps its class, weights, names and saved format: `installFusedLstm` wraps
 * `LSTM.prototype.call`, and a call the fused path does not cover (another activation, an initial or
 * returned state, a stateful layer, no native engine) goes to tfjs' own code.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeKernels } from './native-kernels.ts';
import { tensorValues } from './tensor-values.ts';
import { dropoutMultipliers } from './fast-dropout.ts';
import { lstmArena, type LstmArena } from './lstm-cells.ts';

/** A row-major matrix product on the native engine: out = op(a) · op(b). */
type Gemm = NativeKernels['gemm'];

/** Where the passes take their scratch and saved arrays from: `length` floats, contents undefined. */
export type Take = (length: number) => Float32Array;

const fresh: Take = (length) => new Float32Array(length);

export interface LstmShapes {
  batch: number;
  timesteps: number;
  inputDim: number;
  units: number;
}

export interface LstmSequenceArgs extends LstmShapes {
  /** [batch, timesteps, inputDim], batch-major as the layer receives it. */
  x: Float32Array;
  /** [inputDim, 4·units], [units, 4·units], [4·units]: Keras' gate order i, f, c, o. */
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
  /** [batch, timesteps]: 0 for a masked (padding) timestep; null: none masked. */
  mask: Uint8Array | null;
  /** Input dropout mask [batch, inputDim] (0 or 1/keep), the same at every timestep; null: none. */
  inputDropout: Float32Array | null;
  /** Recurrent dropout mask [batch, units]; null: none. */
  recurrentDropout: Float32Array | null;
  goBackwards: boolean;
  returnSequences: boolean;
}

/** What the forward pass keeps for the backward pass (time-major: row s·batch + b is step s, film b). */
interface Saved {
  /** The dropped-out inputs, [timesteps·batch, inputDim], in processing order. */
  inputs: Float32Array;
  /** The gates after their activations, [timesteps·batch, 4·units]: i, f, g (tanh), o. */
  gates: Float32Array;
  /** The cell state after each step, [timesteps·batch, units]. */
  cells: Float32Array;
  /** tanh of the new cell state at each step, [timesteps·batch, units]. */
  cellTanh: Float32Array;
  /** The previous output, dropped out, that each step multiplied: [timesteps·batch, units]. */
  recurrentInputs: Float32Array;
  /** Whether film b's step s ran (1) or was masked (0): [timesteps·batch]. */
  ran: Uint8Array;
}

export interface LstmForward {
  /** [batch, timesteps, units] (processing order) when returnSequences, else [batch, units]. */
  output: Float32Array;
  saved: Saved;
  /** The arrays taken for the pass alone, free once it returns. */
  scratch: Float32Array[];
}

export interface LstmGradients {
  x: Float32Array;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
  /** The arrays taken for the pass alone, free once it returns. */
  scratch: Float32Array[];
}

/** Beyond ±this, float32 tanh is ±1 to within 2.6e-7 (Eigen's clamp for its float tanh). */
const TANH_CLAMP = 7.90531110763549805;

/**
 * tanh to within 2.6e-7 (absolute; 1.3e-7 relative near 0): Eigen's rational approximation for float32
 * (the one TensorFlow's CPU kernels use), a degree-13/6 ratio of odd/even polynomials. About 3 ns,
 * against 11–17 ns for Math.tanh or a call to Math.exp, which were half of the forward pass's time.
 */
export function tanh(v: number): number {
  const x = v > TANH_CLAMP ? TANH_CLAMP : v < -TANH_CLAMP ? -TANH_CLAMP : v;
  const x2 = x * x;
  let p = -2.76076847742355e-16;
  p = p * x2 + 2.00018790482477e-13;
  p = p * x2 - 8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = 1.19825839466702e-6;
  q = q * x2 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (x * p) / q;
}

/** The logistic function through tanh: σ(v) = (1 + tanh(v/2)) / 2, to within 1.3e-7. */
export const sigmoid = (v: number) => 0.5 + 0.5 * tanh(0.5 * v);

/**
 * One film's cells at one timestep: the gates' activations (written over their pre-activations, the
 * input product at `gates[z..]`, plus the recurrent product at `product[p..]` and the bias), then, when
 * the step runs, the new cell state and output. A function of its own so that V8 optimises it once;
 * as an inner loop of the sequence it was recompiled on every call (on-stack replacement).
 */
function cellForward(
  H: number,
  gates: Float32Array,
  z: number,
  product: Float32Array,
  p: number,
  bias: Float32Array,
  c: Float32Array,
  h: Float32Array,
  state: number,
  cells: Float32Array,
  cellTanh: Float32Array,
  cellRow: number,
  on: boolean,
): void {
  for (let u = 0; u < H; u++) {
    const i = sigmoid(gates[z + u] + product[p + u] + bias[u]);
    const f = sigmoid(gates[z + H + u] + product[p + H + u] + bias[H + u]);
    const g = tanh(gates[z + 2 * H + u] + product[p + 2 * H + u] + bias[2 * H + u]);
    const o = sigmoid(gates[z + 3 * H + u] + product[p + 3 * H + u] + bias[3 * H + u]);
    gates[z + u] = i;
    gates[z + H + u] = f;
    gates[z + 2 * H + u] = g;
    gates[z + 3 * H + u] = o;
    if (on) {
      const cNew = f * c[state + u] + i * g;
      const tc = tanh(cNew);
      c[state + u] = cNew;
      h[state + u] = o * tc;
      cellTanh[cellRow + u] = tc;
    }
    cells[cellRow + u] = c[state + u];
  }
}

/**
 * One film's cells backwards at one timestep that ran: the gates' pre-activation gradients into
 * `dGates[z..]` from the output's and the cell's gradients (`dh`, `dc`), and `dc` for the step before.
 */
function cellBackward(
  H: number,
  gates: Float32Array,
  z: number,
  cellTanh: Float32Array,
  cellRow: number,
  cells: Float32Array,
  previousRow: number,
  dh: Float32Array,
  dc: Float32Array,
  state: number,
  dGates: Float32Array,
): void {
  for (let u = 0; u < H; u++) {
    const i = gates[z + u];
    const f = gates[z + H + u];
    const g = gates[z + 2 * H + u];
    const o = gates[z + 3 * H + u];
    const tc = cellTanh[cellRow + u];
    const dhu = dh[state + u];
    const dcNew = dc[state + u] + dhu * o * (1 - tc * tc);
    const cPrevious = previousRow >= 0 ? cells[previousRow + u] : 0;
    dGates[z + u] = dcNew * g * i * (1 - i);
    dGates[z + H + u] = dcNew * cPrevious * f * (1 - f);
    dGates[z + 2 * H + u] = dcNew * i * (1 - g * g);
    dGates[z + 3 * H + u] = dhu * tc * o * (1 - o);
    dc[state + u] = dcNew * f;
  }
}

/** The arena's SIMD cells when `units` is a multiple of 4 and every array lies in the arena, else null (JavaScript). */
function simdCells(units: number, ...arrays: ArrayBufferView[]): LstmArena['cells'] | null {
  const arena = lstmArena();
  return arena && units % 4 === 0 && arena.holds(...arrays) ? arena.cells : null;
}

function addInto(target: Float32Array, at: number, source: Float32Array, from: number, length: number): void {
  for (let j = 0; j < length; j++) target[at + j] += source[from + j];
}

/** target[at..] = source[from..] · scale[scaleAt..] (elementwise), or a copy when scale is null. */
function scaledCopy(target: Float32Array, at: number, source: Float32Array, from: number, scale: Float32Array | null, scaleAt: number, length: number): void {
  if (scale) for (let j = 0; j < length; j++) target[at + j] = source[from + j] * scale[scaleAt + j];
  else target.set(source.subarray(from, from + length), at);
}

/** Runs one LSTM direction over the whole sequence. */
export function lstmSequenceForward(gemm: Gemm, args: LstmSequenceArgs, take: Take = fresh): LstmForward {
  const {
    batch: B,
    timesteps: T,
    inputDim: D,
    units: H,
    x,
    kernel,
    recurrentKernel,
    bias,
    mask,
    inputDropout,
    recurrentDropout,
    goBackwards,
    returnSequences,
  } = args;
  const G = 4 * H;
  const rows = T * B;
  const timeOf = (s: number) => (goBackwards ? T - 1 - s : s);

  // The dropped-out inputs in processing order, then every timestep's input product at once.
  const inputs = take(rows * D);
  for (let s = 0; s < T; s++) {
    const t = timeOf(s);
    for (let b = 0; b < B; b++) {
      scaledCopy(inputs, (s * B + b) * D, x, (b * T + t) * D, inputDropout, b * D, D);
    }
  }
  // The bias is added in the loop below: ONNX Runtime's Gemm with a bias row ran 4.5 times slower.
  const gates = take(rows * G);
  gemm({ a: inputs, b: kernel, out: gates, m: rows, k: D, n: G, transA: false, transB: false });

  const cells = take(rows * H);
  const cellTanh = take(rows * H);
  const recurrentInputs = take(rows * H);
  const ran = new Uint8Array(rows);
  const output = take(returnSequences ? B * T * H : B * H);
  const h = take(B * H).fill(0);
  const c = take(B * H).fill(0);
  const product = take(B * G);
  // The SIMD cells need every array they touch in the arena: the bias is copied there, the flags live there.
  const biasHere = take(G);
  biasHere.set(bias);
  const flagArray = take(B);
  const flags = new Int32Array(flagArray.buffer, flagArray.byteOffset, B);
  const simd = simdCells(H, gates, product, biasHere, c, h, cells, cellTanh, flags);
  for (let s = 0; s < T; s++) {
    const t = timeOf(s);
    const hr = recurrentInputs.subarray(s * B * H, (s + 1) * B * H);
    scaledCopy(hr, 0, h, 0, recurrentDropout, 0, B * H);
    gemm({ a: hr, b: recurrentKernel, out: product, m: B, k: H, n: G, transA: false, transB: false });
    for (let b = 0; b < B; b++) {
      const row = s * B + b;
      const on = mask === null || mask[b * T + t] !== 0;
      ran[row] = flags[b] = on ? 1 : 0;
    }
    if (simd) {
      const at = (a: Float32Array, row: number) => a.byteOffset + 4 * row;
      simd.forward(
        at(gates, s * B * G),
        product.byteOffset,
        biasHere.byteOffset,
        c.byteOffset,
        h.byteOffset,
        at(cells, s * B * H),
        at(cellTanh, s * B * H),
        flags.byteOffset,
        B,
        H,
      );
    } else {
      for (let b = 0; b < B; b++) {
        const row = s * B + b;
        cellForward(H, gates, row * G, product, b * G, biasHere, c, h, b * H, cells, cellTanh, row * H, flags[b] === 1);
      }
    }
    if (returnSequences) for (let b = 0; b < B; b++) output.set(h.subarray(b * H, (b + 1) * H), (b * T + s) * H);
  }
  if (!returnSequences) output.set(h);
  return { output, saved: { inputs, gates, cells, cellTanh, recurrentInputs, ran }, scratch: [h, c, product, biasHere, flagArray] };
}

/**
 * Back-propagates through one direction: `dOutput` has the forward output's shape. Returns the
 * gradients of the (undropped) input and of the three weights.
 */
export function lstmSequenceBackward(gemm: Gemm, args: LstmSequenceArgs, saved: Saved, dOutput: Float32Array, take: Take = fresh): LstmGradients {
  const { batch: B, timesteps: T, inputDim: D, units: H, kernel, recurrentKernel, inputDropout, recurrentDropout, goBackwards, returnSequences } = args;
  const G = 4 * H;
  const rows = T * B;
  const { inputs, gates, cells, cellTanh, recurrentInputs, ran } = saved;
  const dGates = take(rows * G).fill(0);
  // Gradients reaching the current step's output (= its h state) and cell state from later steps.
  const dh = take(B * H).fill(0);
  const dc = take(B * H).fill(0);
  if (!returnSequences) dh.set(dOutput);
  const dRecurrent = take(B * H);
  const flagArray = take(B);
  const flags = new Int32Array(flagArray.buffer, flagArray.byteOffset, B);
  const simd = simdCells(H, gates, cellTanh, cells, dh, dc, dGates, flags);
  for (let s = T - 1; s >= 0; s--) {
    let anyRan = false;
    for (let b = 0; b < B; b++) {
      const row = s * B + b;
      if (returnSequences) addInto(dh, b * H, dOutput, (b * T + s) * H, H);
      flags[b] = ran[row];
      // A film whose step did not run passes dh and dc to the previous step unchanged; its gates get nothing.
      if (ran[row]) anyRan = true;
    }
    if (!anyRan) continue;
    if (simd) {
      const at = (a: Float32Array, row: number) => a.byteOffset + 4 * row;
      simd.backward(
        at(gates, s * B * G),
        at(cellTanh, s * B * H),
        s > 0 ? at(cells, (s - 1) * B * H) : -1,
        dh.byteOffset,
        dc.byteOffset,
        at(dGates, s * B * G),
        flags.byteOffset,
        B,
        H,
      );
    } else {
      for (let b = 0; b < B; b++) {
        const row = s * B + b;
        if (flags[b]) cellBackward(H, gates, row * G, cellTanh, row * H, cells, s > 0 ? (row - B) * H : -1, dh, dc, b * H, dGates);
      }
    }
    const dz = dGates.subarray(s * B * G, (s + 1) * B * G);
    gemm({ a: dz, b: recurrentKernel, out: dRecurrent, m: B, k: G, n: H, transA: false, transB: true });
    for (let b = 0; b < B; b++) if (ran[s * B + b]) scaledCopy(dh, b * H, dRecurrent, b * H, recurrentDropout, b * H, H);
  }

  const dKernel = take(D * G);
  gemm({ a: inputs, b: dGates, out: dKernel, m: D, k: rows, n: G, transA: true, transB: false });
  const dRecurrentKernel = take(H * G);
  gemm({ a: recurrentInputs, b: dGates, out: dRecurrentKernel, m: H, k: rows, n: G, transA: true, transB: false });
  const dBias = take(G).fill(0);
  for (let row = 0; row < rows; row++) addInto(dBias, 0, dGates, row * G, G);
  const dInputs = take(rows * D);
  gemm({ a: dGates, b: kernel, out: dInputs, m: rows, k: G, n: D, transA: false, transB: true });
  const dx = take(B * T * D);
  for (let s = 0; s < T; s++) {
    const t = goBackwards ? T - 1 - s : s;
    for (let b = 0; b < B; b++) {
      scaledCopy(dx, (b * T + t) * D, dInputs, (s * B + b) * D, inputDropout, b * D, D);
    }
  }
  return { x: dx, kernel: dKernel, recurrentKernel: dRecurrentKernel, bias: dBias, scratch: [dGates, dh, dc, dRecurrent, dInputs, flagArray] };
}

// ---------------------------------------------------------------------------------------------
// The layer hook

/** The parts of tfjs-layers' `LSTM` (and its `LSTMCell`) the fused call reads. */
interface LstmLayerLike {
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
  cell: {
    units: number;
    useBias: boolean;
    dropout: number;
    recurrentDropout: number;
    dropoutFunc?: unknown;
    activation: { getClassName(): string };
    recurrentActivation: { getClassName(): string };
    kernel: { read(): tf.Tensor };
    recurrentKernel: { read(): tf.Tensor };
    bias: { read(): tf.Tensor } | null;
    dropoutMask: unknown;
    recurrentDropoutMask: unknown;
  };
}

type LayerCall = (this: LstmLayerLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const state: { original: LayerCall | null; gemm: Gemm | null; calls: number; backwardCalls: number; backwardMs: number } = {
  original: null,
  gemm: null,
  calls: 0,
  backwardCalls: 0,
  backwardMs: 0,
};

/** Whether this call is one the fused path computes exactly as tfjs would. */
function covered(layer: LstmLayerLike, x: tf.Tensor, kwargs: Record<string, unknown>): boolean {
  const { cell } = layer;
  return (
    x.rank === 3 &&
    x.dtype === 'float32' &&
    kwargs?.initialState == null &&
    !layer.returnState &&
    !layer.stateful &&
    cell.useBias &&
    cell.bias !== null &&
    cell.dropoutFunc == null &&
    cell.activation.getClassName() === 'tanh' &&
    cell.recurrentActivation.getClassName() === 'sigmoid'
  );
}

/**
 * tfjs' dropout masks for one LSTM call, drawn as `generateDropoutMask` draws them (four masks, each
 * seeded by one `Math.random()`, of which the cell uses the first), only in training and only for a
 * rate in (0, 1). The three unused masks are not computed, but their seeds are drawn, so the random
 * stream moves on exactly as in tfjs.
 */
function dropoutMask(rate: number, shape: [number, number], training: boolean): Float32Array | null {
  if (!(rate > 0 && rate < 1) || !training) return null;
  const mask = new Float32Array(shape[0] * shape[1]);
  dropoutMultipliers(mask, rate);
  for (let unused = 1; unused < 4; unused++) Math.random();
  return mask;
}

/**
 * Arrays reused from call to call, by capacity (powers of two). Fresh memory is expensive here: the
 * first write to each page of a new 7 MB array took 25 ms on this machine, as long as the products it
 * holds. A pass's saved arrays come back when its gradient has been computed (or at once in inference).
 */
const pool = new Map<number, Float32Array[]>();

const NO_INPUT = new Float32Array(0);

/** New arrays come from the LSTM arena (./lstm-cells.ts), where the SIMD cells reach them, while it has room. */
const pooled: Take = (length) => {
  const capacity = 2 ** Math.ceil(Math.log2(Math.max(1, length)));
  const free = pool.get(capacity);
  return (free?.pop() ?? lstmArena()?.take(capacity) ?? new Float32Array(capacity)).subarray(0, length);
};

/** An array taken from the pool, whole again (capacity from its start). */
function wholeOf(array: Float32Array): Float32Array {
  const capacity = 2 ** Math.ceil(Math.log2(Math.max(1, array.length)));
  return new Float32Array(array.buffer, array.byteOffset, capacity);
}

function giveBack(arrays: Float32Array[]): void {
  for (const array of arrays) {
    const whole = wholeOf(array);
    let free = pool.get(whole.length);
    if (!free) pool.set(whole.length, (free = []));
    free.push(whole);
  }
}

/** Empties the pool (after training, so its memory can be collected) and rewinds the arena: no pass may be running. */
export function releaseFusedLstmBuffers(): void {
  pool.clear();
  lstmArena()?.reset();
}

/** The float32 contents of a wasm-backend tensor, in place on the heap: valid until the next allocation there. */
const heapView = (t: tf.Tensor) => tensorValues(t) as Float32Array;

function fusedCall(layer: LstmLayerLike, gemm: Gemm, x: tf.Tensor3D, kwargs: Record<string, unknown>): tf.Tensor {
  const [batch, timesteps, inputDim] = x.shape;
  const { units } = layer.cell;
  const training = Boolean(kwargs?.training);
  const maskTensor = kwargs?.mask as tf.Tensor | null | undefined;
  const mask = maskTensor ? Uint8Array.from(maskTensor.dataSync() as ArrayLike<number>, (v) => (v ? 1 : 0)) : null;
  const inputDropout = dropoutMask(layer.cell.dropout, [batch, inputDim], training);
  const recurrentDropout = dropoutMask(layer.cell.recurrentDropout, [batch, units], training);
  const { returnSequences, goBackwards } = layer;
  const outputShape = returnSequences ? [batch, timesteps, units] : [batch, units];
  // Without a gradient tape no backward pass can come, so the saved arrays go back at once.
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  state.calls++;
  const run = tf.customGrad((...tensors: unknown[]) => {
    const [input, kernel, recurrentKernel, bias] = tensors as tf.Tensor[];
    // Views of the weights, taken again for the backward pass (the heap may have grown in between);
    // the input is read in the forward pass only (the backward pass uses its saved dropped-out copy).
    const weights = () => ({ kernel: heapView(kernel), recurrentKernel: heapView(recurrentKernel), bias: heapView(bias) });
    const shape = { batch, timesteps, inputDim, units, mask, inputDropout, recurrentDropout, goBackwards, returnSequences };
    const { output, saved, scratch } = lstmSequenceForward(gemm, { ...shape, ...weights(), x: heapView(input) }, pooled);
    const value = tf.tensor(output, outputShape, 'float32');
    giveBack([output, ...scratch]);
    const savedArrays = [saved.inputs, saved.gates, saved.cells, saved.cellTanh, saved.recurrentInputs];
    let savedFree = false;
    if (!recording) {
      giveBack(savedArrays);
      savedFree = true;
    }
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        if (savedFree) throw new Error('fused LSTM: its gradient was asked for twice, or outside a gradient tape');
        const started = performance.now();
        const grads = lstmSequenceBackward(gemm, { ...shape, ...weights(), x: NO_INPUT }, saved, heapView(dy), pooled);
        const result = [
          tf.tensor(grads.x, x.shape, 'float32'),
          tf.tensor(grads.kernel, kernel.shape, 'float32'),
          tf.tensor(grads.recurrentKernel, recurrentKernel.shape, 'float32'),
          tf.tensor(grads.bias, bias.shape, 'float32'),
        ];
        giveBack([grads.x, grads.kernel, grads.recurrentKernel, grads.bias, ...grads.scratch, ...savedArrays]);
        savedFree = true;
        state.backwardCalls++;
        state.backwardMs += performance.now() - started;
        return result;
      },
    };
  });
  return run(x, layer.cell.kernel.read(), layer.cell.recurrentKernel.read(), layer.cell.bias!.read()) as tf.Tensor;
}

/**
 * Routes every tfjs `LSTM` layer call the fused path covers to it, computing products with `gemm`;
 * null puts tfjs' own per-timestep path back. Idempotent.
 */
export function installFusedLstm(gemm: Gemm | null): void {
  const prototype = Object.getPrototypeOf(tf.layers.lstm({ units: 1 })) as { call: LayerCall };
  if (!state.original) {
    const original = prototype.call;
    state.original = original;
    prototype.call = function fusedOrOriginal(this: LstmLayerLike, inputs, kwargs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gemmNow = state.gemm;
      if (gemmNow && tf.getBackend() === 'wasm' && covered(this, x, kwargs)) return fusedCall(this, gemmNow, x as tf.Tensor3D, kwargs);
      return original.call(this, inputs, kwargs);
    };
  }
  state.gemm = gemm;
}

/**
 * Whether LSTM layers run fused now; how many calls ran fused so far (run records, tests); and the
 * backward passes' count and time (a profile of kernels does not see them: they run inside the tape).
 */
export function fusedLstmStatus(): { active: boolean; calls: number; backwardCalls: number; backwardMs: number } {
  return { active: state.gemm !== null, calls: state.calls, backwardCalls: state.backwardCalls, backwardMs: state.backwardMs };
}
