/**
 * TF-IDF features of the overviews, as scikit-learn's TfidfVectorizer computes them with
 * `sublinear_tf=True` (tf → 1 + ln tf), smooth idf (ln((1 + n) / (1 + df)) + 1) and l2-normalised rows:
 * one block of word 1–2-grams (lowercase; tokens of two or more word characters, scikit-learn's
 * `\b\w\w+\b`) and one of character 3–5-grams inside word boundaries (`analyzer='char_wb'`), each
 * normalised, side by side. The vocabulary and idf are fitted on the training films only; a term
 * must occur in `minDf` of them. Short texts (median 25 words) get most of their signal from the
 * character n-grams: names, stems and misspellings a word vocabulary misses.
 */
import { concatColumns, sparseFromMaps, type SparseRows } from '../strong/sparse.ts';

export interface TfidfSettings {
  wordNgrams: readonly [number, number];
  charNgrams: readonly [number, number];
  minDf: number;
}

/** One block's fitted vocabulary (sorted, as scikit-learn sorts it) and idf. */
export interface TfidfBlock {
  terms: string[];
  idf: Float64Array;
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

function transformBlock(block: TfidfBlock, docs: readonly Map<string, number>[]): SparseRows {
  const column = new Map(block.terms.map((t, i) => [t, i]));
  const rows = docs.map((doc) => {
    const row = new Map<number, number>();
    let norm = 0;
    for (const [term, tf] of doc) {
      const j = column.get(term);
      if (j === undefined) continue;
      const v = (1 + Math.log(tf)) * block.idf[j];
      row.set(j, v);
      norm += v * v;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (const [j, v] of row) row.set(j, v * scale);
    return row;
  });
  return sparseFromMaps(rows, block.terms.length);
}

const analyse = (texts: readonly string[], settings: TfidfSettings) => ({
  word: texts.map((t) => counts(wordNgrams(t, settings.wordNgrams))),
  char: texts.map((t) => counts(charNgrams(t, settings.charNgrams))),
});

/** Fits the vocabulary and idf on `texts` (the training films' overviews). */
export function fitTfidf(texts: readonly string[], settings: TfidfSettings): TfidfVectorizer {
  const docs = analyse(texts, settings);
  return { settings, word: fitBlock(docs.word, settings.minDf), char: fitBlock(docs.char, settings.minDf) };
}

/** The features of `texts`: word block then character block, each row l2-normalised per block. */
export function tfidfFeatures(vectorizer: TfidfVectorizer, texts: readonly string[]): SparseRows {
  const docs = analyse(texts, vectorizer.settings);
  return concatColumns(transformBlock(vectorizer.word, docs.word), transformBlock(vectorizer.char, docs.char));
}

/** The term of a feature column (word block first), labelled with its block. */
export function featureTerm(vectorizer: TfidfVectorizer, column: number): { block: 'word' | 'char'; term: string } {
  const words = vectorizer.word.terms.length;
  return column < words ? { block: 'word', term: vectorizer.word.terms[column] } : { block: 'char', term: vectorizer.char.terms[column - words] };
}
