/**
 * `evaluate <folder>` (and `build --test-set <folder>`): scores every classifier the report shows —
 * the CNN, the BiLSTM, their late fusion, the learned fusion (GMU), the strong models and their
 * stacked fusion when they ran, and the baselines — on another dataset folder in the coursework
 * layout, with every decision fixed on the training films: the fusion weight, the thresholds and
 * the decision rules are read from the training run's analysis.json, never chosen here. Films of
 * the folder that are training films are reported and excluded; validation films are reported.
 * Preprocessing comes from each model's metadata, exactly as in training.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { RESIZE_KERNELS } from '../settings.ts';
import {
  CONTRACT_VERSION,
  GMU_MODEL_DIR,
  GmuModelMetadataSchema,
  TestSetArtifactSchema,
  type AnalysisArtifact,
  type BackboneProvenance,
  type ModelKind,
  type ModelMetadataOf,
  type StrongClassifierId,
  type TestSetArtifact,
  type TunedClassifierId,
} from '../contract/contract.ts';
import { filmLabels, loadDataset, type LoadedDataset } from '../data/dataset.ts';
import { readArtifact } from '../core/artifact-store.ts';
import type { Effects } from '../core/effects.ts';
import { UserError } from '../core/errors.ts';
import { checkedJsonProblem, readCheckedJson, writeJsonAtomic } from '../core/files.ts';
import { round6 } from '../core/probability-rows.ts';
import { loadModel, MODEL_FILE, METADATA_FILE, readTrainedModelMetadata } from '../train/model-io.ts';
import { posterInputs, tokenInputs, tokenLengths } from '../train/model-inputs.ts';
import type { PosterKernel } from '../data/posters.ts';
import { predictProbabilities } from '../train/train.ts';
import { vectorizeAll } from '../contract/vectorizer.ts';
import { extractActivations } from '../gmu/activations.ts';
import { gmuForward, gmuWeightsOf } from '../gmu/gmu.ts';
import { standardisationFromJson, standardise } from '../contract/gmu-standardisation.ts';
import { loadStrongModels, STRONG_MODEL_DIR, STRONG_MODEL_FILE } from '../strong/strong-model-io.ts';
import { strongProbabilities } from '../strong/strong-models.ts';
import { backboneFeatures, datasetPosterFiles } from '../strong/backbone-features.ts';
import { validationResults, type ScoringChoices, type SplitScores } from './analysis.ts';
import { bootstrapArtifact, classifierAnalyses, headlineBootstrap } from './analysis-stage.ts';

export interface EvaluateOptions {
  datasetDir: string;
  /** Published models: cnn/, lstm/, gmu/ and (when the strong models ran) strong/. */
  modelsDir: string;
  /** The training run's artifacts: analysis.json (the decisions) and split.json (its films). */
  artifactsDir: string;
  outFile: string;
  cacheDir: string;
  maxPosterPixels: number;
}

const BUILD_FIX = 'run `npm run build` first (it trains the models and writes analysis.json), or pass --models and --artifacts-dir of that run';
const EXAMPLES = 10;
/** As the published predictions are rounded (core/probability-rows.ts), so a validation folder reproduces analysis.json. */
const rounded = (values: ArrayLike<number>) => Float64Array.from(values, round6);

/** The decisions analysis.json recorded, in the form `validationResults` scores with. */
export function scoringChoices(analysis: AnalysisArtifact): ScoringChoices {
  const index = new Map(analysis.genres.map((g, i) => [g, i]));
  const thresholds: ScoringChoices['thresholds'] = {};
  for (const s of analysis.thresholds.selections) thresholds[s.classifier] = { thresholds: s.thresholds };
  const rules: ScoringChoices['rules'] = {};
  for (const c of analysis.classifiers) if (c.decided) rules[c.id as TunedClassifierId] = { shared: c.decided.sharedThreshold, perGenre: c.decided.thresholds };
  return {
    genreCount: analysis.genres.length,
    priors: analysis.baselines.priors,
    mostFrequent: analysis.baselines.mostFrequent.map((g) => index.get(g)!),
    fusion: { weight: analysis.fusion.weight },
    thresholds,
    rules,
  };
}

