/**
 * Choosing a linear model's regularisation by k-fold cross-validation on the training films only.
 * The work is a list of path jobs (`runPathJob`): each fold's model fitted along the grid of C
 * from the strongest regularisation up, each fit warm-started from the last, scoring the fold's
 * films; and the same path on every training film, whose model at the chosen C is the final one.
 * The jobs are independent, so a pool of worker threads (./workers/path-pool.ts) can run them on
 * every core; run inline or in workers, they compute the same numbers. The chosen C has the lowest
 * out-of-fold binary cross-entropy (a proper score, independent of any threshold); those
 * out-of-fold probabilities are what the stacked fusion and the decision thresholds learn from, so
 * no training film is ever judged by a model fitted on it.
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
}

/** One path along the grid of C: on the rows outside `heldOut` (scoring them), or on every row (`heldOut` null). */
export interface PathJob {
  /** Which registered matrix the job fits (./workers/path-pool.ts `register`). */
  matrix: string;
  heldOut: number[] | null;
  grid: number[];
}

/** Per C of the grid: the held-out rows' probabilities (a fold), or the model (the path on every row). */
export type PathResult = { probabilities: Float64Array[] } | { models: LogisticModel[] };

/** Runs path jobs (inline, or on a pool of worker threads) and returns their results in order. */
export type PathRunner = (jobs: PathJob[]) => Promise<PathResult[]>;

function checkGrid(grid: readonly number[]): void {
  if (grid.length === 0 || grid.some((c, i) => i > 0 && c <= grid[i - 1])) throw new RangeError(`the grid of C must ascend: ${grid.join(', ')}`);
}

/** One path job, computed here (pure). */
export function runPathJob(x: SparseRows, labels: ArrayLike<number>, genres: number, heldOut: readonly number[] | null, grid: readonly number[]): PathResult {
  checkGrid(grid);
  const held = new Set(heldOut ?? []);
  const rest = Array.from({ length: x.rows }, (_, i) => i).filter((i) => !held.has(i));
  const train = heldOut ? selectSparseRows(x, rest) : x;
  const trainLabels = heldOut ? selectRows(labels, genres, rest) : labels;
  const models: LogisticModel[] = [];
  let previous: LogisticModel | undefined;
  for (const c of grid) {
    previous = fitLogistic(train, trainLabels, genres, { c }, previous).model;
    models.push(previous);
  }
  if (!heldOut) return { models };
  const test = selectSparseRows(x, heldOut);
  return { probabilities: models.map((model) => logisticProbabilities(model, test)) };
}

/** Runs the jobs one after the other in this thread (`matrices` may gain entries later, as the pool's `register`). */
export function inlineRunner(matrices: Record<string, SparseRows>, labels: ArrayLike<number>, genres: number, onJobDone: () => void = () => {}): PathRunner {
  return async (jobs) =>
    jobs.map((job) => {
      const result = runPathJob(matrices[job.matrix], labels, genres, job.heldOut, job.grid);
      onJobDone();
      return result;
    });
}

/**
 * Cross-validates C over `grid` (ascending) on the registered matrix `matrix` (training rows × features)
 * with `labels` (films × genres), and fits the final model at the chosen C on every row.
 */
export async function crossValidateLogistic(
  run: PathRunner,
  matrix: string,
  rows: number,
  labels: ArrayLike<number>,
  genres: number,
  folds: readonly (readonly number[])[],
  grid: readonly number[],
): Promise<{ cv: LinearCrossValidation; model: LogisticModel }> {
  checkGrid(grid);
  const jobs: PathJob[] = [...folds.map((heldOut) => ({ matrix, heldOut: [...heldOut], grid: [...grid] })), { matrix, heldOut: null, grid: [...grid] }];
  const results = await run(jobs);
  const outOfFold = grid.map(() => new Float64Array(rows * genres));
  folds.forEach((heldOut, f) => {
    const result = results[f];
    if (!('probabilities' in result)) throw new Error(`path job ${f} returned models, not probabilities`);
    grid.forEach((_, k) => heldOut.forEach((row, i) => outOfFold[k].set(result.probabilities[k].subarray(i * genres, (i + 1) * genres), row * genres)));
  });
  const final = results[folds.length];
  if (!('models' in final)) throw new Error('the path on every row returned no models');
  const points = grid.map((c, k) => ({ c, loss: binaryCrossEntropy(outOfFold[k], labels), meanAP: meanAveragePrecision(outOfFold[k], labels, genres) }));
  let best = 0;
  points.forEach((p, k) => (best = p.loss < points[best].loss ? k : best));
  return { cv: { c: grid[best], grid: points, outOfFold: outOfFold[best] }, model: final.models[best] };
}
