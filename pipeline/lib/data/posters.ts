/**
 * Poster decoding with sharp: every poster becomes `width`x`height` RGB uint8 (the coursework's Keras
 * `load_img(path, target_size=(64, 64))`: full decode, convert to RGB, stretch with nearest-neighbour
 * sampling). Results are cached by content (poster bytes + preprocessing + cache version), failures
 * too, so a second run over the same dataset decodes nothing.
 */
import { constants } from 'node:fs';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { Effects } from '../core/effects.ts';
import { sha256, writeFileAtomic } from '../core/files.ts';

export type PosterKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' | 'mks2013' | 'mks2021';
/** `fill` stretches (Keras); `cover` crops; `contain` letterboxes on black. All give exactly width x height. */
export type PosterFit = 'fill' | 'cover' | 'contain';

/** How posters were turned into model input; recorded in the dataset metadata. */
export interface PosterPreprocessing {
  width: number;
  height: number;
  channels: 3;
  fit: PosterFit;
  kernel: PosterKernel;
  /** Stored as uint8; the model input is value / 255 (`posterBatchToFloat32`). */
  normalisation: 'divide-by-255';
}

export const DEFAULT_IMAGE_SIZE = 64;
export const DEFAULT_MAX_POSTER_PIXELS = 50_000_000;
export const DEFAULT_RESIZE_KERNEL: PosterKernel = 'nearest';
export const DEFAULT_FIT: PosterFit = 'fill';
/**
 * Bump when decoding or the cache's format changes in a way that changes cached results.
 * v3: each cached poster records the SHA-256 of its pixels, checked on every read.
 */
export const POSTER_CACHE_VERSION = 'genrelens-poster-cache-v3';

/**
 * Posters decoded at a time by default: four per core, at most 8. Each waits on its file's read and
 * its cache entry's write as well as on decoding, so the cores stay busy only with more posters in
 * flight than cores (sharp's work runs on libuv's four threads). The shared dataset's 5,693 posters,
 * cache empty, on 2 cores: 20.0–21.1 s with 2 at a time, 15.7–17.2 s with 4, 14.3–14.7 s with 8
 * (`genrelens prepare`, alternating). 8 decoded full-size posters at the pixel limit would hold
 * 1.2 GB; the coursework's are a few hundred thousand pixels.
 */
export function posterConcurrency(cores = availableParallelism()): number {
  return Math.min(8, 4 * Math.max(1, cores));
}

