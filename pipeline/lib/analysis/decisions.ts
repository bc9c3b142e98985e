/**
 * Decisions a user of the predictions would make, chosen on the training films only: IMDb lists
 * one to three genres per film, so every film gets at least 1 and at most 3 (the highest-scoring
 * genres above the threshold; the top one when none is above). Micro F1 pools every decision, so it
 * takes one shared threshold; macro F1 weighs every genre alike, so it takes a threshold per genre,
 * shrunk towards the shared one in proportion to how few training positives the genre has
 * (Lipton et al. 2014; Koyejo et al. 2015). Pure: no I/O.
 */
import { THRESHOLD_GRID } from '../settings.ts';

type Values = ArrayLike<number>;

export const GENRES_PER_FILM = { min: 1, max: 3 } as const;
/** A genre's own threshold weighs as much as the shared one once it has this many training positives. */
export const THRESHOLD_SHRINKAGE = 30;

/** 0/1 decisions: the genres above their threshold, at most `max` (best first), at least `min`. */
export function decide(
  probabilities: Values,
  genreCount: number,
  thresholds: readonly number[],
  limits: { min: number; max: number } = GENRES_PER_FILM,
): Uint8Array {
  if (thresholds.length !== genreCount) throw new RangeError(`${thresholds.length} thresholds for ${genreCount} genres`);
  const films = probabilities.length / genreCount;
  const out = new Uint8Array(probabilities.length);
  const order = Array.from({ length: genreCount }, (_, g) => g);
  for (let f = 0; f < films; f++) {
    const row = f * genreCount;
    order.sort((a, b) => probabilities[row + b] - probabilities[row + a] || a - b);
    let taken = 0;
    for (const g of order) {
      if (taken >= limits.max) break;
      if (probabilities[row + g] > thresholds[g] || taken < limits.min) {
        out[row + g] = 1;
        taken++;
      }
    }
  }
  return out;
}

const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));

/** Per-genre true positives, false positives and false negatives of 0/1 decisions. */
function counts(decisions: Uint8Array, labels: Values, genreCount: number) {
  const tp = new Float64Array(genreCount);
  const fp = new Float64Array(genreCount);
  const fn = new Float64Array(genreCount);
  for (let i = 0; i < decisions.length; i++) {
    const g = i % genreCount;
    if (decisions[i] && labels[i]) tp[g]++;
    else if (decisions[i]) fp[g]++;
    else if (labels[i]) fn[g]++;
  }
  return { tp, fp, fn };
}

export function microF1Of(decisions: Uint8Array, labels: Values, genreCount: number): number {
  const { tp, fp, fn } = counts(decisions, labels, genreCount);
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  return f1(sum(tp), sum(fp), sum(fn));
}

/** Per-genre F1 of 0/1 decisions. */
export function genreF1Of(decisions: Uint8Array, labels: Values, genreCount: number): number[] {
  const { tp, fp, fn } = counts(decisions, labels, genreCount);
  return Array.from(tp, (_, g) => f1(tp[g], fp[g], fn[g]));
}

export interface DecisionRule {
  /** The shared threshold (micro F1's). */
  shared: number;
  /** Per genre, shrunk towards `shared` (macro F1's). */
  perGenre: number[];
  /** Training positives per genre (the shrinkage's weights). */
  positives: number[];
}

/**
 * Chooses the shared threshold that maximises micro F1 of `decide` on the given (training) films,
 * then each genre's own F1-maximising threshold, shrunk: (n·t_g + k·t_shared) / (n + k), to six
 * decimals. Ties go to the lower threshold.
 */
export function chooseDecisionRule(probabilities: Values, labels: Values, genreCount: number, grid: readonly number[] = THRESHOLD_GRID): DecisionRule {
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels for ${probabilities.length} probabilities`);
  let shared = grid[0];
  let best = -1;
  for (const t of grid) {
    const score = microF1Of(decide(probabilities, genreCount, new Array<number>(genreCount).fill(t)), labels, genreCount);
    if (score > best) [best, shared] = [score, t];
  }
  const positives = new Array<number>(genreCount).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives[i % genreCount]++;
  // Each genre's own best threshold, judged on its plain decisions (p > t) so genres do not interact.
  const own = new Array<number>(genreCount).fill(shared);
  const bestF1 = new Array<number>(genreCount).fill(-1);
  for (const t of grid) {
    const plain = Uint8Array.from({ length: probabilities.length }, (_, i) => (probabilities[i] > t ? 1 : 0));
    genreF1Of(plain, labels, genreCount).forEach((score, g) => {
      if (score > bestF1[g]) [bestF1[g], own[g]] = [score, t];
    });
  }
  // Rounded to six decimals, so the published thresholds are exactly the ones that decided.
  const perGenre = own.map((t, g) => Math.round(((positives[g] * t + THRESHOLD_SHRINKAGE * shared) / (positives[g] + THRESHOLD_SHRINKAGE)) * 1e6) / 1e6);
  return { shared, perGenre, positives };
}

/** The rule's two sets of decisions: shared threshold (for micro F1) and per-genre (for macro F1). */
export function ruleDecisions(
  probabilities: Values,
  genreCount: number,
  rule: Pick<DecisionRule, 'shared' | 'perGenre'>,
): { micro: Uint8Array; macro: Uint8Array } {
  return { micro: decide(probabilities, genreCount, new Array<number>(genreCount).fill(rule.shared)), macro: decide(probabilities, genreCount, rule.perGenre) };
}
