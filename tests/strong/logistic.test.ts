/**
 * The logistic regression (pipeline/lib/strong/logistic.ts) against an independent solution:
 * Newton's method on the same objective, written out here for small dense data, and against the
 * optimality condition itself (the gradient vanishes at the optimum).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { descentDirection, fitLogistic, logisticProbabilities, logisticScores } from '../../pipeline/lib/strong/logistic.ts';
import { sparseFromDense, sparseFromMaps } from '../../pipeline/lib/strong/sparse.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

/** Minimises C·Σ log(1 + e^{−s·z}) + ½‖w‖² (intercept unpenalised) by Newton's method with a dense Hessian. */
function newton(x: number[][], y: number[], c: number): number[] {
  const d = x[0].length;
  const w = new Array<number>(d + 1).fill(0);
  for (let iteration = 0; iteration < 50; iteration++) {
    const grad = w.map((v, j) => (j < d ? v : 0));
    const hess = Array.from({ length: d + 1 }, (_, i) => Array.from({ length: d + 1 }, (_, j) => (i === j && i < d ? 1 : 0)));
    x.forEach((row, r) => {
      const features = [...row, 1];
      const z = features.reduce((s, v, j) => s + v * w[j], 0);
      const p = 1 / (1 + Math.exp(-z));
      features.forEach((vi, i) => {
        grad[i] += c * (p - y[r]) * vi;
        features.forEach((vj, j) => (hess[i][j] += c * p * (1 - p) * vi * vj));
      });
    });
    // Solve hess · step = grad by Gaussian elimination.
    const n = d + 1;
    const a = hess.map((row, i) => [...row, grad[i]]);
    for (let col = 0; col < n; col++) {
      let pivot = col;
      for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
      [a[col], a[pivot]] = [a[pivot], a[col]];
      for (let r = 0; r < n; r++) {
        if (r === col) continue;
        const f = a[r][col] / a[col][col];
        for (let k = col; k <= n; k++) a[r][k] -= f * a[col][k];
      }
    }
    for (let i = 0; i < n; i++) w[i] -= a[i][n] / a[i][i];
  }
  return w;
}

function data(rows: number, columns: number, seed: number) {
  const random = seededRandom(seed);
  const x = Array.from({ length: rows }, () => Array.from({ length: columns }, () => random() * 2 - 1));
  const truth = Array.from({ length: columns }, () => random() * 4 - 2);
  const y = x.map((row) => (row.reduce((s, v, j) => s + v * truth[j], 0.3) + (random() - 0.5) > 0 ? 1 : 0));
  return { x, y };
}

test('each genre’s fit matches Newton’s method on the same objective', () => {
  const a = data(60, 4, 1);
  const b = data(60, 4, 2);
  // Two genres on the same films: genre 0 from a's labels, genre 1 from b's (on a's features).
  const labels = a.y.flatMap((y, r) => [y, b.y[r]]);
  const rows = sparseFromDense(a.x.flat(), 60, 4);
  for (const c of [0.1, 1, 10]) {
    const { model, report } = fitLogistic(rows, labels, 2, { c, tolerance: 1e-6 });
    assert.deepEqual(report.converged, [true, true]);
    for (const [g, y] of [a.y, b.y].entries()) {
      const expected = newton(a.x, y, c);
      for (let j = 0; j < 4; j++)
        assert.ok(Math.abs(model.weights[j * 2 + g] - expected[j]) < 1e-5, `C ${c}, genre ${g}, weight ${j}: ${model.weights[j * 2 + g]} vs ${expected[j]}`);
      assert.ok(Math.abs(model.bias[g] - expected[4]) < 1e-5, `C ${c}, genre ${g}, intercept`);
    }
  }
});

