/**
 * Explanations (pipeline/lib/explain/explain.ts, the card view in src/lib/explain-view.ts): occlusion maps and
 * leave-one-word-out scores computed with fake models whose right answer is known, tokens mapped
 * back to the words of the overview, the film choice, the cache check, and what the card draws.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExplanationsArtifact } from '../../pipeline/lib/contract/contract.ts';
import {
  argmax,
  channelMeans,
  chooseFilms,
  leaveOneOut,
  occlusionMap,
  overviewSegments,
  patchStarts,
  segmentIds,
  type PredictImages,
  type PredictTokens,
} from '../../pipeline/lib/explain/explain.ts';
import { explanationMethod, explanationsUpToDate, inputRegion } from '../../pipeline/lib/explain/explain-stage.ts';
import { buildVocabulary, tokenize, vectorize, vocabularyIndex } from '../../pipeline/lib/contract/vectorizer.ts';
import { formatPoints, heatmapView, wordsView } from '../../src/lib/explain-view.ts';
import { attachExplanations, type Example } from '../../src/lib/report.ts';

const SIZE = 64;
const CHANNELS = 3;

/** An image whose pixel (y, x) channel c is `value(y, x, c)`. */
function image(value: (y: number, x: number, c: number) => number): Float32Array {
  const out = new Float32Array(SIZE * SIZE * CHANNELS);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) for (let c = 0; c < CHANNELS; c++) out[(y * SIZE + x) * CHANNELS + c] = value(y, x, c);
  return out;
}

/**
 * A fake CNN with 3 genres that only looks at the top-left 8×8 corner: genre 0 = mean red of the
 * corner, genre 1 = a constant 0.3, genre 2 = 0.1. Records the batch sizes it was called with.
 */
function cornerModel(calls: number[]): PredictImages {
  return async (images, count) => {
    calls.push(count);
    const per = SIZE * SIZE * CHANNELS;
    const out = new Float32Array(count * 3);
    for (let n = 0; n < count; n++) {
      let red = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) red += images[n * per + (y * SIZE + x) * CHANNELS];
      out.set([red / 64, 0.3, 0.1], n * 3);
    }
    return out;
  };
}

describe('poster occlusion', () => {
  test('patches tile the input; a last patch is flush with the edge when the stride does not divide it', () => {
    assert.deepEqual(patchStarts(64, 8, 8), [0, 8, 16, 24, 32, 40, 48, 56]);
    assert.deepEqual(patchStarts(10, 4, 4), [0, 4, 6]);
    assert.deepEqual(patchStarts(8, 8, 8), [0]);
    assert.throws(() => patchStarts(8, 9, 1), /patch/);
  });

  test('only the patch the model looks at matters, by exactly the drop the covering causes', async () => {
    // Red 1 in the top-left corner, 0 elsewhere: the mean red is 64 / 4096 = 1/64.
    const poster = image((y, x, c) => (c === 0 && y < 8 && x < 8 ? 1 : 0));
    const fill = channelMeans(poster, CHANNELS);
    assert.ok(Math.abs(fill[0] - 1 / 64) < 1e-7);
    assert.deepEqual([fill[1], fill[2]], [0, 0]);
    const calls: number[] = [];
    const result = await occlusionMap(poster, { height: SIZE, width: SIZE, channels: CHANNELS, patch: 8, stride: 8 }, cornerModel(calls));
    assert.equal(result.target, 0, 'the top genre on the intact poster');
    assert.ok(Math.abs(result.probability - 1) < 1e-6);
    assert.equal(result.drops.length, 64);
    // Covering the corner with the mean colour leaves red 1/64 there: the probability drops by 1 - 1/64.
    assert.ok(Math.abs(result.drops[0] - (1 - 1 / 64)) < 1e-6, `corner drop ${result.drops[0]}`);
    for (let k = 1; k < 64; k++) assert.equal(result.drops[k], 0, `patch ${k} is not looked at`);
    assert.deepEqual(calls, [65], 'the intact poster and the 64 variants in one batch');
  });

  test('batches of a given size; a patch overlapping the corner by a quarter drops by a quarter', async () => {
    const poster = image((y, x, c) => (c === 0 && y < 8 && x < 8 ? 1 : 0));
    const calls: number[] = [];
    const result = await occlusionMap(
      poster,
      { height: SIZE, width: SIZE, channels: CHANNELS, patch: 8, stride: 4, fill: [0, 0, 0], batchSize: 64 },
      cornerModel(calls),
    );
    assert.deepEqual(result.ys, [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56]);
    assert.deepEqual(calls, [64, 64, 64, 34], '1 + 15 × 15 = 226 inputs, 64 per batch');
    const cols = result.xs.length;
    const drop = (row: number, col: number) => result.drops[row * cols + col];
    assert.equal(drop(0, 0), 1, 'covers the whole corner (fill black)');
    assert.equal(drop(0, 1), 0.5, 'covers its right half');
    assert.equal(drop(1, 1), 0.25, 'covers a quarter');
    assert.equal(drop(2, 0), 0);
  });

  test('a fixed target genre is tracked instead of the top one', async () => {
    const poster = image(() => 0);
    const result = await occlusionMap(poster, { height: SIZE, width: SIZE, channels: CHANNELS, patch: 8, stride: 8, target: 2 }, cornerModel([]));
    assert.equal(result.target, 2);
    assert.ok(result.drops.every((d) => Math.abs(d) < 1e-7));
    // Without a target, the top genre of the intact black poster is the constant 0.3 (genre 1).
    assert.equal((await occlusionMap(poster, { height: SIZE, width: SIZE, channels: CHANNELS, patch: 8, stride: 8 }, cornerModel([]))).target, 1);
  });
});

