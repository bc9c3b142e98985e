/**
 * Seeded train/validation split of multi-label data by iterative stratification
 * (Sechidis, Tsoumakas & Vlahavas 2011, "On the stratification of multi-label data", Algorithm 1;
 * the order-1 case of scikit-multilearn's `IterativeStratification`), for 2 folds with proportions
 * [1 - validationFraction, validationFraction].
 *
 * Each round takes the label with the fewest (but at least one) still-unassigned items (ties broken
 * at random) and hands each of those items to the fold that most wants that label: the fold with the
 * largest remaining desired count for the label, then the largest remaining desired fold size, then
 * at random. Desired counts start at |items with label| × proportion and drop by one per item given.
 * Rare labels go first, so they are split in proportion before common ones fill the folds.
 * Items with no positive label are handed out last, each to the fold with the most room left.
 *
 * Deviations from the paper, both to make the result reproducible and the sizes exact:
 * - Fold sizes are integers, validation = round(N × validationFraction), and a full fold takes no
 *   more items, so the two sizes always come out exactly on target.
 * - "At random" is the seeded generator of `random.ts`; the items are also visited in a seeded
 *   random order (the paper leaves that order open). Same seed → identical split.
 */
import { randomInt, seededRandom, shuffled } from '../core/random.ts';

export interface TrainValidationSplit {
  /** Indices into the input rows, ascending. */
  train: number[];
  /** Indices into the input rows, ascending; disjoint from `train`, together all rows. */
  validation: number[];
}

const TRAIN = 0;
const VALIDATION = 1;
/** Desired counts are multiples of the proportions; treat values this close as a tie. */
const EPSILON = 1e-9;

/**
 * Splits `labels` (one 0/1 row per item, one column per genre) into train and validation,
 * stratified on every label. `validation.length` is exactly `round(N × validationFraction)`.
 */
export function stratifiedSplit(labels: readonly Uint8Array[], validationFraction: number = 0.2, seed: number): TrainValidationSplit {
  if (!(validationFraction >= 0 && validationFraction <= 1)) {
    throw new RangeError(`validationFraction must be in [0, 1], got ${validationFraction}`);
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);

  const n = labels.length;
  const random = seededRandom(seed);
  const proportions = [1 - validationFraction, validationFraction];
  const validationSize = Math.round(n * validationFraction);
  const room = [n - validationSize, validationSize];

  let genreCount = 0;
  for (const row of labels) genreCount = Math.max(genreCount, row.length);

  // Items in a seeded random order; each label's items listed in that order.
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    random,
  );
  const itemLabels: number[][] = new Array(n);
  const itemsOfLabel: number[][] = Array.from({ length: genreCount }, () => []);
  for (const item of order) {
    const row = labels[item];
    const positives: number[] = [];
    for (let g = 0; g < row.length; g++) {
      if (row[g] !== 0) {
        positives.push(g);
        itemsOfLabel[g].push(item);
      }
    }
    itemLabels[item] = positives;
  }

  const remaining = itemsOfLabel.map((items) => items.length);
  // desired[g][fold]: how many more items with label g the fold wants.
  const desired = remaining.map((count) => [count * proportions[TRAIN], count * proportions[VALIDATION]]);
  const fold = new Int8Array(n).fill(-1);

  const assign = (item: number, to: number): void => {
    fold[item] = to;
    room[to] -= 1;
    for (const g of itemLabels[item]) {
      desired[g][to] -= 1;
      remaining[g] -= 1;
    }
  };

  for (;;) {
    const label = rarestLabel(remaining, random);
    if (label < 0) break;
    for (const item of itemsOfLabel[label]) {
      if (fold[item] !== -1) continue;
      assign(item, chooseFold(desired[label], room, random));
    }
  }

  // Items without any positive label: to the fold with the most room left.
  for (const item of order) {
    if (fold[item] === -1) assign(item, chooseFold(null, room, random));
  }

  const train: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < n; i++) (fold[i] === VALIDATION ? validation : train).push(i);
  return { train, validation };
}

/** The label with the fewest (but at least one) unassigned items, ties at random; -1 when none is left. */
function rarestLabel(remaining: readonly number[], random: () => number): number {
  let best = Infinity;
  const ties: number[] = [];
  for (let g = 0; g < remaining.length; g++) {
    const count = remaining[g];
    if (count <= 0) continue;
    if (count < best) {
      best = count;
      ties.length = 0;
      ties.push(g);
    } else if (count === best) {
      ties.push(g);
    }
  }
  if (ties.length === 0) return -1;
  return ties.length === 1 ? ties[0] : ties[randomInt(random, ties.length)];
}

/**
 * Among folds with room left: the largest desired count for the label (if any), then the most
 * room, then at random.
 */
function chooseFold(labelDesire: readonly number[] | null, room: readonly number[], random: () => number): number {
  let candidates: number[] = [];
  for (let j = 0; j < room.length; j++) if (room[j] > 0) candidates.push(j);
  if (labelDesire) candidates = keepMax(candidates, (j) => labelDesire[j]);
  candidates = keepMax(candidates, (j) => room[j]);
  return candidates.length === 1 ? candidates[0] : candidates[randomInt(random, candidates.length)];
}

function keepMax(candidates: number[], value: (j: number) => number): number[] {
  if (candidates.length <= 1) return candidates;
  let max = -Infinity;
  for (const j of candidates) max = Math.max(max, value(j));
  return candidates.filter((j) => value(j) >= max - EPSILON);
}

/** Positive count per label (column) among the rows `indices`. */
export function splitLabelCounts(labels: readonly Uint8Array[], indices: readonly number[], genreCount: number): number[] {
  const counts = new Array<number>(genreCount).fill(0);
  for (const i of indices) {
    const row = labels[i];
    const n = Math.min(row.length, genreCount);
    for (let g = 0; g < n; g++) if (row[g] !== 0) counts[g]++;
  }
  return counts;
}
