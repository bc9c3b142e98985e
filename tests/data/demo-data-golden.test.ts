/**
 * Golden output of the demo generator: the first 8 films' CSV rows and the first 4 posters' raw
 * pixels for seed 1234 (the default demo dataset) must stay byte for byte what they were. A change
 * to the generator fails here: if it is meant, bump DEMO_DATASET_VERSION (cached demo datasets are
 * keyed by it) and write the new expected files with the commands in the failure message.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEMO_DATASET_VERSION, demoCsv, demoFilm, demoPoster } from '../../pipeline/lib/data/demo-data.ts';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const expected = JSON.parse(golden('demo-seed1234-posters.json')) as { generatorVersion: number; rawPixelsSha256: Record<string, string> };
const REGENERATE = 'if the change is meant: bump DEMO_DATASET_VERSION and regenerate tests/data/golden/ from demoCsv/demoPoster (seed 1234)';

test('the golden files belong to this generator version', () => {
  assert.equal(expected.generatorVersion, DEMO_DATASET_VERSION, REGENERATE);
});

test('the first 8 films of seed 1234: the same CSV, byte for byte', () => {
  const films = Array.from({ length: 8 }, (_, i) => demoFilm(1234, i));
  assert.equal(demoCsv(films), golden('demo-seed1234-first8.csv'), REGENERATE);
});

test('the first 4 posters of seed 1234: the same raw pixels', () => {
  Object.entries(expected.rawPixelsSha256).forEach(([id, hash], i) => {
    const pixels = demoPoster(1234, i);
    assert.equal(pixels.length, 150 * 300 * 3);
    assert.equal(createHash('sha256').update(pixels).digest('hex'), hash, `${id}: ${REGENERATE}`);
  });
});
