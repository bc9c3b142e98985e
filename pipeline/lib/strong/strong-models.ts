/**
 * The strong profile's models, fitted on the training films only (no file I/O; the cross-validation may
 * run on a pool of worker threads, with the same numbers). In order:
 * 1. features: TF-IDF of the overviews (vocabulary and idf from the training films), and the
 *    pretrained poster backbone's features when given (./backbone.ts), else weight-free poster
 *    features, standardised with the training films' statistics;
 * 2. one-vs-rest logistic regression on each, C chosen by k-fold cross-validation; the training films'
 *    out-of-fold probabilities come with it;
 * 3. the stacked fusion on those out-of-fold scores, its C chosen and its own out-of-fold
 *    probabilities made on the same folds;
 * 4. the final models (all training films) score the validation films.
 * Returns the fitted models (to save, for `evaluate` and the demo), the probabilities, and what the
 * report shows about each fit.
 */
import { kFolds, selectRows } from '../analysis/analysis.ts';
import { STRONG_SETTINGS } from '../settings.ts';
import { crossValidateLogistic, inlineRunner, pathRanges, type LinearCrossValidation, type PathRunner } from './cross-validation.ts';
import type { LogisticSolver } from './lockstep.ts';
import { createPathPool } from './workers/path-pool.ts';
import { logisticProbabilities, type LogisticModel } from './logistic.ts';
import { fitStandardisation, posterFeatures, standardise, type Standardisation } from './poster-features.ts';
import type { BackboneProvenance } from './backbone.ts';
import { sparseFromDense, tfidfFeatures, type SparseRows } from './sparse.ts';
import { stackInputs, stackRows } from './stacking.ts';
import { fitTfidf, type TfidfVectorizer } from '../contract/tfidf.ts';

export interface StrongInput {
  overviews: readonly string[];
  /** films × size × size × 3 RGB, every film of the dataset. */
  posterPixels: Uint8Array;
  posterSize: number;
  /** The pretrained backbone's features of every film of the dataset (films × provenance.features), or none. */
  backbone?: { provenance: BackboneProvenance; values: Float32Array } | null;
  /** films × genres, every film of the dataset. */
  labels: Uint8Array;
  genres: number;
  train: readonly number[];
  validation: readonly number[];
  seed: number;
  /** Worker threads for the cross-validation's path jobs; 0: in this thread (the same numbers). */
  workers?: number;
  /** How the logistic fits are solved (./lockstep.ts `logisticSolver`; default 'primal'). */
  solver?: LogisticSolver;
  settings?: typeof STRONG_SETTINGS;
  progress?: (label: string, done: number, total: number) => void;
  now?: () => number;
}

/** Everything needed to score new films (pipeline/lib/strong/strong-model-io.ts saves it). */
export interface StrongModels {
  vectorizer: TfidfVectorizer;
  text: LogisticModel;
  /** The backbone whose features the poster model takes (instead of the weight-free ones), or null. */
  backbone: BackboneProvenance | null;
  posterStandardisation: Standardisation;
  poster: LogisticModel;
  stackStandardisation: Standardisation;
  stacked: LogisticModel;
}

export interface StrongScores {
  train: Float64Array;
  validation: Float64Array;
}

export interface StrongFit {
  models: StrongModels;
  folds: number;
  cv: { text: LinearCrossValidation; poster: LinearCrossValidation; stacked: LinearCrossValidation };
  scores: { text: StrongScores; poster: StrongScores; stacked: StrongScores };
  /** The features; then, from the start of the cross-validation (the two models share the cores), until each model was done; the stacking. */
  timings: { featuresMs: number; textMs: number; posterMs: number; stackedMs: number };
}

/**
 * The poster model's raw columns (films × columns, float64): the backbone's features when there are
 * any, else the weight-free ones. Not both: with one C for all columns, adding the weight-free
 * features to the backbone's lowered the out-of-fold mAP on the shared data's training films (0.242
 * against 0.253 for the backbone's alone; `npm run bench:backbone`).
 */
export function posterColumns(posterPixels: Uint8Array, films: number, posterSize: number, backbone?: Float32Array | null): Float64Array {
  if (!backbone) return posterFeatures(posterPixels, films, posterSize);
  if (backbone.length % films !== 0) throw new RangeError(`backbone features (${backbone.length} values) are not a whole number per film (${films} films)`);
  return Float64Array.from(backbone);
}

/**
 * Probabilities of new films from the saved models: text, poster, and their stacked fusion.
 * `backbone`: the new films' backbone features, needed when the models were fitted with them.
 */
