/** The contract's version, the model kinds and the artifact file names; shared by every schema file. */
import { z } from 'zod';

export const CONTRACT_VERSION = 3;

export const MODEL_KINDS = ['cnn', 'lstm'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
/** How the report names each model. */
export const MODEL_TITLES: Record<ModelKind, string> = {
  cnn: 'Poster CNN',
  lstm: 'Overview BiLSTM',
};

export const ARTIFACT_FILES = {
  dataset: 'dataset.json',
  split: 'split.json',
  run: 'run.json',
  history: (model: ModelKind) => `history-${model}.json`,
  predictions: (model: ModelKind) => `predictions-${model}.json`,
  trainProbabilities: (model: ModelKind) => `train-probabilities-${model}.json`,
  examples: 'examples.json',
  /** The learned fusion (GMU, pipeline/lib/gmu/gmu-stage.ts): validation predictions, out-of-fold training probabilities, training history. */
  gmuPredictions: 'predictions-gmu.json',
  gmuTrainProbabilities: 'train-probabilities-gmu.json',
  gmuHistory: 'fusion-gmu.json',
  /** The strong profile (pipeline/lib/strong/strong-stage.ts): what each model learnt, and its probabilities. */
  strong: 'strong.json',
  strongProbabilities: 'strong-probabilities.json',
  analysis: 'analysis.json',
  explanations: 'explanations.json',
  testSet: 'test-set.json',
  ablations: 'ablations.json',
} as const;

/** A count: a non-negative integer. */
export const count = z.number().int().min(0);
