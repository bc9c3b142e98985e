import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { recordingEffects, type Effects } from '../../pipeline/lib/core/effects.ts';
import {
  decodePoster,
  DEFAULT_MAX_POSTER_PIXELS,
  loadPosters,
  posterBatchToFloat32,
  posterConcurrency,
  posterPreprocessing,
  type PosterOutcome,
} from '../../pipeline/lib/data/posters.ts';
import { blackPng, makePoster, makeTempDir, pngWithBrokenPixels, truncatedJpeg, type Rgb } from '../helpers/fixture-dataset.ts';

const SIZE = 16;
const pre = posterPreprocessing({ imageSize: SIZE });

function assertSolid(pixels: Uint8Array, colour: Rgb, tolerance = 0) {
  for (let i = 0; i < pixels.length; i++) {
    const diff = Math.abs(pixels[i] - colour[i % 3]);
    if (diff > tolerance) assert.fail(`byte ${i} is ${pixels[i]}, expected ${colour[i % 3]} ± ${tolerance}`);
  }
}

async function decode(bytes: Uint8Array, options: { maxPosterPixels?: number; expectedFormat?: string } = { expectedFormat: 'jpeg' }) {
  return decodePoster(bytes, pre, options);
}

test('the preprocessing record: Keras load_img defaults (fill, nearest), 64 px, divide by 255', () => {
  assert.deepEqual(posterPreprocessing(), { width: 64, height: 64, channels: 3, fit: 'fill', kernel: 'nearest', normalisation: 'divide-by-255' });
  assert.deepEqual(posterPreprocessing({ imageSize: 32, resizeKernel: 'lanczos3' }), {
    width: 32,
    height: 32,
    channels: 3,
    fit: 'fill',
    kernel: 'lanczos3',
    normalisation: 'divide-by-255',
  });
  assert.equal(DEFAULT_MAX_POSTER_PIXELS, 50_000_000);
  assert.throws(() => posterPreprocessing({ imageSize: 0 }), RangeError);
});

test('a solid-colour poster: every float equals colour/255 after posterBatchToFloat32', async () => {
  const colour: Rgb = [200, 31, 90];
  const result = await decode(await makePoster({ colour, width: 30, height: 60, format: 'png' }), { expectedFormat: 'png' });
  assert.ok(result.ok);
  assert.deepEqual(result.warnings, []);
  assert.equal(result.pixels.length, SIZE * SIZE * 3);
  assertSolid(result.pixels, colour);
  const floats = posterBatchToFloat32(result.pixels, [0], SIZE);
  assert.equal(floats.length, SIZE * SIZE * 3);
  for (let i = 0; i < floats.length; i++) assert.equal(floats[i], Math.fround(colour[i % 3] / 255));

  // A JPEG (lossy) lands within a couple of levels.
  const jpeg = await decode(await makePoster({ colour, width: 30, height: 60 }));
  assert.ok(jpeg.ok);
  assert.deepEqual(jpeg.warnings, []);
  assertSolid(jpeg.pixels, colour, 3);
});

test('posterBatchToFloat32 picks the requested posters in order and checks its inputs', () => {
  const per = 2 * 2 * 3;
  const pixels = new Uint8Array(3 * per);
  pixels.fill(0, 0, per);
  pixels.fill(255, per, 2 * per);
  pixels.fill(51, 2 * per);
  const out = posterBatchToFloat32(pixels, [2, 1, 2], 2);
  assert.deepEqual([out[0], out[per], out[2 * per]], [Math.fround(0.2), 1, Math.fround(0.2)]);
  assert.equal(out.length, 3 * per);
  assert.throws(() => posterBatchToFloat32(pixels, [3], 2), /out of range/);
  assert.throws(() => posterBatchToFloat32(pixels, [0], 3), /whole number/);
  assert.equal(posterBatchToFloat32(pixels, [], { width: 2, height: 2 }).length, 0);
});

test('the resize stretches (fill) with nearest sampling: a left/right split poster stays split', async () => {
  const width = 40;
  const height = 80;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[(y * width + x) * 3] = x < width / 2 ? 0 : 255;
  const sharp = (await import('sharp')).default;
  const png = await sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const result = await decode(png, { expectedFormat: 'png' });
  assert.ok(result.ok);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) assert.equal(result.pixels[(y * SIZE + x) * 3], x < SIZE / 2 ? 0 : 255, `pixel ${x},${y}`);
  }
});

test('a PNG named .jpg is decoded by content, with a warning', async () => {
  const colour: Rgb = [10, 120, 250];
  const result = await decode(await makePoster({ colour, format: 'png' }));
  assert.ok(result.ok);
  assertSolid(result.pixels, colour);
  assert.deepEqual(
    result.warnings.map((w) => w.reason),
    ['poster-format-mismatch'],
  );
  assert.match(result.warnings[0].detail, /named as JPEG but is PNG/);
});

