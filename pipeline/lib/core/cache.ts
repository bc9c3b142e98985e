/**
 * genrelens' one cache mechanism, on the pattern of Observable Framework's `AbstractLoader.load`:
 * an entry is a folder `<cacheDir>/<kind>/<key>/` whose key hashes everything its contents depend
 * on, including a version constant kept beside the code it invalidates. `cachedEntry` reuses a
 * whole entry (one log line), or builds it in a temporary sibling and renames it into place, so an
 * interrupted build leaves no half entry. Trained models (built across worker threads, so they use
 * the two halves `reusableEntry` and `writeEntry`), the learned fusion, the explanations and the
 * demo dataset are all cached this way.
 *
 * Whole means proven: `writeEntry` records the size and SHA-256 of each file in `entry.json`, written
 * last, and before reuse every file is re-read and compared. A truncated, edited or missing file
 * makes the entry damaged: reported in one line and built again, never published as found. Hashing
 * is cheap beside what it guards (the two coursework models, 31 MB, in a fraction of a second).
 *
 * Posters are cached per file (pipeline/lib/data/posters.ts): thousands of 12 KB entries, each
 * checked by its own header and length, where a folder and manifest each would cost more than the
 * decode they save.
 */ import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Effects } from './effects.ts';
import { filesUnder, readJson, writeFolderAtomic, writeJsonAtomic } from './files.ts';

export const ENTRY_MANIFEST = 'entry.json';

interface EntryFile {
  path: string;
  bytes: number;
  sha256: string;
}

interface EntryManifest {
  version: 1;
  files: EntryFile[];
}

export type EntryCheck = { state: 'absent' } | { state: 'unsealed' } | { state: 'whole' } | { state: 'damaged'; problem: string };

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Records the size and hash of every file in `dir` (but the top-level names in `skip`, such as a
 * checkpoint folder that comes and goes) in `dir/entry.json`. Call it once the entry is complete.
 */
export async function sealEntry(dir: string, skip: readonly string[] = []): Promise<void> {
  const files: EntryFile[] = [];
  for (const path of await filesUnder(dir, [...skip, ENTRY_MANIFEST])) {
    const full = join(dir, path);
    files.push({ path, bytes: (await stat(full)).size, sha256: await hashFile(full) });
  }
  await writeJsonAtomic(join(dir, ENTRY_MANIFEST), { version: 1, files } satisfies EntryManifest);
}

/**
 * Whether `dir` is a whole sealed entry: `absent` (no folder), `unsealed` (a folder without
 * `entry.json`: interrupted, or written before entries were sealed), `whole`, or `damaged` with the
 * first problem found (a file missing, of another size, or with other bytes than sealed).
 */
export async function checkEntry(dir: string): Promise<EntryCheck> {
  if (!existsSync(dir)) return { state: 'absent' };
  const manifestFile = join(dir, ENTRY_MANIFEST);
  if (!existsSync(manifestFile)) return { state: 'unsealed' };
  let manifest: EntryManifest;
  try {
    manifest = await readJson<EntryManifest>(manifestFile);
    if (manifest.version !== 1 || !Array.isArray(manifest.files)) throw new Error('not a version-1 entry manifest');
  } catch (error) {
    return { state: 'damaged', problem: `${ENTRY_MANIFEST} is unreadable (${error instanceof Error ? error.message : String(error)})` };
  }
  for (const file of manifest.files) {
    const full = join(dir, file.path);
    let bytes: number;
    try {
      const info = await stat(full);
      if (!info.isFile()) return { state: 'damaged', problem: `${file.path} is not a file` };
      bytes = info.size;
    } catch {
      return { state: 'damaged', problem: `${file.path} is missing` };
    }
    if (bytes !== file.bytes) {
      return { state: 'damaged', problem: `${file.path} is ${bytes.toLocaleString('en')} bytes, ${file.bytes.toLocaleString('en')} when it was written` };
    }
    if ((await hashFile(full)) !== file.sha256) return { state: 'damaged', problem: `${file.path} has other bytes than when it was written` };
  }
  return { state: 'whole' };
}

/** Who reads an entry, and how its log lines name it. */
export interface EntryReader<T> {
  /** The entry's folder, `<cacheDir>/<kind>/<key>`. */
  dir: string;
  /** How log lines begin, e.g. "Learned fusion (GMU)". */
  label: string;
  /** What the entry holds, for log lines: "the cached fusion". */
  what: string;
  /** The entry's key, named when it cannot be reused. */
  key?: string;
  /** What happens when it cannot be reused: "training it again". */
  again: string;
  effects: Effects;
  /** The line logged when the entry is reused (none when absent). */
  reused?: string;
  /** The entry's value, or why it cannot be used though its bytes are whole (another schema, another key). */
  read: (dir: string) => Promise<{ value: T } | { problem: string }>;
  /**
   * A folder without entry.json: an entry written before entries were sealed (adopted, sealed, when
   * `read` accepts it) or a build in progress that keeps state there (a training's checkpoint: kept).
   */
  unsealed?: 'adopt' | 'keep' | ((dir: string) => 'adopt' | 'keep');
  /** Top-level names inside the entry that are not part of it (a checkpoint that comes and goes). */
  skip?: readonly string[];
}

/**
 * The entry's value when it can be reused (logging `reused`), else null after removing what cannot
 * be (a damaged entry is reported in one line). An unsealed folder is left alone unless adopted.
 */
export async function reusableEntry<T>(entry: EntryReader<T>): Promise<T | null> {
  const { dir, label, what, again, effects } = entry;
  const check = await checkEntry(dir);
  const unsealed = typeof entry.unsealed === 'function' ? entry.unsealed(dir) : entry.unsealed;
  if (check.state === 'absent' || (check.state === 'unsealed' && unsealed !== 'adopt')) return null;
  if (check.state === 'damaged') {
    effects.warn(`${label}: ${what} in ${dir} is damaged (${check.problem}); ${again}`);
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  const read = await entry.read(dir);
  if ('problem' in read) {
    effects.info(`${label}: ${what}${entry.key ? ` (key ${entry.key})` : ''} cannot be reused: ${read.problem}; ${again}`);
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  if (check.state === 'unsealed') await sealEntry(dir, entry.skip);
  if (entry.reused) effects.info(entry.reused);
  return read.value;
}

/**
 * Writes the entry `dir`: `build` fills a temporary sibling folder, which is sealed and then renamed
 * over `dir` (replacing what was there, such as a checkpoint). Returns what `build` returns.
 */
export async function writeEntry<T>(dir: string, build: (temp: string) => Promise<T>): Promise<T> {
  let value!: T;
  await writeFolderAtomic(dir, async (temp) => {
    value = await build(temp);
    await sealEntry(temp);
  });
  return value;
}

/** The entry's value: reused when whole and readable (unless `refresh`, as --retrain asks), else built and written. */
export async function cachedEntry<T>(
  entry: EntryReader<T> & { refresh?: boolean; build: (temp: string) => Promise<T> },
): Promise<{ value: T; reused: boolean }> {
  if (entry.refresh) await rm(entry.dir, { recursive: true, force: true });
  const reused = await reusableEntry(entry);
  if (reused !== null) return { value: reused, reused: true };
  return { value: await writeEntry(entry.dir, entry.build), reused: false };
}
