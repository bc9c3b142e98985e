/**
 * The learned fusion's heads on two threads: this one and a helper worker (./workers/gmu-heads-worker.ts)
 * on the other core. The six heads (five cross-fitted, one final) are independent and seeded by their
 * labels, so each gives the same fit on either thread (same backend, one core each); the split only
 * changes when they finish. The helper's progress lines are passed on; its error is thrown here.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../engine/backend.ts';
import type { Effects } from '../core/effects.ts';
import { workerResult } from '../core/worker-messages.ts';
import { fitHeadsInTurn, type GmuFit, type GmuHeadJob, type GmuHeadRunner, type SharedHeadInput } from './gmu.ts';

/** What the helper worker is given. */
export interface HeadsWorkerData {
  backend: BackendChoice | undefined;
  shared: SharedHeadInput;
  jobs: GmuHeadJob[];
}

/**
 * The jobs split in two by their rows (a head's time grows with its films), largest first, each to the
 * lighter side; this thread takes the first (the largest) so the helper's start-up is spent on less.
 */
export function splitHeads(jobs: readonly GmuHeadJob[]): { here: number[]; helper: number[] } {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].rows.length - jobs[a].rows.length || a - b);
  const here: number[] = [];
  const helper: number[] = [];
  let hereRows = 0;
  let helperRows = 0;
  for (const i of order) {
    if (hereRows <= helperRows) {
      here.push(i);
      hereRows += jobs[i].rows.length;
    } else {
      helper.push(i);
      helperRows += jobs[i].rows.length;
    }
  }
  return { here: here.sort((a, b) => a - b), helper: helper.sort((a, b) => a - b) };
}

/** A helper's report of one epoch of one head. */
export interface EpochMessage {
  type: 'epoch';
  head: string;
  record: GmuFit['epochs'][number];
  total: number;
}

/** Fits `jobs` in the helper worker; its epochs are reported through `onEpoch`. */
function fitInHelper(data: HeadsWorkerData, onEpoch: Parameters<GmuHeadRunner>[2]): Promise<GmuFit[]> {
  const worker = new Worker(new URL('./workers/gmu-heads-worker.ts', import.meta.url), { workerData: data });
  return workerResult<GmuFit[], EpochMessage>(
    worker,
    "the learned fusion's helper thread",
    (message) => void onEpoch?.(message.head, message.record, message.total),
  );
}

/** Backends that compute on one core per thread, where a second thread uses a second core. */
const ONE_CORE_BACKENDS: readonly (BackendChoice | undefined)[] = ['wasm', 'cpu'];

/**
 * A head runner that fits part of the heads in a helper thread, at the same time as the rest here,
 * when the backend computes on one core, the machine has more than one and there is more than one
 * head; otherwise in turn, here. `backend` is the one this thread selected (the helper loads the same).
 */
export function headsOnTwoThreads(backend: BackendChoice | undefined, effects: Effects, cores = availableParallelism()): GmuHeadRunner {
  return async (jobs, shared, onEpoch) => {
    if (!ONE_CORE_BACKENDS.includes(backend) || cores < 2 || jobs.length < 2) return fitHeadsInTurn(jobs, shared, onEpoch);
    const { here, helper } = splitHeads(jobs);
    effects.info(`Learned fusion: ${helper.length} of ${jobs.length} heads on a helper thread (${helper.map((i) => jobs[i].head).join(', ')})`);
    const [mine, theirs] = await Promise.all([
      fitHeadsInTurn(
        here.map((i) => jobs[i]),
        shared,
        onEpoch,
      ),
      fitInHelper({ backend, shared, jobs: helper.map((i) => jobs[i]) }, onEpoch),
    ]);
    const fits: GmuFit[] = new Array(jobs.length);
    here.forEach((i, k) => (fits[i] = mine[k]));
    helper.forEach((i, k) => (fits[i] = theirs[k]));
    return fits;
  };
}
