/**
 * The logistic regression on dense rows with the genres stepping together
 * (pipeline/lib/strong/dense-logistic.ts) against the primal solver (pipeline/lib/strong/logistic.ts,
 * itself checked against Newton's method): the same fits along a path of C, with plain and native
 * products, and the same held-out probabilities from a path job.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLogistic, type LogisticModel } from '../../pipeline/lib/strong/logistic.ts';
import { fitLogisticPathDense } from '../../pipeline/lib/strong/dense-logistic.ts';
import { gemm64InJs } from '../../pipeline/lib/strong/span-logistic.ts';
import { runTogether } from '../../pipeline/lib/strong/lockstep.ts';
import { runPathJob } from '../../pipeline/lib/strong/cross-validation.ts';
import { maxDifference, nativeGemm } from '../helpers/logistic-fits.ts';
import { sparseFromDense } from '../../pipeline/lib/strong/sparse.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

function denseData(rows: number, columns: number, genres: number, seed: number) {
  const random = seededRandom(seed);
  const values = Array.from({ length: rows * columns }, () => random() * 2 - 1);
  const truth = Array.from({ length: genres * columns }, () => random() * 4 - 2);
  const labels = new Uint8Array(rows * genres);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < genres; g++) {
      let z = 0.3;
      for (let j = 0; j < columns; j++) z += values[r * columns + j] * truth[g * columns + j];
      labels[r * genres + g] = z + (random() - 0.5) * 2 > 0 ? 1 : 0;
    }
  }
  return { x: sparseFromDense(values, rows, columns), labels };
}

test('along a path of C, the dense fits stepping together are the primal solver’s, with plain and native products', () => {
  const { x, labels } = denseData(80, 6, 3, 1);
  const grid = [0.01, 0.3, 3];
  for (const gemm of nativeGemm ? [gemm64InJs, nativeGemm] : [gemm64InJs]) {
    const { models, reports } = fitLogisticPathDense(x, labels, 3, grid, gemm, { tolerance: 1e-7 });
    let previous: LogisticModel | undefined;
    grid.forEach((c, k) => {
      const fit = fitLogistic(x, labels, 3, { c, tolerance: 1e-7 }, previous);
      previous = fit.model;
      assert.ok(maxDifference(models[k], previous) <= 1e-6, `C ${c}: ${maxDifference(models[k], previous)}`);
      assert.deepEqual(reports[k].converged, fit.report.converged);
    });
  }
});

test(
  'a dense path job with the native solver gives the primal job’s held-out probabilities',
  { skip: nativeGemm ? false : 'onnxruntime-node is not installed' },
  () => {
    const { x, labels } = denseData(90, 8, 4, 3);
    const heldOut = [2, 9, 33, 34, 60, 71];
    const primal = runPathJob(x, labels, 4, heldOut, [0.1, 1], [0, 4], 'primal');
    const fast = runPathJob(x, labels, 4, heldOut, [0.1, 1], [0, 4], 'native');
    assert.ok('probabilities' in primal && 'probabilities' in fast);
    primal.probabilities.forEach((p, k) => p.forEach((v, i) => assert.ok(Math.abs(v - fast.probabilities[k][i]) <= 1e-5, `C ${k}, value ${i}`)));
  },
);

test('fits stepping together ask for products of the matrices they were given, and get each its own column', () => {
  const matrix = { values: Float64Array.of(1, 2, 3, 4, 5, 6), rows: 2, columns: 3 };
  function* fit(v: number[]): Generator<{ matrix: number; vector: Float64Array }, number[], Float64Array> {
    const first = yield { matrix: 0, vector: Float64Array.from(v) };
    return [...first];
  }
  assert.deepEqual(runTogether([fit([1, 0, 0]), fit([0, 1, 1])], [matrix], gemm64InJs), [
    [1, 4],
    [5, 11],
  ]);
  assert.throws(() => runTogether([fit([1, 0])], [matrix], gemm64InJs), /a product with a 2-vector for a 2 × 3 matrix/);
});
