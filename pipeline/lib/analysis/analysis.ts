/**
 * The report's deeper evaluation, pure (no I/O): baselines, average precision and precision–recall
 * curves, per-genre decision thresholds chosen on the training films, and late fusion of the two
 * models; the learned fusion (GMU, pipeline/lib/gmu/gmu.ts) comes in as a third set of probabilities.
 * `pipeline/lib/analysis/analysis-stage.ts` reads the artifacts, calls these and writes `analysis.json`.
 *
 * Inputs are row-major films × genres, as in `metrics.ts` (whose `predictionMetrics` computes
 * every thresholded score here: same `p > t` rule, same zero-division-is-0 convention).
 *
 * - Average precision is scikit-learn's `average_precision_score`: AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the
 *   distinct scores taken as thresholds in decreasing order (tied scores form one threshold), R₀ = 0.
 *   A genre with no positive film has no AP (null); `meanAP` averages the genres that have one.
 *   Micro AP is the AP of every (film, genre) cell pooled (`average='micro'`).
 * - Nothing is chosen on the validation films: `chooseOnTraining` receives only the training
 *   films' probabilities and labels; the validation films are only scored (`validationResults`).
 */
import type { ClassifierId, StrongClassifierId, TunedClassifierId } from '../contract/contract.ts';
import { chooseDecisionRule, ruleDecisions, type DecisionRule } from './decisions.ts';
import { binaryCrossEntropy, predictionMetrics, type PredictionMetrics } from '../core/metrics.ts';
import { CURVE_POINTS, DECISION_THRESHOLD, FUSION_GRID, THRESHOLD_FOLDS, THRESHOLD_GRID } from '../settings.ts';
import { seededRandom, shuffled } from '../core/random.ts';

type Values = ArrayLike<number>;

function rowCount(values: Values, genreCount: number): number {
  if (!Number.isInteger(genreCount) || genreCount < 1) throw new RangeError(`need at least one genre, got ${genreCount}`);
  if (values.length % genreCount !== 0) throw new RangeError(`${values.length} values are not a whole number of rows of ${genreCount} genres`);
  return values.length / genreCount;
}

/** Column `genre` of a films × genres matrix. */
export function column(values: Values, genreCount: number, genre: number): Float64Array {
  const rows = rowCount(values, genreCount);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = values[r * genreCount + genre];
  return out;
}

/** The given rows of a films × genres matrix, in the given order. */
export function selectRows(values: Values, genreCount: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * genreCount);
  rows.forEach((row, i) => {
    for (let g = 0; g < genreCount; g++) out[i * genreCount + g] = values[row * genreCount + g];
  });
  return out;
}

// --- Average precision and precision–recall curves ------------------------------------------------

/** Precision and recall at each distinct score taken as threshold (`score >= t`), highest first. */
export interface PrCurve {
  /** Starts at scikit-learn's (recall 0, precision 1) point, whose threshold is null. */
  recall: number[];
  precision: number[];
  threshold: (number | null)[];
}

/** The exact curve: one point per distinct score (scikit-learn's `precision_recall_curve`, reversed). */
export function precisionRecallCurve(scores: Values, labels: Values): PrCurve {
  if (scores.length !== labels.length) throw new RangeError(`${labels.length} labels for ${scores.length} scores`);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) positives++;
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const curve: PrCurve = { recall: [0], precision: [1], threshold: [null] };
  let tp = 0;
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]] !== 0) tp++;
    // One point per distinct score: after the last of a run of ties.
    if (k + 1 < order.length && scores[order[k + 1]] === scores[order[k]]) continue;
    // scikit-learn: recall is 1 at every threshold when there is no positive (AP is then 0).
    curve.recall.push(positives === 0 ? 1 : tp / positives);
    curve.precision.push(tp / (k + 1));
    curve.threshold.push(scores[order[k]]);
  }
  return curve;
}

/** scikit-learn's `average_precision_score` of one column: Σ (Rₙ − Rₙ₋₁)·Pₙ; null without positives. */
export function averagePrecision(scores: Values, labels: Values): number | null {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) positives++;
  if (positives === 0) return null;
  const curve = precisionRecallCurve(scores, labels);
  let ap = 0;
  for (let n = 1; n < curve.recall.length; n++) ap += (curve.recall[n] - curve.recall[n - 1]) * curve.precision[n];
  return ap;
}

