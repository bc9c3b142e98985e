/**
 * Loads a dataset folder in the coursework layout:
 *
 *   <dir>/IMDB_overview_genres.csv   Id, Genre, <genre one-hot columns…>, Overview
 *   <dir>/Images/<Id>.jpg            one poster per film
 *   <dir>/GENRELENS_DEMO_DATASET     (optional) marks the folder as synthetic demo data
 *
 * Structural problems stop with a `UserError`; bad rows and bad posters are skipped and counted by
 * reason in `quality`, with examples, so nothing is lost silently.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CSV_FILE_NAME, CSV_SKIP_REASONS, CSV_WARNING_REASONS, readGenreCsv, type CsvFilmRow } from './csv.ts';
import type { Effects } from '../core/effects.ts';
import { UserError } from '../core/errors.ts';
import { sha256 } from '../core/files.ts';
import {
  loadPosters,
  posterBytes,
  POSTER_SKIP_REASONS,
  POSTER_WARNING_REASONS,
  type PosterFit,
  type PosterKernel,
  type PosterPreprocessing,
} from './posters.ts';

export const IMAGES_DIR = 'Images';
export const DEMO_MARKER = 'GENRELENS_DEMO_DATASET';
const CONTENT_HASH_VERSION = 'genrelens-dataset-v1';
const MAX_EXAMPLES = 5;

export interface Film {
  id: string;
  /** 1-based CSV line where the film's row starts. */
  line: number;
  /** Positive genres in genre-column order. */
  genres: string[];
  /** One-hot, genre-column order. */
  labels: Uint8Array;
  overview: string;
  /** Relative to the dataset folder, e.g. `Images/tt0086425.jpg`. */
  posterFile: string;
}

export interface QualityEntry {
  /** Stable kebab-case id, e.g. 'bad-one-hot-cell'. */
  reason: string;
  description: string;
  count: number;
  /** At most 5, in line order. */
  examples: { line: number; id?: string; detail: string }[];
}

export interface DataQuality {
  csvFile: string;
  rowsRead: number;
  validFilms: number;
  skippedRows: number;
  skipped: QualityEntry[];
  /** Problems in rows that were kept. */
  warnings: QualityEntry[];
  columnWarnings: string[];
  neverPositiveGenres: string[];
  posterCache: { hits: number; misses: number };
}

export interface LoadedDataset {
  /** Absolute path of the dataset folder. */
  dir: string;
  genres: string[];
  films: Film[];
  /** films.length * H * W * 3 uint8 RGB, same order as films. */
  posterPixels: Uint8Array;
  posterPreprocessing: PosterPreprocessing;
  quality: DataQuality;
  /** sha256 over the CSV bytes + each valid poster's bytes hash + preprocessing. */
  contentHash: string;
  /** True when the folder has a file named GENRELENS_DEMO_DATASET. */
  synthetic: boolean;
}

export interface LoadDatasetOptions {
  imageSize?: number;
  maxPosterPixels?: number;
  resizeKernel?: PosterKernel;
  fit?: PosterFit;
  /** Cache root (posters are cached under `<cacheDir>/posters/`). */
  cacheDir: string;
  /** Posters decoded at a time (default 2–4). */
  concurrency?: number;
}

/** Every reason id with its description, in the order reports list them. */
export const SKIP_REASONS: Record<string, string> = { ...CSV_SKIP_REASONS, ...POSTER_SKIP_REASONS };
export const WARNING_REASONS: Record<string, string> = { ...CSV_WARNING_REASONS, ...POSTER_WARNING_REASONS };

interface Issue {
  reason: string;
  line: number;
  id?: string;
  detail: string;
}

