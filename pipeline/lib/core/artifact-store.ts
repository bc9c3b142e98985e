/**
 * The pipeline's only way to write and read the artifacts of the data contract (the registry
 * `ARTIFACTS` in pipeline/lib/contract/contract.ts). Each artifact is validated against its schema
 * on the way out as well as on the way in: a stage that breaks the contract fails where it writes,
 * naming the file and the field, instead of in the site build or in a later stage.
 *
 * Written as the stage built it (not as zod re-creates it), so the bytes are the stage's own.
 */
import { join } from 'node:path';
import {
  ARTIFACTS,
  artifactFile,
  type ArtifactId,
  type ArtifactOf,
  type ModelKind,
  type PerModelArtifactId,
  type SingleArtifactId,
} from '../contract/contract.ts';
import { UserError } from './errors.ts';
import { readCheckedJson, schemaIssue, writeFileAtomic } from './files.ts';

/**
 * The file name and JSON text of artifact `id` (of `model`) holding `value`, once it follows its
 * schema. The text is the value as the stage built it (not as zod re-creates it).
 */
export function artifactText(id: ArtifactId, value: unknown, model?: ModelKind): { file: string; text: string } {
  const file = artifactFile(id, model);
  const parsed = ARTIFACTS[id].schema.safeParse(value);
  if (!parsed.success) {
    // The pipeline built something its own contract refuses: a genrelens bug, not the user's.
    throw new Error(`${file} breaks the data contract (${schemaIssue(parsed.error)}); nothing was written`);
  }
  return { file, text: `${JSON.stringify(value, null, 2)}\n` };
}

/** Writes artifact `id` (of `model`) into `dir` atomically, once it follows its schema. */
export async function writeArtifact<I extends SingleArtifactId>(dir: string, id: I, value: ArtifactOf<I>): Promise<void>;
export async function writeArtifact<I extends PerModelArtifactId>(dir: string, id: I, value: ArtifactOf<I>, model: ModelKind): Promise<void>;
export async function writeArtifact(dir: string, id: ArtifactId, value: unknown, model?: ModelKind): Promise<void> {
  const { file, text } = artifactText(id, value, model);
  await writeFileAtomic(join(dir, file), text);
}

/** Reads and validates artifact `id` (of `model`) from `dir`, or stops naming the file and the command that writes it. */
export function readArtifact<I extends SingleArtifactId>(dir: string, id: I): ArtifactOf<I>;
export function readArtifact<I extends PerModelArtifactId>(dir: string, id: I, model: ModelKind): ArtifactOf<I>;
export function readArtifact(dir: string, id: ArtifactId, model?: ModelKind): unknown {
  const file = artifactFile(id, model);
  const path = join(dir, file);
  const fix = `run \`npm run genrelens -- train\` (or \`npm run build\`): the ${ARTIFACTS[id].stage} stage writes it`;
  const read = readCheckedJson(path, ARTIFACTS[id].schema);
  if (read.ok) return read.value;
  if (read.problem === 'missing') throw new UserError(`${file} is missing from ${dir}`, { file: path, fix });
  if (read.problem === 'not-json') throw new UserError(`${file} is not valid JSON (${read.detail})`, { file: path, fix });
  throw new UserError(`${file}: ${read.detail}`, { file: path, fix: `${fix} again (add --retrain if it is stale)` });
}
