/**
 * The logistic regression of ./logistic.ts, fitted in the span of the training rows: for features
 * wider than the films (the overviews' TF-IDF has some 63,000 columns for 3,600 films a fold).
 *
 * Why it is the same fit: from w = 0, or a warm start in the span, every vector L-BFGS makes (the
 * gradient Xᵀ(C·e) + w, the steps, their differences) is Xᵀβ for some β over the rows. So each is
 * kept as (β, K·β, intercept), K = X·Xᵀ the rows' Gram matrix; inner products are β·(K·β') plus the
 * intercepts', linear steps act on all three parts, and the scores X·w + b are K·β + b. One step
 * needs one product K·(C·e) per genre, and the genres of a job step together so that their
 * products are one float64 matrix product (ONNX Runtime's, on the machine's vector units), where the
 * primal solver passes twice over the sparse rows and ten times over 63,000-long vectors per genre.
 * The iterates are those of ./logistic.ts in exact arithmetic; in floating point they agree to
 * rounding (tests/strong/span-logistic.test.ts compares the two). Only the stopping test needs the
 * gradient's components (Xᵀβ): when ‖gradient‖₂ cannot decide it, they are computed one column at a
 * time until one exceeds the tolerance. On the shared data's overviews one fold's path of 25 genres
 * took 6.5 s against 23.5 s (`npm run bench:strong` measures the whole stage).
 */
import {
  descentDirection,
  genreLabels,
  logisticResiduals,
  minimise,
  type FitReport,
  type LogisticModel,
  type LogisticOptions,
  type ProductRequest,
  type VectorSpace,
} from './logistic.ts';
import { fitPathTogether } from './lockstep.ts';
import type { SparseRows } from './sparse.ts';
import type { Gemm64 } from '../engine/native-kernels.ts';

/**
 * The rows' Gram matrix K = X·Xᵀ (rows × rows, float64, symmetric), column by column: each column
 * adds its values' products to the pairs of rows it holds. On TF-IDF rows that is a tenth of the
 * products of row-by-row dot products (Σ df² / 2 against rows² × non-zeros per row / 2).
 */
export function gramMatrix(x: SparseRows): Float64Array {
  const n = x.rows;
  const columns = columnsOf(x);
  const gram = new Float64Array(n * n);
  for (let j = 0; j < x.columns; j++) {
    const from = columns.start[j];
    const to = columns.start[j + 1];
    for (let a = from; a < to; a++) {
      const row = columns.rows[a] * n;
      const v = columns.values[a];
      for (let b = from; b <= a; b++) gram[row + columns.rows[b]] += v * columns.values[b];
    }
  }
  // Rows ascend within a column: the products filled the lower triangle.
  for (let r = 0; r < n; r++) for (let q = 0; q < r; q++) gram[q * n + r] = gram[r * n + q];
  return gram;
}

/** K restricted to `rows` (in that order): rows.length² values. */
export function gramRows(gram: Float64Array, n: number, rows: readonly number[]): Float64Array {
  const m = rows.length;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const from = rows[i] * n;
    for (let j = 0; j < m; j++) out[i * m + j] = gram[from + rows[j]];
  }
  return out;
}

/** out = a·b in plain loops (tests; far slower than ONNX Runtime's at the shared data's size). */
export const gemm64InJs: Gemm64 = (a, b, out, m, k, n) => {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += v * b[p * n + j];
    }
  }
};

/**
 * A vector of the fit, 2n + 1 values: β (n), K·β (n), the intercept. `spanDot` is the inner product
 * of the vectors Xᵀβ (with their intercepts) that they stand for.
 */
function spanDot(u: Float64Array, v: Float64Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += u[i] * v[n + i];
  return sum + u[2 * n] * v[2 * n];
}

/** The rows' columns (compressed sparse columns, rows ascending): a gradient's components one at a time. */
interface Columns {
  start: Int32Array;
  rows: Int32Array;
  values: Float32Array;
}

