/**
 * The ablation losses against a plain-JS computation of their formulas, and the weights they use.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { lossFunction, positiveWeights } from '../../pipeline/lib/train/losses.ts';
import { FOCAL_ALPHA, FOCAL_GAMMA } from '../../pipeline/lib/settings.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
});

// 2 films × 3 genres.
const Y = [1, 0, 1, 0, 0, 1];
const P = [0.9, 0.2, 0.4, 0.05, 0.7, 0.999_999_99];
const W = [2, 0.5, 3];

const clip = (p: number) => Math.min(Math.max(p, 1e-7), 1 - 1e-7);
function reference(cell: (y: number, p: number, g: number) => number): number {
  return Y.reduce((sum, y, i) => sum + cell(y, clip(P[i]), i % 3), 0) / Y.length;
}

function lossValue(name: Parameters<typeof lossFunction>[0], weights?: Float32Array): number {
  return tf.tidy(() => lossFunction(name, weights)(tf.tensor2d(Y, [2, 3]), tf.tensor2d(P, [2, 3])).dataSync()[0]);
}

test('bce is binary cross-entropy averaged over every cell', () => {
  const expected = reference((y, p) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p)));
  assert.ok(Math.abs(lossValue('bce') - expected) < 1e-5 * expected, `${lossValue('bce')} vs ${expected}`);
});

test('class-weighted bce weighs each genre’s positive cells, and equals bce with weights of 1', () => {
  const expected = reference((y, p, g) => -(W[g] * y * Math.log(p) + (1 - y) * Math.log(1 - p)));
  const got = lossValue('class-weighted-bce', Float32Array.from(W));
  assert.ok(Math.abs(got - expected) < 1e-5 * expected, `${got} vs ${expected}`);
  assert.ok(Math.abs(lossValue('class-weighted-bce', new Float32Array([1, 1, 1])) - lossValue('bce')) < 1e-5 * lossValue('bce'));
});

test('focal loss is Lin et al.’s formula with α = 0.25, γ = 2', () => {
  const a = FOCAL_ALPHA;
  const expected = reference((y, p) => -(a * y * (1 - p) ** FOCAL_GAMMA * Math.log(p) + (1 - a) * (1 - y) * p ** FOCAL_GAMMA * Math.log(1 - p)));
  const got = lossValue('focal');
  assert.ok(Math.abs(got - expected) < 1e-5 * expected, `${got} vs ${expected}`);
});

test('the gradient of the class-weighted loss is the formula’s derivative', () => {
  const weights = Float32Array.from(W);
  const loss = lossFunction('class-weighted-bce', weights);
  const y = tf.tensor2d(Y, [2, 3]);
  const grad = tf
    .grad((p: tf.Tensor) => loss(y, p))(
      tf.tensor2d(
        P.map((p) => Math.min(p, 0.99)),
        [2, 3],
      ),
    )
    .dataSync();
  P.forEach((p0, i) => {
    const p = Math.min(p0, 0.99);
    const g = i % 3;
    // d/dp of −(w·y·log p + (1 − y)·log(1 − p)) / cells
    const expected = -((W[g] * Y[i]) / p - (1 - Y[i]) / (1 - p)) / Y.length;
    assert.ok(Math.abs(grad[i] - expected) < 1e-4 * Math.abs(expected) + 1e-6, `cell ${i}: ${grad[i]} vs ${expected}`);
  });
});

test('positive weights are √(negatives / positives) on the given films, 1 for a genre without positives or negatives', () => {
  // 4 films × 3 genres: genre 0 on 1 film, genre 1 on none, genre 2 on all of films 0–3.
  const labels = Uint8Array.from([1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(positiveWeights(labels, 3, [0, 1, 2, 3])), [Math.fround(Math.sqrt(3)), 1, 1]);
  // Film 4 is not among the films counted.
  assert.deepEqual(Array.from(positiveWeights(labels, 3, [0, 1])), [1, 1, 1]);
});

test('a loss refuses weights it would not use, and class weighting refuses to run without them', () => {
  assert.throws(() => lossFunction('bce', new Float32Array([1])), /takes no class weights/);
  assert.throws(() => lossFunction('class-weighted-bce'), /needs the positive weights/);
});
