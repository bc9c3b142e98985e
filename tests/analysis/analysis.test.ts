/**
 * The analysis (pipeline/lib/analysis/analysis.ts, pipeline/lib/analysis/analysis-stage.ts, src/lib/analysis-report.ts):
 * every metric against hand-worked literal examples or an independent formula, the baselines,
 * the threshold search and the fusion weight (chosen from training films only), the stage's
 * errors, and the computed verdict against the baselines.
 */
import { CONTRACT_VERSION } from '../../pipeline/lib/contract/contract.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import {
  averagePrecision,
  chooseFusionWeight,
  chooseOnTraining,
  constantPredictions,
  crossValidateThresholds,
  downsampleCurve,
  validationResults,
  fuse,
  genreFrequencies,
  indicatorRow,
  kFolds,
  mostFrequentGenres,
  precisionRecallCurve,
  scoreMetrics,
  selectRows,
  tuneThresholds,
  type SplitScores,
} from '../../pipeline/lib/analysis/analysis.ts';
import { analysisArtifact, runAnalysisStage } from '../../pipeline/lib/analysis/analysis-stage.ts';
import { bootstrapF1 } from '../../pipeline/lib/analysis/bootstrap.ts';
import { chooseDecisionRule, decide } from '../../pipeline/lib/analysis/decisions.ts';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import { THRESHOLD_GRID } from '../../pipeline/lib/settings.ts';
import { AnalysisArtifactSchema, type AnalysisArtifact, type GmuHistoryArtifact, type HistoryArtifact } from '../../pipeline/lib/contract/contract.ts';
import type { DataStageResult } from '../../pipeline/lib/data/data-stage.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';
import { predictionMetrics } from '../../pipeline/lib/core/metrics.ts';
import { baselineVerdict, outcomeOf, thresholdSentences } from '../../src/lib/analysis-report.ts';
import { memoryArtifactStore, stageContext } from '../../pipeline/lib/core/context.ts';

