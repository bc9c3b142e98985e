/**
 * Text vectorization that reproduces Keras `TextVectorization` with its default settings
 * (`standardize='lower_and_strip_punctuation'`, `split='whitespace'`, `output_mode='int'`), so the
 * integer sequences fed to the text model here are the ones the Keras coursework model saw, and the
 * browser can reproduce them from the `VectorizerConfig` saved in `metadata.json`.
 *
 * Semantics, checked against the sources (keras-team/keras `keras/src/layers/preprocessing/
 * text_vectorization.py` `_preprocess`/`call`, `index_lookup.py` `finalize_state`; the same code in
 * tf.keras 2.x `keras/layers/preprocessing/`; TensorFlow kernels `string_lower_op.cc`,
 * `string_split_op.cc` `SplitV2`, `str_util.cc`):
 *
 * 1. Lowercase: `tf.strings.lower(inputs)` is called WITHOUT `encoding`, and `StringLowerOp` then
 *    uses `absl::AsciiStrToLower`: only `A`-`Z` are lowercased. `É`, `Ä`, `Σ` … are left unchanged
 *    (only `encoding='utf-8'` would take the ICU path).
 * 2. Strip punctuation: `tf.strings.regex_replace(inputs, DEFAULT_STRIP_REGEX, "")` with
 *    `[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']`. The `,-\.` is a range (`,` `-` `.`), so the class
 *    is exactly the 32 ASCII punctuation characters of Python's `string.punctuation` and nothing
 *    else: non-ASCII punctuation (’ “ ” – — … «) is kept, so `don't` → `dont` but `don’t` stays.
 * 3. Split: `tf.strings.split(inputs)` (sep=None → `StringSplitV2` with an empty separator):
 *    runs of whitespace separate tokens, leading/trailing whitespace is dropped, no empty tokens.
 *    Whitespace is C `isspace` on single bytes: space, \t, \n, \v, \f, \r only. Non-ASCII spaces
 *    (U+00A0 no-break space, U+2003 …) and \x1C-\x1F are NOT separators; they stay inside tokens.
 * 4. Vocabulary (`adapt`): token occurrence counts (not document counts) over the adapted texts;
 *    `finalize_state` removes the mask token `''` and OOV token `'[UNK]'` from the counts, then
 *    `np.lexsort((tokens, counts))[::-1]`: counts descending, ties broken by the token in
 *    DESCENDING order (NumPy compares the UTF-8 bytes, i.e. Unicode code point order), then keeps
 *    the first `max_tokens - 2`. `get_vocabulary()` is `['', '[UNK]', ...tokens]`, so `max_tokens`
 *    counts both special tokens.
 * 5. Lookup (`output_mode='int'`): token → its vocabulary index, unknown → 1 (one OOV index);
 *    the ragged result is made dense with `to_tensor(default_value=0, shape=[…, L])`: zeros padded
 *    at the END, long sequences truncated keeping the FIRST L tokens.
 *
 * (Keras before 2.7 ordered ties by insertion order instead; we follow the current, deterministic one.)
 */

export const PADDING_TOKEN = '';
export const OOV_TOKEN = '[UNK]';
export const PADDING_INDEX = 0;
export const OOV_INDEX = 1;
export const DEFAULT_MAX_TOKENS = 10_000;
export const DEFAULT_SEQUENCE_LENGTH = 100;

/** Everything the browser needs to turn an overview into the model's input, saved in `metadata.json`. */
export interface VectorizerConfig {
  /** Vocabulary size cap, including `''` and `'[UNK]'` (Keras `max_tokens`). */
  maxTokens: number;
  /** Keras `output_sequence_length`. */
  sequenceLength: number;
  standardize: 'lower_and_strip_punctuation';
  split: 'whitespace';
  /** `['', '[UNK]', ...tokens]`: a token's index here is its integer id. */
  vocabulary: string[];
}

/** A vocabulary as returned by `buildVocabulary`, or an index built from one with `vocabularyIndex`. */
export type VocabularyLike = readonly string[] | ReadonlyMap<string, number>;

/** Keras `DEFAULT_STRIP_REGEX`, written out: the 32 ASCII punctuation characters. */
const STRIP_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ASCII_UPPER = /[A-Z]+/g;
/** C `isspace` in the "C" locale: the only separators of `tf.strings.split`. */
const WHITESPACE_RUN = /[ \t\n\v\f\r]+/;

/** `lower_and_strip_punctuation`: ASCII-only lowercasing, then removal of ASCII punctuation. */
export function standardize(text: string): string {
  return text.replace(ASCII_UPPER, (run) => run.toLowerCase()).replace(STRIP_PUNCTUATION, '');
}

/** `tf.strings.split(text)`: split on runs of ASCII whitespace, no empty tokens. */
export function splitWhitespace(text: string): string[] {
  const tokens = text.split(WHITESPACE_RUN);
  // Only the first and last piece can be empty (leading / trailing whitespace, or an empty text).
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens.length > 0 && tokens[0] === '') tokens.shift();
  return tokens;
}

/** standardize, then split: the tokens Keras looks up. */
export function tokenize(text: string): string[] {
  return splitWhitespace(standardize(text));
}

