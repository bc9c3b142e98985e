/**
 * Sharded training steps: each batch is split into a fixed number of shards (by default 2); the
 * gradient of the batch is the films-weighted mean of the shards' gradients, `Σ nᵢ·gᵢ / n` (the
 * losses are means over the batch's films × genres, so this is the batch's gradient: tested to
 * 1e-5 against one whole-batch gradient), and one optimiser step applies it.
 *
 * Why: the wasm and cpu backends compute on one core. A shard can run in this thread or in a
 * helper worker thread (`pipeline/lib/train/workers/shard-worker.ts`) on another core, and the numbers are the same
 * either way. So the poster CNN trains on one core while the LSTM trains on the other, and takes
 * the second core as soon as the LSTM finishes (`addHelper`), without changing its results.
 *
 * Same numbers either way: shard 0 runs in this thread and draws dropout from the training loop's
 * seeded `Math.random`; every other shard draws from a seed drawn from it at the start of the step,
 * wherever it runs, with the same weights and the same kernels. Results depend on the seed and the
 * shard count only: not on timing, on the machine's cores, or on when a helper joined (tested
 * bit for bit), and a resumed run (its `Math.random` state comes from the checkpoint) continues
 * exactly. A helper that fails is dropped with a warning and its shard computed here.
 *
 * Helpers hold no state between steps: each step they load the current trainable weights (the
 * optimiser, learning rate, checkpoints and best weights stay in this thread). Weights and gradients
 * go through shared memory (./shared-tensors.ts); the messages carry the shard's films and a step
 * number.
 *
 * Between epochs the helpers also take batches of the validation and final inference passes
 * (`inferenceHelpers`, ./train.ts `predictOutputs`): a batch's outputs are the same in any thread.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../engine/backend.ts';
import type { LossName } from '../settings.ts';
import { lossFunction, type LossFunction } from './losses.ts';
import { seededRandom } from '../core/random.ts';
import { endWorker } from '../core/worker-messages.ts';
import { tensorValues } from '../engine/tensor-values.ts';
import { weightedSum } from '../engine/weighted-sum.ts';
import { SharedTensors } from './shared-tensors.ts';
import type { InferenceHelpers } from './inference.ts';

/** What a step gives the training loop: the batch's loss and its predictions (films × genres). */
export interface StepResult {
  loss: number;
  probabilities: Float32Array;
}

/** The loss as data, so a helper can build the same function. */
export interface LossSpec {
  name: LossName;
  weights?: number[];
}

export function lossOf(spec: LossSpec): LossFunction {
  return lossFunction(spec.name, spec.weights ? Float32Array.from(spec.weights) : undefined);
}

/** What a helper is started with. */
export interface ShardWorkerData {
  /** `model.toJSON()` of the model being trained: the helper builds the same layers. */
  topology: string;
  backend: BackendChoice;
  loss: LossSpec;
  /** SharedTensors buffers: the trainable weights (written here, read by every helper), this helper's gradients (written there). */
  weights: SharedArrayBuffer;
  gradients: SharedArrayBuffer;
}

/** Asks an idle helper to end its event loop (its thread then exits by itself). */
export interface ShardCloseRequest {
  type: 'close';
}

export interface ShardStepRequest {
  type: 'step';
  /** The step's number: the shared weights were written as it, the gradients are to be written as it. */
  sequence: number;
  x: { values: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' };
  y: { values: Float32Array; shape: number[] };
  /** Seed of `Math.random` (dropout) for this shard of this step. */
  seed: number;
}

/** One inference batch (./inference.ts `batchOutputs`) with the weights written as `sequence`. */
export interface ShardPredictRequest {
  type: 'predict';
  sequence: number;
  x: ShardStepRequest['x'];
  /** The layer whose activations come back after the probabilities, when one is named. */
  layer?: string;
}

export type ShardWorkerMessage =
  | { type: 'ready' }
  | { type: 'gradients'; loss: number; probabilities: Float32Array }
  | { type: 'outputs'; outputs: Float32Array[] }
  | { type: 'failed'; message: string; stack?: string };

/**
 * One shard's share of a step: the loss on (x, y) in training mode, its gradients with respect to
 * `variables` (in that order), and the predictions. `seed`, when given, seeds `Math.random` for
 * the shard (restored after). Used by this thread and by helpers.
 */
export function shardGradients(
  model: tf.LayersModel,
  variables: tf.Variable[],
  loss: LossFunction,
  x: tf.Tensor,
  y: tf.Tensor,
  seed?: number,
): { loss: number; gradients: tf.Tensor[]; probabilities: Float32Array } {
  const originalRandom = Math.random;
  if (seed !== undefined) Math.random = seededRandom(seed);
  try {
    let output: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      output = tf.keep(model.apply(x, { training: true }) as tf.Tensor);
      return loss(y, output);
    }, variables);
    const lossValue = value.dataSync()[0];
    const probabilities = Float32Array.from(output!.dataSync() as Float32Array);
    tf.dispose([value, output!]);
    return { loss: lossValue, gradients: variables.map((v) => grads[v.name]), probabilities };
  } finally {
    Math.random = originalRandom;
  }
}

