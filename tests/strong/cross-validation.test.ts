/**
 * Cross-validation of C (pipeline/lib/strong/cross-validation.ts) and the stacker's inputs
 * (stacking.ts), against the same fits made directly here on each fold.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kFolds, selectRows } from '../../pipeline/lib/analysis/analysis.ts';
import { binaryCrossEntropy } from '../../pipeline/lib/core/metrics.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { crossValidateLogistic, inlineRunner } from '../../pipeline/lib/strong/cross-validation.ts';
import { createPathPool } from '../../pipeline/lib/strong/workers/path-pool.ts';
import { fitLogistic, logisticProbabilities } from '../../pipeline/lib/strong/logistic.ts';
import { selectSparseRows, sparseFromDense } from '../../pipeline/lib/strong/sparse.ts';
import { stackInputs } from '../../pipeline/lib/strong/stacking.ts';

function data(films: number, features: number, genres: number, seed: number) {
  const random = seededRandom(seed);
  const x = Array.from({ length: films * features }, () => random() * 2 - 1);
  const labels = new Uint8Array(films * genres);
  for (let f = 0; f < films; f++) for (let g = 0; g < genres; g++) labels[f * genres + g] = x[f * features + g] + 0.8 * (random() - 0.5) > 0.2 ? 1 : 0;
  return { rows: sparseFromDense(x, films, features), labels };
}

test('every training film is scored by a model fitted without it; C has the lowest out-of-fold loss; worker threads give the same numbers', async () => {
  const { rows, labels } = data(90, 4, 2, 5);
  const folds = kFolds(90, 3, 11);
  const grid = [0.01, 0.1, 1];
  const { cv, model: final } = await crossValidateLogistic(inlineRunner({ rows }, labels, 2), 'rows', 90, labels, 2, folds, grid);
  // Independently: fit each fold's model from scratch at each C, score its held-out films.
  const losses = grid.map((c) => {
    const oof = new Float64Array(90 * 2);
    for (const heldOut of folds) {
      const rest = Array.from({ length: 90 }, (_, i) => i).filter((i) => !heldOut.includes(i));
      const model = fitLogistic(selectSparseRows(rows, rest), selectRows(labels, 2, rest), 2, { c, tolerance: 1e-7 }).model;
      const p = logisticProbabilities(model, selectSparseRows(rows, heldOut));
      heldOut.forEach((row, i) => oof.set(p.subarray(i * 2, i * 2 + 2), row * 2));
    }
    if (c === cv.c) for (let i = 0; i < oof.length; i++) assert.ok(Math.abs(oof[i] - cv.outOfFold[i]) < 1e-3, `cell ${i}`);
    return binaryCrossEntropy(oof, labels);
  });
  cv.grid.forEach((point, k) => assert.ok(Math.abs(point.loss - losses[k]) < 1e-4, `C ${point.c}: ${point.loss} vs ${losses[k]}`));
  assert.equal(cv.c, grid[losses.indexOf(Math.min(...losses))]);
  // The final model is fitted on every training film at the chosen C.
  const direct = fitLogistic(rows, labels, 2, { c: cv.c, tolerance: 1e-7 }).model;
  for (let k = 0; k < final.weights.length; k++) assert.ok(Math.abs(final.weights[k] - direct.weights[k]) < 1e-3);
  await assert.rejects(crossValidateLogistic(inlineRunner({ rows }, labels, 2), 'rows', 90, labels, 2, folds, [1, 0.1]), /must ascend/);
  // Two worker threads: the same out-of-fold probabilities and final weights, to the last bit.
  let jobs = 0;
  const pool = createPathPool(2, labels, 2, () => jobs++);
  try {
    pool.register('rows', rows);
    const parallel = await crossValidateLogistic(pool.run, 'rows', 90, labels, 2, folds, grid);
    assert.deepEqual(parallel.cv, cv);
    assert.deepEqual(parallel.model.weights, final.weights);
    assert.equal(jobs, folds.length + 1);
  } finally {
    await pool.close();
  }
});

test('the stacker takes each model’s log-odds for every genre, side by side', () => {
  const a = Float64Array.from([0.5, 0.9, 0.2, 0.1]);
  const b = Float64Array.from([0.75, 0.5, 0.5, 0.25]);
  const x = stackInputs([a, b], 2, 2);
  const logit = (p: number) => Math.log(p / (1 - p));
  const expected = [logit(0.5), logit(0.9), logit(0.75), logit(0.5), logit(0.2), logit(0.1), logit(0.5), logit(0.25)];
  expected.forEach((v, i) => assert.ok(Math.abs(x[i] - v) < 1e-12));
  // Saturated probabilities are clipped, not infinite.
  assert.ok(Number.isFinite(stackInputs([Float64Array.from([0, 1])], 1, 2)[0]));
});
