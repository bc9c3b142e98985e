/**
 * `examples.json` (written after training, beside the learned fusion): the validation films' ids, overviews and
 * true genres for the report's example cards, and their poster thumbnails in `<publicDir>/thumbnails/`.
 */
import { join, resolve } from 'node:path';
import { ARTIFACT_FILES, CONTRACT_VERSION, type ExamplesArtifact } from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { IMAGES_DIR } from '../data/dataset.ts';
import { publishThumbnails } from './thumbnails.ts';
import { THUMBNAIL } from '../settings.ts';
import type { StageContext } from '../core/context.ts';

/** Writes examples.json and publishes the thumbnails it names. */
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
