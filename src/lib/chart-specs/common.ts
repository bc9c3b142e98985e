/** What the report's chart specs share: colours, widths, the epoch axis, baselines' rules and dashes, curve rows. */
import * as Plot from '@observablehq/plot';
import type { AnalysisArtifact, ClassifierAnalysis, ModelKind } from '../../../pipeline/lib/contract/contract.ts';
import { BASELINE_DASHES, baselines, CLASSIFIER_COLOURS } from '../analysis-report.ts';
import type { Row } from '../charts.ts';
import { formatMetric } from '../format.ts';

export const MODEL_COLOURS: Record<ModelKind, string> = { cnn: 'var(--cnn)', lstm: 'var(--lstm)' };

export const WIDTH = 720;

/** Charts shown two per row (.chart-grid). */
export const HALF_WIDTH = 540;

export const FONT = { fontSize: '12px' };

export const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

export const CURVE_METRICS = [
  { key: 'loss', label: 'Loss', name: 'loss', slug: 'loss', axis: 'Binary cross-entropy', unit: false },
  { key: 'microPrecision', label: 'Precision', name: 'precision', slug: 'precision', axis: 'Micro precision', unit: true },
  { key: 'microRecall', label: 'Recall', name: 'recall', slug: 'recall', axis: 'Micro recall', unit: true },
  { key: 'microF1', label: 'F1', name: 'F1', slug: 'f1', axis: 'Micro F1', unit: true },
] as const;

export type CurveMetric = (typeof CURVE_METRICS)[number]['key'];

/** Epoch axis: 1-based, integer ticks, a sensible domain even for a single epoch. */
export function epochAxis(count: number): Plot.ScaleOptions {
  const ticks = count <= 12 ? Array.from({ length: count }, (_, i) => i + 1) : undefined;
  return { label: 'Epoch', domain: count > 1 ? [1, count] : [0.5, 1.5], ticks, tickFormat: 'd', inset: count > 1 ? 10 : 0 };
}

/** The frame every per-epoch chart shares: half width, 260 px high, the epoch axis. */
export function epochPlotFrame(count: number) {
  return { width: HALF_WIDTH, height: 260, marginLeft: 50, style: FONT, x: epochAxis(count) };
}

/** A dotted rule at 1-based `epoch` with its label at the top, on the side with more room. */
export function epochMarker(epoch: number, epochs: number, label: string): Plot.Markish[] {
  return [
    Plot.ruleX([epoch], { stroke: 'var(--muted)', strokeDasharray: '2 3' }),
    Plot.text([epoch], {
      x: (d: number) => d,
      frameAnchor: 'top',
      dy: 2,
      text: () => label,
      fill: 'var(--muted)',
      ...(epoch > (epochs + 1) / 2 ? { textAnchor: 'end', dx: -4 } : { textAnchor: 'start', dx: 4 }),
    }),
  ];
}

/** The baselines' value of a curve metric (the loss only for the probabilistic genre priors). */
export function baselineValues(analysis: AnalysisArtifact, metric: CurveMetric): { baseline: ClassifierAnalysis; value: number }[] {
  return baselines(analysis)
    .map((baseline) => ({ baseline, value: metric === 'loss' ? baseline.loss : baseline.atDefault[metric] }))
    .filter((b): b is { baseline: ClassifierAnalysis; value: number } => b.value !== null);
}

/** One rule per displayed value: baselines that score the same share it ("Genre priors = Always Drama"). */
export function baselineRules(analysis: AnalysisArtifact, metric: CurveMetric): { label: string; value: number; dash: string }[] {
  const rules: { label: string; value: number; dash: string }[] = [];
  for (const { baseline, value } of baselineValues(analysis, metric)) {
    const same = rules.find((r) => formatMetric(r.value) === formatMetric(value));
    if (same) same.label += ` = ${baseline.title}`;
    else rules.push({ label: baseline.title, value, dash: baselineDash(baseline) });
  }
  return rules;
}

export const baselineDash = (c: ClassifierAnalysis) => BASELINE_DASHES[c.id as keyof typeof BASELINE_DASHES] ?? '4 3';

export const classifierColour = (c: ClassifierAnalysis) => CLASSIFIER_COLOURS[c.id];

/**
 * Dashes of a curve: baselines by their pattern; the late fusion dashed too, so a model it coincides
 * with (weight 0 or 1) shows through; the models and the learned fusion solid.
 */
export const curveDash = (c: ClassifierAnalysis) => (c.kind === 'baseline' ? baselineDash(c) : c.id === 'fusion' ? '6 3' : undefined);

/** Vertical offset of the i-th of n classifiers' marks on a shared row, centred on the row. */
export const rowOffset = (i: number, n: number, step: number) => (i - (n - 1) / 2) * step;

export function curveRows(c: ClassifierAnalysis, curve: { recall: number[]; precision: number[]; threshold: (number | null)[] }, genre: string): Row[] {
  return curve.recall.map((recall, i) => ({ genre, classifier: c.title, recall, precision: curve.precision[i], threshold: curve.threshold[i] }));
}

export const FACET_COLUMNS = 4;
