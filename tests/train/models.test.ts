import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildCnn, compileForCoursework, deriveSeed } from '../../pipeline/lib/train/models/cnn.ts';
import { buildLstm, orthogonalMatrix } from '../../pipeline/lib/train/models/lstm.ts';
import { architectureTable, formatShape } from '../../pipeline/lib/train/models/summary.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

await tf.setBackend('cpu');

/** Every weight of `model`, flattened, in model order. */
function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function sameWeights(a: tf.LayersModel, b: tf.LayersModel): boolean {
  const wa = weightValues(a);
  const wb = weightValues(b);
  return wa.length === wb.length && wa.every((w, i) => w.length === wb[i].length && w.every((v, j) => v === wb[i][j]));
}

function weightOf(model: tf.LayersModel, name: string): tf.Tensor {
  const found = model.weights.find((w) => w.originalName === name);
  assert.ok(found, `no weight ${name}`);
  return found.read();
}

/** max |A·Aᵀ − I| for a rows×cols row-major matrix (rows ≤ cols: orthonormal rows). */
function rowOrthonormalityError(a: ArrayLike<number>, rows: number, cols: number): number {
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      let dot = 0;
      for (let k = 0; k < cols; k++) dot += a[i * cols + k] * a[j * cols + k];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

// The coursework's printed Keras summary of the CNN (name, type, output shape, params).
const COURSEWORK_CNN = [
  ['Input', 'InputLayer', '(None, 64, 64, 3)', 0],
  ['Conv0', 'Conv2D', '(None, 32, 32, 16)', 448], // 3·3·3·16 + 16
  ['Drop1', 'Dropout', '(None, 32, 32, 16)', 0],
  ['Conv1', 'Conv2D', '(None, 32, 32, 32)', 4_640], // 3·3·16·32 + 32
  ['Conv2', 'Conv2D', '(None, 32, 32, 32)', 9_248], // 3·3·32·32 + 32
  ['Drop2', 'Dropout', '(None, 32, 32, 32)', 0],
  ['Pool1', 'MaxPooling2D', '(None, 16, 16, 32)', 0],
  ['Conv3', 'Conv2D', '(None, 16, 16, 64)', 18_496], // 3·3·32·64 + 64
  ['Conv4', 'Conv2D', '(None, 16, 16, 64)', 36_928], // 3·3·64·64 + 64
  ['Drop3', 'Dropout', '(None, 16, 16, 64)', 0],
  ['Pool2', 'MaxPooling2D', '(None, 8, 8, 64)', 0],
  ['Conv5', 'Conv2D', '(None, 8, 8, 128)', 73_856], // 3·3·64·128 + 128
  ['Conv6', 'Conv2D', '(None, 8, 8, 128)', 147_584], // 3·3·128·128 + 128
  ['Drop4', 'Dropout', '(None, 8, 8, 128)', 0],
  ['Pool3', 'MaxPooling2D', '(None, 4, 4, 128)', 0],
  ['Flat', 'Flatten', '(None, 2048)', 0], // 4·4·128
  ['FC1', 'Dense', '(None, 1024)', 2_098_176], // 2048·1024 + 1024
  ['Drop5', 'Dropout', '(None, 1024)', 0],
  ['FC2', 'Dense', '(None, 1024)', 1_049_600], // 1024·1024 + 1024
  ['Drop6', 'Dropout', '(None, 1024)', 0],
  ['Output', 'Dense', '(None, 25)', 25_625], // 1024·25 + 25
] as const;

// The coursework's LSTM summary, less its text_vectorization row (preprocessing happens outside
// the model) and with genrelens' default sequence length 100 where the coursework had 200.
const COURSEWORK_LSTM = [
  ['embedding', 'Embedding', '(None, None, 256)', 2_560_000], // 10,000 · 256
  ['bidirectional', 'Bidirectional', '(None, None, 512)', 1_050_624], // 2 · 4·256·(256 + 256 + 1)
  ['bidirectional_1', 'Bidirectional', '(None, 256)', 656_384], // 2 · 4·128·(512 + 128 + 1)
  ['dense', 'Dense', '(None, 128)', 32_896], // 256·128 + 128
  ['dropout', 'Dropout', '(None, 128)', 0],
  ['dense_1', 'Dense', '(None, 25)', 3_225], // 128·25 + 25
] as const;

test('CNN: the coursework architecture, names, shapes and 3,464,601 parameters', () => {
  const model = buildCnn({ seed: 1 });
  const table = architectureTable(model);
  assert.deepEqual(
    table.rows.map((r) => [r.layer, r.type, r.outputShape, r.params]),
    COURSEWORK_CNN.map((r) => [...r]),
  );
  assert.equal(table.totalParams, 3_464_601);
  assert.equal(table.trainableParams, 3_464_601);
  assert.equal(model.countParams(), 3_464_601);
  assert.equal(model.name, 'model');

  const dropRates = model.layers.filter((l) => l.getClassName() === 'Dropout').map((l) => l.getConfig().rate);
  assert.deepEqual(dropRates, [0.2, 0.2, 0.2, 0.2, 0.5, 0.5]);
  const conv0 = model.getLayer('Conv0').getConfig();
  assert.deepEqual([conv0.kernelSize, conv0.strides, conv0.padding, conv0.activation], [[3, 3], [2, 2], 'same', 'relu']);
  assert.equal(model.getLayer('Output').getConfig().activation, 'sigmoid');
  // Keras' default kernel initialiser (tfjs' own default for Conv2D/Dense is glorotNormal).
  // (tfjs serialises glorotUniform as VarianceScaling(scale 1, fanAvg, uniform).)
  const init = model.getLayer('FC1').getConfig().kernelInitializer as { className: string; config: Record<string, unknown> };
  assert.equal(init.className, 'VarianceScaling');
  assert.deepEqual([init.config.scale, init.config.mode, init.config.distribution], [1, 'fanAvg', 'uniform']);
  assert.equal(typeof init.config.seed, 'number');
  model.dispose();
});

test('CNN: other sizes and genre counts; bad sizes are rejected', () => {
  const model = buildCnn({ imageSize: 32, genreCount: 7, seed: 1 });
  const table = architectureTable(model);
  assert.equal(table.rows.find((r) => r.layer === 'Flat')?.outputShape, '(None, 512)');
  assert.equal(table.rows.find((r) => r.layer === 'FC1')?.params, 512 * 1024 + 1024);
  assert.equal(table.rows.at(-1)?.outputShape, '(None, 7)');
  const y = model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 7]);
  for (const p of y.dataSync()) assert.ok(p > 0 && p < 1);
  model.dispose();
  assert.throws(() => buildCnn({ imageSize: 60, seed: 1 }), RangeError);
  assert.throws(() => buildCnn({ genreCount: 0, seed: 1 }), RangeError);
  assert.throws(() => buildCnn({ seed: 1.5 }), RangeError);
});

