/**
 * The bootstrap intervals (pipeline/lib/analysis/bootstrap.ts) against an independent computation:
 * the same draws made here, each resampled set scored with core/metrics.ts `predictionMetrics`,
 * the percentile taken by sorting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapF1, differenceVerdict } from '../../pipeline/lib/analysis/bootstrap.ts';
import { predictionMetrics } from '../../pipeline/lib/core/metrics.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

const GENRES = ['a', 'b', 'c'];

/** 40 films × 3 genres: labels, and two classifiers, one better than the other. */
function data() {
  const random = seededRandom(7);
  const films = 40;
  const labels: number[] = [];
  const good: number[] = [];
  const poor: number[] = [];
  for (let i = 0; i < films * GENRES.length; i++) {
    const truth = random() < 0.35 ? 1 : 0;
    labels.push(truth);
    good.push(truth ? 0.4 + 0.6 * random() : 0.55 * random());
    poor.push(random());
  }
  return { labels, good, poor, films };
}

/** The nearest-rank quantile, as an independent one-liner. */
const quantile = (values: number[], q: number) => [...values].sort((x, y) => x - y)[Math.max(0, Math.ceil(q * values.length) - 1)];

test('intervals and paired differences equal an independent recomputation of every resample', () => {
  const { labels, good, poor, films } = data();
  const resamples = 200;
  const result = bootstrapF1({ probabilities: { good, poor }, labels, genreCount: 3, pairs: [['good', 'poor']], resamples, level: 0.9, seed: 11 });

  // Estimates: the figures on all films.
  for (const [id, p] of [
    ['good', good],
    ['poor', poor],
  ] as const) {
    const all = predictionMetrics(p, labels, GENRES);
    assert.ok(Math.abs(result.classifiers[id].microF1.estimate - all.microF1) < 1e-12, `${id} micro`);
    assert.ok(Math.abs(result.classifiers[id].macroF1.estimate - all.macroF1) < 1e-12, `${id} macro`);
  }

  // The same draws: films indices from seededRandom(seed), scored by predictionMetrics on the rows drawn.
  const random = seededRandom(11);
  const values = { good: { micro: [] as number[], macro: [] as number[] }, poor: { micro: [] as number[], macro: [] as number[] } };
  for (let b = 0; b < resamples; b++) {
    const rows = Array.from({ length: films }, () => Math.floor(random() * films));
    const pick = (v: number[]) => rows.flatMap((r) => v.slice(r * 3, r * 3 + 3));
    for (const [id, p] of [
      ['good', good],
      ['poor', poor],
    ] as const) {
      const m = predictionMetrics(pick(p), pick(labels), GENRES);
      values[id].micro.push(m.microF1);
      values[id].macro.push(m.macroF1);
    }
  }
  for (const id of ['good', 'poor'] as const) {
    assert.ok(Math.abs(result.classifiers[id].microF1.low - quantile(values[id].micro, 0.05)) < 1e-12, `${id} micro low`);
    assert.ok(Math.abs(result.classifiers[id].microF1.high - quantile(values[id].micro, 0.95)) < 1e-12, `${id} micro high`);
    assert.ok(Math.abs(result.classifiers[id].macroF1.low - quantile(values[id].macro, 0.05)) < 1e-12, `${id} macro low`);
  }
  const differences = values.good.micro.map((v, b) => v - values.poor.micro[b]);
  const [d] = result.differences;
  assert.ok(Math.abs(d.microF1.low - quantile(differences, 0.05)) < 1e-12);
  assert.ok(Math.abs(d.microF1.high - quantile(differences, 0.95)) < 1e-12);
  assert.equal(differenceVerdict(d.microF1), 1, 'the better classifier is called better');
  assert.equal(differenceVerdict({ estimate: 0.01, low: -0.02, high: 0.04 }), 0, 'an interval with 0 inside: cannot tell');
  assert.equal(differenceVerdict({ estimate: -0.05, low: -0.08, high: -0.01 }), -1, 'an interval below 0: worse');
});

test('the same seed gives the same intervals; a difference of a classifier with itself is exactly zero', () => {
  const { labels, good } = data();
  const run = (seed: number) =>
    bootstrapF1({ probabilities: { good, same: good }, labels, genreCount: 3, pairs: [['good', 'same']], resamples: 100, level: 0.95, seed });
  assert.deepEqual(run(3), run(3));
  assert.notDeepEqual(run(3).classifiers.good, run(4).classifiers.good);
  const [d] = run(3).differences;
  assert.deepEqual(d.microF1, { estimate: 0, low: 0, high: 0 });
  assert.equal(differenceVerdict(d.microF1), 0, 'equal classifiers cannot be told apart');
});

test('mismatched shapes are refused', () => {
  assert.throws(
    () => bootstrapF1({ probabilities: { x: [0.1, 0.2] }, labels: [1, 0, 1], genreCount: 3, pairs: [], resamples: 10, level: 0.95, seed: 1 }),
    /2 probabilities for 3 label cells/,
  );
});