/** The folder's films that are training films (excluded) and validation films (kept, reported). */
export function overlaps(ids: readonly string[], split: { train: readonly string[]; validation: readonly string[] }) {
  const train = new Set(split.train);
  const validation = new Set(split.validation);
  const inTraining = ids.filter((id) => train.has(id));
  const inValidation = ids.filter((id) => validation.has(id));
  const scored = ids.flatMap((id, row) => (train.has(id) ? [] : [row]));
  return {
    scored,
    inTraining: { count: inTraining.length, examples: inTraining.slice(0, EXAMPLES) },
    inValidation: { count: inValidation.length, examples: inValidation.slice(0, EXAMPLES) },
  };
}

export async function evaluateSavedModels(options: EvaluateOptions, effects: Effects): Promise<TestSetArtifact> {
  const { modelsDir } = options;
  const analysis = readArtifact(options.artifactsDir, 'analysis');
  const split = readArtifact(options.artifactsDir, 'split');
  const run = readArtifact(options.artifactsDir, 'run');
  for (const kind of ['cnn', 'lstm', GMU_MODEL_DIR] as const) {
    if (!existsSync(join(modelsDir, kind, MODEL_FILE)))
      throw new UserError(`no ${kind} model in ${modelsDir} (expected ${kind}/${MODEL_FILE})`, { fix: BUILD_FIX });
  }
  const metadata = {
    cnn: await readTrainedModelMetadata(join(modelsDir, 'cnn'), 'cnn'),
    lstm: await readTrainedModelMetadata(join(modelsDir, 'lstm'), 'lstm'),
  };
  for (const kind of ['cnn', 'lstm'] as const) {
    if (metadata[kind].trainingKey !== run.trainingKey) {
      throw new UserError(
        `the ${kind} model in ${modelsDir} (training key ${metadata[kind].trainingKey}) is not the one ${options.artifactsDir}/run.json describes (${run.trainingKey})`,
        {
          fix: 'pass the --models and --artifacts-dir of the same run',
        },
      );
    }
  }
  const poster = metadata.cnn.input;
  if (!(RESIZE_KERNELS as readonly string[]).includes(poster.kernel)) {
    throw new UserError(`the cnn model in ${modelsDir} resizes posters with "${poster.kernel}", which this genrelens does not know`, {
      fix: 'train it again with this version: npm run build -- --retrain',
    });
  }
  const dataset = await loadDataset(
    options.datasetDir,
    { cacheDir: options.cacheDir, maxPosterPixels: options.maxPosterPixels, imageSize: poster.width, resizeKernel: poster.kernel as PosterKernel },
    effects,
  );
  if (dataset.genres.join('\n') !== analysis.genres.join('\n')) {
    throw new UserError(`the models were trained on genre columns [${analysis.genres.join(', ')}] but this dataset has [${dataset.genres.join(', ')}]`, {
      file: join(options.datasetDir, 'IMDB_overview_genres.csv'),
      fix: 'evaluate on a dataset with the same genre columns, in the same order',
    });
  }
  const overlap = overlaps(
    dataset.films.map((f) => f.id),
    split,
  );
  if (overlap.inTraining.count > 0)
    effects.warn(
      `${overlap.inTraining.count} films of ${options.datasetDir} are training films (${overlap.inTraining.examples.join(', ')}, …); they are left out`,
    );
  if (overlap.inValidation.count > 0)
    effects.info(`${overlap.inValidation.count} films of ${options.datasetDir} are validation films of the run; they are scored`);
  const rows = overlap.scored;
  if (rows.length === 0)
    throw new UserError(`every film of ${options.datasetDir} is a training film of the run`, { fix: 'evaluate on films the models were not trained on' });

  const courseworkScores = await courseworkProbabilities(dataset, rows, modelsDir, metadata, effects);
  const strong = await strongScores(dataset, rows, modelsDir, analysis, effects);
  const scores: SplitScores = { labels: filmLabels(dataset, rows), ...courseworkScores, strong: strong?.scores };
  const choices = scoringChoices(analysis);
  const evaluations = validationResults(scores, dataset.genres, choices);
  const texts = Object.fromEntries(analysis.classifiers.map((c) => [c.id, { title: c.title, description: c.description }]));
  const result: TestSetArtifact = {
    contractVersion: CONTRACT_VERSION,
    generatedAt: new Date(effects.now()).toISOString(),
    dataset: {
      folder: basename(options.datasetDir),
      contentHash: dataset.contentHash,
      films: dataset.films.length,
      skippedRows: dataset.quality.skippedRows,
      inTraining: overlap.inTraining,
      inValidation: overlap.inValidation,
      scored: rows.length,
    },
    genres: [...dataset.genres],
    trainingKey: run.trainingKey,
    strongKey: strong?.key ?? null,
    classifiers: classifierAnalyses(dataset.genres, evaluations, texts, choices),
    bootstrap: bootstrapArtifact(headlineBootstrap(evaluations, scores.labels, dataset.genres.length, analysis.bootstrap.seed)),
  };
  await writeJsonAtomic(options.outFile, TestSetArtifactSchema.parse(result));
  for (const c of result.classifiers) {
    const micro = c.headline === 'decided' && c.decided ? c.decided.shared.microF1 : c.atDefault.microF1;
    const macro = c.headline === 'decided' && c.decided ? c.decided.perGenre.macroF1 : c.atDefault.macroF1;
    effects.info(`  ${c.title}: micro F1 ${micro.toFixed(4)}, macro F1 ${macro.toFixed(4)}${c.meanAP === null ? '' : `, mAP ${c.meanAP.toFixed(4)}`}`);
  }
  effects.info(`Wrote ${options.outFile} (${rows.length} films scored)`);
  return result;
}

