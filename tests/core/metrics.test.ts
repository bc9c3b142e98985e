import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { binaryCrossEntropy, predictionMetrics, topK } from '../../pipeline/lib/core/metrics.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

await tf.setBackend('cpu');

function close(actual: number, expected: number, tolerance = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} ≠ ${expected}`);
}

// Hand-worked example: 4 films × 3 genres (A, B, C), threshold 0.5 (positive iff p > 0.5).
//
//          probabilities        labels      predicted (p > 0.5)
// film 1   0.9  0.2  0.6        1 0 0       1 0 1
// film 2   0.4  0.7  0.5        1 1 0       0 1 0   ← C = 0.5 exactly: NOT positive
// film 3   0.8  0.1  0.3        0 0 1       1 0 0
// film 4   0.1  0.6  0.7        0 1 0       0 1 1
//
// A: support 2 (films 1, 2), predicted 2 (films 1, 3), TP 1 (film 1), FP 1, FN 1
//    precision 1/2, recall 1/2, F1 = 2·1/(2·1 + 1 + 1) = 1/2
// B: support 2 (films 2, 4), predicted 2 (films 2, 4), TP 2, FP 0, FN 0
//    precision 1, recall 1, F1 = 4/4 = 1
// C: support 1 (film 3), predicted 2 (films 1, 4), TP 0, FP 2, FN 1
//    precision 0/2 = 0, recall 0/1 = 0, F1 = 0/(0 + 2 + 1) = 0
// micro: TP 3, predicted 6, support 5 → precision 3/6 = 0.5, recall 3/5 = 0.6,
//        F1 = 2·3/(2·3 + 3 + 2) = 6/11
// macro F1 = (1/2 + 1 + 0)/3 = 1/2
const GENRES = ['A', 'B', 'C'];
const P = new Float32Array([0.9, 0.2, 0.6, 0.4, 0.7, 0.5, 0.8, 0.1, 0.3, 0.1, 0.6, 0.7]);
const Y = new Uint8Array([1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0]);

test('hand-worked example: per-genre, micro and macro scores', () => {
  const m = predictionMetrics(P, Y, GENRES);
  assert.deepEqual(
    m.perGenre.map((g) => [g.genre, g.support, g.predictedPositives, g.truePositives]),
    [
      ['A', 2, 2, 1],
      ['B', 2, 2, 2],
      ['C', 1, 2, 0],
    ],
  );
  close(m.perGenre[0].precision, 0.5);
  close(m.perGenre[0].recall, 0.5);
  close(m.perGenre[0].f1, 0.5);
  close(m.perGenre[1].precision, 1);
  close(m.perGenre[1].recall, 1);
  close(m.perGenre[1].f1, 1);
  assert.equal(m.perGenre[2].precision, 0);
  assert.equal(m.perGenre[2].recall, 0);
  assert.equal(m.perGenre[2].f1, 0);
  close(m.microPrecision, 0.5);
  close(m.microRecall, 0.6);
  close(m.microF1, 6 / 11);
  close(m.macroF1, 0.5);
});

test('hand-worked example: loss is the mean of the 12 cross-entropy terms', () => {
  // −ln p where the label is 1, −ln(1 − p) where it is 0, cell by cell (p as float32, like the input).
  const f = Math.fround;
  const terms = [
    -Math.log(f(0.9)),
    -Math.log(1 - f(0.2)),
    -Math.log(1 - f(0.6)),
    -Math.log(f(0.4)),
    -Math.log(f(0.7)),
    -Math.log(1 - f(0.5)),
    -Math.log(1 - f(0.8)),
    -Math.log(1 - f(0.1)),
    -Math.log(f(0.3)),
    -Math.log(1 - f(0.1)),
    -Math.log(f(0.6)),
    -Math.log(1 - f(0.7)),
  ];
  // 0.10536 + 0.22314 + 0.91629 + 0.91629 + 0.35667 + 0.69315 + 1.60944 + 0.10536 + 1.20397
  //   + 0.10536 + 0.51083 + 1.20397 = 7.94984; / 12 ≈ 0.66249
  const expected = terms.reduce((a, b) => a + b, 0) / 12;
  close(binaryCrossEntropy(P, Y), expected);
  close(predictionMetrics(P, Y, GENRES).loss, expected);
  close(expected, 0.66249, 1e-5, 'sanity');
});

test('a probability of exactly the threshold is a negative (Keras Precision/Recall: y_pred > threshold)', () => {
  const m = predictionMetrics(new Float32Array([0.5, 0.5]), new Uint8Array([1, 0]), ['x', 'y']);
  assert.equal(m.perGenre[0].predictedPositives, 0);
  assert.equal(m.perGenre[0].recall, 0);
  assert.equal(m.microRecall, 0);
  const lower = predictionMetrics(new Float32Array([0.5, 0.5]), new Uint8Array([1, 0]), ['x', 'y'], 0.49);
  assert.deepEqual(
    lower.perGenre.map((g) => g.predictedPositives),
    [1, 1],
  );
  close(lower.microPrecision, 0.5);
  close(lower.microRecall, 1);
  close(lower.microF1, 2 / 3);
  // Film 2's C in the example sits exactly on 0.5: it would be a false positive with >=.
  assert.equal(predictionMetrics(P, Y, GENRES, 0.5).perGenre[2].predictedPositives, 2);
});

test('no positive labels and no positive predictions: every score is 0 (zero_division = 0)', () => {
  const m = predictionMetrics(new Float32Array([0.1, 0.2, 0.3, 0.4]), new Uint8Array(4), ['x', 'y']);
  assert.deepEqual([m.microPrecision, m.microRecall, m.microF1, m.macroF1], [0, 0, 0, 0]);
  for (const g of m.perGenre) assert.deepEqual([g.precision, g.recall, g.f1, g.support, g.predictedPositives, g.truePositives], [0, 0, 0, 0, 0, 0]);
  assert.ok(Number.isFinite(m.loss) && m.loss > 0);
});

test('all-zero predictions against positive labels: recall 0, precision 0 (not NaN)', () => {
  const m = predictionMetrics(new Float32Array(6), new Uint8Array([1, 0, 1, 1, 0, 0]), ['x', 'y', 'z']);
  assert.deepEqual([m.microPrecision, m.microRecall, m.microF1, m.macroF1], [0, 0, 0, 0]);
  assert.deepEqual(
    m.perGenre.map((g) => g.support),
    [2, 0, 1],
  );
  // p = 0 is clipped to 1e-7: each positive cell costs −ln(1e-7) ≈ 16.118, negatives ≈ 1e-7.
  close(m.loss, (3 * -Math.log(Math.fround(1e-7)) + 3 * -Math.log(1 - Math.fround(1e-7))) / 6, 1e-9);
});

test('macro F1 averages over every genre, zero-support genres included (scikit-learn macro)', () => {
  // Genre x: support 1, predicted 1, TP 1 → F1 1.  Genre y: no labels, no predictions → F1 0.
  const m = predictionMetrics(new Float32Array([0.9, 0.1, 0.2, 0.3]), new Uint8Array([1, 0, 0, 0]), ['x', 'y']);
  assert.deepEqual(
    m.perGenre.map((g) => g.f1),
    [1, 0],
  );
  close(m.macroF1, 0.5);
  close(m.microF1, 1);
  // A zero-support genre that is predicted: precision 0 (0 of 1), recall 0 (0/0), F1 0.
  const n = predictionMetrics(new Float32Array([0.9, 0.8]), new Uint8Array([1, 0]), ['x', 'y']);
  assert.deepEqual([n.perGenre[1].precision, n.perGenre[1].recall, n.perGenre[1].f1], [0, 0, 0]);
  close(n.macroF1, 0.5);
  close(n.microPrecision, 0.5);
});

test('binary cross-entropy agrees with tfjs (cpu) — clipping at ε = 1e-7 included', () => {
  const rows = 7;
  const cols = 5;
  const random = (() => {
    let s = 12345;
    return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  })();
  const probabilities = new Float32Array(rows * cols).map(() => random());
  const labels = new Uint8Array(rows * cols).map(() => (random() < 0.4 ? 1 : 0));
  // Saturated and out-of-range outputs, both labels, to exercise the clip.
  probabilities.set([0, 1, 0, 1, 1e-9, 1 - 1e-9, 0.5], 0);
  labels.set([1, 0, 0, 1, 1, 0, 1], 0);

  const ours = binaryCrossEntropy(probabilities, labels);
  const theirs = tf.tidy(
    () => tf.mean(tf.metrics.binaryCrossentropy(tf.tensor2d(labels, [rows, cols], 'float32'), tf.tensor2d(probabilities, [rows, cols]))).dataSync()[0],
  );
  close(ours, theirs, 1e-5 * Math.abs(theirs), 'vs tf.metrics.binaryCrossentropy');

  // The same as the loss a compiled model reports.
  const input = tf.input({ shape: [cols] });
  const model = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'linear' }).apply(input) as tf.SymbolicTensor });
  model.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
  const evaluated = tf.tidy(
    () => (model.evaluate(tf.tensor2d(probabilities, [rows, cols]), tf.tensor2d(labels, [rows, cols], 'float32')) as tf.Scalar).dataSync()[0],
  );
  close(ours, evaluated, 1e-5 * evaluated, 'vs model.evaluate');

  // A saturated wrong output costs −ln(1 − float32(1 − 1e-7)) = −ln(1.19e-7) ≈ 15.942, as in Keras.
  close(binaryCrossEntropy(new Float32Array([1]), new Uint8Array([0])), -Math.log(1 - Math.fround(1 - 1e-7)), 1e-12);
  close(binaryCrossEntropy(new Float32Array([1]), new Uint8Array([0])), 15.942, 1e-3);
});

test('topK: most probable first, ties to the genre listed first, k capped at the genre count', () => {
  const top = topK(P, GENRES, 2);
  assert.deepEqual(
    top.map((row) => row.map((g) => g.genre)),
    [
      ['A', 'C'],
      ['B', 'C'],
      ['A', 'C'],
      ['C', 'B'],
    ],
  );
  close(top[0][0].probability, Math.fround(0.9));
  assert.deepEqual(
    topK(new Float32Array([0.3, 0.7, 0.3, 0.7]), ['w', 'x', 'y', 'z']).map((r) => r.map((g) => g.genre)),
    [['x', 'z', 'w']],
  );
  assert.equal(topK(P, GENRES, 10)[0].length, 3);
  assert.deepEqual(topK(P, GENRES, 0), [[], [], [], []]);
  assert.deepEqual(topK(new Float32Array(0), GENRES), []);
});

test('mismatched shapes and empty sets are rejected', () => {
  assert.throws(() => predictionMetrics(new Float32Array(5), new Uint8Array(5), GENRES), RangeError);
  assert.throws(() => predictionMetrics(new Float32Array(6), new Uint8Array(3), GENRES), RangeError);
  assert.throws(() => predictionMetrics(new Float32Array(0), new Uint8Array(0), GENRES), RangeError);
  assert.throws(() => predictionMetrics(new Float32Array(3), new Uint8Array(3), []), RangeError);
  assert.throws(() => binaryCrossEntropy(new Float32Array(2), new Uint8Array(3)), RangeError);
  assert.throws(() => topK(P, GENRES, -1), RangeError);
});
