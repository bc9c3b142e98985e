/**
 * Choosing a linear model's regularisation by k-fold cross-validation on the training films only.
 * The work is a list of path jobs (`runPathJob`): each fold's model fitted along the grid of C
 * from the strongest regularisation up, each fit warm-started from the last, scoring the fold's
 * films; and the same path on every training film, whose model at the chosen C is the final one.
 * With the primal solver each path is split by genre too (one-vs-rest: the genres' fits are
 * independent), so that the jobs are small and many, and the cores stay busy to the end; with the
 * native one (./lockstep.ts) a path is one job whose genres step together, sharing their products.
 * The jobs are independent, so a pool of worker threads (./workers/path-pool.ts) can run them on
 * every core; run inline or in workers, they compute the same numbers. The chosen C has the lowest
 * out-of-fold binary cross-entropy (a proper score, independent of any threshold); those
 * out-of-fold probabilities are what the stacked fusion and the decision thresholds learn from, so
 * no training film is ever judged by a model fitted on it.
 */
import { binaryCrossEntropy } from '../core/metrics.ts';
import { meanAveragePrecision } from '../analysis/analysis.ts';
import { fitLogistic, isDense, logisticProbabilities, type LogisticModel } from './logistic.ts';
import { selectSparseRows, type SparseRows } from './sparse.ts';
import { fitLogisticPathInSpan, gramMatrix, gramRows } from './span-logistic.ts';
import { fitLogisticPathDense } from './dense-logistic.ts';
import { nativeGemm64, type LogisticSolver } from './lockstep.ts';

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
  /** The genre columns [from, to) it fits; the results have only those. */
  genres: [number, number];
  /** 'native': the genres together, with ONNX Runtime's products (./lockstep.ts). */
  solver: LogisticSolver;
}

/** Genres per path job: 25 genres make 5 jobs per path. */
export const PATH_JOB_GENRES = 5;

/** Per C of the grid: the held-out rows' probabilities (a fold), or the model (the path on every row). */
export type PathResult = { probabilities: Float64Array[] } | { models: LogisticModel[] };

/** Runs path jobs (inline, or on a pool of worker threads) and returns their results in order. */
export type PathRunner = (jobs: PathJob[]) => Promise<PathResult[]>;

function checkGrid(grid: readonly number[]): void {
  if (grid.length === 0 || grid.some((c, i) => i > 0 && c <= grid[i - 1])) throw new RangeError(`the grid of C must ascend: ${grid.join(', ')}`);
}

/** One path job, computed here (pure): the genres `range` of `labels` (rows × `genres`). */
export function runPathJob(
  x: SparseRows,
  labels: ArrayLike<number>,
  genres: number,
  heldOut: readonly number[] | null,
  grid: readonly number[],
  range: readonly [number, number] = [0, genres],
  solver: LogisticSolver = 'primal',
): PathResult {
  checkGrid(grid);
  const [from, to] = range;
  if (!(from >= 0 && from < to && to <= genres)) throw new RangeError(`genres ${from}..${to} outside 0..${genres}`);
  const held = new Set(heldOut ?? []);
  const rest = Array.from({ length: x.rows }, (_, i) => i).filter((i) => !held.has(i));
  const train = heldOut ? selectSparseRows(x, rest) : x;
  const width = to - from;
  const trainLabels = new Uint8Array(rest.length * width);
  rest.forEach((row, i) => {
    for (let g = from; g < to; g++) trainLabels[i * width + g - from] = labels[row * genres + g] ? 1 : 0;
  });
  const models: LogisticModel[] = [];
  if (solver === 'native' && train.rows < train.columns) {
    const gram = gramOf(x);
    models.push(...fitLogisticPathInSpan(train, heldOut ? gramRows(gram, x.rows, rest) : gram, trainLabels, width, grid, nativeGemm64()).models);
  } else if (solver === 'native' && isDense(train)) {
    models.push(...fitLogisticPathDense(train, trainLabels, width, grid, nativeGemm64()).models);
  } else {
    let previous: LogisticModel | undefined;
    for (const c of grid) {
      previous = fitLogistic(train, trainLabels, width, { c }, previous).model;
      models.push(previous);
    }
  }
  if (!heldOut) return { models };
  const test = selectSparseRows(x, heldOut);
  return { probabilities: models.map((model) => logisticProbabilities(model, test)) };
}

