/**
 * The fusion stage (after training, before the analysis): trains the learned fusion — a gated
 * multimodal unit on the two trained models' penultimate activations (pipeline/lib/gmu/gmu.ts) — and
 * writes its artifacts:
 *
 * - `predictions-gmu.json`: the validation films' probabilities (the head fitted on all training films);
 * - `train-probabilities-gmu.json`: the training films' out-of-fold probabilities (5-fold cross-fitting),
 *   on which the analysis tunes the GMU's per-genre thresholds;
 * - `fusion-gmu.json`: settings, sizes, the final head's loss per epoch, the chosen epoch, the folds, timing;
 * - `<publicDir>/models/gmu/`: the final head as a tfjs model (model.json + weights.bin, pipeline/lib/gmu/gmu.ts
 *   `buildGmuModel`) and its metadata.json (contract.ts `GmuModelMetadataSchema`: the CNN and BiLSTM
 *   layers whose activations feed it, their standardisation, the kept epoch), for the live demo.
 *
 * The activations are those training kept from its final pass (the training cache's
 * `activations.f32`, train/train.ts `finishRun`); without them (an entry from before training kept
 * them) the models run again over every film: the published ones (`<publicDir>/models/{cnn,lstm}`,
 * or the training cache's copy when those are missing), checked to carry run.json's training key and
 * this dataset's hash, fed exactly as in training (`prepareModelInputs`; the LSTM's batches sorted by
 * length as in `predictProbabilities`). Only the training films' labels are read.
 *
 * Cache: `<cacheDir>/fusion/<key>/result.json` and `<cacheDir>/fusion/<key>/model/`, key = hash of
 * (the two models' training keys, the GMU settings, the seed, GMU_VERSION, the contract version).
 * A rebuild with the same models reuses it without loading a model; a cache entry without a valid
 * model folder (written before the model was published) is trained again, never published half;
 * `--retrain` trains the fusion again too.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { selectBackend, tf } from '../engine/backend.ts';
import type { Config } from '../settings.ts';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  GMU_MODEL_DIR,
  GmuHistoryArtifactSchema,
  GmuModelMetadataSchema,
  GmuPredictionsArtifactSchema,
  GmuTrainProbabilitiesArtifactSchema,
  type GmuHistoryArtifact,
  type GmuModelMetadata,
  type GmuPredictionsArtifact,
  type GmuTrainProbabilitiesArtifact,
  type ModelKind,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { UserError } from '../core/errors.ts';
import { checkedJsonProblem, readCheckedJson, sha256, writeFolderAtomic, writeJsonAtomic } from '../core/files.ts';
import { keptActivations, trainingEntryDir } from '../train/training-cache.ts';
import { standardisationToJson } from '../contract/gmu-standardisation.ts';
import { buildGmuModel, fitHeadsInTurn, GMU_INPUTS, GMU_VERSION, gmuParameterCount, trainLearnedFusion, type GmuFeatures } from './gmu.ts';
import { headsOnTwoThreads } from './heads-helper.ts';
import type { BackendChoice } from '../engine/backend.ts';
import { predictionRows, probabilityRows } from '../core/probability-rows.ts';
import { cachedEntry } from '../core/cache.ts';
import { extractActivations } from './activations.ts';
import { nativeGemm } from '../engine/wasm-kernels/kernel-calls.ts';
import {
  loadModel,
  METADATA_FILE,
  MODEL_FILE,
  modelFilesProblem,
  readModelMetadata,
  readTrainedModelMetadata,
  saveModel,
  WEIGHTS_FILE,
} from '../train/model-io.ts';
import { prepareModelInputs } from '../train/model-inputs.ts';
import type { StageContext } from '../core/context.ts';
import { DECISION_THRESHOLD, GMU_SETTINGS } from '../settings.ts';

export const GMU_TITLE = 'Learned fusion (GMU)';
const TRAIN_FIX = 'run `npm run genrelens -- train` (or `npm run build`) again';
/** The three artifacts inside a fusion cache entry, beside `model/`. */
const RESULT_FILE = 'result.json';

