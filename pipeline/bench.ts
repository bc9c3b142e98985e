/**
 * `npm run bench`: for each tfjs backend that loads, the coursework models' training-step time
 * (batch 64), samples/s, inference throughput, where a step's time goes (kernel profile), and the
 * projected wall time of the full coursework schedule (CNN 40 + LSTM 20 epochs, 80% of the shared
 * dataset, metrics over the whole training and validation sets after every epoch).
 *
 *   npm run bench                         # every backend that loads except pure-JS cpu
 *   npm run bench -- --backends wasm,cpu  # cpu needs minutes per CNN step
 *   npm run bench -- --before             # also wasm with only the missing kernels (no speed fixes)
 *   npm run bench -- --reps 5 --films 5693 --sequence-length 100
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from './backend.ts';
import { consoleEffects, type Effects } from './effects.ts';
import { buildCnn, compileForCoursework } from './models/cnn.ts';
import { buildLstm } from './models/lstm.ts';
import { seededRandom } from './random.ts';
import { PROFILE_EPOCHS } from './train-stage.ts';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';

const BATCH = 64;

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

/** Kernel time of one training step, grouped by kernel name. */
export async function profileTrainingStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(x, y);
    return [] as unknown as tf.Tensor;
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let totalMs = 0;
  for (const kernel of info.kernels) {
    const ms = typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
    const entry = byKernel.get(kernel.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byKernel.set(kernel.name, entry);
    totalMs += ms;
  }
  const kernels = [...byKernel.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { calls: info.kernels.length, totalMs, kernels };
}

interface ModelBench {
  model: 'cnn' | 'lstm';
  stepMs: number;
  stepRuns: number[];
  inferenceMs: number;
  profile: Awaited<ReturnType<typeof profileTrainingStep>>;
}

function batchFor(model: 'cnn' | 'lstm', sequenceLength: number): { x: tf.Tensor; y: tf.Tensor } {
  const random = seededRandom(7);
  const y = tf.tensor2d(Float32Array.from({ length: BATCH * 25 }, () => (random() < 0.1 ? 1 : 0)), [BATCH, 25]);
  if (model === 'cnn') {
    return { x: tf.tensor4d(Float32Array.from({ length: BATCH * 64 * 64 * 3 }, random), [BATCH, 64, 64, 3]), y };
  }
  // Overviews of 15–40 words (the real median is 25), padded to the sequence length.
  const ids = new Int32Array(BATCH * sequenceLength);
  for (let row = 0; row < BATCH; row++) {
    const words = Math.min(sequenceLength, 15 + Math.floor(random() * 26));
    for (let t = 0; t < words; t++) ids[row * sequenceLength + t] = 2 + Math.floor(random() * 9998);
  }
  return { x: tf.tensor2d(ids, [BATCH, sequenceLength], 'int32'), y };
}

async function benchModel(model: 'cnn' | 'lstm', reps: number, sequenceLength: number, recurrentDropout = 0.2): Promise<ModelBench> {
  const network = model === 'cnn' ? buildCnn({ seed: 1 }) : buildLstm({ seed: 1, sequenceLength, recurrentDropout });
  compileForCoursework(network);
  const { x, y } = batchFor(model, sequenceLength);
  const stepRuns = await timeCalls(reps, () => network.trainOnBatch(x, y));
  const inferenceRuns = await timeCalls(reps, async () => {
    const out = network.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
  });
  const profile = await profileTrainingStep(network, x, y);
  tf.dispose([x, y]);
  network.dispose();
  return { model, stepMs: median(stepRuns), stepRuns, inferenceMs: median(inferenceRuns), profile };
}

/** Wall time of the coursework schedule for one model, from its per-step and per-batch times. */
export function projectScheduleMs(bench: { stepMs: number; inferenceMs: number }, epochs: number, trainFilms: number, validationFilms: number): number {
  const steps = Math.ceil(trainFilms / BATCH);
  const evaluationBatches = Math.ceil(trainFilms / BATCH) + Math.ceil(validationFilms / BATCH);
  return epochs * (steps * bench.stepMs + evaluationBatches * bench.inferenceMs);
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

async function benchBackend(name: string, reps: number, sequenceLength: number, films: number, effects: Effects): Promise<void> {
  const validationFilms = Math.round(films * 0.2);
  const trainFilms = films - validationFilms;
  const results: ModelBench[] = [];
  for (const model of ['cnn', 'lstm'] as const) {
    const bench = await benchModel(model, reps, sequenceLength);
    results.push(bench);
    effects.info(
      `  ${model.toUpperCase().padEnd(4)} train step ${bench.stepMs.toFixed(0).padStart(6)} ms (runs ${bench.stepRuns.map((t) => t.toFixed(0)).join(', ')}), ` +
        `${((BATCH * 1000) / bench.stepMs).toFixed(1)} samples/s; inference ${bench.inferenceMs.toFixed(0)} ms/batch, ` +
        `${((BATCH * 1000) / bench.inferenceMs).toFixed(0)} samples/s`,
    );
    const { calls, totalMs, kernels } = bench.profile;
    effects.info(`       profile of one step: ${calls} kernel calls, ${totalMs.toFixed(0)} ms in kernels; top kernels:`);
    for (const kernel of kernels.slice(0, 8)) {
      effects.info(
        `         ${kernel.name.padEnd(24)} ${kernel.ms.toFixed(0).padStart(6)} ms ${((100 * kernel.ms) / Math.max(totalMs, 1e-9)).toFixed(0).padStart(3)}%  ${String(kernel.calls).padStart(6)} calls`,
      );
    }
  }
  // The coursework's recurrent dropout (0.2) disables cuDNN in Keras; here it is one extra multiply
  // per step. Measure what it costs on this backend.
  const withoutRecurrentDropout = await benchModel('lstm', reps, sequenceLength, 0);
  const lstmStep = results[1].stepMs;
  effects.info(
    `  LSTM without recurrent dropout: ${withoutRecurrentDropout.stepMs.toFixed(0)} ms/step ` +
      `(recurrent dropout 0.2 costs ${(((lstmStep - withoutRecurrentDropout.stepMs) / withoutRecurrentDropout.stepMs) * 100).toFixed(0)}%)`,
  );
  const [cnn, lstm] = results;
  const cnnMs = projectScheduleMs(cnn, PROFILE_EPOCHS.coursework.cnn, trainFilms, validationFilms);
  const lstmMs = projectScheduleMs(lstm, PROFILE_EPOCHS.coursework.lstm, trainFilms, validationFilms);
  effects.info(
    `  projected full coursework schedule on ${films} films (${trainFilms} train): CNN 40 epochs ${minutes(cnnMs)}, ` +
      `LSTM 20 epochs ${minutes(lstmMs)}; one after the other ${minutes(cnnMs + lstmMs)}, ` +
      `in two processes (one per core) ${minutes(Math.max(cnnMs, lstmMs))}`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string' },
      reps: { type: 'string', default: '3' },
      films: { type: 'string', default: '5693' },
      'sequence-length': { type: 'string', default: '100' },
      before: { type: 'boolean', default: false },
    },
  });
  const effects = consoleEffects();
  const requested = (values.backends?.split(',') ?? ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']) as BackendChoice[];
  const reps = Number(values.reps);
  const films = Number(values.films);
  const sequenceLength = Number(values['sequence-length']);
  effects.info(`genrelens bench: batch ${BATCH}, median of ${reps} after a warm-up, LSTM sequence length ${sequenceLength}`);
  for (const backend of requested) {
    if (!BACKEND_CHOICES.includes(backend)) throw new Error(`unknown backend ${backend}`);
    let info;
    try {
      info = await selectBackend({ force: backend, effects: { ...effects, info: () => {} } });
    } catch (error) {
      effects.info(`\n${backend}: does not load here — ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    effects.info(`\n${backend}: ${info.package} ${info.version} on ${info.device}, ${info.threads} thread(s), SIMD ${info.simd}`);
    await benchBackend(backend, reps, sequenceLength, films, effects);
    if (backend === 'wasm' && values.before) {
      registerWasmTrainingKernels({ speedFixes: false });
      effects.info(`\nwasm with only the missing kernels (no speed fixes):`);
      await benchBackend('wasm-before', reps, sequenceLength, films, effects);
      registerWasmTrainingKernels();
    }
  }
  if (!values.backends) effects.info('\ncpu: not measured by default (pure JS: minutes per CNN step); --backends cpu to measure it');
}

if (import.meta.main) await main();
