/**
 * `npm run bench`: for each tfjs backend that loads, the coursework models' training-step time
 * (batch 64), inference time, where a step's time goes (kernel calls grouped by class), and the
 * full coursework schedule (CNN 40 + LSTM 20 epochs on 80% of the dataset, a validation pass per
 * epoch): projected from the measured steps, and measured, from the last full run's run.json.
 *
 * The LSTM is measured at the timesteps training really runs: batches are cut to their longest
 * overview and grouped by length (`pipeline/lib/train/batching.ts`), so the bench takes the overview lengths
 * of the dataset (the shared dataset when present) and times a step at the mean timesteps per
 * batch, and also at the full padded length (the path before that change).
 *
 * Each step's achieved GFLOP/s (from the models' exact multiply-add counts, as computed: Winograd's
 * convolutions multiply 16/36 of what direct convolution counts) is set against this core's measured
 * peak, the whole schedule's products against that peak on both cores (the least time any
 * implementation of those products could take here), and the schedule is projected on 2, 4 and 8
 * cores. Both models' steps are also timed side by side, each in its own thread as the build trains
 * them: they share the caches and memory bandwidth, and the projection at that pace is the one to
 * hold against a measured run.
 *
 *   npm run bench                         # every backend that loads except pure-JS cpu
 *   npm run bench -- --backends wasm,cpu  # cpu needs minutes per CNN step
 *   npm run bench -- --before             # also wasm with only the missing kernels (no speed fixes)
 *   npm run bench -- --peer               # also the same steps in PyTorch (python3-torch), and the ratio
 *
 * When onnxruntime-node's native kernels are in use (pipeline/lib/engine/native-kernels.ts), wasm is also
 * measured with its own XNNPACK products and convolutions, the path before them.
 *   npm run bench -- --reps 5 --dataset <folder> --artifacts-dir <folder with run.json>
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../engine/backend.ts';
import { fusedLstmStatus } from '../engine/fused-lstm.ts';
import { fastDropoutStatus } from '../engine/fast-dropout.ts';
import { simdAdamStatus } from '../engine/simd-adam.ts';
import { winogradApplies, winogradStatus } from '../engine/wasm-kernels/winograd.ts';
import { trainingBatches, inferenceBatches } from '../train/batching.ts';
import { resolveConfig } from '../config.ts';
import { ARTIFACT_FILES, HistoryArtifactSchema, RunArtifactSchema, StrongArtifactSchema } from '../contract/contract.ts';
import { loadConfiguredDataset, splitDataset } from '../data/data-stage.ts';
import { consoleEffects, type Effects } from '../core/effects.ts';
import { readCheckedJson, readJson } from '../core/files.ts';
import { tokenLengths } from '../train/model-inputs.ts';
import { buildCnn, compileForCoursework } from '../train/models/cnn.ts';
import { buildLstm } from '../train/models/lstm.ts';
import { seededRandom, shuffled } from '../core/random.ts';
import { ShardedSteps } from '../train/sharded-steps.ts';
import { PROFILE_SCHEDULES } from '../settings.ts';
import { trainStep } from '../train/train.ts';
import { buildVocabulary, vectorizeAll } from '../contract/vectorizer.ts';
import { loadNativeKernels } from '../engine/native-kernels.ts';
import { registerWasmTrainingKernels, type RegisterOptions } from '../engine/wasm-kernels/index.ts';
import type { NeighbourCommand, NeighbourData, NeighbourMessage } from './workers/neighbour-worker.ts';
import { BATCH, batchFor } from './bench-batches.ts';

const SHARED_DATASET = '../shared/datasets/imdb-multimodal';

export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds of `reps` calls after one warm-up call. */
async function timeCalls(reps: number, call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const start = performance.now();
    await call();
    if (i > 0) times.push(performance.now() - start);
  }
  return times;
}

const FUSED_LSTM = 'fused LSTM (whole sequences, forward and backward)';
const SIMD_ADAM = 'Adam update (one SIMD pass per variable)';

/** The class a kernel belongs to, for the profile's shares. */
export function kernelClass(name: string): string {
  // tfjs names an operation with its own gradient (tf.customGrad) "unnamed scope": here, the fused LSTM.
  if (name === 'unnamed scope' || name === FUSED_LSTM) return FUSED_LSTM;
  if (name === SIMD_ADAM) return SIMD_ADAM;
  if (/MatMul/i.test(name)) return 'matrix products';
  if (/^Conv2D|Conv2d/.test(name)) return 'convolutions';
  if (/Pool/.test(name)) return 'pooling';
  if (/^(Sum|Mean|Max|Min|Prod|All|Any|ArgMax|ArgMin)$/.test(name)) return 'reductions';
  if (
    /^(Reshape|Slice|StridedSlice|Unpack|Pack|SplitV|Concat|Transpose|Reverse|Tile|Cast|Identity|GatherV2|GatherNd|Fill|ZerosLike|OnesLike|Select|UnsortedSegmentSum|ScatterNd|ExpandDims|Squeeze|PadV2|MirrorPad)$/.test(
      name,
    )
  )
    return 'data movement (reshape, slice, gather, select, cast)';
  return 'element-wise (activations, arithmetic, Adam)';
}

