/**
 * The SIMD Adam update (pipeline/lib/engine/simd-adam.ts) against tfjs' own AdamOptimizer, on the wasm
 * backend: weights, both moments and the losses equal tfjs' to the last bit over several steps (the
 * bias corrections change each step), for variables whose sizes are and are not multiples of four
 * (the JavaScript tail), with the learning rate changed between steps as the schedule changes it;
 * the optimizer's saved state (its moments' names) is tfjs'.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { simdAdamStatus } from '../../pipeline/lib/engine/simd-adam.ts';
import { registerWasmTrainingKernels } from '../../pipeline/lib/engine/wasm-kernels/index.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { uleb, sleb } from '../../pipeline/lib/engine/wasm-encoder.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
  tf.env().set('IS_TEST', true);
});

/** Trains a small model a few steps with Adam; returns every weight, moment and loss. */
async function train(simdAdam: boolean, steps: number) {
  registerWasmTrainingKernels({ simdAdam });
  const random = seededRandom(3);
  const values = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  // Sizes 7·5 = 35 and 5 (not multiples of four), 5·4 = 20 and 4.
  const w1 = tf.variable(tf.tensor2d(values(35), [7, 5]), true, `w1-${simdAdam}`);
  const b1 = tf.variable(tf.tensor1d(values(5)), true, `b1-${simdAdam}`);
  const w2 = tf.variable(tf.tensor2d(values(20), [5, 4]), true, `w2-${simdAdam}`);
  const b2 = tf.variable(tf.tensor1d(values(4)), true, `b2-${simdAdam}`);
  const x = tf.tensor2d(values(9 * 7), [9, 7]);
  const y = tf.tensor2d(values(9 * 4), [9, 4]);
  const optimizer = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    if (step === 3) (optimizer as unknown as { learningRate: number }).learningRate = 0.003; // as the schedule sets it
    const loss = optimizer.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(tf.relu(tf.matMul(x, w1).add(b1)), w2).add(b2)) as tf.Scalar, true);
    losses.push(loss!.dataSync()[0]);
    loss!.dispose();
  }
  const weights = await optimizer.getWeights();
  const state = weights.map((w) => ({ name: w.name.replace(/-(true|false)/, ''), values: Array.from(w.tensor.dataSync()) }));
  const result = { losses, variables: [w1, b1, w2, b2].map((v) => Array.from(v.dataSync())), state };
  tf.dispose([w1, b1, w2, b2, x, y]);
  optimizer.dispose();
  return result;
}

test("Adam in one SIMD pass per variable equals tfjs' AdamOptimizer bit for bit over several steps", async () => {
  const before = simdAdamStatus().variables;
  const simd = await train(true, 6);
  assert.equal(simdAdamStatus().variables - before, 6 * 4, 'every variable of every step went through the SIMD update');
  const calls = simdAdamStatus().variables;
  const reference = await train(false, 6);
  assert.equal(simdAdamStatus().variables, calls, "tfjs' own update ran for the reference");
  assert.deepEqual(simd.losses, reference.losses);
  assert.deepEqual(simd.variables, reference.variables);
  assert.deepEqual(simd.state, reference.state);
  assert.ok(simd.losses[5] < simd.losses[0], 'it learns');
  // Not vacuous: one step fewer gives other weights.
  assert.notDeepEqual((await train(true, 5)).variables, simd.variables);
  registerWasmTrainingKernels();
});

test('LEB128 as the WebAssembly format writes it', () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
});
