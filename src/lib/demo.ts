/**
 * The pure parts of the live demo page (src/pages/demo.astro): reading a published model's
 * metadata.json, turning an overview into the BiLSTM's input as the pipeline does, the late fusion,
 * the learned fusion's (GMU's) inputs — the two models' activations standardised with the very code
 * and statistics the pipeline used — and the ranking shown. Browser-safe (no Node, no tfjs); the
 * poster side is `poster-preprocess.ts`.
 */
import type { GmuModelMetadata } from '../../pipeline/lib/contract/contract.ts';
import { standardise, standardisationFromJson, type Standardisation } from '../../pipeline/lib/contract/gmu-standardisation.ts';
import { OOV_INDEX, tokenize, vectorize, vocabularyIndex, type VectorizerConfig } from '../../pipeline/lib/contract/vectorizer.ts';
import type { PosterInputSpec } from './poster-preprocess.ts';

export type DemoModelKind = 'cnn' | 'lstm';
/** Every model the page loads: the two trained models and the learned fusion. */
export type DemoPublishedModel = DemoModelKind | 'gmu';

/** What the page is given at build time (`data-config` of `#demo`). */
export interface DemoConfig {
  genres: string[];
  /** The CNN's weight in the late fusion, chosen on the training films (analysis.json `fusion.weight`). */
  fusionWeight: number;
  /** URLs of each published model's model.json and metadata.json (`<base>/generated/models/<m>/`). */
  models: Record<DemoPublishedModel, { model: string; metadata: string }>;
  /**
   * The strong overview model (`<base>/generated/models/strong/`), with the shared threshold of its
   * decision rule chosen on the training films (analysis.json); null when the build skipped the strong models.
   */
  strongText: { model: string; weights: string; threshold: number } | null;
}

const REBUILD = 'rebuild the site (npm run build) so the pipeline publishes matching files';

/** The part of metadata.json (pipeline/lib/train/train-stage.ts `modelMetadata`) the demo relies on. */
export interface DemoModelMetadata {
  model: DemoModelKind;
  title?: string;
  genres: string[];
  threshold: number;
  trainingKey?: string;
  input: ({ kind: 'poster' } & PosterInputSpec) | ({ kind: 'overview' } & VectorizerConfig);
}

/** The learned fusion's metadata.json (contract.ts `GmuModelMetadataSchema`), checked, with its statistics as float32 arrays. */
export interface DemoGmuMetadata {
  meta: GmuModelMetadata;
  standardisation: { visual: Standardisation; textual: Standardisation };
}

/**
 * Checks a metadata.json against what the page expects (its model kind, the report's genres) and
 * returns it typed; throws a message a visitor can act on.
 */
export function parseModelMetadata(data: unknown, kind: DemoModelKind, genres: readonly string[]): DemoModelMetadata {
  const fail = (why: string): never => {
    throw new Error(`the ${kind} model's metadata.json ${why}; ${REBUILD}`);
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

/**
 * Checks the learned fusion's metadata.json (`file`: its URL, named in every error) against what the
 * page needs: model "gmu", the report's genres, a CNN and a BiLSTM layer as inputs, and for each
 * `units` means and positive standard deviations (read back as the float32 values the pipeline
 * used). Hand-written rather than zod, to keep zod out of the page's bundle; the pipeline validates
 * what it writes with contract.ts `GmuModelMetadataSchema`.
 */
export function parseGmuMetadata(data: unknown, genres: readonly string[], file: string): DemoGmuMetadata {
  const fail = (why: string): never => {
    throw new Error(`the learned fusion's ${file} ${why}; ${REBUILD}`);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('is not a JSON object');
  const meta = data as Partial<GmuModelMetadata>;
  if (meta.model !== 'gmu') fail(`describes model ${JSON.stringify(meta.model)}, not gmu`);
  if (!Array.isArray(meta.genres) || meta.genres.join('\n') !== genres.join('\n')) {
    fail(`lists other genres than this report (${Array.isArray(meta.genres) ? meta.genres.length : 0} vs ${genres.length})`);
  }
  const input = meta.input as Partial<GmuModelMetadata['input']> | undefined;
  if (!input || typeof input !== 'object' || input.kind !== 'activations') return fail('has no input section of kind "activations"');
  const side = (name: 'visual' | 'textual', model: DemoModelKind): Standardisation => {
    const part = input[name] as Partial<GmuModelMetadata['input']['visual']> | undefined;
    if (!part || part.model !== model) return fail(`does not take its ${name} input from the ${model} model`);
    if (typeof part.layer !== 'string' || part.layer === '') return fail(`names no ${model} layer for its ${name} input`);
    if (!Number.isInteger(part.units) || (part.units as number) < 1) return fail(`gives no width for its ${name} input`);
    try {
      return standardisationFromJson(part.standardisation, part.units as number, `input.${name}.standardisation`);
    } catch (error) {
      return fail(`is malformed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const standardisation = { visual: side('visual', 'cnn'), textual: side('textual', 'lstm') };
  const threshold = typeof meta.threshold === 'number' ? meta.threshold : 0.5;
  return { meta: { ...(meta as GmuModelMetadata), threshold }, standardisation };
}

/**
 * The learned fusion must have been trained on the activations of the very models the page runs:
 * the training key in its metadata.json must be the CNN's and the BiLSTM's. Throws naming the files
 * and the fix.
 */
export function checkGmuMatchesModels(gmu: GmuModelMetadata, models: Record<DemoModelKind, Pick<DemoModelMetadata, 'trainingKey'>>, file: string): void {
  for (const kind of ['cnn', 'lstm'] as const) {
    const key = models[kind].trainingKey;
    if (key !== undefined && key !== gmu.trainingKey) {
      throw new Error(
        `the learned fusion's ${file} was trained on the activations of other models (training key ${gmu.trainingKey}) than the published ${kind} model (${key}); ${REBUILD}`,
      );
    }
  }
}

/**
 * The GMU's two inputs for one film: the CNN's and the BiLSTM's activations (one row each, the
 * layers `meta.input.visual.layer` / `meta.input.textual.layer` name), standardised exactly as the
 * pipeline standardised them (pipeline/lib/contract/gmu-standardisation.ts `standardise`, the published
 * statistics).
 */
export function gmuInputs(visual: ArrayLike<number>, textual: ArrayLike<number>, gmu: DemoGmuMetadata): { visual: Float32Array; textual: Float32Array } {
  const { visual: v, textual: t } = gmu.meta.input;
  if (visual.length !== v.units || textual.length !== t.units) {
    throw new Error(
      `the learned fusion takes ${v.units} ${v.layer} activations of the CNN and ${t.units} ${t.layer} activations of the BiLSTM, ` +
        `but the page got ${visual.length} and ${textual.length}; ${REBUILD}`,
    );
  }
  return {
    visual: standardise(visual, v.units, [0], gmu.standardisation.visual),
    textual: standardise(textual, t.units, [0], gmu.standardisation.textual),
  };
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
 * whose input length is free — cut to the last token, at least 1 column (pipeline/lib/train/model-inputs.ts
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

/** Late fusion as pipeline/lib/analysis/analysis.ts `fuse`: w·p_cnn + (1 − w)·p_lstm, genre by genre. */
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
