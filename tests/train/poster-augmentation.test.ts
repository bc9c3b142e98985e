/** Poster augmentation on literal arrays: mirror, shifts with repeated edges, seeded draws. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augmentPosterBatch, drawTransform, maxShift, transformPoster, type PosterTransform } from '../../pipeline/lib/train/poster-augmentation.ts';
import { seededRandom } from '../../pipeline/lib/core/random.ts';

/** A 3×3 RGB poster whose pixel (x, y) is (10y + x, 100 + 10y + x, 200 + 10y + x). */
const POSTER = Float32Array.from({ length: 27 }, (_, i) => {
  const pixel = Math.floor(i / 3);
  return [0, 100, 200][i % 3] + 10 * Math.floor(pixel / 3) + (pixel % 3);
});
/** The red channel of a 3×3 result, as rows. */
const red = (poster: Float32Array) => [0, 1, 2].map((y) => [0, 1, 2].map((x) => poster[(y * 3 + x) * 3]));
const apply = (transform: PosterTransform) => {
  const out = new Float32Array(27);
  transformPoster(POSTER, out, 0, 3, transform);
  return out;
};

test('the identity transform copies the poster', () => {
  assert.deepEqual(apply({ mirror: false, dx: 0, dy: 0 }), POSTER);
});

test('mirroring reverses each row, every channel', () => {
  const out = apply({ mirror: true, dx: 0, dy: 0 });
  assert.deepEqual(red(out), [
    [2, 1, 0],
    [12, 11, 10],
    [22, 21, 20],
  ]);
  assert.deepEqual([out[0], out[1], out[2]], [2, 102, 202]);
});

test('shifts move the content and repeat the edge pixels shifted in', () => {
  assert.deepEqual(red(apply({ mirror: false, dx: 1, dy: 0 })), [
    [0, 0, 1],
    [10, 10, 11],
    [20, 20, 21],
  ]);
  assert.deepEqual(red(apply({ mirror: false, dx: 0, dy: -1 })), [
    [10, 11, 12],
    [20, 21, 22],
    [20, 21, 22],
  ]);
  // Shifted by more than the poster: every pixel is the nearest edge's.
  assert.deepEqual(red(apply({ mirror: false, dx: -5, dy: 5 })), [
    [2, 2, 2],
    [2, 2, 2],
    [2, 2, 2],
  ]);
  // Mirror first, then shift.
  assert.deepEqual(red(apply({ mirror: true, dx: 1, dy: 1 })), [
    [2, 2, 1],
    [2, 2, 1],
    [12, 12, 11],
  ]);
});

test('shifts are whole pixels up to a tenth of the side, and the draws are seeded', () => {
  assert.equal(maxShift(64), 6);
  const random = seededRandom(5);
  const draws = Array.from({ length: 2000 }, () => drawTransform(random, 64));
  assert.ok(draws.every((d) => Number.isInteger(d.dx) && Math.abs(d.dx) <= 6 && Number.isInteger(d.dy) && Math.abs(d.dy) <= 6));
  assert.deepEqual(new Set(draws.map((d) => d.dx)).size, 13);
  const mirrored = draws.filter((d) => d.mirror).length / draws.length;
  assert.ok(mirrored > 0.45 && mirrored < 0.55, `mirrored share ${mirrored}`);
  const again = seededRandom(5);
  assert.deepEqual(
    Array.from({ length: 2000 }, () => drawTransform(again, 64)),
    draws,
  );
});

test('a batch gives each poster its own transform, in order, without changing the input', () => {
  const batch = new Float32Array([...POSTER, ...POSTER]);
  const random = seededRandom(11);
  const out = augmentPosterBatch(batch, 3, random);
  const replay = seededRandom(11);
  const expected = [apply(drawTransform(replay, 3)), apply(drawTransform(replay, 3))];
  assert.deepEqual(out, new Float32Array([...expected[0], ...expected[1]]));
  assert.deepEqual(batch, new Float32Array([...POSTER, ...POSTER]));
  assert.throws(() => augmentPosterBatch(new Float32Array(26), 3, random), /not a whole number/);
});
