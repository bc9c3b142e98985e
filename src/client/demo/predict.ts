/**
 * Running the models on the visitor's input: one pass of a model gives its probabilities and, when
 * the learned fusion is available, the activations the fusion takes; the fusion runs on both
 * models' activations, standardised as in training (src/lib/demo.ts `gmuInputs`). Every tensor made
 * here is disposed here.
 */
import type * as TF from '@tensorflow/tfjs';
import { gmuInputs } from '../../lib/demo.ts';
import type { LoadedGmu, LoadedModel } from './models.ts';

/** One model's result: its probabilities, and the activations the GMU takes when it is available. */
export interface ModelResult {
  probabilities: number[];
  activations: Float32Array | null;
}

/** One pass of `loaded` on `x` (disposed here). */
export async function predictModel(tf: typeof TF, loaded: LoadedModel, x: TF.Tensor): Promise<ModelResult> {
  const out = (loaded.withActivations ?? loaded.model).predict(x) as TF.Tensor | TF.Tensor[];
  const tensors = Array.isArray(out) ? out : [out];
  try {
    const [probabilities, activations] = await Promise.all(tensors.map((t) => t.data()));
    return { probabilities: Array.from(probabilities), activations: activations ? Float32Array.from(activations) : null };
  } finally {
    tf.dispose([x, ...tensors]);
  }
}

/** The learned fusion's probabilities from the CNN's and the BiLSTM's activations. */
export async function predictGmu(tf: typeof TF, gmu: LoadedGmu, visual: Float32Array, textual: Float32Array): Promise<number[]> {
  const x = gmuInputs(visual, textual, gmu.gmu);
  const inputs = [tf.tensor2d(x.visual, [1, x.visual.length]), tf.tensor2d(x.textual, [1, x.textual.length])];
  const y = gmu.model.predict(inputs) as TF.Tensor;
  try {
    return Array.from(await y.data());
  } finally {
    tf.dispose([...inputs, y]);
  }
}
