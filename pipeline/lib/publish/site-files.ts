/**
 * What the report site needs beyond the training artifacts:
 *
 * - `writeExamplesArtifact` (end of the train stage): `examples.json` — the validation films' ids,
 *   overviews and true genres for the example cards — and their poster thumbnails in
 *   `<publicDir>/thumbnails/`.
 * - `publishGeneratedFiles` (after the Astro build): copies `publicDir` (models, thumbnails) into
 *   `<outDir>/generated/`, so the built site serves them under `<base>/generated/` whatever
 *   `--public-dir` is.
 */
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ARTIFACT_FILES, CONTRACT_VERSION, type ExamplesArtifact } from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { IMAGES_DIR } from '../data/dataset.ts';
import { publishThumbnails } from './thumbnails.ts';
import { THUMBNAIL } from '../settings.ts';
import type { StageContext } from '../core/context.ts';

/** The folder of the built site that serves `publicDir`. */
export const GENERATED_DIR = 'generated';

export async function writeExamplesArtifact(stage: DataStageResult, ctx: StageContext): Promise<ExamplesArtifact> {
  const { config, effects, paths } = ctx;
  const { dataset, split } = stage;
  const films = split.validation.map((index) => dataset.films[index]);
  const thumbnails = await publishThumbnails(
    films.map((film) => ({ id: film.id, file: resolve(dataset.dir, film.posterFile) })),
    {
      cacheDir: paths.cache,
      publicDir: paths.public,
      maxPixels: config.maxPosterPixels,
      allowedRoots: [dataset.dir, join(dataset.dir, IMAGES_DIR)],
    },
    effects,
  );
  for (const failure of thumbnails.failed) effects.warn(`no thumbnail for film ${failure.id}: ${failure.reason}`);
  const artifact: ExamplesArtifact = {
    contractVersion: CONTRACT_VERSION,
    genres: dataset.genres,
    thumbnail: { width: THUMBNAIL.width, height: THUMBNAIL.height, format: THUMBNAIL.format },
    films: films.map((film) => ({
      id: film.id,
      overview: film.overview,
      genres: film.genres,
      thumbnail: thumbnails.paths.get(film.id) ?? null,
    })),
  };
  await ctx.artifacts.write('examples', artifact);
  effects.info(
    `Examples: ${films.length} validation films, thumbnails ${thumbnails.made} made / ${thumbnails.reused} reused; wrote ${ARTIFACT_FILES.examples}`,
  );
  return artifact;
}

/**
 * Copies `publicDir` into `<outDir>/generated/`. Skipped when `publicDir` is `<root>/public/generated`,
 * which Astro already copied there.
 */
export async function publishGeneratedFiles(publicDir: string, outDir: string, root: string): Promise<void> {
  const from = resolve(publicDir);
  if (from === resolve(root, 'public', GENERATED_DIR)) return;
  const to = join(resolve(outDir), GENERATED_DIR);
  await rm(to, { recursive: true, force: true });
  if (existsSync(from)) await cp(from, to, { recursive: true });
}
