/**
 * The fused LSTM (pipeline/lib/engine/fused-lstm.ts) against tfjs' own per-timestep LSTM, on the
 * training backend (wasm with the native products): outputs and every weight's gradient, 1e-5
 * relative to the reference's largest magnitude, for
 * - single LSTM layers in every direction and output mode, with timesteps masked at the end, at the
 *   start and in the middle of a sequence, with and without dropout (seeded, so both draw the same masks),
 *   with 5 units (the cells in JavaScript) and 8 (in WebAssembly SIMD, on the LSTM arena);
 * - the coursework BiLSTM itself, in training mode (dropout on) and in inference;
 * and its rational tanh and sigmoid against Math.tanh and 1 / (1 + Math.exp(-x)).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { fusedLstmStatus, sigmoid, tanh } from '../../pipeline/lib/engine/fused-lstm.ts';
import { LstmArena } from '../../pipeline/lib/engine/lstm-cells.ts';
import { registerWasmTrainingKernels } from '../../pipeline/lib/engine/wasm-kernels/index.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { withSeededMathRandom } from '../helpers/seeded-math-random.ts';
import { buildLstm } from '../../pipeline/lib/train/models/lstm.ts';
import { assertCloseToScale } from '../helpers/assert-close.ts';

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
  tf.env().set('IS_TEST', true);
});

/** Runs `f` with tfjs' LSTM path (fused false) or the fused one, and a seeded Math.random. */
function withPath<T>(fused: boolean, seed: number, f: () => T): T {
  registerWasmTrainingKernels({ fusedLstm: fused });
  try {
    return withSeededMathRandom(seed, f);
  } finally {
    registerWasmTrainingKernels({ fusedLstm: true });
  }
}

interface Run {
  output: Float32Array;
  grads: Map<string, Float32Array>;
  calls: number;
}

/** Output and gradients of sum(output · weights) (a fixed random projection), by weight name. */
function run(model: tf.LayersModel, x: tf.Tensor, training: boolean): Run {
  const before = fusedLstmStatus().calls;
  let output: Float32Array | null = null;
  const { value, grads } = tf.variableGrads(
    () => {
      const y = model.apply(x, { training }) as tf.Tensor;
      output = y.dataSync().slice() as Float32Array;
      const projection = tf.randomNormal(y.shape, 0, 1, 'float32', 123);
      return tf.sum(tf.mul(y, projection)) as tf.Scalar;
    },
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const out = new Map(Object.entries(grads).map(([name, g]) => [name, g.dataSync().slice() as Float32Array]));
  tf.dispose([value, ...Object.values(grads)]);
  return { output: output!, grads: out, calls: fusedLstmStatus().calls - before };
}

function compare(fused: Run, reference: Run, what: string): void {
  assert.equal(reference.calls, 0, `${what}: the reference ran tfjs' own path`);
  assert.ok(fused.calls > 0, `${what}: the fused path ran`);
  assertCloseToScale(fused.output, reference.output, `${what} output`);
  assert.equal(fused.grads.size, reference.grads.size);
  for (const [name, expected] of reference.grads) assertCloseToScale(fused.grads.get(name)!, expected, `${what} ∂${name}`);
}

/** Token ids [4, 7]: 0 is padding (masked) — at the end, at the start, in the middle, and none. */
const TOKENS = [
  [3, 5, 2, 8, 0, 0, 0],
  [0, 0, 4, 9, 6, 1, 2],
  [7, 0, 0, 5, 3, 0, 8],
  [2, 4, 6, 8, 1, 3, 5],
];

/** embedding (mask_zero) → one LSTM layer, optionally in a Bidirectional wrapper. */
function singleLayerModel(options: {
  goBackwards: boolean;
  returnSequences: boolean;
  dropout: number;
  recurrentDropout: number;
  bidirectional: boolean;
  units?: number;
}): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.embedding({
      inputDim: 10,
      outputDim: 6,
      maskZero: true,
      inputLength: 7,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 1 }),
    }),
  );
  const lstm = tf.layers.lstm({
    units: options.units ?? 5,
    returnSequences: options.returnSequences,
    goBackwards: options.bidirectional ? undefined : options.goBackwards,
    recurrentActivation: 'sigmoid',
    unitForgetBias: true,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }),
    dropout: options.dropout,
    recurrentDropout: options.recurrentDropout,
  });
  model.add(options.bidirectional ? tf.layers.bidirectional({ layer: lstm as tf.RNN, mergeMode: 'concat' }) : lstm);
  return model;
}

