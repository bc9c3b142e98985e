/**
 * Schemas of the strong profile's artifacts (pipeline/lib/strong/): linear models on TF-IDF overview
 * features and on weight-free poster features, and their stacked fusion. `strong.json` describes
 * the method, the cross-validation and what each model learnt (the site's Strong models page);
 * `strong-probabilities.json` holds each model's probabilities for the analysis stage: out-of-fold
 * on the training films, from the final models on the validation films.
 */
import { z } from 'zod';
import { CONTRACT_VERSION, count } from './base.ts';

/** The strong profile's classifiers, as the analysis and the report name them. */
export const STRONG_CLASSIFIER_IDS = ['text-linear', 'poster-linear', 'stacked'] as const;
export type StrongClassifierId = (typeof STRONG_CLASSIFIER_IDS)[number];

const CvPointSchema = z.object({
  c: z.number().positive(),
  /** Out-of-fold binary cross-entropy over every training film × genre (lower is better: it chooses C). */
  loss: z.number(),
  /** Out-of-fold mean AP over the genres with training positives. */
  meanAP: z.number().nullable(),
});

const LinearFitSchema = z.object({
  /** The chosen inverse regularisation strength, and every candidate's cross-validated scores. */
  c: z.number().positive(),
  grid: z.array(CvPointSchema),
  features: count,
});

/**
 * The pretrained poster backbone whose features the strong poster model also takes (pipeline/lib/strong/backbone.ts):
 * the npm package that ships it, the network, the pooled blocks and their channels, the input size.
 */
export const BackboneProvenanceSchema = z.object({
  package: z.string(),
  version: z.string(),
  model: z.string(),
  blocks: z.array(z.string()),
  /** Channels of each block, in `blocks` order: features = their sum. */
  channels: z.array(count),
  inputSize: count,
  features: count,
});
export type BackboneProvenance = z.infer<typeof BackboneProvenanceSchema>;

const WeightedTermSchema = z.object({ term: z.string(), block: z.enum(['word', 'char']), weight: z.number() });

export const StrongArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** The strong cache entry's key. */
  key: z.string(),
  seed: z.number().int(),
  folds: z.number().int().min(2),
  trainFilms: count,
  validationFilms: count,
  genres: z.array(z.string()),
  text: LinearFitSchema.extend({
    wordNgrams: z.tuple([z.number().int(), z.number().int()]),
    charNgrams: z.tuple([z.number().int(), z.number().int()]),
    minDf: z.number().int(),
    wordTerms: count,
    charTerms: count,
    /** Per genre (genre-column order), the n-grams with the largest positive weights: the model's explanation. */
    topTerms: z.array(z.object({ genre: z.string(), positive: z.array(WeightedTermSchema) })),
  }),
  poster: LinearFitSchema.extend({
    /** The pretrained backbone whose features the poster model takes, or null (the weight-free features). */
    backbone: BackboneProvenanceSchema.nullable(),
    /** Per genre, the standardised poster features with the largest positive and negative weights. */
    topFeatures: z.array(
      z.object({
        genre: z.string(),
        positive: z.array(z.object({ feature: z.string(), weight: z.number() })),
        negative: z.array(z.object({ feature: z.string(), weight: z.number() })),
      }),
    ),
  }),
  stacked: LinearFitSchema.extend({
    /** Per genre: the share of the stacker's weight magnitude on the text model's scores (the rest is the posters'). */
    textShare: z.array(z.object({ genre: z.string(), text: z.number() })),
  }),
  /**
   * The features; from the start of the cross-validation (both models share the cores) until each model was done; the stacking;
   * the backbone's features (0 when cached or not used).
   */
  timings: z.object({ featuresMs: z.number(), textMs: z.number(), posterMs: z.number(), stackedMs: z.number(), backboneMs: z.number() }),
});
export type StrongArtifact = z.infer<typeof StrongArtifactSchema>;

const ProbabilityMatrixSchema = z.array(z.array(z.number().min(0).max(1)));

export const StrongProbabilitiesArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  genres: z.array(z.string()),
  trainIds: z.array(z.string()),
  validationIds: z.array(z.string()),
  /** Per classifier: out-of-fold training probabilities and validation probabilities (films × genres, six decimals). */
  classifiers: z.array(z.object({ id: z.enum(STRONG_CLASSIFIER_IDS), train: ProbabilityMatrixSchema, validation: ProbabilityMatrixSchema })),
});
export type StrongProbabilitiesArtifact = z.infer<typeof StrongProbabilitiesArtifactSchema>;