/** Mean of the per-genre AP over the genres with validation films (as analysis.json's mAP). */
export function meanAveragePrecision(probabilities: Values, labels: Values, genreCount: number): number | null {
  const aps: number[] = [];
  for (let g = 0; g < genreCount; g++) {
    const ap = averagePrecision(column(probabilities, genreCount, g), column(labels, genreCount, g));
    if (ap !== null) aps.push(ap);
  }
  return aps.length > 0 ? aps.reduce((a, b) => a + b, 0) / aps.length : null;
}

/**
 * At most `points` points of a curve, evenly spaced along it, first and last always kept; the
 * point where F1 is highest is kept too, so the curve's best operating point is drawn exactly.
 */
export function downsampleCurve(curve: PrCurve, points = CURVE_POINTS): PrCurve {
  const n = curve.recall.length;
  if (n <= points) return { recall: curve.recall.slice(), precision: curve.precision.slice(), threshold: curve.threshold.slice() };
  if (points < 3) throw new RangeError(`keep at least 3 points, got ${points}`);
  let best = 0;
  let bestF1 = -1;
  for (let i = 0; i < n; i++) {
    const p = curve.precision[i];
    const r = curve.recall[i];
    const f1 = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    if (f1 > bestF1) [best, bestF1] = [i, f1];
  }
  // points − 1 evenly spaced indices from first to last, plus the best-F1 point.
  const keep = new Set<number>([best]);
  for (let k = 0; k <= points - 2; k++) keep.add(Math.round((k * (n - 1)) / (points - 2)));
  const indices = [...keep].sort((a, b) => a - b);
  return {
    recall: indices.map((i) => curve.recall[i]),
    precision: indices.map((i) => curve.precision[i]),
    threshold: indices.map((i) => curve.threshold[i]),
  };
}

// --- Evaluation of one classifier ------------------------------------------------------------

export interface GenreScore {
  /** Validation films with the genre. */
  support: number;
  /** null when no film has the genre. */
  averagePrecision: number | null;
  meanProbability: number;
}

export interface ScoreMetrics {
  /** Mean binary cross-entropy (Keras' clipping), or null when the scores are not probabilities. */
  loss: number | null;
  microAP: number;
  /** Mean of the per-genre AP over the genres with at least one positive film; null when none has. */
  meanAP: number | null;
  perGenre: GenreScore[];
  curves: { micro: PrCurve; perGenre: (PrCurve | null)[] };
}

