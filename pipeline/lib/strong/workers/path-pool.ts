/**
 * A pool of worker threads for the strong models' path jobs (../cross-validation.ts): each worker
 * gets the labels once and every matrix registered, and takes the next waiting job when it is free,
 * so the folds of one model and the models of one stage share the machine's cores. The results are
 * those of the inline runner (the same function, on the same inputs).
 */
import { Worker } from 'node:worker_threads';
import type { PathJob, PathResult, PathRunner } from '../cross-validation.ts';
import type { SparseRows } from '../sparse.ts';
import type { PathWorkerReply, PathWorkerRequest } from './path-worker.ts';

export interface PathPool {
  /** Sends a matrix to every worker under `name` (once, before jobs use it). */
  register(name: string, rows: SparseRows): void;
  run: PathRunner;
  close(): Promise<void>;
}

export function createPathPool(size: number, labels: Uint8Array, genres: number, onJobDone: () => void = () => {}): PathPool {
  const workers = Array.from({ length: size }, () => new Worker(new URL('./path-worker.ts', import.meta.url), { workerData: { labels, genres } }));
  const idle = [...workers];
  const queue: { id: number; job: PathJob; resolve: (r: PathResult) => void; reject: (e: Error) => void }[] = [];
  const running = new Map<number, (typeof queue)[number]>();
  let nextId = 0;
  let broken: Error | null = null;

  const pump = () => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!;
      const task = queue.shift()!;
      running.set(task.id, task);
      const onMessage = (reply: PathWorkerReply) => {
        if (reply.id !== task.id) return;
        worker.off('message', onMessage);
        running.delete(task.id);
        idle.push(worker);
        if (reply.type === 'done') {
          onJobDone();
          task.resolve(reply.result);
        } else task.reject(Object.assign(new Error(`a strong-model worker failed: ${reply.message}`), { stack: reply.stack }));
        pump();
      };
      worker.on('message', onMessage);
      worker.postMessage({ type: 'job', id: task.id, job: task.job } satisfies PathWorkerRequest);
    }
  };
  for (const worker of workers) {
    worker.once('error', (error) => {
      broken = new Error(`a strong-model worker stopped: ${error.message}`, { cause: error });
      for (const task of [...running.values(), ...queue.splice(0)]) task.reject(broken);
      running.clear();
    });
  }
  return {
    register(name, rows) {
      for (const worker of workers) worker.postMessage({ type: 'matrix', name, rows } satisfies PathWorkerRequest);
    },
    run(jobs) {
      return Promise.all(
        jobs.map(
          (job) =>
            new Promise<PathResult>((resolve, reject) => {
              if (broken) return reject(broken);
              queue.push({ id: nextId++, job, resolve, reject });
              pump();
            }),
        ),
      );
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
