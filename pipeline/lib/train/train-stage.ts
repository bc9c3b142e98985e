/**
 * The train stage: trains the poster CNN and the overview BiLSTM (or reuses them from the training
 * cache, ./training-cache.ts), publishes the trained models for the site with their preprocessing
 * metadata, and writes the training artifacts of the data contract: run.json, history-*.json,
 * predictions-*.json and train-probabilities-*.json.
 *
 * With two models to train and two cores, each trains in its own worker thread at the same time
 * (./train-jobs.ts); `--sequential` trains them one after the other. The numbers do not depend on it.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { effectiveProfile } from '../config.ts';
import { MODEL_KINDS, MODEL_TITLES, type ModelKind, type RunArtifact } from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import type { StageContext } from '../core/context.ts';
import { prepareModelInputs } from './model-inputs.ts';
import { runArtifact, trainingRecord } from './run-record.ts';
import type { TrainJob } from './train-job.ts';
import type { CachedModelResult } from './training-cache.ts';
import { trainJobs, trainsInParallel, type BesideTraining } from './train-jobs.ts';
import { cnnShardsFor, reusableTraining, trainingFolder, trainingKey, trainingSchedules } from './training-cache.ts';

/**
 * Trains (or reuses) both models and writes run.json, history-*.json, predictions-*.json and the
 * models. `beside`: another stage's work, given the first core training leaves free (./train-jobs.ts).
 */
export async function runTrainStage(stage: DataStageResult, ctx: StageContext, beside?: BesideTraining): Promise<RunArtifact> {
  const { effects } = ctx;
  const profile = effectiveProfile(ctx.config, stage.dataset.synthetic);
  const schedules = trainingSchedules(ctx.config, profile);
  const config = { ...ctx.config, cnnShards: cnnShardsFor(ctx.config.cnnShards, schedules.cnn.batchSize) };
  const key = trainingKey(stage, config, schedules);
  const trainingDir = trainingFolder(ctx.paths.cache, key);
  const inputs = prepareModelInputs(stage, config);

  const { results, jobs } = await reuseCachedModels(stage, { ...ctx, config }, trainingDir, key, schedules);
  const parallel = trainsInParallel(config, jobs.length);
  const started = effects.now();
  if (parallel) effects.info(`Training ${jobs.map((job) => MODEL_TITLES[job.model]).join(' and ')} at the same time, one worker thread each`);
  const trained = await trainJobs(jobs, config, effects, parallel ? jobs.length : 1, inputs, beside);
  jobs.forEach((job, i) => (results[job.model] = trained[i]));
  const training = await trainingRecord(
    trainingDir,
    { parallel, wallMs: effects.now() - started, models: jobs.map((job) => job.model), beside: beside?.started() ? beside.name : undefined },
    results,
  );

  await publishModels(results, trainingDir, ctx);
  const backend = results[jobs[0]?.model ?? 'cnn'].backend;
  const run = runArtifact({ stage, config, profile, schedules, key, inputs, results, training, backend, now: effects.now() });
  await ctx.artifacts.write('run', run);
  return run;
}

/** The models whose whole training is in the cache (`--retrain`: none), and a job for each other one. */
async function reuseCachedModels(
  stage: DataStageResult,
  ctx: StageContext,
  trainingDir: string,
  key: string,
  schedules: Record<ModelKind, TrainJob['schedule']>,
): Promise<{ results: Record<ModelKind, CachedModelResult>; jobs: TrainJob[] }> {
  const { config, effects } = ctx;
  const results = {} as Record<ModelKind, CachedModelResult>;
  const jobs: TrainJob[] = [];
  for (const model of MODEL_KINDS) {
    const dir = join(trainingDir, model);
    if (config.retrain) await rm(dir, { recursive: true, force: true });
    const cached = await reusableTraining(
      dir,
      MODEL_TITLES[model],
      effects,
      `${MODEL_TITLES[model]}: reusing the trained model from the cache (key ${key}; --retrain to train again)`,
    );
    if (cached) {
      results[model] = { ...cached, run: { ...cached.run, cached: true } };
      continue;
    }
    jobs.push({ model, stage, config, schedule: schedules[model], dir, key });
  }
  return { results, jobs };
}

/** Each model's artifacts, and its files under `<publicDir>/models/<model>/` for the site's live demo. */
async function publishModels(results: Record<ModelKind, CachedModelResult>, trainingDir: string, ctx: StageContext): Promise<void> {
  const modelsDir = join(ctx.paths.public, 'models');
  for (const model of MODEL_KINDS) {
    await ctx.artifacts.write('history', results[model].history, model);
    await ctx.artifacts.write('predictions', results[model].predictions, model);
    await ctx.artifacts.write('trainProbabilities', results[model].trainProbabilities, model);
    await rm(join(modelsDir, model), { recursive: true, force: true });
    await cp(join(trainingDir, model, 'model'), join(modelsDir, model), { recursive: true });
  }
}
