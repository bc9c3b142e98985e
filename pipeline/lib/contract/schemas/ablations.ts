/** Schema of ablations.json and the ablation ids (pipeline/lib/ablations/). */
import { z } from 'zod';
import { CONTRACT_VERSION, MODEL_KINDS, count } from './base.ts';

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
