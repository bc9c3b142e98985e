/**
 * The learned-fusion stage in a worker thread (./workers/gmu-worker.ts), so the main thread can
 * compute the explanations meanwhile: the two need only the trained models, and each runs on one
 * core. The worker's log lines and progress go to the stage context's effects; its error is thrown
 * here as the same kind.
 */
import { Worker } from 'node:worker_threads';
import type { GmuHistoryArtifact } from '../contract/contract.ts';
import type { StageContext } from '../core/context.ts';
import { endWorker, workerError, type WorkerMessage } from '../core/worker-messages.ts';
import type { DataStageResult } from '../data/data-stage.ts';

export function runGmuStageInWorker(stage: DataStageResult, ctx: StageContext): Promise<GmuHistoryArtifact> {
  const { effects } = ctx;
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./workers/gmu-worker.ts', import.meta.url), { workerData: { stage, config: ctx.config, root: ctx.root } });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
      void endWorker(worker);
    };
    worker.on('message', (message: WorkerMessage<GmuHistoryArtifact>) => {
      if (message.type === 'info') effects.info(message.message);
      else if (message.type === 'warn') effects.warn(message.message);
      else if (message.type === 'progress') effects.progress(message.label, message.done, message.total, message.status);
      else if (message.type === 'done') settle(() => resolvePromise(message.result));
      else if (message.type === 'failed') settle(() => reject(workerError(message.error)));
    });
    worker.once('error', (error) => settle(() => reject(new Error(`the learned fusion's worker failed: ${error.message}`, { cause: error }))));
    worker.once('exit', (code) => settle(() => reject(new Error(`the learned fusion's worker stopped (exit code ${code}) before it finished`))));
  });
}
