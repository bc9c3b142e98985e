/**
 * The coursework's poster CNN ("2.a. CNN"), layer for layer and with the coursework's layer names:
 *
 * ```
 * Input (InputLayer)     (None, 64, 64, 3)            0
 * Conv0 (Conv2D)         (None, 32, 32, 16)         448   16 filters, 3×3, stride 2, same, relu
 * Drop1 (Dropout)        (None, 32, 32, 16)           0   rate 0.2
 * Conv1 (Conv2D)         (None, 32, 32, 32)       4,640   32, 3×3, stride 1, same, relu
 * Conv2 (Conv2D)         (None, 32, 32, 32)       9,248
 * Drop2 (Dropout)        (None, 32, 32, 32)           0
 * Pool1 (MaxPooling2D)   (None, 16, 16, 32)           0   2×2
 * Conv3 (Conv2D)         (None, 16, 16, 64)      18,496
 * Conv4 (Conv2D)         (None, 16, 16, 64)      36,928
 * Drop3 (Dropout)        (None, 16, 16, 64)           0
 * Pool2 (MaxPooling2D)   (None, 8, 8, 64)             0
 * Conv5 (Conv2D)         (None, 8, 8, 128)       73,856
 * Conv6 (Conv2D)         (None, 8, 8, 128)      147,584
 * Drop4 (Dropout)        (None, 8, 8, 128)            0
 * Pool3 (MaxPooling2D)   (None, 4, 4, 128)            0
 * Flat (Flatten)         (None, 2048)                 0
 * FC1 (Dense)            (None, 1024)         2,098,176   relu
 * Drop5 (Dropout)        (None, 1024)                 0   rate 0.5
 * FC2 (Dense)            (None, 1024)         1,049,600   relu
 * Drop6 (Dropout)        (None, 1024)                 0   rate 0.5
 * Output (Dense)         (None, 25)              25,625   sigmoid
 * Total params: 3,464,601
 * ```
 *
 * Initialisation follows Keras' defaults (which differ from tfjs' defaults): kernels glorot-uniform
 * (tfjs' Conv2D/Dense default is glorot-*normal*), biases zero. Every kernel initialiser gets its
 * own seed derived from the model seed and the layer name, so one seed reproduces every initial
 * weight on every backend (tfjs draws seeded random numbers in JS, not on the device).
 *
 * Dropout is deliberately NOT seeded: tfjs' `Dropout({seed})` passes the same fixed seed to
 * `tf.dropout` on every call, so the layer would drop the same units at every training step — a
 * fixed pruning, not dropout. Unseeded dropout draws from `Math.random`, which the training loop
 * (`pipeline/lib/train/train.ts`) replaces with a seeded, checkpointed generator while it trains.
 *
 * This file also holds what both models share: `deriveSeed` and `compileForCoursework`.
 */
import * as tf from '@tensorflow/tfjs';
import { CNN_DIMENSIONS } from '../../settings.ts';

/** Keras' default `epsilon()` and Adam epsilon; tfjs' is the backend's (1e-4 on half-float WebGL). */
export const KERAS_EPSILON = 1e-7;

export interface CnnOptions {
  /** Square poster side in pixels (the coursework resizes to 64×64). */
  imageSize?: number;
  genreCount?: number;
  /** Seed of every initial weight. */
  seed: number;
}

/**
 * A 31-bit seed for one weight of one layer, derived from the model seed and a label such as
 * `"Conv0/kernel"` (FNV-1a over the text, then a murmur3 finaliser). Stable across runs,
 * platforms and layer order.
 */
export function deriveSeed(seed: number, label: string): number {
  const text = `${seed}|${label}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x7fffffff;
}

/** Keras' default kernel initialiser (glorot uniform), seeded for `layer`. */
export function glorotUniformFor(seed: number, layer: string): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed: deriveSeed(seed, `${layer}/kernel`) });
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

export function assertSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
}

/**
 * Builds the coursework CNN (uncompiled). With the default 64×64 input and 25 genres it has
 * 3,464,601 parameters. Other image sizes must be multiples of 16 (stride-2 conv + three 2×2
 * pools), and change FC1's parameter count.
 */
export function buildCnn(options: CnnOptions): tf.LayersModel {
  const { imageSize = 64, genreCount = 25, seed } = options;
  assertPositiveInteger('imageSize', imageSize);
  assertPositiveInteger('genreCount', genreCount);
  assertSeed(seed);
  if (imageSize % 16 !== 0) throw new RangeError(`imageSize must be a multiple of 16, got ${imageSize}`);

  const conv = (name: string, filters: number, strides = 1) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      strides,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: glorotUniformFor(seed, name),
      biasInitializer: 'zeros',
    });
  const dense = (name: string, units: number, activation: 'relu' | 'sigmoid') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: glorotUniformFor(seed, name), biasInitializer: 'zeros' });
  const dropout = (name: string, rate: number) => tf.layers.dropout({ name, rate });
  const pool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 });

  const { stemFilters, blockFilters, convDropout, denseUnits, denseDropout } = CNN_DIMENSIONS;
  const inputs = tf.input({ name: 'Input', shape: [imageSize, imageSize, 3] });
  let x = conv('Conv0', stemFilters, 2).apply(inputs) as tf.SymbolicTensor;
  x = dropout('Drop1', convDropout).apply(x) as tf.SymbolicTensor;

  // Block b: Conv(2b+1), Conv(2b+2), Drop(b+2), Pool(b+1) — the coursework's layer names.
  blockFilters.forEach((filters, b) => {
    x = conv(`Conv${2 * b + 1}`, filters).apply(x) as tf.SymbolicTensor;
    x = conv(`Conv${2 * b + 2}`, filters).apply(x) as tf.SymbolicTensor;
    x = dropout(`Drop${b + 2}`, convDropout).apply(x) as tf.SymbolicTensor;
    x = pool(`Pool${b + 1}`).apply(x) as tf.SymbolicTensor;
  });

  x = tf.layers.flatten({ name: 'Flat' }).apply(x) as tf.SymbolicTensor;
  x = dense('FC1', denseUnits, 'relu').apply(x) as tf.SymbolicTensor;
  x = dropout('Drop5', denseDropout).apply(x) as tf.SymbolicTensor;
  x = dense('FC2', denseUnits, 'relu').apply(x) as tf.SymbolicTensor;
  x = dropout('Drop6', denseDropout).apply(x) as tf.SymbolicTensor;
  const outputs = dense('Output', genreCount, 'sigmoid').apply(x) as tf.SymbolicTensor;

  return tf.model({ name: 'model', inputs, outputs });
}

/**
 * Compiles `model` as the coursework does: Adam (learning rate 1e-4, Keras' β1 0.9, β2 0.999 and
 * ε 1e-7 — pinned, because tfjs' default ε is the backend's) and binary cross-entropy. No tfjs
 * metrics: tfjs' precision/recall are per-batch, so whole-set metrics come from
 * `pipeline/lib/core/metrics.ts`, and `trainOnBatch` keeps returning the bare loss.
 *
 * Returns the optimiser, so the caller can change its learning rate per epoch (schedule.ts) and
 * dispose it.
 */
export function compileForCoursework(model: tf.LayersModel, learningRate = 1e-4): tf.AdamOptimizer {
  if (!(learningRate > 0)) throw new RangeError(`learningRate must be positive, got ${learningRate}`);
  const optimizer = tf.train.adam(learningRate, 0.9, 0.999, KERAS_EPSILON);
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  return optimizer;
}
