/**
 * Saving and loading trained models and training checkpoints on disk, without tfjs-node.
 *
 * A saved model is a folder the browser can load with `tf.loadLayersModel('…/model.json')`:
 * `model.json` (topology + weights manifest), `weights.bin`, and `metadata.json` (the
 * preprocessing contract: vocabulary, sequence length, image size, resize kernel, normalisation).
 * Folders are written under a temporary name and renamed into place, so an interrupted run
 * leaves the previous folder or the new one, never a mix.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL_METADATA_SCHEMAS, type ModelKind, type ModelMetadataOf } from '../contract/contract.ts';
import { UserError } from '../core/errors.ts';
import { readCheckedJson, writeFolderAtomic } from '../core/files.ts';
import { tensorValues } from '../engine/tensor-values.ts';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';

function toArrayBuffer(data: tf.io.WeightData | undefined): ArrayBuffer {
  return tf.io.CompositeArrayBuffer.join(data ?? new ArrayBuffer(0));
}

/** Saves a model as model.json + weights.bin (+ metadata.json) into `dir`, atomically. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata: unknown): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('model.save produced no artifacts');
  const { modelTopology, weightSpecs, weightData, format, generatedBy, convertedBy } = artifacts;
  const modelJson = {
    format,
    generatedBy,
    convertedBy,
    modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: weightSpecs }],
  };
  await writeFolderAtomic(dir, async (temp) => {
    await writeFile(join(temp, WEIGHTS_FILE), new Uint8Array(toArrayBuffer(weightData)));
    await writeFile(join(temp, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    await writeFile(join(temp, MODEL_FILE), JSON.stringify(modelJson));
  });
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

/**
 * Why the model saved in `dir` cannot be whole, or null: model.json must parse and its weights
 * manifest must describe exactly as many bytes as weights.bin holds (a truncated or padded
 * weights.bin would otherwise surface as a RangeError deep inside tfjs).
 */
export async function modelFilesProblem(dir: string): Promise<string | null> {
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
  } catch (error) {
    return `${join(dir, MODEL_FILE)} is ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'not valid JSON'}`;
  }
  const specs = Array.isArray(modelJson.weightsManifest) ? modelJson.weightsManifest.flatMap((group) => group.weights ?? []) : [];
  let expected = 0;
  for (const spec of specs) {
    const per = BYTES_PER_ELEMENT[spec.dtype];
    if (per === undefined || !Array.isArray(spec.shape)) return `${join(dir, MODEL_FILE)} describes a weight (${spec.name}) it cannot load`;
    expected += per * spec.shape.reduce((a, b) => a * b, 1);
  }
  let bytes: number;
  try {
    bytes = (await stat(join(dir, WEIGHTS_FILE))).size;
  } catch {
    return `${join(dir, WEIGHTS_FILE)} is missing`;
  }
  if (bytes !== expected) {
    return `${join(dir, WEIGHTS_FILE)} is ${bytes.toLocaleString('en')} bytes; model.json describes ${expected.toLocaleString('en')}`;
  }
  return null;
}

/** Loads a model saved by `saveModel`; throws a UserError naming the file when it is damaged. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const problem = await modelFilesProblem(dir);
  if (problem !== null) {
    throw new UserError(`the model in ${dir} is damaged: ${problem}`, { fix: 'train it again: npm run build -- --retrain' });
  }
  const modelJson = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
  const weights = await readFile(join(dir, WEIGHTS_FILE));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData,
    }),
  );
}

/**
 * metadata.json of the trained `model` saved in `dir`, validated against the contract
 * (contract.ts `MODEL_METADATA_SCHEMAS`); a missing or off-contract file stops with a message naming it.
 */
export async function readTrainedModelMetadata<M extends ModelKind>(dir: string, model: M): Promise<ModelMetadataOf<M>> {
  const file = join(dir, METADATA_FILE);
  const read = readCheckedJson(file, MODEL_METADATA_SCHEMAS[model]);
  if (read.ok) return read.value as ModelMetadataOf<M>;
  const why = {
    missing: 'is missing',
    'not-json': `is not valid JSON (${read.detail})`,
    'off-schema': `is not the metadata of a trained ${model} model (${read.detail})`,
  }[read.problem];
  throw new UserError(`${file} ${why}`, { file, fix: 'train it again: npm run build -- --retrain' });
}

export async function readModelMetadata<T = unknown>(dir: string): Promise<T> {
  return JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as T;
}

/** Named tensors (model or optimizer weights) serialised as a JSON manifest + one binary blob. */
export interface TensorManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  byteOffset: number;
}

/**
 * The tensors' values, one after another in one blob (4 bytes per value), and where each starts.
 * Each tensor is copied once, straight into the blob: read in place on the wasm backend's heap
 * (engine/tensor-values.ts). `reuse`, when it has the blob's size, is written over instead of a new array (a
 * checkpoint per epoch would otherwise touch tens of MB of fresh memory each time).
 */
export async function encodeTensors(
  tensors: { name: string; tensor: tf.Tensor }[],
  reuse?: Uint8Array,
): Promise<{ manifest: TensorManifestEntry[]; data: Uint8Array }> {
  const manifest: TensorManifestEntry[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    manifest.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', byteOffset: offset });
    offset += 4 * tensor.size;
  }
  const data = reuse && reuse.length === offset ? reuse : new Uint8Array(offset);
  for (const [i, { tensor }] of tensors.entries()) {
    const values = tensorValues(tensor);
    data.set(new Uint8Array(values.buffer, values.byteOffset, 4 * tensor.size), manifest[i].byteOffset);
  }
  return { manifest, data };
}

export function decodeTensors(manifest: TensorManifestEntry[], data: Uint8Array): { name: string; tensor: tf.Tensor }[] {
  return manifest.map((entry) => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const start = data.byteOffset + entry.byteOffset;
    const buffer = data.buffer.slice(start, start + size * 4) as ArrayBuffer;
    const values = entry.dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer);
    return { name: entry.name, tensor: tf.tensor(values, entry.shape, entry.dtype) };
  });
}
