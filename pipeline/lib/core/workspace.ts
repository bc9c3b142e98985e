/**
 * The folders genrelens writes (site, artifacts, published files, cache), guarded so that it only
 * ever deletes or replaces what it made:
 *
 * - `checkOutputFolders`, before any stage: no output folder may be or hold the project, the
 *   dataset or another output folder, and each must be new, empty, or carry genrelens's marker
 *   file from an earlier run. Anything else is refused with no change.
 * - `lockOutputFolders`: one lock file per output folder (O_EXCL), naming the run that holds it;
 *   a second build on the same folders stops with that build's PID; a lock whose process is gone is
 *   taken over.
 * - `replaceFolder`: a folder is rebuilt in a temporary sibling and swapped in by renames, so the old
 *   one stays whole until the new one is complete; leftovers of an interrupted swap are recovered
 *   or removed on the next run.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UserError } from './errors.ts';
import { processAlive, sha256, temporarySuffix } from './files.ts';

/** The marker genrelens leaves in every output folder it creates. */
export const MARKER_FILE = '.genrelens-output';

export interface OutputFolder {
  /** The flag that sets it, for messages (e.g. `--out-dir`). */
  flag: string;
  path: string;
  /** Replaced whole by each run (the site): it must be new, empty or marked as genrelens's. */
  replaced?: boolean;
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
function realish(path: string): string {
  const absolute = resolve(path);
  let existing = absolute;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    rest.unshift(basename(existing));
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  return join(realpathSync(existing), ...rest);
}

const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

function ownedByGenrelens(dir: string): { ok: true } | { ok: false; why: string } {
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    return { ok: true }; // does not exist yet
  }
  if (!stats.isDirectory()) return { ok: false, why: 'it is a file, not a folder' };
  const entries = readdirSync(dir);
  if (entries.length === 0 || entries.includes(MARKER_FILE)) return { ok: true };
  const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
  return { ok: false, why: `it holds files genrelens did not make (${shown}) and no ${MARKER_FILE} marker` };
}

/**
 * Refuses, before anything is written, output folders that could destroy something genrelens did
 * not make. `protect` are folders that must neither be nor hold nor lie inside an output folder
 * (the project, the dataset); output folders must not overlap each other either.
 */
export function checkOutputFolders(outputs: readonly OutputFolder[], protect: readonly OutputFolder[]): void {
  const real = outputs.map((o) => ({ ...o, real: realish(o.path) }));
  const guarded = protect.map((p) => ({ ...p, real: realish(p.path) }));
  const fix = 'choose a new or empty folder (or one an earlier genrelens run made) outside the project root, the dataset and the other output folders';
  for (const output of real) {
    for (const other of guarded) {
      const project = other.flag === 'the project';
      // The project may hold output folders (dist/, .cache/), but no output folder may be the project or hold it.
      const clash = project ? within(other.real, output.real) : within(output.real, other.real) || within(other.real, output.real);
      if (clash) {
        throw new UserError(
          `${output.flag} ${output.path} ${output.real === other.real ? 'is' : within(output.real, other.real) ? 'is inside' : 'holds'} ${other.flag} (${other.path}): genrelens replaces that folder and would delete what is there`,
          { fix },
        );
      }
    }
  }
  for (const output of real) {
    for (const other of real) {
      if (other === output || other.flag === output.flag) continue;
      if (within(output.real, other.real) || within(other.real, output.real)) {
        throw new UserError(`${output.flag} ${output.path} and ${other.flag} ${other.path} overlap: each must be a folder of its own`, { fix });
      }
    }
  }
  for (const output of real) {
    const owned = output.replaced ? ownedByGenrelens(output.real) : ({ ok: true } as const);
    if (!owned.ok) throw new UserError(`refusing to use ${output.path} for ${output.flag}: ${owned.why}; genrelens only replaces folders it made`, { fix });
    const unwritable = unwritableFolder(output.real);
    if (unwritable) {
      throw new UserError(`${output.flag} ${output.path}: genrelens cannot write in ${unwritable.dir} (${unwritable.code}); nothing was changed`, {
        fix: 'choose a folder you can write to, or make this one writable',
      });
    }
  }
}

/**
 * The first folder a run must write in but cannot, with the reason: the output folder itself when it
 * exists, and the folder beside it (where its new version is staged and swapped in), else the
 * nearest existing ancestor, where it will be created. Checked before anything is written, so a
 * read-only place fails at once instead of half-way through.
 */