/** What the fusion cache keeps: the three artifacts, exactly as published. */
const CachedGmuResultSchema = z.object({
  predictions: GmuPredictionsArtifactSchema,
  trainProbabilities: GmuTrainProbabilitiesArtifactSchema,
  history: GmuHistoryArtifactSchema,
});
export type CachedGmuResult = z.infer<typeof CachedGmuResultSchema>;

/** The fusion cache key: changes when the fused models, the GMU's settings or its code change. */
export function gmuKey(trainingKeys: Record<ModelKind, string>, seed: number, settings = GMU_SETTINGS): string {
  return sha256(JSON.stringify({ fusion: GMU_VERSION, contract: CONTRACT_VERSION, trainingKeys, inputs: GMU_INPUTS, settings, seed })).slice(0, 24);
}

/** `<publicDir>/models/<m>` when it holds a model, else the training cache's copy, else an error. */
function modelDir(model: ModelKind, config: Config, root: string, trainingKey: string): string {
  const candidates = [resolve(root, config.publicDir, 'models', model), join(trainingEntryDir(resolve(root, config.cacheDir), trainingKey, model), 'model')];
  const found = candidates.find((dir) => existsSync(join(dir, MODEL_FILE)));
  if (!found) throw new UserError(`no trained ${model} model in ${candidates.join(' or ')}`, { fix: TRAIN_FIX });
  return found;
}

/** Trains the learned fusion (or reuses it from the cache) and writes its three artifacts and its model. */
export async function runGmuStage(stage: DataStageResult, ctx: StageContext): Promise<GmuHistoryArtifact> {
  const { config, effects } = ctx;
  const started = effects.now();
  const run = ctx.artifacts.read('run');
  const models = await trainedModels(stage, ctx, run.trainingKey);
  const key = gmuKey({ cnn: models.metadata.cnn.trainingKey, lstm: models.metadata.lstm.trainingKey }, config.seed);
  const dir = join(ctx.paths.cache, 'fusion', key);
  const { value } = await cachedEntry<CachedGmuResult>({
    dir,
    key,
    label: GMU_TITLE,
    what: 'the cached fusion',
    again: 'training it again',
    effects,
    refresh: config.retrain,
    unsealed: 'adopt', // a whole entry from before entries were sealed
    reused: `${GMU_TITLE}: reusing the trained fusion from the cache (key ${key}; --retrain to train again)`,
    read: (entry) => readCachedFusion(entry, key, stage.dataset.genres),
    build: async (temp) => {
      const result = await trainFusion(stage, ctx, models, key, run.trainingKey, started, join(temp, 'model'));
      await writeJsonAtomic(join(temp, RESULT_FILE), result);
      return result;
    },
  });
  await ctx.artifacts.write('gmuPredictions', value.predictions);
  await ctx.artifacts.write('gmuTrainProbabilities', value.trainProbabilities);
  await ctx.artifacts.write('gmuHistory', value.history);
  await publishGmuModel(join(dir, 'model'), join(ctx.paths.public, 'models', GMU_MODEL_DIR));
  return value.history;
}

/** The two trained models the fusion feeds on: their folders and metadata, checked against run.json and this dataset. */
async function trainedModels(stage: DataStageResult, ctx: StageContext, trainingKey: string) {
  const { config, root } = ctx;
  const { dataset } = stage;
  const dirs = { cnn: modelDir('cnn', config, root, trainingKey), lstm: modelDir('lstm', config, root, trainingKey) };
  const metadata = {
    cnn: await readTrainedModelMetadata(dirs.cnn, 'cnn'),
    lstm: await readTrainedModelMetadata(dirs.lstm, 'lstm'),
  };
  for (const model of ['cnn', 'lstm'] as const) {
    const meta = metadata[model];
    if (meta.trainingKey !== trainingKey || meta.datasetHash !== dataset.contentHash) {
      throw new UserError(
        `the ${model} model in ${dirs[model]} is not the one run.json and this dataset describe (training key ${meta.trainingKey} vs ${trainingKey})`,
        { fix: TRAIN_FIX },
      );
    }
    if (meta.genres.join('\n') !== dataset.genres.join('\n'))
      throw new UserError(`the ${model} model in ${dirs[model]} predicts other genres than this dataset has`, { fix: TRAIN_FIX });
  }
  return { dirs, metadata };
}

