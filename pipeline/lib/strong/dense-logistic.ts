/**
 * The logistic regression of ./logistic.ts on dense rows (the poster backbone's 320 features, the
 * stacker's 50 scores), the genres of a path stepping together: each objective evaluation's two
 * products, the scores X·w and the gradient's Xᵀ·(C·e), are one float64 matrix product each for
 * every genre at once (./lockstep.ts), where ./logistic.ts passes over the rows twice per genre in
 * JavaScript. The same L-BFGS (./logistic.ts `minimise`); the products' sums in another order, so the
 * fits agree with ./logistic.ts to rounding, not to the bit (tests/strong/dense-logistic.test.ts).
 */
import type { Gemm64 } from '../engine/native-kernels.ts';
import {
  genreLabels,
  isDense,
  logisticResiduals,
  minimise,
  type FitReport,
  type LogisticModel,
  type LogisticOptions,
  type ProductRequest,
} from './logistic.ts';
import { fitPathTogether, type GenreFit } from './lockstep.ts';
import type { SparseRows } from './sparse.ts';

/**
 * Fits `genres` one-vs-rest models along the ascending `grid` of C on the dense rows `x` (labels
 * rows × genres), each fit warm-started from the last, as ./logistic.ts `fitLogistic` would.
 */
export function fitLogisticPathDense(
  x: SparseRows,
  labels: ArrayLike<number>,
  genres: number,
  grid: readonly number[],
  gemm: Gemm64,
  options: Omit<LogisticOptions, 'c'> = {},
): { models: LogisticModel[]; reports: FitReport[] } {
  const { rows: n, columns: d } = x;
  if (!isDense(x)) throw new RangeError('fitLogisticPathDense needs rows that store every column');
  const ys = genreLabels(labels, n, genres);
  const rowsMatrix = { values: Float64Array.from(x.values), rows: n, columns: d };
  const columnsMatrix = { values: new Float64Array(d * n), rows: d, columns: n };
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) columnsMatrix.values[j * n + r] = x.values[r * d + j];
  /** One genre's fit: the objective of ./logistic.ts, its two products asked for. */
  const fit: GenreFit = (point, g, settings) => {
    const y = ys[g];
    const c = settings.c;
    const residuals = new Float64Array(n); // its own: the genres' requests are read together
    function* evaluate(at: Float64Array, grad: Float64Array): Generator<ProductRequest, number, Float64Array> {
      const scores = yield { matrix: 0, vector: at.subarray(0, d) };
      const { loss, residualSum } = logisticResiduals(scores, at[d], y, c, residuals);
      const products = yield { matrix: 1, vector: residuals };
      let penalty = 0;
      for (let j = 0; j < d; j++) {
        penalty += at[j] * at[j];
        grad[j] = products[j] + at[j];
      }
      grad[d] = residualSum;
      return c * loss + 0.5 * penalty;
    }
    return minimise(point, evaluate, settings);
  };
  return fitPathTogether(genres, d + 1, grid, options, fit, [rowsMatrix, columnsMatrix], gemm, (points) => {
    const model: LogisticModel = { weights: new Float64Array(d * genres), bias: new Float64Array(genres), features: d, genres };
    points.forEach((w, g) => {
      for (let j = 0; j < d; j++) model.weights[j * genres + g] = w[j];
      model.bias[g] = w[d];
    });
    return model;
  });
}
