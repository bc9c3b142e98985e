/**
 * Content collections over the pipeline's artifacts (see pipeline/lib/contract/contract.ts). Each artifact is
 * validated with the contract's schema: a missing or malformed file fails the build loudly.
 *
 * Single-file collections hold one entry, `current`; `history` and `predictions` hold one entry per
 * model (`cnn`, `lstm`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { defineCollection } from 'astro:content';
import type { z } from 'zod';
import { ARTIFACTS, MODEL_KINDS, type ArtifactId } from '../pipeline/lib/contract/contract.ts';

const ARTIFACTS_DIR = process.env.GENRELENS_ARTIFACTS_DIR ?? 'src/content/artifacts';

function readArtifact(file: string): Record<string, unknown> {
  const path = `${ARTIFACTS_DIR}/${file}`;
  if (!existsSync(path)) {
    throw new Error(`genrelens: ${path} is missing. Run \`npm run build\` (or \`npm run genrelens -- train\`) so the pipeline writes it.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`genrelens: ${path} is not valid JSON (${(error as Error).message}). Re-run \`npm run build\`.`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`genrelens: ${path} must hold a JSON object. Re-run \`npm run build\`.`);
  }
  return data as Record<string, unknown>;
}

/** A collection with one entry per (id → artifact file), each validated with `schema`; an optional artifact may be absent (no entry). */
function artifactCollection<S extends z.ZodType>(files: Record<string, string>, schema: S, optional = false) {
  return defineCollection({
    loader: async () =>
      Object.entries(files)
        .filter(([, file]) => !optional || existsSync(`${ARTIFACTS_DIR}/${file}`))
        .map(([id, file]) => ({ ...readArtifact(file), id })),
    schema,
  });
}

/** The files of one registry entry: `current`, or one entry per model (`cnn`, `lstm`). */
function filesOf(file: string | ((model: (typeof MODEL_KINDS)[number]) => string)): Record<string, string> {
  return typeof file === 'string' ? { current: file } : Object.fromEntries(MODEL_KINDS.map((model) => [model, file(model)]));
}

type Registry = typeof ARTIFACTS;
/** Collection name → the registry entry it reads, for every artifact the site reads directly. */
type CollectionOf<S extends z.ZodType> = ReturnType<typeof artifactCollection<S>>;
type Collections = {
  [I in ArtifactId as Registry[I] extends { collection: infer C extends string } ? C : never]: CollectionOf<Registry[I]['schema']>;
};

/** One collection per registry entry that names one (pipeline/lib/contract/contract.ts `ARTIFACTS`). */
export const collections = Object.fromEntries(
  Object.values(ARTIFACTS).flatMap((entry) =>
    'collection' in entry ? [[entry.collection, artifactCollection(filesOf(entry.file), entry.schema, 'optional' in entry && entry.optional)]] : [],
  ),
) as Collections;