/**
 * Compares strings by Unicode code point (= UTF-8 byte order, what NumPy uses for `bytes`), not by
 * UTF-16 code unit as `<` does; the two differ only between astral characters and U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrderKey(x) - codePointOrderKey(y);
  }
  return a.length - b.length;
}

/** Maps a UTF-16 code unit so that comparing units orders strings by code point. */
function codePointOrderKey(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000; // surrogates sort after the BMP
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function checkMaxTokens(maxTokens: number): void {
  if (!Number.isInteger(maxTokens) || maxTokens < 2) {
    throw new RangeError(`maxTokens must be an integer >= 2 (it counts '' and '[UNK]'), got ${maxTokens}`);
  }
}

function checkSequenceLength(sequenceLength: number): void {
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) {
    throw new RangeError(`sequenceLength must be a positive integer, got ${sequenceLength}`);
  }
}

/**
 * Keras `adapt` + `get_vocabulary()`: `['', '[UNK]', ...]` then the most frequent tokens of `texts`
 * (pass the training split only), ties in descending code point order, at most `maxTokens` in all.
 */
export function buildVocabulary(texts: readonly string[], maxTokens: number = DEFAULT_MAX_TOKENS): string[] {
  checkMaxTokens(maxTokens);
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const token of tokenize(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  counts.delete(PADDING_TOKEN);
  counts.delete(OOV_TOKEN);
  const entries = [...counts];
  entries.sort((a, b) => b[1] - a[1] || compareCodePoints(b[0], a[0]));
  const learned = entries.slice(0, maxTokens - 2).map(([token]) => token);
  return [PADDING_TOKEN, OOV_TOKEN, ...learned];
}

/** token → integer id for a vocabulary from `buildVocabulary` (or one saved in a `VectorizerConfig`). */
export function vocabularyIndex(vocabulary: readonly string[]): Map<string, number> {
  if (vocabulary[0] !== PADDING_TOKEN || vocabulary[1] !== OOV_TOKEN) {
    throw new Error(`a vocabulary must start with '' and '[UNK]', got ${JSON.stringify(vocabulary.slice(0, 2))}`);
  }
  const index = new Map<string, number>();
  for (let i = 2; i < vocabulary.length; i++) {
    const token = vocabulary[i];
    if (index.has(token) || token === PADDING_TOKEN || token === OOV_TOKEN) {
      throw new Error(`vocabulary has a repeated or reserved token ${JSON.stringify(token)} at index ${i}`);
    }
    index.set(token, i);
  }
  return index;
}

function asIndex(vocabulary: VocabularyLike): ReadonlyMap<string, number> {
  return Array.isArray(vocabulary) ? vocabularyIndex(vocabulary as readonly string[]) : (vocabulary as ReadonlyMap<string, number>);
}

/** Writes the ids of `text` into `out[offset .. offset + sequenceLength)`; the rest stays 0. */
function writeIds(text: string, index: ReadonlyMap<string, number>, sequenceLength: number, out: Int32Array, offset: number): void {
  const tokens = tokenize(text);
  const n = Math.min(tokens.length, sequenceLength);
  for (let i = 0; i < n; i++) out[offset + i] = index.get(tokens[i]) ?? OOV_INDEX;
}

/** One text → `sequenceLength` ids: unknown tokens 1, padded with 0 at the end, truncated keeping the first. */
export function vectorize(text: string, vocabulary: VocabularyLike, sequenceLength: number = DEFAULT_SEQUENCE_LENGTH): Int32Array {
  checkSequenceLength(sequenceLength);
  const out = new Int32Array(sequenceLength);
  writeIds(text, asIndex(vocabulary), sequenceLength, out, 0);
  return out;
}

/** N texts → a row-major N×`sequenceLength` matrix of ids. */
export function vectorizeAll(texts: readonly string[], vocabulary: VocabularyLike, sequenceLength: number = DEFAULT_SEQUENCE_LENGTH): Int32Array {
  checkSequenceLength(sequenceLength);
  const index = asIndex(vocabulary);
  const out = new Int32Array(texts.length * sequenceLength);
  for (let row = 0; row < texts.length; row++) writeIds(texts[row], index, sequenceLength, out, row * sequenceLength);
  return out;
}

/** Non-zero ids per row of a row-major N×L id matrix (the token count, capped at L). */
export function sequenceLengths(ids: Int32Array, sequenceLength: number): Int32Array {
  checkSequenceLength(sequenceLength);
  if (ids.length % sequenceLength !== 0) {
    throw new RangeError(`ids has ${ids.length} entries, not a multiple of sequenceLength ${sequenceLength}`);
  }
  const rows = ids.length / sequenceLength;
  const lengths = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    let count = 0;
    const start = row * sequenceLength;
    for (let i = start; i < start + sequenceLength; i++) if (ids[i] !== 0) count++;
    lengths[row] = count;
  }
  return lengths;
}

/** `adapt` on the training texts: the config to save in `metadata.json`. */
export function adaptVectorizer(trainingTexts: readonly string[], options: { maxTokens?: number; sequenceLength?: number } = {}): VectorizerConfig {
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const sequenceLength = options.sequenceLength ?? DEFAULT_SEQUENCE_LENGTH;
  checkSequenceLength(sequenceLength);
  return {
    maxTokens,
    sequenceLength,
    standardize: 'lower_and_strip_punctuation',
    split: 'whitespace',
    vocabulary: buildVocabulary(trainingTexts, maxTokens),
  };
}
