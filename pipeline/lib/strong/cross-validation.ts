/**
 * Choosing a linear model's regularisation by k-fold cross-validation on the training films only.
 * Each fold's model is fitted along the grid of C from the strongest regularisation up, each fit
 * warm-started from the last; every training film is scored by the model that did not see it. The
 * chosen C has the lowest out-of-fold binary cross-entropy (a proper score, independent of any
 * threshold); those out-of-fold probabilities are what the stacked fusion and the decision
 * thresholds are learnt from, so no training film is ever judged by a model fitted on it.
 */
import { binaryCrossEntropy } from '../core/metrics.ts';
import { meanAveragePrecision, selectRows } from '../analysis/analysis.ts';
import { fitLogistic, logisticProbabilities, type LogisticModel } from './logistic.ts';
import { selectSparseRows, type SparseRows } from './sparse.ts';

export interface CvPoint {
  c: number;
  /** Out-of-fold binary cross-entropy over every training film × genre. */
  loss: number;
  /** Out-of-fold mean average precision over the genres with positives. */
  meanAP: number | null;
}

export interface LinearCrossValidation {
  c: number;
  grid: CvPoint[];
  /** Training films × genres, each row from the fold model that did not see the film (at the chosen C). */
  outOfFold: Float64Array;
  /** The fold models at the chosen C (to warm-start the final fit). */
  foldModels: LogisticModel[];
}

/** Cross-validates C over `grid` (ascending) on the training rows `x` with their `labels` (films × genres). */
export function crossValidateLogistic(
  x: SparseRows,
  labels: Uint8Array,
  genres: number,
  folds: readonly (readonly number[])[],
  grid: readonly number[],
  progress: (done: number, total: number) => void = () => {},
): LinearCrossValidation {
  if ([...grid].some((c, i) => i > 0 && c <= grid[i - 1])) throw new RangeError(`the grid of C must ascend: ${grid.join(', ')}`);
  const outOfFold = grid.map(() => new Float64Array(x.rows * genres));
  const models: LogisticModel[][] = grid.map(() => []);
  let done = 0;
  for (const heldOut of folds) {
    const held = new Set(heldOut);
    const rest = Array.from({ length: x.rows }, (_, i) => i).filter((i) => !held.has(i));
    const train = selectSparseRows(x, rest);
    const trainLabels = selectRows(labels, genres, rest);
    const test = selectSparseRows(x, heldOut);
    let previous: LogisticModel | undefined;
    grid.forEach((c, k) => {
      previous = fitLogistic(train, trainLabels, genres, { c }, previous).model;
      models[k].push(previous);
      const p = logisticProbabilities(previous, test);
      heldOut.forEach((row, i) => outOfFold[k].set(p.subarray(i * genres, (i + 1) * genres), row * genres));
      progress(++done, folds.length * grid.length);
    });
  }
  const points = grid.map((c, k) => ({ c, loss: binaryCrossEntropy(outOfFold[k], labels), meanAP: meanAveragePrecision(outOfFold[k], labels, genres) }));
  let best = 0;
  points.forEach((p, k) => (best = p.loss < points[best].loss ? k : best));
  return { c: grid[best], grid: points, outOfFold: outOfFold[best], foldModels: models[best] };
}

/** The final model on every training row at the chosen C, warm-started from the first fold's. */
export function fitChosen(x: SparseRows, labels: Uint8Array, genres: number, cv: LinearCrossValidation): LogisticModel {
  return fitLogistic(x, labels, genres, { c: cv.c }, cv.foldModels[0]).model;
}
