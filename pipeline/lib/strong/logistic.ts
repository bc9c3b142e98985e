/**
 * L2-regularised logistic regression, one genre at a time (one-vs-rest), on sparse or dense rows.
 * It minimises scikit-learn's objective  C · Σᵢ log(1 + exp(−sᵢ·zᵢ)) + ½‖w‖²  (sᵢ = ±1, zᵢ = w·xᵢ + b,
 * the intercept b not penalised) with L-BFGS and a backtracking (Armijo) line search, stopping when
 * the largest gradient component is below `tolerance` (scikit-learn's lbfgs `tol`, 1e-4). Written
 * here because no npm package fits sparse TF-IDF rows; tests check it against Newton's method.
 */
import type { SparseRows } from './sparse.ts';

export interface LogisticOptions {
  /** Inverse regularisation strength (larger fits the training films more closely). */
  c: number;
  maxIterations?: number;
  tolerance?: number;
  /** L-BFGS memory (pairs kept). */
  memory?: number;
}

export interface LogisticModel {
  /** Feature-major weights: weights[j * genres + g]. */
  weights: Float64Array;
  bias: Float64Array;
  features: number;
  genres: number;
}

export interface FitReport {
  iterations: number[];
  converged: boolean[];
}

/** log(1 + eᶻ) and σ(z), without overflow. */
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Rows that store every column (sparseFromDense; ./sparse.ts keeps a row's columns unique and
 * ascending, so a full row is columns 0…d−1 in order): read without the indices, in the same order,
 * so the sums are the same to the last bit, about a fifth faster.
 */
export const isDense = (x: SparseRows) => x.values.length === x.rows * x.columns;

/** A fit's settings: the solver's defaults under `options`; C must be positive. */
export function fitSettings(options: LogisticOptions): Required<LogisticOptions> {
  if (!(options.c > 0)) throw new RangeError(`C must be positive, got ${options.c}`);
  return { maxIterations: 300, tolerance: 1e-4, memory: 10, ...options };
}

/** Each genre's 0/1 labels over the rows, from `labels` (rows × genres, row-major). */
export function genreLabels(labels: ArrayLike<number>, rows: number, genres: number): Uint8Array[] {
  if (labels.length !== rows * genres) throw new RangeError(`${labels.length} labels for ${rows} films × ${genres} genres`);
  return Array.from({ length: genres }, (_, g) => Uint8Array.from({ length: rows }, (_, r) => (labels[r * genres + g] ? 1 : 0)));
}

/**
 * The data term of the objective at the scores z = scores[r] + b of the rows: Σ softplus(z) − y·z,
 * with each row's residual C·(σ(z) − y) written into `residuals`; also the residuals' sum (the
 * intercept's gradient). For the fits that get their products elsewhere (./span-logistic.ts,
 * ./dense-logistic.ts).
 */
export function logisticResiduals(scores: Float64Array, b: number, y: Uint8Array, c: number, residuals: Float64Array): { loss: number; residualSum: number } {
  let loss = 0;
  let residualSum = 0;
  for (let r = 0; r < y.length; r++) {
    const z = scores[r] + b;
    loss += softplus(z) - (y[r] ? z : 0);
    const e = c * (sigmoid(z) - y[r]);
    residuals[r] = e;
    residualSum += e;
  }
  return { loss, residualSum };
}

/** z = X·w + b for one weight vector. */
function scores(x: SparseRows, w: Float64Array, b: number, out: Float64Array): void {
  const { rowStart, indices, values } = x;
  if (isDense(x)) {
    const d = x.columns;
    for (let r = 0, at = 0; r < x.rows; r++) {
      let z = b;
      for (let j = 0; j < d; j++, at++) z += values[at] * w[j];
      out[r] = z;
    }
    return;
  }
  for (let r = 0; r < x.rows; r++) {
    let z = b;
    for (let k = rowStart[r]; k < rowStart[r + 1]; k++) z += values[k] * w[indices[k]];
    out[r] = z;
  }
}

