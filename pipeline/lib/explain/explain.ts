/**
 * Explanations of single predictions: pure maths around a `predict(batch)` function, so it can be
 * tested with fake models whose right answer is known (tests/explain/explain.test.ts); the explain stage
 * (`pipeline/lib/explain/explain-stage.ts`) plugs in the trained tfjs models.
 *
 * - **Poster occlusion** (`occlusionMap`): the poster is split into patches (the stage uses 8×8
 *   pixel patches with stride 8 on the 64×64 input: an 8×8 grid); each variant covers one patch
 *   with the poster's own mean colour (per channel), and the map is the drop in the probability of
 *   the model's top genre on the intact poster: positive where covering the patch lowers it (the
 *   patch supported the prediction), negative where it raises it. The intact poster and all
 *   variants go through the model in batches (default: one batch of 1 + patches).
 * - **Leave one word out** (`leaveOneOut`): one variant per scored token, the token deleted from
 *   the model's input and the rest shifted left (the end padded with 0, which the LSTM masks); the
 *   score is the drop in the probability of the model's top genre on the intact overview. All
 *   variants go through the model in one batch.
 * - **Tokens back to words** (`overviewSegments`): the vectoriser lowercases, strips ASCII
 *   punctuation and splits on ASCII whitespace (pipeline/lib/contract/vectorizer.ts); since standardising never
 *   adds or removes whitespace, each whitespace-separated piece of the original text is exactly one
 *   token (or none, when it is only punctuation). The segments cover the whole text, so the card can
 *   show it unchanged with each word marked.
 */
import { OOV_INDEX, PADDING_INDEX, standardize } from '../contract/vectorizer.ts';

/** Model probabilities for `count` images (count × height × width × channels, row-major): count × genres. */
export type PredictImages = (images: Float32Array, count: number) => Promise<Float32Array>;
/** Model probabilities for `rows` token-id rows of `width` ids (0 = padding): rows × genres. */
export type PredictTokens = (ids: Int32Array, rows: number, width: number) => Promise<Float32Array>;

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Patches along one side: starts 0, stride, … while a whole patch fits, plus a last one flush with the edge. */
export function patchStarts(size: number, patch: number, stride: number): number[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (!Number.isInteger(patch) || patch < 1 || patch > size) throw new RangeError(`patch must be an integer in 1..${size}, got ${patch}`);
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`stride must be a positive integer, got ${stride}`);
  const starts: number[] = [];
  for (let at = 0; at + patch <= size; at += stride) starts.push(at);
  if (starts[starts.length - 1] + patch < size) starts.push(size - patch);
  return starts;
}

/** Mean of each channel over an image's pixels (height × width × channels, row-major). */
export function channelMeans(image: Float32Array, channels: number): Float32Array {
  const pixels = image.length / channels;
  const sums = new Float64Array(channels);
  for (let i = 0; i < image.length; i++) sums[i % channels] += image[i];
  return Float32Array.from(sums, (sum) => sum / pixels);
}

export interface OcclusionOptions {
  height: number;
  width: number;
  channels: number;
  /** Side of the square patch, in input pixels. */
  patch: number;
  stride: number;
  /** Fill per channel; default: the image's own mean colour. */
  fill?: ArrayLike<number>;
  /** Images per `predict` call (the intact image counts); default: all in one call. */
  batchSize?: number;
  /** Genre whose probability is tracked; default: the top genre on the intact image. */
  target?: number;
}

export interface OcclusionResult {
  /** The tracked genre and its probability on the intact image. */
  target: number;
  probability: number;
  /** Top-left corners of the patches, in input pixels. */
  ys: number[];
  xs: number[];
  /** rows × cols, row-major: probability on the intact image minus probability with that patch covered. */
  drops: Float64Array;
  /** How many times `predict` was called. */
  batches: number;
}

/** Runs `count` inputs (built by `fill(out, row, first)`) through `predict` in batches; returns count × genres. */
async function batched<T extends Float32Array | Int32Array>(
  count: number,
  batchSize: number,
  per: number,
  make: (length: number) => T,
  fill: (out: T, offset: number, item: number) => void,
  predict: (batch: T, rows: number) => Promise<Float32Array>,
): Promise<{ probabilities: Float32Array[]; batches: number }> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const probabilities: Float32Array[] = [];
  let batches = 0;
  for (let first = 0; first < count; first += batchSize) {
    const rows = Math.min(batchSize, count - first);
    const batch = make(rows * per);
    for (let row = 0; row < rows; row++) fill(batch, row * per, first + row);
    const out = await predict(batch, rows);
    batches++;
    if (out.length === 0 || out.length % rows !== 0) throw new Error(`predict returned ${out.length} values for ${rows} inputs`);
    const genres = out.length / rows;
    for (let row = 0; row < rows; row++) probabilities.push(out.slice(row * genres, (row + 1) * genres));
  }
  return { probabilities, batches };
}

