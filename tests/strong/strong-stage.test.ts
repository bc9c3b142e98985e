/**
 * The strong stage (pipeline/lib/strong/strong-stage.ts) on a small demo dataset: schema-valid
 * artifacts in the split's film order; the saved models give back the published probabilities; a
 * rebuild reuses the cache entry, a damaged one is reported and fitted again; with the poster
 * backbone on, the poster model takes its features, cached on their own; --no-strong removes
 * what the stage wrote.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import { SplitArtifactSchema, StrongArtifactSchema, StrongProbabilitiesArtifactSchema } from '../../pipeline/lib/contract/contract.ts';
import { runDataStage, type DataStageResult } from '../../pipeline/lib/data/data-stage.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { stageContext } from '../../pipeline/lib/core/context.ts';
import { runStrongStage, strongKey } from '../../pipeline/lib/strong/strong-stage.ts';
import { logisticSolver } from '../../pipeline/lib/strong/lockstep.ts';
import { loadStrongModels } from '../../pipeline/lib/strong/strong-model-io.ts';
import { strongProbabilities } from '../../pipeline/lib/strong/strong-models.ts';
import { fixtureWorkspace, projectRoot } from '../helpers/fixture-build.ts';
import { parseStrongText, strongTextProbabilities } from '../../src/lib/strong-demo.ts';
import { backboneEngine, backbonePackage, backboneSpec } from '../../pipeline/lib/strong/backbone.ts';
import { backboneFeatures, datasetPosterFiles } from '../../pipeline/lib/strong/backbone-features.ts';

const backboneInstalled = (() => {
  try {
    return Boolean(backbonePackage());
  } catch {
    return false;
  }
})();

const paths = fixtureWorkspace('genrelens-strong-');
after(() => rm(paths.work, { recursive: true, force: true }));
const flags = { dataset: paths.dataset, cacheDir: paths.cache, artifactsDir: paths.artifacts, publicDir: paths.public, outDir: paths.out };
const config = resolveConfig({ env: {}, flags });
const artifact = (file: string) => JSON.parse(readFileSync(join(paths.artifacts, file), 'utf8'));
let stage: DataStageResult;

before(async () => {
  await writeDemoDataset(paths.dataset, { films: 120, seed: 5 }, recordingEffects());
  stage = await runDataStage(stageContext(config, projectRoot, recordingEffects()));
});

describe('the strong stage on demo data', { timeout: 300_000 }, () => {
  test('writes valid artifacts; the saved models reproduce the validation probabilities; the cache is reused, or refitted when damaged', async () => {
    const first = recordingEffects();
    const progress: [string, number, number][] = [];
    first.progress = (label, done, total) => progress.push([label, done, total]);
    await runStrongStage(stage, stageContext(config, projectRoot, first));
    // Every path job is counted, and the count ends at its total: 3 models × (5 folds + all films), each path
    // one job of every genre with the native solver, else 5 groups of genres.
    const total = 3 * 6 * (logisticSolver() === 'native' ? 1 : 5);
    const jobs = progress.filter(([label]) => label === 'Strong models: cross-validation');
    assert.deepEqual(jobs.at(-1), ['Strong models: cross-validation', total, total]);
    assert.equal(jobs.length, total);
    // The stage's line says how the fits ran.
    const how = logisticSolver() === 'native' ? 'fits on native float64 products' : 'fits in JavaScript';
    assert.ok(
      first.lines.some((l) => l.startsWith('Strong models: C ') && l.includes(how)),
      first.lines.join('\n'),
    );
    const split = SplitArtifactSchema.parse(artifact('split.json'));
    const strong = StrongArtifactSchema.parse(artifact('strong.json'));
    const probabilities = StrongProbabilitiesArtifactSchema.parse(artifact('strong-probabilities.json'));
    assert.deepEqual(probabilities.trainIds, split.train);
    assert.deepEqual(probabilities.validationIds, split.validation);
    assert.deepEqual(
      probabilities.classifiers.map((c) => c.id),
      ['text-linear', 'poster-linear', 'stacked'],
    );
    // C is a grid value and has the lowest out-of-fold loss of its grid.
    for (const fit of [strong.text, strong.poster, strong.stacked]) assert.equal(fit.c, fit.grid.reduce((a, b) => (b.loss < a.loss ? b : a)).c);
    assert.equal(strong.key, strongKey(stage.dataset.contentHash, stage.split, config.seed, null, logisticSolver()));
    // The published models give the published validation probabilities (six decimals).
    const { models, meta } = await loadStrongModels(join(paths.public, 'models', 'strong'));
    assert.deepEqual(meta.genres, stage.dataset.genres);
    const size = 64 * 64 * 3;
    const pixels = new Uint8Array(stage.split.validation.length * size);
    stage.split.validation.forEach((r, i) => pixels.set(stage.dataset.posterPixels.subarray(r * size, (r + 1) * size), i * size));
    const again = strongProbabilities(
      models,
      stage.split.validation.map((r) => stage.dataset.films[r].overview),
      pixels,
      64,
    );
    const G = stage.dataset.genres.length;
    for (const [k, key] of (['text', 'poster', 'stacked'] as const).entries()) {
      probabilities.classifiers[k].validation.forEach((row, f) =>
        row.forEach((p, g) => assert.ok(Math.abs(p - again[key][f * G + g]) <= 5e-7, `${key} film ${f} genre ${g}`)),
      );
    }

    const firstText = readFileSync(join(paths.artifacts, 'strong.json'), 'utf8');
    // The live demo's overview model (src/lib/strong-demo.ts: float32 weights, one text at a time) gives the same probabilities.
    const published = join(paths.public, 'models', 'strong');
    const bytes = readFileSync(join(published, 'text-weights.bin'));
    const json = JSON.parse(readFileSync(join(published, 'strong-model.json'), 'utf8'));
    const demo = parseStrongText(json, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), stage.dataset.genres, 'strong-model.json');
    stage.split.validation.slice(0, 20).forEach((r, f) => {
      const p = strongTextProbabilities(demo, stage.dataset.films[r].overview);
      p.forEach((value, g) => assert.ok(Math.abs(value - probabilities.classifiers[0].validation[f][g]) < 1e-5, `demo film ${f} genre ${g}`));
    });
    assert.throws(
      () =>
        parseStrongText(
          json,
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          [...stage.dataset.genres].reverse(),
          'strong-model.json',
        ),
      /strong-model\.json: its genres are not the ones this page was built with; rebuild the site/,
    );
    assert.throws(() => parseStrongText(json, new ArrayBuffer(8), stage.dataset.genres, 'strong-model.json'), /text-weights\.bin is 8 bytes/);

    const second = recordingEffects();
    await runStrongStage(stage, stageContext(config, projectRoot, second));
    assert.ok(
      second.lines.some((l) => /Strong models: reusing the fitted models from the cache/.test(l)),
      second.lines.join('\n'),
    );
    assert.equal(readFileSync(join(paths.artifacts, 'strong.json'), 'utf8'), firstText);

    const result = join(paths.cache, 'strong', strong.key, 'result.json');
    writeFileSync(result, readFileSync(result, 'utf8').replace('"folds"', '"flods"'));
    const third = recordingEffects();
    await runStrongStage(stage, stageContext(config, projectRoot, third));
    assert.ok(
      third.lines.some((l) => /^warning: Strong models: the cached strong models in .* is damaged/.test(l)),
      third.lines.join('\n'),
    );
    assert.ok(!third.lines.some((l) => /reusing/.test(l)));
    assert.deepEqual(StrongArtifactSchema.parse(artifact('strong.json')).text, strong.text, 'fitted again, to the same result');
  });

  test(
    'with the poster backbone: the poster model takes its features, cached on their own, and evaluate-style scoring reproduces the probabilities',
    { skip: !backboneInstalled && 'nsfwjs is not installed' },
    async () => {
      const on = resolveConfig({ env: {}, flags: { ...flags, posterBackbone: 'on' } });
      const first = recordingEffects();
      await runStrongStage(stage, stageContext(on, projectRoot, first));
      const strong = StrongArtifactSchema.parse(artifact('strong.json'));
      const provenance = strong.poster.backbone!;
      assert.equal(provenance.package, 'nsfwjs');
      assert.equal(strong.poster.features, provenance.features);
      assert.match(strong.poster.topFeatures[0].positive[0].feature, /^MobileNetV2 block_\d+_add #\d+$/);
      assert.equal(
        strong.key,
        strongKey(stage.dataset.contentHash, stage.split, config.seed, backboneSpec(provenance.version, backboneEngine()), logisticSolver()),
      );
      assert.ok(
        first.lines.some((l) =>
          new RegExp(
            `^Poster backbone: MobileNetV2 \\(nsfwjs .*\\) features of 120 posters on ${backboneEngine() === 'onnxruntime' ? 'ONNX Runtime' : 'tfjs'} in`,
          ).test(l),
        ),
        first.lines.join('\n'),
      );
      const { models, meta } = await loadStrongModels(join(paths.public, 'models', 'strong'));
      assert.deepEqual(meta.backbone, provenance);
      const rows = stage.split.validation;
      const features = await backboneFeatures(datasetPosterFiles(stage.dataset, rows), { workers: 0 });
      const size = 64 * 64 * 3;
      const pixels = new Uint8Array(rows.length * size);
      rows.forEach((r, i) => pixels.set(stage.dataset.posterPixels.subarray(r * size, (r + 1) * size), i * size));
      const overviews = rows.map((r) => stage.dataset.films[r].overview);
      const again = strongProbabilities(models, overviews, pixels, 64, features.values);
      const published = StrongProbabilitiesArtifactSchema.parse(artifact('strong-probabilities.json'));
      const G = stage.dataset.genres.length;
      // Other batches of posters than the build's: the backbone's products sum in another order, so
      // the features (and the probabilities) agree to float32 rounding, not to the last bit.
      published.classifiers[1].validation.forEach((row, f) =>
        row.forEach((p, g) => assert.ok(Math.abs(p - again.poster[f * G + g]) <= 1e-5, `poster film ${f} genre ${g}`)),
      );
      assert.throws(() => strongProbabilities(models, overviews, pixels, 64), /needs the backbone features/);

      // Another setting of the models: fitted again, the backbone's features reused.
      const second = recordingEffects();
      await runStrongStage(stage, stageContext(resolveConfig({ env: {}, flags: { ...flags, posterBackbone: 'on', seed: 7 } }), projectRoot, second));
      assert.ok(
        second.lines.some((l) => /^Poster backbone: reusing the features from the cache/.test(l)),
        second.lines.join('\n'),
      );
      assert.equal(StrongArtifactSchema.parse(artifact('strong.json')).timings.backboneMs, 0);
    },
  );

  test('--no-strong removes what the stage wrote, so no stale strong model is published', async () => {
    const off = resolveConfig({ env: {}, flags: { ...flags, strongModels: false } });
    const effects = recordingEffects();
    await runStrongStage(stage, stageContext(off, projectRoot, effects));
    assert.ok(effects.lines.includes('Strong models: skipped (--no-strong)'));
    assert.equal(existsSync(join(paths.artifacts, 'strong.json')), false);
    assert.equal(existsSync(join(paths.artifacts, 'strong-probabilities.json')), false);
    assert.equal(existsSync(join(paths.public, 'models', 'strong')), false);
  });
});
