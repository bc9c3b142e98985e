/**
 * A model's activations at one of its layers, film by film: what the learned fusion (./gmu-stage.ts)
 * is trained on, and what `evaluate` feeds the published GMU on a test set. Batched as
 * `predictProbabilities` (the LSTM's batches sorted by overview length).
 */
import { tf } from '../engine/backend.ts';
import { inferenceBatches } from '../train/batching.ts';
import { yieldToEventLoop, type TrainingData } from '../train/train.ts';

/** Films per inference batch when extracting activations (the training batch size). */
const FEATURE_BATCH = 64;

/**
 * Activations of `layer` for `films` (rows of the dataset), films × units in the order of `films`;
 * batched as `predictProbabilities` (the LSTM's batches sorted by overview length).
 */
export async function extractActivations(
  model: tf.LayersModel,
  layer: string,
  data: Pick<TrainingData, 'inputs' | 'lengthOf'>,
  films: readonly number[],
  onBatch: (done: number) => void = () => {},
): Promise<{ values: Float32Array; units: number }> {
  const extractor = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  const units = extractor.outputs[0].shape[1];
  if (typeof units !== 'number') throw new Error(`layer ${layer} has no fixed width`);
  const values = new Float32Array(films.length * units);
  let done = 0;
  for (const positions of inferenceBatches(films, FEATURE_BATCH, data.lengthOf)) {
    const x = data.inputs(positions.map((i) => films[i]));
    const y = extractor.predict(x) as tf.Tensor;
    const batch = await y.data();
    positions.forEach((position, row) => values.set(batch.subarray(row * units, (row + 1) * units), position * units));
    tf.dispose([x, y]);
    done += positions.length;
    onBatch(done);
    await yieldToEventLoop();
  }
  return { values, units };
}
