/**
 * The learned fusion: a Gated Multimodal Unit (GMU; Arevalo, Solorio, Montes-y-Gómez & González,
 * "Gated Multimodal Units for Information Fusion", ICLR workshop 2017 — introduced on MM-IMDb, the
 * same poster + plot genre task) on the penultimate activations of the two trained models:
 *
 * ```
 * h_v = tanh(W_v x_v)            x_v: the CNN's FC2 activations (1024, relu)
 * h_t = tanh(W_t x_t)            x_t: the BiLSTM's `dense` activations (128, relu)
 * z   = σ(W_z [x_v; x_t])        the gate: per hidden unit, how much of the poster to take
 * h   = z ⊙ h_v + (1 − z) ⊙ h_t  (dropout on h while training)
 * p   = σ(W_o h + b_o)           one sigmoid per genre
 * ```
 *
 * No biases except the output's, as in the paper. Before the GMU, each feature is standardised
 * (mean 0, standard deviation 1) with statistics of the films that head is fitted on (its inner
 * training films), so that tanh does not start saturated whatever the scale of the activations.
 *
 * Pure apart from tfjs: no I/O. `pipeline/lib/gmu/gmu-stage.ts` extracts the activations, calls
 * `trainLearnedFusion` and writes the artifacts, and publishes the final head for the live demo as a
 * tfjs Layers model (`buildGmuModel`: built-in layers computing what `gmuForward` computes). The
 * standardisation lives in `gmu-standardisation.ts`, which the browser runs too.
 *
 * What is chosen, and on which films (the validation films are never given to any choice —
 * `trainLearnedFusion` does not even receive their labels):
 *
 * - One head is fitted per call of `fitGmu`: its rows are split (seeded) into inner training films
 *   (~90%) and an inner holdout (~10%); it trains for `maxEpochs` epochs (Adam, binary
 *   cross-entropy, batches of 64 in a seeded order) and keeps the weights of the epoch with the
 *   lowest holdout loss.
 * - The validation predictions come from a head fitted on all training films.
 * - The training films' probabilities (on which the analysis tunes per-genre thresholds) are
 *   out-of-fold: k-fold cross-fitting over the training films, one head per fold fitted on the
 *   other folds, each film predicted by the head that did not see it.
 *
 * Caveat, stated plainly: out-of-fold is only half the story. The activations of the training
 * films come from base models whose weights were fitted to those very films, so they are
 * in-sample for the base models (more confident and more separable than on new films). The GMU is
 * trained on them, its inner holdout is made of them, and its out-of-fold probabilities are
 * computed from them: all three are optimistic compared with the validation films. (The late
 * fusion's weight, chosen on the base models' training-film probabilities, shares the problem.)
 */
import * as tf from '@tensorflow/tfjs';
import { kFolds } from '../analysis/analysis.ts';
import { binaryCrossEntropy } from '../core/metrics.ts';
import { deriveSeed, glorotUniformFor, KERAS_EPSILON } from '../train/models/cnn.ts';
import { fitStandardisation, standardise, type Standardisation } from '../contract/gmu-standardisation.ts';
import { seededRandom, shuffled } from '../core/random.ts';
import { GMU_INPUTS, GMU_SETTINGS } from '../settings.ts';
import { nativeGemm } from '../engine/wasm-kernels/kernel-calls.ts';
import { tensorValues } from '../engine/tensor-values.ts';
import { GmuSteps, type GmuStepData, type GmuStepDims, type GmuStepWeights } from './gmu-steps.ts';

export { GMU_INPUTS };

/**
 * Bump when a change would change the learned fusion's results or what its cache holds: invalidates
 * the fusion cache. 2: the cache also holds the final head as a tfjs model (`buildGmuModel`), which
 * the fusion stage publishes for the live demo. 3: on the wasm backend with native products, the heads
 * train with ./gmu-steps.ts' gradients (tfjs' to float32 rounding, not to the bit).
 */
export const GMU_VERSION = 3;

/** The GMU's training settings (defaults: GMU_SETTINGS in pipeline/lib/settings.ts). */
export type GmuSettings = typeof GMU_SETTINGS;

