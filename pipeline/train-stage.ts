/**
 * The train stage: prepares both modalities, trains the poster CNN and the overview LSTM (or reuses
 * them from the training cache), and writes the training artifacts of the data contract plus the
 * trained models with their preprocessing metadata.
 *
 * Cache: a content hash of (dataset, split, settings that change results, pipeline version) keys
 * `<cacheDir>/training/<key>/<model>/`. A model whose `result.json` exists there is not retrained
 * (unless --retrain); a model whose folder holds only a checkpoint resumes from it.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { selectBackend } from './backend.ts';
import { effectiveProfile, type Config, type Profile } from './config.ts';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  MODEL_KINDS,
  type BackendInfo,
  type HistoryArtifact,
  type ModelKind,
  type PredictionsArtifact,
  type RunArtifact,
} from './contract.ts';
import type { DataStageResult } from './data-stage.ts';
import type { Effects } from './effects.ts';
import { readJson, sha256, writeJsonAtomic } from './files.ts';
import { topK } from './metrics.ts';
import { buildCnn, compileForCoursework } from './models/cnn.ts';
import { buildLstm } from './models/lstm.ts';
import { architectureTable } from './models/summary.ts';
import { MODEL_FILE, saveModel } from './model-io.ts';
import { labelMatrix, posterInputs, tokenInputs } from './model-inputs.ts';
import { writeExamplesArtifact } from './site-files.ts';
import { trainModel, type TrainingData, type TrainingOutcome, type TrainingSchedule } from './train.ts';
import { buildVocabulary, vectorizeAll, type VectorizerConfig } from './vectorizer.ts';

/** Bump when a change to training would change its results: invalidates the training cache. */
export const PIPELINE_VERSION = 1;

export const PROFILE_EPOCHS: Record<Profile, Record<ModelKind, number>> = {
  coursework: { cnn: 40, lstm: 20 },
  quick: { cnn: 3, lstm: 2 },
};

export const MODEL_TITLES: Record<ModelKind, string> = {
  cnn: 'Poster CNN',
  lstm: 'Overview BiLSTM',
};

const BATCH_SIZE = 64;
const LEARNING_RATE = 1e-4;
const THRESHOLD = 0.5;

export function trainingSchedules(config: Config, profile: Profile): Record<ModelKind, TrainingSchedule> {
  const epochs = PROFILE_EPOCHS[profile];
  const schedule = (model: ModelKind) => ({ epochs: config.epochs ?? epochs[model], batchSize: BATCH_SIZE, learningRate: LEARNING_RATE });
  return { cnn: schedule('cnn'), lstm: schedule('lstm') };
}

/** Per-model training result as kept in the training cache (and published as artifacts). */
interface CachedModelResult {
  history: HistoryArtifact;
  predictions: PredictionsArtifact;
  run: RunArtifact['models'][ModelKind];
  backend: BackendInfo;
}

/** The inputs both models are trained on: posters for the CNN, token ids for the LSTM. */
export interface ModelInputs {
  vectorizer: VectorizerConfig;
  tokenIds: Int32Array;
  data: Record<ModelKind, TrainingData>;
}

export function prepareModelInputs(stage: DataStageResult, config: Config): ModelInputs {
  const { dataset, split } = stage;
  const labels = labelMatrix(dataset);

  const vocabulary = buildVocabulary(
    split.train.map((i) => dataset.films[i].overview),
    config.maxTokens,
  );
  const length = config.sequenceLength;
  const tokenIds = vectorizeAll(
    dataset.films.map((film) => film.overview),
    vocabulary,
    length,
  );
  const size = config.imageSize;
  const common = { labels, genres: dataset.genres, train: split.train, validation: split.validation };
  return {
    vectorizer: {
      maxTokens: config.maxTokens,
      sequenceLength: length,
      standardize: 'lower_and_strip_punctuation',
      split: 'whitespace',
      vocabulary,
    },
    tokenIds,
    data: {
      cnn: { ...common, inputs: posterInputs(dataset.posterPixels, size) },
      lstm: { ...common, inputs: tokenInputs(tokenIds, length) },
    },
  };
}

