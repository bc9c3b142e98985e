/**
 * A worker thread that trains one model (`pipeline/lib/train/train-jobs.ts` starts one per model when the
 * models train at the same time). It selects its own backend (each thread has its own tfjs engine
 * and WebAssembly instance), trains, stores the result in the training cache, and reports its log
 * lines, progress and result to the main thread as `TrainWorkerMessage`s.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { portEffects, reportOutcome } from '../../core/worker-messages.ts';
import { trainJob, type FreeCores, type TrainJob } from '../train-job.ts';
import type { TrainWorkerCommand } from '../train-jobs.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/train/workers/train-worker.ts runs as a worker thread of the train stage');
const effects = portEffects(port);

// Cores the main thread grants this job (for the CNN's shards), as they fall free; or a stop: the
// training ends after its current step, its shard helpers closed, and this thread ends by itself
// (terminating a thread in the middle of ONNX Runtime's work can abort the process).
let coresGranted = 0;
const coreListeners: (() => void)[] = [];
const stop = new AbortController();
port.on('message', (command: TrainWorkerCommand) => {
  if (command.type === 'stop') {
    stop.abort(new Error('stopped: another part of the build failed'));
    return;
  }
  coresGranted++;
  for (const listener of coreListeners) listener();
});
const freeCores: FreeCores = {
  onFree(listener) {
    coreListeners.push(listener);
    for (let i = 0; i < coresGranted; i++) listener();
  },
};

await reportOutcome(port, () => trainJob(workerData as TrainJob, effects, undefined, undefined, freeCores, stop.signal));
