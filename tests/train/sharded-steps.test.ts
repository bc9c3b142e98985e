/**
 * Sharded steps (pipeline/lib/train/sharded-steps.ts): the shards' combined gradient is the batch's gradient;
 * a step split over a helper thread updates the weights as one thread's whole-batch step does;
 * with dropout, the numbers depend on the seed and shard count only (not on where the shards run,
 * or when a helper joins or fails), inference passes included, and an interrupted run resumes exactly.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { combineShardGradients, ShardedSteps, shardGradients, shardSizes, type LossSpec } from '../../pipeline/lib/train/sharded-steps.ts';
import { recordingEffects, type Effects } from '../../pipeline/lib/core/effects.ts';
import { lossFunction } from '../../pipeline/lib/train/losses.ts';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import { PROFILE_SCHEDULES, type ConfigInput } from '../../pipeline/lib/settings.ts';
import type { DataStageResult } from '../../pipeline/lib/data/data-stage.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { cnnShardsFor, trainingKey, trainingSchedules } from '../../pipeline/lib/train/training-cache.ts';
import { predictOutputs, trainModel, trainStep, type EpochRecord, type TrainingData } from '../../pipeline/lib/train/train.ts';

const SIZE = 8;
const GENRES = 4;
const FILMS = 60;

/** A small CNN with the coursework's layer kinds (conv, pooling, dense; dropout optional). */
function buildSmallCnn(dropout: boolean): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const layers: tf.layers.Layer[] = [
    tf.layers.conv2d({ inputShape: [SIZE, SIZE, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
    tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
    tf.layers.flatten(),
    ...(dropout ? [tf.layers.dropout({ rate: 0.5 })] : []),
    tf.layers.dense({ units: 10, activation: 'relu', kernelInitializer: init(3) }),
    tf.layers.dense({ units: GENRES, activation: 'sigmoid', kernelInitializer: init(4) }),
  ];
  return tf.sequential({ layers });
}

function batch(films: number, seed: number): { x: tf.Tensor; y: tf.Tensor } {
  const random = seededRandom(seed);
  const x = tf.tensor4d(
    Float32Array.from({ length: films * SIZE * SIZE * 3 }, () => random()),
    [films, SIZE, SIZE, 3],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: films * GENRES }, () => (random() < 0.3 ? 1 : 0)),
    [films, GENRES],
  );
  return { x, y };
}

function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(b[i])));
  return worst;
}

const bce: LossSpec = { name: 'bce' };
const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));

before(async () => {
  await selectBackend({ force: 'wasm', effects: recordingEffects() });
});

let open: ShardedSteps[] = [];
after(async () => {
  await Promise.all(open.map((steps) => steps.close()));
});

function sharded(model: tf.LayersModel, optimizer: tf.Optimizer, shards: number, warnings: string[] = []): ShardedSteps {
  const steps = new ShardedSteps({ model, optimizer, loss: bce, shards, warn: (message) => warnings.push(message) });
  open.push(steps);
  return steps;
}

