/**
 * The live demo's pure parts (src/lib/demo.ts) against the pipeline's own modules: the overview
 * input row (pipeline/vectorizer.ts + pipeline/model-inputs.ts), the late fusion
 * (pipeline/analysis.ts `fuse`), the ranking, and the metadata checks. The browser run itself is in
 * tests/e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuse } from '../pipeline/analysis.ts';
import { tokenInputs, tokenLengths } from '../pipeline/model-inputs.ts';
import { adaptVectorizer, vectorizeAll, vocabularyIndex } from '../pipeline/vectorizer.ts';
import { formatProbability, fuseProbabilities, overviewInput, parseModelMetadata, rankGenres } from '../src/lib/demo.ts';

const TRAINING = [
  'A detective hunts a killer in the city.',
  'Two friends find love in the city, and a dog.',
  "The killer's friends don't know the detective.",
];

describe('overview input', () => {
  const config = adaptVectorizer(TRAINING, { maxTokens: 12, sequenceLength: 8 });
  const index = vocabularyIndex(config.vocabulary);

  test('the same ids as the pipeline feeds its BiLSTM, cut to the last token (free input length)', () => {
    const texts = ['A DETECTIVE, a killer!', 'Unknown words only here', 'the city the city the city the city the city', '   ', '...'];
    const ids = vectorizeAll(texts, config.vocabulary, config.sequenceLength);
    const lengths = tokenLengths(ids, config.sequenceLength);
    texts.forEach((text, film) => {
      const expected = tokenInputs(ids, config.sequenceLength, lengths)([film]);
      const mine = overviewInput(text, config, index, null);
      assert.deepEqual(Array.from(mine.ids), Array.from(expected.dataSync()), JSON.stringify(text));
      expected.dispose();
    });
    const long = overviewInput('the city the city the city the city the city', config, index, null);
    assert.deepEqual([long.tokens, long.read, long.ids.length], [10, 8, 8]);
    assert.equal(overviewInput('Unknown words only here', config, index, null).unknown, 4);
    assert.equal(overviewInput('...', config, index, null).tokens, 0);
  });

  test('a model saved with a fixed input length gets the full padded row', () => {
    const mine = overviewInput('a detective', config, index, 8);
    assert.deepEqual(Array.from(mine.ids), Array.from(vectorizeAll(['a detective'], config.vocabulary, 8)));
    assert.throws(() => overviewInput('a detective', config, index, 100), /takes 100 tokens/);
  });
});

describe('fusion, ranking and metadata', () => {
  test('the fusion is the pipeline\u2019s', () => {
    const cnn = Float32Array.from([0.1, 0.7, 0.33333334, 0.9]);
    const lstm = Float32Array.from([0.5, 0.2, 0.6, 0.05]);
    for (const w of [0, 0.35, 0.5, 1]) assert.deepEqual(fuseProbabilities(cnn, lstm, w), Array.from(fuse(cnn, lstm, w)));
    assert.throws(() => fuseProbabilities(cnn, lstm, 1.5), /\[0, 1\]/);
  });

  test('genres ranked by probability, top 3 and above-threshold marked, ties in column order', () => {
    const ranked = rankGenres(['A', 'B', 'C', 'D', 'E'], [0.2, 0.9, 0.5, 0.9, 0.51]);
    assert.deepEqual(ranked.map((r) => r.genre), ['B', 'D', 'E', 'C', 'A']);
    assert.deepEqual(ranked.map((r) => r.top3), [true, true, true, false, false]);
    assert.deepEqual(ranked.map((r) => r.predicted), [true, true, true, false, false], '0.5 itself is not above the threshold');
    assert.equal(formatProbability(0.4567), '45.7%');
  });

  test('metadata that does not match the page is refused with a message', () => {
    const genres = ['Comedy', 'Drama'];
    const poster = { model: 'cnn', genres, threshold: 0.5, input: { kind: 'poster', width: 64, height: 64, channels: 3, fit: 'fill', kernel: 'nearest' } };
    assert.equal(parseModelMetadata(poster, 'cnn', genres).input.kind, 'poster');
    assert.throws(() => parseModelMetadata(poster, 'lstm', genres), /describes model "cnn", not lstm/);
    assert.throws(() => parseModelMetadata({ ...poster, genres: ['Drama'] }, 'cnn', genres), /other genres/);
    assert.throws(() => parseModelMetadata([], 'cnn', genres), /metadata.json/);
    const text = { model: 'lstm', genres, threshold: 0.5, input: { kind: 'overview', ...adaptVectorizer(TRAINING) } };
    assert.equal(parseModelMetadata(text, 'lstm', genres).input.kind, 'overview');
    assert.throws(() => parseModelMetadata({ ...text, input: { ...text.input, split: 'character' } }, 'lstm', genres), /does not reproduce/);
  });
});
