/**
 * The report's words for the strong profile (strong.json, and its classifiers in analysis.json):
 * what the data supports, beside the coursework's answer. Every "better" rests on a paired
 * bootstrap interval that excludes zero (bootstrap-report.ts); otherwise the sentence says the
 * validation films cannot tell.
 */
import type { AnalysisArtifact, ClassifierAnalysis, ClassifierId } from '../../pipeline/lib/contract/contract.ts';

/** analysis.json, or a test set's evaluation: the classifiers and their bootstrap. */
type Scored = Pick<AnalysisArtifact, 'classifiers' | 'bootstrap'>;
import { classifier } from './analysis-report.ts';
import { differenceOutcome, differenceText, intervalText } from './bootstrap-report.ts';
import { formatMetric } from './format.ts';

export const STRONG_IDS = ['text-linear', 'poster-linear', 'stacked'] as const satisfies readonly ClassifierId[];
/** Short names for table headers. */
export const STRONG_SHORT: Record<(typeof STRONG_IDS)[number], string> = { 'text-linear': 'overviews', 'poster-linear': 'posters', stacked: 'stacked' };

/** The strong classifiers analysis.json holds (none when the build ran with --no-strong). */
export const strongClassifiers = (analysis: Scored): ClassifierAnalysis[] => analysis.classifiers.filter((c) => c.kind === 'strong');

function difference(analysis: Scored, a: ClassifierId, b: ClassifierId) {
  return analysis.bootstrap.differences.find((d) => d.a === a && d.b === b) ?? null;
}

function interval(analysis: Scored, id: ClassifierId) {
  return analysis.bootstrap.classifiers.find((c) => c.id === id) ?? null;
}

/** "beats X (+0.110 [+0.085, +0.135])", "loses to X (…)" or "cannot be told apart from X (…)". */
function against(analysis: Scored, a: ClassifierId, b: ClassifierId, metric: 'microF1' | 'macroF1'): string | null {
  const d = difference(analysis, a, b);
  if (!d) return null;
  const outcome = differenceOutcome(d[metric]);
  const verb = outcome === 'a' ? 'is better than' : outcome === 'b' ? 'is worse than' : 'cannot be told apart from';
  return `${verb} ${classifier(analysis, b).title} (${differenceText(d[metric])})`;
}

/**
 * The verdict on what the data supports: each strong model's headline micro and macro F1 with
 * intervals, against the best constant of each metric, and text against posters. Empty when the
 * strong models did not run.
 */
export function strongVerdict(analysis: Scored): string[] {
  const strong = strongClassifiers(analysis);
  if (strong.length === 0) return [];
  const sentences: string[] = [];
  for (const c of strong) {
    const i = interval(analysis, c.id);
    if (!i) continue;
    const micro = against(analysis, c.id, 'two-most-frequent', 'microF1');
    const macro = against(analysis, c.id, 'every-genre', 'macroF1');
    sentences.push(
      `${c.title}: micro F1 ${intervalText(i.microF1)}${micro ? `, which ${micro}` : ''}; macro F1 ${intervalText(i.macroF1)}${macro ? `, which ${macro}` : ''}; ` +
        `mAP ${c.meanAP === null ? '—' : formatMetric(c.meanAP)}.`,
    );
  }
  const modality = difference(analysis, 'text-linear', 'poster-linear');
  if (modality) {
    const outcome = differenceOutcome(modality.microF1);
    sentences.push(
      outcome === 'unsure'
        ? `Overviews against posters, with strong models on both: micro F1 differs by ${differenceText(modality.microF1)}, which these validation films cannot tell from zero.`
        : `Overviews against posters, with strong models on both: the ${outcome === 'a' ? 'overviews' : 'posters'} carry more (micro F1 ${differenceText(modality.microF1)}, text − posters).`,
    );
  }
  const stacked = against(analysis, 'stacked', 'text-linear', 'microF1');
  if (stacked) sentences.push(`Adding the posters to the overviews: the stacked fusion ${stacked} on micro F1.`);
  return sentences;
}