/** Kernel time of one training step, grouped by kernel name and by kernel class. */
export async function profileTrainingStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  const fusedBefore = fusedLstmStatus();
  const adamBefore = simdAdamStatus();
  const info = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
    return [] as unknown as tf.Tensor;
  });
  // The fused LSTM's backward passes run inside the gradient tape, where the profile does not see them.
  const fusedAfter = fusedLstmStatus();
  const adamAfter = simdAdamStatus();
  const kernels = [...info.kernels];
  // Nor the SIMD Adam update, which runs no kernel.
  if (adamAfter.variables > adamBefore.variables) kernels.push({ name: SIMD_ADAM, kernelTimeMs: adamAfter.ms - adamBefore.ms } as (typeof kernels)[number]);
  for (let i = fusedBefore.backwardCalls; i < fusedAfter.backwardCalls; i++) {
    kernels.push({
      name: FUSED_LSTM,
      kernelTimeMs: (fusedAfter.backwardMs - fusedBefore.backwardMs) / (fusedAfter.backwardCalls - fusedBefore.backwardCalls),
    } as (typeof kernels)[number]);
  }
  const byKernel = new Map<string, { ms: number; calls: number }>();
  const byClass = new Map<string, { ms: number; calls: number }>();
  let totalMs = 0;
  for (const kernel of kernels) {
    const ms = typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
    for (const [map, key] of [
      [byKernel, kernel.name],
      [byClass, kernelClass(kernel.name)],
    ] as const) {
      const entry = map.get(key) ?? { ms: 0, calls: 0 };
      entry.ms += ms;
      entry.calls++;
      map.set(key, entry);
    }
    totalMs += ms;
  }
  const sorted = (map: Map<string, { ms: number; calls: number }>) => [...map.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { calls: kernels.length, totalMs, kernels: sorted(byKernel), classes: sorted(byClass) };
}

interface StepBench {
  stepMs: number;
  stepRuns: number[];
  inferenceMs: number;
  profile: Awaited<ReturnType<typeof profileTrainingStep>>;
}

/** The films and overview lengths the schedule runs on. */
export interface Workload {
  source: string;
  trainFilms: number;
  validationFilms: number;
  sequenceLength: number;
  /** Mean over an epoch's training batches of their longest overview (length-grouped batches). */
  trainTimesteps: number;
  /** Same for the validation pass (sorted by length). */
  inferenceTimesteps: number;
  /** The strong models' time beside training in the last build (its strong.json), 0 when they did not run there. */
  besideMs?: number;
}

/** Workload of a token-length list: the training batches of one epoch and the validation batches. */
export function workloadOf(source: string, lengths: ArrayLike<number>, train: number[], validation: number[], sequenceLength: number): Workload {
  const lengthOf = (film: number) => Math.min(sequenceLength, Math.max(1, lengths[film]));
  const meanLongest = (batches: number[][]) => batches.reduce((sum, batch) => sum + Math.max(...batch.map(lengthOf)), 0) / batches.length;
  const trainBatches = trainingBatches(shuffled(train, seededRandom(1)), BATCH, seededRandom(2), lengthOf);
  const validationBatches = inferenceBatches(validation, BATCH, lengthOf).map((batch) => batch.map((i) => validation[i]));
  return {
    source,
    trainFilms: train.length,
    validationFilms: validation.length,
    sequenceLength,
    trainTimesteps: meanLongest(trainBatches),
    inferenceTimesteps: meanLongest(validationBatches),
  };
}

async function datasetWorkload(folder: string | undefined, sequenceLength: number, effects: Effects): Promise<Workload> {
  if (folder) {
    const config = resolveConfig({ flags: { dataset: folder, sequenceLength } });
    const quiet = { ...effects, info: () => {}, progress: () => {} };
    const { dataset } = await loadConfiguredDataset(config, process.cwd(), quiet);
    const split = splitDataset(dataset, config);
    const vocabulary = buildVocabulary(
      split.train.map((i) => dataset.films[i].overview),
      config.maxTokens,
    );
    const ids = vectorizeAll(
      dataset.films.map((film) => film.overview),
      vocabulary,
      sequenceLength,
    );
    return workloadOf(`${folder} (${dataset.films.length} films)`, tokenLengths(ids, sequenceLength), split.train, split.validation, sequenceLength);
  }
  // No dataset: 5,693 films with overviews of 15–40 words (the shared dataset's median is 25).
  const random = seededRandom(3);
  const lengths = Array.from({ length: 5693 }, () => 15 + Math.floor(random() * 26));
  const films = shuffled([...lengths.keys()], seededRandom(4));
  const validation = films.slice(0, 1139);
  return workloadOf('synthetic lengths 15–40 (no dataset found)', lengths, films.slice(1139), validation, sequenceLength);
}

async function benchStep(model: 'cnn' | 'lstm', reps: number, timesteps: { train: number; inference: number }, recurrentDropout = 0.2): Promise<StepBench> {
  const network = model === 'cnn' ? buildCnn({ seed: 1 }) : buildLstm({ seed: 1, recurrentDropout });
  const optimizer = compileForCoursework(network);
  const train = batchFor(model, timesteps.train);
  const stepRuns = await timeCalls(reps, async () => trainStep(network, optimizer, train.x, train.y));
  const inference = batchFor(model, timesteps.inference);
  const inferenceRuns = await timeCalls(reps, async () => {
    const out = network.predict(inference.x) as tf.Tensor;
    await out.data();
    out.dispose();
  });
  const profile = await profileTrainingStep(network, train.x, train.y);
  tf.dispose([train.x, train.y, inference.x, inference.y]);
  network.dispose();
  return { stepMs: median(stepRuns), stepRuns, inferenceMs: median(inferenceRuns), profile };
}

/**
 * Median step time of one model under two kernel settings (registerWasmTrainingKernels options),
 * their steps alternating so that the machine's drift falls on both alike; a warm-up step each first.
 */
