/**
 * The training loop shared by both models: seeded shuffling, the coursework learning-rate
 * schedule, per-epoch metrics, best weights by validation loss, and a checkpoint after every epoch
 * so an interrupted run resumes from the last finished one.
 *
 * Per-epoch metrics follow Keras' `fit`: the training-set figures are accumulated from the
 * predictions each training step already makes (dropout active, weights moving during the epoch),
 * which is what the coursework's `history` plotted; the validation set gets a full inference pass.
 * So no separate pass over the training set is spent per epoch.
 *
 * Reproducibility: tfjs draws the randomness of unseeded ops (dropout, recurrent dropout) from
 * `Math.random`; while training, `Math.random` is a seeded generator whose state is saved in each
 * checkpoint, so the same seed, data and backend give the same numbers, resumed or not.
 */
import * as tf from '@tensorflow/tfjs';
import type { Effects } from '../core/effects.ts';
import { predictionMetrics, type PredictionMetrics } from '../core/metrics.ts';
import { CheckpointWriter, readCheckpoint, restoreCheckpoint } from './checkpoint.ts';
import { inferenceBatches, trainingBatches } from './batching.ts';
import { shardGradients, type StepResult } from './sharded-steps.ts';
import { batchOutputs, inferenceNetwork, type InferenceHelpers } from './inference.ts';
import { lossFunction, type LossFunction } from './losses.ts';
import { seededRandomSource, shuffled, seededRandom, type Random } from '../core/random.ts';
import { learningRateForEpoch } from './schedule.ts';

export type ModelKind = 'cnn' | 'lstm';

/** What the loop needs to know about the data, independent of the modality. */
export interface TrainingData {
  /** Builds the model input for these films (rows of the dataset). */
  inputs(films: readonly number[]): tf.Tensor;
  /**
   * Inputs for a training step when they differ from `inputs` (poster augmentation), drawing from
   * `random`, the epoch's own seeded generator. Validation and prediction always use `inputs`.
   */
  trainingInputs?: (films: readonly number[], random: Random) => tf.Tensor;
  /**
   * Input length of a film, when inputs have variable length (overviews): training then batches
   * films of similar length together and inference sorts by length (`pipeline/lib/train/batching.ts`).
   */
  lengthOf?: (film: number) => number;
  /** One-hot labels, films × genres, row-major. */
  labels: Uint8Array;
  genres: string[];
  train: number[];
  validation: number[];
}

export interface TrainingSchedule {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /**
   * Early stopping: training ends once this many epochs in a row have not lowered the validation
   * loss (Keras `EarlyStopping(monitor='val_loss', patience=…)`; the kept weights are the best
   * epoch's, as `restore_best_weights=True`). Absent: every epoch of the schedule.
   */
  earlyStoppingPatience?: number;
}

export interface SetMetrics {
  loss: number;
  microPrecision: number;
  microRecall: number;
  microF1: number;
  macroF1: number;
}

export interface EpochRecord {
  epoch: number;
  learningRate: number;
  /** Wall time of the epoch's training steps. */
  trainMs: number;
  /** Wall time of the epoch's validation pass. */
  evaluationMs: number;
  /** Mean of the per-batch training losses as the optimiser saw them (dropout active). */
  runningLoss: number;
  /** Over the epoch's training steps' own predictions (Keras' `fit` semantics, see above). */
  train: SetMetrics;
  validation: SetMetrics;
}

export interface TrainingOutcome {
  history: EpochRecord[];
  /** 0-based epoch whose weights are kept (lowest validation loss). */
  bestEpoch: number;
  /** Validation metrics (with per-genre detail) of the kept weights. */
  best: PredictionMetrics;
  /** Validation probabilities of the kept weights, validation films × genres. */
  validationProbabilities: Float32Array;
  /** Training-set probabilities of the kept weights (inference mode), training films × genres. */
  trainProbabilities: Float32Array;
  /** Epoch the run resumed from, when it continued an interrupted run. */
  resumedAtEpoch: number | null;
  /** With variable-length inputs: the mean over this run's training batches of their longest input. */
  meanBatchLength: number | null;
  /** 0-based epoch after which early stopping ended the run; null when it ran the whole schedule. */
  stoppedEarlyAfterEpoch: number | null;
  /** `keepActivations`' activations of the kept weights: the training films, then the validation films. */
  activations: LayerActivations | null;
}

