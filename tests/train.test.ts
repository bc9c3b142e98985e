/**
 * The training loop: same seed → same numbers; an interrupted run resumes from its last finished
 * epoch and ends exactly where an uninterrupted run ends; saved models load back identically.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../pipeline/backend.ts';
import { recordingEffects, type Effects } from '../pipeline/effects.ts';
import { loadModel, readModelMetadata, saveModel } from '../pipeline/model-io.ts';
import { seededRandom } from '../pipeline/random.ts';
import { trainModel, type EpochRecord, type TrainingData } from '../pipeline/train.ts';

const FILMS = 90;
const FEATURES = 12;
const GENRES = ['A', 'B', 'C'];

/** Features with a learnable signal: genre g is on when feature g is large. */
function fixture(): { data: TrainingData; features: Float32Array } {
  const random = seededRandom(3);
  const features = new Float32Array(FILMS * FEATURES).map(() => random());
  const labels = new Uint8Array(FILMS * GENRES.length);
  for (let i = 0; i < FILMS; i++) for (let g = 0; g < GENRES.length; g++) labels[i * GENRES.length + g] = features[i * FEATURES + g] > 0.6 ? 1 : 0;
  const films = [...Array(FILMS).keys()];
  const data: TrainingData = {
    labels,
    genres: GENRES,
    train: films.filter((i) => i % 5 !== 0),
    validation: films.filter((i) => i % 5 === 0),
    inputs: (batch) => {
      const out = new Float32Array(batch.length * FEATURES);
      batch.forEach((film, row) => out.set(features.subarray(film * FEATURES, (film + 1) * FEATURES), row * FEATURES));
      return tf.tensor2d(out, [batch.length, FEATURES]);
    },
  };
  return { data, features };
}

function buildTiny(): { model: tf.LayersModel; optimizer: tf.AdamOptimizer } {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [FEATURES], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: GENRES.length, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const optimizer = tf.train.adam(0.01);
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  return { model, optimizer };
}

const withoutTimes = (history: EpochRecord[]) => history.map(({ trainMs, evaluationMs, ...rest }) => rest);
const schedule = { epochs: 4, batchSize: 16, learningRate: 0.01 };

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
});

test('same seed, data and backend give the same history and weights', async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const { model, optimizer } = buildTiny();
    const outcome = await trainModel({
      model, optimizer, data: fixture().data, schedule, seed: 9,
      checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-train-')), 'checkpoint'), label: 'tiny', effects: recordingEffects(),
    });
    runs.push({ history: withoutTimes(outcome.history), weights: model.getWeights().map((w) => Array.from(w.dataSync())) });
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.ok(runs[0].history[3].train.loss < runs[0].history[0].train.loss, 'training reduces the loss');
});

test('an interrupted run resumes from its checkpoint and ends where an uninterrupted run ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-resume-'));
  const reference = buildTiny();
  const full = await trainModel({
    ...reference, data: fixture().data, schedule, seed: 9, checkpointDir: join(dir, 'full'), label: 'tiny', effects: recordingEffects(),
  });

  // Interrupt during the third epoch (as Ctrl-C would): epochs 1 and 2 are checkpointed.
  const interrupted = buildTiny();
  const failing: Effects = {
    ...recordingEffects(),
    progress(label) {
      if (label.includes('epoch 3/')) throw new Error('interrupted');
    },
  };
  await assert.rejects(
    trainModel({ ...interrupted, data: fixture().data, schedule, seed: 9, checkpointDir: join(dir, 'resumed'), label: 'tiny', effects: failing }),
    /interrupted/,
  );
  assert.ok(existsSync(join(dir, 'resumed', 'state.json')), 'a checkpoint was written');

  const fresh = buildTiny();
  const effects = recordingEffects();
  const resumed = await trainModel({
    ...fresh, data: fixture().data, schedule, seed: 9, checkpointDir: join(dir, 'resumed'), label: 'tiny', effects,
  });
  assert.equal(resumed.resumedAtEpoch, 2);
  assert.ok(effects.lines.some((line) => /resuming an interrupted run at epoch 3\/4/.test(line)));
  assert.deepEqual(withoutTimes(resumed.history), withoutTimes(full.history));
  assert.equal(resumed.bestEpoch, full.bestEpoch);
  assert.deepEqual(Array.from(resumed.validationProbabilities), Array.from(full.validationProbabilities));
});

test('the kept weights are those of the epoch with the lowest validation loss', async () => {
  const { model, optimizer } = buildTiny();
  const outcome = await trainModel({
    model, optimizer, data: fixture().data, schedule, seed: 4,
    checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-best-')), 'c'), label: 'tiny', effects: recordingEffects(),
  });
  const losses = outcome.history.map((e) => e.validation.loss);
  assert.equal(outcome.bestEpoch, losses.indexOf(Math.min(...losses)));
  assert.ok(Math.abs(outcome.best.loss - losses[outcome.bestEpoch]) < 1e-6);
});

test('a saved model loads back with identical predictions and its metadata', async () => {
  const { model } = buildTiny();
  const dir = join(mkdtempSync(join(tmpdir(), 'genrelens-save-')), 'model');
  await saveModel(model, dir, { input: { kind: 'test' }, genres: GENRES });
  const loaded = await loadModel(dir);
  const x = fixture().data.inputs([0, 1, 2, 3]);
  assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
  assert.deepEqual(await readModelMetadata(dir), { input: { kind: 'test' }, genres: GENRES });
});
