/** The bench's schedule projections and FLOP counts (pipeline/lib/bench/bench.ts), on literal figures; its command line. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { projectRoot } from '../helpers/fixture-build.ts';
import * as tf from '@tensorflow/tfjs';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  arithmeticFloor,
  modelMacs,
  projectScheduleMs,
  scheduleFlops,
  projectSideBySideMs,
  projectWithFreeCoreMs,
  shardedStepMs,
  strongBesideMs,
} from '../../pipeline/lib/bench/bench.ts';
import { buildCnn } from '../../pipeline/lib/train/models/cnn.ts';
import { buildLstm } from '../../pipeline/lib/train/models/lstm.ts';

tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner

test('a schedule is its epochs of steps and validation passes, plus the final passes of the kept weights', () => {
  // 128 train films = 2 batches of 64, 64 validation films = 1 batch; 3 epochs.
  assert.equal(projectScheduleMs({ stepMs: 100, inferenceMs: 10 }, 3, 128, 64), 3 * (2 * 100 + 10) + (1 + 2) * 10);
  assert.equal(projectScheduleMs({ stepMs: 100, inferenceMs: 10 }, 3, 128, 64, true), 3 * (2 * 100 + 3 * 10) + 3 * 10);
});

test("a schedule's products: each epoch's training films and validation pass, then the final pass over every film", () => {
  // 3 epochs of 100 training films (6 FLOPs each) and 20 validation films (2 each), then 120 films at 2.
  assert.equal(scheduleFlops({ train: 6, forward: 2 }, 3, 100, 20), 3 * (600 + 40) + 240);
});

test('the arithmetic floor: the products at the peak of every core, and the share of that peak a target time needs', () => {
  // 1.2e15 FLOPs on 2 cores of 100 GFLOP/s = 2e8 FLOPs per ms: 6e6 ms; in 1.2e7 ms, half the peak.
  const { floorMs, shareForTarget } = arithmeticFloor(1.2e15, 2, 100, 1.2e7);
  assert.equal(floorMs, 6e6);
  assert.equal(shareForTarget, 0.5);
});

test('with the free core: the CNN runs its remaining share at the two-core pace once the LSTM finishes', () => {
  // CNN 30 min alone on one core, 20 min on two; LSTM 20 min: a third remains at 20 min → +6.67 min.
  assert.ok(Math.abs(projectWithFreeCoreMs(30, 20, 20) - (20 + 20 / 3)) < 1e-12);
  // An LSTM that outlasts the CNN sets the wall time.
  assert.equal(projectWithFreeCoreMs(30, 20, 35), 35);
  // No LSTM to wait for: the CNN on two cores from the start.
  assert.equal(projectWithFreeCoreMs(30, 20, 0), 20);
});

test('with the strong models first on the free core: the CNN keeps its one-core pace meanwhile, then takes the core', () => {
  // CNN 30 on one core, 20 on two; LSTM 10, then 5 of the strong models: half the CNN remains at 15 → +10.
  assert.equal(projectWithFreeCoreMs(30, 20, 10, 5), 25);
  // Strong models outlasting the CNN: the CNN never gets the core; the training's wall time is its own.
  assert.equal(projectWithFreeCoreMs(30, 20, 10, 25), 30);
  // No LSTM: nothing frees a core during training (the strong models run after it).
  assert.equal(projectWithFreeCoreMs(30, 20, 0, 5), 20);
  const alone = { cnn: { stepMs: 100, inferenceMs: 10 }, lstm: { stepMs: 200, inferenceMs: 20 } };
  const epochs = { cnn: 10, lstm: 5 };
  // As the side-by-side test below (CNN 4260, LSTM 2160 at that pace), with 1000 of the strong models after the LSTM.
  assert.ok(Math.abs(projectSideBySideMs(alone, { cnnMs: 200, lstmMs: 200 }, 1000, epochs, 128, 64, 1000) - (3160 + ((4260 - 3160) / 4260) * 1000)) < 1e-9);
});

test('the strong models’ time beside training: strong.json’s parts when run.json says they ran there, else 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-bench-'));
  try {
    for (const file of ['run.json', 'strong.json']) cpSync(join(projectRoot, 'tests/site/golden/artifacts', file), join(dir, file));
    assert.equal(await strongBesideMs(dir), 0, 'the golden run did not run them beside training');
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    run.optimisations.push({ id: 'beside-training', title: 'Another stage on the core training left free', active: true, detail: 'the strong models' });
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    const { timings } = JSON.parse(readFileSync(join(dir, 'strong.json'), 'utf8'));
    assert.equal(await strongBesideMs(dir), timings.backboneMs + timings.featuresMs + Math.max(timings.textMs, timings.posterMs) + timings.stackedMs);
    rmSync(join(dir, 'strong.json'));
    assert.equal(await strongBesideMs(dir), 0, 'no strong.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('side by side: both models at their slower shared pace (validation slowed alike), then the CNN on two cores', () => {
  // 128 train films (2 steps), 64 validation films (1 pass); CNN 10 epochs, LSTM 5.
  const alone = { cnn: { stepMs: 100, inferenceMs: 10 }, lstm: { stepMs: 200, inferenceMs: 20 } };
  const epochs = { cnn: 10, lstm: 5 };
  // At the pace alone it is the free-core projection.
  const cnnAlone = projectScheduleMs(alone.cnn, 10, 128, 64);
  const lstmAlone = projectScheduleMs(alone.lstm, 5, 128, 64);
  assert.equal(projectSideBySideMs(alone, { cnnMs: 100, lstmMs: 200 }, 1000, epochs, 128, 64), projectWithFreeCoreMs(cnnAlone, 1000, lstmAlone));
  // Both 1.5× slower side by side: CNN 10 · (2·150 + 15) + 3·15 = 3195, LSTM 5 · (2·300 + 30) + 3·30 = 3240 > 3195: the LSTM sets the pace.
  assert.equal(projectSideBySideMs(alone, { cnnMs: 150, lstmMs: 300 }, 1000, epochs, 128, 64), 3240);
  // Only the CNN slowed (2×): CNN 10 · (400 + 20) + 60 = 4260, LSTM 5 · (400 + 20) + 60 = 2160 alone; the rest of the CNN at the two-core 1000.
  assert.ok(Math.abs(projectSideBySideMs(alone, { cnnMs: 200, lstmMs: 200 }, 1000, epochs, 128, 64) - (2160 + ((4260 - 2160) / 4260) * 1000)) < 1e-9);
});

test('npm run bench answers --help with its options, and a wrong option or backend with one message, not a stack trace', async () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['pipeline/lib/bench/bench.ts', ...args], { cwd: projectRoot }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  const help = await run('--help');
  assert.equal(help.code, 0);
  for (const option of ['--backends', '--reps', '--dataset', '--artifacts-dir', '--sequence-length', '--before', '--peer', '--help'])
    assert.ok(help.stdout.includes(option), option);
  const wrong = await run('--frob');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^genrelens bench: Unknown option '--frob'/);
  assert.doesNotMatch(wrong.stderr, /\n\s+at /);
  const backend = await run('--backends', 'gpu');
  assert.equal(backend.code, 1);
  assert.match(backend.stderr, /^genrelens bench: unknown backend gpu\n {2}fix: --backends takes tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
});

test('multiply-adds per step: the coursework CNN and BiLSTM against counts made by hand', async () => {
  await tf.setBackend('cpu');
  // CNN at 64 × 64, per image: Conv0 32·32·9·3·16, Conv1 32·32·9·16·32, Conv2 32·32·9·32·32, Conv3 16·16·9·32·64,
  // Conv4 16·16·9·64·64, Conv5 8·8·9·64·128, Conv6 8·8·9·128·128, FC1 2048·1024, FC2 1024·1024, Output 1024·25.
  const cnnForward = 442_368 + 4_718_592 + 9_437_184 + 4_718_592 + 9_437_184 + 4_718_592 + 9_437_184 + 2_097_152 + 1_048_576 + 25_600;
  assert.deepEqual(modelMacs(buildCnn({ seed: 1 }), 1), { forward: cnnForward, training: 3 * cnnForward - 442_368 });
  // As computed with Winograd's F(2×2, 3×3): 16 of every 36 multiply-adds of Conv3–Conv6 (Conv1 and Conv2 stay direct).
  const winogradForward = cnnForward - (4_718_592 + 9_437_184 + 4_718_592 + 9_437_184) * (20 / 36);
  const counted = modelMacs(buildCnn({ seed: 1 }), 1, 1, 'winograd');
  assert.ok(
    Math.abs(counted.forward - winogradForward) < 1e-6 * cnnForward && Math.abs(counted.training - (3 * winogradForward - 442_368)) < 1e-6 * cnnForward,
  );
  // BiLSTM per overview and timestep: 2 directions × (256 + 256) × 4·256, then 2 × (512 + 128) × 4·128; dense 256·128 + 128·25.
  const lstmForward = 28 * (2 * 512 * 1024 + 2 * 640 * 512) + 256 * 128 + 128 * 25;
  assert.deepEqual(modelMacs(buildLstm({ seed: 1 }), 2, 28), { forward: 2 * lstmForward, training: 6 * lstmForward });
});

test('a sharded CNN step: the shards divide the compute, not the update; each helper is sent the weights, and waiting for them counts once', () => {
  assert.equal(shardedStepMs(360, 40, 0, 1), 360);
  assert.equal(shardedStepMs(360, 40, 10, 1, 4), 360, 'one shard has no helper');
  assert.equal(shardedStepMs(360, 40, 10, 2, 4), 160 + 40 + 10 + 4);
  assert.equal(shardedStepMs(360, 40, 10, 8, 4), 40 + 40 + 10 + 28);
});