async function alternatingStepMs(
  model: 'cnn' | 'lstm',
  reps: number,
  timesteps: number,
  settings: [RegisterOptions, RegisterOptions],
): Promise<[number, number]> {
  const { x, y } = batchFor(model, timesteps);
  const runs = settings.map(() => {
    const network = model === 'cnn' ? buildCnn({ seed: 1 }) : buildLstm({ seed: 1 });
    return { network, optimizer: compileForCoursework(network), times: [] as number[] };
  });
  try {
    for (let rep = 0; rep <= Math.max(3, reps); rep++) {
      for (const [i, run] of runs.entries()) {
        registerWasmTrainingKernels(settings[i]);
        const started = performance.now();
        trainStep(run.network, run.optimizer, x, y);
        if (rep > 0) run.times.push(performance.now() - started);
      }
    }
  } finally {
    registerWasmTrainingKernels();
    runs.forEach((run) => run.network.dispose());
    tf.dispose([x, y]);
  }
  return [median(runs[0].times), median(runs[1].times)];
}

/**
 * Wall time of one model's schedule: per epoch, its training steps and a validation pass; at the
 * end, the kept weights' validation and training-set passes. `trainingSetPass`: the path before
 * training metrics came from the steps, with a whole training-set pass per epoch.
 */
export function projectScheduleMs(
  bench: { stepMs: number; inferenceMs: number },
  epochs: number,
  trainFilms: number,
  validationFilms: number,
  trainingSetPass = false,
): number {
  const trainBatches = Math.ceil(trainFilms / BATCH);
  const validationBatches = Math.ceil(validationFilms / BATCH);
  const perEpoch = trainBatches * bench.stepMs + (validationBatches + (trainingSetPass ? trainBatches : 0)) * bench.inferenceMs;
  return epochs * perEpoch + (validationBatches + trainBatches) * bench.inferenceMs;
}

/**
 * Wall time of the schedule with both models at once, one core each, where the CNN takes the
 * LSTM's core when the LSTM finishes (its shards then run on two cores): the CNN's part still to do
 * at that moment runs at the two-core pace. `besideMs`: another stage takes that core first for so
 * long (the build's strong models), the CNN going on at its one-core pace meanwhile.
 */
export function projectWithFreeCoreMs(cnnOneCoreMs: number, cnnTwoCoresMs: number, lstmMs: number, besideMs = 0): number {
  const oneCoreUntil = lstmMs > 0 ? lstmMs + besideMs : 0;
  if (oneCoreUntil >= cnnOneCoreMs) return Math.max(lstmMs, cnnOneCoreMs);
  return oneCoreUntil + ((cnnOneCoreMs - oneCoreUntil) / cnnOneCoreMs) * cnnTwoCoresMs;
}

/**
 * The schedule with both models at once at the pace measured side by side (their validation passes
 * slowed alike), the CNN then taking the LSTM's core for its remaining share (`cnnTwoCoresMs`: its
 * whole schedule at the two-core pace), after `besideMs` of another stage on that core (the CNN at
 * the side-by-side pace meanwhile).
 */
export function projectSideBySideMs(
  alone: Record<'cnn' | 'lstm', { stepMs: number; inferenceMs: number }>,
  beside: { cnnMs: number; lstmMs: number },
  cnnTwoCoresMs: number,
  epochs: Record<'cnn' | 'lstm', number>,
  trainFilms: number,
  validationFilms: number,
  besideMs = 0,
): number {
  const at = (bench: { stepMs: number; inferenceMs: number }, stepMs: number, modelEpochs: number) =>
    projectScheduleMs({ stepMs, inferenceMs: bench.inferenceMs * (stepMs / bench.stepMs) }, modelEpochs, trainFilms, validationFilms);
  return projectWithFreeCoreMs(at(alone.cnn, beside.cnnMs, epochs.cnn), cnnTwoCoresMs, at(alone.lstm, beside.lstmMs, epochs.lstm), besideMs);
}

/**
 * Multiply-adds of one forward pass of `model` on `batch` inputs (`timesteps` for recurrent layers):
 * convolutions, dense layers and LSTM gates (input and recurrent products); element-wise work is not
 * counted. A training step is three forward passes' worth (the product, the weight gradient and the
 * input gradient), less the input gradient of a first convolution, which nothing needs. `counted`
 * 'winograd': the convolutions Winograd computes (../engine/wasm-kernels/winograd.ts) count 16/36.
 */
export function modelMacs(
  model: tf.LayersModel,
  batch: number,
  timesteps = 1,
  counted: 'direct' | 'winograd' = 'direct',
): { forward: number; training: number } {
  let forward = 0;
  let firstConvMacs = 0;
  model.layers.forEach((layer, index) => {
    const config = layer.getConfig() as {
      kernelSize?: number[];
      filters?: number;
      strides?: number[];
      dilationRate?: number | number[];
      padding?: string;
      units?: number;
      layer?: { config: { units: number } };
    };
    const input = (layer.input as tf.SymbolicTensor).shape;
    const output = layer.outputShape as (number | null)[];
    let macs = 0;
    const className = layer.getClassName();
    if (className === 'Conv2D') {
      const [kh, kw] = config.kernelSize!;
      macs = batch * Number(output[1]) * Number(output[2]) * kh * kw * Number(input[3]) * config.filters!;
      if (index <= 1 && firstConvMacs === 0) firstConvMacs = macs;
      if (counted === 'winograd' && winogradComputes(config, input.map(Number))) macs *= 16 / 36;
    } else if (className === 'Dense') {
      macs = batch * Number(input[input.length - 1]) * config.units!;
    } else if (className === 'Bidirectional') {
      const units = config.layer!.config.units;
      macs = 2 * batch * timesteps * (Number(input[input.length - 1]) + units) * 4 * units;
    }
    forward += macs;
  });
  return { forward, training: 3 * forward - firstConvMacs };
}

/** Whether wasm-kernels/winograd.ts computes a Conv2D layer of this config and input shape (its padding 'same': one pixel for 3×3). */
function winogradComputes(
  config: { kernelSize?: number[]; filters?: number; strides?: number[]; dilationRate?: number | number[]; padding?: string },
  input: number[],
): boolean {
  const pad = config.padding === 'same' ? 1 : 0;
  return winogradApplies(
    [1, input[1], input[2], input[3]],
    [...config.kernelSize!, input[3], config.filters!],
    config.strides ?? [1, 1],
    [config.dilationRate ?? 1].flat(),
    { top: pad, bottom: pad, left: pad, right: pad },
  );
}

