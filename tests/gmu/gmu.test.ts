/**
 * The learned fusion (pipeline/lib/gmu/gmu.ts), without trained models: the GMU's forward pass against
 * the formula computed independently in plain JS on literal weights (and the same GMU as the tfjs
 * Layers model published for the live demo, saved and loaded again), the standardisation (and its
 * JSON form in the published metadata.json), the
 * holdout split and the cross-fitting (every training film predicted exactly once, by a head that
 * did not fit on it), the epoch choice (lowest inner-holdout loss, nothing read from the validation
 * films), and determinism from the seed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { standardisationFromJson, standardisationToJson } from '../../pipeline/lib/contract/gmu-standardisation.ts';
import {
  buildGmuModel,
  crossFitted,
  fitGmu,
  fitStandardisation,
  GMU_LAYERS,
  gmuForward,
  gmuParameterCount,
  gmuWeightsOf,
  holdoutSplit,
  initialGmuWeights,
  predictFit,
  standardise,
  trainLearnedFusion,
  type GmuFeatures,
  type GmuSettings,
  type GmuWeights,
} from '../../pipeline/lib/gmu/gmu.ts';
import { binaryCrossEntropy } from '../../pipeline/lib/core/metrics.ts';
import { loadModel, readModelMetadata, saveModel } from '../../pipeline/lib/train/model-io.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { headsOnTwoThreads, splitHeads } from '../../pipeline/lib/gmu/heads-helper.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

const close = (actual: number, expected: number, tolerance = 1e-5, message?: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message ?? ''} ${actual} vs ${expected}`);

describe('the GMU forward pass', () => {
  // 2 visual features, 1 textual, 2 hidden units, 2 genres. Kernels are input × output, row-major.
  const weights: GmuWeights = {
    visualDim: 2,
    textualDim: 1,
    hiddenUnits: 2,
    genreCount: 2,
    visual: Float32Array.from([0.5, -1, 0.25, 2]),
    textual: Float32Array.from([1.5, -0.5]),
    gate: Float32Array.from([1, -1, 0.5, 0.5, -2, 1]),
    output: Float32Array.from([1, -2, 0.5, 3]),
    outputBias: Float32Array.from([0.1, -0.2]),
  };
  const visual = [
    [1, 2],
    [-0.5, 0],
    [0, 0],
  ];
  const textual = [[0.5], [2], [-1]];

  /** The formula, in plain JS: h = z·tanh(W_v x_v) + (1 − z)·tanh(W_t x_t), z = σ(W_z [x_v; x_t]), p = σ(W_o h + b). */
  function reference(xv: number[], xt: number[]): number[] {
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const times = (x: number[], kernel: Float32Array, out: number) =>
      Array.from({ length: out }, (_, j) => x.reduce((sum, xi, i) => sum + xi * kernel[i * out + j], 0));
    const hv = times(xv, weights.visual, 2).map(Math.tanh);
    const ht = times(xt, weights.textual, 2).map(Math.tanh);
    const z = times([...xv, ...xt], weights.gate, 2).map(sigmoid);
    const h = z.map((zk, k) => zk * hv[k] + (1 - zk) * ht[k]);
    return times(h, weights.output, 2).map((a, g) => sigmoid(a + weights.outputBias[g]));
  }

  test('matches the formula computed independently on literal weights', () => {
    const p = gmuForward(weights, Float32Array.from(visual.flat()), Float32Array.from(textual.flat()), 3);
    assert.equal(p.length, 6);
    visual.forEach((xv, film) => {
      const expected = reference(xv, textual[film]);
      expected.forEach((value, g) => close(p[film * 2 + g], value, 1e-6, `film ${film} genre ${g}`));
    });
    // A hand-checked cell: the third film has x_v = 0, x_t = −1 → h_v = 0, z = σ(0·… − 1·(−2, 1)) = (σ(2), σ(−1)),
    // h_t = tanh(−1.5, 0.5), h = (1 − z)·h_t, p_0 = σ(h_0 + 0.5·h_1 + 0.1).
    const z = [1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(1))];
    const h = [(1 - z[0]) * Math.tanh(-1.5), (1 - z[1]) * Math.tanh(0.5)];
    close(p[4], 1 / (1 + Math.exp(-(h[0] + 0.5 * h[1] + 0.1))), 1e-6, 'hand-worked');
    assert.throws(() => gmuForward(weights, new Float32Array(5), new Float32Array(3), 3), RangeError);
  });

  test('as a tfjs Layers model (published for the live demo): the same probabilities, saved and loaded again', async () => {
    const xv = Float32Array.from(visual.flat());
    const xt = Float32Array.from(textual.flat());
    const expected = gmuForward(weights, xv, xt, 3);
    const predict = (model: tf.LayersModel) =>
      tf.tidy(() => (model.predict([tf.tensor2d(xv, [3, 2]), tf.tensor2d(xt, [3, 1])]) as tf.Tensor).dataSync() as Float32Array).slice();
    const model = buildGmuModel(weights);
    assert.deepEqual(
      model.inputs.map((input) => input.shape),
      [
        [null, 2],
        [null, 1],
      ],
      'inputs: visual, then textual',
    );
    assert.deepEqual(model.outputs[0].shape, [null, 2]);
    assert.equal(model.countParams(), gmuParameterCount(2, 1, 2, 2));
    const direct = predict(model);
    direct.forEach((p, i) => close(p, expected[i], 1e-6, `cell ${i}`));
    // The independent formula too, so the model is not only "the same as gmuForward".
    visual.forEach((v, film) => {
      const x = [...v];
      const t = textual[film];
      const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));
      const hv = [0, 1].map((k) => Math.tanh(x[0] * weights.visual[k] + x[1] * weights.visual[2 + k]));
      const ht = [0, 1].map((k) => Math.tanh(t[0] * weights.textual[k]));
      const z = [0, 1].map((k) => sigmoid(x[0] * weights.gate[k] + x[1] * weights.gate[2 + k] + t[0] * weights.gate[4 + k]));
      const h = [0, 1].map((k) => z[k] * hv[k] + (1 - z[k]) * ht[k]);
      [0, 1].forEach((g) =>
        close(direct[film * 2 + g], sigmoid(h[0] * weights.output[g] + h[1] * weights.output[2 + g] + weights.outputBias[g]), 1e-6, `formula ${film}/${g}`),
      );
    });
    assert.deepEqual(gmuWeightsOf(model), weights, 'the weights read back from the model are the ones given');
    const dir = mkdtempSync(join(tmpdir(), 'genrelens-gmu-model-'));
    try {
      await saveModel(model, join(dir, 'gmu'), { model: 'gmu' });
      const loaded = await loadModel(join(dir, 'gmu'));
      assert.deepEqual(predict(loaded), direct, 'saved and loaded: the same probabilities');
      assert.deepEqual(gmuWeightsOf(loaded), weights);
      assert.deepEqual(
        loaded.layers
          .map((layer) => layer.name)
          .filter((name) => name.startsWith('gmu_'))
          .sort(),
        Object.values(GMU_LAYERS).sort(),
      );
      assert.deepEqual(await readModelMetadata(join(dir, 'gmu')), { model: 'gmu' });
      loaded.dispose();
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('seeded initial weights: glorot-uniform kernels, zero bias, the paper’s parameter count', () => {
    const dims = { visualDim: 6, textualDim: 3, hiddenUnits: 4, genreCount: 5 };
    const a = initialGmuWeights(dims, 7);
    assert.deepEqual(initialGmuWeights(dims, 7), a);
    assert.notDeepEqual(initialGmuWeights(dims, 8).visual, a.visual);
    const limit = Math.sqrt(6 / (6 + 4));
    assert.ok(a.visual.every((w) => Math.abs(w) <= limit) && a.visual.some((w) => w !== 0));
    assert.ok(a.outputBias.every((b) => b === 0));
    assert.equal(a.gate.length, 9 * 4);
    // W_v, W_t, W_z (no biases, as in the paper), W_o and b_o: with the coursework models' widths, 25 genres, 128 units.
    assert.equal(gmuParameterCount(6, 3, 4, 5), 6 * 4 + 3 * 4 + 9 * 4 + 4 * 5 + 5);
    assert.equal(gmuParameterCount(1024, 128, 128, 25), 1024 * 128 + 128 * 128 + 1152 * 128 + 128 * 25 + 25);
  });
});

