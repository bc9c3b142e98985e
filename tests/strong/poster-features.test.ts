/**
 * The weight-free poster features (pipeline/lib/strong/poster-features.ts) on literal images whose
 * features are known without the code: flat black, flat white, flat grey, two halves, pure red.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitStandardisation, POSTER_FEATURE_NAMES, posterFeatures, standardise } from '../../pipeline/lib/strong/poster-features.ts';

const SIZE = 8;
const image = (pixel: (x: number, y: number) => [number, number, number]) => {
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) out.set(pixel(x, y), (y * SIZE + x) * 3);
  return out;
};
const feature = (row: Float64Array, name: string) => row[POSTER_FEATURE_NAMES.indexOf(name)];

test('flat images: black is all near-black, white all near-white, grey neither; no edges, no colourfulness', () => {
  const posters = [image(() => [0, 0, 0]), image(() => [255, 255, 255]), image(() => [128, 128, 128])];
  const all = new Uint8Array(posters.reduce((n, p) => n + p.length, 0));
  posters.forEach((p, i) => all.set(p, i * p.length));
  const f = posterFeatures(all, 3, SIZE);
  const width = POSTER_FEATURE_NAMES.length;
  const rows = [0, 1, 2].map((i) => f.subarray(i * width, (i + 1) * width));
  assert.deepEqual(
    rows.map((r) => feature(r, 'near-black fraction')),
    [1, 0, 0],
  );
  assert.deepEqual(
    rows.map((r) => feature(r, 'near-white fraction')),
    [0, 1, 0],
  );
  for (const r of rows) {
    assert.equal(feature(r, 'edge density'), 0);
    assert.equal(feature(r, 'colourfulness'), 0);
    assert.ok(feature(r, 'luminance spread') < 1e-6); // √(E[l²] − E[l]²): cancellation leaves ~1e-8
    // The HSV histogram is a distribution over the pixels.
    assert.ok(Math.abs(r.slice(0, 72).reduce((s, v) => s + v, 0) - 1) < 1e-12);
  }
  assert.ok(Math.abs(feature(rows[2], 'luminance mean') - 128 / 255) < 1e-12);
});

test('two halves: the edge between them is found, and each cell knows its own luminance', () => {
  const f = posterFeatures(
    image((x) => (x < SIZE / 2 ? [0, 0, 0] : [255, 255, 255])),
    1,
    SIZE,
  );
  // Interior pixels next to the boundary (columns 3 and 4, rows 1–6) have a gradient; the rest do not.
  assert.equal(feature(f, 'edge density'), (2 * (SIZE - 2)) / ((SIZE - 2) * (SIZE - 2)));
  assert.equal(feature(f, 'cell 0 luminance mean'), 0);
  assert.ok(Math.abs(feature(f, 'cell 3 luminance mean') - 1) < 1e-12);
  assert.ok(Math.abs(feature(f, 'luminance spread') - 0.5) < 1e-12);
});

test('pure red: hue 0 at full saturation and value, its hue (sin, cos) = (0, 1) per cell', () => {
  const f = posterFeatures(
    image(() => [255, 0, 0]),
    1,
    SIZE,
  );
  assert.equal(feature(f, 'hsv hue 0 sat 2 val 2'), 1);
  assert.equal(feature(f, 'cell 5 hue cos'), 1);
  assert.ok(Math.abs(feature(f, 'cell 5 hue sin')) < 1e-12);
  assert.equal(feature(f, 'cell 5 saturation mean'), 1);
  // Hasler–Süsstrunk: no spread; mean rg = 1, yb = 0.5 → 0.3·√1.25.
  assert.ok(Math.abs(feature(f, 'colourfulness') - 0.3 * Math.sqrt(1.25)) < 1e-12);
});

test('standardisation uses the given rows’ mean and spread; a constant column keeps scale 1', () => {
  const values = Float64Array.from([1, 5, 3, 5, 100, 5]);
  const s = fitStandardisation(values, 2, [0, 1]);
  assert.deepEqual(s, { mean: [2, 5], scale: [1, 1] });
  assert.deepEqual(Array.from(standardise(values, 2, [2, 0], s)), [98, 0, -1, 0]);
});