function columnsOf(x: SparseRows): Columns {
  const start = new Int32Array(x.columns + 1);
  for (let k = 0; k < x.indices.length; k++) start[x.indices[k] + 1]++;
  for (let j = 0; j < x.columns; j++) start[j + 1] += start[j];
  const next = start.slice(0, x.columns);
  const rows = new Int32Array(x.indices.length);
  const values = new Float32Array(x.indices.length);
  for (let r = 0; r < x.rows; r++) {
    for (let k = x.rowStart[r]; k < x.rowStart[r + 1]; k++) {
      const at = next[x.indices[k]]++;
      rows[at] = r;
      values[at] = x.values[k];
    }
  }
  return { start, rows, values };
}

/** Component j of Xᵀβ for the span vector `u` (summed in row order, as a pass over the rows would). */
function component(columns: Columns, u: Float64Array, j: number): number {
  let sum = 0;
  for (let k = columns.start[j]; k < columns.start[j + 1]; k++) sum += u[columns.rows[k]] * columns.values[k];
  return sum;
}

/** The largest |component| of the vector (Xᵀβ, intercept) that `u` stands for. */
function largestComponent(columns: Columns, u: Float64Array): number {
  const d = columns.start.length - 1;
  let m = Math.abs(u[u.length - 1]);
  for (let j = 0; j < d; j++) m = Math.max(m, Math.abs(component(columns, u, j)));
  return m;
}

/**
 * Whether max |gradient component| ≤ `limit` (the stopping test of ./logistic.ts). From ‖gradient‖₂
 * when that decides it (‖g‖∞ ≤ ‖g‖₂ ≤ √columns·‖g‖∞, with a margin for rounding); else component by
 * component, the one that exceeded the limit last time first (`hint`), stopping at the first that does.
 */
function largestAtMost(columns: Columns, g: Float64Array, limit: number, hint: { column: number }): boolean {
  const n = (g.length - 1) / 2;
  const d = columns.start.length - 1;
  const norm = Math.sqrt(Math.max(0, spanDot(g, g, n)));
  if (norm <= limit * (1 - 1e-9)) return true;
  if (norm > limit * Math.sqrt(d + 1) * (1 + 1e-9)) return false;
  if (Math.abs(g[2 * n]) > limit || Math.abs(component(columns, g, hint.column)) > limit) return false;
  for (let j = 0; j < d; j++) {
    if (Math.abs(component(columns, g, j)) > limit) {
      hint.column = j;
      return false;
    }
  }
  return true;
}

/**
 * L-BFGS' two-loop recursion in span vectors of `n` rows (./logistic.ts `descentDirection`): direction =
 * −H·grad, returning the slope; with no pairs yet, H₀ = `firstScale(grad)`·I.
 */
function spanDirection(n: number, firstScale: (grad: Float64Array) => number): typeof descentDirection {
  return (grad, s, t, rho, alpha, direction) => {
    const m = s.length;
    const gamma = m > 0 ? spanDot(s[m - 1], t[m - 1], n) / spanDot(t[m - 1], t[m - 1], n) : firstScale(grad);
    direction.set(grad);
    for (let i = m - 1; i >= 0; i--) {
      alpha[i] = rho[i] * spanDot(s[i], direction, n);
      const ti = t[i];
      for (let j = 0; j < direction.length; j++) direction[j] -= alpha[i] * ti[j];
    }
    for (let j = 0; j < direction.length; j++) direction[j] *= gamma;
    for (let i = 0; i < m; i++) {
      const weight = alpha[i] - rho[i] * spanDot(t[i], direction, n);
      const si = s[i];
      for (let j = 0; j < direction.length; j++) direction[j] += weight * si[j];
    }
    for (let j = 0; j < direction.length; j++) direction[j] = -direction[j];
    return spanDot(grad, direction, n);
  };
}