/** Activations of some films: row-major films × dim, one matrix per modality. */
export interface GmuFeatures {
  films: number;
  visualDim: number;
  textualDim: number;
  visual: Float32Array;
  textual: Float32Array;
}

/** A GMU's weights as plain row-major matrices (kernels are input × output, as in Keras). */
export interface GmuWeights {
  visualDim: number;
  textualDim: number;
  hiddenUnits: number;
  genreCount: number;
  /** W_v: visualDim × hiddenUnits. */
  visual: Float32Array;
  /** W_t: textualDim × hiddenUnits. */
  textual: Float32Array;
  /** W_z: (visualDim + textualDim) × hiddenUnits; rows of the visual features first. */
  gate: Float32Array;
  /** W_o: hiddenUnits × genreCount. */
  output: Float32Array;
  /** b_o: genreCount. */
  outputBias: Float32Array;
}

export function gmuParameterCount(visualDim: number, textualDim: number, hiddenUnits: number, genreCount: number): number {
  return (visualDim + textualDim + visualDim + textualDim) * hiddenUnits + hiddenUnits * genreCount + genreCount;
}

// --- The network ------------------------------------------------------------------------------

interface GmuVariables {
  visual: tf.Variable;
  textual: tf.Variable;
  gate: tf.Variable;
  output: tf.Variable;
  outputBias: tf.Variable;
}

const TENSOR_NAMES = ['visual', 'textual', 'gate', 'output', 'outputBias'] as const;

function shapes(w: Pick<GmuWeights, 'visualDim' | 'textualDim' | 'hiddenUnits' | 'genreCount'>): Record<(typeof TENSOR_NAMES)[number], number[]> {
  const { visualDim, textualDim, hiddenUnits, genreCount } = w;
  return {
    visual: [visualDim, hiddenUnits],
    textual: [textualDim, hiddenUnits],
    gate: [visualDim + textualDim, hiddenUnits],
    output: [hiddenUnits, genreCount],
    outputBias: [genreCount],
  };
}

/**
 * The values of the tensor `f` makes, its intermediate tensors disposed. The tensor leaves `tf.tidy`
 * and is read outside it: tidy walks what its function returns element by element, so returning the
 * values themselves cost more than the GMU's inference (a tenth of each epoch, measured).
 */
function valuesOfTidy(f: () => tf.Tensor): Float32Array {
  const tensor = tf.tidy(f);
  try {
    return (tensor.dataSync() as Float32Array).slice();
  } finally {
    tensor.dispose();
  }
}

/**
 * Keras' default initial weights, seeded: glorot-uniform kernels (one derived seed per kernel, as
 * models/cnn.ts does per layer), zero output bias.
 */
export function initialGmuWeights(dims: { visualDim: number; textualDim: number; hiddenUnits: number; genreCount: number }, seed: number): GmuWeights {
  for (const [name, value] of Object.entries(dims)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  const shape = shapes(dims);
  const draw = (layer: string, name: 'visual' | 'textual' | 'gate' | 'output') =>
    valuesOfTidy(() => glorotUniformFor(seed, layer).apply(shape[name], 'float32') as tf.Tensor);
  return {
    ...dims,
    visual: draw('gmu_visual', 'visual'),
    textual: draw('gmu_textual', 'textual'),
    gate: draw('gmu_gate', 'gate'),
    output: draw('gmu_output', 'output'),
    outputBias: new Float32Array(dims.genreCount),
  };
}

function toVariables(w: GmuWeights): GmuVariables {
  const shape = shapes(w);
  const out = {} as GmuVariables;
  for (const name of TENSOR_NAMES) {
    const initial = tf.tensor(w[name], shape[name], 'float32');
    out[name] = tf.variable(initial, true);
    initial.dispose();
  }
  return out;
}

function fromVariables(v: GmuVariables, dims: Pick<GmuWeights, 'visualDim' | 'textualDim' | 'hiddenUnits' | 'genreCount'>): GmuWeights {
  const out = { ...dims } as GmuWeights;
  for (const name of TENSOR_NAMES) out[name] = (v[name].dataSync() as Float32Array).slice();
  return out;
}

/** The forward pass (training: with dropout on h, seeded). Returns probabilities, films × genres. */
function forward(v: GmuVariables, xv: tf.Tensor2D, xt: tf.Tensor2D, dropout?: { rate: number; seed: number }): tf.Tensor2D {
  return tf.tidy(() => {
    const hv = tf.tanh(tf.matMul(xv, v.visual as tf.Tensor2D));
    const ht = tf.tanh(tf.matMul(xt, v.textual as tf.Tensor2D));
    const z = tf.sigmoid(tf.matMul(tf.concat([xv, xt], 1), v.gate as tf.Tensor2D));
    let h: tf.Tensor2D = tf.add(tf.mul(z, hv), tf.mul(tf.sub(1, z), ht));
    if (dropout && dropout.rate > 0) h = tf.dropout(h, dropout.rate, undefined, dropout.seed) as tf.Tensor2D;
    return tf.sigmoid(tf.add(tf.matMul(h, v.output as tf.Tensor2D), v.outputBias));
  });
}

/** The mean gate z of each film (over the hidden units): the poster's share of h. */
function gateOf(v: GmuVariables, xv: tf.Tensor2D, xt: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.sigmoid(tf.matMul(tf.concat([xv, xt], 1), v.gate as tf.Tensor2D)), 1) as tf.Tensor1D);
}