const KERNELS: readonly PosterKernel[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'];
const FITS: readonly PosterFit[] = ['fill', 'cover', 'contain'];

export const POSTER_SKIP_REASONS = {
  'missing-poster': 'Poster file Images/<Id>.jpg does not exist',
  'unreadable-poster': 'Poster file is truncated, corrupt or not an image',
  'poster-too-large': 'Poster has more pixels than the limit (rejected before decoding)',
  'poster-not-a-file': 'Poster path is not a regular file (a folder, device, pipe or socket), so it is not read',
  'poster-outside-dataset': 'Poster is a link to a file outside the dataset folder, so it is not read',
  'poster-file-too-large': 'Poster file is larger than the byte limit (not read)',
} as const;

/** No poster file is read past this many bytes (the coursework's largest is well under 1 MB). */
export const MAX_POSTER_FILE_BYTES = 64 * 1024 * 1024;

export type PosterRead = { ok: true; bytes: Uint8Array } | { ok: false; reason: PosterSkipReason; detail: string };

/**
 * The real paths (links followed) of the folders posters may be in: the dataset folder, and its
 * Images/ folder, which may itself be a link. Resolved once per run, for `readPosterFile`.
 */
export function realPosterRoots(allowedRoots: readonly string[]): Promise<string[]> {
  return Promise.all(allowedRoots.map((root) => realpath(root).catch(() => resolve(root))));
}

/**
 * Reads one poster file, asking first what it is: only a regular file (never a device, pipe, socket
 * or folder), only inside one of `roots` (from `realPosterRoots`) once links are followed, and at
 * most `maxBytes` bytes.
 */
export async function readPosterFile(file: string, roots: readonly string[], maxBytes = MAX_POSTER_FILE_BYTES): Promise<PosterRead> {
  let real: string;
  try {
    real = await realpath(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing-poster', detail: `no poster file ${file}` };
    return { ok: false, reason: 'unreadable-poster', detail: `cannot read ${file} (${code ?? String(error)})` };
  }
  if (!roots.some((root) => real === root || real.startsWith(root + sep))) {
    return { ok: false, reason: 'poster-outside-dataset', detail: `${file} leads to ${real}, outside the dataset folder` };
  }
  const info = await stat(real);
  if (!info.isFile()) return { ok: false, reason: 'poster-not-a-file', detail: `${file} is ${info.isDirectory() ? 'a folder' : 'not a regular file'}` };
  if (info.size > maxBytes) return { ok: false, reason: 'poster-file-too-large', detail: `${file} has ${info.size} bytes (limit ${maxBytes})` };
  // O_NONBLOCK: should the file have been swapped for a pipe since, opening it cannot hang.
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buffer = new Uint8Array(Math.min(maxBytes + 1, info.size + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return { ok: false, reason: 'poster-file-too-large', detail: `${file} is larger than ${maxBytes} bytes` };
    return { ok: true, bytes: buffer.subarray(0, length) };
  } finally {
    await handle.close();
  }
}

export const POSTER_WARNING_REASONS = {
  'poster-format-mismatch': 'Poster content is not the format its file name says (decoded by its content)',
  'poster-grayscale': 'Grayscale poster converted to RGB',
  'poster-cmyk': 'CMYK poster converted to RGB',
  'poster-alpha': 'Poster alpha channel (transparency) dropped',
  'poster-colour-converted': 'Poster in another colour space converted to 8-bit sRGB',
  'poster-file-name': 'Poster found under a differently spelt file name',
} as const;

export type PosterSkipReason = keyof typeof POSTER_SKIP_REASONS;
export type PosterWarningReason = keyof typeof POSTER_WARNING_REASONS;

export interface PosterIssue<R extends string = string> {
  reason: R;
  detail: string;
}

export type PosterOutcome =
  | { ok: true; fileHash: string; warnings: PosterIssue<PosterWarningReason>[]; cached: boolean }
  | { ok: false; reason: PosterSkipReason; detail: string; fileHash?: string; cached: boolean };

export interface PosterOptions {
  /** Output width and height (default 64). */
  imageSize?: number;
  /** Posters with more pixels than this are rejected from their header, before decoding (default 50,000,000). */
  maxPosterPixels?: number;
  /** Resize kernel (default 'nearest', as Keras `load_img`). */
  resizeKernel?: PosterKernel;
  /** Resize fit (default 'fill': stretch, as Keras `load_img`). */
  fit?: PosterFit;
}

export interface PosterLoadOptions extends PosterOptions {
  /** Cache root; posters are cached under `<cacheDir>/posters/`. */
  cacheDir: string;
  /** Posters decoded at a time (default `posterConcurrency()`). */
  concurrency?: number;
  /** Folders a poster may be in once links are followed (see `readPosterFile`). */
  allowedRoots: readonly string[];
}

export interface PosterBatch {
  /** files.length * height * width * 3 bytes, RGB, in `files` order; zero where a poster failed. */
  pixels: Uint8Array;
  outcomes: PosterOutcome[];
  hits: number;
  misses: number;
  preprocessing: PosterPreprocessing;
}

export function posterPreprocessing(options: PosterOptions = {}): PosterPreprocessing {
  const size = options.imageSize ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new RangeError(`imageSize must be an integer from 1 to 4096, got ${size}`);
  const kernel = options.resizeKernel ?? DEFAULT_RESIZE_KERNEL;
  if (!KERNELS.includes(kernel)) throw new RangeError(`resizeKernel must be one of ${KERNELS.join(', ')}, got ${String(kernel)}`);
  const fit = options.fit ?? DEFAULT_FIT;
  if (!FITS.includes(fit)) throw new RangeError(`fit must be one of ${FITS.join(', ')}, got ${String(fit)}`);
  return { width: size, height: size, channels: 3, fit, kernel, normalisation: 'divide-by-255' };
}

/** Bytes of one preprocessed poster. */
export function posterBytes(preprocessing: Pick<PosterPreprocessing, 'width' | 'height'>): number {
  return preprocessing.width * preprocessing.height * 3;
}

/**
 * Model input for the posters at `indices`: float32 in [0, 1] (value / 255), shape
 * indices.length x height x width x 3. `size` is the poster size the pixels were made with.
 */
export function posterBatchToFloat32(
  pixels: Uint8Array,
  indices: ArrayLike<number>,
  size: number | Pick<PosterPreprocessing, 'width' | 'height'> = DEFAULT_IMAGE_SIZE,
): Float32Array {
  const per = typeof size === 'number' ? size * size * 3 : posterBytes(size);
  if (per <= 0 || pixels.length % per !== 0) {
    throw new RangeError(`poster pixels (${pixels.length} bytes) are not a whole number of ${per}-byte posters; pass the poster size they were made with`);
  }
  const count = pixels.length / per;
  const out = new Float32Array(indices.length * per);
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k];
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`poster index ${index} out of range 0..${count - 1}`);
    const from = index * per;
    const to = k * per;
    for (let j = 0; j < per; j++) out[to + j] = BYTE_TO_UNIT[pixels[from + j]];
  }
  return out;
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Loads posters (absolute paths) through the cache. A missing file is an outcome, not an error;
 * neither a hit nor a miss.
 */
export async function loadPosters(files: readonly string[], options: PosterLoadOptions, effects: Effects): Promise<PosterBatch> {
  const preprocessing = posterPreprocessing(options);
  const maxPixels = options.maxPosterPixels ?? DEFAULT_MAX_POSTER_PIXELS;
  if (!(maxPixels > 0)) throw new RangeError(`maxPosterPixels must be positive, got ${maxPixels}`);
  const per = posterBytes(preprocessing);
  const pixels = new Uint8Array(files.length * per);
  const outcomes: PosterOutcome[] = new Array(files.length);
  const cacheRoot = join(options.cacheDir, 'posters');
  const roots = await realPosterRoots(options.allowedRoots);
  // One listing of the cache instead of a failed open per poster not cached yet.
  const present = new Set(await readdir(cacheRoot).catch(() => [] as string[]));
  const settingsKey = JSON.stringify({
    version: POSTER_CACHE_VERSION,
    width: preprocessing.width,
    height: preprocessing.height,
    fit: preprocessing.fit,
    kernel: preprocessing.kernel,
    maxPixels,
    failOn: FAIL_ON,
    vips: sharp.versions.vips,
  });
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? posterConcurrency()));
  let hits = 0;
  let misses = 0;
  let damaged = 0;
  let done = 0;
  let cacheWriteWarned = false;
  const step = Math.max(1, Math.floor(files.length / 100));
  const report = () => {
    if (done === files.length || done % step === 0) effects.progress('posters', done, files.length, `${hits} cached, ${misses} decoded`);
  };

  const loadOne = async (index: number): Promise<PosterOutcome> => {
    const file = files[index];
    let bytes: Uint8Array;
    try {
      const read = await readPosterFile(file, roots);
      if (!read.ok) return { ...read, cached: false };
      bytes = read.bytes;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { ok: false, reason: 'unreadable-poster', detail: `cannot read ${file} (${code ?? String(error)})`, cached: false };
    }
    const fileHash = sha256(bytes);
    const key = sha256(settingsKey, '\0', fileHash);
    const cached = await readCached(cacheRoot, key, per, present);
    if (cached === 'damaged') damaged++;
    else if (cached) {
      hits++;
      if (cached.ok) {
        pixels.set(cached.pixels, index * per);
        return { ok: true, fileHash, warnings: withFormatCheck(cached, file), cached: true };
      }
      return { ok: false, reason: cached.reason, detail: cached.detail, fileHash, cached: true };
    }
    misses++;
    // Cached by content alone, so the file-name check is made on each load, not cached.
    const result = await decodePoster(bytes, preprocessing, { maxPosterPixels: maxPixels });
    try {
      await writeCached(cacheRoot, key, result);
    } catch (error) {
      if (!cacheWriteWarned) {
        cacheWriteWarned = true;
        effects.warn(`cannot write the poster cache under ${cacheRoot} (${(error as Error).message}); posters will be decoded again next time`);
      }
    }
    if (result.ok) {
      pixels.set(result.pixels, index * per);
      return { ok: true, fileHash, warnings: withFormatCheck(result, file), cached: false };
    }
    return { ok: false, reason: result.reason, detail: result.detail, fileHash, cached: false };
  };

  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      outcomes[index] = await loadOne(index);
      done++;
      report();
    }
  };
  if (files.length === 0) effects.progress('posters', 0, 0);
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  if (damaged > 0) {
    effects.warn(`posters: ${damaged} cached poster${damaged === 1 ? ' was' : 's were'} damaged in ${cacheRoot} and decoded again from the dataset`);
  }
  return { pixels, outcomes, hits, misses, preprocessing };
}

