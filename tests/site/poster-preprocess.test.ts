/**
 * The browser's poster preprocessing (src/lib/poster-preprocess.ts) against sharp, the pipeline's
 * decoder: which source pixel every output pixel takes, for many input and output sizes (images
 * whose pixels encode their own coordinates), then whole images pixel for pixel, and finally the
 * pipeline's own `decodePoster` (the path training takes) on lossless posters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { decodePoster, DEFAULT_MAX_POSTER_PIXELS, posterBatchToFloat32, posterPreprocessing } from '../../pipeline/lib/data/posters.ts';
import { checkPosterSpec, MAX_POSTER_PIXELS, nearestFillMaps, posterInput, resizeNearestFill, toUnitFloat32 } from '../../src/lib/poster-preprocess.ts';

/** An image whose pixel (x, y) stores x and y (12 bits each), so a resized copy says where each pixel came from. */
function coordinateImage(width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = x & 255;
      raw[o + 1] = y & 255;
      raw[o + 2] = (x >> 8) | ((y >> 8) << 4);
    }
  }
  return raw;
}

/** The source column of every output column and row of every output row in sharp's nearest 'fill' resize. */
async function sharpMaps(width: number, height: number, outWidth: number, outHeight: number): Promise<{ x: number[]; y: number[] }> {
  const { data, info } = await sharp(coordinateImage(width, height), { raw: { width, height, channels: 3 } })
    .resize(outWidth, outHeight, { fit: 'fill', kernel: 'nearest' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [outWidth, outHeight]);
  const x: number[] = [];
  const y: number[] = [];
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      const o = (oy * outWidth + ox) * 3;
      const sx = data[o] | ((data[o + 2] & 15) << 8);
      const sy = data[o + 1] | ((data[o + 2] >> 4) << 8);
      // Separable: every pixel of a column comes from one source column, of a row from one row.
      if (oy === 0) x.push(sx);
      else assert.equal(sx, x[ox], `${width}x${height}->${outWidth}x${outHeight}: column ${ox} is not one source column`);
      if (ox === 0) y.push(sy);
      else assert.equal(sy, y[oy], `${width}x${height}->${outWidth}x${outHeight}: row ${oy} is not one source row`);
    }
  }
  return { x, y };
}

async function assertSameMaps(width: number, height: number, outWidth = 64, outHeight = 64): Promise<void> {
  const expected = await sharpMaps(width, height, outWidth, outHeight);
  const actual = nearestFillMaps(width, height, outWidth, outHeight);
  assert.deepEqual(Array.from(actual.x), expected.x, `${width}x${height} -> ${outWidth}x${outHeight}: source columns`);
  assert.deepEqual(Array.from(actual.y), expected.y, `${width}x${height} -> ${outWidth}x${outHeight}: source rows`);
}

function seeded(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 1 + ((s >>> 8) % n);
  };
}

function noise(width: number, height: number, channels: number, seed: number): Buffer {
  const raw = Buffer.alloc(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < raw.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    raw[i] = s >>> 24;
  }
  return raw;
}

describe('nearest-neighbour fill resize: the source pixels libvips picks', () => {
  test('every width and height from 1 to 400 px, to 64 x 64 (shrinking, enlarging, integer and fractional factors)', async () => {
    for (let size = 1; size <= 400; size++) {
      await assertSameMaps(size, 64);
      await assertSameMaps(64, size);
    }
  });

  test('posters of every aspect ratio, including one side enlarged and the other shrunk', async () => {
    // Cases that once told the steps apart: integer subsample then fractional reduce (448 rows),
    // reduce on one axis + fractional enlargement on the other (85 x 229 -> 93 x 17), whole-number
    // enlargement with the other axis reduced (9 x 265 -> 45 x 17).
    for (const [w, h, ow, oh] of [
      [182, 268, 64, 64],
      [64, 448, 64, 64],
      [85, 229, 93, 17],
      [9, 265, 45, 17],
      [173, 197, 45, 37],
      [5, 197, 25, 77],
      [3000, 4000, 64, 64],
      [1, 1, 64, 64],
      [4095, 17, 64, 64],
    ]) {
      await assertSameMaps(w, h, ow, oh);
    }
    const rnd = seeded(42);
    for (let k = 0; k < 150; k++) await assertSameMaps(rnd(63), 64 + rnd(1500));
    for (let k = 0; k < 150; k++) await assertSameMaps(64 + rnd(1500), rnd(63));
    for (let k = 0; k < 150; k++) await assertSameMaps(rnd(1200), rnd(1200));
    for (let k = 0; k < 100; k++) await assertSameMaps(rnd(600), rnd(600), rnd(128), rnd(128));
  });
});