describe('standardisation and the holdout split', () => {
  test('per-feature mean and standard deviation of the given rows only; constant features keep scale 1', () => {
    // 3 films × 2 features; statistics from rows 0 and 2 only.
    const values = Float32Array.from([1, 5, 100, 7, 3, 5]);
    const s = fitStandardisation(values, 2, [0, 2]);
    assert.deepEqual([...s.mean], [2, 5]);
    assert.deepEqual([...s.sd], [1, 1], 'feature 1 is constant on those rows: its scale stays 1');
    assert.deepEqual([...standardise(values, 2, [1, 0], s)], [98, 2, -1, 0]);
    assert.throws(() => fitStandardisation(values, 2, []), RangeError);
  });

  test('published as JSON (metadata.json), the statistics read back as the very float32 values; bad ones are refused', () => {
    const values = Float32Array.from([0.1, 3.3333333, 7.25, -1e-7, 2.2, 1e6]);
    const s = fitStandardisation(values, 2, [0, 1, 2]);
    const json = JSON.parse(JSON.stringify(standardisationToJson(s)));
    const back = standardisationFromJson(json, 2, 'metadata.json');
    assert.deepEqual(back, s);
    assert.deepEqual(standardise(values, 2, [2], back), standardise(values, 2, [2], s));
    assert.throws(() => standardisationFromJson(json, 3, 'models/gmu/metadata.json'), /models\/gmu\/metadata\.json does not hold 3 means/);
    assert.throws(() => standardisationFromJson({ mean: [0, 0], sd: [1, 0] }, 2, 'x'), /positive standard deviations/);
    assert.throws(() => standardisationFromJson(null, 2, 'x'), RangeError);
    assert.throws(() => standardise(values, 3, [0], s), /2 means and 2 standard deviations for 3 features/);
  });

  test('a seeded partition of the rows, about the fraction held out, at least one film on each side', () => {
    const rows = Array.from({ length: 50 }, (_, i) => i * 2);
    const { innerTrain, holdout } = holdoutSplit(rows, 0.1, 3);
    assert.equal(holdout.length, 5);
    assert.deepEqual(
      [...innerTrain, ...holdout].sort((a, b) => a - b),
      rows,
    );
    assert.deepEqual(holdoutSplit(rows, 0.1, 3), { innerTrain, holdout });
    assert.notDeepEqual(holdoutSplit(rows, 0.1, 4).holdout, holdout);
    assert.equal(holdoutSplit([4, 9], 0.1, 1).holdout.length, 1);
    assert.throws(() => holdoutSplit([1], 0.1, 1), RangeError);
  });
});

