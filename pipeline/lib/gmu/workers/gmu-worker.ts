/**
 * A worker thread that runs the learned-fusion stage (pipeline/lib/gmu/gmu-in-worker.ts starts it),
 * so that the explanations, which need only the trained models, are computed on the other core at
 * the same time. It selects its own backend, as the stage does in the main thread, so the numbers
 * are the same; it reports its log lines, progress and the fusion's history to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { stageContext } from '../../core/context.ts';
import { portEffects, reportOutcome } from '../../core/worker-messages.ts';
import type { DataStageResult } from '../../data/data-stage.ts';
import type { Config } from '../../settings.ts';
import { runGmuStage } from '../gmu-stage.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/gmu/workers/gmu-worker.ts runs as a worker thread of the pipeline');
const { stage, config, root } = workerData as { stage: DataStageResult; config: Config; root: string };
await reportOutcome(port, () => runGmuStage(stage, stageContext(config, root, portEffects(port))));