describe('poster pixels: the browser module against sharp and the pipeline', () => {
  test('noise images of several sizes: resizeNearestFill equals sharp resize(64, 64, fill, nearest), RGB and RGBA in', async () => {
    const sizes = [
      [182, 268],
      [268, 182],
      [64, 64],
      [63, 65],
      [500, 740],
      [1000, 1500],
      [40, 300],
      [300, 40],
      [17, 23],
      [1, 1],
    ];
    for (const [i, [width, height]] of sizes.entries()) {
      const rgb = noise(width, height, 3, i + 1);
      const expected = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .resize(64, 64, { fit: 'fill', kernel: 'nearest' })
        .raw()
        .toBuffer();
      assert.deepEqual(resizeNearestFill(rgb, width, height, 3, 64, 64), new Uint8Array(expected), `${width}x${height} RGB`);
      // RGBA, as a canvas gives it: the alpha channel is dropped, as the pipeline's removeAlpha() does.
      const rgba = Buffer.alloc(width * height * 4);
      for (let p = 0; p < width * height; p++) {
        rgb.copy(rgba, p * 4, p * 3, p * 3 + 3);
        rgba[p * 4 + 3] = (p * 37) & 255;
      }
      assert.deepEqual(resizeNearestFill(rgba, width, height, 4, 64, 64), new Uint8Array(expected), `${width}x${height} RGBA`);
    }
  });

  test('lossless posters through the pipeline\u2019s decodePoster (the training path) give the same bytes and model input', async () => {
    const preprocessing = posterPreprocessing();
    for (const [i, [width, height]] of [
      [182, 268],
      [300, 450],
      [67, 98],
      [1024, 683],
      [48, 24],
    ].entries()) {
      const png = await sharp(noise(width, height, 3, 100 + i), { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer();
      const decoded = await decodePoster(png, preprocessing);
      assert.ok(decoded.ok, `${width}x${height} decodes`);
      // What the browser has: the file decoded at its natural size to RGBA.
      const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const mine = posterInput(data, info.width, info.height, preprocessing);
      assert.deepEqual(mine.rgb, decoded.pixels, `${width}x${height}: resized pixels`);
      assert.deepEqual(mine.values, posterBatchToFloat32(decoded.pixels, [0], preprocessing), `${width}x${height}: model input`);
    }
  });

  test('value / 255 as float32, and only the preprocessing it reproduces is accepted', () => {
    assert.deepEqual(Array.from(toUnitFloat32([0, 1, 128, 255])), [0, 1 / 255, 128 / 255, 1].map(Math.fround));
    assert.equal(MAX_POSTER_PIXELS, DEFAULT_MAX_POSTER_PIXELS);
    assert.doesNotThrow(() => checkPosterSpec(posterPreprocessing()));
    assert.throws(() => checkPosterSpec(posterPreprocessing({ resizeKernel: 'lanczos3' })), /kernel 'lanczos3'/);
    assert.throws(() => checkPosterSpec(posterPreprocessing({ fit: 'cover' })), /fit 'cover'/);
    assert.throws(() => resizeNearestFill(new Uint8Array(5), 2, 2, 3, 64, 64), /expected 2x2x3/);
  });
});
