/**
 * A worker thread of the strong models' path pool (./path-pool.ts): keeps the matrices it is sent
 * and runs path jobs on them (../cross-validation.ts `runPathJob`), one at a time, returning the
 * results with their buffers transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runPathJob, type PathJob, type PathResult } from '../cross-validation.ts';
import type { SparseRows } from '../sparse.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/strong/workers/path-worker.ts runs as a worker thread of the pipeline');
const { labels, genres } = workerData as { labels: Uint8Array; genres: number };
const matrices = new Map<string, SparseRows>();

export type PathWorkerRequest = { type: 'matrix'; name: string; rows: SparseRows } | { type: 'job'; id: number; job: PathJob };
export type PathWorkerReply = { type: 'done'; id: number; result: PathResult } | { type: 'failed'; id: number; message: string; stack?: string };

port.on('message', (request: PathWorkerRequest) => {
  if (request.type === 'matrix') {
    matrices.set(request.name, request.rows);
    return;
  }
  try {
    const x = matrices.get(request.job.matrix);
    if (!x) throw new Error(`no matrix named ${request.job.matrix} was sent to this worker`);
    const result = runPathJob(x, labels, genres, request.job.heldOut, request.job.grid, request.job.genres, request.job.solver);
    const buffers = 'models' in result ? result.models.flatMap((m) => [m.weights.buffer, m.bias.buffer]) : result.probabilities.map((p) => p.buffer);
    port.postMessage({ type: 'done', id: request.id, result } satisfies PathWorkerReply, buffers as ArrayBuffer[]);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ type: 'failed', id: request.id, message: e.message, stack: e.stack } satisfies PathWorkerReply);
  }
});