export async function loadDataset(dir: string, options: LoadDatasetOptions, effects: Effects): Promise<LoadedDataset> {
  const root = resolve(dir);
  await checkLayout(root);
  const csvFile = join(root, CSV_FILE_NAME);
  const imagesDir = join(root, IMAGES_DIR);

  const csv = await readGenreCsv(csvFile);
  for (const warning of csv.columnWarnings) effects.warn(`${csvFile}: ${warning}`);

  // Poster files: one listing of Images/ instead of thousands of failed opens.
  const entries = await readdir(imagesDir);
  const exact = new Set(entries);
  const byLowerName = new Map<string, string>();
  for (const name of entries) if (!byLowerName.has(name.toLowerCase())) byLowerName.set(name.toLowerCase(), name);

  const skipped: Issue[] = csv.skipped.slice();
  const candidates: { row: CsvFilmRow; name: string; nameWarning?: Issue }[] = [];
  for (const row of csv.rows) {
    const expected = `${row.id}.jpg`;
    if (exact.has(expected)) {
      candidates.push({ row, name: expected });
      continue;
    }
    const alternative = [expected, `${row.id}.jpeg`, `${row.id}.png`].map((n) => byLowerName.get(n.toLowerCase())).find((n) => n !== undefined);
    if (alternative !== undefined) {
      candidates.push({
        row,
        name: alternative,
        nameWarning: {
          reason: 'poster-file-name',
          line: row.line,
          id: row.id,
          detail: `used ${IMAGES_DIR}/${alternative} (expected ${IMAGES_DIR}/${expected})`,
        },
      });
    } else {
      skipped.push({ reason: 'missing-poster', line: row.line, id: row.id, detail: `no poster file ${IMAGES_DIR}/${expected}` });
    }
  }

  const batch = await loadPosters(
    candidates.map((c) => join(imagesDir, c.name)),
    {
      imageSize: options.imageSize,
      maxPosterPixels: options.maxPosterPixels,
      resizeKernel: options.resizeKernel,
      fit: options.fit,
      cacheDir: options.cacheDir,
      concurrency: options.concurrency,
      allowedRoots: [root, imagesDir],
    },
    effects,
  );

  const per = posterBytes(batch.preprocessing);
  const films: Film[] = [];
  const fileHashes: string[] = [];
  const warnings: Issue[] = [];
  let write = 0;
  candidates.forEach(({ row, name, nameWarning }, index) => {
    const outcome = batch.outcomes[index];
    if (!outcome.ok) {
      skipped.push({ reason: outcome.reason, line: row.line, id: row.id, detail: `${IMAGES_DIR}/${name}: ${outcome.detail}` });
      return;
    }
    if (write !== index) batch.pixels.copyWithin(write * per, index * per, (index + 1) * per);
    write++;
    films.push({ id: row.id, line: row.line, genres: row.genres, labels: row.labels, overview: row.overview, posterFile: `${IMAGES_DIR}/${name}` });
    fileHashes.push(outcome.fileHash);
    warnings.push(...row.warnings);
    if (nameWarning) warnings.push(nameWarning);
    for (const w of outcome.warnings) warnings.push({ reason: w.reason, line: row.line, id: row.id, detail: `${IMAGES_DIR}/${name}: ${w.detail}` });
  });
  const posterPixels = films.length === candidates.length ? batch.pixels : batch.pixels.slice(0, films.length * per);

  const genres = csv.genres;
  const positives = genres.map(() => 0);
  for (const film of films) for (let g = 0; g < genres.length; g++) positives[g] += film.labels[g];
  const quality: DataQuality = {
    csvFile,
    rowsRead: csv.rowsRead,
    validFilms: films.length,
    skippedRows: csv.rowsRead - films.length,
    skipped: summarise(skipped, SKIP_REASONS),
    warnings: summarise(warnings, WARNING_REASONS),
    columnWarnings: csv.columnWarnings,
    neverPositiveGenres: genres.filter((_, g) => positives[g] === 0),
    posterCache: { hits: batch.hits, misses: batch.misses },
  };
  const skippedTotal = quality.skipped.reduce((sum, entry) => sum + entry.count, 0);
  if (skippedTotal !== quality.skippedRows) throw new Error(`internal: ${skippedTotal} skip records for ${quality.skippedRows} skipped rows`);

  if (films.length === 0) {
    throw new UserError(`no usable film in the dataset: all ${csv.rowsRead} rows were skipped (${describeCounts(quality.skipped)})`, {
      file: csvFile,
      fix: `fix the rows as the reasons say, e.g. ${quality.skipped
        .slice(0, 3)
        .map((e) => `line ${e.examples[0].line}: ${e.examples[0].detail}`)
        .join('; ')}`,
    });
  }
  if (quality.skippedRows > 0) {
    effects.warn(`${csvFile}: skipped ${quality.skippedRows} of ${csv.rowsRead} rows (${describeCounts(quality.skipped)}); run check-data for the details`);
  }
  if (quality.warnings.length > 0) {
    effects.warn(`${csvFile}: kept rows with warnings (${describeCounts(quality.warnings)}); run check-data for the details`);
  }

  const preprocessing = batch.preprocessing;
  const contentHash = sha256(
    CONTENT_HASH_VERSION,
    '\0',
    sha256(csv.bytes),
    '\0',
    JSON.stringify(preprocessing),
    '\0',
    films.map((film, i) => `${film.id}:${fileHashes[i]}`).join('\n'),
  );

  return {
    dir: root,
    genres,
    films,
    posterPixels,
    posterPreprocessing: preprocessing,
    quality,
    contentHash,
    synthetic: existsSync(join(root, DEMO_MARKER)),
  };
}