test('CNN: the same seed gives identical initial weights, another seed different ones', () => {
  const a = buildCnn({ imageSize: 16, seed: 123 });
  const b = buildCnn({ imageSize: 16, seed: 123 });
  const c = buildCnn({ imageSize: 16, seed: 124 });
  assert.ok(sameWeights(a, b));
  assert.ok(!sameWeights(a, c));
  // Each kernel is glorot-uniform with its own seed derived from the model seed and its name.
  for (const name of ['Conv0', 'Conv6', 'FC2']) {
    const kernel = weightOf(a, `${name}/kernel`);
    const expected = tf.initializers.glorotUniform({ seed: deriveSeed(123, `${name}/kernel`) }).apply(kernel.shape, 'float32');
    assert.deepEqual(kernel.dataSync(), expected.dataSync(), name);
  }
  // Biases start at zero, as in Keras.
  assert.ok(
    weightOf(a, 'FC1/bias')
      .dataSync()
      .every((v) => v === 0),
  );
  for (const m of [a, b, c]) m.dispose();
});

test('deriveSeed: stable, 31-bit, different per label and per seed', () => {
  assert.equal(deriveSeed(42, 'Conv0/kernel'), deriveSeed(42, 'Conv0/kernel'));
  assert.notEqual(deriveSeed(42, 'Conv0/kernel'), deriveSeed(42, 'Conv1/kernel'));
  assert.notEqual(deriveSeed(42, 'Conv0/kernel'), deriveSeed(43, 'Conv0/kernel'));
  for (const label of ['a', 'b', 'FC1/kernel', 'bidirectional/backward/kernel']) {
    const s = deriveSeed(7, label);
    assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 31);
  }
});

test('compileForCoursework: Adam 1e-4 with Keras ε, binary cross-entropy, bare loss from trainOnBatch', async () => {
  const model = buildCnn({ imageSize: 16, genreCount: 3, seed: 5 });
  const optimizer = compileForCoursework(model);
  assert.equal(model.optimizer, optimizer);
  const config = optimizer.getConfig();
  assert.deepEqual([config.learningRate, config.beta1, config.beta2, config.epsilon], [1e-4, 0.9, 0.999, 1e-7]);
  assert.equal(model.loss, 'binaryCrossentropy');
  const loss = await model.trainOnBatch(
    tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1),
    tf.tensor2d([
      [1, 0, 1],
      [0, 1, 0],
    ]),
  );
  assert.equal(typeof loss, 'number');
  assert.ok(Number.isFinite(loss));
  assert.equal(compileForCoursework(buildCnn({ imageSize: 16, seed: 5 }), 3e-3).getConfig().learningRate, 3e-3);
  assert.throws(() => compileForCoursework(model, 0), RangeError);
  model.dispose();
  optimizer.dispose();
});