/** One model's products per film: a training step's (forward and both gradients) and an inference pass's. */
export interface FilmFlops {
  train: number;
  forward: number;
}

/**
 * The products (FLOPs) of a whole schedule, as `projectScheduleMs` runs it: each epoch's training
 * films and validation pass, then the kept weights' final pass over every film.
 */
export function scheduleFlops(model: FilmFlops, epochs: number, trainFilms: number, validationFilms: number): number {
  return epochs * (trainFilms * model.train + validationFilms * model.forward) + (trainFilms + validationFilms) * model.forward;
}

/**
 * The least wall time `flops` of products can take on `cores` cores computing at `peakGflops` each
 * (the one-core peak: two threads of the same product measure a little less each), and the share of
 * that peak a target wall time needs, sustained over every product and nothing else counted.
 */
export function arithmeticFloor(flops: number, cores: number, peakGflops: number, targetMs: number): { floorMs: number; shareForTarget: number } {
  const rate = cores * peakGflops * 1e6; // FLOPs per ms
  return { floorMs: flops / rate, shareForTarget: flops / targetMs / rate };
}

/**
 * A CNN step on `shards` cores, from a one-core step: the shards' compute divides, the combine and
 * Adam update does not, the weights go to each helper (`sendMs` each), and waiting for the helpers
 * costs what the measured two-core step showed beyond that, once (they run at the same time).
 */
export function shardedStepMs(oneCoreMs: number, updateMs: number, helperWaitMs: number, shards: number, sendMs = 0): number {
  return (oneCoreMs - updateMs) / shards + updateMs + (shards > 1 ? helperWaitMs + sendMs * (shards - 1) : 0);
}

/** CNN steps timed beside a training LSTM (enough to span several of its steps). */
const SIDE_BY_SIDE_STEPS = 12;

/**
 * The CNN's step while the LSTM trains in another thread, as the build trains them, and the LSTM's
 * step meanwhile (./workers/neighbour-worker.ts): the two threads share the machine's caches and
 * memory bandwidth, so each is slower than alone. The one-core steps alone projected the schedule
 * too short by this.
 */
async function benchSideBySide(backend: BackendChoice, lstmTimesteps: number): Promise<{ cnnMs: number; lstmMs: number }> {
  const workerData: NeighbourData = { model: 'lstm', backend, timesteps: lstmTimesteps };
  const neighbour = new Worker(new URL('./workers/neighbour-worker.ts', import.meta.url), { workerData });
  const next = () =>
    new Promise<NeighbourMessage>((resolvePromise, reject) => {
      neighbour.once('message', resolvePromise);
      neighbour.once('error', reject);
    });
  const network = buildCnn({ seed: 1 });
  const optimizer = compileForCoursework(network);
  const { x, y } = batchFor('cnn', 0);
  try {
    await next(); // warm
    for (let i = 0; i < 2; i++) trainStep(network, optimizer, x, y);
    const done = next();
    neighbour.postMessage({ type: 'time' } satisfies NeighbourCommand);
    const cnnRuns = await timeCalls(SIDE_BY_SIDE_STEPS, async () => trainStep(network, optimizer, x, y));
    neighbour.postMessage({ type: 'stop' } satisfies NeighbourCommand);
    const report = (await done) as Extract<NeighbourMessage, { type: 'done' }>;
    return { cnnMs: median(cnnRuns), lstmMs: median(report.stepMs) };
  } finally {
    await neighbour.terminate();
    tf.dispose([x, y]);
    network.dispose();
  }
}

/** Steps a new shard helper takes before its steps are timed. */
const HELPER_WARMUP_STEPS = 5;

/** The project's goal for the faithful schedule's wall time, set against the machine's arithmetic floor. */
const SCHEDULE_TARGET_MS = 10 * 60_000;

