/**
 * The LSTM's speed path against its reference path, on the training backend (wasm):
 * - batches cut to their longest overview give the outputs and the gradients of the same batch
 *   padded to the full sequence length (masking makes the padding irrelevant);
 * - the training step that also returns its predictions (`trainStep`) updates the weights exactly
 *   as `model.trainOnBatch` does;
 * - length-grouped batches hold every training film exactly once.
 * Tolerance: 1e-5 relative to the largest magnitude of the reference tensor.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { consecutiveBatches, inferenceBatches, trainingBatches } from '../../pipeline/lib/train/batching.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { tokenInputs, tokenLengths } from '../../pipeline/lib/train/model-inputs.ts';
import { compileForCoursework } from '../../pipeline/lib/train/models/cnn.ts';
import { buildLstm } from '../../pipeline/lib/train/models/lstm.ts';
import { seededRandom, seededRandomSource, shuffled } from '../../pipeline/lib/core/random.ts';
import { trainStep } from '../../pipeline/lib/train/train.ts';
import { assertCloseToScale } from '../helpers/assert-close.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
  tf.env().set('IS_TEST', true);
});

const FULL_LENGTH = 12;
const GENRES = 4;

/** Five overviews of 2–7 tokens, padded to FULL_LENGTH, as the vectoriser writes them. */
function paddedTokens(): Int32Array {
  const rows = [
    [5, 9, 2],
    [7, 3],
    [11, 4, 8, 6, 2, 9, 3],
    [2, 2, 5, 13],
    [14, 6, 9, 10, 12],
  ];
  const ids = new Int32Array(rows.length * FULL_LENGTH);
  rows.forEach((row, i) => ids.set(row, i * FULL_LENGTH));
  return ids;
}

/** Gradients of the batch's binary cross-entropy, by weight name, in training mode with a seeded Math.random. */
function gradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, seed: number): Map<string, Float32Array> {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.metrics.binaryCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const out = new Map(Object.entries(grads).map(([name, g]) => [name, g.dataSync() as Float32Array]));
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    Math.random = original;
  }
}

test('tokenLengths counts the tokens before the padding', () => {
  assert.deepEqual(Array.from(tokenLengths(paddedTokens(), FULL_LENGTH)), [3, 2, 7, 4, 5]);
  assert.deepEqual(Array.from(tokenLengths(Int32Array.from([0, 0, 0, 4, 0, 0]), 3)), [0, 1]);
});

test('tokenInputs cuts a batch to its longest overview (at least one column)', () => {
  const inputs = tokenInputs(paddedTokens(), FULL_LENGTH);
  const cut = inputs([0, 1]);
  assert.deepEqual(cut.shape, [2, 3]);
  assert.deepEqual(Array.from(cut.dataSync()), [5, 9, 2, 7, 3, 0]);
  const empty = tokenInputs(new Int32Array(2 * FULL_LENGTH), FULL_LENGTH)([0, 1]);
  assert.deepEqual(empty.shape, [2, 1]);
  tf.dispose([cut, empty]);
});

test('LSTM: a batch cut to its longest overview gives the outputs of the padded batch (1e-5)', () => {
  const model = buildLstm({ seed: 3, vocabularySize: 20, genreCount: GENRES });
  const ids = paddedTokens();
  const padded = tf.tensor2d(ids, [5, FULL_LENGTH], 'int32');
  const cut = tokenInputs(ids, FULL_LENGTH)([0, 1, 2, 3, 4]);
  assert.deepEqual(cut.shape, [5, 7]);
  const [reference, fast] = [model.predict(padded) as tf.Tensor, model.predict(cut) as tf.Tensor];
  assertCloseToScale(fast.dataSync(), reference.dataSync(), 'probabilities');
  tf.dispose([padded, cut, reference, fast]);
  model.dispose();
});