export type DecodeResult =
  { ok: true; pixels: Uint8Array; format: string; warnings: PosterIssue<PosterWarningReason>[] } | { ok: false; reason: PosterSkipReason; detail: string };

/** Catches truncated files without rejecting files that only have benign decoder warnings. */
const FAIL_ON = 'truncated';

/**
 * Decodes one poster (no cache). Reads the header first and rejects images above the pixel limit
 * before any pixel is decoded; then decodes in full, converts to 8-bit sRGB without alpha, and
 * resizes. (Decoding in full first, then resizing, matches Keras; it avoids JPEG shrink-on-load.)
 */
export async function decodePoster(
  bytes: Uint8Array,
  preprocessing: PosterPreprocessing,
  options: { maxPosterPixels?: number; expectedFormat?: string } = {},
): Promise<DecodeResult> {
  const maxPixels = options.maxPosterPixels ?? DEFAULT_MAX_POSTER_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (error) {
    return { ok: false, reason: 'unreadable-poster', detail: `not a readable image (${firstLine(error)})` };
  }
  const { width, height, format } = meta;
  if (!width || !height) return { ok: false, reason: 'unreadable-poster', detail: `image has no size (${format})` };
  if (width * height > maxPixels) {
    return {
      ok: false,
      reason: 'poster-too-large',
      detail: `${width}x${height} = ${(width * height).toLocaleString('en-US')} pixels, above the limit of ${maxPixels.toLocaleString('en-US')} (rejected before decoding; resize the poster or raise maxPosterPixels)`,
    };
  }
  const warnings: PosterIssue<PosterWarningReason>[] = [];
  const mismatch = formatMismatch(String(format), options.expectedFormat);
  if (mismatch) warnings.push(mismatch);
  const space = String(meta.space);
  if (space === 'cmyk') warnings.push({ reason: 'poster-cmyk', detail: 'CMYK converted to RGB' });
  else if (space === 'b-w' || space === 'grey16' || meta.channels <= 2)
    warnings.push({ reason: 'poster-grayscale', detail: `grayscale (${space}) converted to RGB` });
  else if (space !== 'srgb' || meta.depth !== 'uchar')
    warnings.push({ reason: 'poster-colour-converted', detail: `${space} ${meta.depth} converted to 8-bit sRGB` });
  if (meta.hasAlpha) warnings.push({ reason: 'poster-alpha', detail: 'alpha channel dropped (as Keras load_img does)' });

  try {
    const full = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: maxPixels })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (full.info.channels !== 3) throw new Error(`decoded to ${full.info.channels} channels, expected 3`);
    const resized = await sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: 3 } })
      .resize(preprocessing.width, preprocessing.height, { fit: preprocessing.fit, kernel: preprocessing.kernel, background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (resized.info.channels !== 3 || resized.data.length !== posterBytes(preprocessing)) {
      throw new Error(
        `resized to ${resized.info.width}x${resized.info.height}x${resized.info.channels}, expected ${preprocessing.width}x${preprocessing.height}x3`,
      );
    }
    return { ok: true, pixels: new Uint8Array(resized.data.buffer, resized.data.byteOffset, resized.data.byteLength), format: String(format), warnings };
  } catch (error) {
    const cause = firstLine(error);
    return {
      ok: false,
      reason: 'unreadable-poster',
      detail: `cannot decode the ${String(format).toUpperCase()} image: the file is truncated or corrupt${/^unknown error$/i.test(cause) ? '' : ` (${cause})`}`,
    };
  }
}

