import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { seededRandom, shuffled } from '../../pipeline/lib/core/random.ts';
import { splitLabelCounts, stratifiedSplit } from '../../pipeline/lib/data/split.ts';

const GENRES = 6;

/**
 * 2,000 items, 6 labels: label 0 on exactly 20 items (1%), label 1 ~3%, then ~10%, 25%, 45%, 60%.
 * With `everyItemLabelled`, items left without a label get the common label 5, so no item is unlabelled.
 */
function skewedLabels(n: number, seed: number, everyItemLabelled = false): Uint8Array[] {
  const random = seededRandom(seed);
  const prevalence = [0, 0.03, 0.1, 0.25, 0.45, 0.6];
  return Array.from({ length: n }, (_, i) => {
    const row = new Uint8Array(GENRES);
    row[0] = i % 100 === 7 ? 1 : 0;
    for (let g = 1; g < GENRES; g++) row[g] = random() < prevalence[g] ? 1 : 0;
    if (everyItemLabelled && row.every((x) => x === 0)) row[5] = 1;
    return row;
  });
}

function randomSplit(n: number, validationFraction: number, seed: number): number[] {
  return shuffled(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  ).slice(0, Math.round(n * validationFraction));
}

function assertPartition(split: { train: number[]; validation: number[] }, n: number): void {
  const isAscending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  assert.ok(isAscending(split.train), 'train sorted');
  assert.ok(isAscending(split.validation), 'validation sorted');
  const all = [...split.train, ...split.validation].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: n }, (_, i) => i),
    'disjoint and complete',
  );
}

const LABELS = skewedLabels(2000, 123);
const TOTALS = splitLabelCounts(
  LABELS,
  LABELS.map((_, i) => i),
  GENRES,
);

describe('stratifiedSplit', () => {
  test('same seed → identical split', () => {
    assert.deepEqual(stratifiedSplit(LABELS, 0.2, 42), stratifiedSplit(LABELS, 0.2, 42));
  });

  test('different seeds → different splits', () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 42]) seen.add(stratifiedSplit(LABELS, 0.2, seed).validation.join(','));
    assert.equal(seen.size, 6);
  });

  test('sizes are round(N × fraction) (within ±1), disjoint and complete', () => {
    for (const n of [0, 1, 2, 7, 33, 2000]) {
      const labels = skewedLabels(n, n + 1);
      for (const fraction of [0, 0.1, 0.2, 0.5, 0.75, 1]) {
        const split = stratifiedSplit(labels, fraction, 7);
        const target = Math.round(n * fraction);
        assert.ok(Math.abs(split.validation.length - target) <= 1, `n=${n} fraction=${fraction}`);
        assert.equal(split.validation.length, target, `exactly on target: n=${n} fraction=${fraction}`);
        assertPartition(split, n);
      }
    }
  });

  test('default fraction is 0.2', () => {
    assert.equal(stratifiedSplit(LABELS, undefined, 9).validation.length, 400);
  });

  test('rejects a fraction outside [0, 1] and a non-finite seed', () => {
    assert.throws(() => stratifiedSplit(LABELS, 1.5, 1), RangeError);
    assert.throws(() => stratifiedSplit(LABELS, Number.NaN, 1), RangeError);
    assert.throws(() => stratifiedSplit(LABELS, 0.2, Number.NaN), RangeError);
  });

  test('a label on 5 of 10 items puts 1 in a 20% validation split', () => {
    const labels = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0].map((x) => Uint8Array.of(x, 1 - x));
    for (const seed of [1, 2, 3]) {
      const { validation } = stratifiedSplit(labels, 0.2, seed);
      assert.equal(validation.length, 2);
      assert.deepEqual(splitLabelCounts(labels, validation, 2), [1, 1]);
    }
  });

  test('every label with ≥ 5 positives is split 80/20 within one item, across seeds', () => {
    assert.equal(TOTALS[0], 20);
    for (const seed of [1, 2, 3, 4, 5, 42]) {
      const { validation } = stratifiedSplit(LABELS, 0.2, seed);
      const counts = splitLabelCounts(LABELS, validation, GENRES);
      for (let g = 0; g < GENRES; g++) {
        if (TOTALS[g] < 5) continue;
        assert.ok(counts[g] >= 1, `label ${g} has a validation example (seed ${seed})`);
        const target = TOTALS[g] * 0.2;
        assert.ok(Math.abs(counts[g] - target) <= 1, `label ${g}: ${counts[g]} vs ${target} (seed ${seed})`);
      }
      assert.equal(counts[0], 4, 'the 1% label: exactly 4 of 20');
    }
  });

  test('when every item has a label, shares stay within 2% of the target', () => {
    const labels = skewedLabels(2000, 77, true);
    const totals = splitLabelCounts(
      labels,
      labels.map((_, i) => i),
      GENRES,
    );
    for (const seed of [1, 2, 3]) {
      const split = stratifiedSplit(labels, 0.2, seed);
      assert.equal(split.validation.length, 400);
      const counts = splitLabelCounts(labels, split.validation, GENRES);
      for (let g = 0; g < GENRES; g++) {
        const target = totals[g] * 0.2;
        assert.ok(Math.abs(counts[g] - target) <= Math.max(1, 0.02 * totals[g]), `label ${g}: ${counts[g]} vs ${target}`);
      }
    }
  });

  test('plain random splitting is worse than stratified, on average, for the rare label', () => {
    let stratifiedError = 0;
    let randomError = 0;
    let randomOutsideTolerance = 0;
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const seed of seeds) {
      const stratified = splitLabelCounts(LABELS, stratifiedSplit(LABELS, 0.2, seed).validation, GENRES)[0];
      const random = splitLabelCounts(LABELS, randomSplit(LABELS.length, 0.2, seed), GENRES)[0];
      stratifiedError += Math.abs(stratified - 4);
      randomError += Math.abs(random - 4);
      if (Math.abs(random - 4) > 1) randomOutsideTolerance++;
    }
    assert.equal(stratifiedError, 0);
    assert.ok(randomError / seeds.length > 0.5, `random mean |error| ${randomError / seeds.length}`);
    assert.ok(randomOutsideTolerance > 0, 'some random splits miss the rare label by more than one item');
  });

  test('items without any label are used to keep sizes on target', () => {
    const labels = Array.from({ length: 50 }, (_, i) => Uint8Array.of(i < 10 ? 1 : 0, 0));
    const split = stratifiedSplit(labels, 0.2, 3);
    assert.equal(split.validation.length, 10);
    assert.deepEqual(splitLabelCounts(labels, split.validation, 2), [2, 0]);
    assertPartition(split, 50);
    const none = Array.from({ length: 11 }, () => new Uint8Array(3));
    assert.equal(stratifiedSplit(none, 0.2, 3).validation.length, 2);
  });
});

test('splitLabelCounts counts positives per label among the given rows', () => {
  const labels = [Uint8Array.of(1, 0, 1), Uint8Array.of(0, 1, 1), Uint8Array.of(1, 1, 0), Uint8Array.of(0, 0, 0)];
  assert.deepEqual(splitLabelCounts(labels, [0, 2], 3), [2, 1, 1]);
  assert.deepEqual(splitLabelCounts(labels, [1, 3], 3), [0, 1, 1]);
  assert.deepEqual(splitLabelCounts(labels, [], 3), [0, 0, 0]);
});