function pick(metrics: PredictionMetrics): SetMetrics {
  const { loss, microPrecision, microRecall, microF1, macroF1 } = metrics;
  return { loss, microPrecision, microRecall, microF1, macroF1 };
}

function labelRows(labels: Uint8Array, genreCount: number, films: readonly number[]): Uint8Array {
  const out = new Uint8Array(films.length * genreCount);
  films.forEach((film, row) => out.set(labels.subarray(film * genreCount, (film + 1) * genreCount), row * genreCount));
  return out;
}

/**
 * Lets the event loop turn. On the wasm and cpu backends every await resolves as a microtask, so
 * without this a whole epoch runs without the loop turning and Ctrl-C is only handled at the next
 * file write (the end of the epoch).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Model probabilities for `films`, films × genres, in the order of `films`. */
export async function predictProbabilities(
  model: tf.LayersModel,
  data: Pick<TrainingData, 'inputs' | 'genres' | 'lengthOf'>,
  films: readonly number[],
  batchSize: number,
): Promise<Float32Array> {
  return (await predictOutputs(model, data, films, batchSize)).probabilities;
}

/** A layer's activations, films × units, in the order of the films asked for. */
export interface LayerActivations {
  layer: string;
  units: number;
  values: Float32Array;
}

/**
 * Model probabilities for `films` (films × genres) and, when `layer` is named, that layer's
 * activations from the same inference pass, both in the order of `films`. Batched as training's
 * inference batches: the LSTM's sorted by overview length, each cut to its longest. With `helpers`
 * (the CNN's shard helpers, when a core is free), the batches go round: one to each helper, one
 * here; a batch gives the same numbers in either thread (./inference.ts), and one whose helper
 * fails is computed here.
 */
export async function predictOutputs(
  model: tf.LayersModel,
  data: Pick<TrainingData, 'inputs' | 'genres' | 'lengthOf'>,
  films: readonly number[],
  batchSize: number,
  layer?: string,
  helpers?: InferenceHelpers | null,
): Promise<{ probabilities: Float32Array; activations: LayerActivations | null }> {
  const genreCount = data.genres.length;
  const { network, units } = inferenceNetwork(model, layer);
  const probabilities = new Float32Array(films.length * genreCount);
  const activations = units === null ? null : new Float32Array(films.length * units);
  const place = (positions: number[], [values, layerValues]: Float32Array[]) =>
    positions.forEach((position, row) => {
      probabilities.set(values.subarray(row * genreCount, (row + 1) * genreCount), position * genreCount);
      activations?.set(layerValues.subarray(row * units!, (row + 1) * units!), position * units!);
    });
  const inputsOf = (positions: number[]) => data.inputs(positions.map((i) => films[i]));
  const here = async (positions: number[]) => {
    const x = inputsOf(positions);
    try {
      place(positions, await batchOutputs(network, x));
    } finally {
      tf.dispose(x);
    }
    await yieldToEventLoop();
  };
  const batches = inferenceBatches(films, batchSize, data.lengthOf);
  for (let next = 0; next < batches.length;) {
    const round: Promise<void>[] = [];
    for (let h = 0; h < (helpers?.count ?? 0) && next < batches.length; h++) {
      const positions = batches[next];
      const x = inputsOf(positions);
      const remote = helpers!.predict(x);
      tf.dispose(x);
      if (!remote) break;
      next++;
      round.push(
        remote.then(
          (outputs) => place(positions, outputs),
          () => here(positions),
        ),
      );
    }
    if (next < batches.length) await here(batches[next++]);
    await Promise.all(round);
  }
  return { probabilities, activations: activations && { layer: layer!, units: units!, values: activations } };
}

