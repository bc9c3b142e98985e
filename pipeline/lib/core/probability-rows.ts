/**
 * The rows of the predictions and training-probability artifacts, one per film: its id, its
 * probabilities rounded to 1e-6 and, for predictions, its three likeliest genres. The train and
 * fusion stages both publish probabilities this way.
 */
import { topK } from './metrics.ts';

/** A probability as the artifacts publish it: six decimals. */
export const round6 = (p: number) => Math.round(p * 1e6) / 1e6;

/** One row per film of `filmIndices` (rows of `probabilities`, films × genres, in that order): id and probabilities. */
export function probabilityRows(films: readonly { id: string }[], filmIndices: readonly number[], probabilities: Float32Array, genreCount: number) {
  return filmIndices.map((film, row) => ({
    id: films[film].id,
    probabilities: Array.from(probabilities.subarray(row * genreCount, (row + 1) * genreCount), round6),
  }));
}

/** `probabilityRows` with each film's three likeliest genres (`top3`), as predictions-*.json holds them. */
export function predictionRows(films: readonly { id: string }[], filmIndices: readonly number[], probabilities: Float32Array, genres: readonly string[]) {
  const top = topK(probabilities, genres, 3);
  return probabilityRows(films, filmIndices, probabilities, genres.length).map((film, row) => ({
    ...film,
    top3: top[row].map(({ genre, probability }) => ({ genre, probability: round6(probability) })),
  }));
}