/** CNN step time on 2 shards: both in this thread, and the second in a helper thread (one-core backends). */
async function benchShardedCnn(reps: number, backend: BackendChoice): Promise<{ oneCoreMs: number; twoCoresMs: number; timings: ShardedSteps['timings'] }> {
  const network = buildCnn({ seed: 1 });
  const optimizer = compileForCoursework(network);
  const { x, y } = batchFor('cnn', 0);
  const steps = new ShardedSteps({ model: network, optimizer, loss: { name: 'bce' }, shards: 2, warn: () => {} });
  try {
    const oneCoreMs = median(await timeCalls(reps, () => steps.step(x, y)));
    await steps.addHelper(backend);
    // A new helper's first steps are slow (its kernels' sessions and JIT warm up: about 780, 335,
    // 245 ms, then about 205 for its shard, measured): untimed, as the build's hundreds of steps
    // with a helper are. One warm-up step made the helper look no faster than one thread.
    for (let i = 0; i < HELPER_WARMUP_STEPS; i++) await steps.step(x, y);
    const twoCoresMs = median(await timeCalls(reps, () => steps.step(x, y)));
    return { oneCoreMs, twoCoresMs, timings: steps.timings };
  } finally {
    await steps.close();
    tf.dispose([x, y]);
    network.dispose();
  }
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
const percent = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1e-9)).toFixed(0).padStart(3)}%`;

function reportStep(label: string, bench: StepBench, effects: Effects): void {
  effects.info(
    `  ${label.padEnd(34)} train step ${bench.stepMs.toFixed(0).padStart(6)} ms (runs ${bench.stepRuns.map((t) => t.toFixed(0)).join(', ')}), ` +
      `${((BATCH * 1000) / bench.stepMs).toFixed(1)} samples/s; inference ${bench.inferenceMs.toFixed(0)} ms/batch`,
  );
  const { calls, totalMs, classes } = bench.profile;
  effects.info(`       one step: ${calls} kernel calls, ${totalMs.toFixed(0)} ms in kernels; share by kernel class:`);
  for (const kernelClass of classes) {
    effects.info(
      `         ${kernelClass.name.padEnd(52)} ${kernelClass.ms.toFixed(0).padStart(6)} ms ${percent(kernelClass.ms, totalMs)} ${String(kernelClass.calls).padStart(7)} calls`,
    );
  }
}

/**
 * The core's fp32 peak as this machine reaches it: the native engine's (MLAS) single-thread product of
 * two 1024 × 1024 matrices, the best of 5 (2 FLOP per multiply-add), or null without the engine. A
 * JavaScript or WebAssembly FMA loop cannot use the core's 512-bit FMA units, so it would understate it.
 */
function measurePeakGflops(): number | null {
  let engine;
  try {
    engine = loadNativeKernels();
  } catch {
    return null;
  }
  const n = 1024;
  const random = seededRandom(5);
  const a = Float32Array.from({ length: n * n }, random);
  const b = Float32Array.from({ length: n * n }, random);
  const out = new Float32Array(n * n);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const start = performance.now();
    engine.gemm({ a, b, out, m: n, k: n, n, transA: false, transB: false });
    if (i > 0) best = Math.min(best, performance.now() - start);
  }
  return (2 * n * n * n) / best / 1e6;
}

/**
 * The native peer's steps (./peer_torch.py: PyTorch from Debian's python3-torch, one thread), or why it
 * did not run. The first `python3` on PATH may be another Python (pyenv, a venv) without torch, so
 * Debian's own is tried after it.
 */
async function peerSteps(timesteps: number, reps: number): Promise<{ torch: string; cnnMs: number; lstmMs: number } | { missing: string }> {
  const script = fileURLToPath(new URL('./peer_torch.py', import.meta.url));
  let missing = 'python3 is not installed';
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const { stdout } = await promisify(execFile)(python, [script, '--timesteps', String(timesteps), '--reps', String(reps), '--threads', '1']);
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { torch: string; cnnMs: number[]; lstmMs: number[] };
      return { torch: result.torch, cnnMs: median(result.cnnMs), lstmMs: median(result.lstmMs) };
    } catch (error) {
      const { code, stderr } = error as { code?: string | number; stderr?: string };
      if (code === 'ENOENT') continue;
      if (/No module named 'torch'/.test(stderr ?? '')) missing = 'python3-torch is not installed (apt-get install python3-torch)';
      else return { missing: `the peer failed: ${(stderr ?? String(error)).trim().split('\n').at(-1)}` };
    }
  }
  return { missing };
}

async function benchBackend(reps: number, workload: Workload, effects: Effects, backend: BackendChoice, oneCore: boolean, peer = false): Promise<void> {
  const { trainFilms, validationFilms, sequenceLength } = workload;
  const t = { train: Math.round(workload.trainTimesteps), inference: Math.round(workload.inferenceTimesteps) };
  const cnn = await benchStep('cnn', reps, t);
  reportStep('CNN', cnn, effects);
  if (fastDropoutStatus().active) {
    const [fast, tfjs] = await alternatingStepMs('cnn', reps, t.train, [{ fastDropout: true }, { fastDropout: false }]);
    effects.info(
      `  CNN step with the fast dropout masks ${fast.toFixed(0)} ms, with tfjs' masks (before) ${tfjs.toFixed(0)} ms: ${(fast / tfjs).toFixed(2)}× (alternating, same run)`,
    );
  }
  if (simdAdamStatus().active) {
    const [simd, tfjs] = await alternatingStepMs('cnn', reps, t.train, [{ simdAdam: true }, { simdAdam: false }]);
    effects.info(
      `  CNN step with the SIMD Adam update ${simd.toFixed(0)} ms, with tfjs' Adam kernels (before) ${tfjs.toFixed(0)} ms: ${(simd / tfjs).toFixed(2)}× (alternating, same run)`,
    );
  }
  if (winogradStatus().active) {
    const [winograd, direct] = await alternatingStepMs('cnn', reps, t.train, [{ winograd: true }, { winograd: false }]);
    effects.info(
      `  CNN step with Winograd's Conv3–Conv6 ${winograd.toFixed(0)} ms, direct convolutions (before) ${direct.toFixed(0)} ms: ${(winograd / direct).toFixed(2)}× (alternating, same run)`,
    );
  }
  const lstm = await benchStep('lstm', reps, t);
  reportStep(`LSTM at ${t.train} timesteps (cut, grouped)${fusedLstmStatus().active ? ', fused' : ''}`, lstm, effects);
  if (fusedLstmStatus().active) {
    const [fused, perTimestep] = await alternatingStepMs('lstm', reps, t.train, [{ fusedLstm: true }, { fusedLstm: false }]);
    effects.info(
      `  LSTM step fused ${fused.toFixed(0)} ms, tfjs' per-timestep LSTM (before) ${perTimestep.toFixed(0)} ms: ${(fused / perTimestep).toFixed(2)}× (alternating, same run)`,
    );
  }
  // The path before the cut batches and the fused LSTM: every batch padded, tfjs' per-timestep LSTM.
  const fused = fusedLstmStatus().active;
  if (fused) registerWasmTrainingKernels({ fusedLstm: false });
  const padded = await benchStep('lstm', reps, { train: sequenceLength, inference: sequenceLength });
  if (fused) registerWasmTrainingKernels({ fusedLstm: true });
  reportStep(`LSTM padded to ${sequenceLength} (before${fused ? `; tfjs' per-timestep LSTM` : ''})`, padded, effects);
  // The coursework's recurrent dropout (0.2) disables cuDNN in Keras; here it is one extra multiply.
  const withoutRecurrentDropout = await benchStep('lstm', reps, t, 0);
  effects.info(
    `  LSTM without recurrent dropout: ${withoutRecurrentDropout.stepMs.toFixed(0)} ms/step ` +
      `(recurrent dropout 0.2 costs ${(((lstm.stepMs - withoutRecurrentDropout.stepMs) / withoutRecurrentDropout.stepMs) * 100).toFixed(0)}%)`,
  );
  const peak = backend === 'wasm' ? measurePeakGflops() : null;
  // Products as computed: Winograd's convolutions multiply 16/36 of what direct convolution counts.
  const counted = winogradStatus().active ? 'winograd' : 'direct';
  const flops = {
    cnn: 2 * modelMacs(buildCnn({ seed: 1 }), BATCH, 1, counted).training,
    lstm: 2 * modelMacs(buildLstm({ seed: 1 }), BATCH, t.train).training,
  };
  const directCnn = 2 * modelMacs(buildCnn({ seed: 1 }), BATCH).training;
  for (const [label, bench, total] of [
    ['CNN', cnn, flops.cnn],
    [`LSTM at ${t.train} timesteps`, lstm, flops.lstm],
  ] as const) {
    const gflops = total / bench.stepMs / 1e6;
    const asDirect = label === 'CNN' && total !== directCnn ? `, as Winograd computes them; ${(directCnn / 1e9).toFixed(1)} as direct convolution does` : '';
    effects.info(
      `  ${label}: ${(total / 1e9).toFixed(1)} GFLOP per step (products only${asDirect}) → ${gflops.toFixed(1)} GFLOP/s` +
        (peak ? `, ${((100 * gflops) / peak).toFixed(0)}% of this core's measured peak (${peak.toFixed(0)} GFLOP/s: MLAS, 1024³ product, one thread)` : ''),
    );
  }
  if (peak) {
    // Per film; the LSTM at the mean timesteps of the schedule's training and validation batches.
    const perFilm = (model: tf.LayersModel, train = 1, inference = 1): FilmFlops => {
      const flops = { train: 2 * modelMacs(model, 1, train, counted).training, forward: 2 * modelMacs(model, 1, inference, counted).forward };
      model.dispose();
      return flops;
    };
    const { coursework } = PROFILE_SCHEDULES;
    const schedule = {
      cnn: scheduleFlops(perFilm(buildCnn({ seed: 1 })), coursework.cnn.epochs, trainFilms, validationFilms),
      lstm: scheduleFlops(
        perFilm(buildLstm({ seed: 1 }), workload.trainTimesteps, workload.inferenceTimesteps),
        coursework.lstm.epochs,
        trainFilms,
        validationFilms,
      ),
    };
    const total = schedule.cnn + schedule.lstm;
    const { floorMs, shareForTarget } = arithmeticFloor(total, 2, peak, SCHEDULE_TARGET_MS);
    effects.info(
      `  the schedule's arithmetic: ${(total / 1e12).toFixed(1)} TFLOP of products (CNN ${(schedule.cnn / 1e12).toFixed(1)}, LSTM ${(schedule.lstm / 1e12).toFixed(1)}, ` +
        `validation and final passes included${counted === 'winograd' ? ", the CNN's Conv3–Conv6 by Winograd" : ''}); on 2 cores at this core's peak that is ${minutes(floorMs)}, ` +
        `the least any implementation of these products takes on this machine; ${minutes(SCHEDULE_TARGET_MS)} needs ${(100 * shareForTarget).toFixed(0)}% of that peak sustained, on every product`,
    );
  }
  if (peer) {
    const steps = await peerSteps(t.train, reps);
    if ('missing' in steps) effects.info(`  peer: not measured, ${steps.missing}`);
    else {
      effects.info(
        `  peer: PyTorch ${steps.torch}, one thread, the same steps: CNN ${steps.cnnMs.toFixed(0)} ms, BiLSTM at ${t.train} timesteps ${steps.lstmMs.toFixed(0)} ms ` +
          `(no recurrent dropout); genrelens takes ${(cnn.stepMs / steps.cnnMs).toFixed(2)}× and ${(lstm.stepMs / steps.lstmMs).toFixed(2)}× the peer's time`,
      );
    }
  }
  const epochs = { cnn: PROFILE_SCHEDULES.coursework.cnn.epochs, lstm: PROFILE_SCHEDULES.coursework.lstm.epochs };
  const sharded = oneCore ? await benchShardedCnn(reps, backend) : null;
  if (sharded) {
    const t = sharded.timings;
    effects.info(
      `  CNN on 2 shards (config cnnShards 2): ${sharded.oneCoreMs.toFixed(0)} ms/step in one thread, ${sharded.twoCoresMs.toFixed(0)} ms/step with a helper thread ` +
        `(${(sharded.oneCoreMs / sharded.twoCoresMs).toFixed(2)}x); last step: send ${t.sendMs.toFixed(0)} ms, own shard ${t.ownShardMs.toFixed(0)} ms, ` +
        `wait for the helper ${t.waitMs.toFixed(0)} ms, combine + Adam ${t.updateMs.toFixed(0)} ms`,
    );
  }
  const sideBySide = oneCore ? await benchSideBySide(backend, t.train) : null;
  if (sideBySide) {
    effects.info(
      `  side by side (the LSTM training in another thread, as the build trains them): CNN step ${sideBySide.cnnMs.toFixed(0)} ms (${(sideBySide.cnnMs / cnn.stepMs).toFixed(2)}× alone), ` +
        `LSTM step ${sideBySide.lstmMs.toFixed(0)} ms (${(sideBySide.lstmMs / lstm.stepMs).toFixed(2)}× alone): the two threads share the caches and the memory bandwidth`,
    );
  }
  const cnnStepMs = sharded?.oneCoreMs ?? cnn.stepMs;
  const now = {
    cnn: projectScheduleMs({ stepMs: cnnStepMs, inferenceMs: cnn.inferenceMs }, epochs.cnn, trainFilms, validationFilms),
    lstm: projectScheduleMs(lstm, epochs.lstm, trainFilms, validationFilms),
  };
  const before = {
    cnn: projectScheduleMs(cnn, epochs.cnn, trainFilms, validationFilms, true),
    lstm: projectScheduleMs(padded, epochs.lstm, trainFilms, validationFilms, true),
  };
  effects.info(`  projected full schedule (${trainFilms} train / ${validationFilms} validation films, CNN ${epochs.cnn} + LSTM ${epochs.lstm} epochs):`);
  effects.info(
    `    now:    CNN ${minutes(now.cnn)}, LSTM ${minutes(now.lstm)}; both at once (one core each) ${minutes(Math.max(now.cnn, now.lstm))}, ` +
      `one after the other ${minutes(now.cnn + now.lstm)}`,
  );
  if (sharded) {
    const cnnTwoCores = projectScheduleMs({ stepMs: sharded.twoCoresMs, inferenceMs: cnn.inferenceMs }, epochs.cnn, trainFilms, validationFilms);
    effects.info(
      `    now, with the LSTM's core going to the CNN's second shard when the LSTM finishes: ${minutes(projectWithFreeCoreMs(now.cnn, cnnTwoCores, now.lstm))} ` +
        `(the CNN alone on two cores: ${minutes(cnnTwoCores)})`,
    );
    if (sideBySide) {
      const wall = projectSideBySideMs({ cnn, lstm }, sideBySide, cnnTwoCores, epochs, trainFilms, validationFilms);
      effects.info(`    the same at the side-by-side pace: ${minutes(wall)}`);
      if (workload.besideMs) {
        const withStrong = projectSideBySideMs({ cnn, lstm }, sideBySide, cnnTwoCores, epochs, trainFilms, validationFilms, workload.besideMs);
        effects.info(
          `    and with the strong models first taking the LSTM's core for the ${minutes(workload.besideMs)} the last build's strong.json records (what the build meets): ${minutes(withStrong)}`,
        );
      }
    }
    // More cores: the LSTM keeps one, the CNN's shards take the others, then all of them.
    const { updateMs, sendMs } = sharded.timings;
    const helperWaitMs = Math.max(0, sharded.twoCoresMs - shardedStepMs(sharded.oneCoreMs, updateMs, 0, 2, sendMs));
    const cnnOn = (cores: number) =>
      projectScheduleMs(
        { stepMs: shardedStepMs(sharded.oneCoreMs, updateMs, helperWaitMs, cores, sendMs), inferenceMs: cnn.inferenceMs },
        epochs.cnn,
        trainFilms,
        validationFilms,
      );
    const oneCore = now.cnn + now.lstm;
    effects.info(
      `    more cores (projected from the one-core steps, the update ${updateMs.toFixed(0)} ms that does not divide, ${sendMs.toFixed(0)} ms to send the weights to each helper ` +
        `and ${helperWaitMs.toFixed(0)} ms more waiting for the helpers, as measured above; the LSTM on one core):`,
    );
    for (const cores of [2, 4, 8]) {
      const wall = projectWithFreeCoreMs(cnnOn(cores - 1), cnnOn(cores), now.lstm);
      effects.info(
        `      ${cores} cores: ${minutes(wall)}, scaling efficiency ${((100 * oneCore) / (cores * wall)).toFixed(0)}% (one core, one model after the other: ${minutes(oneCore)})` +
          (wall <= now.lstm * 1.001 ? '; the LSTM, on one core, sets the pace' : ''),
      );
    }
  }
  effects.info(
    `    before: CNN ${minutes(before.cnn)}, LSTM ${minutes(before.lstm)} (padded LSTM, training-set pass per epoch), one after the other ${minutes(before.cnn + before.lstm)}` +
      ' (the kernel fixes of wasm-kernels/ count as present; --before measures without them)',
  );
}