/** The coursework's loss: binary cross-entropy averaged over the batch's film × genre cells. */
const BCE = lossFunction('bce');

/**
 * One optimiser step on a batch, as `model.trainOnBatch` takes it (training-mode forward pass,
 * binary cross-entropy averaged over the batch, one Adam update of every trainable weight), but
 * also returning the step's predictions, from which the epoch's training metrics are counted.
 * The whole batch is one shard: `shardGradients` then the update, as `optimizer.minimize` does.
 */
export function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor, loss: LossFunction = BCE): StepResult {
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const { loss: value, gradients, probabilities } = shardGradients(model, variables, loss, x, y);
  optimizer.applyGradients(Object.fromEntries(variables.map((v, i) => [v.name, gradients[i]])));
  tf.dispose(gradients);
  return { loss: value, probabilities };
}

async function inferenceMetrics(
  model: tf.LayersModel,
  data: TrainingData,
  films: readonly number[],
  batchSize: number,
  layer?: string,
  helpers?: InferenceHelpers | null,
) {
  const { probabilities, activations } = await predictOutputs(model, data, films, batchSize, layer, helpers);
  const metrics = predictionMetrics(probabilities, labelRows(data.labels, data.genres.length, films), data.genres);
  return { probabilities, activations, metrics };
}

export interface TrainOptions {
  model: tf.LayersModel;
  /** Compiled into the model by the caller; its learning rate is set each epoch. */
  optimizer: tf.AdamOptimizer;
  data: TrainingData;
  schedule: TrainingSchedule;
  seed: number;
  /** Folder for this run's checkpoint; resuming reads it, finishing removes it. */
  checkpointDir: string;
  label: string;
  effects: Effects;
  /** The training loss (default: binary cross-entropy, the coursework's). */
  loss?: LossFunction;
  /**
   * Takes the optimiser steps instead of `trainStep` (data-parallel steps, pipeline/lib/train/sharded-steps.ts);
   * it must use the same model, optimiser and loss. Its `inferenceHelpers`, when it has them, run
   * inference batches of the validation and final passes with the model's weights as they are then.
   */
  steps?: { step(x: tf.Tensor, y: tf.Tensor): Promise<StepResult>; inferenceHelpers?(layer?: string): InferenceHelpers | null };
  /** Stops the run after the step in progress, throwing its reason (finished epochs stay checkpointed). */
  signal?: AbortSignal;
  /**
   * A layer whose activations of every film the final pass keeps (the learned fusion's input,
   * settings.ts GMU_INPUTS), from the same inference that gives the kept weights' probabilities.
   */
  keepActivations?: string;
}

/** Whether early stopping ends training before 0-based `nextEpoch`, given the best epoch so far. */
export function stopsEarly(schedule: TrainingSchedule, nextEpoch: number, bestEpoch: number): boolean {
  const patience = schedule.earlyStoppingPatience;
  return patience !== undefined && bestEpoch >= 0 && nextEpoch - 1 - bestEpoch >= patience;
}

/** Where a run stands: its history, its best epoch and weights, and the epoch it goes on from. */
interface RunState {
  history: EpochRecord[];
  bestEpoch: number;
  bestValidationLoss: number;
  bestWeights: tf.Tensor[];
  nextEpoch: number;
  resumedAtEpoch: number | null;
}

/** LSTM batch widths seen (their mean is reported), summed over the run. */
interface BatchLengths {
  sum: number;
  count: number;
}