test('grayscale and CMYK JPEGs become RGB, with a warning each', async () => {
  const gray = await decode(await makePoster({ colour: [90, 90, 90], space: 'b-w' }));
  assert.ok(gray.ok);
  assert.deepEqual(
    gray.warnings.map((w) => w.reason),
    ['poster-grayscale'],
  );
  assert.equal(gray.pixels.length, SIZE * SIZE * 3);
  assertSolid(gray.pixels, [90, 90, 90], 2);

  const colour: Rgb = [200, 40, 90];
  const cmyk = await decode(await makePoster({ colour, space: 'cmyk' }));
  assert.ok(cmyk.ok);
  assert.deepEqual(
    cmyk.warnings.map((w) => w.reason),
    ['poster-cmyk'],
  );
  assert.equal(cmyk.pixels.length, SIZE * SIZE * 3);
  assertSolid(cmyk.pixels, colour, 24); // through a CMYK profile (none embedded): close, not exact

  const alpha = await decode(await makePoster({ colour, format: 'png', alpha: 0.5 }), { expectedFormat: 'png' });
  assert.ok(alpha.ok);
  assert.deepEqual(
    alpha.warnings.map((w) => w.reason),
    ['poster-alpha'],
  );
  assertSolid(alpha.pixels, colour, 0); // alpha dropped, colour untouched (as Keras load_img)
});

test('a truncated JPEG and a non-image are unreadable posters', async () => {
  const truncated = await decode(await truncatedJpeg(0.6));
  assert.equal(truncated.ok, false);
  assert.ok(!truncated.ok && truncated.reason === 'unreadable-poster');
  assert.match(!truncated.ok ? truncated.detail : '', /truncated or corrupt/);
  const text = await decode(Buffer.from('this is not an image'));
  assert.ok(!text.ok && text.reason === 'unreadable-poster');
  const empty = await decode(new Uint8Array(0));
  assert.ok(!empty.ok && empty.reason === 'unreadable-poster');
});

test('a 20000x20000 image is rejected from its header, before decoding', async () => {
  const big = blackPng(20000, 20000); // a real, valid image: ~0.4 MB on disk, 400 megapixels
  assert.ok(big.length < 2_000_000);
  const result = await decode(big, { expectedFormat: 'png' });
  assert.ok(!result.ok);
  assert.equal(result.reason, 'poster-too-large');
  assert.match(result.detail, /20000x20000 = 400,000,000 pixels, above the limit of 50,000,000/);

  // Proof that nothing was decoded: the same header over garbage pixel data is still "too large";
  // only a decode could have found the garbage (as it does once the image is under the limit).
  const brokenBig = await decode(pngWithBrokenPixels(20000, 20000), { expectedFormat: 'png' });
  assert.ok(!brokenBig.ok && brokenBig.reason === 'poster-too-large');
  const brokenSmall = await decode(pngWithBrokenPixels(100, 100), { expectedFormat: 'png' });
  assert.ok(!brokenSmall.ok && brokenSmall.reason === 'unreadable-poster');

  // The limit is configurable.
  const limited = await decode(await makePoster({ width: 30, height: 60 }), { maxPosterPixels: 1000 });
  assert.ok(!limited.ok && limited.reason === 'poster-too-large');
  assert.match(!limited.ok ? limited.detail : '', /30x60 = 1,800 pixels, above the limit of 1,000/);
});

function progressEffects(): Effects & { lines: string[]; progress: Effects['progress']; calls: [number, number][] } {
  const base = recordingEffects();
  const calls: [number, number][] = [];
  return { ...base, calls, progress: (_label, done, total) => void calls.push([done, total]) };
}

