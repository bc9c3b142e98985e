/**
 * A worker thread that trains one model (`pipeline/lib/train/train-jobs.ts` starts one per model when the
 * models train at the same time). It selects its own backend (each thread has its own tfjs engine
 * and WebAssembly instance), trains, stores the result in the training cache, and reports its log
 * lines, progress and result to the main thread as `TrainWorkerMessage`s.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Effects } from '../../core/effects.ts';
import { UserError } from '../../core/errors.ts';
import { trainJob, type FreeCores, type TrainJob } from '../train-job.ts';
import type { TrainWorkerCommand, TrainWorkerMessage } from '../train-jobs.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/train/workers/train-worker.ts runs as a worker thread of the train stage');
const send = (message: TrainWorkerMessage) => port.postMessage(message);

const effects: Effects = {
  info: (message) => send({ type: 'info', message }),
  warn: (message) => send({ type: 'warn', message }),
  progress: (label, done, total, status) => send({ type: 'progress', label, done, total, status }),
  now: () => Date.now(),
};

// Cores the main thread grants this job (for the CNN's shards), as they fall free.
let coresGranted = 0;
const coreListeners: (() => void)[] = [];
port.on('message', (command: TrainWorkerCommand) => {
  if (command.type !== 'core-free') return;
  coresGranted++;
  for (const listener of coreListeners) listener();
});
const freeCores: FreeCores = {
  onFree(listener) {
    coreListeners.push(listener);
    for (let i = 0; i < coresGranted; i++) listener();
  },
};

try {
  send({ type: 'done', result: await trainJob(workerData as TrainJob, effects, undefined, undefined, freeCores) });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  const where = e instanceof UserError ? { file: e.file, line: e.line, fix: e.fix } : {};
  send({ type: 'failed', error: { name: e.name, message: e.message, stack: e.stack, ...where } });
}
