/**
 * The ablation stage (after the analysis): the seeds' recommended improvements as measured
 * ablations. Each ablation named in config `ablations` is the main configuration with one switch
 * turned on — class-weighted or focal loss, poster augmentation, early stopping — and the models it
 * affects are trained again on the same split with the same seed. `ablations.json` then holds the
 * main run's and every ablation's validation figures, computed the same way from their
 * probabilities, so the report can show what each switch changed.
 *
 * Ablation models are cached like the main run's (`<cacheDir>/training/<key>/<model>/`, the key
 * of the ablation's configuration), so a rebuild trains nothing it already has, an interrupted
 * ablation resumes from its checkpoint, and turning a switch on for the main run reuses them.
 * Jobs train in worker threads, as many at a time as there are cores (or one after the other with
 * `--sequential`).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { meanAveragePrecision, tuneThresholds } from '../analysis/analysis.ts';
import { effectiveProfile } from '../config.ts';
import type { AblationId, Config } from '../settings.ts';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  MODEL_KINDS,
  MODEL_TITLES,
  type AblationFigures,
  type AblationsArtifact,
  type ModelKind,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { readJson } from '../core/files.ts';
import { DEFAULT_PATIENCE, FOCAL_ALPHA, FOCAL_GAMMA } from '../settings.ts';
import { predictionMetrics } from '../core/metrics.ts';
import { maxShift } from '../train/poster-augmentation.ts';
import { RESULT_FILE, reusableTraining, trainingEntryDir, trainingKey, trainingSchedules } from '../train/training-cache.ts';
import { trainJobs } from '../train/train-jobs.ts';
import type { TrainJob } from '../train/train-job.ts';
import type { CachedModelResult } from '../train/training-cache.ts';
import { stopsEarly, type TrainingSchedule } from '../train/train.ts';
import type { StageContext } from '../core/context.ts';

export interface AblationDefinition {
  title: string;
  description: string;
  /** The models whose training the switch changes. */
  models: readonly ModelKind[];
  /** The setting as written in genrelens.config.json. */
  setting(config: Config): string;
  /** The ablation's configuration; null when the main run already has the switch on. */
  apply(config: Config): Config | null;
  /**
   * When the switch provably leaves a model's run as the main run's, given the main run's
   * validation losses and the ablation's schedule: why (shown on the page); else null.
   */
  sameAsMain?(validationLosses: readonly number[], schedule: TrainingSchedule): string | null;
}

export const ABLATIONS: Record<AblationId, AblationDefinition> = {
  'class-weighted-loss': {
    title: 'Class-weighted loss',
    description:
      'Binary cross-entropy with each genre’s positive labels weighted by √(negatives / positives) on the training films: rare genres count more, Drama slightly less.',
    models: MODEL_KINDS,
    setting: () => '"loss": "class-weighted-bce"',
    apply: (config) => (config.loss === 'class-weighted-bce' ? null : { ...config, loss: 'class-weighted-bce' }),
  },
  'focal-loss': {
    title: 'Focal loss',
    description: `Focal loss (Lin et al. 2017) with α = ${FOCAL_ALPHA}, γ = ${FOCAL_GAMMA}: well-classified cells count less, hard ones more.`,
    models: MODEL_KINDS,
    setting: () => '"loss": "focal"',
    apply: (config) => (config.loss === 'focal' ? null : { ...config, loss: 'focal' }),
  },
  'poster-augmentation': {
    title: 'Poster augmentation',
    description: `Each training poster mirrored left–right at random and shifted by up to ${maxShift(64)} pixels (of 64) each way, edges repeated; validation posters unchanged.`,
    models: ['cnn'],
    setting: () => '"posterAugmentation": true',
    apply: (config) => (config.posterAugmentation ? null : { ...config, posterAugmentation: true }),
  },
  'early-stopping': {
    title: 'Early stopping',
    description: `Training ends once the validation loss has not improved for ${DEFAULT_PATIENCE} epochs in a row; the best epoch’s weights are kept, as in every run.`,
    models: MODEL_KINDS,
    setting: () => `"earlyStoppingPatience": ${DEFAULT_PATIENCE}`,
    apply: (config) => (config.earlyStoppingPatience !== undefined ? null : { ...config, earlyStoppingPatience: DEFAULT_PATIENCE }),
    sameAsMain: (losses, schedule) =>
      earlyStoppingNeverStops(losses, schedule)
        ? `The main run’s validation loss never went ${schedule.earlyStoppingPatience} epochs without improving, so early stopping would not have stopped it: training is deterministic, so this run is the main run.`
        : null,
  },
};

