/**
 * The strong stage (after the data, independent of the coursework models): fits the strong profile
 * (pipeline/lib/strong/strong-models.ts) on the training films and writes
 * - `strong.json`: the method, each model's cross-validation and what it learnt (the Strong models page);
 * - `strong-probabilities.json`: out-of-fold training and validation probabilities, for the analysis;
 * - `<publicDir>/models/strong/`: the fitted models, for `evaluate`, and the overview model in float32
 *   for the live demo.
 * Cache: `<cacheDir>/strong/<key>/`, key = hash of (dataset content, split, seed, settings, the poster
 * backbone, STRONG_VERSION, contract version); reused whole or fitted again (core/cache.ts). The
 * poster backbone's features (when it is on) are an entry of their own, `<cacheDir>/backbone/<key>/`,
 * key = hash of (dataset content, backbone), so changing a setting of the models does not compute
 * them again. `--no-strong` skips the stage.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  StrongArtifactSchema,
  StrongProbabilitiesArtifactSchema,
  type StrongArtifact,
  type StrongProbabilitiesArtifact,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { cachedEntry } from '../core/cache.ts';
import type { StageContext } from '../core/context.ts';
import { checkedJsonProblem, readCheckedJson, sha256, writeFolderAtomic, writeJsonAtomic } from '../core/files.ts';
import { STRONG_SETTINGS } from '../settings.ts';
import { round6 } from '../core/probability-rows.ts';
import { fitStrongModels, type StrongFit } from './strong-models.ts';
import { saveStrongModels, STRONG_MODEL_DIR, STRONG_MODEL_FILE, STRONG_TEXT_WEIGHTS_FILE, STRONG_WEIGHTS_FILE } from './strong-model-io.ts';
import { POSTER_FEATURE_NAMES } from './poster-features.ts';
import { featureTerm } from '../contract/tfidf.ts';
import { BackboneProvenanceSchema, type BackboneProvenance } from '../contract/contract.ts';
import { BACKBONE, backboneEngine, backboneFeatureNames, backbonePackage, backboneSpec, type BackboneSpec } from './backbone.ts';
import { BACKBONE_BATCH, backboneFeatures, datasetPosterFiles } from './backbone-features.ts';
import { logisticSolver, type LogisticSolver } from './lockstep.ts';

/** Bump when the strong models' code changes what they compute. */
export const STRONG_VERSION = 5;
const BACKBONE_FEATURES_FILE = 'features.bin';
const BACKBONE_PROVENANCE_FILE = 'backbone.json';
const RESULT_FILE = 'result.json';
const MODEL_SUBDIR = 'model';

const CachedStrongSchema = z.object({ strong: StrongArtifactSchema, probabilities: StrongProbabilitiesArtifactSchema });
type CachedStrong = z.infer<typeof CachedStrongSchema>;

export function strongKey(
  datasetHash: string,
  split: DataStageResult['split'],
  seed: number,
  backbone: BackboneSpec | null,
  solver: LogisticSolver = 'primal',
  settings = STRONG_SETTINGS,
): string {
  // The solver only when it is the native one: the fits agree to rounding, not to the bit.
  const fit = solver === 'native' ? { solver } : {};
  return sha256(
    JSON.stringify({ strong: STRONG_VERSION, contract: CONTRACT_VERSION, datasetHash, split: sha256(JSON.stringify(split)), seed, backbone, settings, ...fit }),
  ).slice(0, 24);
}

/**
 * The poster backbone this run uses, or null (config `posterBackbone`; unset: on for real data when
 * its package is installed, with one line saying so when it is not).
 */
function backboneInUse(stage: DataStageResult, ctx: StageContext): BackboneSpec | null {
  const { config, effects } = ctx;
  if ((config.posterBackbone ?? (stage.dataset.synthetic ? 'off' : 'on')) === 'off') return null;
  try {
    return backboneSpec(backbonePackage().version, backboneEngine());
  } catch (error) {
    if (config.posterBackbone === 'on') throw error;
    effects.info(`Strong models: weight-free poster features only (the optional package ${BACKBONE.package} is not installed; npm install adds it)`);
    return null;
  }
}