/**
 * The batch's gradient from its shards' gradients: Σ nᵢ·gᵢ / n, shard by shard in index order.
 * `gradients[i][v]` is shard i's gradient of variable v.
 */
export function combineShardGradients(gradients: tf.Tensor[][], films: number[]): tf.Tensor[] {
  const total = films.reduce((a, b) => a + b, 0);
  const weights = films.map((n) => n / total);
  return gradients[0].map((_, v) =>
    weightedSum(
      gradients.map((shard) => shard[v]),
      weights,
    ),
  );
}

/** How many of a batch's `n` films each of `shards` shards takes: as equal as possible, the first ones larger. */
export function shardSizes(n: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => Math.floor(n / shards) + (i < n % shards ? 1 : 0));
}

/** Copies a tensor's values out of the backend (a typed array this thread owns). */
function valuesOf(t: tf.Tensor): Float32Array | Int32Array {
  return tensorValues(t).slice();
}

/** A tensor as a message's input: its own copy of the values, to transfer. */
function inputOf(t: tf.Tensor): ShardStepRequest['x'] {
  return { values: valuesOf(t), shape: t.shape, dtype: t.dtype === 'int32' ? 'int32' : 'float32' };
}

/** One shard's result, wherever it was computed. */
interface ShardResult {
  loss: number;
  gradients: tf.Tensor[];
  probabilities: Float32Array;
}

/**
 * Takes training steps on `shards` shards per batch; `step` replaces `trainStep`
 * (pipeline/lib/train/train.ts). Shards run in this thread until `addHelper` gives them other threads.
 */
export class ShardedSteps {
  readonly shards: number;
  private readonly model: tf.LayersModel;
  private readonly optimizer: tf.Optimizer;
  private readonly variables: tf.Variable[];
  private readonly lossSpec: LossSpec;
  private readonly loss: LossFunction;
  private readonly warn: (message: string) => void;
  /** Ready helpers; helper i computes shard i + 1. */
  private readonly helpers: Worker[] = [];
  /** The trainable weights for the helpers (made with the first helper), and each helper's gradients. */
  private sharedWeights: SharedTensors | null = null;
  private readonly sharedGradients = new Map<Worker, SharedTensors>();
  /** Steps taken with helpers: the number each step's shared writes carry. */
  private sequence = 0;
  private readonly starting = new Set<Worker>();
  private closed = false;
  private readonly pending = new Map<Worker, { resolve: (m: ShardWorkerMessage) => void; reject: (e: Error) => void }>();
  /** Where the last step's time went in this thread (`npm run bench`). */
  timings = { sendMs: 0, ownShardMs: 0, localShardsMs: 0, waitMs: 0, updateMs: 0 };
  /** Shards computed so far, how many of them in helper threads, and inference batches there (run.json). */
  readonly counts = { shards: 0, inHelpers: 0, inferenceInHelpers: 0 };

