/**
 * The data stage: find the dataset (configured → data/Multimodal_IMDB_dataset/ → demo), load and
 * validate it, split it, and write the dataset artifacts of the data contract.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { chooseDataset, type DatasetChoice } from '../config.ts';
import type { Config } from '../settings.ts';
import { ARTIFACT_FILES, CONTRACT_VERSION, type DatasetArtifact, type SplitArtifact } from '../contract/contract.ts';
import { loadDataset, type LoadedDataset } from './dataset.ts';
import { DEMO_CSV_FILE, DEMO_DATASET_VERSION, writeDemoDataset } from './demo-data.ts';
import { cachedEntry } from '../core/cache.ts';
import type { Effects } from '../core/effects.ts';
import { stratifiedSplit } from './split.ts';
import { UserError } from '../core/errors.ts';
import { tokenize } from '../contract/vectorizer.ts';
import type { StageContext } from '../core/context.ts';

export interface DatasetSplit {
  train: number[];
  validation: number[];
}

export interface DataStageResult {
  choice: DatasetChoice;
  dataset: LoadedDataset;
  split: DatasetSplit;
  artifact: DatasetArtifact;
}

/** The demo dataset's folder is versioned by its generator and size, so a stale one is never reused. */
export function demoDatasetDir(config: Config, root: string): string {
  return resolve(root, config.cacheDir, `demo-dataset-v${DEMO_DATASET_VERSION}-${config.demoFilms}`);
}

/**
 * Resolves the dataset folder, generating the demo dataset when that is the choice: a cache entry
 * (pipeline/lib/core/cache.ts), written whole or not at all, and checked byte for byte before reuse.
 */
export async function resolveDatasetFolder(config: Config, root: string, effects: Effects): Promise<DatasetChoice> {
  const choice = chooseDataset(config, root);
  if (choice.kind !== 'demo') return choice;
  const dir = demoDatasetDir(config, root);
  const csv = (folder: string) => join(folder, DEMO_CSV_FILE);
  await cachedEntry<string>({
    dir,
    label: 'Demo dataset',
    what: 'the cached demo dataset',
    again: 'generating it again',
    effects,
    reused: `Using the synthetic demo dataset in ${dir}`,
    // A dataset generated before entries were sealed is whole once its CSV exists (written last).
    unsealed: (folder) => (existsSync(csv(folder)) ? 'adopt' : 'keep'),
    read: async (folder) => (existsSync(csv(folder)) ? { value: folder } : { problem: `${DEMO_CSV_FILE} is missing` }),
    build: async (temp) => {
      effects.info(
        `No dataset configured and none in data/Multimodal_IMDB_dataset/: generating the synthetic demo dataset (${config.demoFilms} films) in ${dir}`,
      );
      await writeDemoDataset(temp, { films: config.demoFilms, destination: dir }, effects);
      return dir;
    },
  });
  return { kind: 'demo', dir };
}

export async function loadConfiguredDataset(config: Config, root: string, effects: Effects) {
  const choice = await resolveDatasetFolder(config, root, effects);
  const dataset = await loadDataset(
    choice.dir,
    {
      imageSize: config.imageSize,
      maxPosterPixels: config.maxPosterPixels,
      resizeKernel: config.resizeKernel,
      cacheDir: resolve(root, config.cacheDir),
    },
    effects,
  );
  return { choice, dataset };
}