describe('cross-fitting', () => {
  test('each film is predicted exactly once, by the fold that did not fit on it', async () => {
    const n = 11;
    const folds = [
      [0, 3, 6, 9],
      [1, 4, 7, 10],
      [2, 5, 8],
    ];
    const calls: { fitRows: number[]; heldOut: number[] }[] = [];
    const out = await crossFitted(n, folds, 2, async (fitRows, heldOut, k) => {
      calls.push({ fitRows, heldOut });
      for (const row of heldOut) assert.ok(!fitRows.includes(row), `fold ${k} fits on its held-out film ${row}`);
      assert.equal(fitRows.length + heldOut.length, n);
      // Each held-out film's "prediction" records (its row, the fold that predicted it).
      return Float32Array.from(heldOut.flatMap((row) => [row, k]));
    });
    assert.equal(calls.length, 3);
    for (let row = 0; row < n; row++) {
      assert.equal(out[row * 2], row, `row ${row} holds its own prediction`);
      assert.equal(
        out[row * 2 + 1],
        folds.findIndex((f) => f.includes(row)),
        `row ${row} predicted by its fold`,
      );
    }
  });

  test('folds that are not a partition of the films are refused', async () => {
    const never = async () => new Float32Array(0);
    await assert.rejects(
      crossFitted(
        4,
        [
          [0, 1],
          [1, 2, 3],
        ],
        1,
        never,
      ),
      /film row 1 is in two folds/,
    );
    await assert.rejects(crossFitted(4, [[0, 1], [2]], 1, never), /do not cover every film/);
    await assert.rejects(
      crossFitted(3, [[0, 1], [2]], 1, async () => new Float32Array(5)),
      /fold 0: 5 values for 2 films/,
    );
  });
});

