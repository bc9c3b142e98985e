/**
 * The data contract between the pipeline and the site.
 *
 * The pipeline writes JSON artifacts into `artifactsDir` (default `src/content/artifacts/`), each
 * listed once in the registry `ARTIFACTS` at the end of this file: its file, its schema, the stage
 * that writes it and the site's content collection over it. The pipeline writes and reads them only
 * through pipeline/lib/core/artifact-store.ts, which validates on write as well as on read; the site
 * reads them only through the collections that `src/content.config.ts` builds from the registry, with
 * the same schemas, so a malformed artifact fails with a message naming the field. Bump
 * `CONTRACT_VERSION` whenever a schema changes shape.
 *
 * Trained models go to `publicDir/models/<m>/` (model.json, weights.bin, metadata.json) so the
 * browser can load them with `tf.loadLayersModel`; metadata.json is the preprocessing contract.
 * The learned fusion's final head goes to `publicDir/models/gmu/` the same way (fusion stage), its
 * metadata.json following `GmuModelMetadataSchema`: which layer of each model feeds it and the
 * standardisation of those activations, so the live demo can run it on a visitor's poster and text.
 */
import { z } from 'zod';

export const CONTRACT_VERSION = 2;

export const MODEL_KINDS = ['cnn', 'lstm'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const ARTIFACT_FILES = {
  dataset: 'dataset.json',
  split: 'split.json',
  run: 'run.json',
  history: (model: ModelKind) => `history-${model}.json`,
  predictions: (model: ModelKind) => `predictions-${model}.json`,
  trainProbabilities: (model: ModelKind) => `train-probabilities-${model}.json`,
  examples: 'examples.json',
  /** The learned fusion (GMU, pipeline/lib/fusion/fusion-stage.ts): validation predictions, out-of-fold training probabilities, training history. */
  gmuPredictions: 'predictions-gmu.json',
  gmuTrainProbabilities: 'train-probabilities-gmu.json',
  gmuHistory: 'fusion-gmu.json',
  analysis: 'analysis.json',
  explanations: 'explanations.json',
  ablations: 'ablations.json',
} as const;

const count = z.number().int().min(0);

export const QualityEntrySchema = z.object({
  reason: z.string(),
  description: z.string(),
  count,
  examples: z.array(z.object({ line: count, id: z.string().optional(), detail: z.string() })),
});

export const DataQualitySchema = z.object({
  csvFile: z.string(),
  rowsRead: count,
  validFilms: count,
  skippedRows: count,
  skipped: z.array(QualityEntrySchema),
  warnings: z.array(QualityEntrySchema),
  columnWarnings: z.array(z.string()),
  neverPositiveGenres: z.array(z.string()),
  posterCache: z.object({ hits: count, misses: count }),
});

export const PosterPreprocessingSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.literal(3),
  fit: z.string(),
  kernel: z.string(),
  normalisation: z.literal('divide-by-255'),
});

/** The overview vectorizer's settings and vocabulary (pipeline/lib/contract/vectorizer.ts `VectorizerConfig`). */
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

export const SplitSummarySchema = z.object({
  seed: z.number().int(),
  validationFraction: z.number(),
  method: z.literal('iterative-stratification'),
  trainCount: count,
  validationCount: count,
});

export const DatasetArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** True for the generated demo dataset: every page says so. */
  synthetic: z.boolean(),
  source: z.object({
    kind: z.enum(['configured', 'default-folder', 'demo']),
    /** The dataset folder's name (not its full path, which is machine-specific). */
    folder: z.string(),
    contentHash: z.string(),
  }),
  genres: z.array(z.string()).min(1),
  films: count,
  split: SplitSummarySchema,
  /** Positive labels per genre in each split, in genre-column order. */
  labelCounts: z.array(z.object({ genre: z.string(), train: count, validation: count })),
  /** How many films carry k labels, per split. */
  labelsPerFilm: z.array(z.object({ labels: count, train: count, validation: count })),
  /** cooccurrence[i][j]: films labelled with both genres i and j (diagonal: films with genre i). */
  cooccurrence: z.array(z.array(count)),
  overviewWords: z.object({ min: count, median: z.number(), max: count }),
  quality: DataQualitySchema,
  posterPreprocessing: PosterPreprocessingSchema,
});