/** Trains `model` per the schedule, resuming from `checkpointDir` when it holds a checkpoint. */
export async function trainModel(options: TrainOptions): Promise<TrainingOutcome> {
  const { model, optimizer, schedule, checkpointDir, label, effects } = options;
  const randomSource = seededRandomSource(options.seed ^ 0x5eed);
  const run = await startOrResume(options, randomSource);
  const lengths: BatchLengths = { sum: 0, count: 0 };
  let stoppedEarlyAfterEpoch: number | null = null;
  const checkpoints = new CheckpointWriter<EpochRecord>(checkpointDir);
  const originalRandom = Math.random;
  Math.random = randomSource.next;
  try {
    for (let epoch = run.nextEpoch; epoch < schedule.epochs; epoch++) {
      // Checked before each epoch (not after), so a run resumed after the stop stops too.
      if (stopsEarly(schedule, epoch, run.bestEpoch)) {
        stoppedEarlyAfterEpoch = epoch - 1;
        effects.info(
          `${label}: stopping early after epoch ${epoch}/${schedule.epochs}: validation loss has not improved for ${schedule.earlyStoppingPatience} epochs ` +
            `(best: epoch ${run.bestEpoch + 1}, kept)`,
        );
        break;
      }
      const record = await trainEpoch(options, epoch, lengths);
      keepIfBest(run, record, model);
      logEpoch(options, record, run.bestEpoch === epoch);
      await checkpoints.save(model, run.bestWeights, optimizer, {
        nextEpoch: epoch + 1,
        history: run.history,
        bestEpoch: run.bestEpoch,
        bestValidationLoss: run.bestValidationLoss,
        randomState: randomSource.getState(),
      });
    }
  } finally {
    Math.random = originalRandom;
  }
  return finishRun(options, run, lengths, stoppedEarlyAfterEpoch);
}

/** A fresh run's state, or the checkpoint's when `checkpointDir` holds one of this schedule. */
async function startOrResume(options: TrainOptions, randomSource: ReturnType<typeof seededRandomSource>): Promise<RunState> {
  const { model, optimizer, schedule, checkpointDir, label, effects } = options;
  const fresh: RunState = {
    history: [],
    bestEpoch: -1,
    bestValidationLoss: Number.POSITIVE_INFINITY,
    bestWeights: model.getWeights().map((w) => w.clone()),
    nextEpoch: 0,
    resumedAtEpoch: null,
  };
  const checkpoint = await readCheckpoint<EpochRecord>(checkpointDir, label, effects);
  if (!checkpoint) return fresh;
  if (checkpoint.state.nextEpoch > schedule.epochs) {
    effects.warn(`${label}: checkpoint is past the requested ${schedule.epochs} epochs; restarting cleanly`);
    return fresh;
  }
  tf.dispose(fresh.bestWeights);
  const { bestWeights, state } = await restoreCheckpoint(checkpoint, model, optimizer);
  randomSource.setState(state.randomState);
  effects.info(`${label}: resuming an interrupted run at epoch ${state.nextEpoch + 1}/${schedule.epochs}`);
  return {
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValidationLoss: state.bestValidationLoss,
    bestWeights,
    nextEpoch: state.nextEpoch,
    resumedAtEpoch: state.nextEpoch,
  };
}

/**
 * One epoch: the schedule's learning rate, a seeded shuffle into batches, one optimiser step per
 * batch (its predictions give the training metrics, as Keras' fit counts them), then an inference
 * pass over the validation films.
 */