// ---- Cache --------------------------------------------------------------------------------------

const MAGIC = Buffer.from('GLP1');

type CachedResult = DecodeResult;

/**
 * The cached decode of poster `key`: null when there is none, 'damaged' when its file is there but
 * is not one whole, well-formed entry (truncated, edited, pixels that no longer match their hash).
 */
async function readCached(root: string, key: string, per: number, present: Set<string>): Promise<CachedResult | 'damaged' | null> {
  if (present.has(`${key}.rgb`)) {
    try {
      const data = await readFile(join(root, `${key}.rgb`));
      if (data.length < 8 || !data.subarray(0, 4).equals(MAGIC)) return 'damaged';
      const jsonLength = data.readUInt32LE(4);
      if (data.length !== 8 + jsonLength + per) return 'damaged';
      const meta = JSON.parse(data.subarray(8, 8 + jsonLength).toString('utf8')) as {
        format?: unknown;
        warnings?: PosterIssue<PosterWarningReason>[];
        sha256?: unknown;
      };
      if (!Array.isArray(meta.warnings) || typeof meta.format !== 'string') return 'damaged';
      const pixels = new Uint8Array(data.buffer, data.byteOffset + 8 + jsonLength, per);
      if (meta.sha256 !== sha256(pixels)) return 'damaged';
      return { ok: true, pixels, format: meta.format, warnings: meta.warnings };
    } catch {
      return 'damaged';
    }
  }
  if (!present.has(`${key}.fail.json`)) return null;
  try {
    const failure = JSON.parse(await readFile(join(root, `${key}.fail.json`), 'utf8')) as { reason?: unknown; detail?: unknown };
    if (typeof failure.reason !== 'string' || !(failure.reason in POSTER_SKIP_REASONS) || typeof failure.detail !== 'string') return 'damaged';
    return { ok: false, reason: failure.reason as PosterSkipReason, detail: failure.detail };
  } catch {
    return 'damaged';
  }
}