/** The human summary that `check-data` prints. */
export function formatDataQuality(dataset: LoadedDataset): string {
  const { quality, genres, films, posterPreprocessing: pre } = dataset;
  const out: string[] = [];
  out.push(`Dataset: ${dataset.dir}${dataset.synthetic ? ' (synthetic demo data)' : ''}`);
  out.push(`CSV: ${quality.csvFile}`);
  out.push(`Films: ${quality.rowsRead} rows read, ${quality.validFilms} valid, ${quality.skippedRows} skipped`);
  out.push(`Genre columns: ${genres.length}`);
  out.push(
    `Posters: ${pre.width}x${pre.height} RGB, fit ${pre.fit}, kernel ${pre.kernel}, ${pre.normalisation}; cache ${quality.posterCache.hits} hits, ${quality.posterCache.misses} misses (decoded)`,
  );

  const counts = genres.map((genre, g) => ({ genre, g, count: films.reduce((sum, film) => sum + film.labels[g], 0) }));
  const width = Math.max(...genres.map((g) => g.length));
  const digits = String(Math.max(1, ...counts.map((c) => c.count))).length;
  out.push('', 'Labels per genre:');
  for (const { genre, count } of counts.slice().sort((a, b) => b.count - a.count || a.g - b.g)) {
    const share = films.length > 0 ? ((100 * count) / films.length).toFixed(1) : '0.0';
    out.push(`  ${genre.padEnd(width)}  ${String(count).padStart(digits)}  ${share.padStart(5)}%`);
  }

  const perFilm = new Map<number, number>();
  for (const film of films) {
    const k = film.labels.reduce((sum, v) => sum + v, 0);
    perFilm.set(k, (perFilm.get(k) ?? 0) + 1);
  }
  out.push('', 'Labels per film:');
  for (const [k, n] of [...perFilm.entries()].sort(([a], [b]) => a - b)) out.push(`  ${k} genre${k === 1 ? '' : 's'}: ${n} film${n === 1 ? '' : 's'}`);

  out.push('', `Never-positive genres (no film has them): ${quality.neverPositiveGenres.length > 0 ? quality.neverPositiveGenres.join(', ') : 'none'}`);

  out.push('', quality.skipped.length > 0 ? `Skipped rows (${quality.skippedRows}):` : 'Skipped rows: none');
  formatEntries(quality.skipped, out);
  const warned = quality.warnings.reduce((sum, e) => sum + e.count, 0);
  out.push('', quality.warnings.length > 0 ? `Warnings on kept rows (${warned}):` : 'Warnings on kept rows: none');
  formatEntries(quality.warnings, out);
  out.push('', quality.columnWarnings.length > 0 ? 'Column warnings:' : 'Column warnings: none');
  for (const warning of quality.columnWarnings) out.push(`  - ${warning}`);
  return out.join('\n');
}

// ---- Internals ----------------------------------------------------------------------------------