export const SplitArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  seed: z.number().int(),
  validationFraction: z.number(),
  method: z.literal('iterative-stratification'),
  train: z.array(z.string()),
  validation: z.array(z.string()),
});

export type DatasetArtifact = z.infer<typeof DatasetArtifactSchema>;
export type SplitArtifact = z.infer<typeof SplitArtifactSchema>;
export type QualityEntry = z.infer<typeof QualityEntrySchema>;

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
   * how many of those ran in a helper thread on a free core (pipeline/lib/train/sharded-steps.ts).
   */
  shards: z.object({ perBatch: count, computed: count, inHelpers: count }).optional(),
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

// --- Examples artifact (the report's example cards; written by pipeline/lib/publish/site-files.ts) ---------

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
      thumbnail: z.string().regex(/^thumbnails\/[0-9a-f]+\.webp$/).nullable(),
    }),
  ),
});

export type ExamplesArtifact = z.infer<typeof ExamplesArtifactSchema>;


// --- Analysis artifact (baselines, AP, PR curves, tuned thresholds, late fusion; pipeline/lib/analysis/analysis-stage.ts) ---

/** Thresholded scores of one classifier on the validation films (metrics.ts conventions). */
export const ThresholdedMetricsSchema = z.object({
  microPrecision: z.number(),
  microRecall: z.number(),
  microF1: z.number(),
  macroF1: z.number(),
  weightedF1: z.number(),
  samplesF1: z.number(),
});

const GenreDecisionsSchema = z.object({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  predictedPositives: count,
  truePositives: count,
});

/** A precision–recall curve, highest threshold first, downsampled; starts at (recall 0, precision 1). */
export const PrCurveSchema = z.object({
  recall: z.array(z.number()),
  precision: z.array(z.number()),
  threshold: z.array(z.number().nullable()),
});

/** `fusion`: the late fusion (weighted mean of the probabilities); `gmu`: the learned fusion (pipeline/lib/fusion/fusion.ts). */
export const CLASSIFIER_IDS = ['cnn', 'lstm', 'fusion', 'gmu', 'genre-priors', 'most-frequent', 'two-most-frequent'] as const;
export const TUNED_CLASSIFIER_IDS = ['cnn', 'lstm', 'fusion', 'gmu'] as const;
export type ClassifierId = (typeof CLASSIFIER_IDS)[number];
export type TunedClassifierId = (typeof TUNED_CLASSIFIER_IDS)[number];

export const ClassifierAnalysisSchema = z.object({
  id: z.enum(CLASSIFIER_IDS),
  kind: z.enum(['model', 'fusion', 'baseline']),
  title: z.string(),
  description: z.string(),
  /** Validation binary cross-entropy; null for the hard 0/1 baselines (not probabilities). */
  loss: z.number().nullable(),
  /** AP of all (film, genre) cells pooled (scikit-learn average='micro'). */
  microAP: z.number(),
  /** Mean per-genre AP over the genres with validation films (null when none has). */
  meanAP: z.number().nullable(),
  /** At threshold 0.5 (probability strictly above). */
  atDefault: ThresholdedMetricsSchema,
  /** At the per-genre thresholds chosen on the training films; null for baselines. */
  tuned: ThresholdedMetricsSchema.nullable(),
  /** Genre-column order. */
  perGenre: z.array(
    z.object({
      genre: z.string(),
      support: count,
      /** scikit-learn average_precision_score; null when no validation film has the genre. */
      averagePrecision: z.number().nullable(),
      meanProbability: z.number(),
      atDefault: GenreDecisionsSchema,
      tuned: GenreDecisionsSchema.extend({ threshold: z.number() }).nullable(),
    }),
  ),
  curves: z.object({ micro: PrCurveSchema, perGenre: z.array(PrCurveSchema.nullable()) }),
});

const SetF1Schema = z.object({ microF1: z.number(), macroF1: z.number() });

export const ThresholdSelectionSchema = z.object({
  classifier: z.enum(TUNED_CLASSIFIER_IDS),
  /** Per genre, chosen on all training films. */
  thresholds: z.array(z.number()),
  /** Training-film F1 per genre at the chosen threshold and at 0.5. */
  trainF1: z.array(z.number()),
  trainF1AtDefault: z.array(z.number()),
  folds: z.array(z.object({ thresholds: z.array(z.number()), films: count, atDefault: SetF1Schema, tuned: SetF1Schema })),
  outOfFold: z.object({
    atDefault: SetF1Schema.extend({ perGenreF1: z.array(z.number()) }),
    tuned: SetF1Schema.extend({ perGenreF1: z.array(z.number()) }),
  }),
});

