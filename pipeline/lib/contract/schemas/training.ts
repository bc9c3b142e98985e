/** Schemas of the train stage's artifacts (run, history, predictions, examples) and of a trained model's metadata.json. */
import { z } from 'zod';
import { CONTRACT_VERSION, MODEL_KINDS, count, type ModelKind } from './base.ts';
import { PosterPreprocessingSchema } from './data.ts';

export const VectorizerConfigSchema = z.object({
  maxTokens: z.number().int().positive(),
  sequenceLength: z.number().int().positive(),
  standardize: z.literal('lower_and_strip_punctuation'),
  split: z.literal('whitespace'),
  /** `['', '[UNK]', ...tokens]`: a token's index is its id. */
  vocabulary: z.array(z.string()),
});

const modelMetadataOf = <M extends ModelKind, I extends z.ZodType>(model: M, input: I) =>
  z.object({
    model: z.literal(model),
    title: z.string(),
    genres: z.array(z.string()),
    threshold: z.number(),
    /** How the model's input is made from a poster or an overview, exactly as in training. */
    input,
    seed: z.number().int(),
    trainingKey: z.string(),
    datasetHash: z.string(),
    tfjsVersion: z.string(),
  });

/**
 * metadata.json beside a trained CNN or BiLSTM (publicDir/models/<m>/ and the training cache): what
 * it predicts and how its input is made, so evaluate, the fusion, the explanations and the live demo
 * prepare inputs as training did.
 */
export const CnnMetadataSchema = modelMetadataOf('cnn', PosterPreprocessingSchema.extend({ kind: z.literal('poster') }));
export const LstmMetadataSchema = modelMetadataOf('lstm', VectorizerConfigSchema.extend({ kind: z.literal('overview') }));
export const MODEL_METADATA_SCHEMAS = { cnn: CnnMetadataSchema, lstm: LstmMetadataSchema } as const;
export type ModelMetadataOf<M extends ModelKind> = z.infer<(typeof MODEL_METADATA_SCHEMAS)[M]>;
export type ModelMetadata = ModelMetadataOf<ModelKind>;

export const SetMetricsSchema = z.object({
  loss: z.number(),
  microPrecision: z.number(),
  microRecall: z.number(),
  microF1: z.number(),
  macroF1: z.number(),
});

export const EpochRecordSchema = z.object({
  epoch: count,
  learningRate: z.number(),
  trainMs: z.number(),
  evaluationMs: z.number(),
  runningLoss: z.number(),
  train: SetMetricsSchema,
  validation: SetMetricsSchema,
});

export const GenreMetricsSchema = z.object({
  genre: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: count,
  predictedPositives: count,
  truePositives: count,
});

export const ArchitectureRowSchema = z.object({
  layer: z.string(),
  type: z.string(),
  outputShape: z.string(),
  params: count,
});

export const HistoryArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  model: z.enum(MODEL_KINDS),
  title: z.string(),
  epochs: z.array(EpochRecordSchema),
  bestEpoch: count,
  /** Validation metrics of the kept (best-epoch) weights. */
  best: SetMetricsSchema,
  perGenre: z.array(GenreMetricsSchema),
  architecture: z.object({ rows: z.array(ArchitectureRowSchema), totalParams: count, trainableParams: count }),
});

export const PredictionsArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  model: z.enum(MODEL_KINDS),
  genres: z.array(z.string()),
  threshold: z.number(),
  /** Validation films: probability per genre (genre-column order) and the top 3. */
  films: z.array(
    z.object({
      id: z.string(),
      probabilities: z.array(z.number()),
      top3: z.array(z.object({ genre: z.string(), probability: z.number() })),
    }),
  ),
});

/**
 * The kept weights' probabilities on the training films (inference mode), for analyses that must
 * choose something (thresholds, fusion weights) without looking at the validation set.
 */
export const TrainProbabilitiesArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  model: z.enum(MODEL_KINDS),
  genres: z.array(z.string()),
  films: z.array(z.object({ id: z.string(), probabilities: z.array(z.number()) })),
});

export const BackendInfoSchema = z.object({
  name: z.string(),
  package: z.string(),
  version: z.string(),
  device: z.string(),
  threads: z.number(),
  simd: z.boolean(),
  attempts: z.array(z.object({ backend: z.string(), ok: z.boolean(), reason: z.string().optional() })),
  customKernels: z.array(z.string()),
  /**
   * wasm only: what computes its matrix products and convolutions, "XNNPACK (wasm; …why…)" or the
   * native engine (pipeline/lib/engine/native-kernels.ts), e.g. "onnxruntime-node 1.30.0 (MLAS)". Absent in
   * runs from before this field.
   */
  productKernels: z.string().optional(),
});

