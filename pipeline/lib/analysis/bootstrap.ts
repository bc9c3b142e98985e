/**
 * How sure the validation figures are: a bootstrap over films. Each resample draws as many
 * validation films as there are, with replacement, and recomputes every classifier's micro and
 * macro F1 on the same draw — at threshold 0.5 (the conventions of core/metrics.ts) from
 * `probabilities`, or from given 0/1 `decisions` (the strong models' decision rule, one set for
 * micro F1 and one for macro F1) — so differences
 * between two classifiers are paired. The interval is the percentile interval of the resampled
 * values; a difference is called real only when its interval excludes zero. Pure: no I/O.
 */
import { seededRandom } from '../core/random.ts';
import { DECISION_THRESHOLD } from '../settings.ts';

type Values = ArrayLike<number>;

export interface Interval {
  /** The figure on all validation films. */
  estimate: number;
  low: number;
  high: number;
}

export interface F1Intervals {
  microF1: Interval;
  macroF1: Interval;
}

export interface BootstrapResult {
  resamples: number;
  level: number;
  seed: number;
  classifiers: Record<string, F1Intervals>;
  /** `a − b` for each pair asked for. */
  differences: { a: string; b: string; microF1: Interval; macroF1: Interval }[];
}

const f1 = (tp: number, fp: number, fn: number) => (2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));

/** Micro and macro F1 of one classifier's decisions with each film counted `weight[i]` times. */
function weightedF1(decisions: Uint8Array, labels: Values, weight: Int32Array, genreCount: number): { micro: number; macro: number } {
  const tp = new Float64Array(genreCount);
  const fp = new Float64Array(genreCount);
  const fn = new Float64Array(genreCount);
  for (let i = 0; i < weight.length; i++) {
    const w = weight[i];
    if (w === 0) continue;
    const row = i * genreCount;
    for (let g = 0; g < genreCount; g++) {
      const predicted = decisions[row + g] === 1;
      const truth = labels[row + g] === 1;
      if (predicted && truth) tp[g] += w;
      else if (predicted) fp[g] += w;
      else if (truth) fn[g] += w;
    }
  }
  let [TP, FP, FN, macro] = [0, 0, 0, 0];
  for (let g = 0; g < genreCount; g++) {
    TP += tp[g];
    FP += fp[g];
    FN += fn[g];
    macro += f1(tp[g], fp[g], fn[g]);
  }
  return { micro: f1(TP, FP, FN), macro: macro / genreCount };
}

/** The `q` quantile of sorted values (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function interval(estimate: number, values: Float64Array, level: number): Interval {
  const sorted = Float64Array.from(values).sort();
  return { estimate, low: quantile(sorted, (1 - level) / 2), high: quantile(sorted, 1 - (1 - level) / 2) };
}

/**
 * Percentile intervals of each classifier's micro and macro F1 and of the paired differences
 * `pairs` (a − b), from `resamples` draws of the films seeded by `seed`. `probabilities[id]` and
 * `labels` are films × genres, row-major, in the same film order.
 */
export function bootstrapF1(input: {
  probabilities: Record<string, Values>;
  /** Classifiers scored on their own 0/1 decisions: one matrix for micro F1, one for macro F1. */
  decisions?: Record<string, { micro: Uint8Array; macro: Uint8Array }>;
  labels: Values;
  genreCount: number;
  pairs: readonly (readonly [string, string])[];
  resamples: number;
  level: number;
  seed: number;
}): BootstrapResult {
  const { probabilities, labels, genreCount, pairs, resamples, level, seed } = input;
  const films = labels.length / genreCount;
  if (!Number.isInteger(films) || films < 1) throw new RangeError(`labels hold ${labels.length} cells, not films × ${genreCount} genres`);
  const decisions: Record<string, { micro: Uint8Array; macro: Uint8Array }> = Object.fromEntries(
    Object.entries(probabilities).map(([id, p]) => {
      if (p.length !== labels.length) throw new RangeError(`${id}: ${p.length} probabilities for ${labels.length} label cells`);
      const atDefault = Uint8Array.from({ length: p.length }, (_, k) => (p[k] > DECISION_THRESHOLD ? 1 : 0));
      return [id, { micro: atDefault, macro: atDefault }];
    }),
  );
  for (const [id, d] of Object.entries(input.decisions ?? {})) {
    if (d.micro.length !== labels.length || d.macro.length !== labels.length)
      throw new RangeError(`${id}: decisions for ${d.micro.length} cells, ${labels.length} labels`);
    decisions[id] = d;
  }
  const ids = Object.keys(decisions);
  const scored = (id: string, weight: Int32Array) => {
    const { micro, macro } = decisions[id];
    const a = weightedF1(micro, labels, weight, genreCount);
    return micro === macro ? a : { micro: a.micro, macro: weightedF1(macro, labels, weight, genreCount).macro };
  };
  const all = new Int32Array(films).fill(1);
  const estimates = Object.fromEntries(ids.map((id) => [id, scored(id, all)]));
  const micro = Object.fromEntries(ids.map((id) => [id, new Float64Array(resamples)]));
  const macro = Object.fromEntries(ids.map((id) => [id, new Float64Array(resamples)]));
  const random = seededRandom(seed);
  const weight = new Int32Array(films);
  for (let b = 0; b < resamples; b++) {
    weight.fill(0);
    for (let k = 0; k < films; k++) weight[Math.floor(random() * films)]++;
    for (const id of ids) {
      const value = scored(id, weight);
      micro[id][b] = value.micro;
      macro[id][b] = value.macro;
    }
  }
  const difference = (values: Record<string, Float64Array>, a: string, b: string) => Float64Array.from(values[a], (v, i) => v - values[b][i]);
  return {
    resamples,
    level,
    seed,
    classifiers: Object.fromEntries(
      ids.map((id) => [id, { microF1: interval(estimates[id].micro, micro[id], level), macroF1: interval(estimates[id].macro, macro[id], level) }]),
    ),
    differences: pairs.map(([a, b]) => ({
      a,
      b,
      microF1: interval(estimates[a].micro - estimates[b].micro, difference(micro, a, b), level),
      macroF1: interval(estimates[a].macro - estimates[b].macro, difference(macro, a, b), level),
    })),
  };
}

/** Whether a difference's interval excludes zero: a is better (1), worse (−1), or the data cannot tell (0). */
export function differenceVerdict(difference: Interval): 1 | -1 | 0 {
  if (difference.low > 0) return 1;
  if (difference.high < 0) return -1;
  return 0;
}
