/**
 * The pure parts of the live demo page (src/pages/demo.astro): reading a published model's
 * metadata.json, turning an overview into the BiLSTM's input as the pipeline does, the late fusion
 * and the ranking shown. Browser-safe (no Node, no tfjs); the poster side is
 * `poster-preprocess.ts`.
 */
import { OOV_INDEX, tokenize, vectorize, vocabularyIndex, type VectorizerConfig } from '../../pipeline/vectorizer.ts';
import type { PosterInputSpec } from './poster-preprocess.ts';

export type DemoModelKind = 'cnn' | 'lstm';

/** What the page is given at build time (`data-config` of `#demo`). */
export interface DemoConfig {
  genres: string[];
  /** The CNN's weight in the late fusion, chosen on the training films (analysis.json `fusion.weight`). */
  fusionWeight: number;
  models: Record<DemoModelKind, { model: string; metadata: string }>;
}

/** The part of metadata.json (pipeline/train-stage.ts `modelMetadata`) the demo relies on. */
export interface DemoModelMetadata {
  model: DemoModelKind;
  title?: string;
  genres: string[];
  threshold: number;
  trainingKey?: string;
  input: ({ kind: 'poster' } & PosterInputSpec) | ({ kind: 'overview' } & VectorizerConfig);
}

/**
 * Checks a metadata.json against what the page expects (its model kind, the report's genres) and
 * returns it typed; throws a message a visitor can act on.
 */
export function parseModelMetadata(data: unknown, kind: DemoModelKind, genres: readonly string[]): DemoModelMetadata {
  const fail = (why: string): never => {
    throw new Error(`the ${kind} model's metadata.json ${why}; rebuild the site (npm run build) so the pipeline publishes matching files`);
  };
  if (typeof data !== 'object' || data === null) return fail('is not a JSON object');
  const meta = data as Partial<DemoModelMetadata>;
  if (meta.model !== kind) fail(`describes model ${JSON.stringify(meta.model)}, not ${kind}`);
  if (!Array.isArray(meta.genres) || meta.genres.join('\n') !== genres.join('\n')) {
    fail(`lists other genres than this report (${Array.isArray(meta.genres) ? meta.genres.length : 0} vs ${genres.length})`);
  }
  const input = meta.input as DemoModelMetadata['input'] | undefined;
  if (!input || typeof input !== 'object') return fail('has no input section');
  if (kind === 'cnn') {
    if (input.kind !== 'poster') fail(`has input kind ${JSON.stringify(input.kind)}, expected "poster"`);
  } else {
    if (input.kind !== 'overview') fail(`has input kind ${JSON.stringify(input.kind)}, expected "overview"`);
    const text = input as { kind: 'overview' } & VectorizerConfig;
    if (!Array.isArray(text.vocabulary) || !Number.isInteger(text.sequenceLength) || text.sequenceLength < 1) fail('has no vocabulary or sequence length');
    if (text.standardize !== 'lower_and_strip_punctuation' || text.split !== 'whitespace') {
      fail(`uses standardize ${JSON.stringify(text.standardize)} / split ${JSON.stringify(text.split)}, which this demo does not reproduce`);
    }
  }
  return { ...(meta as DemoModelMetadata), threshold: typeof meta.threshold === 'number' ? meta.threshold : 0.5 };
}

export interface OverviewInput {
  /** Token ids of one overview, as the model gets them (see `overviewInput`). */
  ids: Int32Array;
  /** Tokens after standardisation and splitting (before truncation). */
  tokens: number;
  /** Tokens read (at most `sequenceLength`). */
  read: number;
  /** Of those, tokens not in the vocabulary (id 1, `[UNK]`). */
  unknown: number;
}

/**
 * One overview → the BiLSTM's input row, built as training and `evaluate` build it: `vectorize`
 * (Keras TextVectorization: ids padded with 0 / truncated to `sequenceLength`), then — for a model
 * whose input length is free — cut to the last token, at least 1 column (pipeline/model-inputs.ts
 * `tokenInputs` for a batch of one). Padding is masked, so the cut does not change the outputs.
 * A model saved with a fixed input length gets the full padded row.
 */
export function overviewInput(
  text: string,
  config: Pick<VectorizerConfig, 'sequenceLength'>,
  index: ReadonlyMap<string, number>,
  fixedLength: number | null,
): OverviewInput {
  const tokenCount = tokenize(text).length;
  const full = vectorize(text, index, config.sequenceLength);
  let last = 0;
  let unknown = 0;
  for (let t = 0; t < full.length; t++) {
    if (full[t] !== 0) last = t + 1;
    if (full[t] === OOV_INDEX) unknown++;
  }
  if (fixedLength !== null && fixedLength !== config.sequenceLength) {
    throw new Error(`the overview model takes ${fixedLength} tokens but its metadata says ${config.sequenceLength}`);
  }
  const width = fixedLength ?? Math.max(1, last);
  return { ids: full.slice(0, width), tokens: tokenCount, read: Math.min(tokenCount, config.sequenceLength), unknown };
}

/** `vocabularyIndex`, re-exported so the page builds the lookup once per model. */
export { vocabularyIndex };

/** Late fusion as pipeline/analysis.ts `fuse`: w·p_cnn + (1 − w)·p_lstm, genre by genre. */
export function fuseProbabilities(cnn: ArrayLike<number>, lstm: ArrayLike<number>, weight: number): number[] {
  if (cnn.length !== lstm.length) throw new RangeError(`cannot fuse ${cnn.length} and ${lstm.length} probabilities`);
  if (!(weight >= 0 && weight <= 1)) throw new RangeError(`fusion weight must be in [0, 1], got ${weight}`);
  return Array.from({ length: cnn.length }, (_, g) => weight * cnn[g] + (1 - weight) * lstm[g]);
}

export interface RankedGenre {
  genre: string;
  probability: number;
  /** Among the three most probable. */
  top3: boolean;
  /** Strictly above the model's threshold (the report's convention). */
  predicted: boolean;
}

/** Genres by probability, highest first (ties in genre-column order), top 3 marked. */
export function rankGenres(genres: readonly string[], probabilities: ArrayLike<number>, threshold = 0.5): RankedGenre[] {
  return Array.from(genres, (genre, g) => ({ genre, g, probability: probabilities[g] }))
    .sort((a, b) => b.probability - a.probability || a.g - b.g)
    .map(({ genre, probability }, rank) => ({ genre, probability, top3: rank < 3, predicted: probability > threshold }));
}

/** A probability as the bars label it. */
export function formatProbability(p: number): string {
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 2 : 1)}%`;
}
