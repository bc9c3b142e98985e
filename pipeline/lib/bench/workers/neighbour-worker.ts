/**
 * A training neighbour for `npm run bench` (../bench.ts `benchSideBySide`): trains one model's steps
 * on a fixed batch in its own thread and backend, as the build's other training worker does, until
 * told to stop; then reports its step times since it was told to start timing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../../engine/backend.ts';
import { quietEffects } from '../../core/effects.ts';
import { buildCnn, compileForCoursework } from '../../train/models/cnn.ts';
import { buildLstm } from '../../train/models/lstm.ts';
import { trainStep } from '../../train/train.ts';
import { batchFor } from '../bench-batches.ts';

export interface NeighbourData {
  model: 'cnn' | 'lstm';
  backend: BackendChoice;
  timesteps: number;
}

/** What the bench tells the neighbour, and what it answers. */
export type NeighbourCommand = { type: 'time' } | { type: 'stop' };
export type NeighbourMessage = { type: 'warm' } | { type: 'done'; stepMs: number[] };

const port = parentPort!;
const { model, backend, timesteps } = workerData as NeighbourData;
await selectBackend({ force: backend, effects: quietEffects() });
const network = model === 'cnn' ? buildCnn({ seed: 2 }) : buildLstm({ seed: 2 });
const optimizer = compileForCoursework(network);
const { x, y } = batchFor(model, timesteps);
let timing = false;
let stopping = false;
const stepMs: number[] = [];
port.on('message', (command: NeighbourCommand) => {
  if (command.type === 'time') timing = true;
  else stopping = true;
});
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
for (let i = 0; i < 3; i++) trainStep(network, optimizer, x, y);
port.postMessage({ type: 'warm' } satisfies NeighbourMessage);
while (!stopping) {
  const started = performance.now();
  trainStep(network, optimizer, x, y);
  if (timing) stepMs.push(performance.now() - started);
  await turn(); // lets the commands in
}
port.postMessage({ type: 'done', stepMs } satisfies NeighbourMessage);
tf.dispose([x, y]);
network.dispose();
port.close();
