/**
 * Whole-set evaluation of multi-label genre predictions, computed here in float64 rather than by
 * tfjs (whose precision/recall metrics are per batch).
 *
 * Inputs are row-major films × genres: `probabilities` (the sigmoid outputs) and `labels` (0/1).
 *
 * Conventions (each chosen to match what the coursework reported, and tested):
 * - A genre is predicted when its probability is strictly above the threshold (default 0.5):
 *   Keras' `Precision()` / `Recall()` — the coursework's metrics — count `y_pred > threshold`
 *   (`ops.greater`), so a probability of exactly 0.5 is a negative.
 * - Micro precision/recall/F1 pool the true/false positives and false negatives of every
 *   (film, genre) cell, which is what Keras' Precision/Recall report over a whole epoch.
 * - A ratio whose denominator is 0 is 0 — scikit-learn's default `zero_division` ("warn", which
 *   acts as 0) and Keras' `divide_no_nan`. F1 is 2·TP / (2·TP + FP + FN), as scikit-learn computes
 *   it, so it is 0 whenever TP is 0.
 * - Macro F1 is the unweighted mean of the per-genre F1 over ALL genres, including genres with no
 *   positive label in the set (their F1 is 0): scikit-learn's `f1_score(average='macro')` on a
 *   label-indicator matrix, which scores every column.
 * - Weighted F1 is the mean of the per-genre F1 weighted by support (scikit-learn
 *   `average='weighted'`): genres with no positive label weigh nothing; 0 when no cell is positive.
 * - Samples F1 is the mean over films of each film's F1 over its genres (scikit-learn
 *   `average='samples'`); a film with no true and no predicted genre scores 0 (zero division = 0).
 * - The threshold may be one number or one per genre (tuned thresholds); the rule stays `p > t`.
 * - The loss is Keras' / tfjs' binary cross-entropy: probabilities clipped to [ε, 1 − ε] with
 *   ε = 1e-7 (Keras' `epsilon()`, tfjs' float32 backend epsilon), averaged over all N × G cells.
 *   Both frameworks clip in float32, where 1 − 1e-7 rounds to 0.99999988; the bounds here are the
 *   float32 values, so a saturated output costs what it costs in Keras (−log 1.19e-7 ≈ 15.94).
 */
import { DECISION_THRESHOLD } from '../settings.ts';

export const BCE_EPSILON = 1e-7;
/** The float32 bounds Keras' / tfjs' binary cross-entropy clips probabilities to. */
export const BCE_LOWER = Math.fround(BCE_EPSILON);
export const BCE_UPPER = Math.fround(1 - BCE_EPSILON);

export interface GenreMetrics {
  genre: string;
  precision: number;
  recall: number;
  f1: number;
  /** Films labelled with the genre. */
  support: number;
  /** Films predicted to have the genre. */
  predictedPositives: number;
  truePositives: number;
}

export interface PredictionMetrics {
  loss: number;
  microPrecision: number;
  microRecall: number;
  microF1: number;
  macroF1: number;
  weightedF1: number;
  samplesF1: number;
  perGenre: GenreMetrics[];
}

export interface GenreProbability {
  genre: string;
  probability: number;
}

type Probabilities = ArrayLike<number>;
type Labels = ArrayLike<number>;

/** a / b, or 0 when b is 0. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function f1Score(truePositives: number, falsePositives: number, falseNegatives: number): number {
  return ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);
}

function checkShapes(probabilities: Probabilities, labels: Labels | null, genreCount: number): number {
  if (!Number.isInteger(genreCount) || genreCount < 1) throw new RangeError(`need at least one genre, got ${genreCount}`);
  if (probabilities.length === 0) throw new RangeError('no predictions to evaluate');
  if (probabilities.length % genreCount !== 0) {
    throw new RangeError(`${probabilities.length} probabilities are not a whole number of rows of ${genreCount} genres`);
  }
  if (labels && labels.length !== probabilities.length) {
    throw new RangeError(`${labels.length} labels for ${probabilities.length} probabilities`);
  }
  return probabilities.length / genreCount;
}

/**
 * Mean binary cross-entropy over every cell, as Keras' / tfjs' `binaryCrossentropy` loss
 * (−[y·log p + (1 − y)·log(1 − p)], p clipped to [1e-7, 1 − 1e-7] in float32).
 */