test('LSTM: the coursework architecture, names, shapes and 4,303,129 parameters', () => {
  const model = buildLstm({ seed: 1 });
  const table = architectureTable(model);
  assert.deepEqual(
    table.rows.map((r) => [r.layer, r.type, r.outputShape, r.params]),
    COURSEWORK_LSTM.map((r) => [...r]),
  );
  assert.equal(table.totalParams, 4_303_129);
  assert.equal(table.trainableParams, 4_303_129);
  assert.equal(model.countParams(), 4_303_129);
  assert.equal(model.name, 'sequential');
  assert.equal(model.inputs[0].dtype, 'int32');
  assert.deepEqual(model.inputs[0].shape, [null, null], 'any overview length: batches are cut to their longest overview');

  const embedding = model.getLayer('embedding').getConfig();
  assert.deepEqual([embedding.inputDim, embedding.outputDim, embedding.maskZero], [10_000, 256, true]);
  const inner = (name: string) => (model.getLayer(name).getConfig().layer as { config: Record<string, unknown> }).config;
  for (const [name, units, returnSequences] of [
    ['bidirectional', 256, true],
    ['bidirectional_1', 128, false],
  ] as const) {
    const lstm = inner(name);
    assert.equal(lstm.units, units);
    assert.equal(lstm.returnSequences, returnSequences);
    assert.equal(lstm.dropout, 0.5);
    assert.equal(lstm.recurrentDropout, 0.2);
    // Keras' defaults, which tfjs' are not.
    assert.equal(lstm.recurrentActivation, 'sigmoid');
    assert.equal(lstm.activation, 'tanh');
    assert.equal(lstm.unitForgetBias, true);
    assert.equal(model.getLayer(name).getConfig().mergeMode, 'concat');
  }
  assert.equal(model.getLayer('dropout').getConfig().rate, 0.8);
  assert.equal(model.getLayer('dense').getConfig().activation, 'relu');
  assert.equal(model.getLayer('dense_1').getConfig().activation, 'sigmoid');
  model.dispose();
});

test('LSTM: seeded, Keras-style initial weights; forward and backward directions differ', () => {
  const a = buildLstm({ seed: 9, vocabularySize: 300, genreCount: 4 });
  const b = buildLstm({ seed: 9, vocabularySize: 300, genreCount: 4 });
  const c = buildLstm({ seed: 10, vocabularySize: 300, genreCount: 4 });
  assert.ok(sameWeights(a, b), 'same seed, same weights');
  assert.ok(!sameWeights(a, c), 'other seed, other weights');

  const embeddings = weightOf(a, 'embedding/embeddings').dataSync();
  assert.ok(embeddings.every((v) => v >= -0.05 && v <= 0.05));

  for (const [layer, units] of [
    ['bidirectional', 256],
    ['bidirectional_1', 128],
  ] as const) {
    for (const direction of ['forward', 'backward']) {
      const recurrent = weightOf(a, `${layer}/${direction}_${layer === 'bidirectional' ? 'lstm' : 'lstm_1'}/recurrent_kernel`);
      assert.deepEqual(recurrent.shape, [units, 4 * units]);
      assert.ok(rowOrthonormalityError(recurrent.dataSync(), units, 4 * units) < 1e-5, 'orthogonal recurrent kernel');
      // unit_forget_bias: bias = [input gate 0…, forget gate 1…, cell 0…, output 0…].
      const bias = weightOf(a, `${layer}/${direction}_${layer === 'bidirectional' ? 'lstm' : 'lstm_1'}/bias`).dataSync();
      bias.forEach((v, i) => assert.equal(v, i >= units && i < 2 * units ? 1 : 0));
    }
    const name = layer === 'bidirectional' ? 'lstm' : 'lstm_1';
    const fk = weightOf(a, `${layer}/forward_${name}/kernel`).dataSync();
    const bk = weightOf(a, `${layer}/backward_${name}/kernel`).dataSync();
    const frk = weightOf(a, `${layer}/forward_${name}/recurrent_kernel`).dataSync();
    const brk = weightOf(a, `${layer}/backward_${name}/recurrent_kernel`).dataSync();
    assert.notDeepEqual(Array.from(fk.slice(0, 32)), Array.from(bk.slice(0, 32)), `${layer}: backward kernel is not a copy`);
    assert.notDeepEqual(Array.from(frk.slice(0, 32)), Array.from(brk.slice(0, 32)), `${layer}: backward recurrent kernel is not a copy`);
  }
  for (const m of [a, b, c]) m.dispose();
});

