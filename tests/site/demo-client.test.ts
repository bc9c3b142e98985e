/**
 * The live demo's browser code (src/client/demo/) without a browser: the sections it draws
 * (linkedom's DOM) and the glue that runs the models (tfjs on the cpu backend), checked against
 * probabilities computed here independently. The Chromium tests (e2e.test.ts) cover the page itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parseHTML } from 'linkedom';
import { showError, showProbabilities, showRunning } from '../../src/client/demo/render.ts';
import { predictGmu, predictModel } from '../../src/client/demo/predict.ts';
import { withGmuActivations, type LoadedModel } from '../../src/client/demo/models.ts';
import type { DemoGmuMetadata } from '../../src/lib/demo.ts';

const GENRES = ['Drama', 'Comedy', 'Horror', 'Romance'];

function section() {
  const { document } = parseHTML(
    `<html><body><section class="demo-model cnn" data-model="cnn"><p class="demo-model-status" data-needs="Choose a poster."></p><ol class="demo-bars"></ol></section></body></html>`,
  );
  return document.querySelector('section') as unknown as HTMLElement;
}

describe('demo sections (render.ts)', () => {
  test('ranked bars: every genre, most probable first, top 3 marked, above-threshold genres predicted, full precision kept', () => {
    const el = section();
    const probabilities = [0.2, 0.91, 0.55, 0.05];
    showProbabilities(el, GENRES, probabilities, 0.5);
    assert.equal(el.dataset.state, 'done');
    assert.deepEqual(JSON.parse(el.dataset.probabilities!), probabilities);
    const items = [...el.querySelectorAll('.demo-bars li')] as HTMLElement[];
    assert.deepEqual(
      items.map((li) => li.dataset.genre),
      ['Comedy', 'Horror', 'Drama', 'Romance'],
    );
    assert.deepEqual(
      items.map((li) => li.classList.contains('top3')),
      [true, true, true, false],
    );
    assert.deepEqual(
      items.map((li) => li.classList.contains('predicted')),
      [true, true, false, false],
    );
    assert.deepEqual(
      items.map((li) => Number(li.dataset.probability)),
      [0.91, 0.55, 0.2, 0.05],
    );
    assert.match(el.querySelector('.demo-model-status')!.textContent!, /^Top 3: Comedy .*, Horror .*, Drama .*\.$/);
  });

  test('no probabilities: the section is idle and says what it needs; running and errors say so', () => {
    const el = section();
    showProbabilities(el, GENRES, [0.1, 0.2, 0.3, 0.4], 0.5);
    showProbabilities(el, GENRES, null, 0.5);
    assert.equal(el.dataset.state, 'idle');
    assert.equal(el.dataset.probabilities, undefined);
    assert.equal(el.querySelector('.demo-model-status')!.textContent, 'Choose a poster.');
    assert.equal(el.querySelectorAll('.demo-bars li').length, 0);
    showRunning(el, 'Running the CNN…');
    assert.equal(el.dataset.state, 'running');
    showProbabilities(el, GENRES, [0.1, 0.2, 0.3, 0.4], 0.5);
    showError(el, 'the CNN failed: out of memory');
    assert.equal(el.dataset.state, 'error');
    assert.equal(el.dataset.probabilities, undefined);
    assert.equal(el.querySelector('.demo-model-status')!.textContent, 'The CNN failed: out of memory');
    assert.ok(el.querySelector('.demo-model-status')!.classList.contains('demo-error'));
    assert.equal(el.querySelectorAll('.demo-bars li').length, 0);
  });
});

/** A tiny two-layer model: input (3) → `hidden` (2, relu) → output (genres, sigmoid). */
function tinyModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [3] });
  const hidden = tf.layers.dense({ name: 'hidden', units: 2, activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed }) }).apply(input);
  const output = tf.layers
    .dense({ name: 'out', units: GENRES.length, activation: 'sigmoid', kernelInitializer: tf.initializers.randomNormal({ seed: seed + 1 }) })
    .apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

