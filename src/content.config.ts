/**
 * Content collections over the pipeline's artifacts (see pipeline/lib/contract/contract.ts). Each artifact is
 * validated with the contract's schema: a missing or malformed file fails the build loudly.
 *
 * Single-file collections hold one entry, `current`; `history` and `predictions` hold one entry per
 * model (`cnn`, `lstm`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { defineCollection } from 'astro:content';
import type { z } from 'zod';
import {
  AblationsArtifactSchema,
  AnalysisArtifactSchema,
  ARTIFACT_FILES,
  DatasetArtifactSchema,
  ExamplesArtifactSchema,
  ExplanationsArtifactSchema,
  GmuHistoryArtifactSchema,
  HistoryArtifactSchema,
  MODEL_KINDS,
  PredictionsArtifactSchema,
  RunArtifactSchema,
  SplitArtifactSchema,
} from '../pipeline/lib/contract/contract.ts';

const ARTIFACTS_DIR = process.env.GENRELENS_ARTIFACTS_DIR ?? 'src/content/artifacts';

function readArtifact(file: string): Record<string, unknown> {
  const path = `${ARTIFACTS_DIR}/${file}`;
  if (!existsSync(path)) {
    throw new Error(`genrelens: ${path} is missing. Run \`npm run build\` (or \`npm run genrelens -- train\`) so the pipeline writes it.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`genrelens: ${path} is not valid JSON (${(error as Error).message}). Re-run \`npm run build\`.`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`genrelens: ${path} must hold a JSON object. Re-run \`npm run build\`.`);
  }
  return data as Record<string, unknown>;
}

/** A collection with one entry per (id → artifact file), each validated with `schema`. */
function artifactCollection<S extends z.ZodType>(files: Record<string, string>, schema: S) {
  return defineCollection({
    loader: async () => Object.entries(files).map(([id, file]) => ({ ...readArtifact(file), id })),
    schema,
  });
}

const perModel = (file: (model: (typeof MODEL_KINDS)[number]) => string) =>
  Object.fromEntries(MODEL_KINDS.map((model) => [model, file(model)]));

export const collections = {
  dataset: artifactCollection({ current: ARTIFACT_FILES.dataset }, DatasetArtifactSchema),
  split: artifactCollection({ current: ARTIFACT_FILES.split }, SplitArtifactSchema),
  run: artifactCollection({ current: ARTIFACT_FILES.run }, RunArtifactSchema),
  history: artifactCollection(perModel(ARTIFACT_FILES.history), HistoryArtifactSchema),
  predictions: artifactCollection(perModel(ARTIFACT_FILES.predictions), PredictionsArtifactSchema),
  examples: artifactCollection({ current: ARTIFACT_FILES.examples }, ExamplesArtifactSchema),
  analysis: artifactCollection({ current: ARTIFACT_FILES.analysis }, AnalysisArtifactSchema),
  /** The learned fusion's history (fusion-gmu.json); its probabilities reach the site through analysis.json. */
  fusion: artifactCollection({ current: ARTIFACT_FILES.gmuHistory }, GmuHistoryArtifactSchema),
  explanations: artifactCollection({ current: ARTIFACT_FILES.explanations }, ExplanationsArtifactSchema),
  /** The main run against each ablation the build ran (an empty list when it ran none). */
  ablations: artifactCollection({ current: ARTIFACT_FILES.ablations }, AblationsArtifactSchema),
};
