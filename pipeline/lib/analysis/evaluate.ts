/**
 * `evaluate`: runs saved models on another dataset folder in the coursework layout (for example a
 * held-out test set) and writes its metrics — how a user checks a model on data it never saw.
 * Preprocessing comes from each model's metadata.json, exactly as in training.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { RESIZE_KERNELS } from '../settings.ts';
import { CONTRACT_VERSION, GenreMetricsSchema, MODEL_KINDS, SetMetricsSchema, type ModelKind, type ModelMetadataOf } from '../contract/contract.ts';
import { filmLabels, loadDataset } from '../data/dataset.ts';
import type { Effects } from '../core/effects.ts';
import { UserError } from '../core/errors.ts';
import { writeJsonAtomic } from '../core/files.ts';
import { predictionMetrics } from '../core/metrics.ts';
import { loadModel, MODEL_FILE, readTrainedModelMetadata } from '../train/model-io.ts';
import { posterInputs, tokenInputs, tokenLengths } from '../train/model-inputs.ts';
import type { PosterKernel } from '../data/posters.ts';
import { predictProbabilities } from '../train/train.ts';
import { vectorizeAll } from '../contract/vectorizer.ts';

export const EvaluationSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  dataset: z.object({ folder: z.string(), contentHash: z.string(), films: z.number(), skippedRows: z.number() }),
  models: z.record(z.string(), z.object({ trainingKey: z.string(), metrics: SetMetricsSchema, perGenre: z.array(GenreMetricsSchema) })),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;

export interface EvaluateOptions {
  datasetDir: string;
  modelsDir: string;
  outFile: string;
  cacheDir: string;
  maxPosterPixels: number;
}

export async function evaluateSavedModels(options: EvaluateOptions, effects: Effects): Promise<Evaluation> {
  const available = MODEL_KINDS.filter((kind) => existsSync(join(options.modelsDir, kind, MODEL_FILE)));
  if (available.length === 0) {
    throw new UserError(`no trained models in ${options.modelsDir} (expected cnn/${MODEL_FILE} and lstm/${MODEL_FILE})`, {
      fix: 'run `npm run build` (or `npm run genrelens -- train`) first, or pass --models <folder>',
    });
  }
  const metadata = Object.fromEntries(
    await Promise.all(available.map(async (kind) => [kind, await readTrainedModelMetadata(join(options.modelsDir, kind), kind)])),
  ) as Partial<{ [M in ModelKind]: ModelMetadataOf<M> }>;
  const poster = metadata.cnn?.input;
  if (poster && !(RESIZE_KERNELS as readonly string[]).includes(poster.kernel)) {
    throw new UserError(`the cnn model in ${options.modelsDir} resizes posters with "${poster.kernel}", which this genrelens does not know`, {
      fix: 'train it again with this version: npm run build -- --retrain',
    });
  }
  const dataset = await loadDataset(
    options.datasetDir,
    {
      cacheDir: options.cacheDir,
      maxPosterPixels: options.maxPosterPixels,
      imageSize: poster?.width,
      resizeKernel: poster?.kernel as PosterKernel | undefined,
    },
    effects,
  );
  const films = dataset.films.map((_, i) => i);
  const labels = filmLabels(dataset);

  const result: Evaluation = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    dataset: {
      folder: basename(options.datasetDir),
      contentHash: dataset.contentHash,
      films: dataset.films.length,
      skippedRows: dataset.quality.skippedRows,
    },
    models: {},
  };
  for (const kind of available) {
    const meta = metadata[kind]!;
    if (meta.genres.join('\n') !== dataset.genres.join('\n')) {
      throw new UserError(`the ${kind} model was trained on genre columns [${meta.genres.join(', ')}] but this dataset has [${dataset.genres.join(', ')}]`, {
        file: join(options.datasetDir, 'IMDB_overview_genres.csv'),
        fix: 'evaluate on a dataset with the same genre columns, in the same order',
      });
    }
    const model = await loadModel(join(options.modelsDir, kind));
    const input = meta.input;
    let data: Parameters<typeof predictProbabilities>[1];
    if (input.kind === 'poster') {
      data = { inputs: posterInputs(dataset.posterPixels, input.width), genres: dataset.genres };
    } else {
      const ids = vectorizeAll(
        dataset.films.map((film) => film.overview),
        input.vocabulary,
        input.sequenceLength,
      );
      // Models saved before inputs had a variable length take exactly `sequenceLength` tokens.
      const fixedLength = model.inputs[0].shape[1];
      const lengths = typeof fixedLength === 'number' ? new Int32Array(dataset.films.length).fill(fixedLength) : tokenLengths(ids, input.sequenceLength);
      data = { inputs: tokenInputs(ids, input.sequenceLength, lengths), genres: dataset.genres, lengthOf: (film) => lengths[film] };
    }
    effects.info(`Evaluating the ${kind} model on ${films.length} films`);
    const probabilities = await predictProbabilities(model, data, films, 64);
    const metrics = predictionMetrics(probabilities, labels, dataset.genres);
    model.dispose();
    const { perGenre, loss, microPrecision, microRecall, microF1, macroF1 } = metrics;
    result.models[kind] = { trainingKey: meta.trainingKey, metrics: { loss, microPrecision, microRecall, microF1, macroF1 }, perGenre };
    effects.info(`  ${kind}: loss ${loss.toFixed(4)}, micro F1 ${microF1.toFixed(4)}, macro F1 ${macroF1.toFixed(4)}`);
  }
  await writeJsonAtomic(options.outFile, result);
  effects.info(`Wrote ${options.outFile}`);
  return result;
}