const INFERENCE_BATCH = 512;

/** Runs `f` on consecutive batches of `rows` rows of (visual, textual) and concatenates the outputs. */
function batched(
  visual: Float32Array,
  textual: Float32Array,
  dims: { visualDim: number; textualDim: number },
  rows: number,
  width: number,
  f: (xv: tf.Tensor2D, xt: tf.Tensor2D) => tf.Tensor,
): Float32Array {
  const out = new Float32Array(rows * width);
  for (let start = 0; start < rows; start += INFERENCE_BATCH) {
    const end = Math.min(rows, start + INFERENCE_BATCH);
    const values = valuesOfTidy(() => {
      const xv = tf.tensor2d(visual.subarray(start * dims.visualDim, end * dims.visualDim), [end - start, dims.visualDim]);
      const xt = tf.tensor2d(textual.subarray(start * dims.textualDim, end * dims.textualDim), [end - start, dims.textualDim]);
      return f(xv, xt);
    });
    out.set(values, start * width);
  }
  return out;
}

/**
 * The GMU's probabilities for `films` rows of (already standardised) features, films × genres.
 * Inference mode (no dropout).
 */
export function gmuForward(weights: GmuWeights, visual: Float32Array, textual: Float32Array, films: number): Float32Array {
  if (visual.length !== films * weights.visualDim || textual.length !== films * weights.textualDim) {
    throw new RangeError(
      `gmuForward: ${visual.length} visual and ${textual.length} textual values for ${films} films of ${weights.visualDim} + ${weights.textualDim} features`,
    );
  }
  const v = toVariables(weights);
  try {
    return batched(visual, textual, weights, films, weights.genreCount, (xv, xt) => forward(v, xv, xt));
  } finally {
    tf.dispose(Object.values(v));
  }
}

// --- The GMU as a tfjs Layers model (published for the live demo) --------------------------------

/** Layer names of the published GMU model (`buildGmuModel`): its two inputs first, visual then textual. */
export const GMU_LAYERS = {
  visualInput: 'gmu_visual_input',
  textualInput: 'gmu_textual_input',
  visual: 'gmu_visual',
  textual: 'gmu_textual',
  concat: 'gmu_concat',
  gate: 'gmu_gate',
  oneMinusGate: 'gmu_one_minus_gate',
  visualShare: 'gmu_visual_share',
  textualShare: 'gmu_textual_share',
  hidden: 'gmu_h',
  dropout: 'gmu_dropout',
  output: 'gmu_output',
} as const;

