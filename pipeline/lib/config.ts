/**
 * genrelens configuration: defaults are the coursework's settings; a `genrelens.config.json` file,
 * then the `GENRELENS_DATASET` environment variable, then command-line flags override them.
 * Everything is validated, so a typo stops the run with a message naming the setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from './core/errors.ts';
import { ABLATION_IDS } from './contract/contract.ts';

export { ABLATION_IDS };

export const RESIZE_KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;
export const PROFILES = ['coursework', 'quick'] as const;
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** Training losses (pipeline/lib/train/losses.ts); `bce` is the coursework's. */
export const LOSSES = ['bce', 'class-weighted-bce', 'focal'] as const;
/**
 * Ablations (pipeline/lib/ablations/ablation-stage.ts): each trains the models again with one switch turned on and
 * reports what it changed against the main run.
 */
/** Early stopping's patience in the `early-stopping` ablation when `earlyStoppingPatience` is unset. */
export const DEFAULT_PATIENCE = 3;

export const ConfigSchema = z
  .object({
    /** Dataset folder in the coursework layout. Unset: data/Multimodal_IMDB_dataset/, else demo data. */
    dataset: z.string().min(1).optional(),
    /** Seed for the split, weight initialisation, dropout and shuffling. */
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
    validationFraction: z.number().gt(0).lt(1).default(0.2),
    imageSize: z.number().int().min(8).max(512).default(64),
    /** Keras `load_img(target_size=…)` resizes with nearest-neighbour; so does the coursework. */
    resizeKernel: z.enum(RESIZE_KERNELS).default('nearest'),
    /** Posters larger than this (width × height) are rejected before decoding. */
    maxPosterPixels: z.number().int().positive().default(50_000_000),
    maxTokens: z.number().int().min(3).default(10_000),
    sequenceLength: z.number().int().min(1).max(2000).default(100),
    /**
     * `coursework`: the coursework's full schedule; `quick`: a few epochs, for CI and the demo data.
     * Unset: `quick` on the demo dataset, `coursework` on real data.
     */
    profile: z.enum(PROFILES).optional(),
    /** Override the profile's epochs for both models. */
    epochs: z.number().int().positive().optional(),
    backend: z.enum(BACKENDS).optional(),
    retrain: z.boolean().default(false),
    /** Training loss of both models (pipeline/lib/train/losses.ts). */
    loss: z.enum(LOSSES).default('bce'),
    /** Random mirror and shifts of the CNN's training posters (pipeline/lib/train/poster-augmentation.ts). */
    posterAugmentation: z.boolean().default(false),
    /**
     * Stop a model's training once its validation loss has not improved for this many epochs (the
     * kept weights are its best epoch's, as always). Unset: the whole schedule.
     */
    earlyStoppingPatience: z.number().int().min(1).max(1000).optional(),
    /** Ablations to train and report beside the main run; none by default (each retrains models). */
    ablations: z.array(z.enum(ABLATION_IDS)).default([]),
    /**
     * Train the two models at the same time, each in its own worker thread (the wasm and cpu
     * backends use one core each), and give the CNN's shards the cores that fall free. Off, or on a
     * one-core machine: one after the other, in one thread.
     */
    parallel: z.boolean().default(true),
    /**
     * The poster CNN's batches are split into this many shards, each shard's gradient computed on
     * its own (the batch's gradient is their films-weighted mean; pipeline/lib/train/sharded-steps.ts). With
     * `parallel`, a shard runs in a helper thread once a core is free (the LSTM has finished), which
     * changes no number. Part of the training key; 1 (whole batches) keeps the key runs had
     * before sharding existed, so their cached models are used again.
     */
    cnnShards: z.number().int().min(1).max(8).default(2),
    /**
     * The explain stage explains the report's curated example films plus the first this many
     * validation films (examples.json order); each takes about a second on the wasm backend.
     */
    explainFilms: z.number().int().min(0).max(1_000_000).default(48),
    /** How many films the generated demo dataset has. */
    demoFilms: z.number().int().min(20).max(100_000).default(600),
    cacheDir: z.string().default('.cache/genrelens'),
    /** Where the pipeline writes the artifacts the site reads (the data contract). */
    artifactsDir: z.string().default('src/content/artifacts'),
    /** Where the pipeline writes files served as-is by the site (models, thumbnails). */
    publicDir: z.string().default('public/generated'),
    /** Where the built static site goes. */
    outDir: z.string().default('dist'),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type Profile = (typeof PROFILES)[number];
export type LossName = (typeof LOSSES)[number];
export type AblationId = (typeof ABLATION_IDS)[number];
export type ConfigInput = z.input<typeof ConfigSchema>;

export const CONFIG_FILE = 'genrelens.config.json';
export const DATASET_ENV = 'GENRELENS_DATASET';

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(config)'}: ${issue.message}`)
    .join('; ');
}

/** Reads a JSON config file; a missing default file is fine, a missing explicit one is an error. */
export function readConfigFile(path: string, explicit: boolean): ConfigInput {
  if (!existsSync(path)) {
    if (explicit) throw new UserError(`config file not found`, { file: path, fix: 'check the --config path' });
    return {};
  }
  let value: unknown;
  try {
    // A byte-order mark (Windows editors write one) is not part of the JSON.
    value = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UserError(`config file is not valid JSON (${(error as Error).message})`, {
      file: path,
      fix: 'fix the JSON syntax, or delete the file to use the defaults',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`config file must hold a JSON object of settings, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`, {
      file: path,
      fix: 'write the settings as { "seed": 42, ... } (see `npm run genrelens -- --help`), or {} for the defaults',
    });
  }
  return value as ConfigInput;
}

/** The command-line flag of each setting whose flag is not its name in kebab case. */
const FLAG_NAMES: Partial<Record<keyof ConfigInput, string>> = { parallel: 'sequential', earlyStoppingPatience: 'early-stopping' };
const flagOf = (key: string) => `--${FLAG_NAMES[key as keyof ConfigInput] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Merges the layers (file < environment < flags) and validates the result.
 * `source` names where a bad value came from, for the error message.
 */
export function resolveConfig(layers: { file?: ConfigInput; fileName?: string; env?: NodeJS.ProcessEnv; flags?: ConfigInput }): Config {
  const fromEnv: ConfigInput = {};
  const envDataset = layers.env?.[DATASET_ENV];
  if (envDataset) fromEnv.dataset = envDataset;
  const flags = stripUndefined(layers.flags ?? {});
  const merged = { ...layers.file, ...fromEnv, ...flags };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    // Name where the bad value came from: the flag, the environment variable, or the file.
    const issue = parsed.error.issues[0] as z.core.$ZodIssue & { keys?: string[] };
    const key = String(issue?.path[0] ?? issue?.keys?.[0] ?? '');
    const fix = `see \`npm run genrelens -- --help\` for the settings and their allowed values`;
    if (key in flags) throw new UserError(`invalid value for the flag ${flagOf(key)}: ${describeIssues(parsed.error)}`, { fix });
    if (key in fromEnv) throw new UserError(`invalid value in the environment variable ${DATASET_ENV}: ${describeIssues(parsed.error)}`, { fix });
    throw new UserError(`invalid configuration: ${describeIssues(parsed.error)}`, { file: key in (layers.file ?? {}) ? layers.fileName : undefined, fix });
  }
  return parsed.data;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The folder searched when no dataset is configured. */
export const DEFAULT_DATASET_DIR = 'data/Multimodal_IMDB_dataset';

export type DatasetChoice =
  | { kind: 'configured'; dir: string }
  | { kind: 'default-folder'; dir: string }
  | { kind: 'demo'; dir: string };

/** Lookup order: configured path → data/Multimodal_IMDB_dataset/ → the generated demo dataset. */
export function chooseDataset(config: Config, root: string): DatasetChoice {
  if (config.dataset) {
    const dir = resolve(root, config.dataset);
    if (!existsSync(dir)) {
      throw new UserError(`dataset folder not found: ${dir}`, {
        fix: `check the path given by --dataset, ${DATASET_ENV} or ${CONFIG_FILE}; it must hold IMDB_overview_genres.csv and Images/`,
      });
    }
    return { kind: 'configured', dir };
  }
  const defaultDir = resolve(root, DEFAULT_DATASET_DIR);
  if (existsSync(defaultDir)) return { kind: 'default-folder', dir: defaultDir };
  return { kind: 'demo', dir: resolve(root, config.cacheDir, 'demo-dataset') };
}

/** The training profile in force: as configured, else `quick` for synthetic (demo) data and `coursework` otherwise. */
export function effectiveProfile(config: Config, synthetic: boolean): Profile {
  return config.profile ?? (synthetic ? 'quick' : 'coursework');
}