/** A fake LSTM with 2 genres: genre 0 = 0.9 when token id 7 is anywhere in the row, else 0.2; genre 1 = 0.5. */
function tokenModel(seen: { rows: number; width: number; ids: number[][] }[]): PredictTokens {
  return async (ids, rows, width) => {
    const batch = Array.from({ length: rows }, (_, r) => Array.from(ids.subarray(r * width, (r + 1) * width)));
    seen.push({ rows, width, ids: batch });
    return Float32Array.from(batch.flatMap((row) => [row.includes(7) ? 0.9 : 0.2, 0.5]));
  };
}

describe('leave one word out', () => {
  test('only the token the model looks at matters; all variants in one batch, shifted left and padded', async () => {
    const seen: { rows: number; width: number; ids: number[][] }[] = [];
    const result = await leaveOneOut([4, 7, 5], [0, 1, 2], tokenModel(seen));
    assert.equal(result.target, 0);
    assert.ok(Math.abs(result.probability - 0.9) < 1e-6);
    assert.deepEqual(
      Array.from(result.drops, (d) => Math.round(d * 1e6) / 1e6),
      [0, 0.7, 0],
    );
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].ids, [
      [4, 7, 5],
      [7, 5, 0],
      [4, 5, 0],
      [4, 7, 0],
    ]);
  });

  test('positions not asked for are neither removed nor scored; batches and targets honoured', async () => {
    const seen: { rows: number; width: number; ids: number[][] }[] = [];
    const result = await leaveOneOut([7, 1, 3], [0, 2], tokenModel(seen), { target: 1, batchSize: 2 });
    assert.equal(result.target, 1);
    assert.deepEqual(Array.from(result.drops), [0, 0]);
    assert.deepEqual(
      seen.map((s) => s.ids),
      [
        [
          [7, 1, 3],
          [1, 3, 0],
        ],
        [[7, 1, 0]],
      ],
    );
    await assert.rejects(() => leaveOneOut([7], [1], tokenModel([])), /position 1/);
  });
});

