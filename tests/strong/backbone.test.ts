/**
 * The poster backbone (pipeline/lib/strong/backbone.ts, backbone-features.ts): the folded network
 * computes what the Keras model computes (a small MobileNet-like model with random batch-norm
 * statistics, on the cpu backend), and so does its ONNX graph on ONNX Runtime; with the optional
 * package installed, the folded MobileNetV2 gives the shipped network's pooled block outputs on either
 * engine, and the features do not depend on the thread count.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  BACKBONE,
  backboneEngine,
  backboneFeatureNames,
  backbonePackage,
  loadBackbone,
  loadBackboneNetwork,
  type BackboneEngine,
} from '../../pipeline/lib/strong/backbone.ts';
import { backboneOnnx, BACKBONE_ONNX_INPUT, BACKBONE_ONNX_OUTPUT } from '../../pipeline/lib/strong/backbone-onnx.ts';
import { foldedNetwork } from '../../pipeline/lib/strong/folded-network.ts';
import { loadNativeModel, nativeKernelsWanted, onnxRuntimeLoads } from '../../pipeline/lib/engine/native-kernels.ts';
import { backboneFeatures } from '../../pipeline/lib/strong/backbone-features.ts';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

const installed = (() => {
  try {
    backbonePackage();
    return true;
  } catch {
    return false;
  }
})();
const skipUnlessInstalled = !installed && `the optional package ${BACKBONE.package} is not installed`;

/** max |a − b| / max |b| over the tensors' values. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return diff / scale;
}

/** Random batch-norm statistics (γ, β, mean, variance > 0), so folding them is not the identity. */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  const random = seededRandom(seed);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const n = layer.getWeights()[0].shape[0];
    const draw = (low: number, high: number) => tf.tensor1d(Array.from({ length: n }, () => low + (high - low) * random()));
    layer.setWeights([draw(0.5, 1.5), draw(-0.5, 0.5), draw(-0.3, 0.3), draw(0.2, 2)]);
  }
}

/** A MobileNet-like block: padded stride-2 stem, expand, depthwise, project and a residual add; a padded stride-2 depthwise branch. */
function tinyMobileNet(): tf.LayersModel {
  const input = tf.input({ name: 'input', shape: [12, 12, 3] });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const bn = (name: string, x: tf.SymbolicTensor) => apply(tf.layers.batchNormalization({ name, epsilon: 1e-3 }), x);
  const relu6 = (name: string, x: tf.SymbolicTensor) => apply(tf.layers.reLU({ name, maxValue: 6 }), x);
  let x = apply(
    tf.layers.zeroPadding2d({
      name: 'stem_pad',
      padding: [
        [0, 1],
        [0, 1],
      ],
    }),
    input,
  );
  x = apply(
    tf.layers.conv2d({
      name: 'stem',
      filters: 6,
      kernelSize: 3,
      strides: 2,
      padding: 'valid',
      useBias: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
    x,
  );
  x = relu6('stem_relu', bn('stem_bn', x));
  let y = apply(
    tf.layers.conv2d({ name: 'expand', filters: 12, kernelSize: 1, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    x,
  );
  y = relu6('expand_relu', bn('expand_bn', y));
  y = apply(
    tf.layers.depthwiseConv2d({
      name: 'depthwise',
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    }),
    y,
  );
  y = relu6('depthwise_relu', bn('depthwise_bn', y));
  y = apply(
    tf.layers.conv2d({
      name: 'project',
      filters: 6,
      kernelSize: 1,
      useBias: true,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 5 }),
    }),
    y,
  );
  y = bn('project_bn', y);
  const block = apply(tf.layers.add({ name: 'block_add' }), [x, y]);
  let down = apply(
    tf.layers.zeroPadding2d({
      name: 'down_pad',
      padding: [
        [0, 1],
        [0, 1],
      ],
    }),
    block,
  );
  down = apply(
    tf.layers.depthwiseConv2d({
      name: 'down',
      kernelSize: 3,
      strides: 2,
      padding: 'valid',
      useBias: false,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 6 }),
    }),
    down,
  );
  down = relu6('down_relu', bn('down_bn', down));
  const head = apply(tf.layers.flatten({ name: 'flatten' }), down);
  const output = apply(tf.layers.dense({ name: 'dense', units: 2 }), head);
  const model = tf.model({ inputs: input, outputs: output });
  randomiseBatchNorms(model, 7);
  return model;
}

