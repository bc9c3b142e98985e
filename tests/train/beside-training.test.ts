/**
 * Work beside training (pipeline/lib/train/train-jobs.ts `besideTraining`, which the build gives the
 * strong models): it runs once, on the one core training leaves free when the first model is done,
 * and a failure of it stops the training with its error. Trains the two models of a small demo
 * dataset for two epochs, in worker threads (two cores needed, as on CI).
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import { runDataStage, type DataStageResult } from '../../pipeline/lib/data/data-stage.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { stageContext } from '../../pipeline/lib/core/context.ts';
import { runTrainStage } from '../../pipeline/lib/train/train-stage.ts';
import { besideTraining } from '../../pipeline/lib/train/train-jobs.ts';
import { fixtureWorkspace, projectRoot } from '../helpers/fixture-build.ts';

test('besideTraining runs its work once, on the cores of the first call; settled waits for it however it ends', async () => {
  const calls: number[] = [];
  const work = besideTraining('a stage', async (cores) => {
    calls.push(cores);
    throw new Error('failed');
  });
  await work.settled(); // nothing started: nothing to wait for
  assert.equal(work.started(), false);
  const first = work.run(1);
  assert.equal(work.started(), true);
  assert.equal(work.run(2), first);
  await assert.rejects(first, /failed/);
  await work.settled();
  assert.deepEqual(calls, [1]);
});

describe('work beside training', { skip: availableParallelism() < 2 ? 'needs two cores' : false }, () => {
  const paths = fixtureWorkspace('genrelens-beside-');
  after(() => rm(paths.work, { recursive: true, force: true }));
  const config = resolveConfig({
    env: {},
    flags: {
      dataset: paths.dataset,
      cacheDir: paths.cache,
      artifactsDir: paths.artifacts,
      publicDir: paths.public,
      outDir: paths.out,
      epochs: 2,
      sequenceLength: 24,
      retrain: true,
    },
  });
  let stage: DataStageResult;
  before(async () => {
    await writeDemoDataset(paths.dataset, { films: 60, seed: 5 }, recordingEffects());
    stage = await runDataStage(stageContext(config, projectRoot, recordingEffects()));
  });

  test('takes one core once the first model is done, while the other still trains', async () => {
    const calls: { cores: number; at: number }[] = [];
    const beside = besideTraining('the test stage', async (cores) => {
      calls.push({ cores, at: performance.now() });
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    const run = await runTrainStage(stage, stageContext(config, projectRoot, recordingEffects()), beside);
    const trainingEnded = performance.now();
    assert.deepEqual(
      calls.map((c) => c.cores),
      [1],
    );
    assert.ok(calls[0].at < trainingEnded);
    const entry = run.optimisations.find((o) => o.id === 'beside-training');
    assert.equal(entry?.active, true);
    assert.match(entry.detail, /the test stage ran on its core before the CNN's batch shards/);
    // The CNN's Conv3–Conv6 by Winograd where the native products run, and run.json says so.
    const winograd = run.optimisations.find((o) => o.id === 'winograd');
    const winogradCalls = run.models.cnn.winogradConvCalls ?? 0;
    assert.equal(winograd?.active, winogradCalls > 0);
    if (run.backend.productKernels?.startsWith('onnxruntime-node')) assert.ok(winogradCalls > 0, "Winograd computed the CNN's 3×3 convolutions");
    for (const model of [run.models.cnn, run.models.lstm]) {
      assert.equal(model.cached, false);
      assert.equal(model.epochMs.length, 2);
    }
  });

  test('a failure of it stops the training with its error', async () => {
    const beside = besideTraining('the strong models', async () => {
      throw new Error('the strong models failed');
    });
    await assert.rejects(runTrainStage(stage, stageContext(config, projectRoot, recordingEffects()), beside), /the strong models failed/);
  });
});
