/**
 * The explain stage (after the analysis): explains the trained models' predictions on the films the
 * report's example cards show, and writes `explanations.json` (see pipeline/lib/explain/explain.ts for the maths):
 *
 * - the CNN: an occlusion map of the poster (an 8×8 grid of patches, each covered in turn with the
 *   poster's mean colour; the drop in the probability of the CNN's top genre);
 * - the LSTM: leave one word out (the drop in the probability of the LSTM's top genre when a word is
 *   deleted from the overview), mapped back to the words of the original overview text.
 *
 * Which films: explaining costs about a second per film on the wasm backend (1 + 64 posters and
 * 1 + one row per word through the models), so not every validation film is explained: the three
 * curated cards of the home page (best, worst, biggest disagreement; the same choice as the site's,
 * `src/lib/report.ts`) plus the first `explainFilms` validation films in examples.json order
 * (config `explainFilms`, default 48). The cards of the other films show no explanation.
 *
 * The models are the published ones (`<publicDir>/models/{cnn,lstm}`, checked to carry run.json's
 * training key), fed exactly as in training (posters from the loaded dataset, token ids from the
 * vocabulary in the LSTM's metadata.json). Cache: `<cacheDir>/explanations/<key>/`, key = hash of
 * (training key, films, method, EXPLAIN_VERSION), reused without loading a model.
 */
import { writeFile } from 'node:fs/promises';
import { checkedJsonProblem, readCheckedJson, sha256 } from '../core/files.ts';
import { cachedEntry } from '../core/cache.ts';
import { artifactText } from '../core/artifact-store.ts';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { selectBackend, tf } from '../engine/backend.ts';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  ExplanationsArtifactSchema,
  type ExplanationsArtifact,
  type FilmExplanation,
  type ExamplesArtifact,
  type ModelMetadataOf,
  type RunArtifact,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { UserError } from '../core/errors.ts';
import { chooseFilms, leaveOneOut, occlusionMap, overviewSegments, patchStarts, segmentIds, type PredictImages, type PredictTokens } from './explain.ts';
import { loadModel, readTrainedModelMetadata } from '../train/model-io.ts';
import { posterBatchToFloat32 } from '../data/posters.ts';
import { yieldToEventLoop } from '../train/train.ts';
import { OOV_INDEX, vocabularyIndex } from '../contract/vectorizer.ts';
import { buildExamples, curatedExamples } from '../contract/examples.ts';
import type { StageContext } from '../core/context.ts';
import { OCCLUSION_GRID } from '../settings.ts';

/** Bump when the explanations would come out differently: the cached artifact is then recomputed. */
export const EXPLAIN_VERSION = 1;

const TRAIN_FIX = 'run `npm run genrelens -- train` (or `npm run build`) again';

/** What the artifact records about how it was computed (also part of the cache check). */
export function explanationMethod(imageSize: number, sequenceLength: number): ExplanationsArtifact['method'] {
  const patch = Math.max(1, Math.round(imageSize / OCCLUSION_GRID));
  const starts = patchStarts(imageSize, patch, patch);
  return {
    version: EXPLAIN_VERSION,
    poster: {
      kind: 'occlusion',
      imageSize,
      patch,
      stride: patch,
      ys: starts,
      xs: starts,
      fill: 'poster-mean',
      description:
        `Occlusion: each ${patch}×${patch}-pixel patch of the ${imageSize}×${imageSize} poster the CNN sees is covered in turn with the poster’s ` +
        'mean colour; a patch is shaded by how much covering it lowers the CNN’s probability of its top genre (red: lowers it, ' +
        'the patch supported the prediction; blue: raises it).',
    },
    overview: {
      kind: 'leave-one-out',
      sequenceLength,
      description:
        'Leave one word out: each word is deleted from the overview in turn; a word is highlighted by how much deleting it lowers the ' +
        `LSTM’s probability of its top genre (red: lowers it, the word supported the prediction; blue: raises it). Words beyond the first ` +
        `${sequenceLength} tokens (which the LSTM never reads) and words outside its vocabulary are not scored.`,
    },
  };
}