/**
 * The GMU with these weights as a standard tfjs Layers model, so the browser can load it with
 * `tf.loadLayersModel` (only built-in layers: no custom class to register). Inputs: the
 * standardised visual activations, then the textual ones; output: one probability per genre.
 * It computes what `gmuForward` computes, op for op: Dense(tanh, no bias) per modality, the gate
 * Dense(sigmoid, no bias) on the concatenation, 1 − z as Rescaling(scale −1, offset 1),
 * h = z·h_v + (1 − z)·h_t with Multiply and Add, Dropout (inactive in inference), Dense(sigmoid).
 */
export function buildGmuModel(weights: GmuWeights, dropout = GMU_SETTINGS.dropout): tf.LayersModel {
  const { visualDim, textualDim, hiddenUnits, genreCount } = weights;
  const xv = tf.input({ shape: [visualDim], name: GMU_LAYERS.visualInput });
  const xt = tf.input({ shape: [textualDim], name: GMU_LAYERS.textualInput });
  const dense = (name: string, units: number, activation: 'tanh' | 'sigmoid', useBias: boolean) => tf.layers.dense({ units, activation, useBias, name });
  const visual = dense(GMU_LAYERS.visual, hiddenUnits, 'tanh', false);
  const textual = dense(GMU_LAYERS.textual, hiddenUnits, 'tanh', false);
  const gate = dense(GMU_LAYERS.gate, hiddenUnits, 'sigmoid', false);
  const output = dense(GMU_LAYERS.output, genreCount, 'sigmoid', true);
  const hv = visual.apply(xv) as tf.SymbolicTensor;
  const ht = textual.apply(xt) as tf.SymbolicTensor;
  const z = gate.apply(tf.layers.concatenate({ axis: -1, name: GMU_LAYERS.concat }).apply([xv, xt])) as tf.SymbolicTensor;
  const oneMinusZ = tf.layers.rescaling({ scale: -1, offset: 1, name: GMU_LAYERS.oneMinusGate }).apply(z) as tf.SymbolicTensor;
  const h = tf.layers
    .add({ name: GMU_LAYERS.hidden })
    .apply([
      tf.layers.multiply({ name: GMU_LAYERS.visualShare }).apply([z, hv]) as tf.SymbolicTensor,
      tf.layers.multiply({ name: GMU_LAYERS.textualShare }).apply([oneMinusZ, ht]) as tf.SymbolicTensor,
    ]) as tf.SymbolicTensor;
  const dropped = tf.layers.dropout({ rate: dropout, name: GMU_LAYERS.dropout }).apply(h) as tf.SymbolicTensor;
  const probabilities = output.apply(dropped) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [xv, xt], outputs: probabilities, name: 'gmu' });
  const shape = shapes(weights);
  const set = (layer: tf.layers.Layer, tensors: tf.Tensor[]) => {
    layer.setWeights(tensors);
    tf.dispose(tensors);
  };
  set(visual, [tf.tensor(weights.visual, shape.visual, 'float32')]);
  set(textual, [tf.tensor(weights.textual, shape.textual, 'float32')]);
  set(gate, [tf.tensor(weights.gate, shape.gate, 'float32')]);
  set(output, [tf.tensor(weights.output, shape.output, 'float32'), tf.tensor(weights.outputBias, shape.outputBias, 'float32')]);
  return model;
}

/** The weights of a model built by `buildGmuModel` (e.g. the published one, loaded again), as plain matrices. */
export function gmuWeightsOf(model: tf.LayersModel): GmuWeights {
  const read = (name: string, index = 0) => {
    const tensor = model.getLayer(name).getWeights()[index];
    if (!tensor) throw new Error(`the GMU model's layer ${name} has no weight ${index}`);
    return (tensor.dataSync() as Float32Array).slice();
  };
  const dims = (name: string) => model.getLayer(name).getWeights()[0].shape as number[];
  const [visualDim, hiddenUnits] = dims(GMU_LAYERS.visual);
  const [textualDim] = dims(GMU_LAYERS.textual);
  const [, genreCount] = dims(GMU_LAYERS.output);
  return {
    visualDim,
    textualDim,
    hiddenUnits,
    genreCount,
    visual: read(GMU_LAYERS.visual),
    textual: read(GMU_LAYERS.textual),
    gate: read(GMU_LAYERS.gate),
    output: read(GMU_LAYERS.output),
    outputBias: read(GMU_LAYERS.output, 1),
  };
}

