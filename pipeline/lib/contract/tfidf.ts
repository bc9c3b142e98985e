/**
 * TF-IDF features of the overviews, as scikit-learn's TfidfVectorizer computes them with
 * `sublinear_tf=True` (tf → 1 + ln tf), smooth idf (ln((1 + n) / (1 + df)) + 1) and l2-normalised rows:
 * one block of word 1–2-grams (lowercase; tokens of two or more word characters, scikit-learn's
 * `\b\w\w+\b`) and one of character 3–5-grams inside word boundaries (`analyzer='char_wb'`), each
 * normalised, side by side. The vocabulary and idf are fitted on the training films only; a term
 * must occur in `minDf` of them. Short texts (median 25 words) get most of their signal from the
 * character n-grams: names, stems and misspellings a word vocabulary misses.
 *
 * Part of the contract because the live demo computes the same features in the browser
 * (`tfidfRow`); the pipeline stacks the rows into sparse matrices (pipeline/lib/strong/).
 */

export interface TfidfSettings {
  wordNgrams: readonly [number, number];
  charNgrams: readonly [number, number];
  minDf: number;
}

/** One block's fitted vocabulary (sorted, as scikit-learn sorts it) and idf. */
export interface TfidfBlock {
  terms: string[];
  idf: ArrayLike<number>;
}

export interface TfidfVectorizer {
  settings: TfidfSettings;
  word: TfidfBlock;
  char: TfidfBlock;
}

const WORD = /[\p{L}\p{N}\p{M}_]{2,}/gu;

/** The word n-grams of a text, with repeats (scikit-learn's word analyzer). */
export function wordNgrams(text: string, [low, high]: readonly [number, number]): string[] {
  const tokens = text.toLowerCase().match(WORD) ?? [];
  const out: string[] = [];
  for (let n = low; n <= high; n++) for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}

/** The character n-grams inside word boundaries, with repeats (scikit-learn's `char_wb` analyzer). */
export function charNgrams(text: string, [low, high]: readonly [number, number]): string[] {
  const out: string[] = [];
  for (const word of text.toLowerCase().split(/\s+/).filter(Boolean)) {
    const padded = ` ${word} `;
    const chars = [...padded];
    for (let n = low; n <= high; n++) {
      let offset = 0;
      out.push(chars.slice(offset, offset + n).join(''));
      while (offset + n < chars.length) {
        offset++;
        out.push(chars.slice(offset, offset + n).join(''));
      }
      if (offset === 0) break; // the word is shorter than n: counted once, as scikit-learn does
    }
  }
  return out;
}

function counts(terms: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of terms) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

function fitBlock(docs: readonly Map<string, number>[], minDf: number): TfidfBlock {
  const df = new Map<string, number>();
  for (const doc of docs) for (const term of doc.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  const terms = [...df.keys()].filter((t) => df.get(t)! >= minDf).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = docs.length;
  return { terms, idf: Float64Array.from(terms, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1) };
}

/** One text's l2-normalised values in one block, by column (offset by `offset`), into `row`. */
function blockRow(doc: Map<string, number>, column: ReadonlyMap<string, number>, idf: ArrayLike<number>, offset: number, row: Map<number, number>): void {
  const values: [number, number][] = [];
  let norm = 0;
  for (const [term, tf] of doc) {
    const j = column.get(term);
    if (j === undefined) continue;
    const v = (1 + Math.log(tf)) * idf[j];
    values.push([j, v]);
    norm += v * v;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (const [j, v] of values) row.set(offset + j, v * scale);
}

/** Term → column of each block, built once per vectorizer. */
export interface TfidfColumns {
  word: ReadonlyMap<string, number>;
  char: ReadonlyMap<string, number>;
}

export function tfidfColumns(vectorizer: TfidfVectorizer): TfidfColumns {
  return { word: new Map(vectorizer.word.terms.map((t, i) => [t, i])), char: new Map(vectorizer.char.terms.map((t, i) => [t, i])) };
}

/** Fits the vocabulary and idf on `texts` (the training films' overviews). */
export function fitTfidf(texts: readonly string[], settings: TfidfSettings): TfidfVectorizer {
  const word = texts.map((t) => counts(wordNgrams(t, settings.wordNgrams)));
  const char = texts.map((t) => counts(charNgrams(t, settings.charNgrams)));
  return { settings, word: fitBlock(word, settings.minDf), char: fitBlock(char, settings.minDf) };
}

/**
 * One text's features, column → value: the word block (columns 0 … words − 1) then the character
 * block, each l2-normalised. Columns without a term of the text are absent.
 */
export function tfidfRow(vectorizer: TfidfVectorizer, text: string, columns: TfidfColumns = tfidfColumns(vectorizer)): Map<number, number> {
  const row = new Map<number, number>();
  const { settings } = vectorizer;
  blockRow(counts(wordNgrams(text, settings.wordNgrams)), columns.word, vectorizer.word.idf, 0, row);
  blockRow(counts(charNgrams(text, settings.charNgrams)), columns.char, vectorizer.char.idf, vectorizer.word.terms.length, row);
  return row;
}

/** The number of feature columns: both blocks' terms. */
export const tfidfWidth = (vectorizer: TfidfVectorizer) => vectorizer.word.terms.length + vectorizer.char.terms.length;

/** The term of a feature column (word block first), labelled with its block. */
export function featureTerm(vectorizer: TfidfVectorizer, column: number): { block: 'word' | 'char'; term: string } {
  const words = vectorizer.word.terms.length;
  return column < words ? { block: 'word', term: vectorizer.word.terms[column] } : { block: 'char', term: vectorizer.char.terms[column - words] };
}