/**
 * One genre's fit from `w` (a span vector, updated in place), as ./logistic.ts `minimise`. It asks
 * for K·(C·e) (C times the residuals σ(z) − y at the point it evaluates), so that ./lockstep.ts can
 * make the products of many genres at once.
 */
function* fitOneInSpan(
  columns: Columns,
  y: Uint8Array,
  w: Float64Array,
  options: Required<LogisticOptions>,
): Generator<ProductRequest, { iterations: number; converged: boolean }, Float64Array> {
  const n = y.length;
  const c = options.c;
  const residuals = new Float64Array(n);
  /** The objective at `p`, its gradient into `g`. */
  function* evaluate(p: Float64Array, g: Float64Array): Generator<ProductRequest, number, Float64Array> {
    // The scores X·w are K·β, the point's second part.
    const { loss, residualSum } = logisticResiduals(p.subarray(n, 2 * n), p[2 * n], y, c, residuals);
    const image = yield { matrix: 0, vector: residuals };
    for (let r = 0; r < n; r++) {
      g[r] = residuals[r] + p[r];
      g[n + r] = image[r] + p[n + r];
    }
    g[2 * n] = residualSum;
    let penalty = 0; // ‖w‖² = β·Kβ: the intercept is not penalised
    for (let r = 0; r < n; r++) penalty += p[r] * p[n + r];
    return c * loss + 0.5 * penalty;
  }
  return yield* minimise(w, evaluate, options, spanSpace(columns, n));
}

/** The span vectors of `n` rows as the vector space L-BFGS works in. */
function spanSpace(columns: Columns, n: number): VectorSpace {
  const hint = { column: 0 };
  return {
    dot: (u, v) => spanDot(u, v, n),
    direction: spanDirection(n, (grad) => 1 / Math.max(1, largestComponent(columns, grad))),
    largest: (g) => largestComponent(columns, g),
    largestAtMost: (g, limit) => largestAtMost(columns, g, limit, hint),
  };
}

/**
 * Fits `genres` one-vs-rest models along the ascending `grid` of C on the rows of `x` (labels rows ×
 * genres), each fit warm-started from the last, the genres stepping together: their products K·(C·e)
 * are one `gemm` call per step. Returns each C's model with its weights Xᵀβ, as ./logistic.ts
 * `fitLogistic` would.
 */
export function fitLogisticPathInSpan(
  x: SparseRows,
  gram: Float64Array,
  labels: ArrayLike<number>,
  genres: number,
  grid: readonly number[],
  gemm: Gemm64,
  options: Omit<LogisticOptions, 'c'> = {},
): { models: LogisticModel[]; reports: FitReport[] } {
  const n = x.rows;
  const ys = genreLabels(labels, n, genres);
  if (gram.length !== n * n) throw new RangeError(`a Gram matrix of ${gram.length} values for ${n} rows`);
  const columns = columnsOf(x);
  return fitPathTogether(
    genres,
    2 * n + 1,
    grid,
    options,
    (point, g, settings) => fitOneInSpan(columns, ys[g], point, settings),
    [{ values: gram, rows: n, columns: n }],
    gemm,
    (points) => weightsOf(x, points, genres),
  );
}

/** The model whose weights are Xᵀβ and biases the intercepts of each genre's span vector. */
function weightsOf(x: SparseRows, points: readonly Float64Array[], genres: number): LogisticModel {
  const n = x.rows;
  const d = x.columns;
  const model: LogisticModel = { weights: new Float64Array(d * genres), bias: new Float64Array(genres), features: d, genres };
  const { rowStart, indices, values } = x;
  points.forEach((w, g) => {
    for (let r = 0; r < n; r++) {
      const beta = w[r];
      if (beta !== 0) for (let k = rowStart[r]; k < rowStart[r + 1]; k++) model.weights[indices[k] * genres + g] += beta * values[k];
    }
    model.bias[g] = w[2 * n];
  });
  return model;
}