describe('foldedNetwork', () => {
  test('gives the Keras model’s outputs (batch norms folded, paddings absorbed, ReLU6 fused) to 1e-5 relative', async () => {
    await tf.setBackend('cpu');
    const model = tinyMobileNet();
    const outputs = ['block_add', 'down_relu'];
    const reference = tf.model({ inputs: model.inputs, outputs: outputs.map((name) => model.getLayer(name).output as tf.SymbolicTensor) });
    const folded = foldedNetwork(model, outputs);
    assert.deepEqual(folded.channels, [6, 6]);
    const x = tf.randomUniform([3, 12, 12, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const expected = reference.predict(x) as tf.Tensor[];
    const actual = folded.apply(x);
    actual.forEach((a, i) => {
      assert.deepEqual(a.shape, expected[i].shape);
      const error = relativeError(a, expected[i]);
      assert.ok(error < 1e-5, `${outputs[i]}: relative error ${error}`);
    });
    // Folding is not the identity here: the batch norms changed the values.
    const unnormalised = tf.tidy(() =>
      tf.relu6(
        tf.conv2d(
          tf.pad(x, [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ]),
          model.getLayer('stem').getWeights()[0] as tf.Tensor4D,
          2,
          'valid',
        ),
      ),
    );
    const stem = foldedNetwork(model, ['stem_relu']).apply(x)[0];
    assert.ok(relativeError(stem, unnormalised) > 0.05);
    tf.dispose([x, ...expected, ...actual, unnormalised, stem]);
    folded.dispose();
  });

  test(
    'as one ONNX graph on ONNX Runtime, it gives the Keras model’s pooled outputs to 1e-5 relative',
    { skip: !onnxRuntimeLoads() && 'onnxruntime-node does not load' },
    async () => {
      await tf.setBackend('cpu');
      const model = tinyMobileNet();
      const outputs = ['block_add', 'down_relu'];
      const reference = tf.model({ inputs: model.inputs, outputs: outputs.map((name) => model.getLayer(name).output as tf.SymbolicTensor) });
      const folded = foldedNetwork(model, outputs);
      const native = loadNativeModel(backboneOnnx(folded.steps, folded.outputSteps, 12), BACKBONE_ONNX_INPUT, BACKBONE_ONNX_OUTPUT);
      const x = tf.randomUniform([3, 12, 12, 3], 0, 1, 'float32', 12) as tf.Tensor4D;
      const expected = tf.tidy(() =>
        tf.concat(
          (reference.predict(x) as tf.Tensor[]).map((t) => tf.mean(t, [1, 2])),
          1,
        ),
      );
      const out = new Float32Array(3 * 12);
      native.run(x.dataSync() as Float32Array, [3, 12, 12, 3], out, [3, 12]);
      const actual = tf.tensor2d(out, [3, 12]);
      const error = relativeError(actual, expected);
      assert.ok(error < 1e-5, `relative error ${error}`);
      tf.dispose([x, expected, actual]);
      native.dispose();
      folded.dispose();
    },
  );

  test('refuses a layer it cannot fold, naming it', async () => {
    await tf.setBackend('cpu');
    const model = tinyMobileNet();
    assert.throws(() => foldedNetwork(model, ['dense']), /cannot fold a Flatten layer \(flatten\)/);
    assert.throws(() => foldedNetwork(model, ['nowhere']), /no layer nowhere/);
  });
});

describe('the MobileNetV2 of nsfwjs', { skip: skipUnlessInstalled }, () => {
  const work = mkdtempSync(join(tmpdir(), 'genrelens-backbone-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('folded, on either engine, its pooled features are the shipped network’s pooled block outputs (1e-4 relative)', async () => {
    await selectBackend({ effects: recordingEffects() });
    const { network, version } = await loadBackboneNetwork();
    const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const shipped = tf.tidy(() => {
      const pooled = tf.model({ inputs: network.inputs, outputs: BACKBONE.blocks.map((name) => network.getLayer(name).output as tf.SymbolicTensor) });
      return tf.concat(
        (pooled.predict(x) as tf.Tensor[]).map((t) => tf.mean(t, [1, 2])),
        1,
      );
    });
    const engines: BackboneEngine[] = onnxRuntimeLoads() ? ['tfjs', 'onnxruntime'] : ['tfjs'];
    for (const engine of engines) {
      const backbone = await loadBackbone(engine, 224);
      assert.equal(backbone.engine, engine);
      assert.deepEqual(backbone.provenance, {
        package: 'nsfwjs',
        version,
        model: 'MobileNetV2',
        blocks: ['block_9_add', 'block_12_add', 'block_15_add'],
        channels: [64, 96, 160],
        inputSize: 224,
        features: 320,
      });
      assert.equal(backboneFeatureNames(backbone.provenance).length, 320);
      assert.equal(backboneFeatureNames(backbone.provenance)[64], 'MobileNetV2 block_12_add #0');
      const folded = tf.tensor2d(backbone.features(x.dataSync() as Float32Array, 2), [2, 320]);
      const error = relativeError(folded, shipped);
      assert.ok(error < 1e-4, `${engine}: relative error ${error}`);
      tf.dispose(folded);
      backbone.dispose();
    }
    assert.equal(backboneEngine(), nativeKernelsWanted() && onnxRuntimeLoads() ? 'onnxruntime' : 'tfjs');
    tf.dispose([x, shipped]);
    network.dispose();
  });

  test('features of a dataset’s posters do not depend on the number of threads', async () => {
    const dataset = join(work, 'demo');
    await writeDemoDataset(dataset, { films: 11, seed: 3 }, recordingEffects());
    const files = Array.from({ length: 11 }, (_, i) => join(dataset, 'Images', `demo${String(i + 1).padStart(5, '0')}.jpg`));
    const posters = { files, roots: [dataset, join(dataset, 'Images')] };
    const progress: number[] = [];
    const here = await backboneFeatures(posters, { workers: 0, progress: (done) => progress.push(done) });
    const one = await backboneFeatures(posters, { workers: 1 });
    const two = await backboneFeatures(posters, { workers: 2 });
    assert.equal(one.values.length, 11 * 320);
    assert.deepEqual(progress, [1, 2, 3], 'a progress step per batch of 4');
    for (const threads of [one, two]) {
      assert.deepEqual(Array.from(threads.values), Array.from(here.values));
      assert.deepEqual(threads.provenance, here.provenance);
    }
    assert.ok(one.values.some((v) => v !== 0));
  });

  test('a poster that cannot be read is a user error naming the file', async () => {
    const missing = join(work, 'Images', 'nowhere.jpg');
    await assert.rejects(backboneFeatures({ files: [missing], roots: [work] }, { workers: 1 }), (error: Error & { file?: string }) => {
      assert.equal(error.name, 'UserError');
      assert.equal(error.file, missing);
      return true;
    });
  });
});