// --- Standardisation (pipeline/lib/contract/gmu-standardisation.ts: the same code runs in the live demo) ---

export { fitStandardisation, standardise, type Standardisation } from '../contract/gmu-standardisation.ts';

// --- Fitting one head -----------------------------------------------------------------------------

export interface GmuEpoch {
  epoch: number;
  /** Binary cross-entropy on the head's inner training films (inference mode, after the epoch). */
  trainLoss: number;
  /** Binary cross-entropy on the head's inner holdout (the films that choose the epoch). */
  holdoutLoss: number;
}

/** A fitted head: kept weights and the standardisation it was fitted with. */
export interface GmuFit {
  weights: GmuWeights;
  standardisation: { visual: Standardisation; textual: Standardisation };
  epochs: GmuEpoch[];
  /** 0-based epoch whose weights are kept (lowest holdout loss; the earlier on a tie). */
  chosenEpoch: number;
  /** Rows of the features the head trained on, and the rows that chose its epoch. */
  innerTrain: number[];
  holdout: number[];
}

export interface FitGmuInput {
  features: GmuFeatures;
  /** films × genres, rows aligned with `features`. */
  labels: ArrayLike<number>;
  genreCount: number;
  /** The rows of `features` this head may use (training films only). */
  rows: readonly number[];
  settings?: GmuSettings;
  seed: number;
  /** Names the head in derived seeds, so each head has its own holdout, order and dropout. */
  label: string;
  onEpoch?: (record: GmuEpoch, total: number) => void | Promise<void>;
}

/** Rows split into (inner training, holdout), seeded: round(fraction · n) films held out, at least 1. */
export function holdoutSplit(rows: readonly number[], fraction: number, seed: number): { innerTrain: number[]; holdout: number[] } {
  if (rows.length < 2) throw new RangeError(`need at least 2 films to hold some out, got ${rows.length}`);
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`holdout fraction must be in (0, 1), got ${fraction}`);
  const order = shuffled(rows, seededRandom(seed));
  const size = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
  const sort = (a: number[]) => a.sort((x, y) => x - y);
  return { holdout: sort(order.slice(0, size)), innerTrain: sort(order.slice(size)) };
}

function selectLabels(labels: ArrayLike<number>, genreCount: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * genreCount);
  rows.forEach((row, i) => {
    for (let g = 0; g < genreCount; g++) out[i * genreCount + g] = labels[row * genreCount + g];
  });
  return out;
}

/** How a head trains and predicts its films; Adam is tfjs' optimizer either way. */
interface HeadSteps {
  /** One step of Adam on the training films at positions `rows`, with dropout on h. */
  step(rows: number[], dropout: { rate: number; seed: number }): void;
  /** Probabilities of the first `films` films of `set` (inference). */
  probabilities(set: GmuStepData, films: number): Float32Array;
  dispose(): void;
}

/**
 * A head's steps as products on the native engine when the wasm backend has one (./gmu-steps.ts:
 * the same gradients to float32 rounding, an epoch in about three quarters of the time), else with
 * tfjs' kernels and tape.
 */