export const AnalysisArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  genres: z.array(z.string()),
  trainFilms: count,
  validationFilms: count,
  /** The conventions of every number, in words (shown on the page). */
  conventions: z.array(z.string()),
  /** Models, late fusion, learned fusion, then the baselines. */
  classifiers: z.array(ClassifierAnalysisSchema),
  baselines: z.object({
    /** Each genre's share of the training films (the genre-priors baseline's probabilities). */
    priors: z.array(z.number()),
    /** The most frequent training genres, most frequent first. */
    mostFrequent: z.array(z.string()),
  }),
  thresholds: z.object({
    grid: z.array(z.number()),
    folds: count,
    seed: z.number().int(),
    selections: z.array(ThresholdSelectionSchema),
  }),
  fusion: z.object({
    /** Weight of the CNN: p = w·p_cnn + (1 − w)·p_lstm, chosen by training-film loss. */
    weight: z.number(),
    /** Loss at each weight: training films (the choice) and validation films (shown, never used). */
    grid: z.array(z.object({ weight: z.number(), trainLoss: z.number(), validationLoss: z.number() })),
    /** The weight chosen on each cross-validation fold's other folds (stability). */
    foldWeights: z.array(z.number()),
  }),
});

export type ClassifierAnalysis = z.infer<typeof ClassifierAnalysisSchema>;
export type ThresholdSelection = z.infer<typeof ThresholdSelectionSchema>;
export type AnalysisArtifact = z.infer<typeof AnalysisArtifactSchema>;
export type PrCurveData = z.infer<typeof PrCurveSchema>;


// --- Learned fusion artifacts (a gated multimodal unit on the models' activations; pipeline/lib/fusion/fusion-stage.ts) ---

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
       * (pipeline/lib/contract/fusion-standardisation.ts `standardise`); the statistics of the final head's inner
       * training films, as float32 values (JSON numbers that read back exactly).
       */
      standardisation: z.object({ mean: z.array(z.number()), sd: z.array(z.number().positive()) }),
    })
    .refine((input) => input.standardisation.mean.length === input.units && input.standardisation.sd.length === input.units, {
      message: 'standardisation.mean and standardisation.sd must have one value per unit',
    });

/**
 * `<publicDir>/models/gmu/metadata.json`: the contract the live demo runs the published GMU
 * (model.json + weights.bin, built by pipeline/lib/fusion/fusion.ts `buildGmuModel`) with. The model's two
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
  /** pipeline/lib/fusion/fusion.ts FUSION_VERSION, the fusion cache key (fusion-gmu.json `key`), and the base models' training key and dataset hash. */
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


// --- Explanations artifact (poster occlusion maps, word importance; pipeline/lib/explain/explain-stage.ts) ---

/** A piece of an overview as the card shows it: a word or the whitespace between words. */
export const OverviewSegmentSchema = z.object({
  text: z.string(),
  /** The vectoriser's token for this piece; null for whitespace and pieces that are only punctuation. */
  token: z.string().nullable(),
  /** Its position in the LSTM's input; null when it has no token or lies beyond the sequence length. */
  position: count.nullable(),
  /**
   * Drop in the LSTM's probability of `genre` when this token is left out (negative: leaving it out
   * raises it); null when not scored (no token, beyond the sequence length, or not in the vocabulary).
   */
  score: z.number().nullable(),
});

const RegionSchema = z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() });

export const FilmExplanationSchema = z.object({
  id: z.string(),
  /** Occlusion map of the CNN on the poster. */
  poster: z.object({
    /** The CNN's top genre on the intact poster, whose probability the map tracks. */
    genre: z.string(),
    probability: z.number(),
    /** rows × cols, row-major (method.poster's grid): probability drop when that patch is covered. */
    drops: z.array(z.number()),
    /**
     * The poster file's size, and the part of it the model input shows (in the file's pixels; the
     * whole file for the `fill` resize), so the map can be laid over a thumbnail cropped from the
     * same file. Null when unknown (e.g. an EXIF-rotated poster): the map then spans the thumbnail.
     */
    frame: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), input: RegionSchema }).nullable(),
  }),
  /** Leave-one-word-out on the LSTM. */
  overview: z.object({
    genre: z.string(),
    probability: z.number(),
    /** Concatenated, the texts give back the overview exactly. */
    segments: z.array(OverviewSegmentSchema),
  }),
});

