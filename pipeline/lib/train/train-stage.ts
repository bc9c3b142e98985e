/**
 * The train stage: prepares both modalities, trains the poster CNN and the overview LSTM (or reuses
 * them from the training cache), and writes the training artifacts of the data contract plus the
 * trained models with their preprocessing metadata.
 *
 * Cache: a content hash of (dataset, split, settings that change results, pipeline version) keys
 * `<cacheDir>/training/<key>/<model>/`. A model whose `result.json` exists there is not retrained
 * (unless --retrain); a model whose folder holds only a checkpoint resumes from it.
 *
 * Speed: the wasm and cpu backends compute on one core, so with two models to train and two cores
 * each model trains in its own worker thread (`pipeline/lib/train/workers/train-worker.ts`), at the same time; the
 * log and the progress line show both. `--sequential` (config `parallel: false`) trains them one
 * after the other in this thread. The results do not depend on it: each model's numbers come from
 * its own seeded generators.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { selectBackend, type BackendChoice } from '../engine/backend.ts';
import { effectiveProfile } from '../config.ts';
import type { Config, Profile } from '../settings.ts';
import {
  CONTRACT_VERSION,
  MODEL_KINDS,
  MODEL_METADATA_SCHEMAS,
  type BackendInfo,
  type HistoryArtifact,
  type ModelKind,
  type ModelMetadata,
  type Optimisation,
  type PredictionsArtifact,
  type RunArtifact,
  type TrainProbabilitiesArtifact,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import type { Effects } from '../core/effects.ts';
import { UserError } from '../core/errors.ts';
import { readJson, sha256, writeJsonAtomic } from '../core/files.ts';
import { topK } from '../core/metrics.ts';
import { buildCnn, compileForCoursework } from './models/cnn.ts';
import { buildLstm } from './models/lstm.ts';
import { architectureTable } from './models/summary.ts';
import { MODEL_FILE, modelFilesProblem, saveModel } from './model-io.ts';
import { checkEntry, sealEntry } from '../core/cache.ts';
import { positiveWeights } from './losses.ts';
import { lossOf, ShardedSteps, type LossSpec } from './sharded-steps.ts';
import { augmentedPosterInputs, labelMatrix, posterInputs, tokenInputs, tokenLengths } from './model-inputs.ts';
import { writeExamplesArtifact } from '../publish/site-files.ts';
import { trainModel, type TrainingData, type TrainingOutcome, type TrainingSchedule } from './train.ts';
import { buildVocabulary, vectorizeAll, type VectorizerConfig } from '../contract/vectorizer.ts';
import type { StageContext } from '../core/context.ts';
import { DECISION_THRESHOLD, PROFILE_SCHEDULES } from '../settings.ts';

/**
 * Bump when a change to training would change its results: invalidates the training cache.
 * 2: LSTM batches grouped by overview length; training metrics from the training steps.
 */
export const PIPELINE_VERSION = 2;

export const MODEL_TITLES: Record<ModelKind, string> = {
  cnn: 'Poster CNN',
  lstm: 'Overview BiLSTM',
};

/** The training's checkpoint folder inside its cache entry (not part of the sealed entry). */
const CHECKPOINT_DIR = 'checkpoint';

export function trainingSchedules(config: Config, profile: Profile): Record<ModelKind, TrainingSchedule> {
  const schedule = (model: ModelKind): TrainingSchedule => ({
    ...PROFILE_SCHEDULES[profile][model],
    ...(config.epochs === undefined ? {} : { epochs: config.epochs }),
    ...(config.earlyStoppingPatience === undefined ? {} : { earlyStoppingPatience: config.earlyStoppingPatience }),
  });
  return { cnn: schedule('cnn'), lstm: schedule('lstm') };
}

/**
 * The training switches that differ from the coursework (loss, poster augmentation), for the
 * training key: absent when none does, so the coursework's key is what it was before they existed.
 * (Early stopping is part of the schedules.)
 */
export function trainingSwitches(config: Config): { loss?: Config['loss']; posterAugmentation?: true } {
  return { ...(config.loss === 'bce' ? {} : { loss: config.loss }), ...(config.posterAugmentation ? { posterAugmentation: true as const } : {}) };
}

