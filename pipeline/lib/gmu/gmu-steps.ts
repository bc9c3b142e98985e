/**
 * One training step of the learned fusion (./gmu.ts) as nine matrix products on the native engine
 * (../engine/native-kernels.ts) and a few plain loops over the batch, instead of tfjs' forward pass,
 * gradient tape and some 170 small kernels per step (64 films, 128 hidden units): a head's epoch at
 * the shared data's shapes took 206–215 ms against 265–278 ms. The products now take about half of a
 * head's time (CPU profile), the loops' tanh and exp about a quarter.
 *
 * It computes what `optimizer.minimize` computed on ./gmu.ts's `forward` and the mean of tfjs-layers'
 * `binaryCrossentropy`, with the closed forms of their gradients:
 * - the loss clips p to [ε, 1 − ε] (ε = 1e-7) and takes the log-odds, so its gradient with respect to
 *   the output's pre-activation is (p − y) / (films · genres) where p lies inside the clip, 0 outside;
 * - dropout multiplies h by tfjs' own multipliers for the step's seed (../engine/fast-dropout.ts);
 * - tanh' = 1 − tanh², σ' = σ(1 − σ); the gate's gradient is dh ⊙ (h_v − h_t) ⊙ z(1 − z).
 * Values in float32 as tfjs keeps them; they equal tfjs' gradients to float32 rounding (tested to 1e-5
 * in tests/gmu/gmu-steps.test.ts). Adam stays tfjs' optimizer (the caller applies the gradients).
 */
import type { NativeKernels } from '../engine/native-kernels.ts';
import { dropoutMultipliers } from '../engine/fast-dropout.ts';
import { BCE_LOWER, BCE_UPPER } from '../core/metrics.ts';

type Gemm = NativeKernels['gemm'];

export interface GmuStepDims {
  visualDim: number;
  textualDim: number;
  hiddenUnits: number;
  genreCount: number;
}

/** The weights a step reads (row-major, input × output as in Keras). */
export interface GmuStepWeights {
  visual: Float32Array;
  textual: Float32Array;
  gate: Float32Array;
  output: Float32Array;
  outputBias: Float32Array;
}

/** A step's gradients, one per weight, shaped as the weights. */
export type GmuStepGradients = GmuStepWeights;

/** The films a head trains on: standardised features and 0/1 labels, films × width each. */
export interface GmuStepData {
  visual: Float32Array;
  textual: Float32Array;
  labels: Float32Array;
}

const sigmoid = (x: number) => Math.fround(1 / (1 + Math.exp(-x)));

/** Batch-sized scratch arrays, kept between steps (a head takes thousands of steps of the same size). */
class Scratch {
  private readonly arrays = new Map<string, Float32Array>();
  take(name: string, length: number): Float32Array {
    let array = this.arrays.get(name);
    if (!array || array.length < length) {
      array = new Float32Array(length);
      this.arrays.set(name, array);
    }
    return array.subarray(0, length);
  }
}

/** Training steps of one GMU shape, computing products with `gemm`. */
export class GmuSteps {
  private readonly scratch = new Scratch();
  private readonly gemm: Gemm;
  private readonly dims: GmuStepDims;

  constructor(gemm: Gemm, dims: GmuStepDims) {
    this.gemm = gemm;
    this.dims = dims;
  }

  /** Matrix product out = op(a) · op(b) (+ bias) on the engine. */
  private readonly product = (
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    transA = false,
    transB = false,
    bias?: Float32Array,
  ) => this.gemm({ a, b, bias, out, m, k, n, transA, transB });

  /**
   * The forward pass of the films `rows` (dropout when given): the batch's inputs, h_v, h_t, z, the
   * dropout multipliers, dropped h and the output's pre-activation, in the scratch arrays.
   */
  private forward(weights: GmuStepWeights, data: Omit<GmuStepData, 'labels'>, rows: readonly number[], dropout: { rate: number; seed: number } | null) {
    const { visualDim: vd, textualDim: td, hiddenUnits: hu, genreCount: g } = this.dims;
    const cd = vd + td;
    const b = rows.length;
    const take = (name: string, length: number) => this.scratch.take(name, length);
    const product = this.product;
    // The batch's rows: visual, textual, and both side by side (the gate's input).
    const xv = take('xv', b * vd);
    const xt = take('xt', b * td);
    const xc = take('xc', b * cd);
    for (let r = 0; r < b; r++) {
      const visualRow = data.visual.subarray(rows[r] * vd, (rows[r] + 1) * vd);
      const textualRow = data.textual.subarray(rows[r] * td, (rows[r] + 1) * td);
      xv.set(visualRow, r * vd);
      xt.set(textualRow, r * td);
      xc.set(visualRow, r * cd);
      xc.set(textualRow, r * cd + vd);
    }

    // Forward: h_v = tanh(x_v W_v), h_t = tanh(x_t W_t), z = σ([x_v x_t] W_z), h = z h_v + (1 − z) h_t.
    const hv = take('hv', b * hu);
    const ht = take('ht', b * hu);
    const z = take('z', b * hu);
    product(xv, weights.visual, hv, b, vd, hu);
    product(xt, weights.textual, ht, b, td, hu);
    product(xc, weights.gate, z, b, cd, hu);
    const multipliers = take('multipliers', b * hu);
    if (dropout && dropout.rate > 0) dropoutMultipliers(multipliers, dropout.rate, dropout.seed);
    else multipliers.fill(1);
    const dropped = take('dropped', b * hu);
    for (let i = 0; i < b * hu; i++) {
      const visual = Math.fround(Math.tanh(hv[i]));
      const textual = Math.fround(Math.tanh(ht[i]));
      const gate = sigmoid(z[i]);
      hv[i] = visual;
      ht[i] = textual;
      z[i] = gate;
      const h = Math.fround(Math.fround(gate * visual) + Math.fround(Math.fround(1 - gate) * textual));
      dropped[i] = Math.fround(h * multipliers[i]);
    }
    const p = take('p', b * g);
    product(dropped, weights.output, p, b, hu, g, false, false, weights.outputBias);
    return { xv, xt, xc, hv, ht, z, multipliers, dropped, p };
  }

