/**
 * A helper thread of the learned fusion (pipeline/lib/gmu/heads-helper.ts starts it): fits the heads
 * it is given on its own backend instance (the same backend as the fusion stage, one core) and
 * returns their fits; each epoch is reported for the progress line.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../../engine/backend.ts';
import { quietEffects } from '../../core/effects.ts';
import { reportOutcome } from '../../core/worker-messages.ts';
import { fitHeadsInTurn } from '../gmu.ts';
import type { EpochMessage, HeadsWorkerData } from '../heads-helper.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/gmu/workers/gmu-heads-worker.ts runs as a worker thread of the learned fusion');
const { backend, shared, jobs } = workerData as HeadsWorkerData;
await reportOutcome(port, async () => {
  await selectBackend({ force: backend, effects: quietEffects() });
  return fitHeadsInTurn(jobs, shared, (head, record, total) => port.postMessage({ type: 'epoch', head, record, total } satisfies EpochMessage));
});
