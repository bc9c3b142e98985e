/**
 * Training losses (config `loss`), for the ablations of issue 5 ("class-weighted or focal loss").
 * Every loss is a mean over all film × genre cells of the batch, so `bce` here is exactly the
 * coursework's Keras `binary_crossentropy` (tfjs' `metrics.binaryCrossentropy`, the same ε-clipping).
 *
 * - `bce`: the coursework's loss.
 * - `class-weighted-bce`: a positive label of genre g weighs `w_g = √(negatives_g / positives_g)`,
 *   counted on the training films (a genre without positives or negatives weighs 1):
 *   `−mean(w_g·y·log p + (1 − y)·log(1 − p))`. The full ratio negatives/positives (PyTorch's
 *   `pos_weight` example) would weigh the 2 training films of the rarest genre by ≈ 2,300, so that
 *   one cell outweighs a whole batch; the square root keeps the order of the weights (rare genres
 *   count more, Drama's positives slightly less than 1) at ≈ 48 for that genre.
 * - `focal`: Lin et al. (2017), α = 0.25, γ = 2 (their defaults, as torchvision's
 *   `sigmoid_focal_loss`): `−mean(α·y·(1 − p)^γ·log p + (1 − α)·(1 − y)·p^γ·log(1 − p))`.
 *
 * Whatever the loss, the epoch kept and every reported loss are binary cross-entropy on the
 * validation films, so runs with different losses are compared on the same scale.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../settings.ts';
import { BCE_EPSILON } from '../core/metrics.ts';
import { FOCAL_ALPHA, FOCAL_GAMMA } from '../settings.ts';

/** `(y, p) → scalar`: true labels and predicted probabilities, both films × genres. */
export type LossFunction = (labels: tf.Tensor, probabilities: tf.Tensor) => tf.Scalar;

/** √(negatives / positives) per genre over `films` (rows of the films × genres `labels`); 1 when either count is 0. */
export function positiveWeights(labels: Uint8Array, genreCount: number, films: readonly number[]): Float32Array {
  const positives = new Array<number>(genreCount).fill(0);
  for (const film of films) for (let g = 0; g < genreCount; g++) positives[g] += labels[film * genreCount + g] !== 0 ? 1 : 0;
  return Float32Array.from(positives, (p) => (p === 0 || p === films.length ? 1 : Math.sqrt((films.length - p) / p)));
}

const clipped = (p: tf.Tensor) => tf.clipByValue(p, BCE_EPSILON, 1 - BCE_EPSILON);

/**
 * The loss function of `name`. `weights` (genre-column order) is required by `class-weighted-bce`
 * and rejected by the others, so a run cannot silently train with weights it does not report.
 */
export function lossFunction(name: LossName, weights?: Float32Array): LossFunction {
  if ((name === 'class-weighted-bce') !== (weights !== undefined)) {
    throw new RangeError(name === 'class-weighted-bce' ? 'class-weighted-bce needs the positive weights' : `${name} takes no class weights`);
  }
  switch (name) {
    case 'bce':
      return (y, p) => tf.mean(tf.metrics.binaryCrossentropy(y, p));
    case 'class-weighted-bce': {
      const w = Array.from(weights!);
      return (y, p) =>
        tf.tidy(() => {
          const q = clipped(p);
          const positive = tf.mul(tf.mul(tf.tensor1d(w), y), tf.log(q));
          const negative = tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q)));
          return tf.neg(tf.mean(tf.add(positive, negative)));
        });
    }
    case 'focal':
      return (y, p) =>
        tf.tidy(() => {
          const q = clipped(p);
          const positive = tf.mul(tf.mul(FOCAL_ALPHA, y), tf.mul(tf.pow(tf.sub(1, q), FOCAL_GAMMA), tf.log(q)));
          const negative = tf.mul(tf.mul(1 - FOCAL_ALPHA, tf.sub(1, y)), tf.mul(tf.pow(q, FOCAL_GAMMA), tf.log(tf.sub(1, q))));
          return tf.neg(tf.mean(tf.add(positive, negative)));
        });
  }
}