  /**
   * The probabilities of the films `rows` of `data` (inference: no dropout), films × genres, in
   * batches of `batch` films; what ./gmu.ts's `forward` gives, to float32 rounding.
   */
  probabilities(weights: GmuStepWeights, data: Omit<GmuStepData, 'labels'>, rows: readonly number[], batch = 512): Float32Array {
    const g = this.dims.genreCount;
    const out = new Float32Array(rows.length * g);
    for (let start = 0; start < rows.length; start += batch) {
      const part = rows.slice(start, start + batch);
      const { p } = this.forward(weights, data, part, null);
      for (let i = 0; i < part.length * g; i++) out[start * g + i] = sigmoid(p[i]);
    }
    return out;
  }

  /**
   * The gradients of the mean binary cross-entropy of the films `rows` of `data` (one batch), with
   * dropout `rate` on h drawn from `seed` as tfjs' `tf.dropout(h, rate, undefined, seed)` draws it.
   * The returned arrays are reused by the next call.
   */
  gradients(weights: GmuStepWeights, data: GmuStepData, rows: readonly number[], dropout: { rate: number; seed: number }): GmuStepGradients {
    const { visualDim: vd, textualDim: td, hiddenUnits: hu, genreCount: g } = this.dims;
    const cd = vd + td;
    const b = rows.length;
    const take = (name: string, length: number) => this.scratch.take(name, length);
    const product = this.product;
    const { xv, xt, xc, hv, ht, z, multipliers, dropped, p } = this.forward(weights, data, rows, dropout);
    const y = take('y', b * g);
    rows.forEach((film, r) => y.set(data.labels.subarray(film * g, (film + 1) * g), r * g));

    // Backward, from the loss's gradient at the output's pre-activation.
    const scale = 1 / (b * g);
    const outputBias = take('dOutputBias', g);
    const sums = new Float64Array(g);
    for (let r = 0; r < b; r++) {
      for (let j = 0; j < g; j++) {
        const i = r * g + j;
        const probability = sigmoid(p[i]);
        const inside = probability >= BCE_LOWER && probability <= BCE_UPPER;
        const d = inside ? Math.fround((probability - y[i]) * scale) : 0;
        p[i] = d;
        sums[j] += d;
      }
    }
    for (let j = 0; j < g; j++) outputBias[j] = sums[j];
    const output = take('dOutput', hu * g);
    product(dropped, p, output, hu, b, g, true);
    const dh = take('dh', b * hu);
    product(p, weights.output, dh, b, g, hu, false, true);
    // dh through dropout, then into the three pre-activations (reusing hv, ht, z's arrays).
    for (let i = 0; i < b * hu; i++) {
      const d = Math.fround(dh[i] * multipliers[i]);
      const visual = hv[i];
      const textual = ht[i];
      const gate = z[i];
      hv[i] = Math.fround(Math.fround(d * gate) * Math.fround(1 - Math.fround(visual * visual)));
      ht[i] = Math.fround(Math.fround(d * Math.fround(1 - gate)) * Math.fround(1 - Math.fround(textual * textual)));
      z[i] = Math.fround(Math.fround(d * Math.fround(visual - textual)) * Math.fround(gate * Math.fround(1 - gate)));
    }
    const visual = take('dVisual', vd * hu);
    const textual = take('dTextual', td * hu);
    const gate = take('dGate', cd * hu);
    product(xv, hv, visual, vd, b, hu, true);
    product(xt, ht, textual, td, b, hu, true);
    product(xc, z, gate, cd, b, hu, true);
    return { visual, textual, gate, output, outputBias };
  }
}
