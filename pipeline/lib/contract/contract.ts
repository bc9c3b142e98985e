/**
 * The data contract between the pipeline and the site.
 *
 * The schemas live in `schemas/`, one file per stage's artifacts; this file re-exports them all, so
 * both sides import the contract from here.
 *
 * The pipeline writes JSON artifacts into `artifactsDir` (default `src/content/artifacts/`), each
 * listed once in the registry `ARTIFACTS` at the end of this file: its file, its schema, the stage
 * that writes it and the site's content collection over it. The pipeline writes and reads them only
 * through pipeline/lib/core/artifact-store.ts, which validates on write as well as on read; the site
 * reads them only through the collections that `src/content.config.ts` builds from the registry, with
 * the same schemas, so a malformed artifact fails with a message naming the field. Bump
 * `CONTRACT_VERSION` whenever a schema changes shape.
 *
 * Trained models go to `publicDir/models/<m>/` (model.json, weights.bin, metadata.json) so the
 * browser can load them with `tf.loadLayersModel`; metadata.json is the preprocessing contract.
 * The learned fusion's final head goes to `publicDir/models/gmu/` the same way (fusion stage), its
 * metadata.json following `GmuModelMetadataSchema`: which layer of each model feeds it and the
 * standardisation of those activations, so the live demo can run it on a visitor's poster and text.
 */
import type { z } from 'zod';
import { ARTIFACT_FILES, type ModelKind } from './schemas/base.ts';
import { DatasetArtifactSchema, SplitArtifactSchema } from './schemas/data.ts';
import {
  ExamplesArtifactSchema,
  HistoryArtifactSchema,
  PredictionsArtifactSchema,
  RunArtifactSchema,
  TrainProbabilitiesArtifactSchema,
} from './schemas/training.ts';
import { AnalysisArtifactSchema } from './schemas/analysis.ts';
import { GmuHistoryArtifactSchema, GmuPredictionsArtifactSchema, GmuTrainProbabilitiesArtifactSchema } from './schemas/gmu.ts';
import { ExplanationsArtifactSchema } from './schemas/explanations.ts';
import { AblationsArtifactSchema } from './schemas/ablations.ts';
import { StrongArtifactSchema, StrongProbabilitiesArtifactSchema } from './schemas/strong.ts';
import { TestSetArtifactSchema } from './schemas/test-set.ts';

export * from './schemas/base.ts';
export * from './schemas/data.ts';
export * from './schemas/training.ts';
export * from './schemas/analysis.ts';
export * from './schemas/gmu.ts';
export * from './schemas/explanations.ts';
export * from './schemas/ablations.ts';
export * from './schemas/strong.ts';
export * from './schemas/test-set.ts';

// ---------------------------------------------------------------------------------------------
// The artifact registry: every file of the contract, its schema, the stage that writes it, and the
// site's content collection over it. The pipeline writes and reads artifacts only through it
// (pipeline/lib/core/artifact-store.ts); src/content.config.ts builds its collections from it.

/** The stage that writes an artifact (the order of pipeline/lib/cli.ts `runStages`). */
export type ArtifactStage = 'data' | 'strong' | 'train' | 'test-set' | 'fusion' | 'analysis' | 'ablations' | 'explain';

interface ArtifactEntry {
  /** The file name; one file per model when it is a function of the model. */
  file: string | ((model: ModelKind) => string);
  schema: z.ZodType;
  stage: ArtifactStage;
  /** The content collection the site reads it through; absent when the site does not read it directly. */
  collection?: string;
  /** Written only by some runs (the strong models unless --no-strong; the test set with --test-set): the site shows it when present. */
  optional?: true;
}

export const ARTIFACTS = {
  dataset: { file: ARTIFACT_FILES.dataset, schema: DatasetArtifactSchema, stage: 'data', collection: 'dataset' },
  split: { file: ARTIFACT_FILES.split, schema: SplitArtifactSchema, stage: 'data', collection: 'split' },
  run: { file: ARTIFACT_FILES.run, schema: RunArtifactSchema, stage: 'train', collection: 'run' },
  history: { file: ARTIFACT_FILES.history, schema: HistoryArtifactSchema, stage: 'train', collection: 'history' },
  predictions: { file: ARTIFACT_FILES.predictions, schema: PredictionsArtifactSchema, stage: 'train', collection: 'predictions' },
  trainProbabilities: { file: ARTIFACT_FILES.trainProbabilities, schema: TrainProbabilitiesArtifactSchema, stage: 'train' },
  examples: { file: ARTIFACT_FILES.examples, schema: ExamplesArtifactSchema, stage: 'train', collection: 'examples' },
  gmuPredictions: { file: ARTIFACT_FILES.gmuPredictions, schema: GmuPredictionsArtifactSchema, stage: 'fusion' },
  gmuTrainProbabilities: { file: ARTIFACT_FILES.gmuTrainProbabilities, schema: GmuTrainProbabilitiesArtifactSchema, stage: 'fusion' },
  /** The learned fusion's history; its probabilities reach the site through analysis.json. */
  gmuHistory: { file: ARTIFACT_FILES.gmuHistory, schema: GmuHistoryArtifactSchema, stage: 'fusion', collection: 'fusion' },
  strong: { file: ARTIFACT_FILES.strong, schema: StrongArtifactSchema, stage: 'strong', collection: 'strong', optional: true },
  strongProbabilities: { file: ARTIFACT_FILES.strongProbabilities, schema: StrongProbabilitiesArtifactSchema, stage: 'strong', optional: true },
  analysis: { file: ARTIFACT_FILES.analysis, schema: AnalysisArtifactSchema, stage: 'analysis', collection: 'analysis' },
  /** The main run against each ablation the build ran (an empty list when it ran none). */
  ablations: { file: ARTIFACT_FILES.ablations, schema: AblationsArtifactSchema, stage: 'ablations', collection: 'ablations' },
  /** A test set's evaluation, when the build ran with --test-set. */
  testSet: { file: ARTIFACT_FILES.testSet, schema: TestSetArtifactSchema, stage: 'test-set', collection: 'testSet', optional: true },
  explanations: { file: ARTIFACT_FILES.explanations, schema: ExplanationsArtifactSchema, stage: 'explain', collection: 'explanations' },
} as const satisfies Record<string, ArtifactEntry>;

export type ArtifactId = keyof typeof ARTIFACTS;
/** The artifacts written once per model (history-cnn.json, history-lstm.json, …). */
export type PerModelArtifactId = { [I in ArtifactId]: (typeof ARTIFACTS)[I]['file'] extends string ? never : I }[ArtifactId];
export type SingleArtifactId = Exclude<ArtifactId, PerModelArtifactId>;
/** The value an artifact holds, as its schema describes it. */
export type ArtifactOf<I extends ArtifactId> = z.infer<(typeof ARTIFACTS)[I]['schema']>;

/** The file name of artifact `id` (of `model`, for the per-model ones). */
export function artifactFile(id: ArtifactId, model?: ModelKind): string {
  const file: ArtifactEntry['file'] = ARTIFACTS[id].file;
  if (typeof file === 'string') return file;
  if (model === undefined) throw new Error(`${id} is written once per model: name the model`);
  return file(model);
}
