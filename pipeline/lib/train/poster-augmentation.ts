/**
 * Poster augmentation for training (config `posterAugmentation`), one of issue 5's ablations. It is
 * Keras' usual `ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
 * horizontal_flip=True)` (fill_mode 'nearest'), with whole-pixel shifts:
 *
 * - each poster is mirrored left–right with probability ½;
 * - then shifted by (dx, dy), each a uniform integer in [−s, s] with s = round(0.1 · size)
 *   (6 pixels on 64×64); pixels shifted in from outside repeat the nearest edge pixel.
 *
 * So output pixel (x, y) is pixel (clamp(x − dx), clamp(y − dy)) of the poster as mirrored (or not),
 * clamp keeping a coordinate inside [0, size − 1]. Only training batches are augmented; validation, the saved model and
 * the browser see the posters as they are. The draws come from a seeded generator per epoch, so a
 * run (and a resumed run) is reproducible.
 */
import type { Random } from '../core/random.ts';
import { SHIFT_FRACTION } from '../settings.ts';

export interface PosterTransform {
  mirror: boolean;
  dx: number;
  dy: number;
}

/** The largest shift in pixels for a `size`-pixel poster. */
export function maxShift(size: number): number {
  return Math.round(SHIFT_FRACTION * size);
}

/** One poster's random transform: the mirror draw first, then dx, then dy. */
export function drawTransform(random: Random, size: number): PosterTransform {
  const s = maxShift(size);
  const mirror = random() < 0.5;
  const dx = Math.floor(random() * (2 * s + 1)) - s;
  const dy = Math.floor(random() * (2 * s + 1)) - s;
  return { mirror, dx, dy };
}

/**
 * Applies `transform` to one square RGB poster (`size`² × 3 values, row-major, channels last) from
 * `input` at `offset` into `output` at the same offset.
 */
export function transformPoster(input: Float32Array, output: Float32Array, offset: number, size: number, transform: PosterTransform): void {
  const clamp = (v: number) => (v < 0 ? 0 : v >= size ? size - 1 : v);
  for (let y = 0; y < size; y++) {
    const sy = clamp(y - transform.dy);
    for (let x = 0; x < size; x++) {
      const shifted = clamp(x - transform.dx);
      const sx = transform.mirror ? size - 1 - shifted : shifted;
      const to = offset + (y * size + x) * 3;
      const from = offset + (sy * size + sx) * 3;
      output[to] = input[from];
      output[to + 1] = input[from + 1];
      output[to + 2] = input[from + 2];
    }
  }
}

/** A batch of `size`×`size` RGB posters (posters × size × size × 3), each with its own random transform. */
export function augmentPosterBatch(batch: Float32Array, size: number, random: Random): Float32Array {
  const per = size * size * 3;
  if (batch.length % per !== 0) throw new RangeError(`a batch of ${batch.length} values is not a whole number of ${size}×${size} RGB posters`);
  const out = new Float32Array(batch.length);
  for (let offset = 0; offset < batch.length; offset += per) transformPoster(batch, out, offset, size, drawTransform(random, size));
  return out;
}