describe('demo model glue (models.ts, predict.ts)', async () => {
  tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
  await tf.setBackend('cpu');

  test('a model pass gives its probabilities, and with the GMU its activations too; no tensor is left behind', async () => {
    const model = tinyModel(1);
    const x = [0.5, -1, 2];
    const expected = Array.from((model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync());
    const loaded = { model, meta: {} } as unknown as LoadedModel;
    const before = tf.memory().numTensors;
    const plain = await predictModel(tf, loaded, tf.tensor2d([x]));
    assert.equal(tf.memory().numTensors, before, 'input and outputs disposed');
    assert.deepEqual(plain.probabilities, expected);
    assert.equal(plain.activations, null);

    loaded.withActivations = tf.model({ inputs: model.inputs, outputs: [model.outputs[0], model.getLayer('hidden').output as tf.SymbolicTensor] });
    const both = await predictModel(tf, loaded, tf.tensor2d([x]));
    assert.deepEqual(both.probabilities, expected);
    const hidden = tf.model({ inputs: model.inputs, outputs: model.getLayer('hidden').output as tf.SymbolicTensor });
    assert.deepEqual(Array.from(both.activations!), Array.from((hidden.predict(tf.tensor2d([x])) as tf.Tensor).dataSync()));
  });

  test('the learned fusion runs on the standardised activations; a layer it names must exist with its width', async () => {
    const visualIn = tf.input({ shape: [2] });
    const textualIn = tf.input({ shape: [2] });
    const joined = tf.layers.concatenate().apply([visualIn, textualIn]);
    const out = tf.layers
      .dense({ units: GENRES.length, activation: 'sigmoid', kernelInitializer: tf.initializers.randomNormal({ seed: 5 }) })
      .apply(joined) as tf.SymbolicTensor;
    const head = tf.model({ inputs: [visualIn, textualIn], outputs: out });
    const standardisation = {
      visual: { mean: Float32Array.from([1, 2]), sd: Float32Array.from([2, 4]) },
      textual: { mean: Float32Array.from([0, 0]), sd: Float32Array.from([1, 1]) },
    };
    const meta = { trainingKey: 'k', input: { visual: { layer: 'hidden', units: 2 }, textual: { layer: 'hidden', units: 2 } } };
    const gmu = { model: head, gmu: { meta, standardisation } as unknown as DemoGmuMetadata };
    const probabilities = await predictGmu(tf, gmu, Float32Array.from([3, 10]), Float32Array.from([0.5, -0.5]));
    // Independently: (x − mean) / sd, then the head.
    const expected = (head.predict([tf.tensor2d([[(3 - 1) / 2, (10 - 2) / 4]]), tf.tensor2d([[0.5, -0.5]])]) as tf.Tensor).dataSync();
    assert.deepEqual(
      probabilities.map((p) => p.toFixed(6)),
      Array.from(expected, (p) => p.toFixed(6)),
    );

    const models = { cnn: { model: tinyModel(2), meta: { trainingKey: 'k' } }, lstm: { model: tinyModel(3), meta: { trainingKey: 'k' } } } as unknown as Record<
      'cnn' | 'lstm',
      LoadedModel
    >;
    withGmuActivations(tf, gmu, models, 'metadata.json');
    assert.equal(models.cnn.withActivations!.outputs.length, 2, 'the CNN now also outputs the hidden layer');
    const wrongLayer = { ...gmu, gmu: { ...gmu.gmu, meta: { ...meta, input: { ...meta.input, visual: { layer: 'nope', units: 2 } } } } } as typeof gmu;
    assert.throws(() => withGmuActivations(tf, wrongLayer, models, 'metadata.json'), /names layer nope, which the cnn model does not have/);
    const wrongWidth = { ...gmu, gmu: { ...gmu.gmu, meta: { ...meta, input: { ...meta.input, textual: { layer: 'hidden', units: 5 } } } } } as typeof gmu;
    assert.throws(() => withGmuActivations(tf, wrongWidth, models, 'metadata.json'), /gives 2 values, the learned fusion's metadata.json says 5/);
  });
});
