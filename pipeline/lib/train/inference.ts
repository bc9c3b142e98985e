/**
 * One inference batch, wherever it runs: the model's probabilities and, when a layer is named, that
 * layer's activations, in inference mode. The training loop's passes (./train.ts `predictOutputs`)
 * and the CNN's shard helpers (./workers/shard-worker.ts) both compute their batches here, so a
 * batch gives the same numbers in either thread: the same network, the same kernels, the same rows.
 */
import * as tf from '@tensorflow/tfjs';

/** `model`, or with `layer` a model of the same weights whose outputs are the model's then that layer's (films × units). */
export function inferenceNetwork(model: tf.LayersModel, layer?: string): { network: tf.LayersModel; units: number | null } {
  if (layer === undefined) return { network: model, units: null };
  const hidden = model.getLayer(layer).output as tf.SymbolicTensor;
  const units = hidden.shape[hidden.shape.length - 1];
  if (typeof units !== 'number' || hidden.shape.length !== 2) throw new Error(`layer ${layer} has no fixed width`);
  return { network: tf.model({ inputs: model.inputs, outputs: [...model.outputs, hidden] }), units };
}

/** The network's outputs for the batch `x` (its probabilities, then the layer's activations when it has them), as arrays this thread owns. */
export async function batchOutputs(network: tf.LayersModel, x: tf.Tensor): Promise<Float32Array[]> {
  const outputs = [network.predict(x, { batchSize: x.shape[0] })].flat() as tf.Tensor[];
  try {
    return await Promise.all(outputs.map((t) => t.data() as Promise<Float32Array>));
  } finally {
    tf.dispose(outputs);
  }
}

/**
 * Other threads that run inference batches with the model's current weights (the CNN's shard
 * helpers, ./sharded-steps.ts): `predict` hands the batch `x` to an idle one and resolves with its
 * `batchOutputs`, or returns null when none is idle; it rejects when that thread fails.
 */
export interface InferenceHelpers {
  /** How many threads there are now. */
  readonly count: number;
  predict(x: tf.Tensor): Promise<Float32Array[]> | null;
}