function headSteps(variables: GmuVariables, dims: GmuStepDims, optimizer: tf.Optimizer, train: GmuStepData): HeadSteps {
  const gemm = nativeGemm();
  if (gemm) {
    const steps = new GmuSteps(gemm, dims);
    const shape = shapes(dims);
    // Views of the variables on the wasm heap, read before anything else allocates there.
    const weights = () => Object.fromEntries(TENSOR_NAMES.map((name) => [name, tensorValues(variables[name])])) as unknown as GmuStepWeights;
    return {
      step(rows, dropout) {
        const gradients = steps.gradients(weights(), train, rows, dropout);
        const named = TENSOR_NAMES.map((name) => ({ name: variables[name].name, tensor: tf.tensor(gradients[name], shape[name], 'float32') }));
        optimizer.applyGradients(named);
        tf.dispose(named.map((entry) => entry.tensor));
      },
      probabilities: (set, films) =>
        steps.probabilities(
          weights(),
          set,
          Array.from({ length: films }, (_, i) => i),
        ),
      dispose() {},
    };
  }
  const trainable = TENSOR_NAMES.map((name) => variables[name]);
  const xv = tf.tensor2d(train.visual, [train.visual.length / dims.visualDim, dims.visualDim]);
  const xt = tf.tensor2d(train.textual, [train.textual.length / dims.textualDim, dims.textualDim]);
  const y = tf.tensor2d(train.labels, [train.labels.length / dims.genreCount, dims.genreCount]);
  return {
    step(rows, dropout) {
      const batch = tf.tensor1d(rows, 'int32');
      optimizer.minimize(
        () => {
          const p = forward(variables, tf.gather(xv, batch), tf.gather(xt, batch), dropout);
          return tf.mean(tf.metrics.binaryCrossentropy(tf.gather(y, batch), p)) as tf.Scalar;
        },
        false,
        trainable,
      );
      batch.dispose();
    },
    probabilities: (set, films) => batched(set.visual, set.textual, dims, films, dims.genreCount, (a, b) => forward(variables, a, b)),
    dispose: () => tf.dispose([xv, xt, y]),
  };
}

/** Lets the event loop turn (Ctrl-C) between epochs. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Fits one GMU head on `rows` (see the module comment): holdout split, standardisation on the
 * inner training films, `maxEpochs` epochs of Adam on binary cross-entropy, the epoch with the
 * lowest holdout loss kept. Same inputs and seed, same weights (on the same backend).
 */
export async function fitGmu(input: FitGmuInput): Promise<GmuFit> {
  const { features, labels, genreCount, rows, seed, label } = input;
  const settings = input.settings ?? GMU_SETTINGS;
  if (labels.length !== features.films * genreCount) throw new RangeError(`${labels.length} labels for ${features.films} films × ${genreCount} genres`);
  for (const row of rows) if (!(row >= 0 && row < features.films)) throw new RangeError(`row ${row} is not one of the ${features.films} films`);
  const { innerTrain, holdout } = holdoutSplit(rows, settings.holdoutFraction, deriveSeed(seed, `gmu/${label}/holdout`));
  const standardisation = {
    visual: fitStandardisation(features.visual, features.visualDim, innerTrain),
    textual: fitStandardisation(features.textual, features.textualDim, innerTrain),
  };
  const dims = { visualDim: features.visualDim, textualDim: features.textualDim, hiddenUnits: settings.hiddenUnits, genreCount };
  const prepare = (set: readonly number[]) => ({
    visual: standardise(features.visual, features.visualDim, set, standardisation.visual),
    textual: standardise(features.textual, features.textualDim, set, standardisation.textual),
    labels: selectLabels(labels, genreCount, set),
  });
  const train = prepare(innerTrain);
  const held = prepare(holdout);

  const variables = toVariables(initialGmuWeights(dims, seed));
  const optimizer = tf.train.adam(settings.learningRate, 0.9, 0.999, KERAS_EPSILON);
  const head = headSteps(variables, dims, optimizer, train);
  const lossOf = (set: GmuStepData, films: number) => binaryCrossEntropy(head.probabilities(set, films), set.labels);

  const epochs: GmuEpoch[] = [];
  let chosenEpoch = -1;
  let best = Number.POSITIVE_INFINITY;
  let kept: GmuWeights | null = null;
  try {
    for (let epoch = 0; epoch < settings.maxEpochs; epoch++) {
      const order = shuffled(
        Array.from({ length: innerTrain.length }, (_, i) => i),
        seededRandom(deriveSeed(seed, `gmu/${label}/epoch-${epoch}`)),
      );
      for (let start = 0, step = 0; start < order.length; start += settings.batchSize, step++) {
        head.step(order.slice(start, start + settings.batchSize), { rate: settings.dropout, seed: deriveSeed(seed, `gmu/${label}/dropout-${epoch}-${step}`) });
      }
      const record: GmuEpoch = { epoch, trainLoss: lossOf(train, innerTrain.length), holdoutLoss: lossOf(held, holdout.length) };
      epochs.push(record);
      if (record.holdoutLoss < best) {
        best = record.holdoutLoss;
        chosenEpoch = epoch;
        kept = fromVariables(variables, dims);
      }
      await input.onEpoch?.(record, settings.maxEpochs);
      await yieldToEventLoop();
    }
  } finally {
    head.dispose();
    tf.dispose(Object.values(variables));
    optimizer.dispose();
  }
  if (!kept) throw new Error(`GMU ${label}: no epoch had a finite holdout loss`);
  return { weights: kept, standardisation, epochs, chosenEpoch, innerTrain, holdout };
}