function unwritableFolder(dir: string): { dir: string; code: string } | null {
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  for (const folder of existsSync(dir) ? [dir, parent] : [parent]) {
    try {
      accessSync(folder, constants.W_OK);
    } catch (error) {
      return { dir: folder, code: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
  }
  return null;
}

/** Marks a folder as made by genrelens (so a later run may replace it). */
export async function markOutputFolder(dir: string, what: string): Promise<void> {
  await writeFile(join(dir, MARKER_FILE), `Made by genrelens: ${what}. genrelens may delete or replace this folder.\n`);
}

// ---------------------------------------------------------------------------------------------
// Locks

interface LockInfo {
  pid: number;
  command: string;
  started: string;
}

/**
 * One lock file per folder, named by a hash of its real path, in the machine's temporary folder:
 * never inside a folder the site is built from (Astro would publish it), and shared by every run
 * whatever its cache folder.
 */
export function lockPath(dir: string): string {
  return join(tmpdir(), 'genrelens-locks', `${sha256(dir).slice(0, 24)}.lock`);
}

/**
 * Takes a lock on each output folder (a lock file beside it, created exclusively). Another live
 * build holding one stops this one with a message naming it; a lock left by a killed build is
 * taken over. Returns the release function (also run when the process exits).
 */
export function lockOutputFolders(dirs: readonly string[], command: string, log: (line: string) => void): () => void {
  const taken: string[] = [];
  const release = () => {
    for (const file of taken.splice(0)) rmSync(file, { force: true });
  };
  const info: LockInfo = { pid: process.pid, command, started: new Date().toISOString() };
  try {
    for (const dir of [...new Set(dirs.map((d) => realish(d)))].sort()) {
      const file = lockPath(dir);
      for (let attempt = 0; ; attempt++) {
        try {
          const fd = openSync(file, 'wx');
          writeSync(fd, JSON.stringify(info));
          closeSync(fd);
          taken.push(file);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            mkdirSync(dirname(file), { recursive: true });
            continue;
          }
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
          let holder: LockInfo | undefined;
          try {
            holder = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
          } catch {
            holder = undefined; // being written, or unreadable: treat as stale after a retry
          }
          if (holder && holder.pid !== process.pid && processAlive(holder.pid)) {
            throw new UserError(`another genrelens run (PID ${holder.pid}, \`${holder.command}\`, started ${holder.started}) is using ${dir}`, {
              fix: `wait for it to finish, or stop it (kill ${holder.pid}); two runs on the same folders would overwrite each other`,
            });
          }
          log(`Taking over the lock of a genrelens run that is gone (${holder ? `PID ${holder.pid}` : 'unreadable lock'}): ${file}`);
          rmSync(file, { force: true });
        }
      }
    }
  } catch (error) {
    release();
    throw error;
  }
  process.once('exit', release);
  return release;
}

// ---------------------------------------------------------------------------------------------
// Atomic replacement

const TEMP_TAG = '.genrelens-new-';
const OLD_TAG = '.genrelens-old-';

/**
 * Puts back or removes what an interrupted `replaceFolder` left beside `dir`: a folder being built
 * is removed; an old copy is renamed back when `dir` itself is missing (killed between the two
 * renames), else removed. Only run while holding the folder's lock.
 */
export async function recoverFolder(dir: string, log: (line: string) => void): Promise<void> {
  const parent = dirname(dir);
  const prefix = `.${basename(dir)}`;
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix + OLD_TAG))) {
    if (!existsSync(dir)) {
      await rename(join(parent, name), dir);
      log(`Recovered ${dir} from an interrupted run`);
    } else {
      await rm(join(parent, name), { recursive: true, force: true });
    }
  }
  for (const name of names.filter((n) => n.startsWith(prefix + TEMP_TAG))) {
    await rm(join(parent, name), { recursive: true, force: true });
    log(`Removed ${join(parent, name)}, left by an interrupted run`);
  }
}

/**
 * Builds a new version of `dir` with `fill(tempDir)` in a sibling folder, marks it as genrelens's,
 * then swaps it in: rename the old folder aside, rename the new one into place, delete the old.
 * If `fill` fails, the temporary folder is removed and `dir` is untouched.
 */
export async function replaceFolder(dir: string, what: string, fill: (tempDir: string) => Promise<void>): Promise<void> {
  const temp = siblingOf(dir, TEMP_TAG);
  try {
    await fill(temp);
    await markOutputFolder(temp, what);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  await swapIn(temp, dir);
}

/** A hidden sibling of `dir` for this process: `.<name><tag><pid>-<random>` (recoverFolder knows them). */
function siblingOf(dir: string, tag: string): string {
  return join(dirname(dir), `.${basename(dir)}${tag}${process.pid}-${temporarySuffix()}`);
}

/** Puts the complete folder `temp` in the place of `dir` with two renames; the old `dir` is deleted last. */
async function swapIn(temp: string, dir: string): Promise<void> {
  const old = siblingOf(dir, OLD_TAG);
  const hadOld = existsSync(dir);
  if (hadOld) await rename(dir, old);
  await rename(temp, dir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

export interface StagedFolder {
  /** Where the run writes instead of the folder: a sibling copy of it. */
  stage: string;
  /** Swaps the staged copy in (once everything in it is written). */
  commit(): Promise<void>;
  /** Deletes the staged copy; the folder stays as it was. */
  discard(): Promise<void>;
}

/**
 * Stages a folder that a run updates file by file (the artifacts, the public files): the run writes
 * into a sibling copy of it, which `commit` swaps in. A run that fails or is killed leaves the
 * folder as the last complete run left it, never half of one run's files mixed with another's.
 * Everything in the folder is carried over, so a stage that reuses what it wrote last time still can.
 */
export async function stageFolder(dir: string): Promise<StagedFolder> {
  const stage = siblingOf(dir, TEMP_TAG);
  await mkdir(dirname(dir), { recursive: true });
  if (existsSync(dir)) await cp(dir, stage, { recursive: true, verbatimSymlinks: true });
  else await mkdir(stage);
  return {
    stage,
    commit: () => swapIn(stage, dir),
    discard: () => rm(stage, { recursive: true, force: true }),
  };
}

/**
 * Removes the private build folders (`<pid>-<time>`, see cli.ts `buildSite`) of runs that are gone;
 * those of live runs (the tests build several sites at once) stay.
 */
export async function removeStaleBuildFolders(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) await rm(join(dir, name), { recursive: true, force: true });
  }
}
