/**
 * A shard helper thread (`pipeline/lib/train/sharded-steps.ts`): builds the model being trained on its
 * own backend instance, then, per step message, loads the weights from the shared memory, computes
 * the loss and gradients of its shard of the batch with `Math.random` seeded as told, writes the
 * gradients to its shared memory and answers with the loss and predictions. Per predict message, it
 * answers with one inference batch's outputs (../inference.ts), loading the weights written for that
 * pass once. Asked to close, it closes its port, so its thread ends by itself rather than being
 * terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../engine/backend.ts';
import { quietEffects } from '../../core/effects.ts';
import { SharedTensors } from '../shared-tensors.ts';
import {
  lossOf,
  shardGradients,
  type ShardCloseRequest,
  type ShardPredictRequest,
  type ShardStepRequest,
  type ShardWorkerData,
  type ShardWorkerMessage,
} from '../sharded-steps.ts';
import { batchOutputs, inferenceNetwork } from '../inference.ts';

const port = parentPort;
if (!port) throw new Error('pipeline/lib/train/workers/shard-worker.ts runs as a worker thread of pipeline/lib/train/sharded-steps.ts');
const send = (message: ShardWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const failed = (error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  send({ type: 'failed', message: e.message, stack: e.stack });
};

try {
  const { topology, backend, loss: lossSpec, weights: weightsBuffer, gradients: gradientsBuffer } = workerData as ShardWorkerData;
  await selectBackend({ force: backend, effects: quietEffects() });
  const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(topology) });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = lossOf(lossSpec);
  const shapes = variables.map((v) => v.shape);
  const sharedWeights = new SharedTensors(shapes, weightsBuffer);
  const sharedGradients = new SharedTensors(shapes, gradientsBuffer);
  // The weights' write last loaded (an inference pass loads its write once, for all its batches).
  let loaded = -1;
  const loadWeights = (sequence: number) => {
    if (sequence === loaded) return;
    sharedWeights.read(sequence).forEach((weight, i) => {
      variables[i].assign(weight);
      weight.dispose();
    });
    loaded = sequence;
  };
  const networks = new Map<string | undefined, tf.LayersModel>();
  const predict = async (request: ShardPredictRequest) => {
    loadWeights(request.sequence);
    if (!networks.has(request.layer)) networks.set(request.layer, inferenceNetwork(model, request.layer).network);
    const x = tf.tensor(request.x.values, request.x.shape, request.x.dtype);
    try {
      send({ type: 'outputs', outputs: await batchOutputs(networks.get(request.layer)!, x) });
    } finally {
      x.dispose();
    }
  };

  port.on('message', (request: ShardStepRequest | ShardPredictRequest | ShardCloseRequest) => {
    if (request.type === 'close') {
      // Nothing else keeps the thread alive: with the port closed it exits by itself.
      model.dispose();
      port.close();
      return;
    }
    if (request.type === 'predict') {
      predict(request).catch(failed);
      return;
    }
    try {
      loadWeights(request.sequence);
      const x = tf.tensor(request.x.values, request.x.shape, request.x.dtype);
      const y = tf.tensor(request.y.values, request.y.shape, 'float32');
      let result: ReturnType<typeof shardGradients>;
      try {
        result = shardGradients(model, variables, loss, x, y, request.seed);
      } finally {
        tf.dispose([x, y]);
      }
      try {
        sharedGradients.write(result.gradients, request.sequence);
      } finally {
        tf.dispose(result.gradients);
      }
      send({ type: 'gradients', loss: result.loss, probabilities: result.probabilities });
    } catch (error) {
      failed(error);
    }
  });
  send({ type: 'ready' });
} catch (error) {
  failed(error);
}