interface PosterBackboneFeatures {
  provenance: BackboneProvenance;
  values: Float32Array;
  /** Time spent computing them in this run (0: from the cache). */
  ms: number;
}

/** The poster backbone's features of every film: from their cache entry, else computed on `threads` worker threads (0: this thread). */
async function posterBackboneFeatures(stage: DataStageResult, ctx: StageContext, spec: BackboneSpec, threads: number): Promise<PosterBackboneFeatures> {
  const { config, effects } = ctx;
  const key = sha256(JSON.stringify({ backbone: spec, batch: BACKBONE_BATCH, datasetHash: stage.dataset.contentHash })).slice(0, 24);
  const started = effects.now();
  const { value, reused } = await cachedEntry<Omit<PosterBackboneFeatures, 'ms'>>({
    dir: join(ctx.paths.cache, 'backbone', key),
    key,
    label: 'Poster backbone',
    what: 'the cached backbone features',
    again: 'computing them again',
    effects,
    refresh: config.retrain,
    reused: `Poster backbone: reusing the features from the cache (key ${key})`,
    read: async (entry) => {
      const read = readCheckedJson(join(entry, BACKBONE_PROVENANCE_FILE), BackboneProvenanceSchema);
      if (!read.ok) return { problem: checkedJsonProblem(read, BACKBONE_PROVENANCE_FILE) };
      const bytes = await readFile(join(entry, BACKBONE_FEATURES_FILE));
      const expected = stage.dataset.films.length * read.value.features * 4;
      if (bytes.byteLength !== expected) return { problem: `${BACKBONE_FEATURES_FILE} is ${bytes.byteLength} bytes, ${expected} expected` };
      return { value: { provenance: read.value, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) } };
    },
    build: async (temp) => {
      const features = await backboneFeatures(datasetPosterFiles(stage.dataset), {
        workers: threads,
        engine: spec.engine,
        backend: config.backend,
        progress: (done, total) => effects.progress(`Poster backbone: ${BACKBONE.model} features (batches of ${BACKBONE_BATCH})`, done, total),
      });
      await writeFile(join(temp, BACKBONE_FEATURES_FILE), new Uint8Array(features.values.buffer, features.values.byteOffset, features.values.byteLength));
      await writeJsonAtomic(join(temp, BACKBONE_PROVENANCE_FILE), features.provenance);
      return features;
    },
  });
  const ms = reused ? 0 : effects.now() - started;
  if (!reused) {
    effects.info(
      `Poster backbone: ${value.provenance.model} (${value.provenance.package} ${value.provenance.version}) features of ${stage.dataset.films.length} posters ` +
        `on ${spec.engine === 'onnxruntime' ? 'ONNX Runtime' : 'tfjs'} ` +
        `in ${(ms / 1000).toFixed(1)} s (${(ms / Math.max(1, stage.dataset.films.length)).toFixed(1)} ms per poster)`,
    );
  }
  return { ...value, ms };
}

/**
 * Runs the stage on `cores` cores (beside training, the one it leaves free: pipeline/lib/cli.ts
 * `runStages`): its work goes to that many worker threads, or stays in this thread without `parallel`.
 */
