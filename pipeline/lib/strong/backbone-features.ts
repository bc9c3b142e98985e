/**
 * Backbone features of a dataset's posters (./backbone.ts): each poster decoded again from its file at
 * the backbone's input size (bilinear; these larger posters are not cached, the features are), in
 * batches at fixed film offsets, so a film's features do not depend on how many threads computed
 * them. With `workers` ≥ 1 the batches are split between that many worker threads
 * (./workers/backbone-worker.ts), each on its own backend instance.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodePoster, posterPreprocessing, readPosterFile, realPosterRoots, posterBatchToFloat32 } from '../data/posters.ts';
import { UserError, type UserErrorWhere } from '../core/errors.ts';
import { quietEffects } from '../core/effects.ts';
import { endWorker } from '../core/worker-messages.ts';
import { IMAGES_DIR, type LoadedDataset } from '../data/dataset.ts';
import { selectBackend, type BackendChoice } from '../engine/backend.ts';
import { BACKBONE, backboneEngine, loadBackbone, type Backbone, type BackboneEngine, type BackboneProvenance } from './backbone.ts';

/** Posters per batch (and the fixed offsets batches start at). */
export const BACKBONE_BATCH = 4;

export interface PosterFiles {
  /** Absolute paths, one per film. */
  files: readonly string[];
  /** Folders the posters may be in once links are followed (readPosterFile). */
  roots: readonly string[];
}

/** The poster files of a loaded dataset's films (all, or `rows` in that order), and the folders they may be in (the dataset's and its Images/). */
export function datasetPosterFiles(dataset: Pick<LoadedDataset, 'dir' | 'films'>, rows?: readonly number[]): PosterFiles {
  const films = rows ? rows.map((r) => dataset.films[r]) : dataset.films;
  return { files: films.map((f) => join(dataset.dir, f.posterFile)), roots: [dataset.dir, join(dataset.dir, IMAGES_DIR)] };
}

/** What a backbone thread (./workers/backbone-worker.ts) is given, and what it sends back. */
export interface BackboneWorkerData {
  posters: PosterFiles;
  batches: { first: number; last: number; size: number };
  engine: BackboneEngine;
  backend?: string;
}

export type BackboneWorkerMessage =
  | { type: 'batch' }
  | { type: 'done'; provenance: BackboneProvenance; values: Float32Array }
  | { type: 'failed'; message: string; stack?: string; userError?: UserErrorWhere };

export interface BackboneFeatures {
  provenance: BackboneProvenance;
  /** films × provenance.features. */
  values: Float32Array;
}

/** The backbone's input for films [start, end): float32 in [0, 1], [n, size, size, 3]. */
export async function backboneInput(posters: PosterFiles, start: number, end: number, size: number = BACKBONE.inputSize): Promise<Float32Array> {
  const preprocessing = posterPreprocessing({ imageSize: size, resizeKernel: BACKBONE.resizeKernel });
  const per = size * size * 3;
  const pixels = new Uint8Array((end - start) * per);
  const roots = await realPosterRoots(posters.roots);
  await Promise.all(
    Array.from({ length: end - start }, async (_, i) => {
      const file = posters.files[start + i];
      const read = await readPosterFile(file, roots);
      const decoded = read.ok ? await decodePoster(read.bytes, preprocessing) : read;
      if (!decoded.ok)
        throw new UserError(`cannot read this poster for the poster backbone (${decoded.detail})`, {
          file,
          fix: 'check the file, or build with --poster-backbone off',
        });
      pixels.set(decoded.pixels, i * per);
    }),
  );
  return posterBatchToFloat32(
    pixels,
    Array.from({ length: end - start }, (_, i) => i),
    size,
  );
}

/** Features of the films in batches [firstBatch, lastBatch) on `backbone` (films × features, from the first batch's first film). */
export async function featuresOfBatches(
  backbone: Backbone,
  posters: PosterFiles,
  batches: { first: number; last: number; size: number },
  onBatch: () => void,
): Promise<Float32Array> {
  const { first: firstBatch, last: lastBatch, size } = batches;
  const films = posters.files.length;
  const width = backbone.provenance.features;
  const from = firstBatch * BACKBONE_BATCH;
  const out = new Float32Array((Math.min(films, lastBatch * BACKBONE_BATCH) - from) * width);
  for (let b = firstBatch; b < lastBatch; b++) {
    const start = b * BACKBONE_BATCH;
    const end = Math.min(films, start + BACKBONE_BATCH);
    const input = await backboneInput(posters, start, end, size);
    out.set(backbone.features(input, end - start), (start - from) * width);
    onBatch();
  }
  return out;
}

/**
 * Every film's backbone features, on `workers` worker threads (0: this thread, on the backend the
 * build would pick). `progress(done, total)` counts batches.
 */
export async function backboneFeatures(
  posters: PosterFiles,
  options: { workers: number; engine?: BackboneEngine; backend?: string; inputSize?: number; progress?: (done: number, total: number) => void },
): Promise<BackboneFeatures> {
  const size = options.inputSize ?? BACKBONE.inputSize;
  const engine = options.engine ?? backboneEngine();
  const batches = Math.ceil(posters.files.length / BACKBONE_BATCH);
  let done = 0;
  const tick = () => options.progress?.(++done, batches);
  const threads = Math.min(options.workers, batches);
  if (threads <= 0) {
    // This thread's backend: the one the build would pick (selecting it again is a no-op).
    await selectBackend({
      force: options.backend as BackendChoice | undefined,
      effects: quietEffects(),
    });
    const backbone = await loadBackbone(engine, size);
    try {
      const values = await featuresOfBatches(backbone, posters, { first: 0, last: batches, size }, tick);
      return { provenance: { ...backbone.provenance, inputSize: size }, values };
    } finally {
      backbone.dispose();
    }
  }
  const per = Math.ceil(batches / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const data: BackboneWorkerData = {
        posters: { files: [...posters.files], roots: [...posters.roots] },
        batches: { first: t * per, last: Math.min(batches, (t + 1) * per), size },
        engine,
        backend: options.backend,
      };
      return new Promise<{ provenance: BackboneProvenance; values: Float32Array }>((resolve, reject) => {
        const worker = new Worker(new URL('./workers/backbone-worker.ts', import.meta.url), { workerData: data });
        worker.on('message', (message: BackboneWorkerMessage) => {
          if (message.type === 'batch') tick();
          else if (message.type === 'done') {
            resolve({ provenance: message.provenance, values: message.values });
            void endWorker(worker);
          } else {
            reject(
              message.userError
                ? new UserError(message.message, message.userError)
                : Object.assign(new Error(`a poster-backbone worker failed: ${message.message}`), { stack: message.stack }),
            );
            void endWorker(worker);
          }
        });
        worker.once('error', (error) => reject(new Error(`a poster-backbone worker stopped: ${error.message}`, { cause: error })));
      });
    }),
  );
  const values = new Float32Array(parts.reduce((n, p) => n + p.values.length, 0));
  let at = 0;
  for (const part of parts) {
    values.set(part.values, at);
    at += part.values.length;
  }
  return { provenance: { ...parts[0].provenance, inputSize: size }, values };
}
