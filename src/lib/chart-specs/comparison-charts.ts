/** The comparison page's charts: both models' validation curves with the baselines, and per-genre F1 with the best baseline. */
import * as Plot from '@observablehq/plot';
import type { AnalysisArtifact, HistoryArtifact, ModelKind } from '../../../pipeline/lib/contract/contract.ts';
import { belowBaseline, classifier, GENRE_COMPARED, genreLeaders, leaderCounts, type GenreComparedId } from '../analysis-report.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { formatMetric } from '../format.ts';
import { MODELS } from '../report.ts';
import {
  baselineRules,
  baselineValues,
  classifierColour,
  CURVE_METRICS,
  type CurveMetric,
  epochPlotFrame,
  FONT,
  lowerFirst,
  MODEL_COLOURS,
  WIDTH,
} from './common.ts';

/** Both models' validation curve of one metric, on shared axes, with the baselines as dashed rules. */
export function comparisonCurve(histories: Record<ModelKind, HistoryArtifact>, metric: CurveMetric, analysis: AnalysisArtifact): ChartSpec {
  const info = CURVE_METRICS.find((m) => m.key === metric)!;
  const data: Row[] = MODELS.flatMap((model) =>
    histories[model].epochs.map((e) => ({ model: histories[model].title, epoch: e.epoch + 1, [metric]: e.validation[metric] })),
  );
  const values = baselineValues(analysis, metric);
  for (const { baseline, value } of values) data.push({ model: baseline.title, epoch: null, [metric]: value });
  const rules = baselineRules(analysis, metric);
  const epochs = Math.max(...MODELS.map((m) => histories[m].epochs.length));
  const bests = MODELS.map((model) => {
    const h = histories[model];
    return { model, title: h.title, epoch: h.bestEpoch + 1, value: h.epochs[h.bestEpoch]?.validation[metric] ?? Number.NaN };
  });
  return {
    id: `compare-${info.slug}`,
    source: [
      `history-cnn.json, history-lstm.json › epochs[].validation.${metric}, bestEpoch`,
      `analysis.json › classifiers[kind = baseline].atDefault.${metric === 'loss' ? 'loss' : metric}`,
    ],
    title: `Validation ${info.name}: both models`,
    description:
      `Validation ${lowerFirst(info.axis)} of both models after each epoch, on the same axes. ` +
      bests.map((b) => `${b.title}: ${formatMetric(b.value)} at its best epoch ${b.epoch} (ringed)`).join('; ') +
      '. ' +
      (values.length
        ? `Dashed grey rules: the baselines on the same films (${values.map((r) => `${r.baseline.title} ${formatMetric(r.value)}`).join(', ')}).`
        : ''),
    data,
    legend: [
      ...MODELS.map((model) => ({ label: histories[model].title, color: MODEL_COLOURS[model], line: true })),
      { label: 'baselines (labelled)', color: 'var(--muted)', line: true, dashed: true },
    ],
    plot: {
      ...epochPlotFrame(epochs),
      y: { label: `Validation ${lowerFirst(info.axis)}`, grid: true, ...(info.unit ? { domain: [0, 1] } : { nice: true }) },
      marks: [
        ...rules.flatMap(({ label, value, dash }) => [
          Plot.ruleY([value], { stroke: 'var(--muted)', strokeDasharray: dash, strokeWidth: 1.5 }),
          Plot.text([value], {
            y: (d: number) => d,
            frameAnchor: 'right',
            textAnchor: 'end',
            dy: -6,
            dx: -2,
            text: () => label,
            fill: 'var(--muted)',
            fontSize: 10,
          }),
        ]),
        ...MODELS.flatMap((model) => {
          const rows = data.filter((row) => row.model === histories[model].title);
          const best = bests.find((b) => b.model === model)!;
          return [
            Plot.lineY(rows, { x: 'epoch', y: metric, stroke: MODEL_COLOURS[model], strokeWidth: 2.5 }),
            Plot.dot(rows, { x: 'epoch', y: metric, fill: MODEL_COLOURS[model], r: 3 }),
            Plot.dot([best], { x: 'epoch', y: 'value', stroke: MODEL_COLOURS[model], r: 7, strokeWidth: 2 }),
          ];
        }),
      ],
    },
  };
}

/**
 * Per-genre F1 at 0.5 of both models (their kept weights) and the learned fusion, for the genres with
 * validation films, from analysis.json; which classifier has the best F1 per genre (ties on the
 * displayed three decimals counted as shared), and the best baseline's F1 as a tick.
 */
export function genreF1Chart(analysis: AnalysisArtifact): ChartSpec {
  const rows = genreLeaders(analysis);
  const compared = GENRE_COMPARED.map((id) => classifier(analysis, id));
  const data: Row[] = rows.flatMap((row) =>
    compared.map((c) => ({ genre: row.genre, support: row.support, model: c.title, f1: row.f1[c.id as GenreComparedId] })),
  );
  const ticks: Row[] = rows.map((row) => ({
    genre: row.genre,
    support: row.support,
    model: row.baseline.f1 > 0 ? `best baseline: ${row.baseline.title}` : 'best baseline: none predicts the genre',
    f1: row.baseline.f1,
  }));
  const counts = leaderCounts(rows);
  const beaten = belowBaseline(rows);
  const titles = compared.map((c) => c.title);
  return {
    id: 'compare-genre-f1',
    source: ['analysis.json › classifiers[cnn, lstm, gmu and the baselines].perGenre[].atDefault.f1, perGenre[].support'],
    title: 'F1 per genre: both models and the learned fusion',
    description:
      `F1 at threshold 0.5 per genre on the validation films: ${titles[0]}, ${titles[1]} (both at their kept, best-epoch weights) and ${titles[2]}, ` +
      `for the ${rows.length} genres with validation films (sorted by how many validation films have the genre). ` +
      `Highest F1 alone: ${compared.map((c) => `${c.title} ${counts.alone[c.id as GenreComparedId]}`).join(', ')}; shared by two or more (equal to three decimals) ${counts.shared}. ` +
      `The grey tick is the best baseline's F1 on the genre (at 0.5); all three are below it on ` +
      (beaten.length ? `${beaten.length} genre${beaten.length === 1 ? '' : 's'} (${beaten.map((r) => r.genre).join(', ')}).` : 'no genre.'),
    data: [...data, ...ticks],
    legend: [...compared.map((c) => ({ label: c.title, color: classifierColour(c) })), { label: 'best baseline', color: 'var(--muted)', line: true }],
    plot: {
      width: WIDTH,
      height: 40 + rows.length * 48,
      marginLeft: 110,
      marginRight: 40,
      style: FONT,
      x: { label: null, domain: [0, 1], grid: true, axis: 'top' },
      y: { axis: null, domain: titles },
      fy: { label: null, domain: rows.map((r) => r.genre), axis: 'left', padding: 0.15 },
      color: { domain: titles, range: compared.map(classifierColour) },
      marks: [
        Plot.barX(data, { x: 'f1', y: 'model', fy: 'genre', fill: 'model' }),
        Plot.text(data, {
          x: 'f1',
          y: 'model',
          fy: 'genre',
          text: (d: Row) => formatMetric(d.f1 as number),
          textAnchor: 'start',
          dx: 3,
          fill: 'currentColor',
          fontSize: 10,
        }),
        Plot.tickX(ticks, { x: 'f1', fy: 'genre', stroke: 'var(--muted)', strokeWidth: 2.5 }),
        Plot.ruleX([0], { stroke: 'currentColor' }),
      ],
    },
  };
}