export function trainingKey(stage: DataStageResult, config: Config, schedules: Record<ModelKind, TrainingSchedule>): string {
  return sha256(
    JSON.stringify({
      pipeline: PIPELINE_VERSION,
      contract: CONTRACT_VERSION,
      dataset: stage.dataset.contentHash,
      validation: sha256(stage.split.validation.map((i) => stage.dataset.films[i].id).join('\n')),
      seed: config.seed,
      imageSize: config.imageSize,
      resizeKernel: config.resizeKernel,
      maxTokens: config.maxTokens,
      sequenceLength: config.sequenceLength,
      schedules,
    }),
  ).slice(0, 24);
}

/** The embedding has `maxTokens` rows, as the coursework's, even when the vocabulary is smaller. */
function buildModel(model: ModelKind, stage: DataStageResult, config: Config): tf.LayersModel {
  const genreCount = stage.dataset.genres.length;
  return model === 'cnn'
    ? buildCnn({ imageSize: config.imageSize, genreCount, seed: config.seed })
    : buildLstm({ vocabularySize: config.maxTokens, sequenceLength: config.sequenceLength, genreCount, seed: config.seed });
}

function modelMetadata(model: ModelKind, stage: DataStageResult, inputs: ModelInputs, config: Config, key: string) {
  const input =
    model === 'cnn'
      ? { kind: 'poster' as const, ...stage.dataset.posterPreprocessing }
      : { kind: 'overview' as const, ...inputs.vectorizer };
  return {
    model,
    title: MODEL_TITLES[model],
    genres: stage.dataset.genres,
    threshold: THRESHOLD,
    input,
    seed: config.seed,
    trainingKey: key,
    datasetHash: stage.dataset.contentHash,
    tfjsVersion: tf.version.tfjs,
  };
}

function predictionsArtifact(model: ModelKind, stage: DataStageResult, outcome: TrainingOutcome): PredictionsArtifact {
  const { genres, films } = stage.dataset;
  const g = genres.length;
  const top = topK(outcome.validationProbabilities, genres, 3);
  return {
    contractVersion: CONTRACT_VERSION,
    model,
    genres,
    threshold: THRESHOLD,
    films: stage.split.validation.map((filmIndex, row) => ({
      id: films[filmIndex].id,
      probabilities: Array.from(outcome.validationProbabilities.subarray(row * g, (row + 1) * g), (p) => Math.round(p * 1e6) / 1e6),
      top3: top[row].map(({ genre, probability }) => ({ genre, probability: Math.round(probability * 1e6) / 1e6 })),
    })),
  };
}

async function trainOne(
  model: ModelKind,
  stage: DataStageResult,
  inputs: ModelInputs,
  config: Config,
  schedule: TrainingSchedule,
  dir: string,
  key: string,
  backend: BackendInfo,
  effects: Effects,
): Promise<CachedModelResult> {
  const network = buildModel(model, stage, config);
  const optimizer = compileForCoursework(network, schedule.learningRate);
  const started = effects.now();
  const outcome = await trainModel({
    model: network,
    optimizer,
    data: inputs.data[model],
    schedule,
    seed: config.seed,
    checkpointDir: join(dir, 'checkpoint'),
    label: MODEL_TITLES[model],
    effects,
  });
  const architecture = architectureTable(network);
  await saveModel(network, join(dir, 'model'), modelMetadata(model, stage, inputs, config, key));
  const result: CachedModelResult = {
    history: {
      contractVersion: CONTRACT_VERSION,
      model,
      title: MODEL_TITLES[model],
      epochs: outcome.history,
      bestEpoch: outcome.bestEpoch,
      best: {
        loss: outcome.best.loss,
        microPrecision: outcome.best.microPrecision,
        microRecall: outcome.best.microRecall,
        microF1: outcome.best.microF1,
        macroF1: outcome.best.macroF1,
      },
      perGenre: outcome.best.perGenre,
      architecture,
    },
    predictions: predictionsArtifact(model, stage, outcome),
    run: {
      epochs: schedule.epochs,
      batchSize: schedule.batchSize,
      learningRate: schedule.learningRate,
      trainingMs: effects.now() - started,
      epochMs: outcome.history.map((e) => e.trainMs + e.evaluationMs),
      params: network.countParams(),
      bestEpoch: outcome.bestEpoch,
      resumedAtEpoch: outcome.resumedAtEpoch,
      cached: false,
    },
    backend,
  };
  await writeJsonAtomic(join(dir, 'result.json'), result);
  await rm(join(dir, 'checkpoint'), { recursive: true, force: true });
  network.dispose();
  optimizer.dispose();
  return result;
}

