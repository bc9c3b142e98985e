/**
 * The fixed, seeded batches every timed step of `npm run bench` takes (./bench.ts), in its own
 * thread and in its training neighbour's (./workers/neighbour-worker.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../core/random.ts';

/** Films per timed step, as the coursework trains. */
export const BATCH = 64;

/** A batch of BATCH films for `model` (seeded; the LSTM's at `timesteps`), as every timed step here takes. */
export function batchFor(model: 'cnn' | 'lstm', timesteps: number): { x: tf.Tensor; y: tf.Tensor } {
  const random = seededRandom(7);
  const y = tf.tensor2d(
    Float32Array.from({ length: BATCH * 25 }, () => (random() < 0.1 ? 1 : 0)),
    [BATCH, 25],
  );
  if (model === 'cnn') {
    return { x: tf.tensor4d(Float32Array.from({ length: BATCH * 64 * 64 * 3 }, random), [BATCH, 64, 64, 3]), y };
  }
  // One overview of exactly `timesteps` tokens, the others shorter (as in a length-grouped batch).
  const ids = new Int32Array(BATCH * timesteps);
  for (let row = 0; row < BATCH; row++) {
    const words = row === 0 ? timesteps : Math.max(1, timesteps - Math.floor(random() * 4));
    for (let t = 0; t < words; t++) ids[row * timesteps + t] = 2 + Math.floor(random() * 9998);
  }
  return { x: tf.tensor2d(ids, [BATCH, timesteps], 'int32'), y };
}
