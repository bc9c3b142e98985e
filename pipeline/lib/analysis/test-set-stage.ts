/**
 * The test-set stage (last, only with `--test-set <folder>` or config `testSet`): scores every
 * classifier on the held-out folder with the decisions this run fixed on its training films
 * (./evaluate.ts) and writes `test-set.json` for the Test set page. Without a test set it removes
 * the last run's test-set.json from the staged artifacts, so no stale page is published.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ARTIFACT_FILES } from '../contract/contract.ts';
import type { StageContext } from '../core/context.ts';
import { UserError } from '../core/errors.ts';
import { CSV_FILE_NAME } from '../data/csv.ts';
import type { Config } from '../settings.ts';
import { evaluateSavedModels } from './evaluate.ts';
import { selectBackend } from '../engine/backend.ts';

/** Before anything trains: a mistyped --test-set fails now, not after the models. */
export function checkTestSetFolder(config: Config, root: string): void {
  if (!config.testSet) return;
  const dir = resolve(root, config.testSet);
  if (!existsSync(join(dir, CSV_FILE_NAME))) {
    throw new UserError(`the test set folder ${dir} has no ${CSV_FILE_NAME}`, {
      fix: `pass --test-set a folder in the coursework layout (${CSV_FILE_NAME} and Images/), or leave it out`,
    });
  }
}

export async function runTestSetStage(ctx: StageContext): Promise<void> {
  const { config, paths, effects } = ctx;
  const outFile = join(paths.artifacts, ARTIFACT_FILES.testSet);
  if (!config.testSet) {
    await rm(outFile, { force: true });
    return;
  }
  effects.info(`Test set: scoring every classifier on ${config.testSet}`);
  // Every earlier stage may have come from the cache, so TensorFlow.js may not have started in this thread.
  await selectBackend({ force: config.backend, effects });
  await evaluateSavedModels(
    {
      datasetDir: resolve(ctx.root, config.testSet),
      modelsDir: join(paths.public, 'models'),
      artifactsDir: paths.artifacts,
      outFile,
      cacheDir: paths.cache,
      maxPosterPixels: config.maxPosterPixels,
    },
    effects,
  );
}