export function binaryCrossEntropy(probabilities: Probabilities, labels: Labels): number {
  if (probabilities.length === 0) throw new RangeError('no predictions to evaluate');
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels for ${probabilities.length} probabilities`);
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = Math.min(BCE_UPPER, Math.max(BCE_LOWER, probabilities[i]));
    const y = labels[i];
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / probabilities.length;
}

/**
 * Loss, micro/macro/weighted/samples scores and per-genre counts of `probabilities` against
 * `labels`. `threshold`: one for every genre, or one per genre (genre-column order).
 */
export function predictionMetrics(
  probabilities: Probabilities,
  labels: Labels,
  genres: readonly string[],
  threshold: number | ArrayLike<number> = DECISION_THRESHOLD,
): PredictionMetrics {
  const genreCount = genres.length;
  const films = checkShapes(probabilities, labels, genreCount);
  const thresholds = typeof threshold === 'number' ? new Array<number>(genreCount).fill(threshold) : Array.from(threshold);
  if (thresholds.length !== genreCount) throw new RangeError(`${thresholds.length} thresholds for ${genreCount} genres`);
  const support = new Array<number>(genreCount).fill(0);
  const predicted = new Array<number>(genreCount).fill(0);
  const truePositives = new Array<number>(genreCount).fill(0);
  let samplesF1Sum = 0;
  for (let film = 0; film < films; film++) {
    let filmTp = 0;
    let filmFp = 0;
    let filmFn = 0;
    for (let g = 0; g < genreCount; g++) {
      const i = film * genreCount + g;
      const actual = labels[i] !== 0;
      const positive = probabilities[i] > thresholds[g];
      if (actual) support[g]++;
      if (positive) predicted[g]++;
      if (actual && positive) truePositives[g]++;
      if (actual && positive) filmTp++;
      else if (positive) filmFp++;
      else if (actual) filmFn++;
    }
    samplesF1Sum += f1Score(filmTp, filmFp, filmFn);
  }

  const perGenre = genres.map((genre, g) => {
    const tp = truePositives[g];
    const fp = predicted[g] - tp;
    const fn = support[g] - tp;
    return {
      genre,
      precision: ratio(tp, predicted[g]),
      recall: ratio(tp, support[g]),
      f1: f1Score(tp, fp, fn),
      support: support[g],
      predictedPositives: predicted[g],
      truePositives: tp,
    };
  });

  const tp = truePositives.reduce((a, b) => a + b, 0);
  const predictedTotal = predicted.reduce((a, b) => a + b, 0);
  const supportTotal = support.reduce((a, b) => a + b, 0);
  return {
    loss: binaryCrossEntropy(probabilities, labels),
    microPrecision: ratio(tp, predictedTotal),
    microRecall: ratio(tp, supportTotal),
    microF1: f1Score(tp, predictedTotal - tp, supportTotal - tp),
    macroF1: perGenre.reduce((sum, m) => sum + m.f1, 0) / genreCount,
    weightedF1: ratio(
      perGenre.reduce((sum, m) => sum + m.f1 * m.support, 0),
      supportTotal,
    ),
    samplesF1: samplesF1Sum / films,
    perGenre,
  };
}

/**
 * The `k` most probable genres of each film, most probable first (the coursework's "top 3"
 * examples). Ties go to the genre listed first; `k` larger than the genre count lists them all.
 */
export function topK(probabilities: Probabilities, genres: readonly string[], k = 3): GenreProbability[][] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  const genreCount = genres.length;
  if (probabilities.length === 0) return [];
  const films = checkShapes(probabilities, null, genreCount);
  const order = genres.map((_, g) => g);
  const out: GenreProbability[][] = [];
  for (let film = 0; film < films; film++) {
    const row = film * genreCount;
    const ranked = order.slice().sort((a, b) => probabilities[row + b] - probabilities[row + a] || a - b);
    out.push(ranked.slice(0, Math.min(k, genreCount)).map((g) => ({ genre: genres[g], probability: probabilities[row + g] })));
  }
  return out;
}