export const ExplanationsArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** run.json's training key: the explanations are of those models (and reused while it is unchanged). */
  trainingKey: z.string(),
  genres: z.array(z.string()),
  /** Which validation films are explained, and why (a bounded subset: explaining is not free). */
  selection: z.object({ curated: z.array(z.string()), first: count, description: z.string() }),
  method: z.object({
    version: count,
    poster: z.object({
      kind: z.literal('occlusion'),
      imageSize: z.number().int().positive(),
      patch: z.number().int().positive(),
      stride: z.number().int().positive(),
      /** Patch corners in input pixels: the grid has ys.length rows and xs.length columns. */
      ys: z.array(count),
      xs: z.array(count),
      fill: z.literal('poster-mean'),
      description: z.string(),
    }),
    overview: z.object({ kind: z.literal('leave-one-out'), sequenceLength: z.number().int().positive(), description: z.string() }),
  }),
  /** How long computing took (of the run that computed them; a reused artifact keeps its timing). */
  timing: z.object({ backend: z.string(), films: count, posterMs: z.number(), overviewMs: z.number(), totalMs: z.number() }),
  /** In examples.json's film order. */
  films: z.array(FilmExplanationSchema),
});

export type OverviewSegmentExplanation = z.infer<typeof OverviewSegmentSchema>;
export type FilmExplanation = z.infer<typeof FilmExplanationSchema>;
export type ExplanationsArtifact = z.infer<typeof ExplanationsArtifactSchema>;

// --- Ablations artifact (pipeline/lib/ablations/ablation-stage.ts, after the analysis) -------------------------

/** One model's validation figures, the same for the main run and each ablation. */
/** The ablations a build can run (config `ablations`, pipeline/lib/ablations/ablation-stage.ts); the site lists them. */
export const ABLATION_IDS = ['class-weighted-loss', 'focal-loss', 'poster-augmentation', 'early-stopping'] as const;

export const AblationFiguresSchema = z.object({
  /** Epochs the schedule allows, and the epochs trained (fewer when early stopping ended the run). */
  epochsPlanned: count,
  epochsRun: count,
  /** 0-based epoch of the kept weights (lowest validation binary cross-entropy). */
  bestEpoch: count,
  stoppedEarlyAfterEpoch: count.nullable(),
  trainingMs: z.number(),
  /** Validation binary cross-entropy per epoch (whatever the training loss). */
  validationLossCurve: z.array(z.number()),
  /** The kept weights on the validation films: loss is binary cross-entropy; F1 at 0.5 and at per-genre thresholds tuned on the training films. */
  validation: z.object({
    loss: z.number(),
    microPrecision: z.number(),
    microRecall: z.number(),
    microF1: z.number(),
    macroF1: z.number(),
    meanAP: z.number().nullable(),
    tunedMicroF1: z.number(),
    tunedMacroF1: z.number(),
    /** Mean number of genres predicted per film at 0.5 (the truth's mean is `truthGenresPerFilm`). */
    predictedGenresPerFilm: z.number(),
    /** Genres with at least one correct prediction at 0.5. */
    genresFound: count,
  }),
});

export const AblationModelSchema = z.object({
  model: z.enum(MODEL_KINDS),
  /**
   * `trained`: trained for this ablation (now or in an earlier build: `cached`). `same-as-main`: the
   * switch provably changes nothing for this model, so its figures are the main run's (`note` says why).
   */
  source: z.enum(['trained', 'same-as-main']),
  cached: z.boolean(),
  trainingKey: z.string(),
  note: z.string().optional(),
  figures: AblationFiguresSchema,
});

export const AblationsArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** run.json's training key: the main run every ablation is compared with. */
  mainTrainingKey: z.string(),
  validationFilms: count,
  truthGenresPerFilm: z.number(),
  main: z.object({ cnn: AblationFiguresSchema, lstm: AblationFiguresSchema }),
  /** In the order they were asked for; empty when the build ran none (config `ablations`). */
  ablations: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      /** The setting that differs from the main run, as it is written in genrelens.config.json. */
      setting: z.string(),
      description: z.string(),
      /** The models the switch affects (poster augmentation: the CNN only). */
      models: z.array(AblationModelSchema),
    }),
  ),
  notes: z.array(z.string()),
});

