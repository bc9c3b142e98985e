/**
 * What every stage receives: the settings, the folders they resolve to (resolved once, here), the
 * effects, and the artifact store the stage writes and reads the data contract through. The CLI
 * builds one per run (with the staged artifact and public folders); tests build their own and may
 * swap the store for an in-memory one, as Observable Framework's tests swap effects.
 */
import { resolve } from 'node:path';
import {
  ARTIFACTS,
  artifactFile,
  type ArtifactId,
  type ArtifactOf,
  type ModelKind,
  type PerModelArtifactId,
  type SingleArtifactId,
} from '../contract/contract.ts';
import type { Config } from '../settings.ts';
import { artifactText, readArtifact, writeArtifact } from './artifact-store.ts';
import type { Effects } from './effects.ts';

/** The output folders of a run, absolute. */
export interface OutputPaths {
  cache: string;
  artifacts: string;
  public: string;
  out: string;
}

/** Writes and reads the artifacts of the data contract, validated both ways (core/artifact-store.ts). */
export interface ArtifactStore {
  write<I extends SingleArtifactId>(id: I, value: ArtifactOf<I>): Promise<void>;
  write<I extends PerModelArtifactId>(id: I, value: ArtifactOf<I>, model: ModelKind): Promise<void>;
  read<I extends SingleArtifactId>(id: I): ArtifactOf<I>;
  read<I extends PerModelArtifactId>(id: I, model: ModelKind): ArtifactOf<I>;
}

export interface StageContext {
  config: Config;
  /** The project root: relative settings resolve against it. */
  root: string;
  paths: OutputPaths;
  effects: Effects;
  artifacts: ArtifactStore;
}

// The store's overloads check ids, values and models at its call sites; inside, one signature serves.
const writeAny = writeArtifact as (dir: string, id: ArtifactId, value: unknown, model?: ModelKind) => Promise<void>;
const readAny = readArtifact as (dir: string, id: ArtifactId, model?: ModelKind) => unknown;

/** The artifacts as JSON files in `dir` (the default store). */
export function fileArtifactStore(dir: string): ArtifactStore {
  return {
    write: (id: ArtifactId, value: unknown, model?: ModelKind) => writeAny(dir, id, value, model),
    read: (id: ArtifactId, model?: ModelKind) => readAny(dir, id, model),
  } as ArtifactStore;
}

/**
 * The artifacts in memory, validated like the files (for tests): `files` holds each one's JSON text
 * by file name, as the file store would have written it.
 */
export function memoryArtifactStore(files = new Map<string, string>()): ArtifactStore & { files: Map<string, string> } {
  return {
    files,
    async write(id: ArtifactId, value: unknown, model?: ModelKind) {
      const { file, text } = artifactText(id, value, model);
      files.set(file, text);
    },
    read(id: ArtifactId, model?: ModelKind) {
      const file = artifactFile(id, model);
      const text = files.get(file);
      if (text === undefined) throw new Error(`${file} is missing from the in-memory store`);
      return ARTIFACTS[id].schema.parse(JSON.parse(text));
    },
  } as ArtifactStore & { files: Map<string, string> };
}

/** The context of a run: `config`'s folders resolved against `root`, artifacts as files there unless `artifacts` is given. */
export function stageContext(config: Config, root: string, effects: Effects, artifacts?: ArtifactStore): StageContext {
  const paths: OutputPaths = {
    cache: resolve(root, config.cacheDir),
    artifacts: resolve(root, config.artifactsDir),
    public: resolve(root, config.publicDir),
    out: resolve(root, config.outDir),
  };
  return { config, root, paths, effects, artifacts: artifacts ?? fileArtifactStore(paths.artifacts) };
}