function libraryVersions(): Record<string, string> {
  return {
    node: process.versions.node,
    tfjs: tf.version.tfjs,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    genrelensPipeline: String(PIPELINE_VERSION),
  };
}

/** Trains (or reuses) both models and writes run.json, history-*.json, predictions-*.json and the models. */
export async function runTrainStage(stage: DataStageResult, config: Config, root: string, effects: Effects): Promise<RunArtifact> {
  const profile = effectiveProfile(config, stage.dataset.synthetic);
  const schedules = trainingSchedules(config, profile);
  const key = trainingKey(stage, config, schedules);
  const trainingDir = resolve(root, config.cacheDir, 'training', key);
  const inputs = prepareModelInputs(stage, config);
  const results = {} as Record<ModelKind, CachedModelResult>;
  let backend: BackendInfo | undefined;

  for (const model of MODEL_KINDS) {
    const dir = join(trainingDir, model);
    if (config.retrain) await rm(dir, { recursive: true, force: true });
    const resultFile = join(dir, 'result.json');
    if (existsSync(resultFile) && existsSync(join(dir, 'model', MODEL_FILE))) {
      const cached = await readJson<CachedModelResult>(resultFile);
      results[model] = { ...cached, run: { ...cached.run, cached: true } };
      effects.info(`${MODEL_TITLES[model]}: reusing the trained model from the cache (key ${key}; --retrain to train again)`);
      continue;
    }
    backend ??= await selectBackend({ force: config.backend, effects });
    await mkdir(dir, { recursive: true });
    effects.info(`${MODEL_TITLES[model]}: training ${schedules[model].epochs} epochs on ${stage.split.train.length} films (${backend.name} backend)`);
    results[model] = await trainOne(model, stage, inputs, config, schedules[model], dir, key, backend, effects);
  }

  const artifactsDir = resolve(root, config.artifactsDir);
  const modelsDir = resolve(root, config.publicDir, 'models');
  for (const model of MODEL_KINDS) {
    await writeJsonAtomic(join(artifactsDir, ARTIFACT_FILES.history(model)), results[model].history);
    await writeJsonAtomic(join(artifactsDir, ARTIFACT_FILES.predictions(model)), results[model].predictions);
    await rm(join(modelsDir, model), { recursive: true, force: true });
    await cp(join(trainingDir, model, 'model'), join(modelsDir, model), { recursive: true });
  }
  const notes = [
    'Recurrent dropout (0.2) is supported by tfjs LSTM layers (one variational mask per batch, as Keras) ' +
      'and is used as in the coursework; `npm run bench` measures its cost per step.',
    `Per-epoch metrics are computed over the whole training and validation sets at threshold ${THRESHOLD}, ` +
      'not averaged per batch; the training-set metrics use inference mode (no dropout).',
  ];
  const run: RunArtifact = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    profile,
    seed: config.seed,
    trainingKey: key,
    datasetHash: stage.dataset.contentHash,
    config: {
      profile,
      seed: config.seed,
      validationFraction: config.validationFraction,
      imageSize: config.imageSize,
      resizeKernel: config.resizeKernel,
      maxTokens: config.maxTokens,
      sequenceLength: config.sequenceLength,
      batchSize: BATCH_SIZE,
      learningRate: LEARNING_RATE,
      epochs: { cnn: schedules.cnn.epochs, lstm: schedules.lstm.epochs },
    },
    backend: backend ?? results.cnn.backend,
    libraries: libraryVersions(),
    models: { cnn: results.cnn.run, lstm: results.lstm.run },
    vocabularySize: inputs.vectorizer.vocabulary.length,
    notes,
  };
  await writeJsonAtomic(join(artifactsDir, ARTIFACT_FILES.run), run);
  // The report's example cards: examples.json and the validation films' poster thumbnails.
  await writeExamplesArtifact(stage, config, root, effects);
  return run;
}