/** What the figures are computed from: one model's training result. */
export interface ModelRunResult {
  history: { epochs: { validation: { loss: number } }[]; bestEpoch: number };
  predictions: { films: { id: string; probabilities: number[] }[] };
  trainProbabilities: { films: { id: string; probabilities: number[] }[] };
  run: { epochs: number; trainingMs: number; stoppedEarlyAfterEpoch?: number };
}

function matrix(films: { probabilities: number[] }[], genreCount: number): Float64Array {
  const out = new Float64Array(films.length * genreCount);
  films.forEach((film, i) => out.set(film.probabilities, i * genreCount));
  return out;
}

/**
 * The figures of one model's run (pure): the same computation for the main run and the ablations.
 * Thresholds are tuned on the training films' probabilities, then applied to the validation films.
 */
export function ablationFigures(result: ModelRunResult, genres: readonly string[], trainLabels: Uint8Array, validationLabels: Uint8Array): AblationFigures {
  const g = genres.length;
  const validation = matrix(result.predictions.films, g);
  const train = matrix(result.trainProbabilities.films, g);
  const atHalf = predictionMetrics(validation, validationLabels, genres);
  const thresholds = tuneThresholds(train, trainLabels, g).thresholds;
  const tuned = predictionMetrics(validation, validationLabels, genres, thresholds);
  const films = result.predictions.films.length;
  return {
    epochsPlanned: result.run.epochs,
    epochsRun: result.history.epochs.length,
    bestEpoch: result.history.bestEpoch,
    stoppedEarlyAfterEpoch: result.run.stoppedEarlyAfterEpoch ?? null,
    trainingMs: result.run.trainingMs,
    validationLossCurve: result.history.epochs.map((e) => e.validation.loss),
    validation: {
      loss: atHalf.loss,
      microPrecision: atHalf.microPrecision,
      microRecall: atHalf.microRecall,
      microF1: atHalf.microF1,
      macroF1: atHalf.macroF1,
      meanAP: meanAveragePrecision(validation, validationLabels, g),
      tunedMicroF1: tuned.microF1,
      tunedMacroF1: tuned.macroF1,
      predictedGenresPerFilm: atHalf.perGenre.reduce((sum, genre) => sum + genre.predictedPositives, 0) / films,
      genresFound: atHalf.perGenre.filter((genre) => genre.truePositives > 0).length,
    },
  };
}

/**
 * Whether early stopping with `schedule`'s patience would have left a run with this validation loss
 * history untouched: it never went `patience` epochs without a new best before the schedule ended.
 * Training is deterministic (same seed, batches and dropout draws; tested), and the switch changes
 * nothing before it stops a run, so such a run IS the main run.
 */
export function earlyStoppingNeverStops(validationLosses: readonly number[], schedule: TrainingSchedule): boolean {
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = -1;
  for (let epoch = 0; epoch < validationLosses.length; epoch++) {
    if (stopsEarly(schedule, epoch, bestEpoch)) return false;
    if (validationLosses[epoch] < best) {
      best = validationLosses[epoch];
      bestEpoch = epoch;
    }
  }
  return validationLosses.length === schedule.epochs;
}

