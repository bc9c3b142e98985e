/** Schema of explanations.json (pipeline/lib/explain/). */
import { z } from 'zod';
import { CONTRACT_VERSION, count } from './base.ts';

// --- Explanations artifact (poster occlusion maps, word importance; pipeline/lib/explain/explain-stage.ts) ---

/** A piece of an overview as the card shows it: a word or the whitespace between words. */
export const OverviewSegmentSchema = z.object({
  text: z.string(),
  /** The vectoriser's token for this piece; null for whitespace and pieces that are only punctuation. */
  token: z.string().nullable(),
  /** Its position in the LSTM's input; null when it has no token or lies beyond the sequence length. */
  position: count.nullable(),
  /**
   * Drop in the LSTM's probability of `genre` when this token is left out (negative: leaving it out
   * raises it); null when not scored (no token, beyond the sequence length, or not in the vocabulary).
   */
  score: z.number().nullable(),
});

const RegionSchema = z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() });

export const FilmExplanationSchema = z.object({
  id: z.string(),
  /** Occlusion map of the CNN on the poster. */
  poster: z.object({
    /** The CNN's top genre on the intact poster, whose probability the map tracks. */
    genre: z.string(),
    probability: z.number(),
    /** rows × cols, row-major (method.poster's grid): probability drop when that patch is covered. */
    drops: z.array(z.number()),
    /**
     * The poster file's size, and the part of it the model input shows (in the file's pixels; the
     * whole file for the `fill` resize), so the map can be laid over a thumbnail cropped from the
     * same file. Null when unknown (e.g. an EXIF-rotated poster): the map then spans the thumbnail.
     */
    frame: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), input: RegionSchema }).nullable(),
  }),
  /** Leave-one-word-out on the LSTM. */
  overview: z.object({
    genre: z.string(),
    probability: z.number(),
    /** Concatenated, the texts give back the overview exactly. */
    segments: z.array(OverviewSegmentSchema),
  }),
});

export const ExplanationsArtifactSchema = z.object({
  contractVersion: z.literal(CONTRACT_VERSION),
  generatedAt: z.string(),
  /** run.json's training key: the explanations are of those models (and reused while it is unchanged). */
  trainingKey: z.string(),
  genres: z.array(z.string()),
  /** Which validation films are explained, and why (a bounded subset: explaining is not free). */
  selection: z.object({ curated: z.array(z.string()), first: count, description: z.string() }),
  method: z.object({
    version: count,
    poster: z.object({
      kind: z.literal('occlusion'),
      imageSize: z.number().int().positive(),
      patch: z.number().int().positive(),
      stride: z.number().int().positive(),
      /** Patch corners in input pixels: the grid has ys.length rows and xs.length columns. */
      ys: z.array(count),
      xs: z.array(count),
      fill: z.literal('poster-mean'),
      description: z.string(),
    }),
    overview: z.object({ kind: z.literal('leave-one-out'), sequenceLength: z.number().int().positive(), description: z.string() }),
  }),
  /** How long computing took (of the run that computed them; a reused artifact keeps its timing). */
  timing: z.object({ backend: z.string(), films: count, posterMs: z.number(), overviewMs: z.number(), totalMs: z.number() }),
  /** In examples.json's film order. */
  films: z.array(FilmExplanationSchema),
});

export type OverviewSegmentExplanation = z.infer<typeof OverviewSegmentSchema>;
export type FilmExplanation = z.infer<typeof FilmExplanationSchema>;
export type ExplanationsArtifact = z.infer<typeof ExplanationsArtifactSchema>;