/** The CNN's, the BiLSTM's and the learned fusion's probabilities for `rows` (rounded as published). */
async function courseworkProbabilities(
  dataset: LoadedDataset,
  rows: readonly number[],
  modelsDir: string,
  metadata: { [M in ModelKind]: ModelMetadataOf<M> },
  effects: Effects,
): Promise<Pick<SplitScores, 'cnn' | 'lstm' | 'gmu'>> {
  const cnnInput = metadata.cnn.input;
  const lstmInput = metadata.lstm.input;
  const ids = vectorizeAll(
    dataset.films.map((film) => film.overview),
    lstmInput.vocabulary,
    lstmInput.sequenceLength,
  );
  const models = { cnn: await loadModel(join(modelsDir, 'cnn')), lstm: await loadModel(join(modelsDir, 'lstm')) };
  try {
    // Models saved before inputs had a variable length take exactly `sequenceLength` tokens.
    const fixedLength = models.lstm.inputs[0].shape[1];
    const lengths = typeof fixedLength === 'number' ? new Int32Array(dataset.films.length).fill(fixedLength) : tokenLengths(ids, lstmInput.sequenceLength);
    const data = {
      cnn: { inputs: posterInputs(dataset.posterPixels, cnnInput.width), genres: dataset.genres },
      lstm: { inputs: tokenInputs(ids, lstmInput.sequenceLength, lengths), genres: dataset.genres, lengthOf: (film: number) => lengths[film] },
    };
    const probabilities = {} as Record<ModelKind, Float64Array>;
    for (const kind of ['cnn', 'lstm'] as const) {
      effects.info(`Evaluating the ${kind} model on ${rows.length} films`);
      probabilities[kind] = rounded(await predictProbabilities(models[kind], data[kind], rows, 64));
    }
    const gmuDir = join(modelsDir, GMU_MODEL_DIR);
    const read = readCheckedJson(join(gmuDir, METADATA_FILE), GmuModelMetadataSchema);
    if (!read.ok) throw new UserError(checkedJsonProblem(read, `${GMU_MODEL_DIR}/${METADATA_FILE}`), { file: join(gmuDir, METADATA_FILE), fix: BUILD_FIX });
    const gmuMeta = read.value;
    effects.info(`Evaluating the learned fusion on ${rows.length} films`);
    const side = async (kind: ModelKind, input: typeof gmuMeta.input.visual | typeof gmuMeta.input.textual) => {
      const { values, units } = await extractActivations(models[kind], input.layer, data[kind], rows);
      const s = standardisationFromJson(input.standardisation, units, `${GMU_MODEL_DIR}/${METADATA_FILE}`);
      return standardise(
        values,
        units,
        rows.map((_, i) => i),
        s,
      );
    };
    const visual = await side('cnn', gmuMeta.input.visual);
    const textual = await side('lstm', gmuMeta.input.textual);
    const head = await loadModel(gmuDir);
    const gmu = rounded(gmuForward(gmuWeightsOf(head), visual, textual, rows.length));
    head.dispose();
    return { cnn: probabilities.cnn, lstm: probabilities.lstm, gmu };
  } finally {
    models.cnn.dispose();
    models.lstm.dispose();
  }
}