/** Per-model training result as kept in the training cache (and published as artifacts). */
export interface CachedModelResult {
  history: HistoryArtifact;
  predictions: PredictionsArtifact;
  trainProbabilities: TrainProbabilitiesArtifact;
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
  const lengths = tokenLengths(tokenIds, length);
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
      cnn: {
        ...common,
        inputs: posterInputs(dataset.posterPixels, size),
        ...(config.posterAugmentation ? { trainingInputs: augmentedPosterInputs(dataset.posterPixels, size) } : {}),
      },
      lstm: { ...common, inputs: tokenInputs(tokenIds, length, lengths), lengthOf: (film: number) => lengths[film] },
    },
  };
}

export function trainingKey(stage: DataStageResult, config: Config, schedules: Record<ModelKind, TrainingSchedule>): string {
  const switches = trainingSwitches(config);
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
      ...(Object.keys(switches).length > 0 ? { switches } : {}),
      // Whole batches (1) keep the key they had before sharding existed.
      ...(config.cnnShards > 1 ? { cnnShards: config.cnnShards } : {}),
    }),
  ).slice(0, 24);
}

/** The embedding has `maxTokens` rows, as the coursework's, even when the vocabulary is smaller. */
function buildModel(model: ModelKind, stage: DataStageResult, config: Config): tf.LayersModel {
  const genreCount = stage.dataset.genres.length;
  return model === 'cnn'
    ? buildCnn({ imageSize: config.imageSize, genreCount, seed: config.seed })
    : buildLstm({ vocabularySize: config.maxTokens, genreCount, seed: config.seed });
}