describe('tokens back to the words of the overview', () => {
  const vocabulary = buildVocabulary(['the detective hunts the killer', 'the killer runs'], 10);
  const index = vocabularyIndex(vocabulary);

  test('each whitespace-separated piece is one token (or none); the text is kept exactly', () => {
    const overview = "  The Detective's  hunt -- for the  KILLER!\tends in Zürich. ";
    const segments = overviewSegments(overview, index, 100);
    assert.equal(segments.map((s) => s.text).join(''), overview, 'the segments give back the overview');
    const tokens = segments.filter((s) => s.token !== null);
    assert.deepEqual(
      tokens.map((s) => s.token),
      tokenize(overview),
      'the tokens are the vectoriser’s',
    );
    assert.deepEqual(
      Array.from(segmentIds(segments)),
      Array.from(vectorize(overview, vocabulary, 100)).filter((id) => id !== 0),
    );
    const dash = segments.find((s) => s.text === '--')!;
    assert.deepEqual([dash.token, dash.position, dash.id], [null, null, null], 'punctuation only: no token');
    const killer = segments.find((s) => s.text === 'KILLER!')!;
    assert.deepEqual([killer.token, killer.id], ['killer', index.get('killer')]);
    assert.equal(segments.find((s) => s.text === "Detective's")!.id, 1, '“detectives” is not in the vocabulary: OOV');
  });

  test('words beyond the sequence length get no position', () => {
    const segments = overviewSegments('the killer runs the detective', index, 3);
    const words = segments.filter((s) => s.token !== null);
    assert.deepEqual(
      words.map((s) => s.position),
      [0, 1, 2, null, null],
    );
    assert.deepEqual(Array.from(segmentIds(segments)), Array.from(vectorize('the killer runs the detective', vocabulary, 3)));
  });
});

describe('the explain stage’s choices', () => {
  test('curated films plus the first N, once each, in example order', () => {
    assert.deepEqual(chooseFilms(['a', 'b', 'c', 'd', 'e'], ['e', 'b'], 2), ['a', 'b', 'e']);
    assert.deepEqual(chooseFilms(['a', 'b'], ['x'], 0), []);
  });

  test('the region of the poster the model input shows, per resize fit', () => {
    assert.deepEqual(inputRegion('fill', 150, 300, 64, 64), { x: 0, y: 0, width: 150, height: 300 });
    assert.deepEqual(inputRegion('cover', 150, 300, 64, 64), { x: 0, y: 75, width: 150, height: 150 });
    assert.deepEqual(inputRegion('contain', 150, 300, 64, 64), { x: -75, y: 0, width: 300, height: 300 });
    assert.equal(inputRegion('inside', 150, 300, 64, 64), null);
  });

  test('the cached artifact is reused only for the same training, method and films', () => {
    const method = explanationMethod(64, 100);
    assert.equal(method.poster.patch, 8);
    assert.deepEqual(method.poster.xs, [0, 8, 16, 24, 32, 40, 48, 56]);
    const existing = { trainingKey: 'k', method, films: [{ id: 'a' }, { id: 'b' }] } as unknown as ExplanationsArtifact;
    assert.equal(explanationsUpToDate(existing, 'k', ['a', 'b'], method), true);
    assert.equal(explanationsUpToDate(existing, 'other', ['a', 'b'], method), false);
    assert.equal(explanationsUpToDate(existing, 'k', ['a'], method), false);
    assert.equal(explanationsUpToDate(existing, 'k', ['a', 'b'], explanationMethod(64, 50)), false);
  });
});

