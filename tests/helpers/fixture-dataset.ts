/**
 * Test fixtures: dataset folders in the coursework layout (IMDB_overview_genres.csv + Images/<Id>.jpg),
 * generated from row specs, with posters made by sharp from raw pixels. Nothing here comes from
 * the real dataset.
 *
 *   const dir = await makeTempDir(t);
 *   await writeFixtureDataset(dir, [{ id: 'f1', genres: ['Drama'] }, { id: 'f2', cells: { Drama: '2' } }]);
 *   await writeFixtureDataset(dir, films, { csv: 'Id,Genre,...\r\n...' });   // raw CSV text or bytes
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as zlibConstants, crc32, deflateRawSync } from 'node:zlib';
import sharp from 'sharp';
import { COURSEWORK_GENRES, CSV_FILE_NAME } from '../../pipeline/lib/data/csv.ts';

export type Rgb = readonly [number, number, number];

export interface PosterSpec {
  /** Solid colour (default: derived from the film id). */
  colour?: Rgb;
  width?: number;
  height?: number;
  /** Encoded format (default jpeg); the file is still named `<Id>.jpg` unless `fileName` says otherwise. */
  format?: 'jpeg' | 'png';
  /** Colour space of the encoded file (default srgb). */
  space?: 'srgb' | 'b-w' | 'cmyk';
  /** Add an alpha channel with this opacity (0–1); PNG only. */
  alpha?: number;
}

export interface FixtureFilm {
  id: string;
  /** Positive genres (default ['Drama']); sets the one-hot cells and the default Genre text. */
  genres?: string[];
  /** The Genre column text (default: the Python list of `genres`, e.g. "['Comedy', 'Drama']"). */
  genreText?: string;
  /** Raw one-hot cell values by genre, overriding `genres` (e.g. { Drama: '2' }). */
  cells?: Record<string, string>;
  /** Default: a short sentence naming the id. */
  overview?: string;
  /** Values of extra columns (see `FixtureOptions.extraColumns`). */
  extra?: Record<string, string>;
  /** Poster: a spec, raw file bytes, or null for no poster file (default: solid-colour JPEG). */
  poster?: PosterSpec | Uint8Array | null;
  /** Poster file name inside Images/ (default `<id>.jpg`); useful for unsafe ids. */
  posterName?: string;
}

export interface FixtureOptions {
  /** Genre columns between Genre and Overview (default: the coursework's 25). */
  genres?: readonly string[];
  /** Extra columns appended after Overview. */
  extraColumns?: string[];
  /** Replaces the whole header (rows are still written in the default column order). */
  header?: string[];
  eol?: '\n' | '\r\n';
  bom?: boolean;
  /** Raw CSV text or bytes written instead of the generated CSV. */
  csv?: string | Uint8Array;
  /** Write the GENRELENS_DEMO_DATASET marker. */
  demo?: boolean;
  /** Create Images/ (default true). */
  images?: boolean;
  /** Write the CSV file (default true). */
  writeCsv?: boolean;
}

export interface FixtureDataset {
  dir: string;
  csvFile: string;
  imagesDir: string;
}

export const DEFAULT_POSTER_WIDTH = 24;
export const DEFAULT_POSTER_HEIGHT = 48;

/** A temporary folder removed after the test. */
export async function makeTempDir(t?: { after(fn: () => unknown): void }, prefix = 'genrelens-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function writeFixtureDataset(dir: string, films: FixtureFilm[], options: FixtureOptions = {}): Promise<FixtureDataset> {
  await mkdir(dir, { recursive: true });
  const csvFile = join(dir, CSV_FILE_NAME);
  const imagesDir = join(dir, 'Images');
  if (options.writeCsv !== false) {
    const content = options.csv ?? fixtureCsv(films, options);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await writeFile(csvFile, options.bom && typeof content === 'string' ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes);
  }
  if (options.images !== false) {
    await mkdir(imagesDir, { recursive: true });
    for (const film of films) {
      if (film.poster === null) continue;
      const bytes = film.poster instanceof Uint8Array ? film.poster : await makePoster({ colour: colourOf(film.id), ...film.poster });
      await writeFile(join(imagesDir, film.posterName ?? `${film.id}.jpg`), bytes);
    }
  }
  if (options.demo) await writeFile(join(dir, 'GENRELENS_DEMO_DATASET'), 'synthetic test fixture\n');
  return { dir, csvFile, imagesDir };
}

