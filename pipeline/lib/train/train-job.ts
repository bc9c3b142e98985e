/**
 * Training one model: build it, train it (resuming from its checkpoint), save it with its
 * metadata.json, and keep its result (history, validation predictions, training-film
 * probabilities, run figures) in its training-cache entry, which is then sealed. Runs in the
 * main thread or in a worker thread (./workers/train-worker.ts), one job each.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../engine/backend.ts';
import { fusedLstmStatus, releaseFusedLstmBuffers } from '../engine/fused-lstm.ts';
import { winogradStatus } from '../engine/wasm-kernels/winograd.ts';
import { fastDropoutStatus } from '../engine/fast-dropout.ts';
import { simdAdamStatus } from '../engine/simd-adam.ts';
import {
  CONTRACT_VERSION,
  MODEL_METADATA_SCHEMAS,
  MODEL_TITLES,
  type BackendInfo,
  type ModelKind,
  type ModelMetadata,
  type PredictionsArtifact,
  type TrainProbabilitiesArtifact,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import type { Effects } from '../core/effects.ts';
import { writeFileAtomic, writeJsonAtomic } from '../core/files.ts';
import { writeEntry } from '../core/cache.ts';
import { predictionRows, probabilityRows } from '../core/probability-rows.ts';
import { DECISION_THRESHOLD, GMU_INPUTS, type Config } from '../settings.ts';
import { buildCnn, compileForCoursework } from './models/cnn.ts';
import { buildLstm } from './models/lstm.ts';
import { architectureTable } from './models/summary.ts';
import { saveModel } from './model-io.ts';
import { positiveWeights } from './losses.ts';
import { lossOf, ShardedSteps, type LossSpec } from './sharded-steps.ts';
import { prepareModelInputs, type ModelInputs } from './model-inputs.ts';
import { ACTIVATIONS_FILE, CHECKPOINT_DIR, RESULT_FILE, type CachedModelResult } from './training-cache.ts';
import { trainModel, type TrainingOutcome, type TrainingSchedule } from './train.ts';

/** The embedding has `maxTokens` rows, as the coursework's, even when the vocabulary is smaller. */
function buildModel(model: ModelKind, stage: DataStageResult, config: Config): tf.LayersModel {
  const genreCount = stage.dataset.genres.length;
  return model === 'cnn'
    ? buildCnn({ imageSize: config.imageSize, genreCount, seed: config.seed })
    : buildLstm({ vocabularySize: config.maxTokens, genreCount, seed: config.seed });
}

/** metadata.json of a trained model, checked against the contract before it is saved. */
function modelMetadata(model: ModelKind, stage: DataStageResult, inputs: ModelInputs, config: Config, key: string): ModelMetadata {
  const input = model === 'cnn' ? { kind: 'poster' as const, ...stage.dataset.posterPreprocessing } : { kind: 'overview' as const, ...inputs.vectorizer };
  const metadata = {
    model,
    title: MODEL_TITLES[model],
    genres: stage.dataset.genres,
    threshold: DECISION_THRESHOLD,
    input,
    seed: config.seed,
    trainingKey: key,
    datasetHash: stage.dataset.contentHash,
    tfjsVersion: tf.version.tfjs,
  };
  MODEL_METADATA_SCHEMAS[model].parse(metadata); // a genrelens bug if it throws: the metadata breaks the contract
  return metadata as ModelMetadata;
}

function trainProbabilitiesArtifact(model: ModelKind, stage: DataStageResult, outcome: TrainingOutcome): TrainProbabilitiesArtifact {
  return {
    contractVersion: CONTRACT_VERSION,
    model,
    genres: stage.dataset.genres,
    films: probabilityRows(stage.dataset.films, stage.split.train, outcome.trainProbabilities, stage.dataset.genres.length),
  };
}

function predictionsArtifact(model: ModelKind, stage: DataStageResult, outcome: TrainingOutcome): PredictionsArtifact {
  const { genres } = stage.dataset;
  return {
    contractVersion: CONTRACT_VERSION,
    model,
    genres,
    threshold: DECISION_THRESHOLD,
    films: predictionRows(stage.dataset.films, stage.split.validation, outcome.validationProbabilities, genres),
  };
}

/** The layer of `model` whose activations the learned fusion takes (settings.ts GMU_INPUTS). */
function fusionInputLayer(model: ModelKind): string {
  return Object.values(GMU_INPUTS).find((input) => input.model === model)!.layer;
}

/** One model to train: everything a worker thread needs (all of it structured-cloneable). */
export interface TrainJob {
  model: ModelKind;
  stage: DataStageResult;
  config: Config;
  schedule: TrainingSchedule;
  /** `<cacheDir>/training/<key>/<model>/` */
  dir: string;
  key: string;
}

/**
 * Cores a running job may use beyond its own: the listener is called once per core granted (for
 * the CNN's shards; see `trainInWorkers`).
 */
export interface FreeCores {
  onFree(listener: () => void): void;
}

/**
 * Trains one model and stores its result in the training cache. `backend` and `inputs` are made here
 * when not given (a worker thread has neither).
 */
export async function trainJob(
  job: TrainJob,
  effects: Effects,
  backend?: BackendInfo,
  inputs?: ModelInputs,
  freeCores?: FreeCores,
  signal?: AbortSignal,
): Promise<CachedModelResult> {
  backend ??= await selectBackend({ force: job.config.backend, effects });
  inputs ??= prepareModelInputs(job.stage, job.config);
  return trainOne(job.model, job.stage, inputs, job.config, job.schedule, job.dir, job.key, backend, effects, freeCores, signal);
}

