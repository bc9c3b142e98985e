import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  adaptVectorizer,
  buildVocabulary,
  compareCodePoints,
  sequenceLengths,
  splitWhitespace,
  standardize,
  tokenize,
  vectorize,
  vectorizeAll,
  vocabularyIndex,
} from '../../pipeline/lib/contract/vectorizer.ts';

const ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'; // Python's string.punctuation

describe('standardize (lower_and_strip_punctuation)', () => {
  test('strips each of the 32 ASCII punctuation characters', () => {
    assert.equal(ASCII_PUNCTUATION.length, 32);
    for (const ch of ASCII_PUNCTUATION) {
      assert.equal(standardize(`a${ch}b`), 'ab', `should strip ${JSON.stringify(ch)}`);
    }
    assert.equal(standardize(ASCII_PUNCTUATION), '');
  });

  test('strips nothing else in ASCII (the ",-\\." in Keras\'s regex is the range , - .)', () => {
    for (let code = 0; code < 128; code++) {
      const ch = String.fromCharCode(code);
      if (ASCII_PUNCTUATION.includes(ch)) continue;
      const expected = ch >= 'A' && ch <= 'Z' ? ch.toLowerCase() : ch;
      assert.equal(standardize(ch), expected, `code ${code}`);
    }
  });

  test('apostrophes and hyphens vanish inside words', () => {
    assert.equal(standardize("Don't"), 'dont');
    assert.equal(standardize("the killer's ex-wife, Mary-Jane..."), 'the killers exwife maryjane');
    assert.equal(standardize('U.S.A. (1984)'), 'usa 1984');
  });

  test('lowercases ASCII only, like tf.strings.lower without encoding (absl::AsciiStrToLower)', () => {
    assert.equal(standardize('HELLO World'), 'hello world');
    // Non-ASCII letters are not lowercased: TF only uses ICU when encoding='utf-8' is passed.
    assert.equal(standardize('ÉCOLE Élan ÄSTHETIK ΣΟΦΙΑ'), 'École Élan Ästhetik ΣΟΦΙΑ');
  });

  test('keeps non-ASCII letters and non-ASCII punctuation', () => {
    assert.equal(standardize('café naïve über'), 'café naïve über');
    assert.equal(standardize('don’t “quoted” – dash… «guillemets»'), 'don’t “quoted” – dash… «guillemets»');
  });
});