/**
 * How long the last build's strong models ran beside training: their stage's parts as its strong.json
 * times them (backbone, features, the two models' cross-validation at once, stacking), when its
 * run.json says they ran there; else 0.
 */
export function strongBesideMs(artifactsDir: string): number {
  const run = readCheckedJson(resolve(artifactsDir, ARTIFACT_FILES.run), RunArtifactSchema);
  if (!run.ok || !run.value.optimisations.some((o) => o.id === 'beside-training' && o.active)) return 0;
  const strong = readCheckedJson(resolve(artifactsDir, ARTIFACT_FILES.strong), StrongArtifactSchema);
  if (!strong.ok) return 0;
  const t = strong.value.timings;
  return t.backboneMs + t.featuresMs + Math.max(t.textMs, t.posterMs) + t.stackedMs;
}

/** The last full run's measured figures, from the artifacts folder. */
async function reportMeasuredRun(artifactsDir: string, effects: Effects): Promise<void> {
  const runFile = resolve(artifactsDir, ARTIFACT_FILES.run);
  if (!existsSync(runFile)) {
    effects.info(`\nmeasured: no ${runFile} yet (\`npm run build\` on the dataset writes it)`);
    return;
  }
  const run = RunArtifactSchema.safeParse(await readJson(runFile));
  if (!run.success) {
    effects.info(`\nmeasured: ${runFile} is from another contract version; run the pipeline again`);
    return;
  }
  const r = run.data;
  effects.info(`\nmeasured (${runFile}, ${r.generatedAt}, profile ${r.profile}, ${r.backend.name} backend):`);
  effects.info(`  wall time ${minutes(r.training.wallMs)}, models ${r.training.parallel ? 'at the same time' : 'one after the other'}`);
  for (const model of ['cnn', 'lstm'] as const) {
    const m = r.models[model];
    const history = HistoryArtifactSchema.safeParse(await readJson(resolve(artifactsDir, ARTIFACT_FILES.history(model))));
    const steps = history.success ? history.data.epochs.reduce((sum, e) => sum + e.trainMs, 0) / Math.max(1, history.data.epochs.length) : 0;
    const best = history.success ? history.data.best : null;
    effects.info(
      `  ${model.toUpperCase().padEnd(4)} ${m.epochs} epochs in ${minutes(m.trainingMs)}${m.cached ? ' (cached)' : ''}; mean epoch ${(m.epochMs.reduce((a, b) => a + b, 0) / Math.max(1, m.epochMs.length) / 1000).toFixed(1)} s` +
        (history.success ? `, mean training steps per epoch ${(steps / 1000).toFixed(1)} s` : '') +
        (m.meanTimesteps ? `, ${m.meanTimesteps} timesteps per batch` : '') +
        (m.shards ? `, ${m.shards.inHelpers} of ${m.shards.computed} shard gradients in a helper thread` : '') +
        (best
          ? `; best epoch ${m.bestEpoch + 1}: val loss ${best.loss.toFixed(4)}, micro-F1 ${best.microF1.toFixed(4)}, macro-F1 ${best.macroF1.toFixed(4)}`
          : ''),
    );
  }
}

