/**
 * Schema of a test set's evaluation (pipeline/lib/analysis/evaluate.ts): every classifier the report
 * shows, scored on films of another folder with the decisions fixed on the training films (read
 * from analysis.json), with the same figures and intervals as analysis.json. Written by `evaluate`
 * (evaluations/<folder>.json) and, with `--test-set`, by the build as `test-set.json` for the Test
 * set page.
 */
import { z } from 'zod';
import { CONTRACT_VERSION, count } from './base.ts';
import { BootstrapSchema, ClassifierAnalysisSchema } from './analysis.ts';

const OverlapSchema = z.object({
  count,
  /** The first few ids, in the test folder's order. */
  examples: z.array(z.string()),
});

export const TestSetArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  dataset: z.object({
    folder: z.string(),
    contentHash: z.string(),
    /** Valid films in the folder, and rows skipped by validation. */
    films: count,
    skippedRows: count,
    /** Films also among the training films: excluded (a model has seen them). */
    inTraining: OverlapSchema,
    /** Films among the validation films: kept, but reported (the validation films chose the kept epochs). */
    inValidation: OverlapSchema,
    /** Films scored: `films` minus those in training. */
    scored: count,
  }),
  genres: z.array(z.string()),
  /** The models' keys: run.json's training key, the strong models' key (null when absent). */
  trainingKey: z.string(),
  strongKey: z.string().nullable(),
  classifiers: z.array(ClassifierAnalysisSchema),
  bootstrap: BootstrapSchema,
});
export type TestSetArtifact = z.infer<typeof TestSetArtifactSchema>;