test('shard sizes: as equal as possible, the first ones larger, summing to the batch', () => {
  assert.deepEqual(shardSizes(64, 2), [32, 32]);
  assert.deepEqual(shardSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(shardSizes(1, 2), [1, 0]);
});

test("the films-weighted mean of the shards' gradients is the batch's gradient (1e-5 relative), for every loss", () => {
  const model = buildSmallCnn(false);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { x, y } = batch(11, 5);
  const losses = [lossFunction('bce'), lossFunction('focal'), lossFunction('class-weighted-bce', Float32Array.from([1, 2, 0.5, 3]))];
  for (const loss of losses) {
    const whole = shardGradients(model, variables, loss, x, y);
    const sizes = [5, 4, 2];
    let start = 0;
    const shards = sizes.map((size) => {
      const part = shardGradients(model, variables, loss, x.slice(start, size), y.slice(start, size));
      start += size;
      return part;
    });
    const combined = combineShardGradients(
      shards.map((s) => s.gradients),
      sizes,
    );
    combined.forEach((g, v) => assert.ok(relativeDifference(g.dataSync(), whole.gradients[v].dataSync()) < 1e-5, `variable ${v}`));
    const shardLoss = shards.reduce((sum, s, i) => sum + s.loss * sizes[i], 0) / 11;
    assert.ok(Math.abs(shardLoss - whole.loss) < 1e-6 * Math.max(1, whole.loss));
    tf.dispose([...whole.gradients, ...shards.flatMap((s) => s.gradients), ...combined]);
  }
});

test("a step split over a helper thread updates the weights as one thread's whole-batch step (1e-5 relative)", async () => {
  const reference = buildSmallCnn(false);
  const referenceOptimizer = tf.train.adam(0.01);
  const parallel = buildSmallCnn(false);
  const parallelOptimizer = tf.train.adam(0.01);
  const steps = sharded(parallel, parallelOptimizer, 2);
  await steps.addHelper('wasm');
  assert.equal(steps.helperCount, 1);
  for (let i = 0; i < 4; i++) {
    // 9 films: unequal shards (5 + 4); the last step has a single film (shard 1 empty).
    const { x, y } = batch(i === 3 ? 1 : 9, 20 + i);
    const one = trainStep(reference, referenceOptimizer, x, y);
    const split = await steps.step(x, y);
    assert.ok(Math.abs(split.loss - one.loss) < 1e-5 * Math.max(1, one.loss), `step ${i}: loss ${split.loss} vs ${one.loss}`);
    assert.ok(relativeDifference(split.probabilities, one.probabilities) < 1e-5, `step ${i}: predictions`);
    tf.dispose([x, y]);
  }
  const a = weightsOf(parallel);
  const b = weightsOf(reference);
  a.forEach((w, i) => assert.ok(relativeDifference(w, b[i]) < 1e-5, `weight ${i} differs by ${relativeDifference(w, b[i])}`));
  assert.notDeepEqual(b[0], weightsOf(buildSmallCnn(false))[0], 'the steps moved the weights');
});

function fixture(): TrainingData {
  const random = seededRandom(8);
  const pixels = Float32Array.from({ length: FILMS * SIZE * SIZE * 3 }, () => random());
  const labels = new Uint8Array(FILMS * GENRES);
  for (let i = 0; i < FILMS; i++) for (let g = 0; g < GENRES; g++) labels[i * GENRES + g] = pixels[i * SIZE * SIZE * 3 + g * 7] > 0.55 ? 1 : 0;
  const films = [...Array(FILMS).keys()];
  return {
    labels,
    genres: ['A', 'B', 'C', 'D'],
    train: films.filter((i) => i % 4 !== 0),
    validation: films.filter((i) => i % 4 === 0),
    inputs: (rows) => {
      const out = new Float32Array(rows.length * SIZE * SIZE * 3);
      rows.forEach((film, row) => out.set(pixels.subarray(film * SIZE * SIZE * 3, (film + 1) * SIZE * SIZE * 3), row * SIZE * SIZE * 3));
      return tf.tensor4d(out, [rows.length, SIZE, SIZE, 3]);
    },
  };
}

const withoutTimes = (history: EpochRecord[]) => history.map(({ trainMs, evaluationMs, ...rest }) => rest);
const schedule = { epochs: 4, batchSize: 8, learningRate: 0.01 };

/**
 * Trains the small CNN (with dropout) on 2 shards. `helperFrom`: 0 to start a helper thread for
 * shard 1 before training, or the epoch (1-based) at whose first step one is started (it joins
 * when ready); absent: never. `killHelperAt`: the epoch at whose first step the helper is terminated.
 */
async function trainSharded(checkpointDir: string, options: { helperFrom?: number; killHelperAt?: number; effects?: Effects } = {}) {
  const model = buildSmallCnn(true);
  const optimizer = tf.train.adam(0.01);
  const warnings: string[] = [];
  const steps = sharded(model, optimizer, 2, warnings);
  const base = options.effects ?? recordingEffects();
  let pendingHelper: Promise<boolean> | null = null;
  if (options.helperFrom === 0) await steps.addHelper('wasm');
  const effects: Effects = {
    ...base,
    progress(label, done, total, status) {
      base.progress(label, done, total, status);
      const epoch = Number(/epoch (\d+)\//.exec(label)?.[1]);
      if (done === 1 && epoch === options.helperFrom) pendingHelper = steps.addHelper('wasm');
      if (done === 1 && epoch === options.killHelperAt) void (steps as unknown as { helpers: Worker[] }).helpers[0]?.terminate();
    },
  };
  try {
    // The final pass keeps the last hidden layer's activations, as training keeps the fusion's input.
    const keepActivations = model.layers[model.layers.length - 2].name;
    const run = trainModel({ model, optimizer, data: fixture(), schedule, seed: 6, checkpointDir, label: 'small', effects, steps, keepActivations });
    const outcome = await run;
    await pendingHelper;
    return { outcome, weights: weightsOf(model), warnings, helpers: steps.helperCount, counts: { ...steps.counts } };
  } finally {
    await steps.close();
    open = open.filter((s) => s !== steps);
  }
}

test('with dropout, the numbers do not depend on where the shards run or when a helper joins or leaves (bit for bit)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-sharded-'));
  const here = await trainSharded(join(dir, 'here'));
  assert.ok(here.outcome.history[3].train.loss < here.outcome.history[0].train.loss, 'training reduces the loss');
  assert.equal(here.counts.inHelpers, 0);
  assert.equal(here.counts.inferenceInHelpers, 0);
  const joined = await trainSharded(join(dir, 'joined'), { helperFrom: 2 });
  assert.equal(joined.helpers, 1, 'the helper joined');
  assert.deepEqual(withoutTimes(joined.outcome.history), withoutTimes(here.outcome.history));
  assert.deepEqual(joined.weights, here.weights);

  // A helper from the start: 4 validation passes of 2 batches (15 films) and a final pass of 2 + 6
  // (45 training films), every other batch in the helper.
  const throughout = await trainSharded(join(dir, 'throughout'), { helperFrom: 0 });
  assert.equal(throughout.counts.inferenceInHelpers, 4 + 1 + 3);
  assert.deepEqual(withoutTimes(throughout.outcome.history), withoutTimes(here.outcome.history));
  assert.deepEqual(throughout.weights, here.weights);
  assert.deepEqual(throughout.outcome.validationProbabilities, here.outcome.validationProbabilities);
  assert.deepEqual(throughout.outcome.trainProbabilities, here.outcome.trainProbabilities);
  assert.ok(here.outcome.activations && here.outcome.activations.values.some((v) => v !== 0));
  assert.deepEqual(throughout.outcome.activations?.values, here.outcome.activations.values);

  const lost = await trainSharded(join(dir, 'lost'), { helperFrom: 0, killHelperAt: 2 });
  assert.equal(lost.helpers, 0, 'the helper was dropped');
  assert.ok(lost.counts.inHelpers > 0, 'shards ran in the helper before it was lost');
  assert.ok(
    lost.warnings.some((w) => /shard helper thread stopped.*runs in this thread from now on/.test(w)),
    lost.warnings.join('\n'),
  );
  assert.deepEqual(withoutTimes(lost.outcome.history), withoutTimes(here.outcome.history));
  assert.deepEqual(lost.weights, here.weights);
  assert.deepEqual(lost.outcome.trainProbabilities, here.outcome.trainProbabilities);
});

