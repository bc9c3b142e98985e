/**
 * The words for the bootstrap's paired differences against a baseline (src/lib/bootstrap-report.ts):
 * "better" or "worse" only where the interval excludes 0, on literal intervals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnalysisArtifact } from '../../pipeline/lib/contract/contract.ts';
import { againstBaselineIntervals } from '../../src/lib/bootstrap-report.ts';

const interval = (estimate: number, low: number, high: number) => ({ estimate, low, high });
const analysis = {
  classifiers: [
    { id: 'cnn', title: 'Poster CNN' },
    { id: 'stacked', title: 'Stacked fusion' },
    { id: 'gmu', title: 'Learned fusion (GMU)' },
    { id: 'two-most-frequent', title: 'Always Drama + Comedy' },
    { id: 'every-genre', title: 'Every genre' },
  ],
  bootstrap: {
    resamples: 1000,
    level: 0.95,
    seed: 1,
    classifiers: [],
    differences: [
      { a: 'cnn', b: 'two-most-frequent', microF1: interval(-0.024, -0.033, -0.014), macroF1: interval(0, -0.002, 0.001) },
      { a: 'stacked', b: 'two-most-frequent', microF1: interval(0.166, 0.147, 0.183), macroF1: interval(0.28, 0.26, 0.3) },
      { a: 'gmu', b: 'two-most-frequent', microF1: interval(0.004, -0.01, 0.018), macroF1: interval(0, -0.002, 0.002) },
      { a: 'cnn', b: 'every-genre', microF1: interval(0.249, 0.232, 0.266), macroF1: interval(-0.1, -0.104, -0.097) },
    ],
  },
} as unknown as Pick<AnalysisArtifact, 'classifiers' | 'bootstrap'>;

test('each paired difference against a baseline, with its interval and what the interval says', () => {
  assert.equal(
    againstBaselineIntervals(analysis, 'two-most-frequent', 'microF1'),
    'Micro F1 minus Always Drama + Comedy’s, with the 95% interval of each paired difference: ' +
      'Poster CNN −0.024 [−0.033, −0.014], worse; Stacked fusion +0.166 [+0.147, +0.183], better; Learned fusion (GMU) +0.004 [−0.010, +0.018], cannot tell.',
  );
  assert.equal(
    againstBaselineIntervals(analysis, 'every-genre', 'macroF1'),
    'Macro F1 minus Every genre’s, with the 95% interval of each paired difference: Poster CNN −0.100 [−0.104, −0.097], worse.',
  );
  assert.equal(againstBaselineIntervals(analysis, 'cnn', 'microF1'), null, 'nothing paired with it');
});
