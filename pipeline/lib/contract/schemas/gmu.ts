/** Schemas of the learned fusion's artifacts and of the published GMU's metadata.json (pipeline/lib/gmu/). */
import { z } from 'zod';
import { CONTRACT_VERSION, count, type ModelKind } from './base.ts';
import { PredictionsArtifactSchema, TrainProbabilitiesArtifactSchema } from './training.ts';

// --- Learned fusion artifacts (a gated multimodal unit on the models' activations; pipeline/lib/gmu/gmu-stage.ts) ---

/** Validation films: the GMU's probability per genre and top 3, as predictions-<m>.json. */
export const GmuPredictionsArtifactSchema = PredictionsArtifactSchema.extend({ model: z.literal('gmu') });

/**
 * Training films: the GMU's out-of-fold probabilities (k-fold cross-fitting: each film predicted by
 * the head fitted on the other folds), as train-probabilities-<m>.json. The activations they come
 * from are still in-sample for the two base models.
 */
export const GmuTrainProbabilitiesArtifactSchema = TrainProbabilitiesArtifactSchema.extend({
  model: z.literal('gmu'),
  method: z.literal('out-of-fold'),
  folds: z.number().int().min(2),
});

export const GmuEpochSchema = z.object({
  epoch: count,
  /** Binary cross-entropy on the head's inner training films (inference mode, after the epoch). */
  trainLoss: z.number(),
  /** Binary cross-entropy on the inner holdout (~10% of the training films), which chooses the epoch. */
  holdoutLoss: z.number(),
});

/** How the learned fusion was built and trained: settings, sizes, the final head's epochs, the folds, timing. */
export const GmuHistoryArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  model: z.literal('gmu'),
  title: z.string(),
  /** The fusion cache key, and run.json's training key of the two models whose activations it fuses. */
  key: z.string(),
  trainingKey: z.string(),
  method: z.object({
    kind: z.literal('gated-multimodal-unit'),
    version: z.number().int().positive(),
    /** The layer of each trained model whose activations (inference mode) are the GMU's input. */
    inputs: z.object({
      visual: z.object({ model: z.literal('cnn'), layer: z.string(), units: z.number().int().positive() }),
      textual: z.object({ model: z.literal('lstm'), layer: z.string(), units: z.number().int().positive() }),
    }),
    hiddenUnits: z.number().int().positive(),
    dropout: z.number().min(0).lt(1),
    learningRate: z.number().positive(),
    batchSize: z.number().int().positive(),
    maxEpochs: z.number().int().positive(),
    holdoutFraction: z.number().gt(0).lt(1),
    folds: z.number().int().min(2),
    params: count,
    seed: z.number().int(),
    description: z.string(),
  }),
  sizes: z.object({
    trainFilms: count,
    validationFilms: count,
    /** Of the final head: the training films it fitted on and those that chose its epoch. */
    innerTrainFilms: count,
    holdoutFilms: count,
  }),
  /** The final head (fitted on all training films; it makes predictions-gmu.json), epoch by epoch. */
  epochs: z.array(GmuEpochSchema).min(1),
  /** 0-based epoch whose weights the final head keeps (lowest inner-holdout loss). */
  chosenEpoch: count,
  /** The cross-fitting heads (train-probabilities-gmu.json): held-out films, films fitted on, chosen epoch and its holdout loss. */
  folds: z.array(z.object({ films: count, fitFilms: count, chosenEpoch: count, holdoutLoss: z.number() })),
  /** Mean gate z of the final head (the poster's share of h, 0–1) on the training and validation films; descriptive only. */
  gate: z.object({ train: z.number(), validation: z.number() }),
  /** Of the run that trained it (a reused result keeps its timing). */
  timing: z.object({ backend: z.string(), featureMs: z.number(), trainMs: z.number(), wallMs: z.number() }),
  notes: z.array(z.string()),
});

/** Folder of the published GMU under `<publicDir>/models/` (beside `cnn` and `lstm`). */
export const GMU_MODEL_DIR = 'gmu';

/** One input of the published GMU: the trained model and layer whose activations feed it, and their standardisation. */
const GmuModelInputSchema = <M extends ModelKind>(model: M) =>
  z
    .object({
      model: z.literal(model),
      /** Layer of that model (its metadata.json's model, same training key) whose output, in inference mode, is the input. */
      layer: z.string().min(1),
      units: z.number().int().positive(),
      /**
       * x' = (x − mean) / sd per unit, computed in float64 and rounded to float32
       * (pipeline/lib/contract/gmu-standardisation.ts `standardise`); the statistics of the final head's inner
       * training films, as float32 values (JSON numbers that read back exactly).
       */
      standardisation: z.object({ mean: z.array(z.number()), sd: z.array(z.number().positive()) }),
    })
    .refine((input) => input.standardisation.mean.length === input.units && input.standardisation.sd.length === input.units, {
      message: 'standardisation.mean and standardisation.sd must have one value per unit',
    });

/**
 * `<publicDir>/models/gmu/metadata.json`: the contract the live demo runs the published GMU
 * (model.json + weights.bin, built by pipeline/lib/gmu/gmu.ts `buildGmuModel`) with. The model's two
 * inputs are, in order, the standardised `input.visual` and `input.textual` activations (films ×
 * units); its output is one probability per genre (genre-column order).
 */
export const GmuModelMetadataSchema = z.object({
  model: z.literal('gmu'),
  title: z.string(),
  genres: z.array(z.string()).min(1),
  /** A genre is predicted when its probability is strictly above this (the report's convention). */
  threshold: z.number(),
  input: z.object({
    kind: z.literal('activations'),
    visual: GmuModelInputSchema('cnn'),
    textual: GmuModelInputSchema('lstm'),
  }),
  /** 0-based epoch of the final head whose weights these are (fusion-gmu.json `chosenEpoch`). */
  chosenEpoch: count,
  /** pipeline/lib/gmu/gmu.ts GMU_VERSION, the fusion cache key (fusion-gmu.json `key`), and the base models' training key and dataset hash. */
  fusionVersion: z.number().int().positive(),
  key: z.string(),
  trainingKey: z.string(),
  datasetHash: z.string(),
  seed: z.number().int(),
  tfjsVersion: z.string(),
});

export type GmuModelMetadata = z.infer<typeof GmuModelMetadataSchema>;
export type GmuPredictionsArtifact = z.infer<typeof GmuPredictionsArtifactSchema>;
export type GmuTrainProbabilitiesArtifact = z.infer<typeof GmuTrainProbabilitiesArtifactSchema>;
export type GmuHistoryArtifact = z.infer<typeof GmuHistoryArtifactSchema>;
