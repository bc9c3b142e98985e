/**
 * The report's words for the bootstrap intervals of analysis.json (pipeline/lib/analysis/bootstrap.ts):
 * an interval as text, and for each paired difference whether the data says one classifier is
 * better — only when the interval of the difference excludes zero.
 */
import type { AnalysisArtifact, ClassifierId } from '../../pipeline/lib/contract/contract.ts';
import { classifier } from './analysis-report.ts';
import { formatMetric } from './format.ts';

type Interval = AnalysisArtifact['bootstrap']['differences'][number]['microF1'];
type Difference = AnalysisArtifact['bootstrap']['differences'][number];

/** "0.412 [0.385, 0.440]" */
export const intervalText = (i: Interval) => `${formatMetric(i.estimate)} [${formatMetric(i.low)}, ${formatMetric(i.high)}]`;

/** A signed difference with its interval: "+0.110 [+0.085, +0.135]". */
export function differenceText(i: Interval): string {
  const signed = (n: number) => `${n > 0 ? '+' : n < 0 ? '−' : '±'}${formatMetric(Math.abs(n))}`;
  return `${signed(i.estimate)} [${signed(i.low)}, ${signed(i.high)}]`;
}

/** What a difference says: a better, b better, or cannot tell (its interval includes 0). */
export function differenceOutcome(i: Interval): 'a' | 'b' | 'unsure' {
  return i.low > 0 ? 'a' : i.high < 0 ? 'b' : 'unsure';
}

/** How the report names a classifier. */
const titleOf = (analysis: Pick<AnalysisArtifact, 'classifiers'>, id: ClassifierId) => classifier(analysis, id).title;

/** One sentence per metric for a paired difference, naming the better classifier only when the data shows it. */
export function differenceSentence(analysis: AnalysisArtifact, d: Difference, metric: 'microF1' | 'macroF1'): string {
  const name = metric === 'microF1' ? 'Micro F1' : 'Macro F1';
  const outcome = differenceOutcome(d[metric]);
  const verdict =
    outcome === 'unsure'
      ? 'the interval includes 0, so these validation films cannot tell them apart'
      : `the interval excludes 0: the ${titleOf(analysis, outcome === 'a' ? d.a : d.b)} is better`;
  return `${name}, ${titleOf(analysis, d.a)} − ${titleOf(analysis, d.b)}: ${differenceText(d[metric])}; ${verdict}.`;
}

/** The difference between the two models (cnn − lstm). */
export function modelDifference(analysis: AnalysisArtifact): Difference {
  const d = analysis.bootstrap.differences.find((x) => x.a === 'cnn' && x.b === 'lstm');
  if (!d) throw new Error('genrelens: analysis.json has no bootstrap difference of the two models; re-run `npm run build`.');
  return d;
}

const OUTCOME_OF_DIFFERENCE = { a: 'better', b: 'worse', unsure: 'cannot tell' } as const;

/**
 * One sentence: every classifier the bootstrap paired with `baseline`, its difference on `metric`
 * with the 95% interval, and what that says ("better" or "worse" only where the interval excludes
 * 0); null when the bootstrap paired nothing with it.
 */
export function againstBaselineIntervals(
  analysis: Pick<AnalysisArtifact, 'classifiers' | 'bootstrap'>,
  baseline: ClassifierId,
  metric: 'microF1' | 'macroF1',
): string | null {
  const pairs = analysis.bootstrap.differences.filter((d) => d.b === baseline);
  if (pairs.length === 0) return null;
  const words = pairs.map((d) => `${titleOf(analysis, d.a)} ${differenceText(d[metric])}, ${OUTCOME_OF_DIFFERENCE[differenceOutcome(d[metric])]}`);
  const name = metric === 'microF1' ? 'Micro F1' : 'Macro F1';
  return `${name} minus ${titleOf(analysis, baseline)}’s, with the 95% interval of each paired difference: ${words.join('; ')}.`;
}
