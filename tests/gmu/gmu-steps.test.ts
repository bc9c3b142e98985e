/**
 * The learned fusion's steps as native products (pipeline/lib/gmu/gmu-steps.ts) against tfjs' tape,
 * on the training backend (wasm with the native products): one step's gradients of every weight
 * (with dropout, and with an output saturated past the loss's clip), equal to 1e-5 relative to the
 * reference's largest magnitude; the inference probabilities against `gmuForward`; and a whole head
 * fitted either way (tfjs' kernels on the cpu backend): the same epoch chosen, losses within 1e-4.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { nativeGemm } from '../../pipeline/lib/engine/wasm-kernels/kernel-calls.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { GmuSteps, type GmuStepWeights } from '../../pipeline/lib/gmu/gmu-steps.ts';
import { fitGmu, gmuForward, initialGmuWeights, type GmuSettings } from '../../pipeline/lib/gmu/gmu.ts';
import { GMU_SETTINGS } from '../../pipeline/lib/settings.ts';
import { assertCloseToScale } from '../helpers/assert-close.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
  tf.env().set('IS_TEST', true);
});

const dims = { visualDim: 6, textualDim: 3, hiddenUnits: 5, genreCount: 4 };
const FILMS = 12;

function data(seed: number) {
  const random = seededRandom(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => random() * 4 - 2);
  return {
    visual: values(FILMS * dims.visualDim),
    textual: values(FILMS * dims.textualDim),
    labels: Float32Array.from({ length: FILMS * dims.genreCount }, () => (random() < 0.3 ? 1 : 0)),
  };
}

/** The reference: tfjs' gradients of the mean binary cross-entropy of the GMU, written out here with tfjs ops. */
function tapeGradients(w: GmuStepWeights, set: ReturnType<typeof data>, rows: number[], dropout: { rate: number; seed: number }) {
  const { visualDim, textualDim, hiddenUnits, genreCount } = dims;
  const variables = {
    visual: tf.variable(tf.tensor2d(w.visual, [visualDim, hiddenUnits])),
    textual: tf.variable(tf.tensor2d(w.textual, [textualDim, hiddenUnits])),
    gate: tf.variable(tf.tensor2d(w.gate, [visualDim + textualDim, hiddenUnits])),
    output: tf.variable(tf.tensor2d(w.output, [hiddenUnits, genreCount])),
    outputBias: tf.variable(tf.tensor1d(w.outputBias)),
  };
  const pick = (values: Float32Array, width: number) =>
    tf.tensor2d(
      rows.flatMap((r) => [...values.subarray(r * width, (r + 1) * width)]),
      [rows.length, width],
    );
  const xv = pick(set.visual, visualDim);
  const xt = pick(set.textual, textualDim);
  const y = pick(set.labels, genreCount);
  const { grads, value } = tf.variableGrads(() => {
    const hv = tf.tanh(tf.matMul(xv, variables.visual));
    const ht = tf.tanh(tf.matMul(xt, variables.textual));
    const z = tf.sigmoid(tf.matMul(tf.concat([xv, xt], 1), variables.gate));
    const h = tf.dropout(tf.add(tf.mul(z, hv), tf.mul(tf.sub(1, z), ht)), dropout.rate, undefined, dropout.seed);
    const p = tf.sigmoid(tf.add(tf.matMul(h, variables.output), variables.outputBias));
    return tf.mean(tf.metrics.binaryCrossentropy(y, p)) as tf.Scalar;
  }, Object.values(variables));
  const byName = Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, grads[v.name].dataSync().slice() as Float32Array]));
  tf.dispose([xv, xt, y, value, ...Object.values(grads), ...Object.values(variables)]);
  return byName as unknown as GmuStepWeights;
}

function steps(): GmuSteps {
  const gemm = nativeGemm();
  assert.ok(gemm, 'the wasm backend has its native products here');
  return new GmuSteps(gemm, dims);
}

test("one step's gradients equal tfjs' tape to 1e-5, with dropout and with an output clipped by the loss", () => {
  const set = data(3);
  const rows = [4, 0, 11, 7, 7, 2, 9];
  const weights: GmuStepWeights = initialGmuWeights(dims, 8);
  const saturated = { ...weights, outputBias: Float32Array.of(0.1, 40, -0.2, -40) };
  for (const [what, w, dropout] of [
    ['dropout 0.5', weights, { rate: 0.5, seed: 17 }],
    ['no dropout', weights, { rate: 0, seed: 17 }],
    ['outputs past the clip', saturated, { rate: 0.5, seed: 5 }],
  ] as const) {
    const reference = tapeGradients(w, set, [...rows], dropout);
    const fused = steps().gradients(w, set, rows, dropout);
    for (const name of ['visual', 'textual', 'gate', 'output'] as const) assertCloseToScale(fused[name], reference[name], `${what} ∂${name}`);
    if (w === saturated) {
      // Genres 1 and 3 are saturated (p = 1 and 0 in float32): the clip passes no gradient to their bias.
      assert.deepEqual([fused.outputBias[1], fused.outputBias[3]], [0, 0]);
      assert.deepEqual([reference.outputBias[1], reference.outputBias[3]], [0, 0]);
    }
    assertCloseToScale(fused.outputBias, reference.outputBias, `${what} ∂outputBias`);
  }
});

test('the inference probabilities are gmuForward’s, in batches of any size', () => {
  const set = data(4);
  const weights = initialGmuWeights(dims, 2);
  const rows = Array.from({ length: FILMS }, (_, i) => i);
  const expected = gmuForward(weights, set.visual, set.textual, FILMS);
  assertCloseToScale(steps().probabilities(weights, set, rows), expected, 'probabilities');
  assertCloseToScale(steps().probabilities(weights, set, rows, 5), expected, 'probabilities in batches of 5');
});

test('a head fitted with these steps and with tfjs’ kernels (cpu backend) keeps the same epoch, losses within 1e-4', async () => {
  const random = seededRandom(12);
  const films = 80;
  const features = {
    films,
    visualDim: 16,
    textualDim: 4,
    visual: Float32Array.from({ length: films * 16 }, () => random()),
    textual: Float32Array.from({ length: films * 4 }, () => random()),
  };
  const labels = Uint8Array.from({ length: films * 3 }, (_, i) => (features.visual[i] + features.textual[i % (films * 4)] > 1.1 ? 1 : 0));
  const settings: GmuSettings = { ...GMU_SETTINGS, hiddenUnits: 8, batchSize: 16, maxEpochs: 6 };
  const fit = () => fitGmu({ features, labels, genreCount: 3, rows: Array.from({ length: films }, (_, i) => i), settings, seed: 3, label: 'steps' });
  const native = await fit();
  await tf.setBackend('cpu');
  let reference: Awaited<ReturnType<typeof fit>>;
  try {
    assert.equal(nativeGemm(), null, 'tfjs’ own kernels on the cpu backend');
    reference = await fit();
  } finally {
    await tf.setBackend('wasm');
  }
  assert.equal(native.chosenEpoch, reference.chosenEpoch);
  for (const [i, epoch] of native.epochs.entries()) {
    assert.ok(Math.abs(epoch.trainLoss - reference.epochs[i].trainLoss) < 1e-4, `epoch ${i} train loss ${epoch.trainLoss} vs ${reference.epochs[i].trainLoss}`);
    assert.ok(Math.abs(epoch.holdoutLoss - reference.epochs[i].holdoutLoss) < 1e-4, `epoch ${i} holdout loss`);
  }
  assert.ok(native.epochs.at(-1)!.trainLoss < native.epochs[0].trainLoss, 'it learns');
});
