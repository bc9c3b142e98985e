/**
 * Saving and loading trained models and training checkpoints on disk, without tfjs-node.
 *
 * A saved model is a folder the browser can load with `tf.loadLayersModel('…/model.json')`:
 * `model.json` (topology + weights manifest), `weights.bin`, and `metadata.json` (the
 * preprocessing contract: vocabulary, sequence length, image size, resize kernel, normalisation).
 * Folders are written under a temporary name and renamed into place, so an interrupted run
 * leaves the previous folder or the new one, never a mix.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { temporarySuffix } from './files.ts';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';

/** Writes the files `write` creates into `dir` atomically (temporary folder + rename). */
export async function writeFolderAtomic(dir: string, write: (temp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const suffix = `${process.pid}.${temporarySuffix()}`;
  const temp = `${dir}.tmp-${suffix}`;
  const old = `${dir}.old-${suffix}`;
  try {
    await mkdir(temp);
    await write(temp);
    if (existsSync(dir)) await rename(dir, old);
    await rename(temp, dir);
  } finally {
    await rm(temp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

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

/** Loads a model saved by `saveModel`. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
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

export async function encodeTensors(tensors: { name: string; tensor: tf.Tensor }[]): Promise<{ manifest: TensorManifestEntry[]; data: Uint8Array }> {
  const parts: Uint8Array[] = [];
  const manifest: TensorManifestEntry[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    const values = await tensor.data();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    manifest.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', byteOffset: offset });
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.byteLength;
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
