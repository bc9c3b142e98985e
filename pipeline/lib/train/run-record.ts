/**
 * run.json, the record of a training run: the settings it ran with, the backend and libraries, each
 * model's figures, how the two trained (at the same time or not, wall time) and which speed-ups were
 * active. How the models were trained is kept beside them in the cache (training.json), so a build
 * that reuses them reports the run that trained them, not its own zero-length training.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { CONTRACT_VERSION, type BackendInfo, type ModelKind, type Optimisation, type RunArtifact } from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { readJson, writeJsonAtomic } from '../core/files.ts';
import { DECISION_THRESHOLD, type Config, type Profile } from '../settings.ts';
import type { CachedModelResult } from './training-cache.ts';
import type { ModelInputs } from './model-inputs.ts';
import { PIPELINE_VERSION } from './training-cache.ts';
import type { TrainingSchedule } from './train.ts';

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

export interface TrainingRecord {
  parallel: boolean;
  wallMs: number;
  /** The models that run trained (the others came from the cache). */
  models: ModelKind[];
  /** Another stage that ran on a core the training left free (./train-jobs.ts `besideTraining`). */
  beside?: string;
}

/**
 * How the models in `trainingDir` were trained: written when this run trained any (`trained`), else
 * read from the run that did; with neither, the models' own training times one after the other.
 */
export async function trainingRecord(trainingDir: string, trained: TrainingRecord, results: Record<ModelKind, CachedModelResult>): Promise<TrainingRecord> {
  const file = join(trainingDir, TRAINING_RECORD);
  if (trained.models.length > 0) {
    await writeJsonAtomic(file, trained);
    return trained;
  }
  if (existsSync(file)) return { ...(await readJson<TrainingRecord>(file)), models: [] };
  return { parallel: trained.parallel, wallMs: results.cnn.run.trainingMs + results.lstm.run.trainingMs, models: [] };
}

/** What run.json is made of. */
export interface RunInputs {
  stage: DataStageResult;
  config: Config;
  profile: Profile;
  schedules: Record<ModelKind, TrainingSchedule>;
  key: string;
  inputs: ModelInputs;
  results: Record<ModelKind, CachedModelResult>;
  training: TrainingRecord;
  backend: BackendInfo;
  now: number;
}

/** run.json of a training run. */
export function runArtifact({ stage, config, profile, schedules, key, inputs, results, training, backend, now }: RunInputs): RunArtifact {
  const notes = [
    'Recurrent dropout (0.2) is supported by tfjs LSTM layers (one variational mask per batch, as Keras) ' +
      'and is used as in the coursework; `npm run bench` measures its cost per step.',
    `Per-epoch training metrics (threshold ${DECISION_THRESHOLD}) come from each epoch's training steps, as Keras' fit reports them ` +
      '(dropout active, weights changing during the epoch); validation metrics from a full pass over the validation set in inference mode.',
  ];
  return {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(now).toISOString(),
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
    training: { parallel: training.parallel, wallMs: training.wallMs },
    optimisations: optimisationsOf(training, backend, results),
    vocabularySize: inputs.vectorizer.vocabulary.length,
    notes,
  };
}

/** The run.json entry of the CNN's sharded batches. */
function shardedCnnOptimisation(shards: RunArtifact['models']['cnn']['shards']): Optimisation {
  const title = 'CNN batches in shards; a free core computes one';
  if (!shards) {
    return { id: 'sharded-cnn', title, active: false, detail: 'Whole batches (config cnnShards 1, or batches too small for shards of at least 16 posters).' };
  }
  const share = shards.computed > 0 ? Math.round((100 * shards.inHelpers) / shards.computed) : 0;
  return {
    id: 'sharded-cnn',
    title,
    active: shards.inHelpers > 0,
    detail:
      `Each batch of the CNN is split into ${shards.perBatch} shards whose gradients are combined (their films-weighted mean is the batch's gradient, tested to 1e-5); ` +
      'a shard runs in a helper thread once a core is free (the LSTM has finished), with the same numbers either way (tested bit for bit); ' +
      'the weights and gradients pass through memory the threads share, not copies per step. ' +
      `${shards.inHelpers.toLocaleString('en')} of ${shards.computed.toLocaleString('en')} shard gradients (${share}%) were computed in a helper thread` +
      (shards.inferenceInHelpers === undefined
        ? '.'
        : `, and ${shards.inferenceInHelpers.toLocaleString('en')} batches of the validation and final inference passes (a batch to each helper and one here in turn, with the same numbers).`),
  };
}

