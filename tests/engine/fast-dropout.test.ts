/**
 * The fast dropout masks (pipeline/lib/engine/fast-dropout.ts) against tfjs' own, on the wasm backend:
 * - the multipliers equal tfjs' `dropout(ones, rate, undefined, seed)` to the last bit, for string and
 *   number seeds and for a seed drawn from Math.random (which must then move on as tfjs moves it);
 * - a model's Dropout layers in training mode give tfjs' outputs and gradients to the last bit, and
 *   leave inference untouched.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { dropoutMultipliers, fastDropoutStatus } from '../../pipeline/lib/engine/fast-dropout.ts';
import { registerWasmTrainingKernels } from '../../pipeline/lib/engine/wasm-kernels/index.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { withSeededMathRandom } from '../helpers/seeded-math-random.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
  tf.env().set('IS_TEST', true);
});

test("dropout multipliers equal tfjs' dropout of ones, bit for bit (given and drawn seeds)", () => {
  for (const [rate, seed] of [
    [0.5, 7],
    [0.25, 'abc'],
    [0.8, 123456789],
    [0.2, undefined],
  ] as const) {
    const n = 5000;
    const expected = withSeededMathRandom(11, () => {
      const out = tf.tidy(() =>
        tf
          .dropout(tf.ones([n]), rate, undefined, seed as number | undefined)
          .dataSync()
          .slice(),
      );
      return { out, next: Math.random() };
    });
    const actual = withSeededMathRandom(11, () => {
      const out = new Float32Array(n);
      dropoutMultipliers(out, rate, seed);
      return { out, next: Math.random() };
    });
    assert.deepEqual(actual.out, expected.out, `rate ${rate}, seed ${String(seed)}`);
    assert.equal(actual.next, expected.next, 'Math.random moved on as tfjs moves it');
    const kept = actual.out.filter((v) => v !== 0).length / n;
    assert.ok(Math.abs(kept - (1 - rate)) < 0.03, `about ${1 - rate} kept, got ${kept}`);
  }
});

test("Dropout layers in training mode: outputs and gradients equal tfjs' path bit for bit; inference unchanged", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [20], units: 30, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dropout({ rate: 0.4 }),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.dropout({ rate: 0.5, seed: 3 }),
    ],
  });
  const x = tf.tensor2d(
    Float32Array.from({ length: 8 * 20 }, (_, i) => Math.sin(i)),
    [8, 20],
  );
  const run = (fast: boolean, training: boolean) => {
    registerWasmTrainingKernels({ fastDropout: fast });
    const before = fastDropoutStatus().calls;
    try {
      return withSeededMathRandom(5, () => {
        let output: Float32Array | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const y = model.apply(x, { training }) as tf.Tensor;
          output = y.dataSync().slice() as Float32Array;
          return tf.sum(tf.square(y)) as tf.Scalar;
        });
        const gradients = Object.values(grads).map((g) => g.dataSync().slice());
        tf.dispose([value, ...Object.values(grads)]);
        return { output: output!, gradients, calls: fastDropoutStatus().calls - before };
      });
    } finally {
      registerWasmTrainingKernels();
    }
  };
  const reference = run(false, true);
  const fast = run(true, true);
  assert.equal(reference.calls, 0);
  assert.equal(fast.calls, 2, 'both Dropout layers ran the fast masks');
  assert.deepEqual(fast.output, reference.output);
  fast.gradients.forEach((g, i) => assert.deepEqual(g, reference.gradients[i], `gradient ${i}`));
  assert.ok(
    fast.output.some((v) => v === 0),
    'some units were dropped',
  );
  const inference = run(true, false);
  assert.equal(inference.calls, 0, 'inference does not draw masks');
  assert.ok(inference.output.every((v) => v !== 0));
  tf.dispose(x);
  model.dispose();
});