/** A fitted head's probabilities for the given rows of `features` (standardised with the head's statistics). */
export function predictFit(fit: GmuFit, features: GmuFeatures, rows: readonly number[]): Float32Array {
  const visual = standardise(features.visual, features.visualDim, rows, fit.standardisation.visual);
  const textual = standardise(features.textual, features.textualDim, rows, fit.standardisation.textual);
  return gmuForward(fit.weights, visual, textual, rows.length);
}

/** The mean gate z over the given films and the hidden units: the poster's share of h (0–1). */
export function meanGate(fit: GmuFit, features: GmuFeatures, rows: readonly number[]): number {
  if (rows.length === 0) return Number.NaN;
  const visual = standardise(features.visual, features.visualDim, rows, fit.standardisation.visual);
  const textual = standardise(features.textual, features.textualDim, rows, fit.standardisation.textual);
  const v = toVariables(fit.weights);
  try {
    const z = batched(visual, textual, fit.weights, rows.length, 1, (xv, xt) => gateOf(v, xv, xt));
    return z.reduce((a, b) => a + b, 0) / rows.length;
  } finally {
    tf.dispose(Object.values(v));
  }
}

// --- Cross-fitting and the whole learned fusion -----------------------------------------------------

/**
 * Out-of-fold predictions: for each fold, `fitAndPredict(fitRows, heldOut, k)` is given the rows of
 * the other folds to fit on and must return its predictions for the held-out rows (heldOut × width,
 * in heldOut's order). Each of the `n` rows is predicted exactly once, by the call that did not fit
 * on it; a fold structure that is not a partition of 0..n−1 is an error.
 */
export async function crossFitted(
  n: number,
  folds: readonly (readonly number[])[],
  width: number,
  fitAndPredict: (fitRows: number[], heldOut: number[], fold: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const fold = new Int32Array(n).fill(-1);
  folds.forEach((rows, k) => {
    for (const row of rows) {
      if (!(row >= 0 && row < n)) throw new RangeError(`fold ${k}: row ${row} is not one of the ${n} films`);
      if (fold[row] !== -1) throw new RangeError(`film row ${row} is in two folds`);
      fold[row] = k;
    }
  });
  if (fold.some((k) => k === -1)) throw new RangeError('the folds do not cover every film');
  const out = new Float32Array(n * width).fill(Number.NaN);
  for (let k = 0; k < folds.length; k++) {
    const heldOut = [...folds[k]];
    const fitRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== k);
    const predicted = await fitAndPredict(fitRows, heldOut, k);
    if (predicted.length !== heldOut.length * width) throw new RangeError(`fold ${k}: ${predicted.length} values for ${heldOut.length} films × ${width}`);
    heldOut.forEach((row, i) => out.set(predicted.subarray(i * width, (i + 1) * width), row * width));
  }
  return out;
}

export interface LearnedFusionInput {
  /** The training films' activations and labels (films × genres): everything any choice may see. */
  train: { features: GmuFeatures; labels: ArrayLike<number> };
  /** The validation films' activations only: predicted with the final head, never used to choose. */
  validation: GmuFeatures;
  genreCount: number;
  settings?: GmuSettings;
  seed: number;
  /** Called after every epoch of every head (`head`: 'fold 1/5' … 'final'). */
  onEpoch?: HeadEpochCallback;
  /** Where the heads are fitted (default: one after another, here; ./heads-helper.ts: also on a helper thread). */
  runHeads?: GmuHeadRunner;
}

export type HeadEpochCallback = (head: string, record: GmuEpoch, total: number) => void | Promise<void>;