// --- Training on synthetic activations --------------------------------------------------------------

const SETTINGS: GmuSettings = { hiddenUnits: 6, dropout: 0.5, learningRate: 1e-2, batchSize: 16, maxEpochs: 12, holdoutFraction: 0.1, folds: 3 };
const GENRES = 3;

/** Activations that carry the labels (the visual ones more clearly), plus noise; labels films × 3. */
function synthetic(films: number, seed: number): { features: GmuFeatures; labels: Uint8Array } {
  const random = seededRandom(seed);
  const visualDim = 5;
  const textualDim = 4;
  const labels = Uint8Array.from({ length: films * GENRES }, () => (random() < 0.35 ? 1 : 0));
  const visual = new Float32Array(films * visualDim);
  const textual = new Float32Array(films * textualDim);
  for (let f = 0; f < films; f++) {
    for (let j = 0; j < visualDim; j++) visual[f * visualDim + j] = Math.max(0, (j < GENRES ? 2 * labels[f * GENRES + j] : 0) + 2 * random() - 1);
    for (let j = 0; j < textualDim; j++) textual[f * textualDim + j] = Math.max(0, (j < GENRES ? labels[f * GENRES + j] : 0) + 2 * random() - 1) * 10;
  }
  return { features: { films, visualDim, textualDim, visual, textual }, labels };
}

const train = synthetic(90, 1);
const validation = synthetic(30, 2);