/** The threshold-free scores of a classifier: loss, AP per genre and pooled, PR curves (downsampled). */
export function scoreMetrics(
  probabilities: Values,
  labels: Values,
  genreCount: number,
  options: { probabilistic: boolean; curvePoints?: number },
): ScoreMetrics {
  const films = rowCount(probabilities, genreCount);
  if (films === 0) throw new RangeError('no films to evaluate');
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels for ${probabilities.length} probabilities`);
  const points = options.curvePoints ?? CURVE_POINTS;
  const perGenre: GenreScore[] = [];
  const curves: (PrCurve | null)[] = [];
  for (let g = 0; g < genreCount; g++) {
    const scores = column(probabilities, genreCount, g);
    const truth = column(labels, genreCount, g);
    const support = truth.reduce((a, b) => a + (b !== 0 ? 1 : 0), 0);
    perGenre.push({ support, averagePrecision: averagePrecision(scores, truth), meanProbability: scores.reduce((a, b) => a + b, 0) / films });
    curves.push(support === 0 ? null : downsampleCurve(precisionRecallCurve(scores, truth), points));
  }
  const withSupport = perGenre.filter((g) => g.averagePrecision !== null);
  return {
    loss: options.probabilistic ? binaryCrossEntropy(probabilities, labels) : null,
    microAP: averagePrecision(probabilities, labels) ?? 0,
    meanAP: withSupport.length ? withSupport.reduce((sum, g) => sum + g.averagePrecision!, 0) / withSupport.length : null,
    perGenre,
    curves: { micro: downsampleCurve(precisionRecallCurve(probabilities, labels), points), perGenre: curves },
  };
}

// --- Baselines -------------------------------------------------------------------------------

/** Each genre's share of the (training) films labelled with it. */
export function genreFrequencies(labels: Values, genreCount: number): number[] {
  const films = rowCount(labels, genreCount);
  if (films === 0) throw new RangeError('no films to count');
  const counts = new Array<number>(genreCount).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) counts[i % genreCount]++;
  return counts.map((c) => c / films);
}

/** The `k` most frequent genres' indices, most frequent first; ties go to the genre listed first. */
export function mostFrequentGenres(labels: Values, genreCount: number, k: number): number[] {
  const frequencies = genreFrequencies(labels, genreCount);
  return frequencies
    .map((f, g) => ({ f, g }))
    .sort((a, b) => b.f - a.f || a.g - b.g)
    .slice(0, k)
    .map(({ g }) => g);
}

/** The same row of scores for every one of `films` films. */
export function constantPredictions(row: readonly number[], films: number): Float64Array {
  const out = new Float64Array(films * row.length);
  for (let f = 0; f < films; f++) out.set(row, f * row.length);
  return out;
}

/** 1 for the given genres, 0 for the others. */
export function indicatorRow(genres: readonly number[], genreCount: number): number[] {
  const row = new Array<number>(genreCount).fill(0);
  for (const g of genres) row[g] = 1;
  return row;
}

// --- Per-genre thresholds --------------------------------------------------------------------

/** Grid value that maximises each genre's F1; ties go to the value closest to 0.5, then the lower. */
export interface ThresholdChoice {
  thresholds: number[];
  /** F1 per genre at the chosen threshold and at 0.5, on the films the choice was made on. */
  f1: number[];
  f1AtDefault: number[];
}

function f1Of(tp: number, fp: number, fn: number): number {
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Per-genre F1 at each threshold of `grid` (grid × genres), on all rows of the matrices. */
function f1Grid(probabilities: Values, labels: Values, genreCount: number, grid: readonly number[]): number[][] {
  const films = rowCount(probabilities, genreCount);
  return grid.map((t) => {
    const tp = new Array<number>(genreCount).fill(0);
    const fp = new Array<number>(genreCount).fill(0);
    const fn = new Array<number>(genreCount).fill(0);
    for (let f = 0; f < films; f++) {
      for (let g = 0; g < genreCount; g++) {
        const i = f * genreCount + g;
        const positive = probabilities[i] > t;
        const actual = labels[i] !== 0;
        if (positive && actual) tp[g]++;
        else if (positive) fp[g]++;
        else if (actual) fn[g]++;
      }
    }
    return tp.map((_, g) => f1Of(tp[g], fp[g], fn[g]));
  });
}

/** Chooses one threshold per genre on the given (training) films only. */
export function tuneThresholds(probabilities: Values, labels: Values, genreCount: number, grid: readonly number[] = THRESHOLD_GRID): ThresholdChoice {
  if (grid.length === 0) throw new RangeError('empty threshold grid');
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels for ${probabilities.length} probabilities`);
  const table = f1Grid(probabilities, labels, genreCount, grid);
  const atDefault = f1Grid(probabilities, labels, genreCount, [DECISION_THRESHOLD])[0];
  const thresholds: number[] = [];
  const f1: number[] = [];
  for (let g = 0; g < genreCount; g++) {
    let best = 0;
    for (let t = 1; t < grid.length; t++) {
      const better = table[t][g] > table[best][g];
      const tie = table[t][g] === table[best][g];
      const closer = Math.abs(grid[t] - DECISION_THRESHOLD) < Math.abs(grid[best] - DECISION_THRESHOLD);
      if (better || (tie && closer)) best = t;
    }
    thresholds.push(grid[best]);
    f1.push(table[best][g]);
  }
  return { thresholds, f1, f1AtDefault: atDefault };
}

/** `k` folds of `n` rows: a seeded shuffle dealt round-robin (fold sizes differ by at most 1). */
export function kFolds(n: number, k: number, seed: number): number[][] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`need at least 2 folds, got ${k}`);
  if (n < k) throw new RangeError(`${n} films cannot make ${k} folds`);
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  );
  const folds: number[][] = Array.from({ length: k }, () => []);
  order.forEach((row, i) => folds[i % k].push(row));
  return folds.map((fold) => fold.sort((a, b) => a - b));
}