test('an inference batch whose helper fails is computed in this thread, with the same numbers', async () => {
  const model = buildSmallCnn(false);
  const data = fixture();
  const alone = await predictOutputs(model, data, data.train, 8, model.layers[3].name);
  const warnings: string[] = [];
  const steps = sharded(model, tf.train.adam(0.01), 2, warnings);
  await steps.addHelper('wasm');
  const shared = await predictOutputs(model, data, data.train, 8, model.layers[3].name, steps.inferenceHelpers(model.layers[3].name));
  assert.equal(steps.counts.inferenceInHelpers, 3, 'every other of the 6 batches ran in the helper');
  assert.deepEqual(shared, alone);
  // The helper fails its first batch: it is sent posters of another size, which its model refuses.
  // (A helper terminated while inside ONNX Runtime's native code would abort the whole process, so
  // the failure is one the helper reports, as a real one would be.)
  const inference = steps.inferenceHelpers(model.layers[3].name)!;
  const failing = {
    get count() {
      return inference.count;
    },
    predict(x: tf.Tensor) {
      const wrong = tf.zeros([x.shape[0], SIZE + 1, SIZE + 1, 3]);
      const outputs = inference.predict(wrong);
      wrong.dispose();
      return outputs;
    },
  };
  const recovered = await predictOutputs(model, data, data.train, 8, model.layers[3].name, failing);
  assert.deepEqual(recovered, alone);
  assert.equal(steps.helperCount, 0, 'the failed helper was dropped');
  assert.equal(steps.counts.inferenceInHelpers, 3);
  assert.ok(
    warnings.some((w) => /^shard helper: .*runs in this thread from now on/s.test(w)),
    warnings.join('\n'),
  );
});

