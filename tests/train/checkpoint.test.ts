/**
 * A run's checkpoints into one reused buffer (pipeline/lib/train/checkpoint.ts `CheckpointWriter`): each
 * holds the weights of when it was saved, not what the reused buffer held before or what training
 * made of the weights after; a failed write rejects the save.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CheckpointWriter, readCheckpoint, restoreCheckpoint } from '../../pipeline/lib/train/checkpoint.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';

tf.env().set('IS_TEST', true);

function tinyModel(seed: number): { model: tf.LayersModel; optimizer: tf.AdamOptimizer } {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed }) })] });
  const optimizer = tf.train.adam(0.1);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  return { model, optimizer };
}

const state = { nextEpoch: 1, history: [{ epoch: 0 }], bestEpoch: 0, bestValidationLoss: 0.5, randomState: 7 };

test('each checkpoint holds the weights of when it was saved; the next one reuses the buffer and replaces it', async () => {
  await tf.setBackend('cpu');
  const dir = join(mkdtempSync(join(tmpdir(), 'genrelens-ckpt-')), 'checkpoint');
  const { model, optimizer } = tinyModel(1);
  await model.trainOnBatch(tf.ones([4, 3]), tf.zeros([4, 2]));
  const saved = model.getWeights().map((w) => Array.from(w.dataSync()));
  const writer = new CheckpointWriter(dir);
  await writer.save(model, model.getWeights(), optimizer, state);
  // The next epoch's steps change the weights.
  for (let i = 0; i < 3; i++) await model.trainOnBatch(tf.ones([4, 3]), tf.zeros([4, 2]));
  const later = model.getWeights().map((w) => Array.from(w.dataSync()));
  assert.notDeepEqual(later, saved);
  const read = await readCheckpoint(dir, 'tiny', recordingEffects());
  assert.ok(read, 'the checkpoint is complete and its hash matches');
  const other = tinyModel(2);
  const { state: restored } = await restoreCheckpoint(read, other.model, other.optimizer);
  assert.deepEqual(
    other.model.getWeights().map((w) => Array.from(w.dataSync())),
    saved,
  );
  assert.equal(restored.nextEpoch, 1);
  // A second save reuses the buffer and replaces the checkpoint, with the later weights.
  await writer.save(model, model.getWeights(), optimizer, { ...state, nextEpoch: 2 });
  const second = await readCheckpoint(dir, 'tiny', recordingEffects());
  assert.equal(second?.state.nextEpoch, 2);
  const third = tinyModel(4);
  await restoreCheckpoint(second!, third.model, third.optimizer);
  assert.deepEqual(
    third.model.getWeights().map((w) => Array.from(w.dataSync())),
    later,
  );
});

test('a failed write rejects the save', async () => {
  await tf.setBackend('cpu');
  const parent = mkdtempSync(join(tmpdir(), 'genrelens-ckpt-'));
  writeFileSync(join(parent, 'file'), 'not a folder');
  const { model, optimizer } = tinyModel(3);
  const writer = new CheckpointWriter(join(parent, 'file', 'checkpoint'));
  await assert.rejects(writer.save(model, model.getWeights(), optimizer, state), /ENOTDIR|EEXIST|not a directory/i);
});