test('sparse rows give the same fit as the same values stored densely, and scores are w·x + b', () => {
  const { x, y } = data(40, 5, 3);
  // Zero out about half the cells and store only the rest.
  const dense = x.map((row, r) => row.map((v, j) => ((r + j) % 2 ? 0 : v)));
  const maps = dense.map((row) => new Map(row.flatMap((v, j) => (v === 0 ? [] : [[j, v] as [number, number]]))));
  const sparse = fitLogistic(sparseFromMaps(maps, 5), y, 1, { c: 2, tolerance: 1e-6 }).model;
  const full = fitLogistic(sparseFromDense(dense.flat(), 40, 5), y, 1, { c: 2, tolerance: 1e-6 }).model;
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(sparse.weights[j] - full.weights[j]) < 1e-6);
  const scores = logisticScores(full, sparseFromDense(dense.flat(), 40, 5));
  dense.forEach((row, r) => {
    const z = row.reduce((s, v, j) => s + Math.fround(v) * full.weights[j], full.bias[0]);
    assert.ok(Math.abs(scores[r] - z) < 1e-9);
  });
  const p = logisticProbabilities(full, sparseFromDense(dense.flat(), 40, 5));
  assert.ok(Math.abs(p[0] - 1 / (1 + Math.exp(-scores[0]))) < 1e-12);
});

test('a genre with no positive film gets a large negative intercept and no weights; a warm start converges to the same point', () => {
  const { x } = data(30, 3, 4);
  const rows = sparseFromDense(x.flat(), 30, 3);
  const labels = x.flatMap((row) => [row[0] > 0 ? 1 : 0, 0]);
  const cold = fitLogistic(rows, labels, 2, { c: 1, tolerance: 1e-6 }).model;
  assert.ok(cold.bias[1] < -3, `intercept ${cold.bias[1]}`);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(cold.weights[j * 2 + 1]) < 1e-6);
  const start = fitLogistic(rows, labels, 2, { c: 0.1 }).model;
  const warm = fitLogistic(rows, labels, 2, { c: 1, tolerance: 1e-6 }, start).model;
  for (let k = 0; k < cold.weights.length; k++) assert.ok(Math.abs(cold.weights[k] - warm.weights[k]) < 1e-5);
});

test('rejects labels of the wrong shape and a non-positive C', () => {
  const rows = sparseFromDense([1, 2, 3, 4], 2, 2);
  assert.throws(() => fitLogistic(rows, [1, 0, 1], 2, { c: 1 }), /3 labels for 2 films × 2 genres/);
  assert.throws(() => fitLogistic(rows, [1, 0], 1, { c: 0 }), /C must be positive/);
});

/** L-BFGS' two-loop recursion as textbooks write it (Nocedal & Wright, algorithm 7.4): a pass per operation. */
function textbookDirection(grad: Float64Array, s: Float64Array[], t: Float64Array[], rho: number[]): { direction: Float64Array; slope: number } {
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
  const q = Float64Array.from(grad);
  const alpha: number[] = [];
  for (let i = s.length - 1; i >= 0; i--) {
    alpha[i] = rho[i] * dot(s[i], q);
    for (let j = 0; j < q.length; j++) q[j] -= alpha[i] * t[i][j];
  }
  const last = s.length - 1;
  const gamma = s.length > 0 ? dot(s[last], t[last]) / dot(t[last], t[last]) : 1 / Math.max(1, ...grad.map(Math.abs));
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < s.length; i++) {
    const beta = rho[i] * dot(t[i], q);
    for (let j = 0; j < q.length; j++) q[j] += s[i][j] * (alpha[i] - beta);
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j];
  return { direction: q, slope: dot(grad, q) };
}

test('the fused two-loop recursion gives the textbook loops’ direction and slope to the last bit, with 0 to 10 pairs', () => {
  const random = seededRandom(5);
  const vector = (n: number) => Float64Array.from({ length: n }, () => random() * 2 - 1);
  for (const pairs of [0, 1, 2, 3, 10]) {
    const n = 37;
    const grad = vector(n);
    const s = Array.from({ length: pairs }, () => vector(n));
    const t = s.map((si) => si.map((v) => v * (1 + random()) + 0.01 * (random() - 0.5)));
    const rho = s.map((si, i) => 1 / si.reduce((sum, v, j) => sum + v * t[i][j], 0));
    const direction = new Float64Array(n);
    const slope = descentDirection(grad, s, t, rho, new Float64Array(10), direction);
    const expected = textbookDirection(grad, s, t, rho);
    assert.deepEqual(Array.from(direction), Array.from(expected.direction), `${pairs} pairs`);
    assert.equal(slope, expected.slope, `${pairs} pairs`);
  }
});
