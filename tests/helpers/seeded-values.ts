/** Test data: `count` float32 values in [-1, 1) from the project's seeded generator (the same for the same seed). */
import { seededRandom } from '../../pipeline/lib/core/random.ts';

export function seededValues(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => random() * 2 - 1);
}