/** The run.json entry of the fused LSTM (pipeline/lib/engine/fused-lstm.ts). */
function fusedLstmOptimisation(calls: number | undefined): Optimisation {
  return countedOptimisation(
    'fused-lstm',
    'Each LSTM layer as one fused operation per batch',
    [calls],
    (total) =>
      'Each LSTM layer and direction ran as one operation with its own gradient: the input products of every timestep in one matrix product, ' +
      "one product and one pass over the gates per timestep (WebAssembly SIMD in float32, as TensorFlow's CPU kernels compute it, while the layer's arrays fit in its reserved memory; else JavaScript), " +
      "and the weights' gradients as three products over the sequence, " +
      `instead of tfjs' thirty-odd kernels per timestep; outputs and gradients equal tfjs' own path to float32 rounding (tested to 1e-5). ${total.toLocaleString('en')} layer calls ran fused.`,
    "tfjs' own per-timestep LSTM (the fused path needs the wasm backend with native products).",
    'Not recorded: these LSTM results come from a run before the fused path.',
  );
}

/**
 * The run.json entry of a measure the models count (calls or updates in their own threads; one count
 * per model that has it): `notRecorded` when a result comes from a run before the count existed.
 */
function countedOptimisation(
  id: string,
  title: string,
  counts: (number | undefined)[],
  ran: (total: number) => string,
  didNotRun: string,
  notRecorded = 'Not recorded for both models: some results come from a run before it.',
): Optimisation {
  if (counts.some((count) => count === undefined)) return { id, title, active: false, detail: notRecorded };
  const total = (counts as number[]).reduce((sum, count) => sum + count, 0);
  return { id, title, active: total > 0, detail: total > 0 ? ran(total) : didNotRun };
}

/** The run.json entry of the dropout masks drawn in one loop (pipeline/lib/engine/fast-dropout.ts). */
function fastDropoutOptimisation(results: Record<ModelKind, CachedModelResult>): Optimisation {
  return countedOptimisation(
    'fast-dropout',
    "Dropout masks drawn in one loop, equal to tfjs' to the last bit",
    [results.cnn.run.fastDropoutCalls, results.lstm.run.fastDropoutCalls],
    (total) =>
      "Each training-mode Dropout layer drew its mask with tfjs' own generator (Alea, seeded as tfjs seeds it) in one WebAssembly loop (its state as integers) written straight into the mask, " +
      `instead of one number at a time and three more kernels; the same masks, outputs and gradients bit for bit (tested). ${total.toLocaleString('en')} layer calls in the models' own threads (a helper thread's shards count there, not here).`,
    "tfjs' own dropout (the fast masks need the wasm backend).",
  );
}

/** The run.json entry of Adam's update in one SIMD pass per variable (pipeline/lib/engine/simd-adam.ts). */
function simdAdamOptimisation(results: Record<ModelKind, CachedModelResult>): Optimisation {
  return countedOptimisation(
    'simd-adam',
    "Adam's update in one SIMD pass per variable, equal to tfjs' to the last bit",
    [results.cnn.run.simdAdamUpdates, results.lstm.run.simdAdamUpdates],
    (total) =>
      "Each variable's Adam update (new weights and both moments) was one WebAssembly SIMD pass over the backend's memory, with tfjs' operations in tfjs' order, " +
      `each rounded to float32 as tfjs' kernels round it, instead of thirteen kernels; the same weights bit for bit (tested). ${total.toLocaleString('en')} variable updates in the models' own threads.`,
    "tfjs' own Adam kernels (the SIMD update needs the wasm backend).",
  );
}

/** The run.json entry of the CNN's 3×3 convolutions by Winograd's F(2×2, 3×3) (pipeline/lib/engine/wasm-kernels/winograd.ts). */
function winogradOptimisation(calls: number | undefined): Optimisation {
  return countedOptimisation(
    'winograd',
    "The CNN's 3×3 convolutions by Winograd's minimal filtering",
    [calls],
    (total) =>
      "Conv3–Conv6 (3×3, stride 1, 'same', at least 2,048 channel pairs; Conv1 and Conv2 have too few to gain), their input and weight gradients computed as F(2×2, 3×3): " +
      'each 2×2 output tile in 16 multiply-adds per channel pair instead of 36, as 16 batched matrix products between WebAssembly SIMD transforms; ' +
      'equal to direct convolution to float32 rounding (tested to 1e-5), not to the bit. ' +
      `${total.toLocaleString('en')} convolutions in the model's own thread.`,
    'Direct convolutions (Winograd needs the wasm backend with native products).',
    'Not recorded: these CNN results come from a run before it.',
  );
}

function optimisationsOf({ parallel, beside }: TrainingRecord, backend: BackendInfo, results: Record<ModelKind, CachedModelResult>): Optimisation[] {
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
    {
      id: 'beside-training',
      title: 'Another stage on the core training left free',
      active: beside !== undefined,
      detail: beside
        ? `Once the first model was done, ${beside} ran on its core before the CNN's batch shards got it: the CNN's epochs in that time ran without a helper, and that stage's time is inside the training's wall time.`
        : 'Nothing else ran during training (one model or none to train, one core, --sequential or --no-strong).',
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
    fusedLstmOptimisation(results.lstm.run.fusedLstmCalls),
    fastDropoutOptimisation(results),
    simdAdamOptimisation(results),
    winogradOptimisation(results.cnn.run.winogradConvCalls),
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