const grams = new WeakMap<SparseRows, Float64Array>();

/** The Gram matrix of a registered matrix, computed once per thread and kept while the matrix is. */
function gramOf(x: SparseRows): Float64Array {
  let gram = grams.get(x);
  if (!gram) grams.set(x, (gram = gramMatrix(x)));
  return gram;
}

/** [from, to) ranges of at most PATH_JOB_GENRES genres covering 0..genres. */
function genreRanges(genres: number, size = PATH_JOB_GENRES): [number, number][] {
  return Array.from({ length: Math.ceil(genres / size) }, (_, i) => [i * size, Math.min(genres, (i + 1) * size)]);
}

/** The genre ranges of one path's jobs: every genre in one job for the native solver (they share products), else `genreRanges`. */
export function pathRanges(genres: number, solver: LogisticSolver): [number, number][] {
  return solver === 'native' ? [[0, genres]] : genreRanges(genres);
}

/** Runs the jobs one after the other in this thread (`matrices` may gain entries later, as the pool's `register`). */
export function inlineRunner(matrices: Record<string, SparseRows>, labels: ArrayLike<number>, genres: number, onJobDone: () => void = () => {}): PathRunner {
  return async (jobs) =>
    jobs.map((job) => {
      const result = runPathJob(matrices[job.matrix], labels, genres, job.heldOut, job.grid, job.genres, job.solver);
      onJobDone();
      return result;
    });
}

/**
 * Cross-validates C over `grid` (ascending) on the registered matrix `matrix` (training rows × features)
 * with `labels` (films × genres), and fits the final model at the chosen C on every row. With the
 * native solver each path is one job of every genre: the genres step together, sharing products.
 */
export async function crossValidateLogistic(
  run: PathRunner,
  matrix: string,
  rows: number,
  labels: ArrayLike<number>,
  genres: number,
  folds: readonly (readonly number[])[],
  grid: readonly number[],
  solver: LogisticSolver = 'primal',
): Promise<{ cv: LinearCrossValidation; model: LogisticModel }> {
  checkGrid(grid);
  const ranges = pathRanges(genres, solver);
  // The paths on every row first: the largest jobs, so that none runs alone at the end.
  const jobs: PathJob[] = [
    ...ranges.map((range) => ({ matrix, heldOut: null, grid: [...grid], genres: range, solver })),
    ...folds.flatMap((heldOut) => ranges.map((range) => ({ matrix, heldOut: [...heldOut], grid: [...grid], genres: range, solver }))),
  ];
  const results = await run(jobs);
  const outOfFold = grid.map(() => new Float64Array(rows * genres));
  const finals = grid.map(() => ({ weights: new Float64Array(0), bias: new Float64Array(genres), features: 0, genres }) as LogisticModel);
  jobs.forEach((job, index) => {
    const result = results[index];
    const [from, to] = job.genres;
    const width = to - from;
    if (job.heldOut === null) {
      if (!('models' in result)) throw new Error('a path on every row returned no models');
      result.models.forEach((part, k) => {
        const model = finals[k];
        if (model.features === 0) Object.assign(model, { weights: new Float64Array(part.features * genres), features: part.features });
        for (let j = 0; j < part.features; j++) model.weights.set(part.weights.subarray(j * width, (j + 1) * width), j * genres + from);
        model.bias.set(part.bias, from);
      });
    } else {
      if (!('probabilities' in result)) throw new Error(`path job ${index} returned models, not probabilities`);
      grid.forEach((_, k) =>
        job.heldOut!.forEach((row, i) => outOfFold[k].set(result.probabilities[k].subarray(i * width, (i + 1) * width), row * genres + from)),
      );
    }
  });
  const points = grid.map((c, k) => ({ c, loss: binaryCrossEntropy(outOfFold[k], labels), meanAP: meanAveragePrecision(outOfFold[k], labels, genres) }));
  let best = 0;
  points.forEach((p, k) => (best = p.loss < points[best].loss ? k : best));
  return { cv: { c: grid[best], grid: points, outOfFold: outOfFold[best] }, model: finals[best] };
}