function close(actual: number | null, expected: number, tolerance = 1e-12, what = ''): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${what} ${actual} ≠ ${expected}`);
}

/** A seeded generator for the randomised cross-checks (independent of pipeline/lib/core/random.ts). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

// --- Average precision and precision–recall curves ------------------------------------------------

describe('average precision (scikit-learn average_precision_score)', () => {
  test('hand-worked: scores [0.9, 0.8, 0.7, 0.6], labels [1, 0, 1, 0] → (1 + 2/3) / 2', () => {
    // Thresholds 0.9: P 1, R 1/2 · 0.8: P 1/2, R 1/2 · 0.7: P 2/3, R 1 · 0.6: P 1/2, R 1.
    // AP = (1/2 − 0)·1 + 0·(1/2) + (1 − 1/2)·(2/3) + 0 = 5/6.
    close(averagePrecision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]), (1 + 2 / 3) / 2);
    const curve = precisionRecallCurve([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]);
    assert.deepEqual(curve.threshold, [null, 0.9, 0.8, 0.7, 0.6]);
    assert.deepEqual(curve.recall, [0, 0.5, 0.5, 1, 1]);
    assert.deepEqual(curve.precision, [1, 1, 0.5, 2 / 3, 0.5]);
  });

  test('tied scores are one threshold (not ordered either way)', () => {
    // Scores [0.5, 0.5, 0.2], labels [1, 0, 1]: threshold 0.5 takes both tied films: P 1/2, R 1/2;
    // threshold 0.2: P 2/3, R 1. AP = 1/2 · 1/2 + 1/2 · 2/3 = 7/12. Ranking the tied positive first
    // (as a plain sort would, the positive being listed first) would give 1/2 · 1 + 1/2 · 2/3 = 5/6.
    close(averagePrecision([0.5, 0.5, 0.2], [1, 0, 1]), 7 / 12);
    close(averagePrecision([0.5, 0.5, 0.2], [0, 1, 1]), 7 / 12);
    // Everything tied: one threshold, AP = the share of positives.
    close(averagePrecision([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 1]), 0.5);
    assert.equal(precisionRecallCurve([0.3, 0.3, 0.3, 0.3], [1, 0, 0, 1]).recall.length, 2);
  });

  test('no positive film: no AP (null); only positives: 1; a perfect ranking: 1', () => {
    assert.equal(averagePrecision([0.9, 0.1], [0, 0]), null);
    close(averagePrecision([0.9, 0.1], [1, 1]), 1);
    close(averagePrecision([0.9, 0.8, 0.1, 0.05], [1, 1, 0, 0]), 1);
    // The worst ranking of 1 positive in 4: found last, precision 1/4.
    close(averagePrecision([0.9, 0.8, 0.7, 0.05], [0, 0, 0, 1]), 0.25);
  });

  test('on distinct scores AP equals the mean over positives of the precision at their rank (independent formula)', () => {
    const random = lcg(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + Math.floor(random() * 40);
      const scores = Array.from({ length: n }, (_, i) => random() + i * 1e-9);
      const labels = scores.map(() => (random() < 0.3 ? 1 : 0));
      if (!labels.includes(1)) labels[0] = 1;
      const ranked = scores.map((s, i) => ({ s, y: labels[i] })).sort((a, b) => b.s - a.s);
      let hits = 0;
      let sum = 0;
      ranked.forEach((r, k) => {
        if (r.y) sum += ++hits / (k + 1);
      });
      close(averagePrecision(scores, labels), sum / hits, 1e-12, `trial ${trial}`);
    }
  });

  test('micro AP pools every cell; mAP averages the genres with positives only', () => {
    // 2 films × 2 genres. Genre 0: scores [0.9, 0.2], labels [1, 0] → AP 1.
    // Genre 1: scores [0.6, 0.7], labels [1, 0] → ranked 0.7 (neg), 0.6 (pos): AP 1/2.
    const p = [0.9, 0.6, 0.2, 0.7];
    const y = [1, 1, 0, 0];
    const m = scoreMetrics(p, y, 2, { probabilistic: true });
    close(m.perGenre[0].averagePrecision, 1);
    close(m.perGenre[1].averagePrecision, 0.5);
    close(m.meanAP, 0.75);
    // Pooled: 0.9 (pos), 0.7 (neg), 0.6 (pos), 0.2 (neg) → (1/2)·1 + (1/2)·(2/3) = 5/6.
    close(m.microAP, 5 / 6);
    // A genre without positives has no AP and no curve, and does not count in mAP.
    const n = scoreMetrics([0.9, 0.6, 0.2, 0.7], [1, 0, 0, 0], 2, { probabilistic: false });
    assert.equal(n.perGenre[1].averagePrecision, null);
    assert.equal(n.curves.perGenre[1], null);
    close(n.meanAP, 1);
    assert.equal(n.loss, null, 'hard predictions get no loss');
    close(n.perGenre[1].meanProbability, (0.6 + 0.7) / 2);
  });

  test('curves are downsampled to at most 100 points, keeping the ends and the best-F1 point', () => {
    const random = lcg(3);
    const scores = Array.from({ length: 5000 }, () => random());
    const labels = scores.map((s) => (random() < s * 0.5 ? 1 : 0));
    const full = precisionRecallCurve(scores, labels);
    const small = downsampleCurve(full);
    assert.ok(full.recall.length > 1000);
    assert.ok(small.recall.length <= 100 && small.recall.length >= 90, `${small.recall.length} points`);
    assert.deepEqual([small.recall[0], small.precision[0], small.threshold[0]], [0, 1, null]);
    const last = full.recall.length - 1;
    assert.deepEqual([small.recall.at(-1), small.precision.at(-1), small.threshold.at(-1)], [full.recall[last], full.precision[last], full.threshold[last]]);
    const f1 = (p: number, r: number) => (p + r ? (2 * p * r) / (p + r) : 0);
    const bestFull = Math.max(...full.recall.map((r, i) => f1(full.precision[i], r)));
    const bestSmall = Math.max(...small.recall.map((r, i) => f1(small.precision[i], r)));
    assert.equal(bestSmall, bestFull);
    for (let i = 1; i < small.recall.length; i++) assert.ok(small.recall[i] >= small.recall[i - 1], 'recall never falls');
    assert.equal(scoreMetrics(scores, labels, 1, { probabilistic: true }).curves.micro.recall.length, small.recall.length);
  });
});

// --- Thresholded metrics (metrics.ts, extended) ----------------------------------------------------

// The hand-worked example of tests/core/metrics.test.ts: 4 films × 3 genres (A, B, C), threshold 0.5.
//          probabilities        labels      predicted (p > 0.5)
// film 1   0.9  0.2  0.6        1 0 0       1 0 1     TP 1 FP 1 FN 0 → F1 2/3
// film 2   0.4  0.7  0.5        1 1 0       0 1 0     TP 1 FP 0 FN 1 → F1 2/3
// film 3   0.8  0.1  0.3        0 0 1       1 0 0     TP 0           → F1 0
// film 4   0.1  0.6  0.7        0 1 0       0 1 1     TP 1 FP 1 FN 0 → F1 2/3
// Per genre: A F1 1/2 (support 2), B F1 1 (support 2), C F1 0 (support 1).
const GENRES = ['A', 'B', 'C'];
const P = [0.9, 0.2, 0.6, 0.4, 0.7, 0.5, 0.8, 0.1, 0.3, 0.1, 0.6, 0.7];
const Y = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0];

describe('micro, macro, weighted and samples F1', () => {
  test('hand-worked: samples F1 = mean of the films’ F1, weighted F1 = support-weighted mean', () => {
    const m = predictionMetrics(P, Y, GENRES);
    close(m.samplesF1, (2 / 3 + 2 / 3 + 0 + 2 / 3) / 4);
    close(m.weightedF1, (0.5 * 2 + 1 * 2 + 0 * 1) / 5);
    close(m.macroF1, 0.5);
    close(m.microF1, 6 / 11);
  });

  test('zero division is 0: a film with no true and no predicted genre scores 0 in samples F1', () => {
    // Film 1: nothing true, nothing predicted → 0 (scikit-learn zero_division=0). Film 2: F1 1.
    const m = predictionMetrics([0.1, 0.2, 0.9, 0.1], [0, 0, 1, 0], ['x', 'y']);
    close(m.samplesF1, 0.5);
    // Weighted F1 ignores genre y (no support); no positive cell at all → 0.
    close(m.weightedF1, 1);
    close(predictionMetrics([0.9, 0.1], [0, 0], ['x', 'y']).weightedF1, 0);
  });

  test('per-genre thresholds: p > t_genre', () => {
    // Thresholds A 0.85, B 0.5, C 0.65: A predicted for film 1 only (0.9), C for film 4 only (0.7).
    // A: TP 1, FN 1 → F1 2/3. B unchanged: 1. C: FP 1 (film 4), FN 1 (film 3) → F1 0.
    const m = predictionMetrics(P, Y, GENRES, [0.85, 0.5, 0.65]);
    assert.deepEqual(
      m.perGenre.map((g) => g.predictedPositives),
      [1, 2, 1],
    );
    close(m.perGenre[0].f1, 2 / 3);
    close(m.macroF1, (2 / 3 + 1 + 0) / 3);
    // The same thresholds for every genre give the scalar form's numbers.
    assert.deepEqual(predictionMetrics(P, Y, GENRES, [0.5, 0.5, 0.5]), predictionMetrics(P, Y, GENRES, 0.5));
    assert.throws(() => predictionMetrics(P, Y, GENRES, [0.5, 0.5]), /2 thresholds for 3 genres/);
  });

  test('randomised: weighted and samples F1 against a direct count', () => {
    const random = lcg(11);
    const films = 30;
    const g = 4;
    const p = Array.from({ length: films * g }, () => random());
    const y = p.map(() => (random() < 0.35 ? 1 : 0));
    const m = predictionMetrics(p, y, ['a', 'b', 'c', 'd']);
    let samples = 0;
    for (let f = 0; f < films; f++) {
      const truth = new Set<number>();
      const predicted = new Set<number>();
      for (let j = 0; j < g; j++) {
        if (y[f * g + j]) truth.add(j);
        if (p[f * g + j] > 0.5) predicted.add(j);
      }
      const both = [...truth].filter((j) => predicted.has(j)).length;
      samples += truth.size + predicted.size === 0 ? 0 : (2 * both) / (truth.size + predicted.size);
    }
    close(m.samplesF1, samples / films, 1e-12);
    const support = m.perGenre.map((x) => x.support);
    close(m.weightedF1, m.perGenre.reduce((s, x, j) => s + x.f1 * support[j], 0) / support.reduce((a, b) => a + b, 0), 1e-12);
  });
});

// --- Baselines -------------------------------------------------------------------------------

describe('baselines', () => {
  // Training films (4 × 3): A in 3, B in 2, C in none.
  const trainLabels = [1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0];

  test('priors are the training frequencies; the most frequent genres break ties by column order', () => {
    assert.deepEqual(genreFrequencies(trainLabels, 3), [0.75, 0.5, 0]);
    assert.deepEqual(mostFrequentGenres(trainLabels, 3, 2), [0, 1]);
    assert.deepEqual(mostFrequentGenres([0, 1, 1, 0, 1, 1], 3, 2), [1, 2], 'B and C tie at 2: B first');
    assert.deepEqual(indicatorRow([0, 2], 3), [1, 0, 1]);
    assert.deepEqual([...constantPredictions([0.1, 0.2], 2)], [0.1, 0.2, 0.1, 0.2]);
  });

  test('hand-worked baselines on 2 validation films', () => {
    const train: SplitScores = { labels: trainLabels, cnn: new Array(12).fill(0.5), lstm: new Array(12).fill(0.5), gmu: new Array(12).fill(0.5) };
    const choices = chooseOnTraining(train, GENRES, 1, 2);
    // Validation: film 1 is A; film 2 is B and C.
    const validation: SplitScores = {
      labels: [1, 0, 0, 0, 1, 1],
      cnn: [0.9, 0.1, 0.1, 0.1, 0.9, 0.9],
      lstm: [0.4, 0.6, 0.1, 0.2, 0.6, 0.2],
      gmu: [0.7, 0.3, 0.1, 0.2, 0.8, 0.6],
    };
    const byId = Object.fromEntries(validationResults(validation, GENRES, choices).map((e) => [e.id, e]));

    // Genre priors [0.75, 0.5, 0]: BCE over the 6 cells; C's 0 is clipped to float32(1e-7).
    const lower = Math.fround(1e-7);
    const bce = (-Math.log(0.75) - Math.log(0.5) - Math.log(1 - lower) - Math.log(0.25) - Math.log(0.5) - Math.log(lower)) / 6;
    close(byId['genre-priors'].scores.loss, bce, 1e-12, 'priors BCE');
    // At 0.5 the priors predict A only (0.75 > 0.5; B's 0.5 is not above): TP 1, FP 1, FN 2 → F1 2/5.
    close(byId['genre-priors'].atDefault.microF1, 0.4);
    close(byId['most-frequent'].atDefault.microF1, 0.4);
    // Always A + B: TP 2 (film 1 A, film 2 B), FP 2, FN 1 (film 2 C) → F1 4/7. Samples F1:
    // film 1 TP 1 FP 1 → 2/3; film 2 TP 1 FP 1 FN 1 → 1/2.
    close(byId['two-most-frequent'].atDefault.microF1, 4 / 7);
    close(byId['two-most-frequent'].atDefault.samplesF1, (2 / 3 + 1 / 2) / 2);
    assert.equal(byId['two-most-frequent'].scores.loss, null, 'hard 0/1 baselines get no loss');
    // Every genre for both films: TP 3 (film 1 A; film 2 B, C), FP 3, FN 0 → micro F1 6/9; each genre TP 1 FP 1 → macro 2/3.
    close(byId['every-genre'].atDefault.microF1, 2 / 3);
    close(byId['every-genre'].atDefault.macroF1, 2 / 3);
    close(byId['every-genre'].atDefault.microRecall, 1);
    assert.equal(byId['most-frequent'].tuned, null);
    // A constant score ranks nothing: AP of each genre = its share of validation films (1/2 each).
    for (const id of ['genre-priors', 'most-frequent', 'two-most-frequent', 'every-genre']) close(byId[id].scores.meanAP, 0.5, 1e-12, id);
    // The CNN ranks every genre perfectly here.
    close(byId.cnn.scores.meanAP, 1);
    close(byId.cnn.atDefault.microF1, 1);
  });
});

// --- Thresholds and fusion: chosen on training films only -----------------------------------------

describe('per-genre thresholds', () => {
  test('the grid value with the best F1; ties go to the value nearest 0.5, then the lower', () => {
    // Genre 0: p [0.9, 0.7, 0.4, 0.3, 0.2], y [1, 1, 1, 0, 0]. t 0.25: TP 3 FP 1 → 6/7;
    // t 0.5: TP 2 FN 1 → 4/5; t 0.75: TP 1 FN 2 → 1/2. Best: 0.25.
    // Genre 1 has no positive: F1 0 everywhere → 0.5. Genre 2: p [0.8, 0.1, …], only film 1 → F1 1 at every t.
    const p = [0.9, 0.1, 0.8, 0.7, 0.2, 0.1, 0.4, 0.3, 0.1, 0.3, 0.2, 0.1, 0.2, 0.1, 0.1];
    const y = [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const choice = tuneThresholds(p, y, 3, [0.25, 0.5, 0.75]);
    assert.deepEqual(choice.thresholds, [0.25, 0.5, 0.5]);
    close(choice.f1[0], 6 / 7);
    close(choice.f1AtDefault[0], 4 / 5);
    assert.deepEqual(tuneThresholds(p, y, 3, [0.25, 0.75]).thresholds, [0.25, 0.25, 0.25], 'equidistant tie: the lower');
    assert.equal(THRESHOLD_GRID.length, 19);
    assert.deepEqual([THRESHOLD_GRID[0], THRESHOLD_GRID[9], THRESHOLD_GRID[18]], [0.05, 0.5, 0.95]);
  });

  test('k folds partition the films, deterministically per seed', () => {
    const folds = kFolds(23, 5, 42);
    assert.deepEqual(folds.map((f) => f.length).sort(), [4, 4, 5, 5, 5]);
    assert.deepEqual(
      folds.flat().sort((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
    assert.deepEqual(kFolds(23, 5, 42), folds);
    assert.notDeepEqual(kFolds(23, 5, 43), folds);
    assert.throws(() => kFolds(3, 5, 1), /3 films cannot make 5 folds/);
  });

  test('cross-validation: each fold’s thresholds are those chosen on the other folds, judged on the held-out films', () => {
    const random = lcg(5);
    const films = 40;
    const g = 3;
    const y = Array.from({ length: films * g }, () => (random() < 0.3 ? 1 : 0));
    const p = y.map((label) => Math.min(1, Math.max(0, label * 0.3 + random() * 0.7)));
    const folds = kFolds(films, 4, 9);
    const cv = crossValidateThresholds(p, y, ['a', 'b', 'c'], folds);
    let tp = 0,
      fp = 0,
      fn = 0;
    folds.forEach((heldOut, k) => {
      const rest = Array.from({ length: films }, (_, i) => i).filter((i) => !heldOut.includes(i));
      const expected = tuneThresholds(selectRows(p, g, rest), selectRows(y, g, rest), g).thresholds;
      assert.deepEqual(cv.folds[k].thresholds, expected, `fold ${k}`);
      assert.equal(cv.folds[k].films, heldOut.length);
      const onFold = predictionMetrics(selectRows(p, g, heldOut), selectRows(y, g, heldOut), ['a', 'b', 'c'], expected);
      close(cv.folds[k].tuned.microF1, onFold.microF1);
      for (const i of heldOut) {
        for (let j = 0; j < g; j++) {
          const positive = p[i * g + j] > expected[j];
          const actual = y[i * g + j] === 1;
          if (positive && actual) tp++;
          else if (positive) fp++;
          else if (actual) fn++;
        }
      }
    });
    close(cv.outOfFold.tuned.microF1, (2 * tp) / (2 * tp + fp + fn));
    close(cv.outOfFold.atDefault.microF1, predictionMetrics(p, y, ['a', 'b', 'c']).microF1);
  });
});

describe('late fusion', () => {
  test('fuse is w·a + (1 − w)·b', () => {
    assert.deepEqual([...fuse([1, 0], [0, 1], 0.25)], [0.25, 0.75]);
    assert.throws(() => fuse([1], [1, 2], 0.5), RangeError);
    assert.throws(() => fuse([1], [1], 1.5), RangeError);
  });

  test('the weight with the lowest training loss; ties go to the weight nearest 0.5', () => {
    // The CNN is right, the LSTM wrong: w = 1.
    assert.equal(chooseFusionWeight([0.9, 0.1], [0.1, 0.9], [1, 0]).weight, 1);
    assert.equal(chooseFusionWeight([0.1, 0.9], [0.9, 0.1], [1, 0]).weight, 0);
    // Both cells get p = 0.9w + 0.1(1 − w); labels [1, 0] → the loss −(ln p + ln(1 − p))/2 is lowest at p = 1/2: w = 1/2.
    const choice = chooseFusionWeight([0.9, 0.9], [0.1, 0.1], [1, 0]);
    assert.equal(choice.weight, 0.5);
    close(choice.curve.find((c) => c.weight === 0.5)!.loss, Math.log(2), 1e-9);
    assert.equal(choice.curve.length, 21);
    // Identical models: every weight ties → 0.5.
    assert.equal(chooseFusionWeight([0.3, 0.6], [0.3, 0.6], [1, 0]).weight, 0.5);
  });
});

describe('choices never read the validation films', () => {
  const genres = ['a', 'b', 'c'];
  const random = lcg(21);
  const make = (films: number): SplitScores => {
    const labels = Array.from({ length: films * 3 }, () => (random() < 0.4 ? 1 : 0));
    return {
      labels,
      cnn: labels.map((y) => Math.min(1, y * 0.4 + random() * 0.6)),
      lstm: labels.map((y) => Math.min(1, y * 0.2 + random() * 0.8)),
      gmu: labels.map((y) => Math.min(1, y * 0.3 + random() * 0.7)),
    };
  };
  const train = make(30);

  test('chooseOnTraining takes only the training films, and other validation films change no choice', () => {
    const choices = chooseOnTraining(train, genres, 42);
    const again = chooseOnTraining(train, genres, 42);
    assert.deepEqual(again, choices, 'deterministic');
    const a = validationResults(make(12), genres, choices);
    const b = validationResults(make(15), genres, choices);
    for (let i = 0; i < a.length; i++) assert.notDeepEqual(a[i].atDefault, b[i].atDefault, 'the validation sets differ');
    // Each tuned classifier is scored with exactly the thresholds chosen on the training films.
    const validation = make(12);
    const scored = validationResults(validation, genres, choices);
    const cnn = scored.find((e) => e.id === 'cnn')!;
    assert.deepEqual(cnn.tuned, predictionMetrics(validation.cnn, validation.labels, genres, choices.thresholds.cnn!.thresholds));
    const fusion = scored.find((e) => e.id === 'fusion')!;
    assert.deepEqual(fusion.atDefault, predictionMetrics(fuse(validation.cnn, validation.lstm, choices.fusion.weight), validation.labels, genres));
    // The learned fusion: its own probabilities, scored with the thresholds tuned on its (out-of-fold) training probabilities.
    const gmu = scored.find((e) => e.id === 'gmu')!;
    assert.equal(gmu.kind, 'fusion');
    assert.deepEqual(gmu.tuned, predictionMetrics(validation.gmu, validation.labels, genres, choices.thresholds.gmu!.thresholds));
    assert.deepEqual(choices.thresholds.gmu!.thresholds, tuneThresholds(train.gmu, train.labels, 3).thresholds);
    // Different training films do change the choices (so the checks above can fail).
    const other = chooseOnTraining(make(30), genres, 42);
    assert.notDeepEqual(other.thresholds.cnn!.thresholds.concat(other.priors), choices.thresholds.cnn!.thresholds.concat(choices.priors));
    assert.equal(choices.thresholds.cnn!.crossValidation.folds.length, 5);
    assert.equal(choices.fusion.foldWeights.length, 5);
  });
});

// --- The stage: reads the artifacts, fails clearly, writes analysis.json -------------------------

describe('analysis stage', () => {
  const work = mkdtempSync(join(tmpdir(), 'genrelens-analysis-'));
  after(() => rm(work, { recursive: true, force: true }));
  const genres = ['Drama', 'Comedy', 'War'];
  const labels = [
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 1],
    [1, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
    [0, 1, 0],
    [1, 1, 0],
    [1, 0, 0],
  ];
  const ids = labels.map((_, i) => `tt${i}`);
  const split = { train: [0, 1, 2, 3, 4, 5, 6], validation: [7, 8, 9] };
  const stage = {
    dataset: { genres, films: labels.map((l, i) => ({ id: ids[i], labels: Uint8Array.from(l) })) },
    split,
  } as unknown as DataStageResult;
  // The coursework's classifiers only; the strong models have their own test below.
  const config = resolveConfig({ env: {}, flags: { artifactsDir: join(work, 'artifacts'), seed: 3, strongModels: false } });
  const probabilities = (film: number, model: string) =>
    labels[film].map((y, g) => Math.round((model === 'cnn' ? 0.3 + 0.4 * y : 0.45 + 0.1 * ((film + g) % 2)) * 1e6) / 1e6);
  const history = (model: 'cnn' | 'lstm'): HistoryArtifact => ({
    contractVersion: CONTRACT_VERSION,
    model,
    title: model === 'cnn' ? 'Poster CNN' : 'Overview BiLSTM',
    epochs: [],
    bestEpoch: 0,
    best: { loss: 0.5, microPrecision: 0, microRecall: 0, microF1: 0, macroF1: 0 },
    perGenre: [],
    architecture: { rows: [], totalParams: 1, trainableParams: 1 },
  });
  const write = (file: string, value: unknown) => writeFileSync(join(work, 'artifacts', file), JSON.stringify(value));
  function writeArtifacts(): void {
    for (const model of ['cnn', 'lstm'] as const) {
      write(`history-${model}.json`, history(model));
      write(`predictions-${model}.json`, {
        contractVersion: CONTRACT_VERSION,
        model,
        genres,
        threshold: 0.5,
        films: split.validation.map((f) => ({ id: ids[f], probabilities: probabilities(f, model), top3: [] })),
      });
      write(`train-probabilities-${model}.json`, {
        contractVersion: CONTRACT_VERSION,
        model,
        genres,
        films: split.train.map((f) => ({ id: ids[f], probabilities: probabilities(f, model) })),
      });
    }
    // The learned fusion: 0.8 on true genres, 0.1 elsewhere.
    const gmu = (film: number) => labels[film].map((y) => (y ? 0.8 : 0.1));
    write('predictions-gmu.json', {
      contractVersion: CONTRACT_VERSION,
      model: 'gmu',
      genres,
      threshold: 0.5,
      films: split.validation.map((f) => ({ id: ids[f], probabilities: gmu(f), top3: [] })),
    });
    write('train-probabilities-gmu.json', {
      contractVersion: CONTRACT_VERSION,
      model: 'gmu',
      method: 'out-of-fold',
      folds: 5,
      genres,
      films: split.train.map((f) => ({ id: ids[f], probabilities: gmu(f) })),
    });
    write('fusion-gmu.json', gmuHistory());
  }
  const gmuHistory = (): GmuHistoryArtifact => ({
    contractVersion: CONTRACT_VERSION,
    generatedAt: 'now',
    model: 'gmu',
    title: 'Learned fusion (GMU)',
    key: 'k',
    trainingKey: 't',
    method: {
      kind: 'gated-multimodal-unit',
      version: 1,
      inputs: { visual: { model: 'cnn', layer: 'FC2', units: 1024 }, textual: { model: 'lstm', layer: 'dense', units: 128 } },
      hiddenUnits: 128,
      dropout: 0.5,
      learningRate: 1e-3,
      batchSize: 64,
      maxEpochs: 40,
      holdoutFraction: 0.1,
      folds: 5,
      params: 1,
      seed: 3,
      description: '',
    },
    sizes: { trainFilms: 7, validationFilms: 3, innerTrainFilms: 6, holdoutFilms: 1 },
    epochs: [0, 1, 2, 3].map((epoch) => ({ epoch, trainLoss: 0.5 - epoch / 10, holdoutLoss: [0.6, 0.5, 0.4, 0.45][epoch] })),
    chosenEpoch: 2,
    folds: [],
    gate: { train: 0.5, validation: 0.5 },
    timing: { backend: 'cpu', featureMs: 1, trainMs: 1, wallMs: 2 },
    notes: [],
  });

  test('a missing artifact names the file and the command that writes it', async () => {
    await assert.rejects(runAnalysisStage(stage, stageContext(config, work, recordingEffects())), (error: UserError) => {
      assert.ok(error instanceof UserError);
      assert.match(error.format(), /predictions-cnn\.json is missing/);
      assert.match(error.format(), /npm run genrelens -- train/);
      return true;
    });
  });

  test('golden: fixed probabilities and labels in, analysis.json out, byte for byte', async () => {
    // Framework's test/input → test/output pattern: tests/analysis/golden/analysis.json is the expected
    // output; when it is missing it is written (review and commit it), when it differs the new output is
    // written beside it as analysis.changed.json for a diff.
    mkdirSync(join(work, 'artifacts'), { recursive: true });
    writeArtifacts();
    const store = memoryArtifactStore();
    for (const name of readdirSync(join(work, 'artifacts'))) store.files.set(name, readFileSync(join(work, 'artifacts', name), 'utf8'));
    const effects = { ...recordingEffects(), now: () => Date.UTC(2026, 0, 1) };
    await runAnalysisStage(stage, stageContext(config, work, effects, store));
    const actual = store.files.get('analysis.json')!;
    const golden = fileURLToPath(new URL('./golden/analysis.json', import.meta.url));
    if (!existsSync(golden)) {
      mkdirSync(dirname(golden), { recursive: true });
      writeFileSync(golden, actual);
      assert.fail(`wrote ${golden}: review it and commit it`);
    }
    const changed = golden.replace(/\.json$/, '.changed.json');
    if (readFileSync(golden, 'utf8') !== actual) writeFileSync(changed, actual);
    else rmSync(changed, { force: true });
    assert.equal(actual, readFileSync(golden, 'utf8'), `analysis.json changed: compare ${changed} with ${golden}`);
  });

  test('writes a valid analysis.json whose numbers match the inputs', async () => {
    mkdirSync(join(work, 'artifacts'), { recursive: true });
    writeArtifacts();
    const effects = recordingEffects();
    const result = await runAnalysisStage(stage, stageContext(config, work, effects));
    const written = AnalysisArtifactSchema.parse(JSON.parse(readFileSync(join(work, 'artifacts', 'analysis.json'), 'utf8')));
    assert.deepEqual(written, JSON.parse(JSON.stringify(result)));
    assert.equal(written.trainFilms, 7);
    assert.equal(written.validationFilms, 3);
    // Training films: Drama 5 of 7, Comedy 3, War 2 → priors and the two most frequent.
    assert.deepEqual(written.baselines.priors, [5 / 7, 3 / 7, 2 / 7]);
    assert.deepEqual(written.baselines.mostFrequent, ['Drama', 'Comedy']);
    const top2 = written.classifiers.find((c) => c.id === 'two-most-frequent')!;
    assert.equal(top2.title, 'Always Drama + Comedy');
    // Validation films 7 (Comedy), 8 (Drama, Comedy), 9 (Drama): always Drama + Comedy → TP 4, FP 2, FN 0 → F1 8/10.
    close(top2.atDefault.microF1, 0.8);
    // The CNN's probabilities are 0.7 on true genres, 0.3 elsewhere: perfect at 0.5.
    close(written.classifiers.find((c) => c.id === 'cnn')!.atDefault.microF1, 1);
    assert.deepEqual(
      written.thresholds.selections.map((s) => s.classifier),
      ['cnn', 'lstm', 'fusion', 'gmu'],
    );
    assert.deepEqual(
      written.classifiers.map((c) => c.id),
      ['cnn', 'lstm', 'fusion', 'gmu', 'genre-priors', 'most-frequent', 'two-most-frequent', 'every-genre'],
    );
    // The GMU's published probabilities are scored as they are: 0.8 on true genres, 0.1 elsewhere → perfect at 0.5.
    const gmu = written.classifiers.find((c) => c.id === 'gmu')!;
    close(gmu.atDefault.microF1, 1);
    assert.equal(gmu.title, 'Learned fusion (GMU)');
    assert.match(gmu.description, /epoch 3 of 40/);
    assert.equal(written.fusion.grid.length, 21);
    assert.ok(
      effects.lines.some((line) => /^Analysis: validation micro F1 at 0\.5 — Poster CNN 1\.000/.test(line)),
      effects.lines.join('\n'),
    );
    // The training log said 0 for the CNN: the difference is reported.
    assert.ok(effects.lines.some((line) => /warning: Poster CNN: micro F1 from the published/.test(line)));
  });

  test('with the strong models: their probabilities join every table, their headline is the decision rule chosen on the training films', async () => {
    writeArtifacts();
    // Each strong classifier: a different, deterministic mix of the truth and noise.
    const strongP = (film: number, k: number) => labels[film].map((y, g) => Math.round((0.15 + 0.5 * y + 0.1 * (((film + g + k) % 3) - 1)) * 1e6) / 1e6);
    const ids3 = ['text-linear', 'poster-linear', 'stacked'] as const;
    write('strong-probabilities.json', {
      contractVersion: CONTRACT_VERSION,
      genres,
      trainIds: split.train.map((f) => ids[f]),
      validationIds: split.validation.map((f) => ids[f]),
      classifiers: ids3.map((id, k) => ({ id, train: split.train.map((f) => strongP(f, k)), validation: split.validation.map((f) => strongP(f, k)) })),
    });
    const fit = { c: 1, grid: [{ c: 1, loss: 0.2, meanAP: 0.5 }], features: 3 };
    write('strong.json', {
      contractVersion: CONTRACT_VERSION,
      generatedAt: '2026-01-01T00:00:00.000Z',
      key: 'k',
      seed: 3,
      folds: 5,
      trainFilms: 7,
      validationFilms: 3,
      genres,
      text: {
        ...fit,
        wordNgrams: [1, 2],
        charNgrams: [3, 5],
        minDf: 2,
        wordTerms: 2,
        charTerms: 1,
        topTerms: genres.map((genre) => ({ genre, positive: [] })),
      },
      poster: { ...fit, backbone: null, topFeatures: genres.map((genre) => ({ genre, positive: [], negative: [] })) },
      stacked: { ...fit, textShare: genres.map((genre) => ({ genre, text: 0.5 })) },
      timings: { featuresMs: 1, textMs: 1, posterMs: 1, stackedMs: 1, backboneMs: 0 },
    });
    const withStrong = resolveConfig({ env: {}, flags: { artifactsDir: join(work, 'artifacts'), seed: 3 } });
    const written = await runAnalysisStage(stage, stageContext(withStrong, work, recordingEffects()));
    assert.deepEqual(
      written.classifiers.map((c) => c.id),
      ['cnn', 'lstm', 'fusion', 'gmu', 'text-linear', 'poster-linear', 'stacked', 'genre-priors', 'most-frequent', 'two-most-frequent', 'every-genre'],
    );
    const matrix = (rows: number[], k: number) => Float64Array.from(rows.flatMap((f) => strongP(f, k)));
    const truth = (rows: number[]) => Uint8Array.from(rows.flatMap((f) => labels[f]));
    ids3.forEach((id, k) => {
      const c = written.classifiers.find((x) => x.id === id)!;
      assert.equal(c.kind, 'strong');
      assert.equal(c.headline, 'decided');
      // The rule is chosen on the training films' probabilities; the validation films are only decided with it.
      const rule = chooseDecisionRule(matrix(split.train, k), truth(split.train), 3);
      assert.equal(c.decided!.sharedThreshold, rule.shared);
      assert.deepEqual(c.decided!.thresholds, rule.perGenre);
      const micro = predictionMetrics(decide(matrix(split.validation, k), 3, [rule.shared, rule.shared, rule.shared]), truth(split.validation), genres);
      close(c.decided!.shared.microF1, micro.microF1);
      const macro = predictionMetrics(decide(matrix(split.validation, k), 3, rule.perGenre), truth(split.validation), genres);
      close(c.decided!.perGenre.macroF1, macro.macroF1);
      // The interval's estimate is the headline figure (published to six decimals).
      const interval = written.bootstrap.classifiers.find((x) => x.id === id)!;
      assert.ok(Math.abs(interval.microF1.estimate - micro.microF1) < 1e-6);
      assert.ok(Math.abs(interval.macroF1.estimate - macro.macroF1) < 1e-6);
    });
    assert.deepEqual(
      written.thresholds.selections.map((s) => s.classifier),
      ['cnn', 'lstm', 'fusion', 'gmu', 'text-linear', 'poster-linear', 'stacked'],
    );
    assert.ok(written.bootstrap.differences.some((d) => d.a === 'stacked' && d.b === 'two-most-frequent'));
    rmSync(join(work, 'artifacts', 'strong-probabilities.json'));
    rmSync(join(work, 'artifacts', 'strong.json'));
  });

  test('the learned fusion’s artifacts are required and checked like the models’', async () => {
    writeArtifacts();
    rmSync(join(work, 'artifacts', 'predictions-gmu.json'));
    await assert.rejects(runAnalysisStage(stage, stageContext(config, work, recordingEffects())), (error: UserError) => {
      assert.match(error.format(), /predictions-gmu\.json is missing/);
      assert.match(error.format(), /npm run genrelens -- train/);
      return true;
    });
    writeArtifacts();
    write('train-probabilities-gmu.json', {
      contractVersion: CONTRACT_VERSION,
      model: 'gmu',
      method: 'out-of-fold',
      folds: 5,
      genres,
      films: split.train.slice(1).map((f) => ({ id: ids[f], probabilities: [0.1, 0.1, 0.1] })),
    });
    await assert.rejects(runAnalysisStage(stage, stageContext(config, work, recordingEffects())), /train-probabilities-gmu\.json lists different films/);
    writeArtifacts();
  });

  test('predictions from another split fail, naming the file and the first different film', async () => {
    writeArtifacts();
    write('train-probabilities-lstm.json', {
      contractVersion: CONTRACT_VERSION,
      model: 'lstm',
      genres,
      films: [...split.train].reverse().map((f) => ({ id: ids[f], probabilities: probabilities(f, 'lstm') })),
    });
    await assert.rejects(
      runAnalysisStage(stage, stageContext(config, work, recordingEffects())),
      /train-probabilities-lstm\.json lists different films .*position 0: "tt6" vs "tt0"/,
    );
    writeArtifacts();
    write('predictions-lstm.json', { contractVersion: CONTRACT_VERSION, model: 'lstm', genres, threshold: 0.5, films: 'none' });
    await assert.rejects(runAnalysisStage(stage, stageContext(config, work, recordingEffects())), /predictions-lstm\.json: films: /);
  });
});

// --- The verdict against the baselines (src/lib/analysis-report.ts) -------------------------------

describe('verdict against the baselines', () => {
  /** A real artifact from tiny literal data, then the micro F1 values set by hand. */
  function artifact(microF1: Record<string, number>): AnalysisArtifact {
    const genres = ['a', 'b'];
    const train: SplitScores = {
      labels: [1, 0, 1, 1, 0, 1, 1, 0],
      cnn: [0.6, 0.4, 0.7, 0.6, 0.2, 0.8, 0.9, 0.1],
      lstm: [0.5, 0.5, 0.6, 0.4, 0.4, 0.6, 0.7, 0.3],
      gmu: [0.7, 0.3, 0.6, 0.6, 0.3, 0.7, 0.8, 0.2],
    };
    const validation: SplitScores = { labels: [1, 0, 0, 1], cnn: [0.8, 0.3, 0.4, 0.7], lstm: [0.6, 0.6, 0.5, 0.5], gmu: [0.7, 0.4, 0.4, 0.6] };
    const choices = chooseOnTraining(train, genres, 1, 2);
    const evaluations = validationResults(validation, genres, choices);
    const text = Object.fromEntries(
      evaluations.map((e) => [
        e.id,
        {
          title: {
            cnn: 'Poster CNN',
            lstm: 'Overview BiLSTM',
            fusion: 'Late fusion',
            gmu: 'Learned fusion (GMU)',
            'genre-priors': 'Genre priors',
            'most-frequent': 'Always a',
            'two-most-frequent': 'Always a + b',
            'every-genre': 'Every genre',
          }[e.id as string],
          description: '',
        },
      ]),
    ) as Parameters<typeof analysisArtifact>[0]['text'];
    const result = analysisArtifact({
      genres,
      trainFilms: 4,
      validationFilms: 2,
      seed: 1,
      generatedAt: 'now',
      choices,
      evaluations,
      text,
      validationFusionLoss: choices.fusion.curve,
      bootstrap: bootstrapF1({ probabilities: {}, labels: validation.labels, genreCount: genres.length, pairs: [], resamples: 10, level: 0.95, seed: 1 }),
    });
    for (const c of result.classifiers) c.atDefault.microF1 = microF1[c.id];
    return AnalysisArtifactSchema.parse(result);
  }

  test('outcomes are judged on the displayed three decimals', () => {
    assert.equal(outcomeOf(0.4404, 0.4401, 'higher'), 'ties');
    assert.equal(outcomeOf(0.45, 0.44, 'higher'), 'beats');
    assert.equal(outcomeOf(0.43, 0.44, 'higher'), 'loses');
    assert.equal(outcomeOf(0.2, 0.3, 'lower'), 'beats');
  });

  test('the sentences name the computed outcome for every model and baseline', () => {
    const a = baselineVerdict(
      artifact({ cnn: 0.41, lstm: 0.47, fusion: 0.5, gmu: 0.43, 'genre-priors': 0.38, 'most-frequent': 0.38, 'two-most-frequent': 0.44, 'every-genre': 0.2 }),
    );
    assert.equal(a.strongest.id, 'two-most-frequent');
    assert.match(a.sentences[0], /Genre priors 0\.380, Always a 0\.380 and Always a \+ b 0\.440; the strongest is Always a \+ b\./);
    assert.equal(a.sentences[1], 'The Poster CNN (micro F1 0.410) beats Genre priors (0.380) and Always a (0.380); does not beat Always a + b (0.440).');
    assert.equal(a.sentences[2], 'The Overview BiLSTM (micro F1 0.470) beats every baseline.');
    assert.equal(a.sentences[3], 'The late fusion (micro F1 0.500) beats every baseline.');
    assert.equal(a.sentences[4], 'The learned fusion (micro F1 0.430) beats Genre priors (0.380) and Always a (0.380); does not beat Always a + b (0.440).');
    assert.deepEqual(
      a.cells.filter((c) => c.model === 'cnn').map((c) => c.outcome),
      ['beats', 'beats', 'loses'],
    );
    assert.equal(
      a.headline,
      'Against the strongest baseline, Always a + b (micro F1 0.440 at threshold 0.5): the Poster CNN 0.410 (does not beat it), ' +
        'the Overview BiLSTM 0.470 (beats it), the late fusion 0.500 (beats it) and the learned fusion 0.430 (does not beat it).',
    );
    const bArtifact = artifact({
      cnn: 0.3,
      lstm: 0.44,
      fusion: 0.4401,
      gmu: 0.2,
      'genre-priors': 0.38,
      'most-frequent': 0.38,
      'two-most-frequent': 0.44,
      'every-genre': 0.2,
    });
    const b = baselineVerdict(bArtifact);
    assert.equal(
      b.sentences[1],
      'The Poster CNN (micro F1 0.300) beats no baseline: it is below Genre priors (0.380), Always a (0.380) and Always a + b (0.440).',
    );
    assert.equal(b.sentences[2], 'The Overview BiLSTM (micro F1 0.440) beats Genre priors (0.380) and Always a (0.380); ties with Always a + b (0.440).');
    assert.equal(
      b.sentences[4],
      'The learned fusion (micro F1 0.200) beats no baseline: it is below Genre priors (0.380), Always a (0.380) and Always a + b (0.440).',
    );
    assert.match(b.sentences.join(' '), /Validation loss, lower is better: the genre priors score \d\.\d{3}; the Poster CNN/);
    // Macro F1 against labelling every film with every genre, from the classifiers' own macro F1.
    const every = b.sentences.find((s) => s.startsWith('Macro F1'))!;
    const macro = (id: string) => bArtifact.classifiers.find((c) => c.id === id)!.atDefault.macroF1.toFixed(3);
    assert.ok(every.includes(`labelling every film with every genre scores ${macro('every-genre')}`), every);
    assert.ok(every.includes(`the Poster CNN ${macro('cnn')}`), every);
  });

  test('threshold sentences say whether the tuned thresholds raised or lowered micro F1', () => {
    const a = artifact({
      cnn: 0.41,
      lstm: 0.47,
      fusion: 0.5,
      gmu: 0.43,
      'genre-priors': 0.38,
      'most-frequent': 0.38,
      'two-most-frequent': 0.44,
      'every-genre': 0.2,
    });
    a.classifiers[0].tuned!.microF1 = 0.45;
    const sentences = thresholdSentences(a);
    assert.equal(sentences.length, 4);
    assert.match(sentences[3], /^For the learned fusion, thresholds tuned on the training films /);
    assert.match(
      sentences[0],
      /^For the Poster CNN, thresholds tuned on the training films (raise|lower|leave unchanged) held-out micro F1 .* and raise validation micro F1 \(0\.410 → 0\.450;/,
    );
  });
});
