/**
 * Training several models: in worker threads, each on its own core, at most `concurrency` at a time
 * (the wasm and cpu backends compute on one core), or one after the other in this thread. The
 * workers' log lines are passed on and their progress shown as one line; a core that falls free
 * goes to another stage's work beside training (the strong models), then to the CNN's shards. The
 * results do not depend on how: each model's numbers come from its own seeded generators.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { selectBackend } from '../engine/backend.ts';
import { MODEL_TITLES } from '../contract/contract.ts';
import type { Effects } from '../core/effects.ts';
import { endWorker, workerError, type WorkerMessage } from '../core/worker-messages.ts';
import type { Config } from '../settings.ts';
import type { ModelInputs } from './model-inputs.ts';
import { trainJob, type FreeCores, type TrainJob } from './train-job.ts';
import type { CachedModelResult } from './training-cache.ts';

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
 * Cores: once no job is waiting, a core without a job (of `cores`) goes first to `beside`, the
 * work of another stage that runs on one core, then to a running job with sharded batches (the CNN)
 * for one of its shards; when that work or job ends, its cores are free again. A failure of
 * `beside` stops the training too.
 */
async function trainInWorkers(
  jobs: TrainJob[],
  effects: Effects,
  concurrency = jobs.length,
  cores = availableParallelism(),
  beside?: BesideTraining,
): Promise<CachedModelResult[]> {
  const progress = jobs.map(() => ({ label: '', done: 0, total: 0 }));
  const running = new Set<number>();
  const written = new Set<string>();
  const label =
    jobs.length <= concurrency
      ? `Training ${jobs.map((job) => job.model.toUpperCase()).join(' ∥ ')}`
      : `Training ${jobs.length} models, ${concurrency} at a time`;
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
  let besideState: 'waiting' | 'running' | 'done' = beside ? 'waiting' : 'done';
  let failBeside: (error: unknown) => void = () => {};
  const besideFailed = new Promise<never>((_, reject) => (failBeside = reject));
  const grantFreeCores = () => {
    if (next < jobs.length) return;
    let free = cores - running.size - [...running].reduce((sum, i) => sum + (granted.get(i) ?? 0), 0) - (besideState === 'running' ? 1 : 0);
    if (free > 0 && besideState === 'waiting' && running.size > 0) {
      besideState = 'running';
      free--;
      beside!.run(1).then(() => {
        besideState = 'done';
        grantFreeCores();
      }, failBeside);
    }
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
          void endWorker(worker);
          resolvePromise(message.result);
        } else if (message.type === 'failed') {
          finish();
          reject(workerError(message.error, title));
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
    const trained = Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
    trained.catch(() => {}); // after a failure of `beside`, the stopped workers' rejections are not news
    await Promise.race([trained, besideFailed]);
    return results;
  } finally {
    stopped = true;
    // Workers still training (another failed): asked to stop, and ended only if they do not by themselves.
    await Promise.all(
      [...workers].map((worker) => {
        worker.postMessage({ type: 'stop' } satisfies TrainWorkerCommand);
        return endWorker(worker, STOP_MS);
      }),
    );
  }
}

/**
 * Trains the jobs: in worker threads, `concurrency` at a time, or with a concurrency of 1 one after
 * the other in this thread (the other cores, with `parallel`, go to the CNN's shards).
 * `inputs`, when given, must be those of the jobs' configuration.
 */
export async function trainJobs(
  jobs: TrainJob[],
  config: Config,
  effects: Effects,
  concurrency: number,
  inputs?: ModelInputs,
  beside?: BesideTraining,
): Promise<CachedModelResult[]> {
  if (jobs.length === 0) return [];
  if (concurrency > 1) return trainInWorkers(jobs, effects, concurrency, availableParallelism(), beside);
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

/**
 * Another stage's work that may run beside training on a core training leaves free (trainInWorkers):
 * `run(cores)` starts it on that many cores, once; a later call returns the same run. `settled()`
 * waits for a run that was started, however it ends; `started()` says whether one was.
 */
export interface BesideTraining {
  /** What the work is, for run.json ("the strong models"). */
  name: string;
  run(cores: number): Promise<unknown>;
  started(): boolean;
  settled(): Promise<void>;
}

/** The stage `work` as work beside training: run at most once, on the cores of its first `run`. */
export function besideTraining(name: string, work: (cores: number) => Promise<unknown>): BesideTraining {
  let started: Promise<unknown> | null = null;
  return {
    name,
    run: (cores) => (started ??= work(cores)),
    started: () => started !== null,
    settled: async () => void (await started?.catch(() => {})),
  };
}

/** What the main thread tells a training worker: a core is free for one of its shards; or stop after the current step. */
export type TrainWorkerCommand = { type: 'core-free' } | { type: 'stop' };

/** How long a stopped training worker has to end by itself (its current step, closing its helpers). */
const STOP_MS = 60_000;

/** What a training worker tells the main thread. */
export type TrainWorkerMessage = WorkerMessage<CachedModelResult>;