describe('the card’s view of an explanation', () => {
  const method = explanationMethod(64, 4);
  const drops = Array.from({ length: 64 }, () => 0);
  drops[0] = 0.2; // top-left patch: supports the prediction
  drops[63] = -0.1; // bottom-right: covering it raises the probability
  drops[9] = 0.001; // too faint to draw
  const film = {
    id: 'f1',
    poster: { genre: 'Drama', probability: 0.6, drops, frame: { width: 150, height: 300, input: { x: 0, y: 0, width: 150, height: 300 } } },
    overview: {
      genre: 'Crime',
      probability: 0.7,
      segments: [
        { text: 'A', token: 'a', position: 0, score: 0.01 },
        { text: ' ', token: null, position: null, score: null },
        { text: 'killer', token: 'killer', position: 1, score: 0.05 },
        { text: ' ', token: null, position: null, score: null },
        { text: 'zqx', token: 'zqx', position: 2, score: null },
        { text: ' ', token: null, position: null, score: null },
        { text: 'smiles.', token: 'smiles', position: 3, score: -0.02 },
        { text: ' ', token: null, position: null, score: null },
        { text: 'Later', token: 'later', position: null, score: null },
      ],
    },
  };
  const example = {
    id: 'f1',
    overview: 'A killer zqx smiles. Later',
    genres: ['Crime'],
    thumbnail: null,
    models: {} as Example['models'],
    outcome: 'both-right',
  } as Example;

  test('the heatmap: patches mapped onto the poster’s pixels, red where covering lowers the genre, blue where it raises it', () => {
    const [explained] = attachExplanations([example], { trainingKey: 'k', method, films: [film] } as unknown as ExplanationsArtifact, 'k');
    const view = heatmapView(explained.explanation!);
    assert.equal(view.viewBox, '0 0 150 300');
    assert.equal(view.preserveAspectRatio, 'xMidYMid slice', 'cropped as the thumbnail is');
    assert.equal(view.cells.length, 2, 'the faint patch is not drawn');
    assert.equal(view.transform, 'translate(0 0) scale(18.75 37.5)', 'one patch unit = 8/64 of the poster each way');
    const [first, last] = view.cells;
    assert.deepEqual([first.x, first.y, first.tint, first.opacity], [0, 0, 'support', 0.65]);
    assert.deepEqual([last.x, last.y, last.tint, last.opacity], [7, 7, 'oppose', 0.33]);
    assert.equal(first.title, 'Row 1, column 1 covered: Drama −20.0 pts');
    assert.equal(last.title, 'Row 8, column 8 covered: Drama +10.0 pts');
    assert.match(view.label, /covering the top left of the poster lowers it most, by 20\.0 pts/);
  });

  test('the words: tint ∝ score, every scored word titled with its value, the strongest in a sentence', () => {
    const [explained] = attachExplanations([example], { trainingKey: 'k', method, films: [film] } as unknown as ExplanationsArtifact, 'k');
    const view = wordsView(explained.explanation!);
    assert.equal(view.words.map((w) => w.text).join(''), example.overview);
    assert.equal(view.scored, 3);
    const killer = view.words[2];
    assert.deepEqual([killer.tint, killer.alpha, killer.title], ['support', 0.6, 'without it: Crime −5.0 pts']);
    assert.deepEqual([view.words[0].tint, view.words[0].alpha], ['support', 0.12]);
    assert.deepEqual([view.words[6].tint, view.words[6].alpha, view.words[6].title], ['oppose', 0.24, 'without it: Crime +2.0 pts']);
    assert.match(view.words[4].title!, /not in the LSTM’s vocabulary/);
    assert.match(view.words[8].title!, /beyond the first 4 tokens/);
    assert.equal(view.words[1].title, undefined);
    assert.equal(view.summary, 'LSTM, Crime (70.0%) — removing a word lowers it most: “killer” −5.0 pts, “A” −1.0 pts; raises it: “smiles.” +2.0 pts.');
    assert.deepEqual([0.0004, 0.00004, 0.0009, 0, -0.0412].map(formatPoints), ['0.04 pts', '0.004 pts', '0.09 pts', '0.0 pts', '4.1 pts']);
  });

  test('explanations from another training run, or of unknown films, fail loudly', () => {
    const artifact = { trainingKey: 'k', method, films: [film] } as unknown as ExplanationsArtifact;
    assert.throws(() => attachExplanations([example], artifact, 'other'), /different runs/);
    assert.throws(() => attachExplanations([{ ...example, id: 'g' }], artifact, 'k'), /not a validation film/);
    const [plain] = attachExplanations([{ ...example, id: 'g' }], { ...artifact, films: [] }, 'k');
    assert.equal(plain.explanation, undefined);
  });
});

test('argmax takes the first of equal values', () => {
  assert.equal(argmax([0.1, 0.5, 0.5]), 1);
});