async function checkLayout(root: string): Promise<void> {
  const info = await stat(root).catch(() => null);
  if (!info) {
    throw new UserError('the dataset folder does not exist', {
      file: root,
      fix: `point --dataset at a folder with ${CSV_FILE_NAME} and ${IMAGES_DIR}/ (the coursework's Multimodal_IMDB_dataset/)`,
    });
  }
  if (!info.isDirectory()) {
    throw new UserError('the dataset path is a file, not a folder', {
      file: root,
      fix: `point --dataset at the folder that holds ${CSV_FILE_NAME} and ${IMAGES_DIR}/`,
    });
  }
  // A folder or a link to one (a symlinked Images/ is a legitimate layout).
  const entries = (await readdir(root, { withFileTypes: true })).map((e) => ({
    name: e.name,
    isFile: () => e.isFile(),
    isDirectory: () => e.isDirectory() || (e.isSymbolicLink() && (statSync(join(root, e.name), { throwIfNoEntry: false })?.isDirectory() ?? false)),
  }));
  const csvFile = join(root, CSV_FILE_NAME);
  if (!entries.some((e) => e.name === CSV_FILE_NAME && !e.isDirectory())) {
    const near = entries.find((e) => e.name.toLowerCase() === CSV_FILE_NAME.toLowerCase() && !e.isDirectory());
    const otherCsv = entries.filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.csv')).map((e) => e.name);
    throw new UserError(`no ${CSV_FILE_NAME} in the dataset folder (expected ${csvFile})`, {
      file: csvFile,
      fix: near
        ? `rename ${near.name} to ${CSV_FILE_NAME} (the name is case-sensitive)`
        : otherCsv.length > 0
          ? `rename the dataset CSV (found: ${otherCsv.slice(0, 3).join(', ')}) to ${CSV_FILE_NAME}, with columns Id, Genre, <genres…>, Overview`
          : `put the coursework's ${CSV_FILE_NAME} (columns Id, Genre, <genres…>, Overview) in ${root}`,
    });
  }
  const imagesDir = join(root, IMAGES_DIR);
  if (!entries.some((e) => e.name === IMAGES_DIR && e.isDirectory())) {
    const near = entries.find((e) => e.name.toLowerCase() === IMAGES_DIR.toLowerCase() && e.isDirectory());
    throw new UserError(`no ${IMAGES_DIR}/ folder in the dataset folder (expected ${imagesDir})`, {
      file: imagesDir,
      fix: near
        ? `rename the folder ${near.name}/ to ${IMAGES_DIR}/ (the name is case-sensitive)`
        : `put the posters in ${imagesDir}/<Id>.jpg, one per CSV row`,
    });
  }
}

function summarise(issues: Issue[], catalogue: Record<string, string>): QualityEntry[] {
  const byReason = new Map<string, Issue[]>();
  for (const issue of issues) {
    const list = byReason.get(issue.reason) ?? [];
    list.push(issue);
    byReason.set(issue.reason, list);
  }
  const order = Object.keys(catalogue);
  const rank = (reason: string) => (order.includes(reason) ? order.indexOf(reason) : order.length);
  return [...byReason.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([reason, list]) => ({
      reason,
      description: catalogue[reason] ?? reason,
      count: list.length,
      examples: list
        .slice()
        .sort((a, b) => a.line - b.line)
        .slice(0, MAX_EXAMPLES)
        .map(({ line, id, detail }) => (id !== undefined ? { line, id, detail } : { line, detail })),
    }));
}

function describeCounts(entries: QualityEntry[]): string {
  return entries.map((e) => `${e.count} ${e.reason}`).join(', ');
}

function formatEntries(entries: QualityEntry[], out: string[]): void {
  for (const entry of entries) {
    out.push(`  ${entry.reason} (${entry.count}): ${entry.description}`);
    for (const example of entry.examples) out.push(`    line ${example.line}${example.id !== undefined ? ` (${example.id})` : ''}: ${example.detail}`);
    if (entry.count > entry.examples.length) out.push(`    … and ${entry.count - entry.examples.length} more`);
  }
}

/** One-hot labels of the films at `rows` (default: every film, in order), films × genres, row-major. */
export function filmLabels(dataset: Pick<LoadedDataset, 'films' | 'genres'>, rows?: readonly number[]): Uint8Array {
  const genreCount = dataset.genres.length;
  const films = rows ?? dataset.films.map((_, i) => i);
  const labels = new Uint8Array(films.length * genreCount);
  films.forEach((film, i) => labels.set(dataset.films[film].labels, i * genreCount));
  return labels;
}
