/**
 * The strong overview model in the browser: the published vocabulary and idf (strong-model.json)
 * and the overview model's float32 weights (text-weights.bin), checked by hand (no zod in the page's
 * bundle), and its probabilities for a typed overview — the same TF-IDF features as the pipeline
 * (pipeline/lib/contract/tfidf.ts `tfidfRow`), then σ(w·x + b) per genre.
 */
import { tfidfColumns, tfidfRow, type TfidfColumns, type TfidfVectorizer } from '../../pipeline/lib/contract/tfidf.ts';

/** strong-model.json's format (pipeline/lib/strong/strong-model-io.ts), repeated to keep zod out of the page's bundle; tests/strong/strong-stage.test.ts parses a published file with it. */
export const STRONG_MODEL_FORMAT = 'genrelens-strong-models-v3';
const REBUILD = 'rebuild the site (npm run build) so the pipeline publishes matching files';

export interface DemoStrongText {
  vectorizer: TfidfVectorizer;
  columns: TfidfColumns;
  /** features × genres, feature-major. */
  weights: Float32Array;
  bias: Float32Array;
  genres: number;
}

const isStrings = (a: unknown): a is string[] => Array.isArray(a) && a.every((t) => typeof t === 'string');
const isNumbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((t) => typeof t === 'number' && Number.isFinite(t));
const isPair = (a: unknown): a is [number, number] => isNumbers(a) && a.length === 2;

/** The overview model from strong-model.json and text-weights.bin, or an error naming the file and the fix. */
export function parseStrongText(data: unknown, weights: ArrayBuffer, genres: readonly string[], file: string): DemoStrongText {
  const d = data as Record<string, any> | null;
  const bad = (what: string) => new Error(`${file}: ${what}; ${REBUILD}`);
  if (!d || typeof d !== 'object' || d.format !== STRONG_MODEL_FORMAT) throw bad(`not a ${STRONG_MODEL_FORMAT} file`);
  if (!isStrings(d.genres) || d.genres.join('\n') !== genres.join('\n')) throw bad('its genres are not the ones this page was built with');
  const t = d.tfidf;
  const block = (b: any) => b && isStrings(b.terms) && isNumbers(b.idf) && b.terms.length === b.idf.length;
  if (!t || !t.settings || !isPair(t.settings.wordNgrams) || !isPair(t.settings.charNgrams) || !block(t.word) || !block(t.char))
    throw bad('its TF-IDF vocabulary is malformed');
  const features = t.word.terms.length + t.char.terms.length;
  const shape = d.shapes?.text;
  if (!shape || shape.features !== features || shape.genres !== genres.length)
    throw bad(`its overview model's shape does not match its vocabulary (${features} features, ${genres.length} genres)`);
  const expected = (features + 1) * genres.length * 4;
  if (weights.byteLength !== expected) throw bad(`text-weights.bin is ${weights.byteLength} bytes, ${expected} expected`);
  const all = new Float32Array(weights);
  const vectorizer: TfidfVectorizer = {
    settings: { wordNgrams: t.settings.wordNgrams, charNgrams: t.settings.charNgrams, minDf: t.settings.minDf },
    word: t.word,
    char: t.char,
  };
  return {
    vectorizer,
    columns: tfidfColumns(vectorizer),
    weights: all.subarray(0, features * genres.length),
    bias: all.subarray(features * genres.length),
    genres: genres.length,
  };
}

/** σ(w·x + b) per genre for one overview (genre-column order). */
export function strongTextProbabilities(model: DemoStrongText, text: string): number[] {
  const z = Array.from(model.bias);
  for (const [j, v] of tfidfRow(model.vectorizer, text, model.columns)) {
    const base = j * model.genres;
    for (let g = 0; g < model.genres; g++) z[g] += v * model.weights[base + g];
  }
  return z.map((x) => 1 / (1 + Math.exp(-x)));
}