/** The CSV text for `films` (no BOM; see `FixtureOptions.bom`). */
export function fixtureCsv(films: FixtureFilm[], options: FixtureOptions = {}): string {
  const genres = options.genres ?? COURSEWORK_GENRES;
  const extras = options.extraColumns ?? [];
  const header = options.header ?? ['Id', 'Genre', ...genres, 'Overview', ...extras];
  const rows = films.map((film) => {
    const positive = film.genres ?? ['Drama'];
    const cells = genres.map((g) => film.cells?.[g] ?? (positive.includes(g) ? '1' : '0'));
    return [
      film.id,
      film.genreText ?? pythonList(positive),
      ...cells,
      film.overview ?? `A film called ${film.id}, with a plot.`,
      ...extras.map((column) => film.extra?.[column] ?? ''),
    ];
  });
  const eol = options.eol ?? '\n';
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join(eol) + eol;
}

/** Standard CSV quoting: quote when needed, double the quotes inside. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The coursework's Genre text: `['Comedy', 'Drama']`. */
export function pythonList(genres: readonly string[]): string {
  return `[${genres.map((g) => `'${g}'`).join(', ')}]`;
}

/** A deterministic, distinct-ish colour per id. */
export function colourOf(id: string): Rgb {
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff];
}

/** A solid-colour poster file made by sharp from raw pixels. */
export async function makePoster(spec: PosterSpec = {}): Promise<Buffer> {
  const width = spec.width ?? DEFAULT_POSTER_WIDTH;
  const height = spec.height ?? DEFAULT_POSTER_HEIGHT;
  const [r, g, b] = spec.colour ?? [200, 40, 90];
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i += 3) {
    raw[i] = r;
    raw[i + 1] = g;
    raw[i + 2] = b;
  }
  let image = sharp(raw, { raw: { width, height, channels: 3 } });
  if (spec.space === 'b-w') image = image.toColourspace('b-w');
  if (spec.space === 'cmyk') image = image.toColourspace('cmyk');
  if (spec.alpha !== undefined) image = image.ensureAlpha(spec.alpha);
  return spec.format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 95 }).toBuffer();
}

/**
 * A valid all-black 8-bit grayscale PNG of any size, built directly (no pixel buffer): the
 * compressed rows are one deflate block repeated, so a 20000x20000 image is ~0.5 MB and instant.
 */
export function blackPng(width: number, height: number): Buffer {
  const rowBytes = width + 1; // filter byte + one byte per pixel
  const rowsPerPiece = Math.max(1, Math.min(height, Math.floor(4_000_000 / rowBytes)));
  const piece = (rows: number) => deflateRawSync(Buffer.alloc(rows * rowBytes), { level: 9, finishFlush: zlibConstants.Z_FULL_FLUSH });
  const full = piece(rowsPerPiece);
  const pieces: Buffer[] = [Buffer.from([0x78, 0x01])];
  for (let done = 0; done < height; done += rowsPerPiece) pieces.push(done + rowsPerPiece <= height ? full : piece(height - done));
  pieces.push(Buffer.from([0x03, 0x00])); // empty final block
  const total = rowBytes * height; // all zero bytes: adler32 = (n mod 65521) << 16 | 1
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0);
  pieces.push(adler);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(pieces)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG whose header says `width` x `height` but whose pixel data is garbage: reading its size
 * works, decoding it fails. A loader that rejects it as too large cannot have tried to decode it.
 */
export function pngWithBrokenPixels(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2; // RGB
  const garbage = Buffer.alloc(64);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 151 + 7) & 0xff;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', garbage),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first `fraction` of a noisy JPEG's bytes: a real truncated download. */
export async function truncatedJpeg(fraction = 0.6): Promise<Buffer> {
  const width = 48;
  const height = 96;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 5) * 31) & 0xff;
  const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  return jpeg.subarray(0, Math.floor(jpeg.length * fraction));
}
