/**
 * The first report a new user sees must show learning: on the default demo dataset (600 films, seed
 * 1234) with the default (quick) profile, both models beat the constant baselines at threshold 0.5
 * by more than 0.1 micro F1.
 * Scores are recomputed here from the CSV's one-hot cells and the models' published probabilities,
 * independently of pipeline/lib/core/metrics.ts and analysis.ts. Trains both models: about 100 s here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { writeDemoDataset } from '../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../pipeline/lib/core/effects.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'genrelens-demo-learning-'));
after(() => rm(work, { recursive: true, force: true }));

/** Micro-F1 over all (film, genre) cells: 2·TP / (2·TP + FP + FN). */
function microF1(predicted: (id: string, genre: string) => boolean, truth: Map<string, Set<string>>, ids: string[], genres: string[]): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const id of ids) {
    for (const genre of genres) {
      const p = predicted(id, genre);
      const t = truth.get(id)!.has(genre);
      if (p && t) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
  }
  return (2 * tp) / (2 * tp + fp + fn);
}

test('on the default demo data, both quick-profile models beat every constant baseline', { timeout: 600_000 }, async () => {
  const dataset = join(work, 'films');
  await writeDemoDataset(dataset, { films: 600, seed: 1234 }, recordingEffects());
  const artifacts = join(work, 'artifacts');
  await promisify(execFile)(
    process.execPath,
    ['pipeline/cli.ts', 'train', '--dataset', dataset, '--cache-dir', join(work, 'cache'), '--artifacts-dir', artifacts, '--public-dir', join(work, 'public')],
    { cwd: root, env: { ...process.env, CI: 'true' }, maxBuffer: 64 * 1024 * 1024 },
  );

  const rows = parse(await readFile(join(dataset, 'IMDB_overview_genres.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const genreColumns = Object.keys(rows[0]).filter((column) => !['Id', 'Genre', 'Overview'].includes(column));
  const truth = new Map(rows.map((row) => [row.Id, new Set(genreColumns.filter((genre) => row[genre] === '1'))]));
  const split = JSON.parse(await readFile(join(artifacts, 'split.json'), 'utf8')) as { train: string[]; validation: string[] };

  // Constant baselines: the most frequent training genre(s), and no genre at all (no prior reaches 0.5).
  const counts = genreColumns.map((genre) => [genre, split.train.filter((id) => truth.get(id)!.has(genre)).length] as const);
  const [first, second] = counts.toSorted((a, b) => b[1] - a[1]).map(([genre]) => genre);
  const baselines = {
    'always the most frequent genre': microF1((_, genre) => genre === first, truth, split.validation, genreColumns),
    'always the two most frequent genres': microF1((_, genre) => genre === first || genre === second, truth, split.validation, genreColumns),
  };
  const best = Math.max(...Object.values(baselines));
  assert.ok(best > 0.3, `baselines ${JSON.stringify(baselines)}`); // the check has teeth: Drama + Comedy is strong

  for (const model of ['cnn', 'lstm']) {
    const predictions = JSON.parse(await readFile(join(artifacts, `predictions-${model}.json`), 'utf8')) as {
      genres: string[];
      films: { id: string; probabilities: number[] }[];
    };
    assert.deepEqual(predictions.films.map((film) => film.id).toSorted(), split.validation.toSorted());
    const probability = new Map(predictions.films.map((film) => [film.id, new Map(predictions.genres.map((genre, g) => [genre, film.probabilities[g]]))]));
    const score = microF1((id, genre) => (probability.get(id)!.get(genre) ?? 0) > 0.5, truth, split.validation, genreColumns);
    assert.ok(score > best + 0.1, `${model}: micro-F1 ${score.toFixed(3)} vs best constant baseline ${best.toFixed(3)} (${JSON.stringify(baselines)})`);
  }
});