export const ModelRunSchema = z.object({
  epochs: count,
  batchSize: count,
  learningRate: z.number(),
  trainingMs: z.number(),
  epochMs: z.array(z.number()),
  params: count,
  bestEpoch: count,
  resumedAtEpoch: z.number().nullable(),
  /** Set when these results came from the training cache instead of a fresh run. */
  cached: z.boolean(),
  /** Mean timesteps per training batch (LSTM: batches are cut to their longest overview). */
  meanTimesteps: z.number().optional(),
  /** 0-based epoch after which early stopping ended training (config `earlyStoppingPatience`). */
  stoppedEarlyAfterEpoch: count.optional(),
  /**
   * Sharded batches (CNN, config `cnnShards` > 1): shards per batch, shard gradients computed, and
   * how many of those ran in a helper thread on a free core (pipeline/lib/train/sharded-steps.ts);
   * and how many batches of the validation and final inference passes ran there (absent in runs
   * from before helpers ran inference).
   */
  shards: z.object({ perBatch: count, computed: count, inHelpers: count, inferenceInHelpers: count.optional() }).optional(),
  /**
   * LSTM layer calls (one per layer, direction and batch) computed as one fused operation each
   * (pipeline/lib/engine/fused-lstm.ts) rather than tfjs' per-timestep kernels. Absent in runs from
   * before the fused path, and for the CNN.
   */
  fusedLstmCalls: count.optional(),
  /**
   * Dropout layer calls in training whose masks were drawn in one loop, equal to tfjs' to the last bit
   * (pipeline/lib/engine/fast-dropout.ts), counted in the model's own thread (not in a shard helper's).
   * Absent in runs from before it.
   */
  fastDropoutCalls: count.optional(),
  /**
   * Variable updates of Adam made in one SIMD pass each, equal to tfjs' to the last bit
   * (pipeline/lib/engine/simd-adam.ts), counted in the model's own thread. Absent in runs from before it.
   */
  simdAdamUpdates: count.optional(),
  /**
   * The CNN's convolutions (forward, input and weight gradients, validation passes) computed by
   * Winograd's F(2×2, 3×3) in its own thread (pipeline/lib/engine/wasm-kernels/winograd.ts). Absent in
   * runs from before it, and for the LSTM.
   */
  winogradConvCalls: count.optional(),
});

/** A speed measure of the training run, and whether it was in effect. */
export const OptimisationSchema = z.object({
  id: z.string(),
  title: z.string(),
  active: z.boolean(),
  detail: z.string(),
});

const perModel = <S extends z.ZodType>(schema: S) => z.object({ cnn: schema, lstm: schema });

/** The settings a run trained with, in the order the Run page lists them (pipeline/lib/train/train-stage.ts). */
export const RunConfigSchema = z.object({
  profile: z.enum(['coursework', 'quick']),
  seed: z.number().int(),
  validationFraction: z.number(),
  imageSize: z.number().int().positive(),
  resizeKernel: z.string(),
  maxTokens: z.number().int().positive(),
  sequenceLength: z.number().int().positive(),
  batchSize: perModel(z.number().int().positive()),
  learningRate: perModel(z.number().positive()),
  epochs: perModel(z.number().int().positive()),
  loss: z.string(),
  posterAugmentation: z.boolean(),
  earlyStoppingPatience: z.number().int().positive().nullable(),
  cnnShards: z.number().int().positive(),
});
export type RunConfig = z.infer<typeof RunConfigSchema>;

export const RunArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  profile: z.enum(['coursework', 'quick']),
  seed: z.number().int(),
  trainingKey: z.string(),
  datasetHash: z.string(),
  config: RunConfigSchema,
  backend: BackendInfoSchema,
  libraries: z.record(z.string(), z.string()),
  models: z.object({ cnn: ModelRunSchema, lstm: ModelRunSchema }),
  /** How the models were trained: at the same time (one worker thread each) or one after the other. */
  training: z.object({ parallel: z.boolean(), wallMs: z.number() }),
  optimisations: z.array(OptimisationSchema),
  vocabularySize: count,
  notes: z.array(z.string()),
});

export type HistoryArtifact = z.infer<typeof HistoryArtifactSchema>;
export type PredictionsArtifact = z.infer<typeof PredictionsArtifactSchema>;
export type RunArtifact = z.infer<typeof RunArtifactSchema>;
export type BackendInfo = z.infer<typeof BackendInfoSchema>;
export type TrainProbabilitiesArtifact = z.infer<typeof TrainProbabilitiesArtifactSchema>;
export type Optimisation = z.infer<typeof OptimisationSchema>;

// --- Examples artifact (the report's example cards; written by pipeline/lib/publish/examples.ts) ---------

/**
 * The validation films as the report's example cards show them: id, overview, true genres and the
 * poster thumbnail's path relative to `publicDir` (served under `<base>/generated/`), or null when
 * no thumbnail could be made. Same film order as `predictions-<m>.json`.
 */
export const ExamplesArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  genres: z.array(z.string()),
  thumbnail: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), format: z.literal('webp') }),
  films: z.array(
    z.object({
      id: z.string(),
      overview: z.string(),
      genres: z.array(z.string()),
      thumbnail: z
        .string()
        .regex(/^thumbnails\/[0-9a-f]+\.webp$/)
        .nullable(),
    }),
  ),
});

export type ExamplesArtifact = z.infer<typeof ExamplesArtifactSchema>;
