/**
 * Poster thumbnails for the report's example cards: WebP at a fixed size, made with sharp from the
 * dataset's poster files.
 *
 * Content-addressed: a thumbnail is named by the hash of (thumbnail settings, poster bytes) and kept
 * in `<cacheDir>/thumbnails/`, so a rebuild only reads and hashes the posters and re-encodes none
 * that it has seen; the same name is published, so browsers may cache thumbnails forever.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Effects } from '../core/effects.ts';
import { sha256, writeFileAtomic } from '../core/files.ts';
import { readPosterFile, realPosterRoots } from '../data/posters.ts';
import { THUMBNAIL } from '../settings.ts';

/** Bump when the encoding changes: every thumbnail gets a new name. */
const THUMBNAIL_VERSION = 'genrelens-thumbnail-v1';
/** Published under `<publicDir>/<THUMBNAILS_DIR>/`. */
export const THUMBNAILS_DIR = 'thumbnails';

export interface ThumbnailSource {
  id: string;
  /** Absolute path of the poster file. */
  file: string;
}

export interface ThumbnailOptions {
  /** Cache root: thumbnails are kept in `<cacheDir>/thumbnails/`. */
  cacheDir: string;
  /** The site's generated-files folder: thumbnails are published to `<publicDir>/thumbnails/`. */
  publicDir: string;
  /** Posters larger than this (width × height) are not decoded. */
  maxPixels?: number;
  concurrency?: number;
  /** Folders a poster may be in once links are followed (posters.ts `readPosterFile`). */
  allowedRoots: readonly string[];
}

export interface ThumbnailResult {
  /** Path relative to publicDir (`thumbnails/<hash>.webp`) per film id; null when the poster could not be read. */
  paths: Map<string, string | null>;
  made: number;
  reused: number;
  failed: { id: string; reason: string }[];
}

/** The content address of a poster's thumbnail. */
export function thumbnailName(posterBytes: Uint8Array): string {
  const settings = JSON.stringify([THUMBNAIL_VERSION, THUMBNAIL]);
  return `${sha256(settings, posterBytes).slice(0, 24)}.${THUMBNAIL.format}`;
}

export async function encodeThumbnail(posterBytes: Uint8Array, maxPixels = 50_000_000): Promise<Buffer> {
  return sharp(posterBytes, { limitInputPixels: maxPixels, failOn: 'error' })
    .rotate()
    .resize(THUMBNAIL.width, THUMBNAIL.height, { fit: THUMBNAIL.fit, position: THUMBNAIL.position })
    .removeAlpha()
    .webp({ quality: THUMBNAIL.quality, effort: 4 })
    .toBuffer();
}

/**
 * Makes (or reuses) the thumbnail of every source and publishes exactly those into
 * `<publicDir>/thumbnails/` (stale thumbnails there are removed).
 */
export async function publishThumbnails(sources: readonly ThumbnailSource[], options: ThumbnailOptions, effects: Effects): Promise<ThumbnailResult> {
  const cacheDir = join(options.cacheDir, THUMBNAILS_DIR);
  const outDir = join(options.publicDir, THUMBNAILS_DIR);
  await mkdir(cacheDir, { recursive: true });
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result: ThumbnailResult = { paths: new Map(), made: 0, reused: 0, failed: [] };
  const roots = await realPosterRoots(options.allowedRoots);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < sources.length) {
      const source = sources[next++];
      try {
        const read = await readPosterFile(source.file, roots);
        if (!read.ok) throw new Error(read.detail);
        const bytes = read.bytes;
        const name = thumbnailName(bytes);
        const cached = join(cacheDir, name);
        if (existsSync(cached)) {
          result.reused++;
        } else {
          await writeFileAtomic(cached, await encodeThumbnail(bytes, options.maxPixels));
          result.made++;
        }
        await copyFile(cached, join(outDir, name));
        result.paths.set(source.id, `${THUMBNAILS_DIR}/${name}`);
      } catch (error) {
        result.paths.set(source.id, null);
        result.failed.push({ id: source.id, reason: (error as Error).message });
      }
      effects.progress('Thumbnails', ++done, sources.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  return result;
}