/** metadata.json of a trained model, checked against the contract before it is saved. */
function modelMetadata(model: ModelKind, stage: DataStageResult, inputs: ModelInputs, config: Config, key: string): ModelMetadata {
  const input =
    model === 'cnn'
      ? { kind: 'poster' as const, ...stage.dataset.posterPreprocessing }
      : { kind: 'overview' as const, ...inputs.vectorizer };
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

const round6 = (p: number) => Math.round(p * 1e6) / 1e6;

/** One row per film of `filmIndices`: its id and its probabilities (rounded to 1e-6). */
function probabilityRows(stage: DataStageResult, filmIndices: readonly number[], probabilities: Float32Array) {
  const g = stage.dataset.genres.length;
  return filmIndices.map((filmIndex, row) => ({
    id: stage.dataset.films[filmIndex].id,
    probabilities: Array.from(probabilities.subarray(row * g, (row + 1) * g), round6),
  }));
}

function trainProbabilitiesArtifact(model: ModelKind, stage: DataStageResult, outcome: TrainingOutcome): TrainProbabilitiesArtifact {
  return {
    contractVersion: CONTRACT_VERSION,
    model,
    genres: stage.dataset.genres,
    films: probabilityRows(stage, stage.split.train, outcome.trainProbabilities),
  };
}

function predictionsArtifact(model: ModelKind, stage: DataStageResult, outcome: TrainingOutcome): PredictionsArtifact {
  const { genres } = stage.dataset;
  const top = topK(outcome.validationProbabilities, genres, 3);
  return {
    contractVersion: CONTRACT_VERSION,
    model,
    genres,
    threshold: DECISION_THRESHOLD,
    films: probabilityRows(stage, stage.split.validation, outcome.validationProbabilities).map((film, row) => ({
      ...film,
      top3: top[row].map(({ genre, probability }) => ({ genre, probability: round6(probability) })),
    })),
  };
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
export async function trainJob(job: TrainJob, effects: Effects, backend?: BackendInfo, inputs?: ModelInputs, freeCores?: FreeCores): Promise<CachedModelResult> {
  backend ??= await selectBackend({ force: job.config.backend, effects });
  inputs ??= prepareModelInputs(job.stage, job.config);
  return trainOne(job.model, job.stage, inputs, job.config, job.schedule, job.dir, job.key, backend, effects, freeCores);
}

/** Backends that compute on one core, whose training gains from shards on other cores. */
const ONE_CORE_BACKENDS: readonly string[] = ['wasm', 'cpu'] satisfies BackendChoice[];

/**
 * The CNN's sharded steps (config `cnnShards` > 1; none for the LSTM or whole batches). On a
 * one-core backend, each core granted by `freeCores` takes a shard into a helper thread.
 */
function shardedSteps(model: ModelKind, network: tf.LayersModel, optimizer: tf.Optimizer, loss: LossSpec, config: Config, backend: BackendInfo, effects: Effects, freeCores?: FreeCores) {
  if (model !== 'cnn' || config.cnnShards <= 1) return undefined;
  const steps = new ShardedSteps({ model: network, optimizer, loss, shards: config.cnnShards, warn: (message) => effects.warn(`${MODEL_TITLES[model]}: ${message}`) });
  if (freeCores && ONE_CORE_BACKENDS.includes(backend.name)) {
    freeCores.onFree(() =>
      steps.addHelper(backend.name as BackendChoice).then(
        (joined) => {
          if (joined) effects.info(`${MODEL_TITLES[model]}: a core is free; ${steps.helperCount} of its ${steps.shards} shards per batch now run${steps.helperCount === 1 ? 's' : ''} in a helper thread there (the numbers are the same)`);
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
    });
  } finally {
    await steps?.close();
  }
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
      ...(steps ? { shards: { perBatch: steps.shards, computed: steps.counts.shards, inHelpers: steps.counts.inHelpers } } : {}),
    },
    backend,
  };
  await writeJsonAtomic(join(dir, 'result.json'), result);
  await rm(join(dir, CHECKPOINT_DIR), { recursive: true, force: true });
  await sealEntry(dir, [CHECKPOINT_DIR]);
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

/** `<cacheDir>/training/<key>/training.json`: how the last training in this folder ran. */
const TRAINING_RECORD = 'training.json';

interface TrainingRecord {
  parallel: boolean;
  wallMs: number;
  /** The models that run trained (the others came from the cache). */
  models: ModelKind[];
}

/** Whether jobs train at the same time: asked for, more than one, and more than one core. */
export function trainsInParallel(config: Config, jobs: number, cores = availableParallelism()): boolean {
  return config.parallel && jobs > 1 && cores > 1;
}

/**
 * Trains each job in its own worker thread, at most `concurrency` at the same time (a job starts
 * when another ends). Their log lines are passed on as they come; the running jobs' progress is
 * shown as one line (steps of their current epochs, summed). When one fails, the others are
 * stopped (their finished epochs stay checkpointed) and the error is thrown. A log line another
 * worker already wrote (the backend report) is not repeated.
 *
 * Cores: once no job is waiting, a core without a job (of `cores`) is granted to a running job
 * with sharded batches (the CNN) for one of its shards; when that job ends, its cores are free again.
 */
async function trainInWorkers(jobs: TrainJob[], effects: Effects, concurrency = jobs.length, cores = availableParallelism()): Promise<CachedModelResult[]> {
  const progress = jobs.map(() => ({ label: '', done: 0, total: 0 }));
  const running = new Set<number>();
  const written = new Set<string>();
  const label =
    jobs.length <= concurrency ? `Training ${jobs.map((job) => job.model.toUpperCase()).join(' ∥ ')}` : `Training ${jobs.length} models, ${concurrency} at a time`;
  const showProgress = () => {
    const shown = [...running].map((i) => progress[i]).filter((p) => p.total > 0);
    const done = shown.reduce((sum, p) => sum + p.done, 0);
    const total = shown.reduce((sum, p) => sum + p.total, 0);
    effects.progress(label, done, total, shown.map((p) => `${p.label} ${p.done}/${p.total}`).join(' · '));
  };
  const workers = new Set<Worker>();
  const workerOf = new Map<number, Worker>();
  const granted = new Map<number, number>();
  let next = 0;
  const grantFreeCores = () => {
    if (next < jobs.length) return;
    let free = cores - running.size - [...running].reduce((sum, i) => sum + (granted.get(i) ?? 0), 0);
    for (const i of running) {
      const wanted = jobs[i].model === 'cnn' ? jobs[i].config.cnnShards - 1 : 0;
      while (free > 0 && (granted.get(i) ?? 0) < wanted) {
        workerOf.get(i)!.postMessage({ type: 'core-free' } satisfies TrainWorkerCommand);
        granted.set(i, (granted.get(i) ?? 0) + 1);
        free--;
      }
    }
  };
  const trainOneInWorker = (i: number) =>
    new Promise<CachedModelResult>((resolvePromise, reject) => {
      const job = jobs[i];
      // The LSTM's worker does not need the posters (≈70 MB on the shared dataset).
      const stage = job.model === 'lstm' ? { ...job.stage, dataset: { ...job.stage.dataset, posterPixels: new Uint8Array(0) } } : job.stage;
      const worker = new Worker(new URL('./workers/train-worker.ts', import.meta.url), { workerData: { ...job, stage } satisfies TrainJob });
      workers.add(worker);
      workerOf.set(i, worker);
      running.add(i);
      grantFreeCores();
      const title = MODEL_TITLES[job.model];
      const finish = () => {
        running.delete(i);
        workers.delete(worker);
        workerOf.delete(i);
        grantFreeCores();
      };
      worker.on('message', (message: TrainWorkerMessage) => {
        if (message.type === 'info') {
          if (!written.has(message.message)) effects.info(message.message);
          written.add(message.message);
        } else if (message.type === 'warn') effects.warn(message.message);
        else if (message.type === 'progress') {
          progress[i] = { label: message.label, done: message.done, total: message.total };
          showProgress();
        } else if (message.type === 'done') {
          finish();
          void worker.terminate();
          resolvePromise(message.result);
        } else if (message.type === 'failed') {
          finish();
          const { name, message: text, stack, file, line, fix } = message.error;
          reject(name === 'UserError' ? new UserError(`${title}: ${text}`, { file, line, fix }) : Object.assign(new Error(`${title}: ${text}`), { stack }));
        }
      });
      worker.once('error', (error) => reject(new Error(`${title}: the training worker failed: ${error.message}`, { cause: error })));
      worker.once('exit', (code) => reject(new Error(`${title}: the training worker stopped (exit code ${code}) before it finished`)));
    });
  const results = new Array<CachedModelResult>(jobs.length);
  let stopped = false;
  const lane = async () => {
    while (!stopped && next < jobs.length) {
      const i = next++;
      try {
        results[i] = await trainOneInWorker(i);
      } catch (error) {
        stopped = true;
        throw error;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
    return results;
  } finally {
    stopped = true;
    await Promise.all([...workers].map((worker) => worker.terminate()));
  }
}

/**
 * Whether `<cacheDir>/training/<key>/<model>/` holds a finished training that can be reused: a whole
 * sealed entry (pipeline/lib/core/cache.ts). A damaged entry is reported in one line and removed, so the
 * model is trained again. An unsealed folder is either an interrupted training (its checkpoint is
 * kept, to resume from) or a finished one from before entries were sealed: that one is sealed when
 * its result parses and its weights are as long as its model.json says.
 */
export async function reusableTraining(dir: string, label: string, effects: Effects): Promise<boolean> {
  const check = await checkEntry(dir);
  if (check.state === 'whole') return true;
  if (check.state === 'unsealed' && existsSync(join(dir, 'result.json')) && existsSync(join(dir, 'model', MODEL_FILE))) {
    const problem = (await modelFilesProblem(join(dir, 'model'))) ?? (await readJson(join(dir, 'result.json')).then(() => null, () => 'result.json is not valid JSON'));
    if (problem === null) {
      await sealEntry(dir, [CHECKPOINT_DIR]);
      return true;
    }
    effects.warn(`${label}: the cached model in ${dir} is damaged (${problem}); training it again`);
    await rm(dir, { recursive: true, force: true });
    return false;
  }
  if (check.state === 'damaged') {
    effects.warn(`${label}: the cached model in ${dir} is damaged (${check.problem}); training it again`);
    await rm(dir, { recursive: true, force: true });
  }
  return false;
}

/**
 * Trains the jobs: in worker threads, `concurrency` at a time, or with a concurrency of 1 one after
 * the other in this thread (the other cores, with `parallel`, go to the CNN's shards).
 * `inputs`, when given, must be those of the jobs' configuration.
 */
export async function trainJobs(jobs: TrainJob[], config: Config, effects: Effects, concurrency: number, inputs?: ModelInputs): Promise<CachedModelResult[]> {
  if (jobs.length === 0) return [];
  if (concurrency > 1) return trainInWorkers(jobs, effects, concurrency);
  const backend = await selectBackend({ force: config.backend, effects });
  const spareCores = config.parallel ? availableParallelism() - 1 : 0;
  const freeCores: FreeCores = {
    onFree(listener) {
      for (let i = 0; i < spareCores; i++) listener();
    },
  };
  const results: CachedModelResult[] = [];
  for (const job of jobs) results.push(await trainJob(job, effects, backend, inputs, freeCores));
  return results;
}

/** What the main thread tells a training worker: a core is free for one of its shards. */
export type TrainWorkerCommand = { type: 'core-free' };

/** What a training worker tells the main thread. */
export type TrainWorkerMessage =
  | { type: 'info' | 'warn'; message: string }
  | { type: 'progress'; label: string; done: number; total: number; status?: string }
  | { type: 'done'; result: CachedModelResult }
  | { type: 'failed'; error: { name: string; message: string; stack?: string; file?: string; line?: number; fix?: string } };

/** The run.json entry of the CNN's sharded batches. */
function shardedCnnOptimisation(shards: RunArtifact['models']['cnn']['shards']): Optimisation {
  const title = 'CNN batches in shards; a free core computes one';
  if (!shards) return { id: 'sharded-cnn', title, active: false, detail: 'Whole batches (config cnnShards 1).' };
  const share = shards.computed > 0 ? Math.round((100 * shards.inHelpers) / shards.computed) : 0;
  return {
    id: 'sharded-cnn',
    title,
    active: shards.inHelpers > 0,
    detail:
      `Each batch of the CNN is split into ${shards.perBatch} shards whose gradients are combined (their films-weighted mean is the batch's gradient, tested to 1e-5); ` +
      'a shard runs in a helper thread once a core is free (the LSTM has finished), with the same numbers either way (tested bit for bit). ' +
      `${shards.inHelpers.toLocaleString('en')} of ${shards.computed.toLocaleString('en')} shard gradients (${share}%) were computed in a helper thread.`,
  };
}

function optimisationsOf(parallel: boolean, backend: BackendInfo, results: Record<ModelKind, CachedModelResult>): Optimisation[] {
  const lstmTimesteps = results.lstm.run.meanTimesteps;
  const products = backend.productKernels;
  const nativeProducts = products !== undefined && !products.startsWith('XNNPACK');
  return [
    {
      id: 'parallel-models',
      title: 'Both models trained at the same time',
      active: parallel,
      detail: parallel
        ? 'Each model trained in its own worker thread, one core each; the durations per model overlap.'
        : 'One model after the other (one model to train, one core, or --sequential).',
    },
    shardedCnnOptimisation(results.cnn.run.shards),
    {
      id: 'lstm-length-batches',
      title: 'LSTM batches cut to their longest overview, grouped by length',
      active: true,
      detail:
        'Padding is masked, so cutting it changes neither outputs nor gradients (tested to 1e-5); films of similar length share ' +
        'a batch (pools of 16 batches, batch order shuffled)' +
        (lstmTimesteps === undefined ? '.' : `: ${lstmTimesteps} timesteps per batch on average instead of the padded length.`),
    },
    {
      id: 'training-metrics-from-steps',
      title: 'Training metrics from the training steps',
      active: true,
      detail: "As Keras' fit: the training-set figures of an epoch come from its training steps' own predictions; only the validation set gets an extra pass.",
    },
    {
      id: 'native-kernels',
      title: 'Matrix products and convolutions on native CPU kernels',
      active: nativeProducts,
      detail: nativeProducts
        ? `The wasm backend's matrix products and convolutions (and their gradients) run on ${products}, ` +
          'reading and writing its tensors in place; equal to XNNPACK up to float32 rounding (tested to 1e-5).'
        : products
          ? `Computed by the wasm backend's ${products}.`
          : `The ${backend.name} backend computes them itself.`,
    },
    {
      id: 'wasm-kernels',
      title: 'Fast WebAssembly kernels',
      active: backend.customKernels.length > 0,
      detail:
        backend.customKernels.length > 0
          ? `Registered for the ${backend.name} backend: ${backend.customKernels.join(', ')}.`
          : `The ${backend.name} backend needs none.`,
    },
  ];
}

/** Trains (or reuses) both models and writes run.json, history-*.json, predictions-*.json and the models. */
export async function runTrainStage(stage: DataStageResult, ctx: StageContext): Promise<RunArtifact> {
  const { config, effects } = ctx;
  const profile = effectiveProfile(config, stage.dataset.synthetic);
  const schedules = trainingSchedules(config, profile);
  const key = trainingKey(stage, config, schedules);
  const trainingDir = join(ctx.paths.cache, 'training', key);
  const inputs = prepareModelInputs(stage, config);
  const results = {} as Record<ModelKind, CachedModelResult>;

  const jobs: TrainJob[] = [];
  for (const model of MODEL_KINDS) {
    const dir = join(trainingDir, model);
    if (config.retrain) await rm(dir, { recursive: true, force: true });
    if (await reusableTraining(dir, MODEL_TITLES[model], effects)) {
      const cached = await readJson<CachedModelResult>(join(dir, 'result.json'));
      results[model] = { ...cached, run: { ...cached.run, cached: true } };
      effects.info(`${MODEL_TITLES[model]}: reusing the trained model from the cache (key ${key}; --retrain to train again)`);
      continue;
    }
    jobs.push({ model, stage, config, schedule: schedules[model], dir, key });
  }
  let parallel = trainsInParallel(config, jobs.length);
  const started = effects.now();
  if (parallel) effects.info(`Training ${jobs.map((job) => MODEL_TITLES[job.model]).join(' and ')} at the same time, one worker thread each`);
  const trained = await trainJobs(jobs, config, effects, parallel ? jobs.length : 1, inputs);
  jobs.forEach((job, i) => (results[job.model] = trained[i]));
  // How the models were trained is kept with them, so a build that reuses them reports the run
  // that trained them, not its own (zero-length) training.
  const trainingRecordFile = join(trainingDir, TRAINING_RECORD);
  let wallMs = effects.now() - started;
  if (jobs.length > 0) {
    await writeJsonAtomic(trainingRecordFile, { parallel, wallMs, models: jobs.map((job) => job.model) } satisfies TrainingRecord);
  } else if (existsSync(trainingRecordFile)) {
    ({ parallel, wallMs } = await readJson<TrainingRecord>(trainingRecordFile));
  } else {
    wallMs = results.cnn.run.trainingMs + results.lstm.run.trainingMs;
  }

  const modelsDir = join(ctx.paths.public, 'models');
  for (const model of MODEL_KINDS) {
    await ctx.artifacts.write('history', results[model].history, model);
    await ctx.artifacts.write('predictions', results[model].predictions, model);
    await ctx.artifacts.write('trainProbabilities', results[model].trainProbabilities, model);
    await rm(join(modelsDir, model), { recursive: true, force: true });
    await cp(join(trainingDir, model, 'model'), join(modelsDir, model), { recursive: true });
  }
  const backend = results[jobs[0]?.model ?? 'cnn'].backend;
  const notes = [
    'Recurrent dropout (0.2) is supported by tfjs LSTM layers (one variational mask per batch, as Keras) ' +
      'and is used as in the coursework; `npm run bench` measures its cost per step.',
    `Per-epoch training metrics (threshold ${DECISION_THRESHOLD}) come from each epoch's training steps, as Keras' fit reports them ` +
      '(dropout active, weights changing during the epoch); validation metrics from a full pass over the validation set in inference mode.',
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
      batchSize: { cnn: schedules.cnn.batchSize, lstm: schedules.lstm.batchSize },
      learningRate: { cnn: schedules.cnn.learningRate, lstm: schedules.lstm.learningRate },
      epochs: { cnn: schedules.cnn.epochs, lstm: schedules.lstm.epochs },
      loss: config.loss,
      posterAugmentation: config.posterAugmentation,
      earlyStoppingPatience: config.earlyStoppingPatience ?? null,
      cnnShards: config.cnnShards,
    },
    backend,
    libraries: libraryVersions(),
    models: { cnn: results.cnn.run, lstm: results.lstm.run },
    training: { parallel, wallMs },
    optimisations: optimisationsOf(parallel, backend, results),
    vocabularySize: inputs.vectorizer.vocabulary.length,
    notes,
  };
  await ctx.artifacts.write('run', run);
  // The report's example cards: examples.json and the validation films' poster thumbnails.
  await writeExamplesArtifact(stage, ctx);
  return run;
}
