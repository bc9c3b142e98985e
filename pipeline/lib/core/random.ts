/** Seeded pseudo-random numbers (mulberry32): the same seed gives the same sequence on every machine. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  return seededRandomSource(seed).next;
}

/** Fisher–Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** A seeded generator whose state can be saved in a checkpoint and restored on resume. */
export interface RandomSource {
  next: Random;
  getState(): number;
  setState(state: number): void;
}

export function seededRandomSource(seed: number): RandomSource {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    getState: () => state,
    setState(value) {
      state = value >>> 0;
    },
  };
}

/** One of `items`, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)];
}