test('LSTM: a cut batch gives the gradients of the padded batch, dropout included (1e-5)', () => {
  const model = buildLstm({ seed: 5, vocabularySize: 20, genreCount: GENRES });
  const ids = paddedTokens();
  const padded = tf.tensor2d(ids, [5, FULL_LENGTH], 'int32');
  const cut = tokenInputs(ids, FULL_LENGTH)([0, 1, 2, 3, 4]);
  const y = tf.tensor2d([1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0], [5, GENRES]);
  const reference = gradients(model, padded, y, 77);
  const fast = gradients(model, cut, y, 77);
  assert.equal(fast.size, model.trainableWeights.length);
  for (const [name, expected] of reference) assertCloseToScale(fast.get(name)!, expected, name);
  // Different dropout draws do give different gradients: the comparison above is not vacuous.
  const other = gradients(model, padded, y, 78);
  const [name, expected] = [...reference.entries()].find(([n]) => n.includes('bidirectional'))!;
  assert.ok(
    other.get(name)!.some((v, i) => Math.abs(v - expected[i]) > 1e-4),
    'another dropout seed changes the gradients',
  );
  tf.dispose([padded, cut, y]);
  model.dispose();
});

test('trainStep updates the weights as trainOnBatch does and returns the step’s predictions', async () => {
  const ids = paddedTokens();
  const x = tokenInputs(ids, FULL_LENGTH)([0, 1, 2, 3, 4]);
  const y = tf.tensor2d([1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0], [5, GENRES]);
  const runs = [];
  for (const useTrainStep of [false, true]) {
    const model = buildLstm({ seed: 8, vocabularySize: 20, genreCount: GENRES });
    const optimizer = compileForCoursework(model, 1e-2);
    const original = Math.random;
    Math.random = seededRandomSource(99).next;
    let loss: number;
    let probabilities: Float32Array | null = null;
    try {
      for (let step = 0; step < 3; step++) {
        if (useTrainStep) ({ loss, probabilities } = trainStep(model, optimizer, x, y));
        else loss = (await model.trainOnBatch(x, y)) as number;
      }
    } finally {
      Math.random = original;
    }
    runs.push({ loss: loss!, probabilities, weights: model.getWeights().map((w) => w.dataSync().slice()) });
    model.dispose();
    optimizer.dispose();
  }
  const [reference, fast] = runs;
  assert.ok(Math.abs(fast.loss - reference.loss) <= 1e-5 * Math.abs(reference.loss), `${fast.loss} vs ${reference.loss}`);
  reference.weights.forEach((w, i) => assertCloseToScale(fast.weights[i], w, `weight ${i}`));
  assert.equal(fast.probabilities!.length, 5 * GENRES);
  assert.ok(fast.probabilities!.every((p) => p > 0 && p < 1));
  tf.dispose([x, y]);
});

test('length-grouped training batches hold every film once, grouped by length, reproducibly', () => {
  const random = seededRandom(4);
  const lengths = Array.from({ length: 1000 }, () => 1 + Math.floor(random() * 60));
  const order = shuffled([...lengths.keys()], seededRandom(1));
  const batches = trainingBatches(order, 64, seededRandom(2), (film) => lengths[film], 4);
  assert.equal(batches.length, 16, 'pools of 256, 256, 256 and 232 films: 4 batches each, the last one partial');
  assert.deepEqual(
    batches.flat().sort((a, b) => a - b),
    [...lengths.keys()],
  );
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const spread = (batch: number[]) => Math.max(...batch.map((f) => lengths[f])) - Math.min(...batch.map((f) => lengths[f]));
  const plain = consecutiveBatches(order, 64);
  assert.ok(mean(batches.map(spread)) < mean(plain.map(spread)) / 2, 'grouped batches span far fewer lengths');
  assert.deepEqual(
    trainingBatches(order, 64, seededRandom(2), (film) => lengths[film], 4),
    batches,
  );
  assert.deepEqual(trainingBatches(order, 64, seededRandom(2)), plain, 'without lengths: consecutive slices');
});

test('inference batches sort by length and cover every position once', () => {
  const films = [10, 11, 12, 13, 14];
  const lengths: Record<number, number> = { 10: 5, 11: 1, 12: 9, 13: 1, 14: 3 };
  const batches = inferenceBatches(films, 2, (film) => lengths[film]);
  assert.deepEqual(batches, [[1, 3], [4, 0], [2]]);
  assert.deepEqual(inferenceBatches(films, 2), [[0, 1], [2, 3], [4]]);
});
