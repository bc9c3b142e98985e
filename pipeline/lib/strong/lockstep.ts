/**
 * Fits that step together: each genre's fit is a generator that yields when it needs one of a few
 * fixed matrices times a vector (./logistic.ts `ProductRequest`) and resumes with the product. The
 * fits of a path job run side by side, and the products of every fit waiting on the same matrix are
 * one float64 matrix product, their vectors as its columns: a matrix read once for every genre, on
 * ONNX Runtime's kernels (./span-logistic.ts, ./dense-logistic.ts).
 */
import { loadNativeGemm64, nativeKernelsWanted, type Gemm64 } from '../engine/native-kernels.ts';
import { fitSettings, type FitReport, type LogisticModel, type LogisticOptions, type ProductRequest } from './logistic.ts';

/**
 * How a path of logistic fits is solved: 'primal', each genre on its own in JavaScript (./logistic.ts);
 * 'native', the genres together with ONNX Runtime's products, in the span of the rows when they are
 * fewer than the columns (./span-logistic.ts), else on dense rows (./dense-logistic.ts).
 */
export type LogisticSolver = 'primal' | 'native';

let loadedGemm: Gemm64 | null = null;

/** This thread's native float64 product (loaded once); throws when ONNX Runtime cannot be used. */
export function nativeGemm64(): Gemm64 {
  return (loadedGemm ??= loadNativeGemm64());
}

/**
 * 'native' when ONNX Runtime's float64 product loads here (and GENRELENS_NATIVE_KERNELS is not 0),
 * else 'primal'. The two agree to rounding, not to the bit.
 */
export function logisticSolver(): LogisticSolver {
  if (!nativeKernelsWanted()) return 'primal';
  try {
    nativeGemm64();
    return 'native';
  } catch {
    return 'primal';
  }
}

/** A row-major float64 matrix. */
export interface DenseMatrix {
  values: Float64Array;
  rows: number;
  columns: number;
}

/** Runs the fits to their ends, making their products together; returns their results in order. */
export function runTogether<R>(fits: Generator<ProductRequest, R, Float64Array>[], matrices: readonly DenseMatrix[], gemm: Gemm64): R[] {
  const results = new Array<R>(fits.length);
  let waiting = fits.map((fit, index) => ({ fit, index, step: fit.next() }));
  for (;;) {
    const open: { fit: Generator<ProductRequest, R, Float64Array>; index: number; request: ProductRequest }[] = [];
    for (const { fit, index, step } of waiting) {
      if (step.done) results[index] = step.value;
      else open.push({ fit, index, request: step.value });
    }
    if (open.length === 0) return results;
    waiting = [];
    for (const [which, matrix] of matrices.entries()) {
      const group = open.filter((entry) => entry.request.matrix === which);
      if (group.length === 0) continue;
      const { values, rows, columns } = matrix;
      const width = group.length;
      const packed = new Float64Array(columns * width);
      group.forEach(({ request }, j) => {
        if (request.vector.length !== columns) throw new RangeError(`a product with a ${request.vector.length}-vector for a ${rows} × ${columns} matrix`);
        for (let r = 0; r < columns; r++) packed[r * width + j] = request.vector[r];
      });
      const product = new Float64Array(rows * width);
      gemm(values, packed, product, rows, columns, width);
      group.forEach(({ fit, index }, j) => {
        const column = new Float64Array(rows);
        for (let r = 0; r < rows; r++) column[r] = product[r * width + j];
        waiting.push({ fit, index, step: fit.next(column) });
      });
    }
    if (waiting.length !== open.length)
      throw new RangeError(`a fit asked for a product with matrix ${open.find((e) => !matrices[e.request.matrix])?.request.matrix}, of ${matrices.length}`);
  }
}

/** One genre's fit from its point (updated in place) with the settings of one C. */
export type GenreFit = (
  point: Float64Array,
  genre: number,
  settings: Required<LogisticOptions>,
) => Generator<ProductRequest, { iterations: number; converged: boolean }, Float64Array>;

/**
 * A path along the ascending `grid` of C for `genres` genres stepping together: each genre's fit
 * starts from its point at the last C (warm start; zeros at the first), `fit` makes it, and
 * `modelOf` turns the genres' points into the model of each C.
 */
export function fitPathTogether(
  genres: number,
  pointLength: number,
  grid: readonly number[],
  options: Omit<LogisticOptions, 'c'>,
  fit: GenreFit,
  matrices: readonly DenseMatrix[],
  gemm: Gemm64,
  modelOf: (points: readonly Float64Array[]) => LogisticModel,
): { models: LogisticModel[]; reports: FitReport[] } {
  const points = Array.from({ length: genres }, () => new Float64Array(pointLength));
  const models: LogisticModel[] = [];
  const reports: FitReport[] = [];
  for (const c of grid) {
    const settings = fitSettings({ ...options, c });
    const results = runTogether(
      points.map((point, g) => fit(point, g, settings)),
      matrices,
      gemm,
    );
    reports.push({ iterations: results.map((r) => r.iterations), converged: results.map((r) => r.converged) });
    models.push(modelOf(points));
  }
  return { models, reports };
}