/**
 * Trains the GMU on the models' activations and returns its three artifacts; its final head is saved
 * as a tfjs model into `modelDir`.
 */
async function trainFusion(
  stage: DataStageResult,
  ctx: StageContext,
  { dirs, metadata }: Awaited<ReturnType<typeof trainedModels>>,
  key: string,
  trainingKey: string,
  started: number,
  modelDir: string,
): Promise<CachedGmuResult> {
  const { config, effects } = ctx;
  const { dataset, split } = stage;
  const backend = await selectBackend({ force: config.backend, effects });
  const inputs = prepareModelInputs(stage, config);
  const overview = metadata.lstm.input;
  if (
    overview.kind !== 'overview' ||
    overview.vocabulary.join('\n') !== inputs.vectorizer.vocabulary.join('\n') ||
    overview.sequenceLength !== config.sequenceLength
  ) {
    throw new UserError(`the BiLSTM in ${dirs.lstm} was trained with another vocabulary or sequence length than these settings give`, { fix: TRAIN_FIX });
  }
  const poster = metadata.cnn.input;
  if (poster.kind !== 'poster' || poster.width !== config.imageSize || poster.height !== config.imageSize) {
    throw new UserError(`the CNN in ${dirs.cnn} takes other posters than --image-size ${config.imageSize}`, { fix: TRAIN_FIX });
  }

  // Activations of the training films, then the validation films, in the split's order.
  const films = [...split.train, ...split.validation];
  const featureStart = effects.now();
  const extracted = {} as Record<ModelKind, { values: Float32Array; units: number }>;
  for (const model of ['cnn', 'lstm'] as const) {
    const layer = model === 'cnn' ? GMU_INPUTS.visual.layer : GMU_INPUTS.textual.layer;
    const kept = await keptActivations(trainingEntryDir(ctx.paths.cache, trainingKey, model), layer, films.length);
    if (kept) {
      effects.info(`${GMU_TITLE}: ${model.toUpperCase()} ${layer} activations of ${films.length} films kept by training's final pass`);
      extracted[model] = kept;
      continue;
    }
    const network = await loadModel(dirs[model]);
    try {
      extracted[model] = await extractActivations(network, layer, inputs.data[model], films, (done) =>
        effects.progress(`${GMU_TITLE}: ${model.toUpperCase()} ${layer} activations`, done, films.length),
      );
    } finally {
      network.dispose();
    }
  }
  const featureMs = effects.now() - featureStart;
  const nTrain = split.train.length;
  const slice = (from: number, to: number): GmuFeatures => ({
    films: to - from,
    visualDim: extracted.cnn.units,
    textualDim: extracted.lstm.units,
    visual: extracted.cnn.values.subarray(from * extracted.cnn.units, to * extracted.cnn.units),
    textual: extracted.lstm.values.subarray(from * extracted.lstm.units, to * extracted.lstm.units),
  });
  // Labels of the training films only: the validation films' labels are never read here.
  const genreCount = dataset.genres.length;
  const trainLabels = new Uint8Array(nTrain * genreCount);
  split.train.forEach((film, row) => trainLabels.set(dataset.films[film].labels, row * genreCount));

  const settings = GMU_SETTINGS;
  effects.info(
    `${GMU_TITLE}: training on the ${nTrain} training films' activations (CNN ${GMU_INPUTS.visual.layer} ${extracted.cnn.units}, ` +
      `BiLSTM ${GMU_INPUTS.textual.layer} ${extracted.lstm.units}; ${settings.folds} cross-fitted heads and a final one, ${settings.maxEpochs} epochs each, ${backend.name} backend${nativeGemm() ? ', steps as native matrix products' : ''})`,
  );
  const trainStart = effects.now();
  const result = await trainLearnedFusion({
    train: { features: slice(0, nTrain), labels: trainLabels },
    validation: slice(nTrain, films.length),
    genreCount,
    settings,
    seed: config.seed,
    // The backend that loaded here, so a helper thread loads the same one.
    runHeads: config.parallel ? headsOnTwoThreads(backend.attempts.find((a) => a.ok)?.backend as BackendChoice, effects) : fitHeadsInTurn,
    onEpoch: (head, record, total) =>
      effects.progress(`${GMU_TITLE} ${head}`, record.epoch + 1, total, `loss ${record.trainLoss.toFixed(4)} holdout ${record.holdoutLoss.toFixed(4)}`),
  });
  const trainMs = effects.now() - trainStart;

  const { genres } = dataset;
  const predictions: GmuPredictionsArtifact = {
    contractVersion: CONTRACT_VERSION,
    model: 'gmu',
    genres,
    threshold: DECISION_THRESHOLD,
    films: predictionRows(dataset.films, split.validation, result.validationProbabilities, genres),
  };
  const trainProbabilities: GmuTrainProbabilitiesArtifact = {
    contractVersion: CONTRACT_VERSION,
    model: 'gmu',
    method: 'out-of-fold',
    folds: result.folds.length,
    genres,
    films: probabilityRows(dataset.films, split.train, result.outOfFold, genreCount),
  };
  const final = result.final;
  const history: GmuHistoryArtifact = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    model: 'gmu',
    title: GMU_TITLE,
    key,
    trainingKey,
    method: {
      kind: 'gated-multimodal-unit',
      version: GMU_VERSION,
      inputs: {
        visual: { model: 'cnn', layer: GMU_INPUTS.visual.layer, units: extracted.cnn.units },
        textual: { model: 'lstm', layer: GMU_INPUTS.textual.layer, units: extracted.lstm.units },
      },
      hiddenUnits: settings.hiddenUnits,
      dropout: settings.dropout,
      learningRate: settings.learningRate,
      batchSize: settings.batchSize,
      maxEpochs: settings.maxEpochs,
      holdoutFraction: settings.holdoutFraction,
      folds: result.folds.length,
      params: gmuParameterCount(extracted.cnn.units, extracted.lstm.units, settings.hiddenUnits, genreCount),
      seed: config.seed,
      description:
        'A gated multimodal unit (Arevalo et al., 2017) on the trained models’ penultimate activations (inference mode): ' +
        'h_v = tanh(W_v x_v), h_t = tanh(W_t x_t), z = σ(W_z [x_v; x_t]), h = z·h_v + (1 − z)·h_t, p = σ(W_o h + b_o); ' +
        'each activation standardised with the mean and standard deviation of the films the head is fitted on. ' +
        `Adam (learning rate ${settings.learningRate}), binary cross-entropy, batches of ${settings.batchSize}, dropout ${settings.dropout} on h; ` +
        `each head trains ${settings.maxEpochs} epochs on ${Math.round((1 - settings.holdoutFraction) * 100)}% of its films and keeps the epoch with the lowest loss on the other ${Math.round(settings.holdoutFraction * 100)}%.`,
    },
    sizes: { trainFilms: nTrain, validationFilms: split.validation.length, innerTrainFilms: final.innerTrain.length, holdoutFilms: final.holdout.length },
    epochs: final.epochs,
    chosenEpoch: final.chosenEpoch,
    folds: result.folds.map((fold) => ({ films: fold.heldOut.length, fitFilms: fold.fitFilms, chosenEpoch: fold.chosenEpoch, holdoutLoss: fold.holdoutLoss })),
    gate: result.gate,
    timing: { backend: backend.name, featureMs: Math.round(featureMs), trainMs: Math.round(trainMs), wallMs: Math.round(effects.now() - started) },
    notes: [
      'Nothing is chosen on the validation films: the epoch of each head is chosen on a holdout of training films, and the validation films’ labels are not read.',
      `The training films’ probabilities are out-of-fold (${result.folds.length}-fold cross-fitting: each film is predicted by a head fitted on the other folds), so thresholds tuned on them are not tuned on the GMU’s own fit.`,
      'But the activations of the training films are in-sample for the two base models (their weights were fitted to those films), so the GMU’s training, its holdout losses and its out-of-fold probabilities are all more optimistic than on new films.',
    ],
  };
  // The final head as a tfjs model, with what the browser needs to feed it (the live demo).
  const modelMetadata: GmuModelMetadata = GmuModelMetadataSchema.parse({
    model: 'gmu',
    title: GMU_TITLE,
    genres,
    threshold: DECISION_THRESHOLD,
    input: {
      kind: 'activations',
      visual: {
        model: 'cnn',
        layer: GMU_INPUTS.visual.layer,
        units: extracted.cnn.units,
        standardisation: standardisationToJson(final.standardisation.visual),
      },
      textual: {
        model: 'lstm',
        layer: GMU_INPUTS.textual.layer,
        units: extracted.lstm.units,
        standardisation: standardisationToJson(final.standardisation.textual),
      },
    },
    chosenEpoch: final.chosenEpoch,
    fusionVersion: GMU_VERSION,
    key,
    trainingKey,
    datasetHash: dataset.contentHash,
    seed: config.seed,
    tfjsVersion: tf.version.tfjs,
  } satisfies GmuModelMetadata);
  const network = buildGmuModel(final.weights, settings.dropout);
  try {
    await saveModel(network, modelDir, modelMetadata);
  } finally {
    network.dispose();
  }
  const last = final.epochs[final.chosenEpoch];
  effects.info(
    `${GMU_TITLE}: kept epoch ${final.chosenEpoch + 1}/${settings.maxEpochs} (inner-holdout loss ${last.holdoutLoss.toFixed(4)}; ` +
      `folds chose ${result.folds.map((f) => f.chosenEpoch + 1).join(', ')}) in ${((effects.now() - started) / 1000).toFixed(1)} s; ` +
      `wrote ${ARTIFACT_FILES.gmuPredictions}, ${ARTIFACT_FILES.gmuTrainProbabilities}, ${ARTIFACT_FILES.gmuHistory} and models/${GMU_MODEL_DIR}/`,
  );
  return { predictions, trainProbabilities, history };
}

