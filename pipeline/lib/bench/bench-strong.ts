/**
 * `npm run bench:strong`: how long the strong profile takes (pipeline/lib/strong/): the poster
 * backbone's features of every poster (on every core), then the features and every cross-validation
 * and final fit with them, with the path jobs on every core and then in one thread (the same numbers
 * either way: the bench checks), the same fit without the backbone (`--poster-backbone off`), and a
 * warm stage run (the cache entry reused), and with the span solver for the overview model, the
 * same fits in one thread with the primal solver. Prints medians of `--reps` runs.
 *
 *   npm run bench:strong -- --dataset ../shared/datasets/imdb-multimodal [--reps 1]
 */
import { availableParallelism } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.ts';
import { loadConfiguredDataset, splitDataset } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { consoleEffects, recordingEffects } from '../core/effects.ts';
import { stageContext } from '../core/context.ts';
import { fitStrongModels } from '../strong/strong-models.ts';
import { runStrongStage } from '../strong/strong-stage.ts';
import { backboneFeatures, datasetPosterFiles } from '../strong/backbone-features.ts';
import { selectBackend } from '../engine/backend.ts';
import { logisticSolver } from '../strong/lockstep.ts';

const { values } = parseArgs({ options: { dataset: { type: 'string' }, reps: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log('usage: npm run bench:strong -- [--dataset <folder>] [--reps <n>]');
  process.exit(0);
}
const reps = Number(values.reps ?? 1);
const effects = consoleEffects();
const config = resolveConfig({ flags: { dataset: values.dataset ?? '../shared/datasets/imdb-multimodal' } });
const { dataset, choice } = await loadConfiguredDataset(config, process.cwd(), effects);
const split = splitDataset(dataset, config);
const input = {
  overviews: dataset.films.map((f) => f.overview),
  posterPixels: dataset.posterPixels,
  posterSize: dataset.posterPreprocessing.width,
  labels: filmLabels(dataset),
  genres: dataset.genres.length,
  train: split.train,
  validation: split.validation,
  seed: config.seed,
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cores = availableParallelism();
// The overview model's solver, as the stage picks it; the primal one too (one thread) when that is the span one.
const solver = logisticSolver();
console.log(
  `Strong profile on ${dataset.films.length} films (${split.train.length} training), ${cores} cores, ${reps} run(s) each; the overview model's solver: ${solver}` +
    (solver === 'native' ? ' ("primal": the same in one thread with the primal solver)' : '') +
    ':',
);
await selectBackend({ effects: { ...effects, info: () => {} } });
const runs: Record<string, number[]> = { backbone: [], parallel: [], sequential: [], 'no backbone': [], primal: [] };
let reference: string | null = null;
for (let r = 0; r < reps; r++) {
  let started = performance.now();
  const backbone = await backboneFeatures(datasetPosterFiles(dataset), { workers: cores });
  runs.backbone.push(performance.now() - started);
  console.log(
    `  backbone   ${((performance.now() - started) / 1000).toFixed(1)} s: ${backbone.provenance.model} features of ${dataset.films.length} posters on ${cores} threads`,
  );
  for (const [name, workers, withBackbone, fitSolver] of [
    ['parallel', cores, true, solver],
    ['sequential', 0, true, solver],
    ['no backbone', cores, false, solver],
    ...(solver === 'native' ? [['primal', 0, true, 'primal'] as const] : []),
  ] as const) {
    started = performance.now();
    const fit = await fitStrongModels({ ...input, backbone: withBackbone ? backbone : null, workers, solver: fitSolver });
    runs[name].push(performance.now() - started);
    if (withBackbone && fitSolver === solver) {
      const digest = JSON.stringify([fit.cv.text.c, fit.cv.poster.c, fit.cv.stacked.c, Array.from(fit.scores.stacked.validation.subarray(0, 50))]);
      if (reference !== null && digest !== reference) throw new Error('the parallel and sequential fits differ');
      reference = digest;
    }
    const t = fit.timings;
    console.log(
      `  ${name.padEnd(11)} ${((performance.now() - started) / 1000).toFixed(1)} s: features ${(t.featuresMs / 1000).toFixed(1)} s, ` +
        `overview model done after ${(t.textMs / 1000).toFixed(1)} s, poster model after ${(t.posterMs / 1000).toFixed(1)} s, stacking ${(t.stackedMs / 1000).toFixed(1)} s`,
    );
  }
}
// Warm: the stage with its cache entry in place (a fresh cache folder, filled once, then reused).
const cacheDir = await mkdtemp(join(tmpdir(), 'genrelens-bench-strong-'));
try {
  const flags = { dataset: choice.dir, cacheDir, artifactsDir: join(cacheDir, 'artifacts'), publicDir: join(cacheDir, 'public') };
  const ctx = stageContext(resolveConfig({ flags }), process.cwd(), recordingEffects());
  const stage = { choice, dataset, split, artifact: undefined as never };
  let started = performance.now();
  await runStrongStage(stage, ctx);
  const stageCold = performance.now() - started;
  started = performance.now();
  await runStrongStage(stage, ctx);
  const warm = performance.now() - started;
  const seconds = (name: string) => (median(runs[name]) / 1000).toFixed(1);
  console.log(
    `\nCold, median: ${((median(runs.backbone) + median(runs.parallel)) / 1000).toFixed(1)} s on ${cores} cores (backbone features ${seconds('backbone')} s, ` +
      `then the fits ${seconds('parallel')} s; in one thread ${seconds('sequential')} s, the same numbers` +
      (solver === 'native' ? `; in one thread with the primal solver ${seconds('primal')} s` : '') +
      '). ' +
      `With the backbone's features cached: ${seconds('parallel')} s. Without the backbone (--poster-backbone off): ${seconds('no backbone')} s.`,
  );
  console.log(`The stage from an empty cache (every step above, artifacts and models written): ${(stageCold / 1000).toFixed(1)} s.`);
  console.log(`Warm (cache entry reused, artifacts and models published): ${(warm / 1000).toFixed(2)} s.`);
} finally {
  await rm(cacheDir, { recursive: true, force: true });
}