export async function runStrongStage(stage: DataStageResult, ctx: StageContext, cores = availableParallelism()): Promise<StrongArtifact | null> {
  const { config, effects } = ctx;
  const threads = config.parallel ? cores : 0;
  if (!config.strongModels) {
    // The staged artifact folder starts as a copy of the last run's: drop what this stage made then.
    for (const file of [ARTIFACT_FILES.strong, ARTIFACT_FILES.strongProbabilities]) await rm(join(ctx.paths.artifacts, file), { force: true });
    await rm(join(ctx.paths.public, 'models', STRONG_MODEL_DIR), { recursive: true, force: true });
    effects.info('Strong models: skipped (--no-strong)');
    return null;
  }
  // The key names the backbone, not its features: a cached fit is reused without reading them.
  const spec = backboneInUse(stage, ctx);
  const solver = logisticSolver();
  const key = strongKey(stage.dataset.contentHash, stage.split, config.seed, spec, solver);
  const dir = join(ctx.paths.cache, 'strong', key);
  const { value } = await cachedEntry<CachedStrong>({
    dir,
    key,
    label: 'Strong models',
    what: 'the cached strong models',
    again: 'fitting them again',
    effects,
    refresh: config.retrain,
    reused: `Strong models: reusing the fitted models from the cache (key ${key}; --retrain to fit again)`,
    read: async (entry) => {
      const read = readCheckedJson(join(entry, RESULT_FILE), CachedStrongSchema);
      return read.ok ? { value: read.raw as CachedStrong } : { problem: checkedJsonProblem(read, RESULT_FILE) };
    },
    build: async (temp) => {
      const backbone = spec ? await posterBackboneFeatures(stage, ctx, spec, threads) : null;
      const fit = await fitStrongModels({
        overviews: stage.dataset.films.map((f) => f.overview),
        posterPixels: stage.dataset.posterPixels,
        posterSize: stage.dataset.posterPreprocessing.width,
        backbone,
        labels: filmLabels(stage.dataset),
        genres: stage.dataset.genres.length,
        train: stage.split.train,
        validation: stage.split.validation,
        seed: config.seed,
        // The cross-validation's path jobs on the stage's cores (the numbers do not depend on how many).
        workers: threads,
        solver,
        progress: (label, done, total) => effects.progress(label, done, total),
      });
      const result = {
        strong: strongArtifact(fit, stage, key, config.seed, new Date(effects.now()).toISOString(), backbone?.ms ?? 0),
        probabilities: probabilitiesArtifact(fit, stage),
      };
      await mkdir(join(temp, MODEL_SUBDIR));
      await saveStrongModels(join(temp, MODEL_SUBDIR), fit.models, {
        key,
        datasetHash: stage.dataset.contentHash,
        genres: stage.dataset.genres,
        posterSize: stage.dataset.posterPreprocessing.width,
      });
      await writeJsonAtomic(join(temp, RESULT_FILE), result);
      return result;
    },
  });
  await ctx.artifacts.write('strong', value.strong);
  await ctx.artifacts.write('strongProbabilities', value.probabilities);
  await writeFolderAtomic(join(ctx.paths.public, 'models', STRONG_MODEL_DIR), async (temp) => {
    for (const file of [STRONG_MODEL_FILE, STRONG_WEIGHTS_FILE, STRONG_TEXT_WEIGHTS_FILE]) await copyFile(join(dir, MODEL_SUBDIR, file), join(temp, file));
  });
  const { text, poster, stacked } = value.strong;
  effects.info(
    `Strong models: C ${text.c} (overview TF-IDF, ${text.features} features), ${poster.c} (poster features${poster.backbone ? ` with ${poster.backbone.model}'s` : ''}), ${stacked.c} (stacked); ` +
      `fits ${solver === 'native' ? 'on native float64 products' : 'in JavaScript (onnxruntime-node does not load, or GENRELENS_NATIVE_KERNELS=0)'}; ` +
      `wrote ${ARTIFACT_FILES.strong} and ${ARTIFACT_FILES.strongProbabilities}`,
  );
  return value.strong;
}

const matrix = (values: Float64Array, genres: number) =>
  Array.from({ length: values.length / genres }, (_, f) => Array.from(values.subarray(f * genres, (f + 1) * genres), round6));