describe('fitting and the learned fusion', () => {
  test('a head keeps the epoch with the lowest inner-holdout loss, and its kept weights give that loss', async () => {
    const rows = Array.from({ length: 90 }, (_, i) => i).filter((i) => i % 4 !== 0);
    const fit = await fitGmu({ features: train.features, labels: train.labels, genreCount: GENRES, rows, settings: SETTINGS, seed: 5, label: 'test' });
    assert.equal(fit.epochs.length, SETTINGS.maxEpochs);
    const losses = fit.epochs.map((e) => e.holdoutLoss);
    assert.equal(fit.chosenEpoch, losses.indexOf(Math.min(...losses)));
    assert.deepEqual(
      [...fit.innerTrain, ...fit.holdout].sort((a, b) => a - b),
      rows,
      'only the rows it was given',
    );
    assert.equal(fit.holdout.length, Math.round(0.1 * rows.length));
    const holdoutLabels = Uint8Array.from(fit.holdout.flatMap((r) => [...train.labels.subarray(r * GENRES, (r + 1) * GENRES)]));
    close(binaryCrossEntropy(predictFit(fit, train.features, fit.holdout), holdoutLabels), losses[fit.chosenEpoch], 1e-5, 'kept weights');
    assert.ok(fit.epochs[fit.epochs.length - 1].trainLoss < fit.epochs[0].trainLoss, 'it learns');
  });

  test('the learned fusion never reads the validation films: other validation activations change no choice and no weight', async () => {
    const a = await trainLearnedFusion({ train, validation: validation.features, genreCount: GENRES, settings: SETTINGS, seed: 11 });
    // The validation labels are not an input at all; other validation activations only change the validation predictions.
    const b = await trainLearnedFusion({ train, validation: synthetic(30, 99).features, genreCount: GENRES, settings: SETTINGS, seed: 11 });
    assert.deepEqual(b.final, a.final);
    assert.deepEqual(b.folds, a.folds);
    assert.deepEqual(b.outOfFold, a.outOfFold);
    assert.equal(b.gate.train, a.gate.train);
    assert.notDeepEqual(b.validationProbabilities, a.validationProbabilities);
    // The validation predictions are the final head's on those activations.
    assert.deepEqual(
      a.validationProbabilities,
      predictFit(
        a.final,
        validation.features,
        Array.from({ length: 30 }, (_, i) => i),
      ),
    );
    // Other training labels do change the fit (so the checks above could fail).
    const flipped = { features: train.features, labels: train.labels.map((y, i) => (i % 7 === 0 ? 1 - y : y)) };
    const c = await trainLearnedFusion({ train: flipped, validation: validation.features, genreCount: GENRES, settings: SETTINGS, seed: 11 });
    assert.notDeepEqual(c.final.weights, a.final.weights);
  });

  test('heads fitted partly on a helper thread give the same fusion as all in turn here', async () => {
    await tf.setBackend('cpu');
    const effects = recordingEffects();
    const epochs: string[] = [];
    const inTurn = await trainLearnedFusion({ train, validation: validation.features, genreCount: GENRES, settings: SETTINGS, seed: 6 });
    const split = await trainLearnedFusion({
      train,
      validation: validation.features,
      genreCount: GENRES,
      settings: SETTINGS,
      seed: 6,
      runHeads: headsOnTwoThreads('cpu', effects, 2),
      onEpoch: (head, record) => void epochs.push(`${head} ${record.epoch}`),
    });
    assert.deepEqual(split, inTurn);
    assert.match(effects.lines.join('\n'), new RegExp(`\\d of ${SETTINGS.folds + 1} heads on a helper thread`));
    // Every head's epochs were reported, the helper's too.
    assert.equal(new Set(epochs).size, (SETTINGS.folds + 1) * SETTINGS.maxEpochs);
  });

  test('the heads are split by films, the largest here', () => {
    const jobs = [80, 80, 80, 80, 80, 100].map((films, i) => ({ head: `h${i}`, label: `l${i}`, rows: Array.from({ length: films }, (_, r) => r) }));
    assert.deepEqual(splitHeads(jobs), { here: [2, 4, 5], helper: [0, 1, 3] });
    assert.deepEqual(splitHeads(jobs.slice(0, 2)), { here: [0], helper: [1] });
  });

  test('deterministic from the seed', async () => {
    const run = (seed: number) => trainLearnedFusion({ train, validation: validation.features, genreCount: GENRES, settings: SETTINGS, seed });
    const a = await run(3);
    assert.deepEqual(await run(3), a);
    const other = await run(4);
    assert.notDeepEqual(other.final.weights, a.final.weights);
    assert.notDeepEqual(
      other.folds.map((f) => f.heldOut),
      a.folds.map((f) => f.heldOut),
      'the folds are seeded too',
    );
  });

  test('out-of-fold: every training film once, predicted by the head fitted on the other folds', async () => {
    const result = await trainLearnedFusion({ train, validation: validation.features, genreCount: GENRES, settings: SETTINGS, seed: 8 });
    assert.equal(result.folds.length, SETTINGS.folds);
    const held = result.folds.flatMap((f) => f.heldOut).sort((x, y) => x - y);
    assert.deepEqual(
      held,
      Array.from({ length: 90 }, (_, i) => i),
      'the folds partition the training films',
    );
    assert.equal(result.outOfFold.length, 90 * GENRES);
    assert.ok(
      result.outOfFold.every((p) => p > 0 && p < 1),
      'no film left without a prediction',
    );
    for (const fold of result.folds) assert.equal(fold.fitFilms, 90 - fold.heldOut.length);
    // Refit fold 0's head (same seed and label: deterministic) and check it made those films' predictions.
    const heldOut = result.folds[0].heldOut;
    const rest = Array.from({ length: 90 }, (_, i) => i).filter((i) => !heldOut.includes(i));
    const head = await fitGmu({ features: train.features, labels: train.labels, genreCount: GENRES, rows: rest, settings: SETTINGS, seed: 8, label: 'fold-0' });
    assert.equal(head.chosenEpoch, result.folds[0].chosenEpoch);
    const expected = predictFit(head, train.features, heldOut);
    heldOut.forEach((row, i) =>
      assert.deepEqual([...result.outOfFold.subarray(row * GENRES, (row + 1) * GENRES)], [...expected.subarray(i * GENRES, (i + 1) * GENRES)]),
    );
    // The mean gate is a share.
    assert.ok(result.gate.validation > 0 && result.gate.validation < 1);
  });
});