export interface SetF1 {
  microF1: number;
  macroF1: number;
}

export interface ThresholdFold {
  /** Chosen on the other folds. */
  thresholds: number[];
  films: number;
  /** On this fold's films, which the choice did not see. */
  atDefault: SetF1;
  tuned: SetF1;
}

export interface ThresholdCrossValidation {
  folds: ThresholdFold[];
  /** Every training film judged once, with the thresholds chosen without it. */
  outOfFold: { atDefault: SetF1 & { perGenreF1: number[] }; tuned: SetF1 & { perGenreF1: number[] } };
}

const setF1 = (m: PredictionMetrics): SetF1 => ({ microF1: m.microF1, macroF1: m.macroF1 });

/**
 * k-fold cross-validation of `tuneThresholds` on the training films: thresholds chosen on k − 1
 * folds, judged on the held-out fold, against 0.5 on the same films.
 */
export function crossValidateThresholds(
  probabilities: Values,
  labels: Values,
  genres: readonly string[],
  folds: readonly (readonly number[])[],
  grid: readonly number[] = THRESHOLD_GRID,
): ThresholdCrossValidation {
  const genreCount = genres.length;
  const films = rowCount(probabilities, genreCount);
  const decisions = new Float64Array(films * genreCount);
  const seen = new Uint8Array(films);
  const results = folds.map((heldOut) => {
    const held = new Set(heldOut);
    const rest = Array.from({ length: films }, (_, i) => i).filter((i) => !held.has(i));
    const choice = tuneThresholds(selectRows(probabilities, genreCount, rest), selectRows(labels, genreCount, rest), genreCount, grid);
    const p = selectRows(probabilities, genreCount, heldOut);
    const y = selectRows(labels, genreCount, heldOut);
    for (const row of heldOut) {
      if (seen[row]) throw new RangeError(`film row ${row} is in two folds`);
      seen[row] = 1;
      for (let g = 0; g < genreCount; g++) decisions[row * genreCount + g] = probabilities[row * genreCount + g] > choice.thresholds[g] ? 1 : 0;
    }
    return {
      thresholds: choice.thresholds,
      films: heldOut.length,
      atDefault: setF1(predictionMetrics(p, y, genres)),
      tuned: setF1(predictionMetrics(p, y, genres, choice.thresholds)),
    };
  });
  if (seen.some((s) => s === 0)) throw new RangeError('the folds do not cover every film');
  // The pooled out-of-fold decisions (0/1) are scored as probabilities at 0.5: 1 > 0.5, 0 is not.
  const tuned = predictionMetrics(decisions, labels, genres);
  const atDefault = predictionMetrics(probabilities, labels, genres);
  return {
    folds: results,
    outOfFold: {
      atDefault: { ...setF1(atDefault), perGenreF1: atDefault.perGenre.map((g) => g.f1) },
      tuned: { ...setF1(tuned), perGenreF1: tuned.perGenre.map((g) => g.f1) },
    },
  };
}

// --- Late fusion -----------------------------------------------------------------------------