test('a helper joining between two steps changes no number (bit for bit)', async () => {
  const run = async (joinAfter: number | null) => {
    const model = buildSmallCnn(true);
    const optimizer = tf.train.adam(0.01);
    const steps = sharded(model, optimizer, 2);
    const losses: number[] = [];
    const originalRandom = Math.random;
    Math.random = seededRandom(77);
    try {
      for (let i = 0; i < 6; i++) {
        if (i === joinAfter) await steps.addHelper('wasm');
        const { x, y } = batch(9, 40 + i);
        losses.push((await steps.step(x, y)).loss);
        tf.dispose([x, y]);
      }
    } finally {
      Math.random = originalRandom;
    }
    const counts = { ...steps.counts };
    await steps.close();
    return { losses, weights: weightsOf(model), counts };
  };
  const here = await run(null);
  const joined = await run(3);
  assert.deepEqual(here.counts, { shards: 12, inHelpers: 0, inferenceInHelpers: 0 });
  assert.deepEqual(joined.counts, { shards: 12, inHelpers: 3, inferenceInHelpers: 0 });
  assert.deepEqual(joined.losses, here.losses);
  assert.deepEqual(joined.weights, here.weights);
});

test('an interrupted sharded run resumes from its checkpoint and ends where an uninterrupted run ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-sharded-resume-'));
  const full = await trainSharded(join(dir, 'full'), { helperFrom: 0 });
  const failing: Effects = {
    ...recordingEffects(),
    progress(label) {
      if (label.includes('epoch 2/')) throw new Error('interrupted');
    },
  };
  await assert.rejects(trainSharded(join(dir, 'resumed'), { helperFrom: 0, effects: failing }), /interrupted/);
  assert.ok(existsSync(join(dir, 'resumed', 'state.json')), 'a checkpoint was written');
  const resumed = await trainSharded(join(dir, 'resumed'));
  assert.equal(resumed.outcome.resumedAtEpoch, 1);
  assert.deepEqual(withoutTimes(resumed.outcome.history), withoutTimes(full.outcome.history));
  assert.deepEqual(resumed.weights, full.weights);
});

test('a helper that cannot start is reported; its shard keeps running in this thread', async () => {
  const model = buildSmallCnn(false);
  const steps = sharded(model, tf.train.adam(0.01), 2);
  // tfjs-node cannot be installed on this machine (its install script downloads libtensorflow).
  await assert.rejects(steps.addHelper('tensorflow'), /shard helper: backend 'tensorflow' \(@tensorflow\/tfjs-node\) could not be used/);
  assert.equal(steps.helperCount, 0);
  const { x, y } = batch(6, 2);
  const result = await steps.step(x, y);
  assert.ok(Number.isFinite(result.loss));
  tf.dispose([x, y]);
});

test('the shard count is part of the training key; whole batches keep the key runs had before sharding existed', () => {
  const stage = {
    dataset: { contentHash: 'abc123', films: [{ id: 'tt1' }, { id: 'tt2' }, { id: 'tt3' }] },
    split: { train: [0, 1], validation: [2] },
  } as unknown as DataStageResult;
  const key = (flags: ConfigInput) => {
    const config = resolveConfig({ env: {}, flags });
    return trainingKey(stage, config, trainingSchedules(config, 'coursework'));
  };
  // Under contract 2 this was c92e6885acee6bb99c6d3fdd, the key the train stage of the commit before sharding
  // computed (git show 4fbf078:pipeline/lib/train/train-stage.ts). Contract 3 (the strong models) is part of every
  // key, so it changed them all; this is its value, kept so that the key of unsharded runs changes only on purpose.
  assert.equal(key({ cnnShards: 1 }), '3fa1c779fedd569033d0d44b');
  assert.notEqual(key({}), key({ cnnShards: 1 }));
  assert.notEqual(key({ cnnShards: 3 }), key({}));
  assert.equal(resolveConfig({ env: {}, flags: {} }).cnnShards, 2);
});

test("no shard is smaller than 16 posters: the quick profile's batches of 16 train whole", () => {
  assert.equal(cnnShardsFor(2, 64), 2);
  assert.equal(cnnShardsFor(2, PROFILE_SCHEDULES.coursework.cnn.batchSize), 2);
  assert.equal(cnnShardsFor(2, PROFILE_SCHEDULES.quick.cnn.batchSize), 1);
  assert.equal(cnnShardsFor(8, 64), 4);
  assert.equal(cnnShardsFor(3, 48), 3);
  assert.equal(cnnShardsFor(2, 31), 1);
  assert.equal(cnnShardsFor(1, 64), 1);
  assert.equal(cnnShardsFor(2, 8), 1);
});
