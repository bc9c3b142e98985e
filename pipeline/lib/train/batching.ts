/**
 * How films are grouped into batches.
 *
 * Overviews are short (on the shared dataset: median 25 tokens, longest 68, padded to 100), and the
 * LSTM's cost is proportional to the timesteps it runs. Its input is cut to the longest overview of
 * each batch (`pipeline/lib/train/model-inputs.ts`); masking makes the cut padding irrelevant, so outputs and
 * gradients are those of the padded batch (tests/train/lstm-speed.test.ts). Training batches are then
 * grouped by length, as `tf.data`'s `bucket_by_sequence_length` does, so the longest overview of a
 * batch is close to its typical one: the epoch's shuffled order is cut into pools of
 * `poolBatches` batches, each pool is sorted by length (stable, so equal lengths keep their shuffled
 * order) and cut into batches, and the batches of the whole epoch are shuffled again. Every film is
 * still seen once per epoch in a random batch of its pool; only which films share a batch changes.
 */
import { shuffled, type Random } from '../core/random.ts';
import { LENGTH_POOL_BATCHES } from '../settings.ts';

/** `order` cut into consecutive batches (the last one may be smaller). */
export function consecutiveBatches(order: readonly number[], batchSize: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize));
  return batches;
}

/**
 * The batches of one training epoch, from its shuffled `order`. Without `lengthOf` they are
 * consecutive slices of the order; with it, batches of similar length in a shuffled batch order
 * (see the module comment). Same inputs, same batches.
 */
export function trainingBatches(
  order: readonly number[],
  batchSize: number,
  random: Random,
  lengthOf?: (film: number) => number,
  poolBatches = LENGTH_POOL_BATCHES,
): number[][] {
  if (!lengthOf) return consecutiveBatches(order, batchSize);
  if (!Number.isInteger(poolBatches) || poolBatches < 1) throw new RangeError(`poolBatches must be a positive integer, got ${poolBatches}`);
  const poolSize = poolBatches * batchSize;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += poolSize) {
    const pool = order.slice(start, start + poolSize);
    const byLength = pool
      .map((film, position) => ({ film, position, length: lengthOf(film) }))
      .sort((a, b) => a.length - b.length || a.position - b.position)
      .map((entry) => entry.film);
    batches.push(...consecutiveBatches(byLength, batchSize));
  }
  return shuffled(batches, random);
}

/**
 * Inference batches for `films`: sorted by length when `lengthOf` is given (the order of the
 * results does not depend on the batching, so nothing is lost by sorting the whole set).
 * Returns batches of positions into `films`.
 */
export function inferenceBatches(films: readonly number[], batchSize: number, lengthOf?: (film: number) => number): number[][] {
  const positions = films.map((_, i) => i);
  if (lengthOf) {
    const lengths = films.map(lengthOf);
    positions.sort((a, b) => lengths[a] - lengths[b] || a - b);
  }
  return consecutiveBatches(positions, batchSize);
}
