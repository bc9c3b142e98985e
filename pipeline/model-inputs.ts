/**
 * Turning a loaded dataset into model inputs, shared by training and `evaluate` so both feed the
 * models exactly the same way.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedDataset } from './dataset.ts';
import { posterBatchToFloat32 } from './posters.ts';

/** One-hot labels of every film, films × genres, row-major. */
export function labelMatrix(dataset: LoadedDataset): Uint8Array {
  const genreCount = dataset.genres.length;
  const labels = new Uint8Array(dataset.films.length * genreCount);
  dataset.films.forEach((film, i) => labels.set(film.labels, i * genreCount));
  return labels;
}

/** CNN input for some films: posters as float32 in [0, 1], [films, size, size, 3]. */
export function posterInputs(pixels: Uint8Array, size: number): (films: readonly number[]) => tf.Tensor {
  return (films) => tf.tensor4d(posterBatchToFloat32(pixels, films, size), [films.length, size, size, 3]);
}

/** LSTM input for some films: rows of `tokenIds` (films × length), int32 [films, length]. */
export function tokenInputs(tokenIds: Int32Array, length: number): (films: readonly number[]) => tf.Tensor {
  return (films) => {
    const out = new Int32Array(films.length * length);
    films.forEach((film, row) => out.set(tokenIds.subarray(film * length, (film + 1) * length), row * length));
    return tf.tensor2d(out, [films.length, length], 'int32');
  };
}
