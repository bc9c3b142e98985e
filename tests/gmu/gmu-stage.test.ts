/**
 * The fusion stage (pipeline/lib/gmu/gmu-stage.ts) on a generated demo dataset: the data stage and one
 * epoch of training, then the learned fusion. Checks that the artifacts follow the contract and line
 * up with the split, that the activations are the models' own (their output layer on them gives the
 * published predictions), that the GMU published for the live demo (models/gmu: tfjs model and
 * metadata.json) gives the published predictions from those activations standardised as its metadata
 * says, that a second run reuses the cached fusion without training (and publishes the model again),
 * that a cache without the model is trained again, that the validation films' labels change nothing,
 * and that models from another run are refused.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import type { Config } from '../../pipeline/lib/settings.ts';
import {
  GmuHistoryArtifactSchema,
  GmuModelMetadataSchema,
  GmuPredictionsArtifactSchema,
  GmuTrainProbabilitiesArtifactSchema,
  PredictionsArtifactSchema,
  SplitArtifactSchema,
} from '../../pipeline/lib/contract/contract.ts';
import { runDataStage, type DataStageResult } from '../../pipeline/lib/data/data-stage.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { runGmuStage } from '../../pipeline/lib/gmu/gmu-stage.ts';
import { extractActivations } from '../../pipeline/lib/gmu/activations.ts';
import { standardisationFromJson } from '../../pipeline/lib/contract/gmu-standardisation.ts';
import { GMU_SETTINGS } from '../../pipeline/lib/settings.ts';
import { gmuForward, gmuWeightsOf, standardise } from '../../pipeline/lib/gmu/gmu.ts';
import { loadModel, readModelMetadata } from '../../pipeline/lib/train/model-io.ts';
import { runTrainStage } from '../../pipeline/lib/train/train-stage.ts';
import { prepareModelInputs } from '../../pipeline/lib/train/model-inputs.ts';
import { fixtureWorkspace, projectRoot } from '../helpers/fixture-build.ts';
import { stageContext } from '../../pipeline/lib/core/context.ts';
import { assertCloseToScale } from '../helpers/assert-close.ts';

const paths = fixtureWorkspace('genrelens-fusion-');
after(() => rm(paths.work, { recursive: true, force: true }));
const flags = {
  dataset: paths.dataset,
  cacheDir: paths.cache,
  artifactsDir: paths.artifacts,
  publicDir: paths.public,
  outDir: paths.out,
  epochs: 1,
  sequenceLength: 24,
};
const config: Config = resolveConfig({ env: {}, flags });
const text = (file: string) => readFileSync(join(paths.artifacts, file), 'utf8');
const artifact = (file: string) => JSON.parse(text(file));
let stage: DataStageResult;
let firstLog: string[] = [];

before(async () => {
  await writeDemoDataset(paths.dataset, { films: 60, seed: 11 }, recordingEffects());
  stage = await runDataStage(stageContext(config, projectRoot, recordingEffects()));
  await runTrainStage(stage, stageContext(config, projectRoot, recordingEffects()));
  const effects = recordingEffects();
  await runGmuStage(stage, stageContext(config, projectRoot, effects));
  firstLog = effects.lines;
});

describe('the fusion stage on the demo data', { timeout: 600_000 }, () => {
  test('writes schema-valid artifacts in the split’s film order', () => {
    const split = SplitArtifactSchema.parse(artifact('split.json'));
    const predictions = GmuPredictionsArtifactSchema.parse(artifact('predictions-gmu.json'));
    const train = GmuTrainProbabilitiesArtifactSchema.parse(artifact('train-probabilities-gmu.json'));
    const history = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    assert.deepEqual(
      predictions.films.map((f) => f.id),
      split.validation,
    );
    assert.deepEqual(
      train.films.map((f) => f.id),
      split.train,
    );
    assert.equal(train.folds, GMU_SETTINGS.folds);
    for (const film of [...predictions.films, ...train.films]) {
      assert.equal(film.probabilities.length, stage.dataset.genres.length);
      assert.ok(film.probabilities.every((p) => p >= 0 && p <= 1));
    }
    for (const film of predictions.films) {
      const top = film.probabilities
        .map((p, g) => ({ p, g }))
        .sort((a, b) => b.p - a.p)
        .slice(0, 3);
      assert.deepEqual(
        film.top3.map((t) => t.genre),
        top.map(({ g }) => predictions.genres[g]),
      );
    }
    // The history: the final head's epochs, the chosen one the lowest holdout loss; the folds cover the training films.
    assert.equal(history.epochs.length, GMU_SETTINGS.maxEpochs);
    const losses = history.epochs.map((e) => e.holdoutLoss);
    assert.equal(history.chosenEpoch, losses.indexOf(Math.min(...losses)));
    assert.equal(history.sizes.trainFilms, split.train.length);
    assert.equal(history.sizes.innerTrainFilms + history.sizes.holdoutFilms, split.train.length);
    assert.equal(
      history.folds.reduce((sum, f) => sum + f.films, 0),
      split.train.length,
    );
    assert.deepEqual(history.method.inputs, { visual: { model: 'cnn', layer: 'FC2', units: 1024 }, textual: { model: 'lstm', layer: 'dense', units: 128 } });
    assert.equal(history.trainingKey, artifact('run.json').trainingKey);
    assert.ok(
      firstLog.some((line) => /^Learned fusion \(GMU\): training on the 48 training films/.test(line)),
      firstLog.join('\n'),
    );
    assert.ok(
      firstLog.some((line) => /^Learned fusion \(GMU\): kept epoch \d+\/40/.test(line)),
      firstLog.join('\n'),
    );
  });

  test('the activations are the models’ own: their output layer on them gives the published predictions', async () => {
    const inputs = prepareModelInputs(stage, config);
    for (const [model, layer, head] of [
      ['cnn', 'FC2', 'Output'],
      ['lstm', 'dense', 'dense_1'],
    ] as const) {
      const network = await loadModel(join(paths.public, 'models', model));
      const { values, units } = await extractActivations(network, layer, inputs.data[model], stage.split.validation);
      const published = PredictionsArtifactSchema.parse(artifact(`predictions-${model}.json`));
      const p = tf.tidy(() => (network.getLayer(head).apply(tf.tensor2d(values, [stage.split.validation.length, units])) as tf.Tensor).dataSync());
      published.films.forEach((film, row) =>
        film.probabilities.forEach((q, g) => assert.ok(Math.abs(p[row * film.probabilities.length + g] - q) < 2e-5, `${model} ${film.id} ${g}`)),
      );
      network.dispose();
    }
  });

  test('training keeps the fusion’s input activations of every film, the published models’ own; without them (an older training entry) the models run again and the fusion is the same', async () => {
    const key = artifact('run.json').trainingKey;
    const inputs = prepareModelInputs(stage, config);
    const films = [...stage.split.train, ...stage.split.validation];
    assert.ok(
      firstLog.some((line) => line === `Learned fusion (GMU): CNN FC2 activations of ${films.length} films kept by training's final pass`),
      firstLog.join('\n'),
    );
    for (const [model, layer, units] of [
      ['cnn', 'FC2', 1024],
      ['lstm', 'dense', 128],
    ] as const) {
      const entry = join(paths.cache, 'training', key, model);
      assert.deepEqual(JSON.parse(readFileSync(join(entry, 'result.json'), 'utf8')).activations, { layer, units, films: films.length });
      const bytes = readFileSync(join(entry, 'activations.f32'));
      const network = await loadModel(join(paths.public, 'models', model));
      const { values } = await extractActivations(network, layer, inputs.data[model], films);
      network.dispose();
      assertCloseToScale(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), values, `${model} ${layer}`, 1e-6);
    }
    const files = ['predictions-gmu.json', 'train-probabilities-gmu.json'];
    const before = files.map(artifact);
    const history = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    const moved: string[] = [];
    try {
      for (const model of ['cnn', 'lstm']) {
        const file = join(paths.cache, 'training', key, model, 'activations.f32');
        await rename(file, `${file}.aside`);
        moved.push(file);
      }
      await rm(join(paths.cache, 'fusion', history.key), { recursive: true, force: true });
      const effects = recordingEffects();
      await runGmuStage(stage, stageContext(config, projectRoot, effects));
      assert.ok(!effects.lines.some((line) => /kept by training/.test(line)), effects.lines.join('\n'));
      files.forEach((file, i) => {
        const after = artifact(file) as { films: { probabilities: number[] }[] };
        after.films.forEach((film, row) => assertCloseToScale(film.probabilities, before[i].films[row].probabilities, `${file} film ${row}`, 1e-4));
      });
    } finally {
      for (const file of moved) await rename(`${file}.aside`, file);
    }
  });

  test('the GMU published for the live demo: its metadata follows the contract, and on the activations standardised as it says it gives the published predictions', async () => {
    const dir = join(paths.public, 'models', 'gmu');
    for (const file of ['model.json', 'weights.bin', 'metadata.json']) assert.ok(existsSync(join(dir, file)), `models/gmu/${file}`);
    const meta = GmuModelMetadataSchema.parse(await readModelMetadata(dir));
    const history = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    assert.equal(meta.key, history.key);
    assert.equal(meta.chosenEpoch, history.chosenEpoch);
    assert.equal(meta.trainingKey, artifact('run.json').trainingKey);
    assert.deepEqual(meta.genres, stage.dataset.genres);
    assert.deepEqual([meta.input.visual.model, meta.input.visual.layer, meta.input.visual.units], ['cnn', 'FC2', 1024]);
    assert.deepEqual([meta.input.textual.model, meta.input.textual.layer, meta.input.textual.units], ['lstm', 'dense', 128]);
    assert.ok(
      meta.input.visual.standardisation.sd.some((sd) => sd !== 1),
      'real statistics, not a placeholder',
    );

    // The pipeline's way: the published CNN's and BiLSTM's activations of the validation films, standardised with the metadata's statistics.
    const inputs = prepareModelInputs(stage, config);
    const films = stage.split.validation;
    const standardised = {} as Record<'visual' | 'textual', Float32Array>;
    for (const side of ['visual', 'textual'] as const) {
      const { model, layer, units, standardisation } = meta.input[side];
      const network = await loadModel(join(paths.public, 'models', model));
      const { values } = await extractActivations(network, layer, inputs.data[model], films);
      network.dispose();
      const s = standardisationFromJson(standardisation, units, 'metadata.json');
      standardised[side] = standardise(
        values,
        units,
        films.map((_, i) => i),
        s,
      );
    }
    const gmu = await loadModel(dir);
    const viaModel = tf.tidy(() =>
      (gmu.predict([tf.tensor2d(standardised.visual, [films.length, 1024]), tf.tensor2d(standardised.textual, [films.length, 128])]) as tf.Tensor).dataSync(),
    );
    const viaWeights = gmuForward(gmuWeightsOf(gmu), standardised.visual, standardised.textual, films.length);
    gmu.dispose();
    const published = GmuPredictionsArtifactSchema.parse(artifact('predictions-gmu.json'));
    const g = published.genres.length;
    let max = 0;
    published.films.forEach((film, row) =>
      film.probabilities.forEach((q, k) => {
        max = Math.max(max, Math.abs(viaModel[row * g + k] - q), Math.abs(viaWeights[row * g + k] - q));
      }),
    );
    assert.ok(max < 2e-5, `the published GMU differs from predictions-gmu.json by ${max}`);
  });

  test('a second run reuses the cached fusion: nothing is retrained, the artifacts and the published model are the same', async () => {
    const files = ['predictions-gmu.json', 'train-probabilities-gmu.json', 'fusion-gmu.json'];
    const modelDir = join(paths.public, 'models', 'gmu');
    const modelFiles = ['model.json', 'weights.bin', 'metadata.json'];
    const before = files.map(text);
    const modelBefore = modelFiles.map((file) => readFileSync(join(modelDir, file)));
    await rm(modelDir, { recursive: true, force: true });
    const effects = recordingEffects();
    await runGmuStage(stage, stageContext(config, projectRoot, effects));
    assert.ok(
      effects.lines.some((line) => /^Learned fusion \(GMU\): reusing the trained fusion from the cache \(key [0-9a-f]{24}/.test(line)),
      effects.lines.join('\n'),
    );
    assert.ok(!effects.lines.some((line) => /training on|kept epoch/.test(line)), effects.lines.join('\n'));
    assert.deepEqual(files.map(text), before);
    assert.deepEqual(
      modelFiles.map((file) => readFileSync(join(modelDir, file))),
      modelBefore,
      'the model is published again from the cache',
    );
  });

  test('a cached fusion whose weights were cut short is reported in one line and trained again', async () => {
    const history = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    const before = artifact('predictions-gmu.json');
    const weights = join(paths.cache, 'fusion', history.key, 'model', 'weights.bin');
    const good = readFileSync(weights);
    writeFileSync(weights, good.subarray(0, 10));
    const effects = recordingEffects();
    await runGmuStage(stage, stageContext(config, projectRoot, effects));
    const warnings = effects.lines.filter((line) => /damaged/.test(line));
    assert.deepEqual(warnings, [
      `warning: Learned fusion (GMU): the cached fusion in ${join(paths.cache, 'fusion', history.key)} is damaged (model/weights.bin is 10 bytes, ${good.length.toLocaleString('en')} when it was written); training it again`,
    ]);
    assert.deepEqual(readFileSync(weights), good, 'trained again: the same weights');
    assert.deepEqual(readFileSync(join(paths.public, 'models', 'gmu', 'weights.bin')), good, 'and those are published');
    assert.deepEqual(artifact('predictions-gmu.json'), before);
  });

  test('a cached fusion without its model (an older, unsealed cache) is trained again, not published without the model', async () => {
    const history = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    const before = artifact('predictions-gmu.json');
    await rm(join(paths.cache, 'fusion', history.key, 'entry.json'), { force: true });
    await rm(join(paths.cache, 'fusion', history.key, 'model'), { recursive: true, force: true });
    await rm(join(paths.public, 'models', 'gmu'), { recursive: true, force: true });
    const effects = recordingEffects();
    await runGmuStage(stage, stageContext(config, projectRoot, effects));
    const log = effects.lines.join('\n');
    assert.match(
      log,
      new RegExp(`the cached fusion \\(key ${history.key}\\) cannot be reused: .*lacks model\\.json, weights\\.bin, metadata\\.json.*training it again`),
    );
    assert.ok(
      effects.lines.some((line) => /kept epoch/.test(line)),
      log,
    );
    assert.ok(existsSync(join(paths.public, 'models', 'gmu', 'model.json')));
    assert.ok(existsSync(join(paths.cache, 'fusion', history.key, 'model', 'weights.bin')));
    assert.deepEqual(artifact('predictions-gmu.json'), before, 'trained again: the same result');
  });

  test('the validation films’ labels change nothing (trained again with them inverted)', async () => {
    const before = {
      predictions: artifact('predictions-gmu.json'),
      train: artifact('train-probabilities-gmu.json'),
      history: artifact('fusion-gmu.json'),
    };
    const validation = new Set(stage.split.validation);
    const inverted: DataStageResult = {
      ...stage,
      dataset: {
        ...stage.dataset,
        films: stage.dataset.films.map((film, i) => (validation.has(i) ? { ...film, labels: film.labels.map((y) => 1 - y) } : film)),
      },
    };
    const effects = recordingEffects();
    await runGmuStage(inverted, stageContext({ ...config, retrain: true }, projectRoot, effects));
    assert.ok(
      effects.lines.some((line) => /kept epoch/.test(line)),
      'it trained again',
    );
    const after = { predictions: artifact('predictions-gmu.json'), train: artifact('train-probabilities-gmu.json'), history: artifact('fusion-gmu.json') };
    assert.deepEqual(after.predictions, before.predictions);
    assert.deepEqual(after.train, before.train);
    const stable = (h: Record<string, unknown>) => ({ ...h, generatedAt: null, timing: null });
    assert.deepEqual(stable(after.history), stable(before.history));
  });

  test('models of another run are refused, naming the fix', async () => {
    const runFile = join(paths.artifacts, 'run.json');
    const saved = readFileSync(runFile, 'utf8');
    writeFileSync(runFile, JSON.stringify({ ...JSON.parse(saved), trainingKey: 'ffffffffffffffffffffffff' }));
    try {
      await assert.rejects(runGmuStage(stage, stageContext(config, projectRoot, recordingEffects())), /is not the one run\.json and this dataset describe/);
    } finally {
      writeFileSync(runFile, saved);
    }
  });
});
