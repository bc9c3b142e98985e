/**
 * A training run's checkpoint, written after every epoch so an interrupted run resumes from the last
 * finished one: the current weights, the best weights so far, the optimiser's state, the history and
 * the state of the seeded generator behind dropout. `tensors.bin` holds the tensors; `state.json`
 * where each starts and the size and SHA-256 of `tensors.bin`, so a damaged checkpoint is reported
 * in one line and training starts over instead of resuming from wrong weights.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Effects } from '../core/effects.ts';
import { sha256, writeFolderAtomic } from '../core/files.ts';
import { decodeTensors, encodeTensors, type TensorManifestEntry } from './model-io.ts';

/** What a checkpoint records besides the tensors (`H`: one epoch's record of the history). */
export interface CheckpointState<H = unknown> {
  /** 2: `data` records tensors.bin's size and hash. */
  version: 1 | 2;
  data: { bytes: number; sha256: string };
  nextEpoch: number;
  history: H[];
  bestEpoch: number;
  bestValidationLoss: number;
  randomState: number;
  weights: TensorManifestEntry[];
  bestWeights: TensorManifestEntry[];
  optimizer: TensorManifestEntry[];
}

const CHECKPOINT_STATE = 'state.json';
const CHECKPOINT_DATA = 'tensors.bin';

function namedWeights(model: tf.LayersModel) {
  return model.weights.map((weight, i) => ({ name: `${i}:${weight.originalName}`, tensor: weight.read() }));
}

/**
 * A run's checkpoints, one per epoch, all encoded into one reused buffer: a CNN checkpoint (55 MB of
 * weights, best weights and Adam's moments) took about 0.5 s in the training thread when each was
 * copied three times into fresh memory; now about 60 ms (one copy in place from
 * the wasm heap, 32 ms of hashing, the write).
 */
export class CheckpointWriter<H> {
  private buffer: Uint8Array | undefined;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes the model's weights, the best weights and the optimiser's state now as the checkpoint, atomically. */
  async save(
    model: tf.LayersModel,
    bestWeights: tf.Tensor[],
    optimizer: tf.Optimizer,
    state: Omit<CheckpointState<H>, 'weights' | 'bestWeights' | 'optimizer' | 'version' | 'data'>,
  ): Promise<void> {
    const current = namedWeights(model);
    const best = bestWeights.map((tensor, i) => ({ name: `best:${i}`, tensor }));
    const optimizerWeights = (await optimizer.getWeights()).map(({ name, tensor }) => ({ name, tensor }));
    const all = await encodeTensors([...current, ...best, ...optimizerWeights], this.buffer);
    this.buffer = all.data;
    const checkpoint: CheckpointState<H> = {
      version: 2,
      ...state,
      data: { bytes: all.data.length, sha256: sha256(all.data) },
      weights: all.manifest.slice(0, current.length),
      bestWeights: all.manifest.slice(current.length, current.length + best.length),
      optimizer: all.manifest.slice(current.length + best.length),
    };
    await writeFolderAtomic(this.dir, async (temp) => {
      await writeFile(join(temp, CHECKPOINT_DATA), all.data);
      await writeFile(join(temp, CHECKPOINT_STATE), JSON.stringify(checkpoint));
    });
  }
}

/**
 * The checkpoint in `dir`, or null when there is none or it is damaged: then it is reported in one
 * line and removed, and training starts from its first epoch. `tensors.bin` must have the size and
 * SHA-256 that `state.json` recorded (version 2; version-1 checkpoints only record where each
 * tensor starts, so for them it must at least hold every tensor the state lists).
 */
export async function readCheckpoint<H>(dir: string, label: string, effects: Effects): Promise<{ state: CheckpointState<H>; data: Uint8Array } | null> {
  if (!existsSync(join(dir, CHECKPOINT_STATE))) return null;
  const damaged = async (problem: string) => {
    effects.warn(`${label}: the checkpoint in ${dir} is damaged (${problem}); training from the first epoch`);
    await rm(dir, { recursive: true, force: true });
    return null;
  };
  let state: CheckpointState<H>;
  try {
    state = JSON.parse(await readFile(join(dir, CHECKPOINT_STATE), 'utf8')) as CheckpointState<H>;
  } catch {
    return damaged(`${CHECKPOINT_STATE} is not valid JSON`);
  }
  if (state.version !== 1 && state.version !== 2) return null;
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(join(dir, CHECKPOINT_DATA)));
  } catch {
    return damaged(`${CHECKPOINT_DATA} is missing`);
  }
  if (state.version === 2 && (data.length !== state.data.bytes || sha256(data) !== state.data.sha256)) {
    return damaged(
      data.length === state.data.bytes
        ? `${CHECKPOINT_DATA} has other bytes than when it was written`
        : `${CHECKPOINT_DATA} is ${data.length.toLocaleString('en')} bytes, ${state.data.bytes.toLocaleString('en')} when it was written`,
    );
  }
  const needed = Math.max(0, ...[...state.weights, ...state.bestWeights, ...state.optimizer].map((t) => t.byteOffset + 4 * t.shape.reduce((a, b) => a * b, 1)));
  if (data.length < needed) return damaged(`${CHECKPOINT_DATA} is ${data.length.toLocaleString('en')} bytes, its tensors need ${needed.toLocaleString('en')}`);
  return { state, data };
}

/** What a run resumes with: the weights set into `model` and `optimizer`, the best weights and the rest of the state. */
export async function restoreCheckpoint<H>(
  checkpoint: { state: CheckpointState<H>; data: Uint8Array },
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<{ bestWeights: tf.Tensor[]; state: CheckpointState<H> }> {
  const { state, data: bytes } = checkpoint;
  const weights = decodeTensors(state.weights, bytes);
  model.setWeights(weights.map((w) => w.tensor));
  tf.dispose(weights.map((w) => w.tensor));
  const bestWeights = decodeTensors(state.bestWeights, bytes).map((w) => w.tensor);
  const optimizerWeights = decodeTensors(state.optimizer, bytes);
  if (optimizerWeights.length > 0) await optimizer.setWeights(optimizerWeights);
  return { bestWeights, state };
}