function probabilitiesArtifact(fit: StrongFit, stage: DataStageResult): StrongProbabilitiesArtifact {
  const G = stage.dataset.genres.length;
  const ids = (rows: readonly number[]) => rows.map((r) => stage.dataset.films[r].id);
  return {
    contractVersion: CONTRACT_VERSION,
    genres: [...stage.dataset.genres],
    trainIds: ids(stage.split.train),
    validationIds: ids(stage.split.validation),
    classifiers: (
      [
        ['text-linear', fit.scores.text],
        ['poster-linear', fit.scores.poster],
        ['stacked', fit.scores.stacked],
      ] as const
    ).map(([id, s]) => ({ id, train: matrix(s.train, G), validation: matrix(s.validation, G) })),
  };
}

const r4 = (n: number) => Math.round(n * 1e4) / 1e4;

/** What strong.json says about the fits (pure). */
export function strongArtifact(fit: StrongFit, stage: DataStageResult, key: string, seed: number, generatedAt: string, backboneMs = 0): StrongArtifact {
  const { genres } = stage.dataset;
  const G = genres.length;
  const { models, cv } = fit;
  const names = models.backbone ? backboneFeatureNames(models.backbone) : POSTER_FEATURE_NAMES;
  const top = STRONG_SETTINGS.topTerms;
  const columnOrder = (model: typeof models.text, g: number, sign: 1 | -1) =>
    Array.from({ length: model.features }, (_, j) => j)
      .filter((j) => sign * model.weights[j * G + g] > 0)
      .sort((a, b) => sign * (model.weights[b * G + g] - model.weights[a * G + g]))
      .slice(0, top);
  const grid = (c: typeof cv.text) => c.grid.map((p) => ({ c: p.c, loss: r4(p.loss), meanAP: p.meanAP === null ? null : r4(p.meanAP) }));
  const settings = STRONG_SETTINGS.text;
  return {
    contractVersion: CONTRACT_VERSION,
    generatedAt,
    key,
    seed,
    folds: fit.folds,
    trainFilms: stage.split.train.length,
    validationFilms: stage.split.validation.length,
    genres: [...genres],
    text: {
      c: cv.text.c,
      grid: grid(cv.text),
      features: models.text.features,
      wordNgrams: [...settings.wordNgrams],
      charNgrams: [...settings.charNgrams],
      minDf: settings.minDf,
      wordTerms: models.vectorizer.word.terms.length,
      charTerms: models.vectorizer.char.terms.length,
      topTerms: genres.map((genre, g) => ({
        genre,
        positive: columnOrder(models.text, g, 1).map((j) => ({ ...featureTerm(models.vectorizer, j), weight: r4(models.text.weights[j * G + g]) })),
      })),
    },
    poster: {
      c: cv.poster.c,
      grid: grid(cv.poster),
      features: models.poster.features,
      backbone: models.backbone,
      topFeatures: genres.map((genre, g) => {
        const named = (sign: 1 | -1) =>
          columnOrder(models.poster, g, sign)
            .slice(0, 5)
            .map((j) => ({ feature: names[j], weight: r4(models.poster.weights[j * G + g]) }));
        return { genre, positive: named(1), negative: named(-1) };
      }),
    },
    stacked: {
      c: cv.stacked.c,
      grid: grid(cv.stacked),
      features: models.stacked.features,
      textShare: genres.map((genre, g) => {
        let [text, poster] = [0, 0];
        for (let j = 0; j < G; j++) text += Math.abs(models.stacked.weights[j * G + g]);
        for (let j = G; j < 2 * G; j++) poster += Math.abs(models.stacked.weights[j * G + g]);
        return { genre, text: text + poster > 0 ? r4(text / (text + poster)) : 0.5 };
      }),
    },
    timings: Object.fromEntries(Object.entries({ ...fit.timings, backboneMs }).map(([k, v]) => [k, Math.round(v)])) as StrongArtifact['timings'],
  };
}
