/**
 * Content collections over the pipeline's artifacts (see pipeline/contract.ts). Each artifact is
 * validated with the contract's schema: a missing or malformed file fails the build loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { defineCollection } from 'astro:content';
import type { z } from 'zod';
import { ARTIFACT_FILES, DatasetArtifactSchema } from '../pipeline/contract.ts';

const ARTIFACTS_DIR = process.env.GENRELENS_ARTIFACTS_DIR ?? 'src/content/artifacts';

/** A collection holding one entry, `current`, read from one artifact file. */
function artifactCollection<S extends z.ZodType>(file: string, schema: S) {
  return defineCollection({
    loader: async () => {
      const path = `${ARTIFACTS_DIR}/${file}`;
      if (!existsSync(path)) {
        throw new Error(`genrelens: ${path} is missing. Run \`npm run build\` (or \`npm run genrelens -- prepare\`) so the pipeline writes it.`);
      }
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new Error(`genrelens: ${path} is not valid JSON (${(error as Error).message}). Re-run \`npm run build\`.`);
      }
      return [{ ...data, id: 'current' }];
    },
    schema,
  });
}

export const collections = {
  dataset: artifactCollection(ARTIFACT_FILES.dataset, DatasetArtifactSchema),
};