const USAGE = `usage: npm run bench -- [options]

  --backends <list>         backends to measure, comma-separated: ${BACKEND_CHOICES.join(', ')}
                            (default: every one that loads except pure-JS cpu, which needs minutes per CNN step)
  --reps <n>                timed steps per measurement, after a warm-up; the median is printed (default 3)
  --dataset <folder>        overview lengths from this dataset (default: $GENRELENS_DATASET, else the shared dataset)
  --artifacts-dir <folder>  the last full run's run.json and histories, for the measured schedule (default src/content/artifacts)
  --sequence-length <n>     the padded length, for the "before" LSTM step (default 100)
  --before                  also wasm with only the missing kernels (no speed fixes)
  --peer                    also the same steps in PyTorch (Debian's python3-torch, one thread), and the ratio
  -h, --help                this text`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        backends: { type: 'string' },
        reps: { type: 'string', default: '3' },
        dataset: { type: 'string' },
        'artifacts-dir': { type: 'string', default: 'src/content/artifacts' },
        'sequence-length': { type: 'string', default: '100' },
        before: { type: 'boolean', default: false },
        peer: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`genrelens bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 1;
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const effects = consoleEffects();
  const requested = (values.backends?.split(',') ?? ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']) as BackendChoice[];
  const unknown = requested.filter((b) => !BACKEND_CHOICES.includes(b));
  if (unknown.length > 0) {
    console.error(`genrelens bench: unknown backend ${unknown.join(', ')}\n  fix: --backends takes ${BACKEND_CHOICES.join(', ')}`);
    process.exitCode = 1;
    return;
  }
  const reps = Number(values.reps);
  const sequenceLength = Number(values['sequence-length']);
  const folder = values.dataset ?? process.env.GENRELENS_DATASET ?? (existsSync(SHARED_DATASET) ? SHARED_DATASET : undefined);
  const workload = { ...(await datasetWorkload(folder, sequenceLength, effects)), besideMs: strongBesideMs(values['artifacts-dir']) };
  effects.info(
    `genrelens bench: batch ${BATCH}, median of ${reps} after a warm-up; overviews from ${workload.source}: ` +
      `${workload.trainTimesteps.toFixed(1)} timesteps per training batch (length-grouped), ${workload.inferenceTimesteps.toFixed(1)} per validation batch, padded length ${sequenceLength}`,
  );
  for (const backend of requested) {
    let info;
    try {
      info = await selectBackend({ force: backend, effects: { ...effects, info: () => {} } });
    } catch (error) {
      effects.info(`\n${backend}: does not load here — ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    const products = info.productKernels ? `; matrix products and convolutions: ${info.productKernels}` : '';
    effects.info(`\n${backend}: ${info.package} ${info.version} on ${info.device}, ${info.threads} thread(s), SIMD ${info.simd}${products}`);
    const oneCore = backend === 'wasm' || backend === 'cpu';
    await benchBackend(reps, workload, effects, backend, oneCore, values.peer && backend === 'wasm');
    if (backend === 'wasm' && info.productKernels && !info.productKernels.startsWith('XNNPACK')) {
      // The same with the wasm backend's own XNNPACK products (helper threads read the variable).
      process.env.GENRELENS_NATIVE_KERNELS = '0';
      registerWasmTrainingKernels({ native: null });
      effects.info(`\nwasm with XNNPACK's matrix products and convolutions (GENRELENS_NATIVE_KERNELS=0), the path before the native kernels:`);
      await benchBackend(reps, workload, effects, backend, oneCore);
      delete process.env.GENRELENS_NATIVE_KERNELS;
      registerWasmTrainingKernels({ native: loadNativeKernels() });
    }
    if (backend === 'wasm' && values.before) {
      process.env.GENRELENS_NATIVE_KERNELS = '0';
      registerWasmTrainingKernels({ speedFixes: false });
      effects.info(`\nwasm with only the missing kernels (no speed fixes):`);
      // The helper thread registers the fast kernels, so shards are measured with them only.
      await benchBackend(reps, workload, effects, backend, false);
      delete process.env.GENRELENS_NATIVE_KERNELS;
      registerWasmTrainingKernels();
    }
  }
  if (!values.backends) effects.info('\ncpu: not measured by default (pure JS: minutes per CNN step); --backends cpu to measure it');
  await reportMeasuredRun(values['artifacts-dir'], effects);
}

if (import.meta.main) await main();
