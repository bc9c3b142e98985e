/**
 * TF-IDF (pipeline/lib/strong/tfidf.ts) on literal texts, every value worked out here by hand with
 * scikit-learn's formulas: sublinear tf 1 + ln tf, smooth idf ln((1 + n) / (1 + df)) + 1, l2 rows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { charNgrams, featureTerm, fitTfidf, tfidfRow, wordNgrams } from '../../pipeline/lib/contract/tfidf.ts';
import { tfidfFeatures } from '../../pipeline/lib/strong/sparse.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);

test('word n-grams: lowercase tokens of two or more word characters, then adjacent pairs', () => {
  assert.deepEqual(wordNgrams('A Cat, the CAT!', [1, 2]), ['cat', 'the', 'cat', 'cat the', 'the cat']);
  assert.deepEqual(wordNgrams('Élan vital', [2, 2]), ['élan vital']);
});

test('character n-grams inside word boundaries, as scikit-learn’s char_wb: a short word counts once', () => {
  assert.deepEqual(charNgrams('ab Cd', [3, 3]), [' ab', 'ab ', ' cd', 'cd ']);
  assert.deepEqual(charNgrams('a', [3, 5]), [' a ']);
  assert.deepEqual(charNgrams('abc', [4, 5]), [' abc', 'abc ', ' abc ']);
});

test('values: vocabulary from the fitting texts (min df), sublinear tf, smooth idf, each block l2-normalised', () => {
  const texts = ['the cat sat', 'the dog sat', 'cat cat ran'];
  const v = fitTfidf(texts, { wordNgrams: [1, 1], charNgrams: [5, 5], minDf: 2 });
  // df: the 2, cat 2, sat 2, dog 1, ran 1 → kept: cat, sat, the (sorted).
  assert.deepEqual(v.word.terms, ['cat', 'sat', 'the']);
  const idf2 = Math.log(4 / 3) + 1;
  Array.from(v.word.idf).forEach((idf) => close(idf, idf2));
  // Character 5-grams in two texts: " cat " (texts 1 and 3), " sat " (1 and 2), " the " (1 and 2).
  assert.deepEqual(v.char.terms, [' cat ', ' sat ', ' the ']);
  const x = tfidfFeatures(v, [...texts, 'a dog', 'CAT the']);
  const row = (r: number) => {
    const out = new Array<number>(x.columns).fill(0);
    for (let k = x.rowStart[r]; k < x.rowStart[r + 1]; k++) out[x.indices[k]] = x.values[k];
    return out;
  };
  // Text 1: cat, sat, the once each → 1/√3 each, in both blocks.
  row(0).forEach((value) => close(value, 1 / Math.sqrt(3)));
  // Text 3: cat twice (tf 1 + ln 2), ran not in the vocabulary → the word block is (1, 0, 0) after normalising.
  assert.deepEqual(
    row(2)
      .slice(0, 3)
      .map((n) => Math.round(n * 1e6) / 1e6),
    [1, 0, 0],
  );
  // Text 4 has no known term: an all-zero row, not NaN.
  assert.deepEqual(row(3), [0, 0, 0, 0, 0, 0]);
  // Unequal idf: fit on texts where "cat" is in all three, "the" in two.
  const w = fitTfidf(['cat the', 'cat the', 'cat'], { wordNgrams: [1, 1], charNgrams: [9, 9], minDf: 1 });
  const y = tfidfFeatures(w, ['cat cat the']);
  const cat = (1 + Math.log(2)) * (Math.log(4 / 4) + 1);
  const the = 1 * (Math.log(4 / 3) + 1);
  const norm = Math.hypot(cat, the);
  close(y.values[0], cat / norm);
  close(y.values[1], the / norm);
  assert.deepEqual(featureTerm(w, 1), { block: 'word', term: 'the' });
  // One text's row, what the browser computes: the same values, unrounded (the matrix stores float32).
  const single = tfidfRow(w, 'cat cat the');
  assert.deepEqual([...single.keys()].sort(), [0, 1, 2, 3]); // words cat, the; the padded words ' cat ', ' the ' (shorter than 9: counted once)
  close(single.get(0)!, cat / norm);
  close(single.get(1)!, the / norm);
  assert.equal(y.values[0], Math.fround(single.get(0)!));
});