/** The poster backbone's features of `rows`, from the installed package the strong poster model was fitted with. */
async function backboneOf(dataset: LoadedDataset, rows: readonly number[], fitted: BackboneProvenance, effects: Effects): Promise<Float32Array> {
  const features = await backboneFeatures(datasetPosterFiles(dataset, rows), {
    workers: availableParallelism(),
    progress: (done, total) => effects.progress(`Poster backbone: ${fitted.model} features`, done, total),
  });
  const same =
    (['package', 'version', 'model', 'inputSize'] as const).every((k) => features.provenance[k] === fitted[k]) &&
    features.provenance.blocks.join() === fitted.blocks.join();
  if (!same) {
    throw new UserError(
      `the strong poster model was fitted on ${fitted.model} features from ${fitted.package} ${fitted.version}, but ${features.provenance.package} ${features.provenance.version} is installed`,
      { fix: `install ${fitted.package}@${fitted.version}, or build again with this one` },
    );
  }
  return features.values;
}

/** The strong models' probabilities for `rows`, when the run fitted them (analysis.json lists them). */
async function strongScores(dataset: LoadedDataset, rows: readonly number[], modelsDir: string, analysis: AnalysisArtifact, effects: Effects) {
  const listed = analysis.classifiers.some((c) => c.kind === 'strong');
  const dir = join(modelsDir, STRONG_MODEL_DIR);
  if (!listed) return null;
  if (!existsSync(join(dir, STRONG_MODEL_FILE))) throw new UserError(`analysis.json lists the strong models but ${dir} has none`, { fix: BUILD_FIX });
  const { meta, models } = await loadStrongModels(dir);
  if (meta.posterSize !== dataset.posterPreprocessing.width) {
    throw new UserError(`the strong poster model takes ${meta.posterSize}-pixel posters, the CNN ${dataset.posterPreprocessing.width}`, { fix: BUILD_FIX });
  }
  effects.info(`Evaluating the strong models on ${rows.length} films`);
  const backbone = meta.backbone ? await backboneOf(dataset, rows, meta.backbone, effects) : null;
  const size = dataset.posterPreprocessing.width * dataset.posterPreprocessing.height * 3;
  const pixels = new Uint8Array(rows.length * size);
  rows.forEach((r, i) => pixels.set(dataset.posterPixels.subarray(r * size, (r + 1) * size), i * size));
  const p = strongProbabilities(
    models,
    rows.map((r) => dataset.films[r].overview),
    pixels,
    meta.posterSize,
    backbone,
  );
  const scores: Partial<Record<StrongClassifierId, Float64Array>> = {
    'text-linear': rounded(p.text),
    'poster-linear': rounded(p.poster),
    stacked: rounded(p.stacked),
  };
  return { key: meta.key, scores };
}