async function writeCached(root: string, key: string, result: CachedResult): Promise<void> {
  if (result.ok) {
    const json = Buffer.from(JSON.stringify({ format: result.format, warnings: result.warnings, sha256: sha256(result.pixels) }), 'utf8');
    const header = Buffer.alloc(8);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(json.length, 4);
    await writeFileAtomic(join(root, `${key}.rgb`), Buffer.concat([header, json, result.pixels]));
  } else {
    await writeFileAtomic(join(root, `${key}.fail.json`), `${JSON.stringify({ reason: result.reason, detail: result.detail })}\n`);
  }
}

function formatMismatch(actual: string, expected: string | undefined): PosterIssue<PosterWarningReason> | null {
  if (!expected || actual === expected) return null;
  return { reason: 'poster-format-mismatch', detail: `file is named as ${expected.toUpperCase()} but is ${actual.toUpperCase()}; decoded by its content` };
}

/** The decoder's warnings plus the check of the content against the file's extension. */
function withFormatCheck(result: { format: string; warnings: PosterIssue<PosterWarningReason>[] }, file: string): PosterIssue<PosterWarningReason>[] {
  const mismatch = formatMismatch(result.format, formatFromName(file));
  return mismatch ? [mismatch, ...result.warnings] : result.warnings;
}

function formatFromName(file: string): string | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.webp') return 'webp';
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
}