/** The objective and its gradient (into `grad`, length features + 1, the intercept last) at `w`. */
function objective(x: SparseRows, y: Uint8Array, c: number, w: Float64Array, z: Float64Array, grad: Float64Array): number {
  const d = x.columns;
  const b = w[d];
  scores(x, w, b, z);
  grad.fill(0);
  let loss = 0;
  const { rowStart, indices, values } = x;
  let gb = 0;
  const dense = isDense(x);
  for (let r = 0; r < x.rows; r++) {
    const zr = z[r];
    loss += softplus(zr) - (y[r] ? zr : 0);
    const e = c * (sigmoid(zr) - y[r]);
    gb += e;
    if (dense) for (let j = 0, at = r * d; j < d; j++, at++) grad[j] += e * values[at];
    else for (let k = rowStart[r]; k < rowStart[r + 1]; k++) grad[indices[k]] += e * values[k];
  }
  let penalty = 0;
  for (let j = 0; j < d; j++) {
    penalty += w[j] * w[j];
    grad[j] += w[j];
  }
  grad[d] = gb;
  return c * loss + 0.5 * penalty;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/**
 * direction = −H·grad by L-BFGS' two-loop recursion over the pairs (s, t), oldest first (H₀ = γI,
 * γ = sₘ·tₘ / tₘ·tₘ, or 1 / max(1, |grad|∞) with no pairs); returns the slope grad·direction. Each
 * pass over the weights also takes the dot product the next step needs, summed in the same order as
 * a pass of its own would be: the textbook loops' numbers to the last bit, with half their passes
 * over memory (the cross-validation in one thread about 12% faster on the shared data's overviews).
 */
export function descentDirection(
  grad: Float64Array,
  s: readonly Float64Array[],
  t: readonly Float64Array[],
  rho: readonly number[],
  alpha: Float64Array,
  direction: Float64Array,
): number {
  const n = grad.length;
  const m = s.length;
  let gamma: number;
  if (m > 0) {
    const sLast = s[m - 1];
    const tLast = t[m - 1];
    let st = 0;
    let tt = 0;
    for (let j = 0; j < n; j++) {
      st += sLast[j] * tLast[j];
      tt += tLast[j] * tLast[j];
    }
    gamma = st / tt;
  } else {
    gamma = 1 / Math.max(1, maxAbs(grad));
  }
  // Newest pair to oldest: alphaᵢ = ρᵢ sᵢ·q, q −= alphaᵢ tᵢ (q starts as grad); the last pass scales by γ.
  let q = grad;
  let next = m > 0 ? dot(s[m - 1], grad) : 0;
  for (let i = m - 1; i >= 0; i--) {
    const ai = (alpha[i] = rho[i] * next);
    const ti = t[i];
    next = 0;
    if (i > 0) {
      const sNext = s[i - 1];
      for (let j = 0; j < n; j++) {
        const v = q[j] - ai * ti[j];
        direction[j] = v;
        next += sNext[j] * v;
      }
    } else {
      const tFirst = t[0];
      for (let j = 0; j < n; j++) {
        const v = (q[j] - ai * ti[j]) * gamma;
        direction[j] = v;
        next += tFirst[j] * v;
      }
    }
    q = direction;
  }
  // Oldest pair to newest: r += (alphaᵢ − ρᵢ tᵢ·r) sᵢ; the last pass negates and takes the slope.
  let slope = 0;
  if (m === 0) {
    for (let j = 0; j < n; j++) {
      const v = -(grad[j] * gamma);
      direction[j] = v;
      slope += grad[j] * v;
    }
  }
  for (let i = 0; i < m; i++) {
    const weight = alpha[i] - rho[i] * next;
    const si = s[i];
    next = 0;
    if (i + 1 < m) {
      const tNext = t[i + 1];
      for (let j = 0; j < n; j++) {
        const v = direction[j] + si[j] * weight;
        direction[j] = v;
        next += tNext[j] * v;
      }
    } else {
      for (let j = 0; j < n; j++) {
        const v = -(direction[j] + si[j] * weight);
        direction[j] = v;
        slope += grad[j] * v;
      }
    }
  }
  return slope;
}

/** Minimises the objective for one genre from `w` (features + 1 values, updated in place). */
function fitOne(x: SparseRows, y: Uint8Array, w: Float64Array, options: Required<LogisticOptions>): { iterations: number; converged: boolean } {
  const z = new Float64Array(x.rows);
  // The objective makes its products itself: the minimisation runs to its end in one call.
  const fit = minimise(
    w,
    function* (point, grad) {
      return objective(x, y, options.c, point, z, grad);
    },
    options,
  );
  const step = fit.next();
  if (!step.done) throw new Error('the objective asked for a product');
  return step.value;
}

/**
 * What an objective evaluation may ask of the code that runs the fit: a product of one of its
 * matrices with a vector (./lockstep.ts makes many genres' products at once); the answer is the
 * product.
 */
export interface ProductRequest {
  /** Which matrix, by index into the driver's list. */
  matrix: number;
  vector: Float64Array;
}

/** The objective at `point` (features + 1 values), its gradient written into `grad`. */
export type Evaluate = (point: Float64Array, grad: Float64Array) => Generator<ProductRequest, number, Float64Array>;

/**
 * The vectors L-BFGS works with: the weights themselves (`weightSpace`), or vectors that stand for
 * them (./span-logistic.ts).
 */
export interface VectorSpace {
  dot(u: Float64Array, v: Float64Array): number;
  /** direction = −H·grad by the two-loop recursion over the pairs (s, t), oldest first; returns the slope grad·direction. */
  direction: typeof descentDirection;
  /** The largest |component| of the vector `g` stands for. */
  largest(g: Float64Array): number;
  /** Whether largest(g) ≤ limit (a space may decide it without every component). */
  largestAtMost(g: Float64Array, limit: number): boolean;
}

export const weightSpace: VectorSpace = { dot, direction: descentDirection, largest: maxAbs, largestAtMost: (g, limit) => maxAbs(g) <= limit };

/**
 * L-BFGS from `w` (updated in place) with a backtracking line search, stopping when the largest
 * gradient component is below the tolerance: the solver of every fit here, as a generator so that
 * an objective may yield for its products.
 */
export function* minimise(
  w: Float64Array,
  evaluate: Evaluate,
  options: Required<LogisticOptions>,
  space: VectorSpace = weightSpace,
): Generator<ProductRequest, { iterations: number; converged: boolean }, Float64Array> {
  const n = w.length;
  let grad = new Float64Array(n);
  let f = yield* evaluate(w, grad);
  const s: Float64Array[] = [];
  const t: Float64Array[] = [];
  const rho: number[] = [];
  const direction = new Float64Array(n);
  const trial = new Float64Array(n);
  let trialGrad = new Float64Array(n);
  const alpha = new Float64Array(options.memory);
  let spare: { s: Float64Array; t: Float64Array } = { s: new Float64Array(n), t: new Float64Array(n) };
  for (let iteration = 0; iteration < options.maxIterations; iteration++) {
    if (space.largestAtMost(grad, options.tolerance)) return { iterations: iteration, converged: true };
    let slope = space.direction(grad, s, t, rho, alpha, direction);
    if (!(slope < 0)) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      s.length = t.length = rho.length = 0;
      const scale = Math.max(1, space.largest(grad));
      for (let j = 0; j < n; j++) direction[j] = -grad[j] / scale;
      slope = space.dot(grad, direction);
    }
    let step = 1;
    let trialF = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < n; j++) trial[j] = w[j] + step * direction[j];
      trialF = yield* evaluate(trial, trialGrad);
      if (trialF <= f + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(trialF < f)) return { iterations: iteration, converged: space.largestAtMost(grad, options.tolerance * 10) };
    // The new pair goes into the oldest pair's arrays once the memory is full (or spare ones): no
    // fresh arrays per iteration (first writes to fresh memory are slow).
    const sNew = spare.s;
    const tNew = spare.t;
    for (let j = 0; j < n; j++) {
      sNew[j] = trial[j] - w[j];
      tNew[j] = trialGrad[j] - grad[j];
    }
    const curvature = space.dot(sNew, tNew);
    if (curvature > 1e-12) {
      if (s.length === options.memory) {
        spare = { s: s.shift()!, t: t.shift()! };
        rho.shift();
      } else {
        spare = { s: new Float64Array(n), t: new Float64Array(n) };
      }
      s.push(sNew);
      t.push(tNew);
      rho.push(1 / curvature);
    }
    w.set(trial);
    [grad, trialGrad] = [trialGrad, grad];
    f = trialF;
  }
  return { iterations: options.maxIterations, converged: space.largestAtMost(grad, options.tolerance) };
}

