/** Schemas of the data stage's artifacts (dataset.json, split.json) and of the poster preprocessing they record. */
import { z } from 'zod';
import { CONTRACT_VERSION, count } from './base.ts';

export const QualityEntrySchema = z.object({
  reason: z.string(),
  description: z.string(),
  count,
  examples: z.array(z.object({ line: count, id: z.string().optional(), detail: z.string() })),
});

export const DataQualitySchema = z.object({
  csvFile: z.string(),
  rowsRead: count,
  validFilms: count,
  skippedRows: count,
  skipped: z.array(QualityEntrySchema),
  warnings: z.array(QualityEntrySchema),
  columnWarnings: z.array(z.string()),
  neverPositiveGenres: z.array(z.string()),
  posterCache: z.object({ hits: count, misses: count }),
});

export const PosterPreprocessingSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.literal(3),
  fit: z.string(),
  kernel: z.string(),
  normalisation: z.literal('divide-by-255'),
});

/** The overview vectorizer's settings and vocabulary (pipeline/lib/contract/vectorizer.ts `VectorizerConfig`). */

export const SplitSummarySchema = z.object({
  seed: z.number().int(),
  validationFraction: z.number(),
  method: z.literal('iterative-stratification'),
  trainCount: count,
  validationCount: count,
});

export const DatasetArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** True for the generated demo dataset: every page says so. */
  synthetic: z.boolean(),
  source: z.object({
    kind: z.enum(['configured', 'default-folder', 'demo']),
    /** The dataset folder's name (not its full path, which is machine-specific). */
    folder: z.string(),
    contentHash: z.string(),
  }),
  genres: z.array(z.string()).min(1),
  films: count,
  split: SplitSummarySchema,
  /** Positive labels per genre in each split, in genre-column order. */
  labelCounts: z.array(z.object({ genre: z.string(), train: count, validation: count })),
  /** How many films carry k labels, per split. */
  labelsPerFilm: z.array(z.object({ labels: count, train: count, validation: count })),
  /** cooccurrence[i][j]: films labelled with both genres i and j (diagonal: films with genre i). */
  cooccurrence: z.array(z.array(count)),
  overviewWords: z.object({ min: count, median: z.number(), max: count }),
  quality: DataQualitySchema,
  posterPreprocessing: PosterPreprocessingSchema,
});

export const SplitArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  seed: z.number().int(),
  validationFraction: z.number(),
  method: z.literal('iterative-stratification'),
  train: z.array(z.string()),
  validation: z.array(z.string()),
});

export type DatasetArtifact = z.infer<typeof DatasetArtifactSchema>;
export type SplitArtifact = z.infer<typeof SplitArtifactSchema>;
export type QualityEntry = z.infer<typeof QualityEntrySchema>;
