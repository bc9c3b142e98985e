/**
 * Golden-path build: a generated dataset → `genrelens build` → static HTML whose numbers match
 * the artifacts. Also checks that a malformed artifact fails the site build loudly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, test } from 'node:test';
import { writeDemoDataset } from '../pipeline/demo-data.ts';
import { recordingEffects } from '../pipeline/effects.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'genrelens-site-'));
const paths = { dataset: join(work, 'films'), cache: join(work, 'cache'), artifacts: join(work, 'artifacts'), out: join(work, 'dist') };

function cli(...args: string[]) {
  return run(process.execPath, ['pipeline/cli.ts', ...args], { cwd: root, env: { ...process.env, CI: 'true' }, maxBuffer: 64 * 1024 * 1024 });
}
const common = () => ['--dataset', paths.dataset, '--cache-dir', paths.cache, '--artifacts-dir', paths.artifacts, '--out-dir', paths.out];

before(async () => {
  await writeDemoDataset(paths.dataset, { films: 60, seed: 11 }, recordingEffects());
  await cli('build', ...common());
});

test('the dataset page shows the artifact numbers and says the data is synthetic', () => {
  const artifact = JSON.parse(readFileSync(join(paths.artifacts, 'dataset.json'), 'utf8'));
  const html = readFileSync(join(paths.out, 'dataset/index.html'), 'utf8');
  assert.match(html, /Synthetic data\./);
  assert.match(html, new RegExp(`>${artifact.films}<`));
  assert.match(html, new RegExp(`>${artifact.split.trainCount}<`));
  assert.match(html, new RegExp(`>${artifact.split.validationCount}<`));
  for (const row of artifact.labelCounts) {
    if (row.train + row.validation === 0) continue;
    const cells = new RegExp(`${row.genre.replace(/[-/]/g, '\\$&')}</th>\\s*<td class="num">${row.train}</td>\\s*<td class="num">${row.validation}</td>`);
    assert.match(html, cells, `label counts row for ${row.genre}`);
  }
  assert.match(html, new RegExp(`Genres with no positive example: ${artifact.quality.neverPositiveGenres.join(', ')}\\.`));
  assert.match(html, new RegExp(`${artifact.films} rows read, ${artifact.films} valid, 0 skipped\\.`));
  const home = readFileSync(join(paths.out, 'index.html'), 'utf8');
  assert.match(home, /Synthetic data\./);
});

test('a malformed artifact fails the site build with a message naming the field', async () => {
  const artifact = JSON.parse(readFileSync(join(paths.artifacts, 'dataset.json'), 'utf8'));
  artifact.films = 'many';
  writeFileSync(join(paths.artifacts, 'dataset.json'), JSON.stringify(artifact));
  const { build } = await import('astro');
  process.env.GENRELENS_ARTIFACTS_DIR = paths.artifacts;
  await assert.rejects(() => build({ root, outDir: join(work, 'dist-bad'), logLevel: 'silent' }), /films/);
});