/** The occlusion map of one image (see the module comment). */
export async function occlusionMap(image: Float32Array, options: OcclusionOptions, predict: PredictImages): Promise<OcclusionResult> {
  const { height, width, channels, patch, stride } = options;
  const per = height * width * channels;
  if (image.length !== per) throw new RangeError(`image has ${image.length} values, expected ${height}×${width}×${channels} = ${per}`);
  const ys = patchStarts(height, patch, stride);
  const xs = patchStarts(width, patch, stride);
  const fill = options.fill ?? channelMeans(image, channels);
  if (fill.length !== channels) throw new RangeError(`fill has ${fill.length} values for ${channels} channels`);
  const cells = ys.length * xs.length;
  const count = 1 + cells;
  const { probabilities, batches } = await batched(
    count,
    options.batchSize ?? count,
    per,
    (length) => new Float32Array(length),
    (out, offset, item) => {
      out.set(image, offset);
      if (item === 0) return;
      const cell = item - 1;
      const y0 = ys[Math.floor(cell / xs.length)];
      const x0 = xs[cell % xs.length];
      for (let y = y0; y < y0 + patch; y++) {
        for (let x = x0; x < x0 + patch; x++) {
          const at = offset + (y * width + x) * channels;
          for (let c = 0; c < channels; c++) out[at + c] = fill[c];
        }
      }
    },
    predict,
  );
  const target = options.target ?? argmax(probabilities[0]);
  const probability = probabilities[0][target];
  const drops = Float64Array.from({ length: cells }, (_, cell) => probability - probabilities[cell + 1][target]);
  return { target, probability, ys, xs, drops, batches };
}

export interface LeaveOneOutOptions {
  /** Rows per `predict` call (the intact row counts); default: all in one call. */
  batchSize?: number;
  /** Genre whose probability is tracked; default: the top genre on the intact input. */
  target?: number;
}

export interface LeaveOneOutResult {
  target: number;
  probability: number;
  /** Per entry of `positions`: probability on the intact input minus probability without that token. */
  drops: Float64Array;
  batches: number;
}

/**
 * Leave-one-token-out scores of `positions` in `ids` (the model's input, without padding): each
 * variant deletes one token, shifts the rest left and pads the end with 0.
 */
export async function leaveOneOut(
  ids: ArrayLike<number>,
  positions: readonly number[],
  predict: PredictTokens,
  options: LeaveOneOutOptions = {},
): Promise<LeaveOneOutResult> {
  const length = ids.length;
  for (const position of positions) {
    if (!Number.isInteger(position) || position < 0 || position >= length) throw new RangeError(`position ${position} is not a token of an input of ${length}`);
  }
  const width = Math.max(1, length);
  const count = 1 + positions.length;
  const { probabilities, batches } = await batched(
    count,
    options.batchSize ?? count,
    width,
    (n) => new Int32Array(n),
    (out, offset, item) => {
      const skip = item === 0 ? -1 : positions[item - 1];
      let at = offset;
      for (let t = 0; t < length; t++) if (t !== skip) out[at++] = ids[t];
      while (at < offset + width) out[at++] = PADDING_INDEX;
    },
    (batch, rows) => predict(batch, rows, width),
  );
  const target = options.target ?? argmax(probabilities[0]);
  const probability = probabilities[0][target];
  const drops = Float64Array.from(positions, (_, k) => probability - probabilities[k + 1][target]);
  return { target, probability, drops, batches };
}

/** A piece of an overview: a word (whitespace-separated), or the whitespace between words. */
export interface OverviewSegment {
  text: string;
  /** The token the vectoriser makes of this piece; null for whitespace and pieces that are only punctuation. */
  token: string | null;
  /** The token's position in the model's input; null when it has none or lies beyond `sequenceLength`. */
  position: number | null;
  /** Its id (OOV_INDEX when not in the vocabulary); null when `position` is null. */
  id: number | null;
}

/** C `isspace` in the "C" locale: the vectoriser's only separators (pipeline/lib/contract/vectorizer.ts). */
const WHITESPACE_RUN = /([ \t\n\v\f\r]+)/;

/** Splits an overview into words and whitespace, each word with its token, input position and id. */
export function overviewSegments(overview: string, vocabulary: ReadonlyMap<string, number>, sequenceLength: number): OverviewSegment[] {
  const segments: OverviewSegment[] = [];
  let next = 0;
  for (const piece of overview.split(WHITESPACE_RUN)) {
    if (piece === '') continue;
    if (WHITESPACE_RUN.test(piece)) {
      segments.push({ text: piece, token: null, position: null, id: null });
      continue;
    }
    const token = standardize(piece);
    if (token === '') {
      segments.push({ text: piece, token: null, position: null, id: null });
      continue;
    }
    const position = next++;
    segments.push(
      position < sequenceLength ? { text: piece, token, position, id: vocabulary.get(token) ?? OOV_INDEX } : { text: piece, token, position: null, id: null },
    );
  }
  return segments;
}

/** The model's input ids of an overview's segments (the vectoriser's output without the padding). */
export function segmentIds(segments: readonly OverviewSegment[]): Int32Array {
  return Int32Array.from(segments.filter((s) => s.position !== null).map((s) => s.id as number));
}

/**
 * The films to explain: the curated ones, then the first `first` of `ordered`, each once, in the
 * order of `ordered` (ids not in `ordered` are dropped).
 */
export function chooseFilms(ordered: readonly string[], curated: readonly string[], first: number): string[] {
  const wanted = new Set([...curated, ...ordered.slice(0, Math.max(0, first))]);
  return ordered.filter((id) => wanted.has(id));
}
