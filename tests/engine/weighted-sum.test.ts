/**
 * The weighted sum of tensors (pipeline/lib/engine/weighted-sum.ts), as the sharded steps combine
 * their shards' gradients: on the wasm backend its SIMD pass gives tfjs' own kernels' values to the
 * last bit, for two and three tensors, sizes that are and are not multiples of four (the JavaScript
 * tail), weights that are not float32 numbers, and values that round, underflow, overflow or are not
 * finite; an independent float32 computation agrees.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { weightedSum } from '../../pipeline/lib/engine/weighted-sum.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
});

const SPECIAL = [0, -0, 1e-45, -3e-39, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1, 1 + 2 ** -23];

function values(size: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: size }, (_, i) =>
    i < SPECIAL.length ? SPECIAL[(i + seed) % SPECIAL.length] : (random() * 2 - 1) * 10 ** Math.floor(random() * 8 - 4),
  );
}

/** The same sum, each operation rounded to float32 in JavaScript. */
function reference(arrays: Float32Array[], weights: number[]): Float32Array {
  const f = Math.fround;
  return arrays[0].map((_, i) => arrays.slice(1).reduce((sum, a, k) => f(sum + f(a[i] * f(weights[k + 1]))), f(arrays[0][i] * f(weights[0]))));
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));

for (const size of [64, 35, 3]) {
  for (const weights of [
    [5 / 9, 4 / 9],
    [1 / 3, 1 / 3, 1 / 3],
    [0.5, 0.25, 0.125, 0.125],
  ]) {
    test(`${weights.length} tensors of ${size} values: tfjs' kernels' values, bit for bit`, () => {
      const arrays = weights.map((_, k) => values(size, 11 * size + k));
      const tensors = arrays.map((a) => tf.tensor1d(a));
      const simd = weightedSum(tensors, weights);
      const tfjs = weightedSum(tensors, weights, false);
      const [s, t] = [simd.dataSync() as Float32Array, tfjs.dataSync() as Float32Array];
      assert.ok(same(s, t), `SIMD ${Array.from(s.slice(0, 12))} vs tfjs ${Array.from(t.slice(0, 12))}`);
      assert.ok(same(s, reference(arrays, weights)));
      assert.ok(
        arrays.every((a) => !same(s, a)),
        'the sum is none of its terms',
      );
      tf.dispose([...tensors, simd, tfjs]);
    });
  }
}

test('one tensor is scaled; mismatched lists are refused', () => {
  const t = tf.tensor1d([1, 2, 3]);
  const scaled = weightedSum([t], [0.5]);
  assert.deepEqual(Array.from(scaled.dataSync()), [0.5, 1, 1.5]);
  assert.throws(() => weightedSum([t], [0.5, 0.5]), /1 tensors for 2 weights/);
  tf.dispose([t, scaled]);
});