export function splitDataset(dataset: LoadedDataset, config: Config): DatasetSplit {
  return stratifiedSplit(
    dataset.films.map((film) => film.labels),
    config.validationFraction,
    config.seed,
  );
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The dataset page's numbers, computed from the loaded dataset and its split. */
export function summariseDataset(dataset: LoadedDataset, split: DatasetSplit, choice: DatasetChoice, config: Config, generatedAt: string): DatasetArtifact {
  const genreCount = dataset.genres.length;
  const inValidation = new Uint8Array(dataset.films.length);
  for (const index of split.validation) inValidation[index] = 1;

  const labelCounts = dataset.genres.map((genre) => ({ genre, train: 0, validation: 0 }));
  const perFilm = new Map<number, { train: number; validation: number }>();
  const cooccurrence = dataset.genres.map(() => new Array<number>(genreCount).fill(0));
  const words: number[] = [];

  dataset.films.forEach((film, index) => {
    const side = inValidation[index] ? 'validation' : 'train';
    const positives: number[] = [];
    for (let g = 0; g < genreCount; g++) if (film.labels[g]) positives.push(g);
    for (const g of positives) {
      labelCounts[g][side]++;
      for (const h of positives) cooccurrence[g][h]++;
    }
    const bucket = perFilm.get(positives.length) ?? { train: 0, validation: 0 };
    bucket[side]++;
    perFilm.set(positives.length, bucket);
    words.push(tokenize(film.overview).length);
  });

  return {
    contractVersion: CONTRACT_VERSION,
    generatedAt,
    synthetic: dataset.synthetic,
    source: { kind: choice.kind, folder: basename(choice.dir), contentHash: dataset.contentHash },
    genres: dataset.genres,
    films: dataset.films.length,
    split: {
      seed: config.seed,
      validationFraction: config.validationFraction,
      method: 'iterative-stratification',
      trainCount: split.train.length,
      validationCount: split.validation.length,
    },
    labelCounts,
    labelsPerFilm: [...perFilm.entries()].sort(([a], [b]) => a - b).map(([labels, c]) => ({ labels, ...c })),
    cooccurrence,
    overviewWords: {
      min: words.length ? Math.min(...words) : 0,
      median: median(words),
      max: words.length ? Math.max(...words) : 0,
    },
    // The artifact is published: name the CSV file, not the machine-specific path.
    quality: { ...dataset.quality, csvFile: basename(dataset.quality.csvFile) },
    posterPreprocessing: dataset.posterPreprocessing,
  };
}

export function splitArtifact(dataset: LoadedDataset, split: DatasetSplit, config: Config): SplitArtifact {
  return {
    contractVersion: CONTRACT_VERSION,
    seed: config.seed,
    validationFraction: config.validationFraction,
    method: 'iterative-stratification',
    train: split.train.map((i) => dataset.films[i].id),
    validation: split.validation.map((i) => dataset.films[i].id),
  };
}

/**
 * The fewest films each side of the split needs for the stages after the data stage: the report's
 * validation metrics, and the learned fusion's 5 cross-fitting folds of the training films (8 each).
 */
export const MIN_VALIDATION_FILMS = 10;
export const MIN_TRAIN_FILMS = 40;

/** Refuses, before any training, a split too small for the stages that follow (with the fix). */
export function checkSplitForTraining(stage: Pick<DataStageResult, 'split' | 'dataset'>, config: Config): void {
  const films = stage.dataset.films.length;
  const { train, validation } = stage.split;
  if (validation.length < MIN_VALIDATION_FILMS) {
    const needed = Math.min(0.5, Math.ceil((MIN_VALIDATION_FILMS / Math.max(films, 1)) * 1000) / 1000);
    throw new UserError(
      `the split gives ${validation.length} validation films (of ${films} usable films, --validation-fraction ${config.validationFraction}); the report needs at least ${MIN_VALIDATION_FILMS}`,
      {
        fix:
          films >= MIN_VALIDATION_FILMS + MIN_TRAIN_FILMS
            ? `use --validation-fraction ${needed} or more`
            : `use a dataset with at least ${MIN_VALIDATION_FILMS + MIN_TRAIN_FILMS} usable films`,
      },
    );
  }
  if (train.length < MIN_TRAIN_FILMS) {
    throw new UserError(
      `the split gives ${train.length} training films (of ${films} usable films); training and the learned fusion's 5 folds need at least ${MIN_TRAIN_FILMS}`,
      {
        fix:
          films >= MIN_VALIDATION_FILMS + MIN_TRAIN_FILMS
            ? 'use a smaller --validation-fraction'
            : `use a dataset with at least ${MIN_VALIDATION_FILMS + MIN_TRAIN_FILMS} usable films`,
      },
    );
  }
}

/** Runs the whole data stage and writes `dataset.json` and `split.json`. */
export async function runDataStage(ctx: StageContext): Promise<DataStageResult> {
  const { config, root, effects } = ctx;
  const { choice, dataset } = await loadConfiguredDataset(config, root, effects);
  const split = splitDataset(dataset, config);
  const artifact = summariseDataset(dataset, split, choice, config, new Date(effects.now()).toISOString());
  await ctx.artifacts.write('dataset', artifact);
  await ctx.artifacts.write('split', splitArtifact(dataset, split, config));
  effects.info(
    `Data: ${artifact.films} films (${artifact.split.trainCount} train / ${artifact.split.validationCount} validation), ` +
      `${artifact.quality.skippedRows} rows skipped; wrote ${ARTIFACT_FILES.dataset} and ${ARTIFACT_FILES.split}`,
  );
  return { choice, dataset, split, artifact };
}