describe('splitWhitespace (tf.strings.split)', () => {
  test('runs of whitespace separate, no empty tokens', () => {
    assert.deepEqual(splitWhitespace('a b'), ['a', 'b']);
    assert.deepEqual(splitWhitespace('  a   b  '), ['a', 'b']);
    assert.deepEqual(splitWhitespace('\ta\n\nb\r\nc\vd\fe '), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(splitWhitespace(''), []);
    assert.deepEqual(splitWhitespace(' \t\n '), []);
  });

  test('only ASCII isspace characters separate', () => {
    assert.deepEqual(splitWhitespace('a\u00a0b'), ['a\u00a0b']); // no-break space
    assert.deepEqual(splitWhitespace('a\u2003b\u3000c'), ['a\u2003b\u3000c']);
    assert.deepEqual(splitWhitespace('a\u001fb'), ['a\u001fb']); // Python would split here; C isspace does not
  });

  test('tokenize = standardize then split', () => {
    assert.deepEqual(tokenize("  Don't STOP -- believin'!\n"), ['dont', 'stop', 'believin']);
    assert.deepEqual(tokenize('... !!! ---'), []);
  });
});

describe('buildVocabulary (adapt + get_vocabulary)', () => {
  test("'' and '[UNK]' first, then by frequency", () => {
    assert.deepEqual(buildVocabulary(['the cat', 'The dog', 'the cat sat']), ['', '[UNK]', 'the', 'cat', 'sat', 'dog']);
  });

  test('ties in descending code point order (np.lexsort((tokens, counts))[::-1])', () => {
    // counts: z 3; b, a, é 2; c 1. NumPy on the UTF-8 bytes gives [z, é, b, a, c].
    const vocab = buildVocabulary(['z z z', 'b a é', 'é a b', 'c']);
    assert.deepEqual(vocab, ['', '[UNK]', 'z', 'é', 'b', 'a', 'c']);
    // Code point order, not UTF-16: U+1F600 sorts above U+FF5A, as NumPy sorts the bytes.
    assert.deepEqual(buildVocabulary(['ｚ a 😀']), ['', '[UNK]', '😀', 'ｚ', 'a']);
    assert.ok(compareCodePoints('😀', 'ｚ') > 0);
    assert.ok('😀' < 'ｚ'); // ... which plain JS comparison gets wrong
  });

  test('counts occurrences, not documents', () => {
    assert.deepEqual(buildVocabulary(['x x x x', 'y', 'y', 'y']), ['', '[UNK]', 'x', 'y']);
  });

  test('maxTokens includes both special tokens and cuts the least frequent', () => {
    const texts = ['a a a a b b b c c d'];
    assert.deepEqual(buildVocabulary(texts, 4), ['', '[UNK]', 'a', 'b']);
    assert.deepEqual(buildVocabulary(texts, 2), ['', '[UNK]']);
    assert.deepEqual(buildVocabulary(texts, 100), ['', '[UNK]', 'a', 'b', 'c', 'd']);
    assert.throws(() => buildVocabulary(texts, 1), RangeError);
    assert.throws(() => buildVocabulary(texts, 3.5), RangeError);
  });

  test('the default cap is 10,000', () => {
    const texts = [Array.from({ length: 10_050 }, (_, i) => `w${i}`).join(' ')];
    const vocab = buildVocabulary(texts);
    assert.equal(vocab.length, 10_000);
    // all counts tie at 1: descending code point order, so "w9999" comes before "w10000".
    assert.deepEqual(vocab.slice(0, 5), ['', '[UNK]', 'w9999', 'w9998', 'w9997']);
  });

  test('no texts: just the special tokens', () => {
    assert.deepEqual(buildVocabulary([]), ['', '[UNK]']);
  });
});

describe('vectorize (output_mode int)', () => {
  const vocab = ['', '[UNK]', 'the', 'cat', 'sat', 'dog'];

  test('maps tokens to their index, unknown to 1, pads with 0 at the end', () => {
    assert.deepEqual([...vectorize('The cat sat on the MAT.', vocab, 8)], [2, 3, 4, 1, 2, 1, 0, 0]);
  });

  test('truncates keeping the first tokens', () => {
    assert.deepEqual([...vectorize('the cat sat the dog', vocab, 3)], [2, 3, 4]);
  });

  test('empty or punctuation-only text gives all zeros', () => {
    assert.deepEqual([...vectorize('', vocab, 4)], [0, 0, 0, 0]);
    assert.deepEqual([...vectorize(' ?! ', vocab, 4)], [0, 0, 0, 0]);
  });

  test('default sequence length is 100', () => {
    const ids = vectorize('dog', vocab);
    assert.equal(ids.length, 100);
    assert.equal(ids[0], 5);
    assert.equal(
      ids.slice(1).every((id) => id === 0),
      true,
    );
  });

  test('accepts a prebuilt index and rejects malformed vocabularies', () => {
    const index = vocabularyIndex(vocab);
    assert.equal(index.get('dog'), 5);
    assert.deepEqual([...vectorize('dog cat', index, 3)], [5, 3, 0]);
    assert.throws(() => vocabularyIndex(['the', 'cat']));
    assert.throws(() => vocabularyIndex(['', '[UNK]', 'a', 'a']));
    assert.throws(() => vectorize('a', vocab, 0), RangeError);
  });

  test('vectorizeAll is row-major N×L, sequenceLengths counts non-zero ids', () => {
    const ids = vectorizeAll(['the cat', '', 'dog dog dog dog dog', 'zebra'], vocabularyIndex(vocab), 3);
    assert.ok(ids instanceof Int32Array);
    assert.deepEqual([...ids], [2, 3, 0, 0, 0, 0, 5, 5, 5, 1, 0, 0]);
    assert.deepEqual([...sequenceLengths(ids, 3)], [2, 0, 3, 1]);
    assert.throws(() => sequenceLengths(ids, 5), RangeError);
  });
});

test('adaptVectorizer records the Keras settings and the vocabulary', () => {
  const config = adaptVectorizer(['b a', 'a'], { sequenceLength: 10 });
  assert.deepEqual(config, {
    maxTokens: 10_000,
    sequenceLength: 10,
    standardize: 'lower_and_strip_punctuation',
    split: 'whitespace',
    vocabulary: ['', '[UNK]', 'a', 'b'],
  });
  assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
});