/** One head of the learned fusion: its name in progress lines, its label in derived seeds, its rows. */
export interface GmuHeadJob {
  head: string;
  label: string;
  rows: number[];
}

/** What every head of one learned fusion shares. */
export type SharedHeadInput = Required<Pick<FitGmuInput, 'features' | 'labels' | 'genreCount' | 'settings' | 'seed'>>;

/**
 * Fits the heads and returns one fit per job, in the jobs' order. A head depends only on its job and
 * the shared input (every random choice is seeded by its label), so heads may be fitted in any order
 * and on any thread of the same backend with the same result.
 */
export type GmuHeadRunner = (jobs: readonly GmuHeadJob[], shared: SharedHeadInput, onEpoch?: HeadEpochCallback) => Promise<GmuFit[]>;

/** The heads one after another, on this thread. */
export const fitHeadsInTurn: GmuHeadRunner = async (jobs, shared, onEpoch) => {
  const fits: GmuFit[] = [];
  for (const { head, label, rows } of jobs) fits.push(await fitGmu({ ...shared, rows, label, onEpoch: (record, total) => onEpoch?.(head, record, total) }));
  return fits;
};

export interface FoldSummary {
  /** Training-film rows predicted by this fold's head (which did not fit on them). */
  heldOut: number[];
  fitFilms: number;
  chosenEpoch: number;
  holdoutLoss: number;
}

export interface LearnedFusionResult {
  /** The head fitted on all training films: its history and kept weights. */
  final: GmuFit;
  /** validation films × genres, from `final`. */
  validationProbabilities: Float32Array;
  /** training films × genres, each film from the fold head that did not fit on it. */
  outOfFold: Float32Array;
  folds: FoldSummary[];
  /** Mean gate (poster share of h) of the final head on the training and on the validation films (descriptive). */
  gate: { train: number; validation: number };
}

/**
 * The learned fusion: the final head on all training films (→ validation probabilities) and k
 * cross-fitted heads (→ out-of-fold training probabilities). Validation labels are not an input.
 */
export async function trainLearnedFusion(input: LearnedFusionInput): Promise<LearnedFusionResult> {
  const settings = input.settings ?? GMU_SETTINGS;
  const { features, labels } = input.train;
  const { genreCount, seed } = input;
  const n = features.films;
  if (input.validation.visualDim !== features.visualDim || input.validation.textualDim !== features.textualDim) {
    throw new RangeError('the validation activations have other dimensions than the training ones');
  }
  if (n < 2) throw new RangeError(`the learned fusion needs at least 2 training films, got ${n}`);
  // As the analysis' cross-validation: fewer folds only when there are fewer films than folds.
  const foldRows = kFolds(n, Math.min(settings.folds, n), deriveSeed(seed, 'gmu/folds'));
  const all = Array.from({ length: n }, (_, i) => i);
  const jobs: GmuHeadJob[] = [
    ...foldRows.map((heldOut, k) => {
      const out = new Set(heldOut);
      return { head: `fold ${k + 1}/${foldRows.length}`, label: `fold-${k}`, rows: all.filter((row) => !out.has(row)) };
    }),
    { head: 'final', label: 'final', rows: all },
  ];
  const fits = await (input.runHeads ?? fitHeadsInTurn)(jobs, { features, labels, genreCount, settings, seed }, input.onEpoch);
  const folds: FoldSummary[] = [];
  const outOfFold = await crossFitted(n, foldRows, genreCount, async (fitRows, heldOut, k) => {
    const fit = fits[k];
    folds.push({ heldOut, fitFilms: fitRows.length, chosenEpoch: fit.chosenEpoch, holdoutLoss: fit.epochs[fit.chosenEpoch].holdoutLoss });
    return predictFit(fit, features, heldOut);
  });
  const final = fits[foldRows.length];
  const validationRows = Array.from({ length: input.validation.films }, (_, i) => i);
  return {
    final,
    validationProbabilities: predictFit(final, input.validation, validationRows),
    outOfFold,
    folds,
    gate: { train: meanGate(final, features, all), validation: meanGate(final, input.validation, validationRows) },
  };
}