/** w·a + (1 − w)·b, cell by cell. */
export function fuse(a: Values, b: Values, w: number): Float64Array {
  if (a.length !== b.length) throw new RangeError(`cannot fuse ${a.length} and ${b.length} probabilities`);
  if (!(w >= 0 && w <= 1)) throw new RangeError(`fusion weight must be in [0, 1], got ${w}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = w * a[i] + (1 - w) * b[i];
  return out;
}

export interface FusionChoice {
  /** The weight of `a` (the CNN) with the lowest loss; ties go to the weight closest to 0.5. */
  weight: number;
  curve: { weight: number; loss: number }[];
}

/** The loss of the fusion at each weight of `grid` (to show; the choice is `chooseFusionWeight`'s). */
export function fusionLossCurve(a: Values, b: Values, labels: Values, grid: readonly number[] = FUSION_GRID): { weight: number; loss: number }[] {
  return grid.map((weight) => ({ weight, loss: binaryCrossEntropy(fuse(a, b, weight), labels) }));
}

/** Chooses the fusion weight minimising binary cross-entropy on the given (training) films. */
export function chooseFusionWeight(a: Values, b: Values, labels: Values, grid: readonly number[] = FUSION_GRID): FusionChoice {
  if (grid.length === 0) throw new RangeError('empty fusion grid');
  const curve = fusionLossCurve(a, b, labels, grid);
  let best = curve[0];
  for (const point of curve.slice(1)) {
    if (point.loss < best.loss || (point.loss === best.loss && Math.abs(point.weight - 0.5) < Math.abs(best.weight - 0.5))) best = point;
  }
  return { weight: best.weight, curve };
}

// --- Everything chosen on the training films, then scored on the validation films ----------------

/**
 * The two models' and the learned fusion's probabilities and the true labels of one split (films ×
 * genres). On the training films, `gmu` is out-of-fold (cross-fitted; see pipeline/lib/gmu/gmu.ts).
 */
export interface SplitScores {
  labels: Values;
  cnn: Values;
  lstm: Values;
  gmu: Values;
  /** The strong profile's probabilities (out-of-fold on the training films), when it ran. */
  strong?: Partial<Record<StrongClassifierId, Values>>;
}

export interface TrainingChoices {
  genreCount: number;
  priors: number[];
  /** The two most frequent training genres, most frequent first. */
  mostFrequent: number[];
  fusion: FusionChoice & { foldWeights: number[] };
  /** Every classifier with probabilities: the coursework's always, the strong ones when they ran. */
  thresholds: Partial<Record<TunedClassifierId, ThresholdChoice & { crossValidation: ThresholdCrossValidation }>>;
  /** The decision rule (1–3 genres; shared and per-genre thresholds) of the same classifiers. */
  rules: Partial<Record<TunedClassifierId, DecisionRule>>;
  folds: number;
}

/**
 * Every choice of the analysis — baseline genres and priors, the fusion weight, per-genre
 * thresholds — made from the training films alone: this function is never given validation data.
 */
export function chooseOnTraining(train: SplitScores, genres: readonly string[], seed: number, k = THRESHOLD_FOLDS): TrainingChoices {
  const genreCount = genres.length;
  const films = rowCount(train.labels, genreCount);
  for (const [name, values] of [['cnn', train.cnn], ['lstm', train.lstm], ['gmu', train.gmu], ...Object.entries(train.strong ?? {})] as const) {
    if (values.length !== train.labels.length) throw new RangeError(`${name}: ${values.length} training probabilities for ${train.labels.length} labels`);
  }
  const folds = kFolds(films, Math.min(k, films), seed);
  const fusion = chooseFusionWeight(train.cnn, train.lstm, train.labels);
  const foldWeights = folds.map((heldOut) => {
    const held = new Set(heldOut);
    const rest = Array.from({ length: films }, (_, i) => i).filter((i) => !held.has(i));
    const pick = (values: Values) => selectRows(values, genreCount, rest);
    return chooseFusionWeight(pick(train.cnn), pick(train.lstm), pick(train.labels)).weight;
  });
  const fused = fuse(train.cnn, train.lstm, fusion.weight);
  const probabilistic: Partial<Record<TunedClassifierId, Values>> = { cnn: train.cnn, lstm: train.lstm, fusion: fused, gmu: train.gmu, ...train.strong };
  const tuned = (probabilities: Values) => ({
    ...tuneThresholds(probabilities, train.labels, genreCount),
    crossValidation: crossValidateThresholds(probabilities, train.labels, genres, folds),
  });
  return {
    genreCount,
    priors: genreFrequencies(train.labels, genreCount),
    mostFrequent: mostFrequentGenres(train.labels, genreCount, 2),
    fusion: { ...fusion, foldWeights },
    thresholds: Object.fromEntries(Object.entries(probabilistic).map(([id, p]) => [id, tuned(p)])),
    rules: Object.fromEntries(Object.entries(probabilistic).map(([id, p]) => [id, chooseDecisionRule(p, train.labels, genreCount)])),
    folds: folds.length,
  };
}

/**
 * What scoring needs of the training choices: analysis.json records all of it, so `evaluate`
 * (./evaluate.ts) scores a test set with exactly the decisions the analysis made.
 */
export interface ScoringChoices {
  genreCount: number;
  priors: number[];
  mostFrequent: number[];
  fusion: { weight: number };
  thresholds: Partial<Record<TunedClassifierId, { thresholds: number[] }>>;
  rules: Partial<Record<TunedClassifierId, Pick<DecisionRule, 'shared' | 'perGenre'>>>;
}

export interface ClassifierResults {
  id: ClassifierId;
  kind: 'model' | 'fusion' | 'strong' | 'baseline';
  /** The decisions of the headline figures: 0.5 (the coursework's, and the baselines') or the decision rule (strong models). */
  headline: 'default' | 'decided';
  /** The validation films' probabilities (or 0/1 decisions of a hard baseline) it was scored on. */
  probabilities: Values;
  scores: ScoreMetrics;
  atDefault: PredictionMetrics;
  /** At the per-genre thresholds chosen on the training films (models and fusion only). */
  tuned: PredictionMetrics | null;
  /** With the decision rule chosen on the training films: shared threshold (micro) and per-genre (macro); null for baselines. */
  decided: {
    rule: Pick<DecisionRule, 'shared' | 'perGenre'>;
    shared: PredictionMetrics;
    perGenre: PredictionMetrics;
    decisions: { micro: Uint8Array; macro: Uint8Array };
  } | null;
}

/** Scores every classifier (models, late and learned fusion, baselines) on the validation films with the training choices. */
export function validationResults(validation: SplitScores, genres: readonly string[], choices: ScoringChoices): ClassifierResults[] {
  const genreCount = genres.length;
  if (choices.genreCount !== genreCount) throw new RangeError(`the choices are for ${choices.genreCount} genres, not ${genreCount}`);
  const films = rowCount(validation.labels, genreCount);
  const result = (id: ClassifierId, kind: ClassifierResults['kind'], probabilities: Values, probabilistic: boolean): ClassifierResults => {
    if (probabilities.length !== validation.labels.length)
      throw new RangeError(`${id}: ${probabilities.length} probabilities for ${validation.labels.length} labels`);
    const thresholds = kind === 'baseline' ? null : choices.thresholds[id as TunedClassifierId]!.thresholds;
    const rule = kind === 'baseline' ? null : choices.rules[id as TunedClassifierId]!;
    const decisions = rule ? ruleDecisions(probabilities, genreCount, rule) : null;
    return {
      id,
      kind,
      headline: kind === 'strong' ? 'decided' : 'default',
      probabilities,
      scores: scoreMetrics(probabilities, validation.labels, genreCount, { probabilistic }),
      atDefault: predictionMetrics(probabilities, validation.labels, genres),
      tuned: thresholds ? predictionMetrics(probabilities, validation.labels, genres, thresholds) : null,
      // 0/1 decisions are scored as probabilities at 0.5 (1 > 0.5; 0 is not).
      decided:
        rule && decisions
          ? {
              rule,
              decisions,
              shared: predictionMetrics(decisions.micro, validation.labels, genres),
              perGenre: predictionMetrics(decisions.macro, validation.labels, genres),
            }
          : null,
    };
  };
  const strong = (['text-linear', 'poster-linear', 'stacked'] as const).flatMap((id) => {
    const p = validation.strong?.[id];
    if (!p) return [];
    if (!choices.thresholds[id]) throw new RangeError(`${id}: validation probabilities without training choices`);
    return [result(id, 'strong', p, true)];
  });
  const [first, second] = choices.mostFrequent;
  return [
    result('cnn', 'model', validation.cnn, true),
    result('lstm', 'model', validation.lstm, true),
    result('fusion', 'fusion', fuse(validation.cnn, validation.lstm, choices.fusion.weight), true),
    result('gmu', 'fusion', validation.gmu, true),
    ...strong,
    result('genre-priors', 'baseline', constantPredictions(choices.priors, films), true),
    result('most-frequent', 'baseline', constantPredictions(indicatorRow([first], genreCount), films), false),
    result(
      'two-most-frequent',
      'baseline',
      constantPredictions(
        indicatorRow(
          [first, second].filter((g) => g !== undefined),
          genreCount,
        ),
        films,
      ),
      false,
    ),
    // Every genre for every film: recall 1; the best a constant can do on macro F1 when genres are rare.
    result('every-genre', 'baseline', constantPredictions(new Array<number>(genreCount).fill(1), films), false),
  ];
}
