/**
 * Runs `f` with `Math.random` replaced by a seeded generator (tfjs draws dropout seeds from it),
 * and puts the original back afterwards, also when `f` throws.
 */
import { seededRandom } from '../../pipeline/lib/core/random.ts';

export function withSeededMathRandom<T>(seed: number, f: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    return f();
  } finally {
    Math.random = original;
  }
}
