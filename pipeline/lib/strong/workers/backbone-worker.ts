/**
 * A poster-backbone thread (../backbone-features.ts): selects its own tfjs backend, loads the
 * backbone on the engine it is given, computes the features of its range of batches (a message per
 * batch, for progress) and sends them back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../../engine/backend.ts';
import { UserError } from '../../core/errors.ts';
import { quietEffects } from '../../core/effects.ts';
import { loadBackbone } from '../backbone.ts';
import { featuresOfBatches, type BackboneWorkerData, type BackboneWorkerMessage } from '../backbone-features.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/strong/workers/backbone-worker.ts runs as a worker thread of pipeline/lib/strong/backbone-features.ts');
const send = (message: BackboneWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const { posters, batches, engine, backend } = workerData as BackboneWorkerData;
  await selectBackend({ force: backend as BackendChoice | undefined, effects: quietEffects() });
  const backbone = await loadBackbone(engine, batches.size);
  const values = await featuresOfBatches(backbone, posters, batches, () => send({ type: 'batch' }));
  send({ type: 'done', provenance: backbone.provenance, values }, [values.buffer as ArrayBuffer]);
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  const userError = e instanceof UserError ? { file: e.file, line: e.line, fix: e.fix } : undefined;
  send({ type: 'failed', message: e.message, stack: e.stack, userError });
}