export type AblationFigures = z.infer<typeof AblationFiguresSchema>;
export type AblationsArtifact = z.infer<typeof AblationsArtifactSchema>;

// ---------------------------------------------------------------------------------------------
// The artifact registry: every file of the contract, its schema, the stage that writes it, and the
// site's content collection over it. The pipeline writes and reads artifacts only through it
// (pipeline/lib/core/artifact-store.ts); src/content.config.ts builds its collections from it.

/** The stage that writes an artifact (the order of pipeline/lib/cli.ts `runStages`). */
export type ArtifactStage = 'data' | 'train' | 'fusion' | 'analysis' | 'ablations' | 'explain';

interface ArtifactEntry {
  /** The file name; one file per model when it is a function of the model. */
  file: string | ((model: ModelKind) => string);
  schema: z.ZodType;
  stage: ArtifactStage;
  /** The content collection the site reads it through; absent when the site does not read it directly. */
  collection?: string;
}

export const ARTIFACTS = {
  dataset: { file: ARTIFACT_FILES.dataset, schema: DatasetArtifactSchema, stage: 'data', collection: 'dataset' },
  split: { file: ARTIFACT_FILES.split, schema: SplitArtifactSchema, stage: 'data', collection: 'split' },
  run: { file: ARTIFACT_FILES.run, schema: RunArtifactSchema, stage: 'train', collection: 'run' },
  history: { file: ARTIFACT_FILES.history, schema: HistoryArtifactSchema, stage: 'train', collection: 'history' },
  predictions: { file: ARTIFACT_FILES.predictions, schema: PredictionsArtifactSchema, stage: 'train', collection: 'predictions' },
  trainProbabilities: { file: ARTIFACT_FILES.trainProbabilities, schema: TrainProbabilitiesArtifactSchema, stage: 'train' },
  examples: { file: ARTIFACT_FILES.examples, schema: ExamplesArtifactSchema, stage: 'train', collection: 'examples' },
  gmuPredictions: { file: ARTIFACT_FILES.gmuPredictions, schema: GmuPredictionsArtifactSchema, stage: 'fusion' },
  gmuTrainProbabilities: { file: ARTIFACT_FILES.gmuTrainProbabilities, schema: GmuTrainProbabilitiesArtifactSchema, stage: 'fusion' },
  /** The learned fusion's history; its probabilities reach the site through analysis.json. */
  gmuHistory: { file: ARTIFACT_FILES.gmuHistory, schema: GmuHistoryArtifactSchema, stage: 'fusion', collection: 'fusion' },
  analysis: { file: ARTIFACT_FILES.analysis, schema: AnalysisArtifactSchema, stage: 'analysis', collection: 'analysis' },
  /** The main run against each ablation the build ran (an empty list when it ran none). */
  ablations: { file: ARTIFACT_FILES.ablations, schema: AblationsArtifactSchema, stage: 'ablations', collection: 'ablations' },
  explanations: { file: ARTIFACT_FILES.explanations, schema: ExplanationsArtifactSchema, stage: 'explain', collection: 'explanations' },
} as const satisfies Record<string, ArtifactEntry>;

export type ArtifactId = keyof typeof ARTIFACTS;
/** The artifacts written once per model (history-cnn.json, history-lstm.json, …). */
export type PerModelArtifactId = { [I in ArtifactId]: (typeof ARTIFACTS)[I]['file'] extends string ? never : I }[ArtifactId];
export type SingleArtifactId = Exclude<ArtifactId, PerModelArtifactId>;
/** The value an artifact holds, as its schema describes it. */
export type ArtifactOf<I extends ArtifactId> = z.infer<(typeof ARTIFACTS)[I]['schema']>;

/** The file name of artifact `id` (of `model`, for the per-model ones). */
export function artifactFile(id: ArtifactId, model?: ModelKind): string {
  const file: ArtifactEntry['file'] = ARTIFACTS[id].file;
  if (typeof file === 'string') return file;
  if (model === undefined) throw new Error(`${id} is written once per model: name the model`);
  return file(model);
}