  constructor(options: { model: tf.LayersModel; optimizer: tf.Optimizer; loss: LossSpec; shards: number; warn: (message: string) => void }) {
    const { model, optimizer, loss, shards, warn } = options;
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`the shard count must be a positive integer, got ${shards}`);
    this.shards = shards;
    this.model = model;
    this.optimizer = optimizer;
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.lossSpec = loss;
    this.loss = lossOf(loss);
    this.warn = warn;
  }

  /** How many shards run in helper threads now. */
  get helperCount(): number {
    return this.helpers.length;
  }

  /**
   * Starts a helper thread for the next shard that has none, on `backend` (this thread's); resolves
   * once it is ready (true), from then on its shard runs there, or false when there is no shard for
   * it or the steps were closed meanwhile. Rejects when it cannot start (the shard stays in this
   * thread, nothing else changes).
   */
  async addHelper(backend: BackendChoice): Promise<boolean> {
    if (this.closed || this.helpers.length + this.starting.size >= this.shards - 1) return false;
    const shapes = this.variables.map((v) => v.shape);
    this.sharedWeights ??= new SharedTensors(shapes);
    const gradients = new SharedTensors(shapes);
    const workerData: ShardWorkerData = {
      topology: JSON.stringify(this.model.toJSON(null, false)),
      backend,
      loss: this.lossSpec,
      weights: this.sharedWeights.buffer,
      gradients: gradients.buffer,
    };
    const helper = new Worker(new URL('./workers/shard-worker.ts', import.meta.url), { workerData });
    this.sharedGradients.set(helper, gradients);
    this.starting.add(helper);
    helper.on('message', (message: ShardWorkerMessage) => this.settle(helper, message));
    helper.on('error', (error) => this.lose(helper, new Error(`a shard helper thread failed: ${error.message}`, { cause: error })));
    helper.on('exit', (code) => this.lose(helper, new Error(`a shard helper thread stopped (exit code ${code})`)));
    try {
      await this.reply(helper);
    } catch (error) {
      this.starting.delete(helper);
      void helper.terminate();
      if (this.closed) return false;
      throw error;
    }
    this.starting.delete(helper);
    if (this.closed) {
      void helper.terminate();
      return false;
    }
    this.helpers.push(helper);
    return true;
  }

  private settle(helper: Worker, message: ShardWorkerMessage): void {
    const waiting = this.pending.get(helper);
    if (!waiting) return;
    this.pending.delete(helper);
    if (message.type === 'failed') waiting.reject(Object.assign(new Error(`shard helper: ${message.message}`), { stack: message.stack }));
    else waiting.resolve(message);
  }

  /** A helper is gone: its waiting step (if any) fails over to this thread. */
  private lose(helper: Worker, error: Error): void {
    const index = this.helpers.indexOf(helper);
    if (index >= 0) this.helpers.splice(index, 1);
    this.sharedGradients.delete(helper);
    this.pending.get(helper)?.reject(error);
    this.pending.delete(helper);
  }

  /** A helper failed: reported, dropped and stopped; its work runs in this thread from now on. */
  private drop(helper: Worker, error: Error): void {
    this.warn(`${error.message}; its shard runs in this thread from now on (the results are the same)`);
    this.lose(helper, error);
    void helper.terminate();
  }

  private reply(helper: Worker): Promise<ShardWorkerMessage> {
    return new Promise((resolve, reject) => this.pending.set(helper, { resolve, reject }));
  }

  /**
   * One optimiser step on the batch (x, y), as `trainStep` takes it. Draws one seed per shard after
   * the first from `Math.random`, then runs shard 0 with `Math.random` itself.
   */
  async step(x: tf.Tensor, y: tf.Tensor): Promise<StepResult> {
    const t0 = performance.now();
    const n = x.shape[0];
    const sizes = shardSizes(n, this.shards);
    const seeds = sizes.map((_, i) => (i === 0 ? 0 : Math.floor(Math.random() * 2 ** 31)));
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const part = (t: tf.Tensor, i: number) => t.slice(starts[i], sizes[i]);
    // Shards of no films (a batch smaller than the shard count) are skipped.
    const shardIds = sizes.map((_, i) => i).filter((i) => sizes[i] > 0);
    const remote = new Map<number, { helper: Worker; reply: Promise<ShardWorkerMessage>; gradients: SharedTensors }>();
    const helpers = this.helpers.slice();
    const sequence = ++this.sequence;
    if (helpers.length > 0) {
      this.sharedWeights!.write(this.variables, sequence);
      const remoteIds = shardIds.filter((i) => i > 0).slice(0, helpers.length);
      remoteIds.forEach((i, h) => {
        const [xs, ys] = tf.tidy(() => [part(x, i), part(y, i)]);
        const request: ShardStepRequest = {
          type: 'step',
          sequence,
          x: inputOf(xs),
          y: { values: valuesOf(ys) as Float32Array, shape: ys.shape },
          seed: seeds[i],
        };
        tf.dispose([xs, ys]);
        const reply = this.reply(helpers[h]);
        reply.catch(() => {}); // handled below, after this thread's shards
        remote.set(i, { helper: helpers[h], reply, gradients: this.sharedGradients.get(helpers[h])! });
        helpers[h].postMessage(request, [request.x.values.buffer as ArrayBuffer, request.y.values.buffer as ArrayBuffer]);
      });
    }
    const t1 = performance.now();

    const results = new Map<number, ShardResult>();
    const runHere = (i: number) => {
      const [xs, ys] = tf.tidy(() => [part(x, i), part(y, i)]);
      results.set(i, shardGradients(this.model, this.variables, this.loss, xs, ys, i === 0 ? undefined : seeds[i]));
      tf.dispose([xs, ys]);
    };
    runHere(0);
    const t2 = performance.now();
    for (const i of shardIds) if (i > 0 && !remote.has(i)) runHere(i);
    const t3 = performance.now();
    for (const [i, { helper, reply, gradients }] of remote) {
      try {
        const message = (await reply) as Extract<ShardWorkerMessage, { type: 'gradients' }>;
        results.set(i, { loss: message.loss, probabilities: message.probabilities, gradients: gradients.read(sequence) });
        this.counts.inHelpers++;
      } catch (error) {
        this.drop(helper, error as Error);
        runHere(i);
      }
    }
    const t4 = performance.now();

    this.counts.shards += shardIds.length;
    const ordered = shardIds.map((i) => results.get(i)!);
    const combined = combineShardGradients(
      ordered.map((r) => r.gradients),
      shardIds.map((i) => sizes[i]),
    );
    tf.dispose(ordered.flatMap((r) => r.gradients));
    this.optimizer.applyGradients(Object.fromEntries(this.variables.map((v, i) => [v.name, combined[i]])));
    tf.dispose(combined);
    this.timings = { sendMs: t1 - t0, ownShardMs: t2 - t1, localShardsMs: t3 - t2, waitMs: t4 - t3, updateMs: performance.now() - t4 };

    const genres = y.shape[1]!;
    const probabilities = new Float32Array(n * genres);
    let loss = 0;
    shardIds.forEach((i, k) => {
      probabilities.set(ordered[k].probabilities, starts[i] * genres);
      loss += ordered[k].loss * sizes[i];
    });
    return { loss: loss / n, probabilities };
  }

  /**
   * The helpers, for inference batches (./inference.ts) with the trainable weights as they are now
   * (the last step's, or the best epoch's once the model has them), written once for the pass;
   * `layer`'s activations come back after the probabilities. Null without a helper, or for a model
   * with weights the helpers do not get (non-trainable ones).
   */
  inferenceHelpers(layer?: string): InferenceHelpers | null {
    if (this.helpers.length === 0 || this.model.nonTrainableWeights.length > 0) return null;
    const sequence = ++this.sequence;
    this.sharedWeights!.write(this.variables, sequence);
    const helpers = this.helpers;
    const busy = new Set<Worker>();
    return {
      get count() {
        return helpers.length;
      },
      predict: (x) => {
        const helper = helpers.find((h) => !busy.has(h));
        if (!helper) return null;
        busy.add(helper);
        const request: ShardPredictRequest = { type: 'predict', sequence, x: inputOf(x), ...(layer === undefined ? {} : { layer }) };
        const reply = this.reply(helper);
        helper.postMessage(request, [request.x.values.buffer as ArrayBuffer]);
        return reply.then(
          (message) => {
            busy.delete(helper);
            this.counts.inferenceInHelpers++;
            return (message as Extract<ShardWorkerMessage, { type: 'outputs' }>).outputs;
          },
          (error: Error) => {
            busy.delete(helper);
            this.drop(helper, error);
            throw error;
          },
        );
      },
    };
  }

  /**
   * Stops the helpers: each idle one is asked to close and ends by itself (`endWorker`, which
   * terminates it only if it does not); one still starting is terminated.
   */
  async close(): Promise<void> {
    this.closed = true;
    const idle = [...this.helpers];
    const starting = [...this.starting];
    this.helpers.length = 0;
    await Promise.all([
      ...idle.map((helper) => {
        helper.removeAllListeners('exit');
        helper.postMessage({ type: 'close' } satisfies ShardCloseRequest);
        return endWorker(helper);
      }),
      ...starting.map((helper) => {
        helper.removeAllListeners('exit');
        return helper.terminate();
      }),
    ]);
  }
}