/** The files of a published model folder (model-io.ts `saveModel`). */
const MODEL_FILES = [MODEL_FILE, WEIGHTS_FILE, METADATA_FILE] as const;

/**
 * Why the cached GMU model folder cannot be published (missing files, metadata that does not follow
 * the contract or belongs to another key or genre list), or null when it can.
 */
async function cachedModelProblem(dir: string, key: string, genres: readonly string[]): Promise<string | null> {
  const missing = MODEL_FILES.filter((file) => !existsSync(join(dir, file)));
  if (missing.length) return `${dir} lacks ${missing.join(', ')} (a cache written before the GMU was published for the live demo)`;
  let metadata: unknown;
  try {
    metadata = await readModelMetadata(dir);
  } catch (error) {
    return `${join(dir, METADATA_FILE)} is not valid JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  const parsed = GmuModelMetadataSchema.safeParse(metadata);
  if (!parsed.success)
    return `${join(dir, METADATA_FILE)} does not follow the contract (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`;
  if (parsed.data.key !== key) return `${join(dir, METADATA_FILE)} is of fusion key ${parsed.data.key}, not ${key}`;
  if (parsed.data.genres.join('\n') !== genres.join('\n')) return `${join(dir, METADATA_FILE)} lists other genres than this dataset`;
  return null;
}

/** Copies the GMU model folder to `<publicDir>/models/gmu/`, replacing what was there atomically. */
async function publishGmuModel(from: string, to: string): Promise<void> {
  await writeFolderAtomic(to, async (temp) => {
    for (const file of MODEL_FILES) await copyFile(join(from, file), join(temp, file));
  });
}

/**
 * The cache entry's result, or why it cannot be published: a result that no longer matches the
 * schemas, or a model folder that does not (pipeline/lib/core/cache.ts `reusableEntry`). The result is
 * returned as read (not as zod re-creates it), so the published files are byte for byte those of the
 * run that trained it.
 */
async function readCachedFusion(dir: string, key: string, genres: readonly string[]): Promise<{ value: CachedGmuResult } | { problem: string }> {
  const read = readCheckedJson(join(dir, RESULT_FILE), CachedGmuResultSchema);
  if (!read.ok) return { problem: checkedJsonProblem(read, RESULT_FILE) };
  const value = read.raw as CachedGmuResult;
  const problem = (await cachedModelProblem(join(dir, 'model'), key, genres)) ?? (await modelFilesProblem(join(dir, 'model')));
  return problem === null ? { value } : { problem };
}
