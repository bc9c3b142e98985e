/**
 * The coursework's learning-rate schedule (the Keras `LearningRateScheduler` docs example):
 *
 * ```python
 * def scheduler(epoch, lr):
 *     if epoch < 10:
 *         return float(lr)
 *     else:
 *         return float(lr * tf.math.exp(-0.01))
 * ```
 *
 * Keras calls it at the start of each epoch with the 0-based epoch index and the optimiser's
 * current learning rate, and sets the rate it returns. So epochs 0–9 train at the base rate, epoch
 * 10 at base·e^−0.01, epoch 11 at base·e^−0.02, …: epoch k ≥ 10 has been decayed k − 9 times. The
 * coursework's own training log agrees: with base 1e-4 it shows 1.0000e-04 through "Epoch 10/40",
 * then 9.9005e-05 at "Epoch 11/40", 9.8020e-05 at "Epoch 12/40" and 9.0484e-05 at "Epoch 20/40".
 *
 * (Keras compounds the factor in float32; the closed form here is float64, a relative difference
 * below 1e-6 over 40 epochs.)
 */
import { CONSTANT_EPOCHS, DECAY_PER_EPOCH } from '../settings.ts';

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
}

/** The coursework's `scheduler(epoch, lr)`: the rate for 0-based `epoch` given the current rate. */
export function courseworkScheduler(epoch: number, currentLr: number): number {
  checkEpoch(epoch);
  return epoch < CONSTANT_EPOCHS ? currentLr : currentLr * Math.exp(-DECAY_PER_EPOCH);
}

/**
 * Learning rate of 0-based `epoch` in closed form, for a run that starts at `baseLr`:
 * `baseLr · e^(−0.01 · max(0, epoch − 9))`.
 */
export function learningRateForEpoch(baseLr: number, epoch: number): number {
  checkEpoch(epoch);
  return baseLr * Math.exp(-DECAY_PER_EPOCH * Math.max(0, epoch - (CONSTANT_EPOCHS - 1)));
}
