/**
 * Cache entries that prove they are whole. A cache entry is a folder (a trained model, a trained
 * fusion); once everything in it is written, `sealEntry` records the size and SHA-256 of each file
 * in `entry.json`, written last. Before an entry is reused, `checkEntry` re-reads every file and
 * compares: a truncated, edited or missing file makes the entry damaged, and the caller reports it
 * in one line and computes it again, instead of publishing what happens to be on disk.
 *
 * Hashing is cheap beside what it guards: the two coursework models are about 31 MB together, read
 * and hashed in a fraction of a second; training them takes minutes to hours.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { filesUnder, readJson, writeJsonAtomic } from './files.ts';

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