/** Trains (or reuses) the configured ablations and writes `ablations.json`. */
export async function runAblationStage(stage: DataStageResult, ctx: StageContext): Promise<AblationsArtifact> {
  const { config, effects } = ctx;
  const { genres } = stage.dataset;
  const trainLabels = filmLabels(stage.dataset, stage.split.train);
  const validationLabels = filmLabels(stage.dataset, stage.split.validation);
  const run = ctx.artifacts.read('run');
  const mainResults = {} as Record<ModelKind, ModelRunResult>;
  for (const model of MODEL_KINDS) {
    mainResults[model] = {
      history: ctx.artifacts.read('history', model),
      predictions: ctx.artifacts.read('predictions', model),
      trainProbabilities: ctx.artifacts.read('trainProbabilities', model),
      run: run.models[model],
    };
  }
  const figuresOf = (result: ModelRunResult) => ablationFigures(result, genres, trainLabels, validationLabels);
  const main = { cnn: figuresOf(mainResults.cnn), lstm: figuresOf(mainResults.lstm) };

  // Plan: per ablation and affected model, reuse the main run, reuse the cache, or train.
  const profile = effectiveProfile(config, stage.dataset.synthetic);
  type Planned = { model: ModelKind; key: string; source: 'trained' | 'same-as-main'; note?: string; dir: string; cached: boolean };
  const plans: { id: AblationId; config: Config; planned: Planned[] }[] = [];
  const jobs: TrainJob[] = [];
  const jobLabels: string[] = [];
  for (const id of config.ablations) {
    const variant = ABLATIONS[id].apply(config);
    if (!variant) {
      effects.warn(`ablation ${id}: the main run already has ${ABLATIONS[id].setting(config)}; skipped (turn it off in the main run to measure it)`);
      continue;
    }
    const schedules = trainingSchedules(variant, profile);
    const key = trainingKey(stage, variant, schedules);
    const planned: Planned[] = [];
    for (const model of ABLATIONS[id].models) {
      const dir = trainingEntryDir(ctx.paths.cache, key, model);
      const note = ABLATIONS[id].sameAsMain?.(
        mainResults[model].history.epochs.map((e) => e.validation.loss),
        schedules[model],
      );
      if (note) {
        planned.push({ model, key: run.trainingKey, source: 'same-as-main', note, dir, cached: true });
        continue;
      }
      const cached = (await reusableTraining(dir, `${MODEL_TITLES[model]} for ${id}`, effects)) !== null;
      if (!cached) {
        jobs.push({ model, stage, config: variant, schedule: schedules[model], dir, key });
        jobLabels.push(`${model.toUpperCase()} for ${id}`);
      }
      planned.push({ model, key, source: 'trained', dir, cached });
    }
    plans.push({ id, config: variant, planned });
  }

  if (jobs.length > 0) {
    const concurrency = config.parallel ? Math.max(1, availableParallelism()) : 1;
    effects.info(
      `Ablations: training ${jobs.length} model${jobs.length === 1 ? '' : 's'} (${jobLabels.join(', ')}), ${Math.min(concurrency, jobs.length)} at a time`,
    );
    await trainJobs(jobs, config, effects, concurrency);
  }

  const ablations: AblationsArtifact['ablations'] = [];
  for (const plan of plans) {
    const definition = ABLATIONS[plan.id];
    const models = [];
    for (const p of plan.planned) {
      const result = p.source === 'same-as-main' ? mainResults[p.model] : await readJson<CachedModelResult>(join(p.dir, RESULT_FILE));
      models.push({ model: p.model, source: p.source, cached: p.cached, trainingKey: p.key, ...(p.note ? { note: p.note } : {}), figures: figuresOf(result) });
    }
    ablations.push({ id: plan.id, title: definition.title, setting: definition.setting(plan.config), description: definition.description, models });
  }

  const truthGenres = validationLabels.reduce((sum, v) => sum + v, 0) / stage.split.validation.length;
  const artifact: AblationsArtifact = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    mainTrainingKey: run.trainingKey,
    validationFilms: stage.split.validation.length,
    truthGenresPerFilm: truthGenres,
    main,
    ablations,
    notes: [
      'Every ablation is the main configuration with one switch on, trained on the same split with the same seed; the other settings are unchanged.',
      'Whatever the training loss, the kept epoch and every loss shown are binary cross-entropy on the validation films, so the runs are compared on one scale.',
      'Tuned F1 uses per-genre thresholds chosen on the training films’ probabilities of the same run (grid 0.05–0.95), never on the validation films.',
      'One run per switch and seed: differences of a few thousandths are within what another seed could change.',
    ],
  };
  await ctx.artifacts.write('ablations', artifact);
  for (const a of ablations) {
    const parts = a.models.map((m) => {
      const d = (k: 'loss' | 'microF1' | 'macroF1') => (m.figures.validation[k] - main[m.model].validation[k]).toFixed(3);
      return `${MODEL_TITLES[m.model]} Δloss ${d('loss')} ΔmicroF1 ${d('microF1')} ΔmacroF1 ${d('macroF1')}`;
    });
    effects.info(`Ablation ${a.title}: ${parts.join('; ')}`);
  }
  effects.info(`Ablations: wrote ${ARTIFACT_FILES.ablations} (${ablations.length} ablation${ablations.length === 1 ? '' : 's'})`);
  return artifact;
}