test('loadPosters: cache hits on the second run decode nothing and give identical pixels; failures are cached too', async (t) => {
  const dir = await makeTempDir(t);
  const cacheDir = join(dir, 'cache');
  const colours: Rgb[] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [30, 60, 90],
  ];
  const files: string[] = [];
  for (const [i, colour] of colours.entries()) {
    const file = join(dir, `p${i}.jpg`);
    await writeFile(file, await makePoster({ colour, format: i === 3 ? 'png' : 'jpeg' }));
    files.push(file);
  }
  await writeFile(join(dir, 'trunc.jpg'), await truncatedJpeg());
  files.push(join(dir, 'trunc.jpg'), join(dir, 'missing.jpg'));

  const effects = progressEffects();
  const first = await loadPosters(files, { cacheDir, allowedRoots: [dir], imageSize: SIZE, concurrency: 2 }, effects);
  assert.equal(first.misses, 5);
  assert.equal(first.hits, 0);
  assert.deepEqual(effects.calls.at(-1), [6, 6], 'progress reaches the total');
  const summary = (outcomes: PosterOutcome[]) => outcomes.map((o) => (o.ok ? ['ok', o.warnings.map((w) => w.reason)] : [o.reason]));
  assert.deepEqual(summary(first.outcomes), [
    ['ok', []],
    ['ok', []],
    ['ok', []],
    ['ok', ['poster-format-mismatch']],
    ['unreadable-poster'],
    ['missing-poster'],
  ]);
  assert.equal(first.pixels.length, 6 * SIZE * SIZE * 3);
  const per = SIZE * SIZE * 3;
  assertSolid(first.pixels.subarray(3 * per, 4 * per), [30, 60, 90]);
  assert.ok(
    first.pixels.subarray(4 * per).every((v) => v === 0),
    'failed slots are zero',
  );

  const cached = await readdir(join(cacheDir, 'posters'));
  assert.equal(cached.filter((f) => f.endsWith('.rgb')).length, 4);
  assert.equal(cached.filter((f) => f.endsWith('.fail.json')).length, 1);

  const second = await loadPosters(files, { cacheDir, allowedRoots: [dir], imageSize: SIZE }, recordingEffects());
  assert.equal(second.misses, 0, 'second run decodes nothing');
  assert.equal(second.hits, 5);
  assert.deepEqual(second.pixels, first.pixels);
  assert.deepEqual(summary(second.outcomes), summary(first.outcomes));
  assert.ok(second.outcomes.slice(0, 5).every((o) => o.cached));

  // Other preprocessing settings are other cache entries.
  const bigger = await loadPosters(files, { cacheDir, allowedRoots: [dir], imageSize: SIZE * 2 }, recordingEffects());
  assert.equal(bigger.misses, 5);
  assert.equal(bigger.pixels.length, 6 * 4 * per);

  // The key is the content: a renamed copy is a hit; a changed file is a miss.
  const copy = join(dir, 'copy.jpg');
  await writeFile(copy, await makePoster({ colour: [255, 0, 0] }));
  const renamed = await loadPosters([copy], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  assert.deepEqual([renamed.hits, renamed.misses], [1, 0]);
  await writeFile(copy, await makePoster({ colour: [1, 2, 3] }));
  const changed = await loadPosters([copy], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  assert.deepEqual([changed.hits, changed.misses], [0, 1]);
  // The format-vs-name warning belongs to the file name, not to the cached content.
  const asPng = join(dir, 'p3.png');
  await writeFile(asPng, await makePoster({ colour: [30, 60, 90], format: 'png' }));
  const png = await loadPosters([asPng], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  assert.deepEqual([png.hits, png.misses], [1, 0]);
  assert.deepEqual(summary(png.outcomes), [['ok', []]]);
});

test('a corrupt cache entry is ignored and rewritten', async (t) => {
  const dir = await makeTempDir(t);
  const cacheDir = join(dir, 'cache');
  const file = join(dir, 'a.jpg');
  await writeFile(file, await makePoster({ colour: [9, 99, 199] }));
  const first = await loadPosters([file], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  const [entry] = await readdir(join(cacheDir, 'posters'));
  await writeFile(join(cacheDir, 'posters', entry), 'garbage');
  const second = await loadPosters([file], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  assert.deepEqual([second.hits, second.misses], [0, 1]);
  assert.deepEqual(second.pixels, first.pixels);
  const third = await loadPosters([file], { cacheDir, imageSize: SIZE, allowedRoots: [dir] }, recordingEffects());
  assert.deepEqual([third.hits, third.misses], [1, 0]);
});

test('posters decoded 1 or 8 at a time give the same pixels and outcomes, in file order; the default is four per core, at most 8', async (t) => {
  assert.deepEqual(
    [1, 2, 3, 16].map((cores) => posterConcurrency(cores)),
    [4, 8, 8, 8],
  );
  const dir = await makeTempDir(t);
  const files: string[] = [];
  for (let i = 0; i < 12; i++) {
    const file = join(dir, `p${i}.jpg`);
    await writeFile(file, await makePoster({ colour: [20 * i, 255 - 20 * i, (37 * i) % 256] }));
    files.push(file);
  }
  files.splice(5, 0, join(dir, 'missing.jpg'));
  const load = (concurrency: number) =>
    loadPosters(files, { cacheDir: join(dir, `cache-${concurrency}`), allowedRoots: [dir], imageSize: SIZE, concurrency }, progressEffects());
  const [one, eight] = [await load(1), await load(8)];
  assert.equal(eight.misses, 12, 'the 12 posters decoded (the missing file is not read)');
  assert.deepEqual(eight.pixels, one.pixels);
  assert.deepEqual(eight.outcomes, one.outcomes);
  assert.equal(eight.outcomes[5].ok, false);
  assertSolid(eight.pixels.subarray(12 * SIZE * SIZE * 3, 13 * SIZE * SIZE * 3), [220, 35, 151], 2);
});
