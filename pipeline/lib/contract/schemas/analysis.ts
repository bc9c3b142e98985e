/** Schema of analysis.json (pipeline/lib/analysis/). */
import { z } from 'zod';
import { CONTRACT_VERSION, count } from './base.ts';

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

/**
 * `fusion`: the late fusion (weighted mean of the probabilities); `gmu`: the learned fusion (pipeline/lib/gmu/gmu.ts);
 * `text-linear`, `poster-linear`, `stacked`: the strong profile (pipeline/lib/strong/), present when it ran.
 */
export const CLASSIFIER_IDS = [
  'cnn',
  'lstm',
  'fusion',
  'gmu',
  'text-linear',
  'poster-linear',
  'stacked',
  'genre-priors',
  'most-frequent',
  'two-most-frequent',
  'every-genre',
] as const;
/** The classifiers with probabilities, whose thresholds the analysis chooses on the training films. */
export const TUNED_CLASSIFIER_IDS = ['cnn', 'lstm', 'fusion', 'gmu', 'text-linear', 'poster-linear', 'stacked'] as const;
export type ClassifierId = (typeof CLASSIFIER_IDS)[number];
export type TunedClassifierId = (typeof TUNED_CLASSIFIER_IDS)[number];

/**
 * Decisions as a user would take them (pipeline/lib/analysis/decisions.ts): 1 to 3 genres per film;
 * micro F1 at one shared threshold, macro F1 at per-genre thresholds shrunk towards it; all chosen
 * on the training films.
 */
export const DecidedMetricsSchema = z.object({
  sharedThreshold: z.number(),
  thresholds: z.array(z.number()),
  /** At the shared threshold: micro precision, recall and F1 (and the rest, for reference). */
  shared: ThresholdedMetricsSchema,
  /** At the per-genre thresholds: macro F1 (and the rest). */
  perGenre: ThresholdedMetricsSchema,
  /** Macro F1 at the per-genre thresholds over the genres with films in the set only (the literature's macro F1; `perGenre.macroF1` counts every genre column). */
  macroF1WithFilms: z.number(),
});

export const ClassifierAnalysisSchema = z.object({
  id: z.enum(CLASSIFIER_IDS),
  /** `model`/`fusion`: the coursework's models and their fusions; `strong`: the strong profile's. */
  kind: z.enum(['model', 'fusion', 'strong', 'baseline']),
  /**
   * Which decisions the report's headline figures (and the intervals) use: `default` (0.5, the
   * coursework's, and the baselines' own) or `decided` (the strong models').
   */
  headline: z.enum(['default', 'decided']),
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
  /** The decision rule's figures; null for baselines. */
  decided: DecidedMetricsSchema.nullable(),
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

const IntervalSchema = z.object({ estimate: z.number(), low: z.number(), high: z.number() });

/** Bootstrap percentile intervals over the validation films (pipeline/lib/analysis/bootstrap.ts). */
export const BootstrapSchema = z.object({
  resamples: count,
  level: z.number(),
  seed: z.number().int(),
  /** Each classifier's headline figures (its `headline` decisions). */
  classifiers: z.array(z.object({ id: z.enum(CLASSIFIER_IDS), microF1: IntervalSchema, macroF1: IntervalSchema })),
  /** Paired differences a − b: "better" only where the interval excludes 0. */
  differences: z.array(z.object({ a: z.enum(CLASSIFIER_IDS), b: z.enum(CLASSIFIER_IDS), microF1: IntervalSchema, macroF1: IntervalSchema })),
});

export const AnalysisArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  genres: z.array(z.string()),
  trainFilms: count,
  validationFilms: count,
  /** The conventions of every number, in words (shown on the page). */
  conventions: z.array(z.string()),
  /** Models, late fusion, learned fusion, the strong models (when they ran), then the baselines. */
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
  bootstrap: BootstrapSchema,
});

export type ClassifierAnalysis = z.infer<typeof ClassifierAnalysisSchema>;
export type ThresholdSelection = z.infer<typeof ThresholdSelectionSchema>;
export type AnalysisArtifact = z.infer<typeof AnalysisArtifactSchema>;
export type BootstrapIntervals = z.infer<typeof BootstrapSchema>;
export type PrCurveData = z.infer<typeof PrCurveSchema>;
