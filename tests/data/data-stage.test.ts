/**
 * Integration: the data stage on a generated dataset in the coursework layout, checked against an
 * independent reading of the CSV with csv-parse.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { resolveConfig } from '../../pipeline/lib/config.ts';
import { DatasetArtifactSchema, SplitArtifactSchema } from '../../pipeline/lib/contract/contract.ts';
import { runDataStage } from '../../pipeline/lib/data/data-stage.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { memoryArtifactStore, stageContext } from '../../pipeline/lib/core/context.ts';

test('data stage on a generated dataset writes artifacts that match an independent count', async () => {
  const root = mkdtempSync(join(tmpdir(), 'genrelens-stage-'));
  const datasetDir = join(root, 'films');
  await writeDemoDataset(datasetDir, { films: 80, seed: 5 }, recordingEffects());
  const config = resolveConfig({ flags: { dataset: datasetDir, cacheDir: join(root, 'cache'), artifactsDir: join(root, 'artifacts') } });

  const effects = recordingEffects();
  const result = await runDataStage(stageContext(config, root, effects));
  const dataset = DatasetArtifactSchema.parse(JSON.parse(readFileSync(join(root, 'artifacts/dataset.json'), 'utf8')));
  const split = SplitArtifactSchema.parse(JSON.parse(readFileSync(join(root, 'artifacts/split.json'), 'utf8')));

  // Independent reading of the CSV.
  const rows = parse(readFileSync(join(datasetDir, 'IMDB_overview_genres.csv')), { columns: true }) as Record<string, string>[];
  const header = Object.keys(rows[0]);
  const genres = header.slice(header.indexOf('Genre') + 1, header.indexOf('Overview'));
  assert.deepEqual(dataset.genres, genres);
  assert.equal(dataset.films, rows.length);
  assert.equal(dataset.synthetic, true);
  assert.equal(dataset.source.kind, 'configured');
  assert.equal(dataset.quality.skippedRows, 0);

  const validation = new Set(split.validation);
  assert.equal(split.train.length + split.validation.length, rows.length);
  assert.equal(split.validation.length, Math.round(rows.length * 0.2));
  assert.ok(
    split.train.every((id) => !validation.has(id)),
    'train and validation are disjoint',
  );
  for (const [g, genre] of genres.entries()) {
    const expectedValidation = rows.filter((row) => row[genre] === '1' && validation.has(row.Id)).length;
    const expectedTrain = rows.filter((row) => row[genre] === '1' && !validation.has(row.Id)).length;
    assert.deepEqual(dataset.labelCounts[g], { genre, train: expectedTrain, validation: expectedValidation });
    assert.equal(dataset.cooccurrence[g][g], expectedTrain + expectedValidation);
  }
  const neverPositive = genres.filter((genre) => rows.every((row) => row[genre] === '0'));
  assert.deepEqual(dataset.quality.neverPositiveGenres, neverPositive);
  const perFilm = dataset.labelsPerFilm.reduce((sum, row) => sum + row.train + row.validation, 0);
  assert.equal(perFilm, rows.length);
  assert.equal(result.dataset.films.length, rows.length);

  // The same seed gives the same split.
  const again = await runDataStage(stageContext(config, root, recordingEffects()));
  assert.deepEqual(again.split, result.split);
  assert.equal(again.dataset.quality.posterCache.misses, 0, 'second run decodes no poster');
});

test("the data stage writes through the context's artifact store: an in-memory store gets the same JSON and the disk nothing", async () => {
  const root = mkdtempSync(join(tmpdir(), 'genrelens-stage-'));
  const datasetDir = join(root, 'films');
  await writeDemoDataset(datasetDir, { films: 40, seed: 5 }, recordingEffects());
  const config = resolveConfig({ flags: { dataset: datasetDir, cacheDir: join(root, 'cache'), artifactsDir: join(root, 'artifacts') } });
  const fixedClock = () => ({ ...recordingEffects(), now: () => Date.UTC(2026, 0, 1) });

  const memory = memoryArtifactStore();
  const ctx = stageContext(config, root, fixedClock(), memory);
  assert.equal(ctx.paths.artifacts, join(root, 'artifacts'));
  await runDataStage(ctx);
  assert.deepEqual([...memory.files.keys()].sort(), ['dataset.json', 'split.json']);
  assert.ok(!existsSync(join(root, 'artifacts')), 'nothing on disk');
  assert.deepEqual(memory.read('split').validation.length, 8);

  // The same run with the file store (and a cache of its own, so its poster-cache counts are the same).
  await runDataStage(stageContext({ ...config, cacheDir: join(root, 'cache-2') }, root, fixedClock()));
  for (const [file, text] of memory.files) assert.equal(readFileSync(join(root, 'artifacts', file), 'utf8'), text, file);
});
