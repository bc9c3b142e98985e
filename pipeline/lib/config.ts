/**
 * Resolving genrelens' configuration: the defaults (pipeline/lib/settings.ts, the coursework's
 * settings), overridden by a `genrelens.config.json` file, then the `GENRELENS_DATASET` environment
 * variable, then command-line flags. Everything is validated, so a typo stops the run with a
 * message naming the setting and where it came from; and which dataset a run uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from './core/errors.ts';
import { ConfigSchema, flagOf, type Config, type ConfigInput, type Profile } from './settings.ts';

export const CONFIG_FILE = 'genrelens.config.json';
export const DATASET_ENV = 'GENRELENS_DATASET';

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(config)'}: ${issue.message}`).join('; ');
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
    throw new UserError(
      `config file must hold a JSON object of settings, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`,
      {
        file: path,
        fix: 'write the settings as { "seed": 42, ... } (see `npm run genrelens -- --help`), or {} for the defaults',
      },
    );
  }
  return value as ConfigInput;
}

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

export type DatasetChoice = { kind: 'configured'; dir: string } | { kind: 'default-folder'; dir: string } | { kind: 'demo'; dir: string };

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