export function strongProbabilities(
  models: StrongModels,
  overviews: readonly string[],
  posterPixels: Uint8Array,
  posterSize: number,
  backbone?: Float32Array | null,
) {
  const films = overviews.length;
  const all = Array.from({ length: films }, (_, i) => i);
  if (Boolean(models.backbone) !== Boolean(backbone)) {
    throw new Error(
      models.backbone ? 'the strong poster model needs the backbone features of these films' : 'the strong poster model takes no backbone features',
    );
  }
  const width = models.poster.features;
  const text = logisticProbabilities(models.text, tfidfFeatures(models.vectorizer, overviews));
  const raw = posterColumns(posterPixels, films, posterSize, backbone);
  const posterRows = sparseFromDense(standardise(raw, width, all, models.posterStandardisation), films, width);
  const poster = logisticProbabilities(models.poster, posterRows);
  const genres = models.text.genres;
  const { rows } = stackRows(stackInputs([text, poster], films, genres), films, 2 * genres, models.stackStandardisation);
  return { text, poster, stacked: logisticProbabilities(models.stacked, rows) };
}

export async function fitStrongModels(input: StrongInput): Promise<StrongFit> {
  const settings = input.settings ?? STRONG_SETTINGS;
  const now = input.now ?? (() => performance.now());
  const progress = input.progress ?? (() => {});
  const G = input.genres;
  const { train, validation } = input;
  const y = Uint8Array.from(selectRows(input.labels, G, train));
  const folds = kFolds(train.length, Math.min(settings.folds, train.length), input.seed);

  let started = now();
  const texts = (rows: readonly number[]) => rows.map((r) => input.overviews[r]);
  const vectorizer = fitTfidf(texts(train), { wordNgrams: settings.text.wordNgrams, charNgrams: settings.text.charNgrams, minDf: settings.text.minDf });
  const textTrain = tfidfFeatures(vectorizer, texts(train));
  const textValidation = tfidfFeatures(vectorizer, texts(validation));
  const films = input.overviews.length;
  const rawPoster = posterColumns(input.posterPixels, films, input.posterSize, input.backbone?.values);
  const width = rawPoster.length / films;
  const posterStandardisation = fitStandardisation(rawPoster, width, train);
  const posterTrain = sparseFromDense(standardise(rawPoster, width, train, posterStandardisation), train.length, width);
  const posterValidation = sparseFromDense(standardise(rawPoster, width, validation, posterStandardisation), validation.length, width);
  const featuresMs = now() - started;

  // Every path job of the three models (folds, and the path on every training film, each split by
  // genre for the primal solver), on the pool's cores.
  const solver = input.solver ?? 'primal';
  const totalJobs = 3 * (folds.length + 1) * pathRanges(G, solver).length;
  let doneJobs = 0;
  const tick = () => progress('Strong models: cross-validation', ++doneJobs, totalJobs);
  const matrices: Record<string, SparseRows> = { text: textTrain, poster: posterTrain };
  const pool = (input.workers ?? 0) >= 1 ? createPathPool(input.workers!, y, G, tick) : null;
  const run: PathRunner = pool ? pool.run : inlineRunner(matrices, y, G, tick);
  pool?.register('text', textTrain);
  pool?.register('poster', posterTrain);
  try {
    started = now();
    const timed = async <T>(work: Promise<T>) => {
      const value = await work;
      return { value, ms: now() - started };
    };
    const [poster, text] = await Promise.all([
      timed(crossValidateLogistic(run, 'poster', train.length, y, G, folds, settings.poster.cGrid, solver)),
      timed(crossValidateLogistic(run, 'text', train.length, y, G, folds, settings.text.cGrid, solver)),
    ]);

    started = now();
    const textValidationP = logisticProbabilities(text.value.model, textValidation);
    const posterValidationP = logisticProbabilities(poster.value.model, posterValidation);
    const stackTrain = stackRows(stackInputs([text.value.cv.outOfFold, poster.value.cv.outOfFold], train.length, G), train.length, 2 * G);
    const stackValidation = stackRows(
      stackInputs([textValidationP, posterValidationP], validation.length, G),
      validation.length,
      2 * G,
      stackTrain.standardisation,
    );
    matrices.stacked = stackTrain.rows;
    pool?.register('stacked', stackTrain.rows);
    const stacked = await crossValidateLogistic(run, 'stacked', train.length, y, G, folds, settings.stacked.cGrid, solver);
    const stackedMs = now() - started;

    return {
      models: {
        vectorizer,
        text: text.value.model,
        backbone: input.backbone?.provenance ?? null,
        posterStandardisation,
        poster: poster.value.model,
        stackStandardisation: stackTrain.standardisation,
        stacked: stacked.model,
      },
      folds: folds.length,
      cv: { text: text.value.cv, poster: poster.value.cv, stacked: stacked.cv },
      scores: {
        text: { train: text.value.cv.outOfFold, validation: textValidationP },
        poster: { train: poster.value.cv.outOfFold, validation: posterValidationP },
        stacked: { train: stacked.cv.outOfFold, validation: logisticProbabilities(stacked.model, stackValidation.rows) },
      },
      timings: { featuresMs, textMs: text.ms, posterMs: poster.ms, stackedMs },
    };
  } finally {
    await pool?.close();
  }
}
