/**
 * The learned-fusion stage in a worker thread (./workers/gmu-worker.ts), so the main thread can
 * compute the explanations meanwhile: the two need only the trained models, and each runs on one
 * core. The worker's log lines and progress go to the stage context's effects; its error is thrown
 * here as the same kind.
 */
import { Worker } from 'node:worker_threads';
import type { GmuHistoryArtifact } from '../contract/contract.ts';
import type { StageContext } from '../core/context.ts';
import { workerResult } from '../core/worker-messages.ts';
import type { DataStageResult } from '../data/data-stage.ts';

export function runGmuStageInWorker(stage: DataStageResult, ctx: StageContext): Promise<GmuHistoryArtifact> {
  const { effects } = ctx;
  const worker = new Worker(new URL('./workers/gmu-worker.ts', import.meta.url), { workerData: { stage, config: ctx.config, root: ctx.root } });
  return workerResult<GmuHistoryArtifact>(worker, "the learned fusion's worker", (message) => {
    if (message.type === 'info') effects.info(message.message);
    else if (message.type === 'warn') effects.warn(message.message);
    else if (message.type === 'progress') effects.progress(message.label, message.done, message.total, message.status);
  });
}
