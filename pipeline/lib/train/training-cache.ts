/**
 * The training cache: which schedules a configuration trains with, the key of a training (a content
 * hash of dataset, split, settings that change results and PIPELINE_VERSION) and whether
 * `<cacheDir>/training/<key>/<model>/` holds a finished, whole training to reuse. A folder with only a
 * checkpoint is an interrupted training, resumed by the next run.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONTRACT_VERSION,
  type BackendInfo,
  type HistoryArtifact,
  type ModelKind,
  type PredictionsArtifact,
  type RunArtifact,
  type TrainProbabilitiesArtifact,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import type { Effects } from '../core/effects.ts';
import { readJson, sha256 } from '../core/files.ts';
import { reusableEntry } from '../core/cache.ts';
import { MIN_SHARD_POSTERS, PROFILE_SCHEDULES, type Config, type Profile } from '../settings.ts';
import { MODEL_FILE, modelFilesProblem } from './model-io.ts';
import type { TrainingSchedule } from './train.ts';

/**
 * Bump when a change to training would change its results: invalidates the training cache.
 * 2: LSTM batches grouped by overview length; training metrics from the training steps.
 */
export const PIPELINE_VERSION = 2;

/** The training's checkpoint folder inside its cache entry (not part of the sealed entry). */
export const CHECKPOINT_DIR = 'checkpoint';
/** The training's result (history, predictions, run figures) inside its cache entry, beside `model/`. */
export const RESULT_FILE = 'result.json';
/**
 * The kept weights' activations of the learned fusion's input layer for every film (the training
 * films, then the validation films; float32, films × units, as `activations` in the result says),
 * beside `model/`: the fusion reads them instead of running the model over every film again.
 */
export const ACTIVATIONS_FILE = 'activations.f32';

/** `<cacheRoot>/training/<key>/`: the cache entries of one training key, a folder per model. */
export function trainingFolder(cacheRoot: string, key: string): string {
  return join(cacheRoot, 'training', key);
}

/** `<cacheRoot>/training/<key>/<model>/`: one model's training cache entry. */
export function trainingEntryDir(cacheRoot: string, key: string, model: ModelKind): string {
  return join(trainingFolder(cacheRoot, key), model);
}

/**
 * The activations of `layer` that training kept in its cache entry `entry` (ACTIVATIONS_FILE:
 * training films, then validation films), or null when that entry has none for this layer and
 * these films (an entry from before training kept them, or a removed cache).
 */
export async function keptActivations(entry: string, layer: string, films: number): Promise<{ values: Float32Array; units: number } | null> {
  try {
    const kept = (await readJson<CachedModelResult>(join(entry, RESULT_FILE))).activations;
    if (!kept || kept.layer !== layer || kept.films !== films) return null;
    const bytes = await readFile(join(entry, ACTIVATIONS_FILE));
    if (bytes.byteLength !== films * kept.units * 4) return null;
    const values = new Float32Array(films * kept.units);
    new Uint8Array(values.buffer).set(bytes);
    return { values, units: kept.units };
  } catch {
    return null;
  }
}

/**
 * The CNN's shards per batch: as configured, but no shard smaller than MIN_SHARD_POSTERS posters
 * (so the quick profile's batches of 16 train whole).
 */
export function cnnShardsFor(configured: number, batchSize: number): number {
  return Math.max(1, Math.min(configured, Math.floor(batchSize / MIN_SHARD_POSTERS)));
}

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

/** Per-model training result as kept in the training cache (and published as artifacts). */
export interface CachedModelResult {
  history: HistoryArtifact;
  predictions: PredictionsArtifact;
  trainProbabilities: TrainProbabilitiesArtifact;
  run: RunArtifact['models'][ModelKind];
  backend: BackendInfo;
  /** What ACTIVATIONS_FILE holds; absent in entries from before training kept them. */
  activations?: { layer: string; units: number; films: number };
}

/**
 * The finished training in `<cacheDir>/training/<key>/<model>/` when it can be reused: a whole entry
 * (pipeline/lib/core/cache.ts), logging `reused` when given. A damaged entry is reported in one line
 * and removed, so the model is trained again. An unsealed folder is either an interrupted training
 * (its checkpoint is kept, to resume from) or a finished one from before entries were sealed: that
 * one is adopted when its result parses and its weights are as long as its model.json says.
 */
export async function reusableTraining(dir: string, label: string, effects: Effects, reused?: string): Promise<CachedModelResult | null> {
  return reusableEntry<CachedModelResult>({
    dir,
    label,
    what: 'the cached model',
    again: 'training it again',
    effects,
    reused,
    skip: [CHECKPOINT_DIR],
    unsealed: (entry) => (existsSync(join(entry, RESULT_FILE)) && existsSync(join(entry, 'model', MODEL_FILE)) ? 'adopt' : 'keep'),
    read: async (entry) => {
      const problem = await modelFilesProblem(join(entry, 'model'));
      if (problem) return { problem };
      return readJson<CachedModelResult>(join(entry, RESULT_FILE)).then(
        (value) => ({ value }),
        () => ({ problem: `${RESULT_FILE} is not valid JSON` }),
      );
    },
  });
}
