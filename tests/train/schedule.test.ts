import assert from 'node:assert/strict';
import { test } from 'node:test';
import { courseworkScheduler, learningRateForEpoch } from '../../pipeline/lib/train/schedule.ts';

function close(actual: number, expected: number, relative = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${actual} ≠ ${expected}`);
}

test('closed form at epochs 0, 9, 10, 11, 39 (0-based), base 1e-4', () => {
  assert.equal(learningRateForEpoch(1e-4, 0), 1e-4);
  assert.equal(learningRateForEpoch(1e-4, 9), 1e-4); // the 10th epoch: still constant
  close(learningRateForEpoch(1e-4, 10), 9.900498337491681e-5); // 1e-4 · e^-0.01
  close(learningRateForEpoch(1e-4, 11), 9.801986733067553e-5); // 1e-4 · e^-0.02
  close(learningRateForEpoch(1e-4, 39), 7.408182206817179e-5); // 1e-4 · e^-0.30, the 40th epoch
});

test('matches the coursework training log (learning_rate printed to 5 significant digits)', () => {
  // "Epoch 10/40 … learning_rate: 1.0000e-04", "Epoch 11/40 … 9.9005e-05",
  // "Epoch 12/40 … 9.8020e-05", "Epoch 20/40 … 9.0484e-05" (k/40 is 0-based epoch k − 1).
  const logged: [number, number][] = [
    [9, 1.0e-4],
    [10, 9.9005e-5],
    [11, 9.802e-5],
    [19, 9.0484e-5],
  ];
  for (const [epoch, rate] of logged) assert.equal(learningRateForEpoch(1e-4, epoch).toExponential(4), rate.toExponential(4));
});

test('the closed form equals applying the Keras scheduler at the start of every epoch', () => {
  let lr = 3e-4;
  for (let epoch = 0; epoch < 60; epoch++) {
    lr = courseworkScheduler(epoch, lr); // Keras: on_epoch_begin sets scheduler(epoch, current lr)
    close(lr, learningRateForEpoch(3e-4, epoch), 1e-13);
  }
  assert.equal(courseworkScheduler(9, 0.5), 0.5);
  close(courseworkScheduler(10, 0.5), 0.5 * Math.exp(-0.01));
});

test('epochs must be non-negative integers', () => {
  assert.throws(() => learningRateForEpoch(1e-4, -1), RangeError);
  assert.throws(() => learningRateForEpoch(1e-4, 1.5), RangeError);
  assert.throws(() => courseworkScheduler(-1, 1e-4), RangeError);
});

test("profiles: coursework is the coursework's schedule; quick differs only in epochs, batch and rate; --epochs overrides both models", async () => {
  const { trainingSchedules } = await import('../../pipeline/lib/train/training-cache.ts');
  const { resolveConfig } = await import('../../pipeline/lib/config.ts');
  const config = resolveConfig({ flags: {} });
  assert.deepEqual(trainingSchedules(config, 'coursework'), {
    cnn: { epochs: 40, batchSize: 64, learningRate: 1e-4 },
    lstm: { epochs: 20, batchSize: 64, learningRate: 1e-4 },
  });
  const quick = trainingSchedules(config, 'quick');
  assert.ok(quick.cnn.learningRate > 1e-4 && quick.lstm.learningRate > 1e-4);
  const overridden = trainingSchedules(resolveConfig({ flags: { epochs: 2, earlyStoppingPatience: 1 } }), 'quick');
  assert.deepEqual(overridden.cnn, { ...quick.cnn, epochs: 2, earlyStoppingPatience: 1 });
  assert.deepEqual(overridden.lstm, { ...quick.lstm, epochs: 2, earlyStoppingPatience: 1 });
});
