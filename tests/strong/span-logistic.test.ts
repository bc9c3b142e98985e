/**
 * The logistic regression in the span of the rows (pipeline/lib/strong/span-logistic.ts) against the
 * primal solver (pipeline/lib/strong/logistic.ts, itself checked against Newton's method): the same
 * iterates step by step, the same fits along a path of C, the same held-out probabilities from a path
 * job; the Gram matrix against dense products; ONNX Runtime's float64 product against plain loops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLogistic, type LogisticModel } from '../../pipeline/lib/strong/logistic.ts';
import { fitLogisticPathInSpan, gemm64InJs, gramMatrix, gramRows } from '../../pipeline/lib/strong/span-logistic.ts';
import { logisticSolver } from '../../pipeline/lib/strong/lockstep.ts';
import { runPathJob } from '../../pipeline/lib/strong/cross-validation.ts';
import { maxDifference, nativeGemm } from '../helpers/logistic-fits.ts';
import { nativeKernelsWanted } from '../../pipeline/lib/engine/native-kernels.ts';
import { sparseFromMaps, type SparseRows } from '../../pipeline/lib/strong/sparse.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

/** Wide sparse rows (about 8 of `columns` set per row) and `genres` label columns that depend on them. */
function wideData(rows: number, columns: number, genres: number, seed: number) {
  const random = seededRandom(seed);
  const maps = Array.from({ length: rows }, () => {
    const row = new Map<number, number>();
    for (let k = 0; k < 8; k++) row.set(Math.floor(random() * columns), Math.fround(random() * 2 - 0.5));
    return row;
  });
  const x = sparseFromMaps(maps, columns);
  const truth = Array.from({ length: genres }, () => Array.from({ length: columns }, () => random() * 4 - 2));
  const labels = new Uint8Array(rows * genres);
  maps.forEach((row, r) => {
    for (let g = 0; g < genres; g++) {
      let z = -0.2;
      for (const [j, v] of row) z += v * truth[g][j];
      labels[r * genres + g] = z + (random() - 0.5) > 0 ? 1 : 0;
    }
  });
  return { x, labels, maps };
}

test('the Gram matrix is X·Xᵀ (dense products), and restricted to rows it is their Gram matrix', () => {
  const { x, maps } = wideData(25, 40, 1, 1);
  const dense = maps.map((row) => Array.from({ length: 40 }, (_, j) => row.get(j) ?? 0));
  const gram = gramMatrix(x);
  for (let r = 0; r < 25; r++) {
    for (let q = 0; q < 25; q++) {
      const expected = dense[r].reduce((sum, v, j) => sum + v * dense[q][j], 0);
      assert.ok(Math.abs(gram[r * 25 + q] - expected) <= 1e-12, `K[${r}, ${q}]`);
    }
  }
  const rows = [3, 0, 17];
  const part = gramRows(gram, 25, rows);
  rows.forEach((r, i) => rows.forEach((q, j) => assert.equal(part[i * 3 + j], gram[r * 25 + q])));
});

test('step by step, the fit in the span makes the primal solver’s iterates', () => {
  const { x, labels } = wideData(30, 90, 2, 2);
  const gram = gramMatrix(x);
  for (const maxIterations of [1, 2, 4, 8]) {
    const span = fitLogisticPathInSpan(x, gram, labels, 2, [2], gemm64InJs, { maxIterations }).models[0];
    const primal = fitLogistic(x, labels, 2, { c: 2, maxIterations }).model;
    assert.ok(maxDifference(span, primal) <= 1e-9, `after ${maxIterations} iterations: ${maxDifference(span, primal)}`);
  }
});

test('along a path of C, the fits in the span are the primal solver’s, with plain and native products', () => {
  const { x, labels } = wideData(40, 120, 3, 3);
  const gram = gramMatrix(x);
  const grid = [0.3, 1, 5];
  const products = nativeGemm ? [gemm64InJs, nativeGemm] : [gemm64InJs];
  for (const gemm of products) {
    const { models, reports } = fitLogisticPathInSpan(x, gram, labels, 3, grid, gemm, { tolerance: 1e-7 });
    let previous: LogisticModel | undefined;
    grid.forEach((c, k) => {
      const fit = fitLogistic(x, labels, 3, { c, tolerance: 1e-7 }, previous);
      previous = fit.model;
      assert.ok(maxDifference(models[k], previous) <= 1e-6, `C ${c}: ${maxDifference(models[k], previous)}`);
      assert.ok(reports[k].converged.every(Boolean) && fit.report.converged.every(Boolean));
    });
  }
});

test('a path job in the span gives the primal job’s held-out probabilities', { skip: nativeGemm ? false : 'onnxruntime-node is not installed' }, () => {
  const { x, labels } = wideData(50, 150, 4, 4);
  const heldOut = [1, 7, 12, 30, 44];
  const primal = runPathJob(x, labels, 4, heldOut, [0.5, 2], [0, 4], 'primal');
  const span = runPathJob(x, labels, 4, heldOut, [0.5, 2], [0, 4], 'native');
  assert.ok('probabilities' in primal && 'probabilities' in span);
  primal.probabilities.forEach((p, k) => p.forEach((v, i) => assert.ok(Math.abs(v - span.probabilities[k][i]) <= 1e-4, `C ${k}, value ${i}`)));
});

test('narrow sparse rows stay with the primal solver, and the native solver is chosen only when ONNX Runtime loads and is wanted', () => {
  const { x, labels } = wideData(50, 20, 2, 5);
  const narrow: SparseRows = x;
  const a = runPathJob(narrow, labels, 2, null, [1], [0, 2], 'primal');
  const b = runPathJob(narrow, labels, 2, null, [1], [0, 2], 'native');
  assert.ok('models' in a && 'models' in b);
  assert.deepEqual(b.models[0].weights, a.models[0].weights); // 50 sparse rows, 20 columns: the primal fit, to the bit
  assert.equal(logisticSolver(), nativeKernelsWanted() && nativeGemm ? 'native' : 'primal');
});

test('ONNX Runtime’s float64 product equals plain loops to rounding', { skip: nativeGemm ? false : 'onnxruntime-node is not installed' }, () => {
  const random = seededRandom(6);
  const [m, k, n] = [37, 53, 5];
  const a = Float64Array.from({ length: m * k }, () => random() - 0.5);
  const b = Float64Array.from({ length: k * n }, () => random() - 0.5);
  const expected = new Float64Array(m * n);
  const actual = new Float64Array(m * n);
  gemm64InJs(a, b, expected, m, k, n);
  nativeGemm!(a, b, actual, m, k, n);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-12, `element ${i}`));
});