/**
 * Fits one model per genre. `labels` is films × genres (0/1, row-major); `start` warm-starts from
 * another fit with the same shape (a neighbouring C).
 */
export function fitLogistic(
  x: SparseRows,
  labels: ArrayLike<number>,
  genres: number,
  options: LogisticOptions,
  start?: LogisticModel,
): { model: LogisticModel; report: FitReport } {
  const ys = genreLabels(labels, x.rows, genres);
  const settings = fitSettings(options);
  const d = x.columns;
  const model: LogisticModel = { weights: new Float64Array(d * genres), bias: new Float64Array(genres), features: d, genres };
  const report: FitReport = { iterations: [], converged: [] };
  const w = new Float64Array(d + 1);
  for (let g = 0; g < genres; g++) {
    w.fill(0);
    if (start) {
      for (let j = 0; j < d; j++) w[j] = start.weights[j * genres + g];
      w[d] = start.bias[g];
    }
    const { iterations, converged } = fitOne(x, ys[g], w, settings);
    for (let j = 0; j < d; j++) model.weights[j * genres + g] = w[j];
    model.bias[g] = w[d];
    report.iterations.push(iterations);
    report.converged.push(converged);
  }
  return { model, report };
}

/** The decision scores z = w·x + b (films × genres, row-major). */
export function logisticScores(model: LogisticModel, x: SparseRows): Float64Array {
  if (x.columns !== model.features) throw new RangeError(`the model takes ${model.features} features, the rows have ${x.columns}`);
  const G = model.genres;
  const out = new Float64Array(x.rows * G);
  const { rowStart, indices, values } = x;
  for (let r = 0; r < x.rows; r++) {
    const row = r * G;
    for (let g = 0; g < G; g++) out[row + g] = model.bias[g];
    for (let k = rowStart[r]; k < rowStart[r + 1]; k++) {
      const v = values[k];
      const base = indices[k] * G;
      for (let g = 0; g < G; g++) out[row + g] += v * model.weights[base + g];
    }
  }
  return out;
}

/** The probabilities σ(z) (films × genres). */
export function logisticProbabilities(model: LogisticModel, x: SparseRows): Float64Array {
  return logisticScores(model, x).map(sigmoid);
}
