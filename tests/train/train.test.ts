/**
 * The training loop: same seed → same numbers; an interrupted run resumes from its last finished
 * epoch and ends exactly where an uninterrupted run ends; saved models load back identically.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects, type Effects } from '../../pipeline/lib/core/effects.ts';
import { loadModel, readModelMetadata, saveModel } from '../../pipeline/lib/train/model-io.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { trainModel, type EpochRecord, type TrainingData } from '../../pipeline/lib/train/train.ts';

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
      model,
      optimizer,
      data: fixture().data,
      schedule,
      seed: 9,
      checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-train-')), 'checkpoint'),
      label: 'tiny',
      effects: recordingEffects(),
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
    ...reference,
    data: fixture().data,
    schedule,
    seed: 9,
    checkpointDir: join(dir, 'full'),
    label: 'tiny',
    effects: recordingEffects(),
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
    ...fresh,
    data: fixture().data,
    schedule,
    seed: 9,
    checkpointDir: join(dir, 'resumed'),
    label: 'tiny',
    effects,
  });
  assert.equal(resumed.resumedAtEpoch, 2);
  assert.ok(effects.lines.some((line) => /resuming an interrupted run at epoch 3\/4/.test(line)));
  assert.deepEqual(withoutTimes(resumed.history), withoutTimes(full.history));
  assert.equal(resumed.bestEpoch, full.bestEpoch);
  assert.deepEqual(Array.from(resumed.validationProbabilities), Array.from(full.validationProbabilities));
});

test('a stop (abort signal) ends the run after the step in progress with its reason; the finished epochs resume as usual', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-stop-'));
  const stop = new AbortController();
  const steps: string[] = [];
  const effects: Effects = {
    ...recordingEffects(),
    progress(label, done) {
      steps.push(`${label} ${done}`);
      if (label.includes('epoch 3/') && done === 2) stop.abort(new Error('stopped: another part of the build failed'));
    },
  };
  await assert.rejects(
    trainModel({ ...buildTiny(), data: fixture().data, schedule, seed: 9, checkpointDir: dir, label: 'tiny', effects, signal: stop.signal }),
    /stopped: another part of the build failed/,
  );
  assert.equal(steps.at(-1), 'tiny epoch 3/4 2', 'no step after the one in progress');
  const resumed = await trainModel({ ...buildTiny(), data: fixture().data, schedule, seed: 9, checkpointDir: dir, label: 'tiny', effects: recordingEffects() });
  assert.equal(resumed.resumedAtEpoch, 2);
});

test('a damaged checkpoint (tensors.bin cut short, or other bytes) is reported in one line and training starts over', async () => {
  for (const damage of ['truncate', 'flip'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'genrelens-damaged-'));
    const full = await trainModel({
      ...buildTiny(),
      data: fixture().data,
      schedule,
      seed: 9,
      checkpointDir: join(dir, 'full'),
      label: 'tiny',
      effects: recordingEffects(),
    });
    const failing: Effects = {
      ...recordingEffects(),
      progress(label) {
        if (label.includes('epoch 3/')) throw new Error('interrupted');
      },
    };
    const checkpointDir = join(dir, 'resumed');
    await assert.rejects(
      trainModel({ ...buildTiny(), data: fixture().data, schedule, seed: 9, checkpointDir, label: 'tiny', effects: failing }),
      /interrupted/,
    );
    const tensors = join(checkpointDir, 'tensors.bin');
    const bytes = readFileSync(tensors);
    if (damage === 'truncate') writeFileSync(tensors, bytes.subarray(0, bytes.length - 100));
    else {
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(tensors, bytes);
    }

    const effects = recordingEffects();
    const restarted = await trainModel({ ...buildTiny(), data: fixture().data, schedule, seed: 9, checkpointDir, label: 'tiny', effects });
    const warnings = effects.lines.filter((line) => /checkpoint .* is damaged/.test(line));
    assert.equal(warnings.length, 1, effects.lines.join('\n'));
    assert.match(
      warnings[0],
      damage === 'truncate'
        ? /tensors\.bin is [\d,]+ bytes, [\d,]+ when it was written\); training from the first epoch/
        : /tensors\.bin has other bytes than when it was written\); training from the first epoch/,
    );
    assert.equal(restarted.resumedAtEpoch, null);
    assert.deepEqual(withoutTimes(restarted.history), withoutTimes(full.history), 'started over, it ends where an uninterrupted run ends');
  }
});

test('the kept weights are those of the epoch with the lowest validation loss', async () => {
  const { model, optimizer } = buildTiny();
  const outcome = await trainModel({
    model,
    optimizer,
    data: fixture().data,
    schedule,
    seed: 4,
    checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-best-')), 'c'),
    label: 'tiny',
    effects: recordingEffects(),
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

test('early stopping ends training after `patience` epochs without a better validation loss, as a prefix of the full run', async () => {
  // A learning rate high enough that the validation loss stops improving within the schedule.
  const long = { epochs: 10, batchSize: 16, learningRate: 0.3 };
  const run = async (extra: Partial<typeof long & { earlyStoppingPatience: number }>, dir = mkdtempSync(join(tmpdir(), 'genrelens-stop-'))) => {
    const { model, optimizer } = buildTiny();
    const effects = recordingEffects();
    const outcome = await trainModel({
      model,
      optimizer,
      data: fixture().data,
      schedule: { ...long, ...extra },
      seed: 9,
      checkpointDir: join(dir, 'c'),
      label: 'tiny',
      effects,
    });
    return { outcome, effects, dir };
  };
  const full = await run({});
  const losses = full.outcome.history.map((e) => e.validation.loss);
  // Where a patience of 2 must stop, from the full run's losses alone.
  let best = 0;
  let expectedStop: number | null = null;
  for (let epoch = 1; epoch < losses.length; epoch++) {
    if (losses[epoch] < losses[best]) best = epoch;
    else if (epoch - best >= 2) {
      expectedStop = epoch;
      break;
    }
  }
  assert.notEqual(expectedStop, null, `the fixture must plateau within 10 epochs: ${losses.map((l) => l.toFixed(4)).join(' ')}`);

  const stopped = await run({ earlyStoppingPatience: 2 });
  assert.equal(stopped.outcome.stoppedEarlyAfterEpoch, expectedStop);
  assert.equal(stopped.outcome.history.length, expectedStop! + 1);
  assert.deepEqual(withoutTimes(stopped.outcome.history), withoutTimes(full.outcome.history.slice(0, expectedStop! + 1)));
  assert.equal(stopped.outcome.bestEpoch, best);
  assert.ok(stopped.effects.lines.some((line) => line.includes(`stopping early after epoch ${expectedStop! + 1}/10`)));

  // A run interrupted after the stop but before its result was kept stops again when resumed.
  const resumed = await run({ earlyStoppingPatience: 2 }, stopped.dir);
  assert.equal(resumed.outcome.resumedAtEpoch, expectedStop! + 1);
  assert.equal(resumed.effects.lines.filter((line) => /epoch \d+\/10: loss/.test(line)).length, 0, 'no epoch is trained again');
  assert.deepEqual(withoutTimes(resumed.outcome.history), withoutTimes(stopped.outcome.history));
  assert.equal(resumed.outcome.stoppedEarlyAfterEpoch, expectedStop);
});

test('training steps use trainingInputs (augmentation) with a per-epoch seeded generator; validation uses inputs', async () => {
  const { data } = fixture();
  const draws: number[][] = [];
  const trainedFilms = new Set<number>();
  const augmented: TrainingData = {
    ...data,
    trainingInputs: (films, random) => {
      films.forEach((film) => trainedFilms.add(film));
      draws.push([random(), random()]);
      return data.inputs(films);
    },
  };
  const runOnce = async () => {
    const { model, optimizer } = buildTiny();
    return trainModel({
      model,
      optimizer,
      data: augmented,
      schedule: { ...schedule, epochs: 2 },
      seed: 9,
      checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-aug-')), 'c'),
      label: 'tiny',
      effects: recordingEffects(),
    });
  };
  const first = await runOnce();
  const firstDraws = draws.splice(0);
  assert.deepEqual(
    [...trainedFilms].sort((a, b) => a - b),
    data.train,
  );
  assert.equal(firstDraws.length, 2 * Math.ceil(data.train.length / 16));
  assert.notDeepEqual(firstDraws[0], firstDraws[Math.ceil(data.train.length / 16)], 'each epoch draws anew');
  // Same seed: same draws and the same numbers; inputs that ignore the draws train as plain inputs do.
  const second = await runOnce();
  assert.deepEqual(draws, firstDraws);
  assert.deepEqual(withoutTimes(second.history), withoutTimes(first.history));
  const { model, optimizer } = buildTiny();
  const plain = await trainModel({
    model,
    optimizer,
    data,
    schedule: { ...schedule, epochs: 2 },
    seed: 9,
    checkpointDir: join(mkdtempSync(join(tmpdir(), 'genrelens-plain-')), 'c'),
    label: 'tiny',
    effects: recordingEffects(),
  });
  assert.deepEqual(withoutTimes(plain.history), withoutTimes(first.history));
});