/** Whether `existing` already holds the explanations asked for. */
export function explanationsUpToDate(
  existing: ExplanationsArtifact,
  trainingKey: string,
  ids: readonly string[],
  method: ExplanationsArtifact['method'],
): boolean {
  return (
    existing.trainingKey === trainingKey &&
    JSON.stringify(existing.method) === JSON.stringify(method) &&
    existing.films.length === ids.length &&
    existing.films.every((film, i) => film.id === ids[i])
  );
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The part of a `fileWidth × fileHeight` poster that a `width × height` model input resized with `fit` shows. */
export function inputRegion(fit: string, fileWidth: number, fileHeight: number, width: number, height: number) {
  if (fit === 'fill') return { x: 0, y: 0, width: fileWidth, height: fileHeight };
  if (fit !== 'cover' && fit !== 'contain') return null;
  const scale = (fit === 'cover' ? Math.max : Math.min)(width / fileWidth, height / fileHeight);
  const w = width / scale;
  const h = height / scale;
  return { x: round((fileWidth - w) / 2, 4), y: round((fileHeight - h) / 2, 4), width: round(w, 4), height: round(h, 4) };
}

async function posterFrame(file: string, fit: string, size: number): Promise<FilmExplanation['poster']['frame']> {
  try {
    const meta = await sharp(file).metadata();
    // The thumbnail is auto-rotated by EXIF orientation, the model input is not: the map cannot be aligned.
    if (!meta.width || !meta.height || (meta.orientation !== undefined && meta.orientation !== 1)) return null;
    const input = inputRegion(fit, meta.width, meta.height, size, size);
    return input && { width: meta.width, height: meta.height, input };
  } catch {
    return null;
  }
}

/** The explanations cache key: changes with the models, the films explained, the method or its code. */
export function explanationsKey(trainingKey: string, ids: readonly string[], method: ExplanationsArtifact['method'], explainFilms: number): string {
  return sha256(JSON.stringify({ explain: EXPLAIN_VERSION, contract: CONTRACT_VERSION, trainingKey, ids, method, explainFilms })).slice(0, 24);
}

/**
 * The cached explanations.json, or why it cannot be published. Returned as read (checked against the
 * schema, not re-created by it), so the published file is byte for byte the one computed.
 */
function readCachedExplanations(
  dir: string,
  trainingKey: string,
  ids: readonly string[],
  method: ExplanationsArtifact['method'],
): { value: ExplanationsArtifact } | { problem: string } {
  const file = join(dir, ARTIFACT_FILES.explanations);
  const read = readCheckedJson(file, ExplanationsArtifactSchema);
  if (!read.ok) return { problem: checkedJsonProblem(read, ARTIFACT_FILES.explanations) };
  if (!explanationsUpToDate(read.value, trainingKey, ids, method)) return { problem: `${file} explains other films or another model` };
  return { value: read.raw as ExplanationsArtifact };
}

function predictImages(model: tf.LayersModel, size: number): PredictImages {
  return async (images, count) => {
    const x = tf.tensor4d(images, [count, size, size, 3]);
    const y = model.predict(x) as tf.Tensor;
    try {
      return (await y.data()) as Float32Array;
    } finally {
      tf.dispose([x, y]);
    }
  };
}

function predictTokens(model: tf.LayersModel): PredictTokens {
  return async (ids, rows, width) => {
    const x = tf.tensor2d(ids, [rows, width], 'int32');
    const y = model.predict(x) as tf.Tensor;
    try {
      return (await y.data()) as Float32Array;
    } finally {
      tf.dispose([x, y]);
    }
  };
}

/** Explains the example cards' films (or reuses explanations.json) and writes explanations.json. */
export async function runExplainStage(stage: DataStageResult, ctx: StageContext): Promise<ExplanationsArtifact> {
  const { config, effects } = ctx;
  const started = effects.now();
  const run = ctx.artifacts.read('run');
  const examples = ctx.artifacts.read('examples');
  const { ids, curated } = filmsToExplain(ctx, examples);
  const { posterMeta, overviewMeta } = await publishedModels(stage, ctx, run.trainingKey);
  const method = explanationMethod(posterMeta.input.width, overviewMeta.input.sequenceLength);

  const key = explanationsKey(run.trainingKey, ids, method, config.explainFilms);
  const { value } = await cachedEntry<ExplanationsArtifact>({
    dir: join(ctx.paths.cache, 'explanations', key),
    key,
    label: 'Explanations',
    what: 'the cached explanations',
    again: 'computing them again',
    effects,
    reused: `Explanations: reusing ${ARTIFACT_FILES.explanations} from the cache (${ids.length} films, training key ${run.trainingKey})`,
    read: async (dir) => readCachedExplanations(dir, run.trainingKey, ids, method),
    build: async (temp) => {
      const artifact = await explainFilms(stage, ctx, { ids, curated, run, method, posterMeta, overviewMeta, exampleCount: examples.films.length, started });
      await writeFile(join(temp, ARTIFACT_FILES.explanations), artifactText('explanations', artifact).text);
      return artifact;
    },
  });
  await ctx.artifacts.write('explanations', value);
  return value;
}

/** The curated example films and the first `explainFilms` validation films, in examples.json order. */
function filmsToExplain(ctx: StageContext, examples: ExamplesArtifact): { ids: string[]; curated: string[] } {
  const predictions = { cnn: ctx.artifacts.read('predictions', 'cnn'), lstm: ctx.artifacts.read('predictions', 'lstm') };
  const curated = curatedExamples(buildExamples(examples, predictions)).map((pick) => pick.example.id);
  const ids = chooseFilms(
    examples.films.map((film) => film.id),
    curated,
    ctx.config.explainFilms,
  );
  return { ids, curated };
}

/** The published models' metadata, checked to be run.json's models for this dataset and its poster size. */
async function publishedModels(stage: DataStageResult, ctx: StageContext, trainingKey: string) {
  const { dataset } = stage;
  const modelsDir = join(ctx.paths.public, 'models');
  const posterMeta = await readTrainedModelMetadata(join(modelsDir, 'cnn'), 'cnn');
  const overviewMeta = await readTrainedModelMetadata(join(modelsDir, 'lstm'), 'lstm');
  for (const [model, meta] of [
    ['cnn', posterMeta],
    ['lstm', overviewMeta],
  ] as const) {
    if (meta.trainingKey !== trainingKey || meta.datasetHash !== dataset.contentHash) {
      throw new UserError(
        `the ${model} model in ${modelsDir} is not the one run.json and this dataset describe (training key ${meta.trainingKey} vs ${trainingKey})`,
        {
          fix: TRAIN_FIX,
        },
      );
    }
  }
  const size = posterMeta.input.width;
  const { width, height } = dataset.posterPreprocessing;
  if (posterMeta.input.height !== size || width !== size || height !== size) {
    throw new UserError(`the CNN takes ${size}×${posterMeta.input.height} posters, the dataset was loaded at ${width}×${height}`, { fix: TRAIN_FIX });
  }
  return { posterMeta, overviewMeta };
}

/** Computes the explanations of `ids` with the published models (about a second per film on wasm). */
async function explainFilms(
  stage: DataStageResult,
  ctx: StageContext,
  {
    ids,
    curated,
    run,
    method,
    posterMeta,
    overviewMeta,
    exampleCount,
    started,
  }: {
    ids: readonly string[];
    curated: string[];
    run: RunArtifact;
    method: ExplanationsArtifact['method'];
    posterMeta: ModelMetadataOf<'cnn'>;
    overviewMeta: ModelMetadataOf<'lstm'>;
    exampleCount: number;
    started: number;
  },
): Promise<ExplanationsArtifact> {
  const { config, effects } = ctx;
  const { dataset } = stage;
  const modelsDir = join(ctx.paths.public, 'models');
  const size = method.poster.imageSize;
  const { sequenceLength, vocabulary } = overviewMeta.input;
  const backend = await selectBackend({ force: config.backend, effects });
  const cnn = await loadModel(join(modelsDir, 'cnn'));
  const lstm = await loadModel(join(modelsDir, 'lstm'));
  const predictPosters = predictImages(cnn, size);
  const predictOverviews = predictTokens(lstm);
  const index = vocabularyIndex(vocabulary);
  const filmIndex = new Map(dataset.films.map((film, i) => [film.id, i]));
  const genres = dataset.genres;
  const { patch, stride } = method.poster;

  const films: FilmExplanation[] = [];
  let posterMs = 0;
  let overviewMs = 0;
  try {
    for (const [done, id] of ids.entries()) {
      const row = filmIndex.get(id);
      if (row === undefined) throw new UserError(`${ARTIFACT_FILES.examples} lists film ${id}, which this dataset does not have`, { fix: TRAIN_FIX });
      const film = dataset.films[row];

      let clock = effects.now();
      const poster = posterBatchToFloat32(dataset.posterPixels, [row], dataset.posterPreprocessing);
      const occlusion = await occlusionMap(poster, { height: size, width: size, channels: 3, patch, stride }, predictPosters);
      posterMs += effects.now() - clock;

      clock = effects.now();
      const segments = overviewSegments(film.overview, index, sequenceLength);
      const positions = segments.flatMap((s) => (s.position !== null && s.id !== OOV_INDEX ? [s.position] : []));
      const words = await leaveOneOut(segmentIds(segments), positions, predictOverviews);
      overviewMs += effects.now() - clock;

      const scores = new Map(positions.map((position, k) => [position, round(words.drops[k], 6)]));
      films.push({
        id,
        poster: {
          genre: genres[occlusion.target],
          probability: round(occlusion.probability, 6),
          drops: Array.from(occlusion.drops, (drop) => round(drop, 6)),
          frame: await posterFrame(resolve(dataset.dir, film.posterFile), posterMeta.input.fit, size),
        },
        overview: {
          genre: genres[words.target],
          probability: round(words.probability, 6),
          segments: segments.map((s) => ({
            text: s.text,
            token: s.token,
            position: s.position,
            score: s.position === null ? null : (scores.get(s.position) ?? null),
          })),
        },
      });
      effects.progress('Explanations', done + 1, ids.length, id);
      await yieldToEventLoop();
    }
  } finally {
    cnn.dispose();
    lstm.dispose();
  }

  const totalMs = effects.now() - started;
  const artifact: ExplanationsArtifact = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    trainingKey: run.trainingKey,
    genres,
    selection: {
      curated,
      first: config.explainFilms,
      description:
        `The ${curated.length} curated films (best, worst, biggest disagreement) and the first ${config.explainFilms} validation films ` +
        `(${ids.length} in all, of ${exampleCount}); set explainFilms in genrelens.config.json to explain more.`,
    },
    method,
    timing: { backend: backend.name, films: ids.length, posterMs: Math.round(posterMs), overviewMs: Math.round(overviewMs), totalMs: Math.round(totalMs) },
    films,
  };
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  effects.info(
    `Explanations: ${ids.length} films in ${seconds(totalMs)} on ${backend.name} (posters ${seconds(posterMs)}, overviews ${seconds(overviewMs)}, ` +
      `${ids.length ? seconds((posterMs + overviewMs) / ids.length) : '0 s'} per film); wrote ${ARTIFACT_FILES.explanations}`,
  );
  return artifact;
}
