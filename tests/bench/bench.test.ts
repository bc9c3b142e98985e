/** The bench's schedule projections (pipeline/lib/bench/bench.ts), on literal figures; its command line. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { projectRoot } from '../helpers/fixture-build.ts';
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

test('npm run bench answers --help with its options, and a wrong option or backend with one message, not a stack trace', async () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['pipeline/lib/bench/bench.ts', ...args], { cwd: projectRoot }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  const help = await run('--help');
  assert.equal(help.code, 0);
  for (const option of ['--backends', '--reps', '--dataset', '--artifacts-dir', '--sequence-length', '--before', '--help'])
    assert.ok(help.stdout.includes(option), option);
  const wrong = await run('--frob');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^genrelens bench: Unknown option '--frob'/);
  assert.doesNotMatch(wrong.stderr, /\n\s+at /);
  const backend = await run('--backends', 'gpu');
  assert.equal(backend.code, 1);
  assert.match(backend.stderr, /^genrelens bench: unknown backend gpu\n {2}fix: --backends takes tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
});