/** Backends that compute on one core, whose training gains from shards on other cores. */
const ONE_CORE_BACKENDS: readonly string[] = ['wasm', 'cpu'] satisfies BackendChoice[];

/**
 * The CNN's sharded steps (config `cnnShards` > 1; none for the LSTM or whole batches). On a
 * one-core backend, each core granted by `freeCores` takes a shard into a helper thread.
 */
function shardedSteps(
  model: ModelKind,
  network: tf.LayersModel,
  optimizer: tf.Optimizer,
  loss: LossSpec,
  config: Config,
  backend: BackendInfo,
  effects: Effects,
  freeCores?: FreeCores,
) {
  if (model !== 'cnn' || config.cnnShards <= 1) return undefined;
  const steps = new ShardedSteps({
    model: network,
    optimizer,
    loss,
    shards: config.cnnShards,
    warn: (message) => effects.warn(`${MODEL_TITLES[model]}: ${message}`),
  });
  if (freeCores && ONE_CORE_BACKENDS.includes(backend.name)) {
    freeCores.onFree(() =>
      steps.addHelper(backend.name as BackendChoice).then(
        (joined) => {
          if (joined)
            effects.info(
              `${MODEL_TITLES[model]}: a core is free; ${steps.helperCount} of its ${steps.shards} shards per batch now run${steps.helperCount === 1 ? 's' : ''} in a helper thread there (the numbers are the same)`,
            );
        },
        (error: Error) => effects.warn(`${MODEL_TITLES[model]}: ${error.message}; its shards stay in one thread (the numbers are the same)`),
      ),
    );
  }
  return steps;
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
  freeCores?: FreeCores,
  signal?: AbortSignal,
): Promise<CachedModelResult> {
  await mkdir(dir, { recursive: true });
  effects.info(`${MODEL_TITLES[model]}: training ${schedule.epochs} epochs on ${stage.split.train.length} films (${backend.name} backend)`);
  const network = buildModel(model, stage, config);
  const optimizer = compileForCoursework(network, schedule.learningRate);
  const { labels, genres, train } = inputs.data[model];
  const lossSpec: LossSpec = {
    name: config.loss,
    ...(config.loss === 'class-weighted-bce' ? { weights: Array.from(positiveWeights(labels, genres.length, train)) } : {}),
  };
  const started = effects.now();
  const fusedCallsBefore = fusedLstmStatus().calls;
  const dropoutCallsBefore = fastDropoutStatus().calls;
  const adamUpdatesBefore = simdAdamStatus().variables;
  const winogradCallsBefore = winogradStatus().calls;
  const steps = shardedSteps(model, network, optimizer, lossSpec, config, backend, effects, freeCores);
  let outcome: TrainingOutcome;
  try {
    outcome = await trainModel({
      model: network,
      optimizer,
      data: inputs.data[model],
      schedule,
      seed: config.seed,
      checkpointDir: join(dir, CHECKPOINT_DIR),
      label: MODEL_TITLES[model],
      effects,
      loss: lossOf(lossSpec),
      steps,
      signal,
      keepActivations: fusionInputLayer(model),
    });
  } finally {
    await steps?.close();
    releaseFusedLstmBuffers();
  }
  const architecture = architectureTable(network);
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
    trainProbabilities: trainProbabilitiesArtifact(model, stage, outcome),
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
      ...(outcome.meanBatchLength === null ? {} : { meanTimesteps: Math.round(outcome.meanBatchLength * 10) / 10 }),
      ...(outcome.stoppedEarlyAfterEpoch === null ? {} : { stoppedEarlyAfterEpoch: outcome.stoppedEarlyAfterEpoch }),
      ...(steps
        ? {
            shards: {
              perBatch: steps.shards,
              computed: steps.counts.shards,
              inHelpers: steps.counts.inHelpers,
              inferenceInHelpers: steps.counts.inferenceInHelpers,
            },
          }
        : {}),
      ...(model === 'lstm'
        ? { fusedLstmCalls: fusedLstmStatus().calls - fusedCallsBefore }
        : { winogradConvCalls: winogradStatus().calls - winogradCallsBefore }),
      fastDropoutCalls: fastDropoutStatus().calls - dropoutCallsBefore,
      simdAdamUpdates: simdAdamStatus().variables - adamUpdatesBefore,
    },
    backend,
    ...(outcome.activations
      ? { activations: { layer: outcome.activations.layer, units: outcome.activations.units, films: stage.split.train.length + stage.split.validation.length } }
      : {}),
  };
  // The entry replaces the folder that held the checkpoint, in one rename.
  await writeEntry(dir, async (temp) => {
    await saveModel(network, join(temp, 'model'), modelMetadata(model, stage, inputs, config, key));
    if (outcome.activations)
      await writeFileAtomic(
        join(temp, ACTIVATIONS_FILE),
        new Uint8Array(outcome.activations.values.buffer, outcome.activations.values.byteOffset, outcome.activations.values.byteLength),
      );
    await writeJsonAtomic(join(temp, RESULT_FILE), result);
  });
  network.dispose();
  optimizer.dispose();
  return result;
}