async function trainEpoch(options: TrainOptions, epoch: number, lengths: BatchLengths): Promise<EpochRecord> {
  const { model, optimizer, data, schedule, seed, label, effects, loss = BCE, steps: parallelSteps, signal } = options;
  const genreCount = data.genres.length;
  const learningRate = learningRateForEpoch(schedule.learningRate, epoch);
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  const epochRandom = seededRandom(seed * 1009 + epoch);
  const order = shuffled(data.train, epochRandom);
  const batches = trainingBatches(order, schedule.batchSize, epochRandom, data.lengthOf);
  const steps = batches.length;
  // Augmentation draws from its own generator, so the batches are the same with or without it.
  const augmentRandom = seededRandom((seed * 7919 + epoch) ^ 0x6a09e667);
  const trainStart = effects.now();
  let lossSum = 0;
  // The films in the order the steps saw them, with the steps' predictions (training metrics).
  const seen: number[] = [];
  const seenProbabilities = new Float32Array(order.length * genreCount);
  for (let step = 0; step < steps; step++) {
    const films = batches[step];
    const x = data.trainingInputs ? data.trainingInputs(films, augmentRandom) : data.inputs(films);
    if (data.lengthOf) {
      // Variable-length inputs are cut to the batch's longest: their width is its length.
      lengths.sum += x.shape[1]!;
      lengths.count++;
    }
    const y = tf.tensor2d(labelRows(data.labels, genreCount, films), [films.length, genreCount], 'float32');
    const result = parallelSteps ? await parallelSteps.step(x, y) : trainStep(model, optimizer, x, y, loss);
    tf.dispose([x, y]);
    seenProbabilities.set(result.probabilities, seen.length * genreCount);
    seen.push(...films);
    await yieldToEventLoop();
    signal?.throwIfAborted();
    lossSum += result.loss;
    const elapsed = effects.now() - trainStart;
    const eta = ((elapsed / (step + 1)) * (steps - step - 1)) / 1000;
    effects.progress(`${label} epoch ${epoch + 1}/${schedule.epochs}`, step + 1, steps, `loss ${(lossSum / (step + 1)).toFixed(4)} eta ${eta.toFixed(0)}s`);
  }
  const trainMs = effects.now() - trainStart;

  const trainMetrics = predictionMetrics(seenProbabilities, labelRows(data.labels, genreCount, seen), data.genres);
  const evaluationStart = effects.now();
  const validationSet = await inferenceMetrics(model, data, data.validation, schedule.batchSize, undefined, parallelSteps?.inferenceHelpers?.());
  const evaluationMs = effects.now() - evaluationStart;
  return {
    epoch,
    learningRate,
    trainMs,
    evaluationMs,
    runningLoss: lossSum / steps,
    train: pick(trainMetrics),
    validation: pick(validationSet.metrics),
  };
}

/** Adds the epoch to the history; its weights become the best when its validation loss is the lowest yet. */
function keepIfBest(run: RunState, record: EpochRecord, model: tf.LayersModel): void {
  run.history.push(record);
  if (record.validation.loss < run.bestValidationLoss) {
    run.bestValidationLoss = record.validation.loss;
    run.bestEpoch = record.epoch;
    tf.dispose(run.bestWeights);
    run.bestWeights = model.getWeights().map((w) => w.clone());
  }
}

function logEpoch({ schedule, label, effects }: TrainOptions, record: EpochRecord, best: boolean): void {
  effects.info(
    `${label} epoch ${record.epoch + 1}/${schedule.epochs}: loss ${record.train.loss.toFixed(4)} val_loss ${record.validation.loss.toFixed(4)} ` +
      `val_micro_f1 ${record.validation.microF1.toFixed(4)} (train ${(record.trainMs / 1000).toFixed(1)} s, eval ${(record.evaluationMs / 1000).toFixed(1)} s)` +
      (best ? ' *best' : ''),
  );
}

/**
 * The best epoch's weights back in `model`, and what they predict for the validation and training
 * films (with `keepActivations`' activations from the same passes).
 */
async function finishRun(options: TrainOptions, run: RunState, lengths: BatchLengths, stoppedEarlyAfterEpoch: number | null): Promise<TrainingOutcome> {
  const { model, data, schedule, keepActivations, steps } = options;
  model.setWeights(run.bestWeights);
  tf.dispose(run.bestWeights);
  const helpers = steps?.inferenceHelpers?.(keepActivations); // with the best weights, now the model's
  const kept = await inferenceMetrics(model, data, data.validation, schedule.batchSize, keepActivations, helpers);
  const trained = await predictOutputs(model, data, data.train, schedule.batchSize, keepActivations, helpers);
  const activations =
    trained.activations && kept.activations ? { ...trained.activations, values: concatenated(trained.activations.values, kept.activations.values) } : null;
  return {
    history: run.history,
    bestEpoch: run.bestEpoch,
    best: kept.metrics,
    validationProbabilities: kept.probabilities,
    trainProbabilities: trained.probabilities,
    resumedAtEpoch: run.resumedAtEpoch,
    meanBatchLength: lengths.count > 0 ? lengths.sum / lengths.count : null,
    stoppedEarlyAfterEpoch,
    activations,
  };
}

function concatenated(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
