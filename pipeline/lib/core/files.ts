import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { z } from 'zod';

/**
 * A unique suffix for temporary files. Deliberately not Math.random: during training Math.random is
 * the seeded generator behind dropout, and drawing from it here would change the results.
 */
export function temporarySuffix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Writes `data` to `path` atomically: a temporary file beside it, then a rename. An interrupted
 * run leaves either the old file or the new one, never half of one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${temporarySuffix()}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Whether process `pid` is running (on this machine): signal 0 tests without signalling. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

export function sha256(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** The first issue of a failed schema check, as `field.path: message`. */
export function schemaIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return `${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message}`;
}

export type CheckedJson<T> =
  | { ok: true; value: T; /** The JSON as read, not re-created by the schema (to publish byte for byte what was written). */ raw: unknown }
  | { ok: false; problem: 'missing' | 'not-json' | 'off-schema'; detail: string };

/**
 * Reads a JSON file and checks it against `schema`: its value as the schema gives it, or what is
 * wrong with it (missing; not JSON, with the parser's message; off the schema, with its first issue).
 */
export function readCheckedJson<S extends z.ZodType>(path: string, schema: S): CheckedJson<z.infer<S>> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, problem: missing ? 'missing' : 'not-json', detail: missing ? '' : (error as Error).message };
  }
  const parsed = schema.safeParse(data);
  return parsed.success ? { ok: true, value: parsed.data, raw: data } : { ok: false, problem: 'off-schema', detail: schemaIssue(parsed.error) };
}

/** What is wrong with a JSON file `readCheckedJson` refused, in words naming it. */
export function checkedJsonProblem(read: Extract<CheckedJson<unknown>, { ok: false }>, name: string): string {
  if (read.problem === 'missing') return `${name} is missing`;
  if (read.problem === 'not-json') return `${name} is not valid JSON (${read.detail})`;
  return `${name} does not follow this version's contract (${read.detail})`;
}

/** Every regular file under `dir`, as sorted `/`-separated relative paths, skipping the top-level names in `skip`. */
export async function filesUnder(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (folder === dir && skip.includes(entry.name)) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(relative(dir, path).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Writes the files `write` creates into `dir` atomically (temporary folder + rename). */
export async function writeFolderAtomic(dir: string, write: (temp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await removeStaleSiblings(dir);
  const suffix = `${process.pid}.${temporarySuffix()}`;
  const temp = `${dir}.tmp-${suffix}`;
  const old = `${dir}.old-${suffix}`;
  try {
    await mkdir(temp);
    await write(temp);
    if (existsSync(dir)) await rename(dir, old);
    await rename(temp, dir);
  } finally {
    await rm(temp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/**
 * Cleans up what killed runs left beside `dir`: the `.tmp-<pid>.…` and `.old-<pid>.…` folders of
 * `writeFolderAtomic` calls whose process is gone (a killed training leaves a 50 MB checkpoint
 * copy). When `dir` itself is missing, a leftover `.old-` folder (the last complete one, moved
 * aside just before the kill) is put back instead.
 */
async function removeStaleSiblings(dir: string): Promise<void> {
  const parent = dirname(dir);
  const name = basename(dir);
  for (const entry of await readdir(parent)) {
    const match = /^(.*)\.(tmp|old)-(\d+)\.[0-9a-f]+$/.exec(entry);
    if (!match || match[1] !== name || Number(match[3]) === process.pid || processAlive(Number(match[3]))) continue;
    const path = join(parent, entry);
    if (match[2] === 'old' && !existsSync(dir)) await rename(path, dir);
    else await rm(path, { recursive: true, force: true });
  }
}