for (const units of [5, 8]) {
  for (const returnSequences of [true, false]) {
    for (const goBackwards of [false, true]) {
      for (const dropout of [0, 0.4]) {
        const name = `one LSTM layer of ${units} units (${goBackwards ? 'backwards' : 'forwards'}, ${returnSequences ? 'every output' : 'last output'}, ${dropout ? 'dropout' : 'no dropout'}): outputs and gradients equal tfjs' (1e-5)`;
        test(name, () => {
          const model = singleLayerModel({ goBackwards, returnSequences, dropout, recurrentDropout: dropout / 2, bidirectional: false, units });
          const x = tf.tensor2d(TOKENS, undefined, 'int32');
          const reference = withPath(false, 42, () => run(model, x, true));
          const fused = withPath(true, 42, () => run(model, x, true));
          compare(fused, reference, name);
          tf.dispose(x);
          model.dispose();
        });
      }
    }
  }
}

test('the LSTM arena: aligned arrays while it has room, then null; it tells its arrays from others', () => {
  const arena = new LstmArena(65536);
  const a = arena.take(10)!;
  const b = arena.take(100)!;
  assert.equal(a.length, 10);
  assert.equal(b.byteOffset % 64, 0);
  assert.ok(b.byteOffset >= a.byteOffset + 40);
  assert.equal(arena.take(16384), null, 'more than is left');
  assert.ok(arena.holds(a, b));
  assert.ok(!arena.holds(a, new Float32Array(4)));
});

test('dropout is really drawn: another seed changes the fused gradients', () => {
  const model = singleLayerModel({ goBackwards: false, returnSequences: true, dropout: 0.4, recurrentDropout: 0.2, bidirectional: true });
  const x = tf.tensor2d(TOKENS, undefined, 'int32');
  const a = withPath(true, 42, () => run(model, x, true));
  const b = withPath(true, 43, () => run(model, x, true));
  const [name, expected] = [...a.grads.entries()].find(([n]) => n.includes('kernel'))!;
  assert.ok(b.grads.get(name)!.some((v, i) => Math.abs(v - expected[i]) > 1e-4));
  tf.dispose(x);
  model.dispose();
});

test("the coursework BiLSTM: training-mode outputs and every gradient equal tfjs' path (1e-5), and inference too", () => {
  const model = buildLstm({ seed: 9, vocabularySize: 10, genreCount: 3 });
  const x = tf.tensor2d(TOKENS, undefined, 'int32');
  const reference = withPath(false, 7, () => run(model, x, true));
  const fused = withPath(true, 7, () => run(model, x, true));
  assert.equal(fused.calls, 4, 'two Bidirectional layers, two directions each');
  compare(fused, reference, 'BiLSTM (training)');
  const inference = [false, true].map((fusedPath) => withPath(fusedPath, 1, () => (model.predict(x) as tf.Tensor).dataSync().slice()));
  assertCloseToScale(inference[1], inference[0], 'BiLSTM probabilities (inference)');
  tf.dispose(x);
  model.dispose();
});

test("the fused path's tanh and sigmoid are within 3e-7 of Math.tanh and 1 / (1 + e^-x), and odd / symmetric", () => {
  let worstTanh = 0;
  let worstSigmoid = 0;
  let worstRelativeNearZero = 0;
  for (let x = -30; x <= 30; x += 0.00137) {
    worstTanh = Math.max(worstTanh, Math.abs(tanh(x) - Math.tanh(x)));
    worstSigmoid = Math.max(worstSigmoid, Math.abs(sigmoid(x) - 1 / (1 + Math.exp(-x))));
    assert.equal(tanh(-x), -tanh(x));
  }
  for (let x = 1e-8; x < 0.5; x *= 1.1) worstRelativeNearZero = Math.max(worstRelativeNearZero, Math.abs(tanh(x) / Math.tanh(x) - 1));
  assert.ok(worstTanh < 3e-7, `tanh: ${worstTanh}`);
  assert.ok(worstSigmoid < 2e-7, `sigmoid: ${worstSigmoid}`);
  assert.ok(worstRelativeNearZero < 2e-7, `tanh near 0, relative: ${worstRelativeNearZero}`);
  assert.equal(tanh(1e9), tanh(8));
  assert.ok(tanh(8) <= 1 && sigmoid(-1e9) >= 0 && sigmoid(1e9) <= 1);
});