test('orthogonalMatrix equals tfjs’ orthogonal initialiser with the same seed, both orientations', () => {
  for (const [rows, cols] of [
    [6, 24],
    [24, 6],
    [8, 8],
  ] as const) {
    const ours = orthogonalMatrix(rows, cols, 77, 1.5);
    const theirs = tf.initializers.orthogonal({ seed: 77, gain: 1.5 }).apply([rows, cols], 'float32').dataSync();
    assert.equal(ours.length, theirs.length);
    ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) < 1e-4, `[${rows}x${cols}] ${i}: ${v} vs ${theirs[i]}`));
  }
  const wide = orthogonalMatrix(16, 64, 3);
  assert.ok(rowOrthonormalityError(wide, 16, 64) < 1e-6);
  assert.notDeepEqual(Array.from(orthogonalMatrix(4, 16, 1)), Array.from(orthogonalMatrix(4, 16, 2)));
});

test('LSTM: padding (token 0) is masked — trailing padding does not change the prediction', () => {
  const short = buildLstm({ seed: 4, vocabularySize: 50, genreCount: 3 });
  const long = short;
  const a = short.predict(
    tf.tensor2d(
      [
        [5, 9, 2, 0],
        [7, 0, 0, 0],
      ],
      [2, 4],
      'int32',
    ),
  ) as tf.Tensor;
  const b = long.predict(
    tf.tensor2d(
      [
        [5, 9, 2, 0, 0, 0, 0],
        [7, 0, 0, 0, 0, 0, 0],
      ],
      [2, 7],
      'int32',
    ),
  ) as tf.Tensor;
  assert.deepEqual(a.shape, [2, 3]);
  const [pa, pb] = [a.dataSync(), b.dataSync()];
  pa.forEach((v, i) => {
    assert.ok(v > 0 && v < 1);
    assert.ok(Math.abs(v - pb[i]) < 1e-5, `${v} vs ${pb[i]}`);
  });
  // Training mode runs the input/recurrent dropout path.
  const trained = short.apply(tf.tensor2d([[5, 9, 2, 0]], [1, 4], 'int32'), { training: true }) as tf.Tensor;
  assert.deepEqual(trained.shape, [1, 3]);
  assert.ok(trained.dataSync().every(Number.isFinite));
  short.dispose();
});

test('LSTM: recurrentDropout is configurable and validated', () => {
  const model = buildLstm({ seed: 1, vocabularySize: 20, genreCount: 2, recurrentDropout: 0 });
  const lstm = (model.getLayer('bidirectional').getConfig().layer as { config: Record<string, unknown> }).config;
  assert.equal(lstm.recurrentDropout, 0);
  assert.equal(lstm.dropout, 0.5);
  model.dispose();
  assert.throws(() => buildLstm({ seed: 1, recurrentDropout: 1 }), RangeError);
});

test('saved and reloaded models keep their weights and predictions (and the LSTM reloads fast)', async () => {
  const original = buildLstm({ seed: 2, vocabularySize: 40, genreCount: 3 });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await original.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  assert.ok(artifacts);
  const started = Date.now();
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  assert.ok(Date.now() - started < 20_000, 'no slow orthogonal initialiser runs on load');
  assert.ok(sameWeights(original, loaded));
  assert.deepEqual(
    architectureTable(loaded).rows.map((r) => r.layer),
    ['embedding', 'bidirectional', 'bidirectional_1', 'dense', 'dropout', 'dense_1'],
  );
  const x = tf.tensor2d([[3, 1, 4, 1, 5]], [1, 5], 'int32');
  const [p, q] = [(original.predict(x) as tf.Tensor).dataSync(), (loaded.predict(x) as tf.Tensor).dataSync()];
  p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) < 1e-6));
  original.dispose();
  loaded.dispose();
});

test('formatShape writes shapes the Keras way', () => {
  assert.equal(formatShape([null, 32, 32, 16]), '(None, 32, 32, 16)');
  assert.equal(formatShape([null, 25]), '(None, 25)');
  assert.equal(formatShape([null]), '(None,)');
  assert.equal(formatShape([[null, 4]]), '(None, 4)');
  assert.equal(
    formatShape([
      [null, 4],
      [null, 2],
    ]),
    '[(None, 4), (None, 2)]',
  );
});
