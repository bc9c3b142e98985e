/** The bench's schedule projections (pipeline/lib/bench/bench.ts), on literal figures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { projectScheduleMs, projectWithFreeCoreMs } from '../../pipeline/lib/bench/bench.ts';

test('a schedule is its epochs of steps and validation passes, plus the final passes of the kept weights', () => {
  // 128 train films = 2 batches of 64, 64 validation films = 1 batch; 3 epochs.
  assert.equal(projectScheduleMs({ stepMs: 100, inferenceMs: 10 }, 3, 128, 64), 3 * (2 * 100 + 10) + (1 + 2) * 10);
  assert.equal(projectScheduleMs({ stepMs: 100, inferenceMs: 10 }, 3, 128, 64, true), 3 * (2 * 100 + 3 * 10) + 3 * 10);
});

test('with the free core: the CNN runs its remaining share at the two-core pace once the LSTM finishes', () => {
  // CNN 30 min alone on one core, 20 min on two; LSTM 20 min: a third remains at 20 min → +6.67 min.
  assert.ok(Math.abs(projectWithFreeCoreMs(30, 20, 20) - (20 + 20 / 3)) < 1e-12);
  // An LSTM that outlasts the CNN sets the wall time.
  assert.equal(projectWithFreeCoreMs(30, 20, 35), 35);
  // No LSTM to wait for: the CNN on two cores from the start.
  assert.equal(projectWithFreeCoreMs(30, 20, 0), 20);
});
