/**
 * The strong profile's models, fitted on the training films only (pure: no I/O). In order:
 * 1. features: TF-IDF of the overviews (vocabulary and idf from the training films) and weight-free
 *    poster features (standardised with the training films' statistics);
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
import { crossValidateLogistic, fitChosen, type LinearCrossValidation } from './cross-validation.ts';
import { logisticProbabilities, type LogisticModel } from './logistic.ts';
import { fitStandardisation, POSTER_FEATURE_NAMES, posterFeatures, standardise, type Standardisation } from './poster-features.ts';
import { sparseFromDense, tfidfFeatures } from './sparse.ts';
import { stackInputs, stackRows } from './stacking.ts';
import { fitTfidf, type TfidfVectorizer } from '../contract/tfidf.ts';

export interface StrongInput {
  overviews: readonly string[];
  /** films × size × size × 3 RGB, every film of the dataset. */
  posterPixels: Uint8Array;
  posterSize: number;
  /** films × genres, every film of the dataset. */
  labels: Uint8Array;
  genres: number;
  train: readonly number[];
  validation: readonly number[];
  seed: number;
  settings?: typeof STRONG_SETTINGS;
  progress?: (label: string, done: number, total: number) => void;
  now?: () => number;
}

/** Everything needed to score new films (pipeline/lib/strong/strong-model-io.ts saves it). */
export interface StrongModels {
  vectorizer: TfidfVectorizer;
  text: LogisticModel;
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
  timings: { featuresMs: number; textMs: number; posterMs: number; stackedMs: number };
}

/** Probabilities of new films from the saved models: text, poster, and their stacked fusion. */
export function strongProbabilities(models: StrongModels, overviews: readonly string[], posterPixels: Uint8Array, posterSize: number) {
  const films = overviews.length;
  const all = Array.from({ length: films }, (_, i) => i);
  const width = POSTER_FEATURE_NAMES.length;
  const text = logisticProbabilities(models.text, tfidfFeatures(models.vectorizer, overviews));
  const posterRows = sparseFromDense(standardise(posterFeatures(posterPixels, films, posterSize), width, all, models.posterStandardisation), films, width);
  const poster = logisticProbabilities(models.poster, posterRows);
  const genres = models.text.genres;
  const { rows } = stackRows(stackInputs([text, poster], films, genres), films, 2 * genres, models.stackStandardisation);
  return { text, poster, stacked: logisticProbabilities(models.stacked, rows) };
}

export function fitStrongModels(input: StrongInput): StrongFit {
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
  const width = POSTER_FEATURE_NAMES.length;
  const films = input.overviews.length;
  const rawPoster = posterFeatures(input.posterPixels, films, input.posterSize);
  const posterStandardisation = fitStandardisation(rawPoster, width, train);
  const posterTrain = sparseFromDense(standardise(rawPoster, width, train, posterStandardisation), train.length, width);
  const posterValidation = sparseFromDense(standardise(rawPoster, width, validation, posterStandardisation), validation.length, width);
  const featuresMs = now() - started;

  started = now();
  const textCv = crossValidateLogistic(textTrain, y, G, folds, settings.text.cGrid, (d, t) =>
    progress('Strong models: overview TF-IDF cross-validation', d, t),
  );
  const text = fitChosen(textTrain, y, G, textCv);
  const textMs = now() - started;

  started = now();
  const posterCv = crossValidateLogistic(posterTrain, y, G, folds, settings.poster.cGrid, (d, t) =>
    progress('Strong models: poster features cross-validation', d, t),
  );
  const poster = fitChosen(posterTrain, y, G, posterCv);
  const posterMs = now() - started;

  started = now();
  const textValidationP = logisticProbabilities(text, textValidation);
  const posterValidationP = logisticProbabilities(poster, posterValidation);
  const stackTrain = stackRows(stackInputs([textCv.outOfFold, posterCv.outOfFold], train.length, G), train.length, 2 * G);
  const stackValidation = stackRows(
    stackInputs([textValidationP, posterValidationP], validation.length, G),
    validation.length,
    2 * G,
    stackTrain.standardisation,
  );
  const stackedCv = crossValidateLogistic(stackTrain.rows, y, G, folds, settings.stacked.cGrid);
  const stacked = fitChosen(stackTrain.rows, y, G, stackedCv);
  const stackedMs = now() - started;

  return {
    models: { vectorizer, text, posterStandardisation, poster, stackStandardisation: stackTrain.standardisation, stacked },
    folds: folds.length,
    cv: { text: textCv, poster: posterCv, stacked: stackedCv },
    scores: {
      text: { train: textCv.outOfFold, validation: textValidationP },
      poster: { train: posterCv.outOfFold, validation: posterValidationP },
      stacked: { train: stackedCv.outOfFold, validation: logisticProbabilities(stacked, stackValidation.rows) },
    },
    timings: { featuresMs, textMs, posterMs, stackedMs },
  };
}
