/**
 * The live demo's pure parts (src/lib/demo.ts) against the pipeline's own modules: the overview
 * input row (pipeline/lib/contract/vectorizer.ts + pipeline/lib/train/model-inputs.ts), the late fusion
 * (pipeline/lib/analysis/analysis.ts `fuse`), the learned fusion's inputs (the activations standardised with the
 * published statistics, bit for bit what pipeline/lib/gmu/gmu.ts `predictFit` feeds the GMU), the
 * ranking, and the metadata checks. The browser run itself is in tests/site/e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuse } from '../../pipeline/lib/analysis/analysis.ts';
import { GmuModelMetadataSchema, type GmuModelMetadata } from '../../pipeline/lib/contract/contract.ts';
import { standardisationToJson } from '../../pipeline/lib/contract/gmu-standardisation.ts';
import { fitStandardisation, gmuForward, predictFit, type GmuFit, type GmuWeights } from '../../pipeline/lib/gmu/gmu.ts';
import { tokenInputs, tokenLengths } from '../../pipeline/lib/train/model-inputs.ts';
import { adaptVectorizer, vectorizeAll, vocabularyIndex } from '../../pipeline/lib/contract/vectorizer.ts';
import {
  checkGmuMatchesModels,
  formatProbability,
  fuseProbabilities,
  gmuInputs,
  overviewInput,
  parseGmuMetadata,
  parseModelMetadata,
  rankGenres,
} from '../../src/lib/demo.ts';
import * as tf from '@tensorflow/tfjs';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

const TRAINING = ['A detective hunts a killer in the city.', 'Two friends find love in the city, and a dog.', "The killer's friends don't know the detective."];

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
    assert.deepEqual(
      ranked.map((r) => r.genre),
      ['B', 'D', 'E', 'C', 'A'],
    );
    assert.deepEqual(
      ranked.map((r) => r.top3),
      [true, true, true, false, false],
    );
    assert.deepEqual(
      ranked.map((r) => r.predicted),
      [true, true, true, false, false],
      '0.5 itself is not above the threshold',
    );
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

describe('the learned fusion (GMU) in the browser', () => {
  const genres = ['Comedy', 'Drama'];
  // 3 training films' activations: 3 visual units (one dead: constant 0), 2 textual.
  const trainVisual = Float32Array.from([0.5, 0, 2.25, 1.75, 0, 0.125, 3.1, 0, 1]);
  const trainTextual = Float32Array.from([10, 0.2, 30, 0.4, 20, 0.9]);
  const standardisation = { visual: fitStandardisation(trainVisual, 3, [0, 1, 2]), textual: fitStandardisation(trainTextual, 2, [0, 1, 2]) };
  /** metadata.json as the fusion stage writes it (through JSON, as the browser reads it). */
  const metadata = (): GmuModelMetadata =>
    JSON.parse(
      JSON.stringify(
        GmuModelMetadataSchema.parse({
          model: 'gmu',
          title: 'Learned fusion (GMU)',
          genres,
          threshold: 0.5,
          input: {
            kind: 'activations',
            visual: { model: 'cnn', layer: 'FC2', units: 3, standardisation: standardisationToJson(standardisation.visual) },
            textual: { model: 'lstm', layer: 'dense', units: 2, standardisation: standardisationToJson(standardisation.textual) },
          },
          chosenEpoch: 4,
          fusionVersion: 2,
          key: 'k',
          trainingKey: 't',
          datasetHash: 'd',
          seed: 42,
          tfjsVersion: '4.22.0',
        }),
      ),
    );
  const weights: GmuWeights = {
    visualDim: 3,
    textualDim: 2,
    hiddenUnits: 2,
    genreCount: 2,
    visual: Float32Array.from([0.5, -1, 0.25, 2, -0.75, 0.3]),
    textual: Float32Array.from([1.5, -0.5, 0.2, 0.1]),
    gate: Float32Array.from([1, -1, 0.5, 0.5, -2, 1, 0.3, 0.7, -0.4, 0.9]),
    output: Float32Array.from([1, -2, 0.5, 3]),
    outputBias: Float32Array.from([0.1, -0.2]),
  };

  test('a visitor’s activations are standardised bit for bit as the pipeline standardises a film, so the GMU gets the same input', () => {
    const parsed = parseGmuMetadata(metadata(), genres, 'models/gmu/metadata.json');
    assert.deepEqual(parsed.standardisation, standardisation, 'the statistics read back exactly from JSON');
    // One new film's activations (as the browser gets them from the CNN's FC2 and the BiLSTM's dense layer).
    const visual = [0.3333333, 7, 0.1];
    const textual = [12.5, 0.05];
    const mine = gmuInputs(visual, textual, parsed);
    // By hand: (x − mean) / sd; the dead unit (sd 1, mean 0) keeps its value.
    const mean1 = (0.5 + 1.75 + 3.1) / 3;
    const sd1 = Math.sqrt(((0.5 - mean1) ** 2 + (1.75 - mean1) ** 2 + (3.1 - mean1) ** 2) / 3);
    assert.ok(Math.abs(mine.visual[0] - (0.3333333 - mean1) / sd1) < 1e-5);
    assert.equal(mine.visual[1], 7);
    // The pipeline: predictFit standardises with the head's statistics and runs the GMU; the browser's inputs give the same probabilities exactly.
    const fit = { weights, standardisation, epochs: [], chosenEpoch: 0, innerTrain: [0, 1, 2], holdout: [] } as GmuFit;
    const features = { films: 1, visualDim: 3, textualDim: 2, visual: Float32Array.from(visual), textual: Float32Array.from(textual) };
    assert.deepEqual(gmuForward(weights, mine.visual, mine.textual, 1), predictFit(fit, features, [0]));
    assert.throws(
      () => gmuInputs([1, 2], textual, parsed),
      /takes 3 FC2 activations of the CNN and 2 dense activations of the BiLSTM, but the page got 2 and 2; rebuild the site \(npm run build\)/,
    );
  });

  test('metadata.json that does not fit the page is refused, naming the file and the fix', () => {
    const file = '/generated/models/gmu/metadata.json';
    const refused = (change: (m: GmuModelMetadata) => unknown, pattern: RegExp) => {
      const m = metadata();
      const data = change(m) ?? m;
      assert.throws(
        () => parseGmuMetadata(data, genres, file),
        (error: Error) => {
          assert.match(error.message, pattern);
          assert.ok(error.message.includes(file) && error.message.includes('npm run build'), error.message);
          return true;
        },
      );
    };
    refused(() => [], /is not a JSON object/);
    refused((m) => ({ ...m, model: 'cnn' }), /describes model "cnn", not gmu/);
    refused((m) => ({ ...m, genres: ['Drama'] }), /other genres than this report \(1 vs 2\)/);
    refused((m) => ({ ...m, input: { ...m.input, kind: 'poster' } }), /no input section of kind "activations"/);
    refused((m) => ({ ...m, input: { ...m.input, visual: { ...m.input.visual, model: 'lstm' } } }), /does not take its visual input from the cnn model/);
    refused((m) => ({ ...m, input: { ...m.input, textual: { ...m.input.textual, layer: '' } } }), /names no lstm layer/);
    refused((m) => ({ ...m, input: { ...m.input, textual: { ...m.input.textual, units: 3 } } }), /input\.textual\.standardisation does not hold 3 means/);
    refused(
      (m) => ({ ...m, input: { ...m.input, visual: { ...m.input.visual, standardisation: { mean: [0, 0, 0], sd: [1, 0, 1] } } } }),
      /positive standard deviations/,
    );
    const ok = parseGmuMetadata(metadata(), genres, file);
    assert.doesNotThrow(() => checkGmuMatchesModels(ok.meta, { cnn: { trainingKey: 't' }, lstm: { trainingKey: 't' } }, file));
    assert.throws(
      () => checkGmuMatchesModels(ok.meta, { cnn: { trainingKey: 't' }, lstm: { trainingKey: 'other' } }, file),
      /metadata\.json was trained on the activations of other models \(training key t\) than the published lstm model \(other\); rebuild the site/,
    );
  });
});
