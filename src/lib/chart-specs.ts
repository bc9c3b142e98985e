/**
 * Every chart of the report, as specs computed from the artifacts (pure: no Astro imports).
 * Colours are CSS variables so the charts follow the light/dark theme.
 */
import * as Plot from '@observablehq/plot';
import type {
  AblationsArtifact,
  AnalysisArtifact,
  ClassifierAnalysis,
  DatasetArtifact,
  GmuHistoryArtifact,
  HistoryArtifact,
  ModelKind,
  RunArtifact,
  TunedClassifierId,
} from '../../pipeline/lib/contract/contract.ts';
import { ablationChartId, ablationStyle, chartedModels } from './ablations-report.ts';
import {
  BASELINE_DASHES,
  baselines,
  belowBaseline,
  CLASSIFIER_COLOURS,
  classifier,
  compared,
  GENRE_COMPARED,
  genreLeaders,
  genreRows,
  leaderCounts,
  mostOverpredicted,
  type GenreComparedId,
  selection,
  share,
} from './analysis-report.ts';
import type { ChartSpec, Row } from './charts.ts';
import { formatMetric } from './format.ts';
import { MODELS } from './report.ts';

export const MODEL_COLOURS: Record<ModelKind, string> = { cnn: 'var(--cnn)', lstm: 'var(--lstm)' };
const WIDTH = 720;
/** Charts shown two per row (.chart-grid). */
const HALF_WIDTH = 540;
const FONT = { fontSize: '12px' };
const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

export const CURVE_METRICS = [
  { key: 'loss', label: 'Loss', name: 'loss', slug: 'loss', axis: 'Binary cross-entropy', unit: false },
  { key: 'microPrecision', label: 'Precision', name: 'precision', slug: 'precision', axis: 'Micro precision', unit: true },
  { key: 'microRecall', label: 'Recall', name: 'recall', slug: 'recall', axis: 'Micro recall', unit: true },
  { key: 'microF1', label: 'F1', name: 'F1', slug: 'f1', axis: 'Micro F1', unit: true },
] as const;
export type CurveMetric = (typeof CURVE_METRICS)[number]['key'];

/** Epoch axis: 1-based, integer ticks, a sensible domain even for a single epoch. */
function epochAxis(count: number): Plot.ScaleOptions {
  const ticks = count <= 12 ? Array.from({ length: count }, (_, i) => i + 1) : undefined;
  return { label: 'Epoch', domain: count > 1 ? [1, count] : [0.5, 1.5], ticks, tickFormat: 'd', inset: count > 1 ? 10 : 0 };
}

/** The frame every per-epoch chart shares: half width, 260 px high, the epoch axis. */
function epochPlotFrame(count: number) {
  return { width: HALF_WIDTH, height: 260, marginLeft: 50, style: FONT, x: epochAxis(count) };
}

/** A dotted rule at 1-based `epoch` with its label at the top, on the side with more room. */
function epochMarker(epoch: number, epochs: number, label: string): Plot.Markish[] {
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

/** Train vs validation of one metric for one model, best epoch marked. */
export function trainingCurve(history: HistoryArtifact, metric: CurveMetric): ChartSpec {
  const info = CURVE_METRICS.find((m) => m.key === metric)!;
  const colour = MODEL_COLOURS[history.model];
  const data: Row[] = history.epochs.flatMap((e) => [
    { epoch: e.epoch + 1, set: 'train', [metric]: e.train[metric] },
    { epoch: e.epoch + 1, set: 'validation', [metric]: e.validation[metric] },
  ]);
  const set = (name: string) => data.filter((row) => row.set === name);
  const best = history.bestEpoch + 1;
  const bestValue = history.epochs[history.bestEpoch]?.validation[metric] ?? Number.NaN;
  const last = history.epochs[history.epochs.length - 1];
  return {
    id: `${history.model}-${info.slug}`,
    title: `${history.title}: ${info.name} per epoch`,
    description:
      `${info.axis} of the ${history.title} on the training films (dashed) and the validation films (solid) after each of ` +
      `${history.epochs.length} epochs. The best epoch, ${best} (lowest validation loss, whose weights are kept), is marked: ` +
      `validation ${lowerFirst(info.axis)} ${formatMetric(bestValue)} there` +
      (last ? `, ${formatMetric(last.validation[metric])} after the last epoch.` : '.'),
    data,
    legend: [
      { label: 'validation', color: colour, line: true },
      { label: 'train', color: colour, line: true, dashed: true },
    ],
    plot: {
      ...epochPlotFrame(history.epochs.length),
      y: { label: info.axis, grid: true, ...(info.unit ? { domain: [0, 1] } : { nice: true }) },
      marks: [
        ...epochMarker(best, history.epochs.length, `best epoch ${best}`),
        Plot.lineY(set('train'), { x: 'epoch', y: metric, stroke: colour, strokeDasharray: '5 4', strokeWidth: 2 }),
        Plot.lineY(set('validation'), { x: 'epoch', y: metric, stroke: colour, strokeWidth: 2.5 }),
        Plot.dot(set('train'), { x: 'epoch', y: metric, stroke: colour, fill: 'var(--bg)', r: 3 }),
        Plot.dot(set('validation'), { x: 'epoch', y: metric, fill: colour, r: 3.5 }),
      ],
    },
  };
}

/** The learning rate used in each epoch. */
export function learningRateChart(history: HistoryArtifact): ChartSpec {
  const colour = MODEL_COLOURS[history.model];
  const data: Row[] = history.epochs.map((e) => ({ epoch: e.epoch + 1, learningRate: e.learningRate }));
  const rates = history.epochs.map((e) => e.learningRate);
  const distinct = [...new Set(rates)];
  const max = Math.max(...rates, 0);
  return {
    id: `${history.model}-learning-rate`,
    title: `${history.title}: learning-rate schedule`,
    description:
      distinct.length <= 1
        ? `The ${history.title} trained with a constant learning rate of ${rates[0] ?? 0} for all ${rates.length} epochs.`
        : `Learning rate of the ${history.title} per epoch: from ${rates[0]} in epoch 1 to ${rates[rates.length - 1]} in epoch ${rates.length} (${distinct.length} distinct values).`,
    data,
    plot: {
      width: HALF_WIDTH,
      height: 220,
      marginLeft: 60,
      style: FONT,
      x: epochAxis(history.epochs.length),
      y: { label: 'Learning rate', grid: true, domain: [0, max * 1.15 || 1], tickFormat: '.1e' },
      marks: [
        Plot.ruleY([0], { stroke: 'var(--rule)' }),
        Plot.lineY(data, { x: 'epoch', y: 'learningRate', stroke: colour, strokeWidth: 2.5, curve: 'step-after' }),
        Plot.dot(data, { x: 'epoch', y: 'learningRate', fill: colour, r: 3 }),
      ],
    },
  };
}

/** The baselines' value of a curve metric (the loss only for the probabilistic genre priors). */
function baselineValues(analysis: AnalysisArtifact, metric: CurveMetric): { baseline: ClassifierAnalysis; value: number }[] {
  return baselines(analysis)
    .map((baseline) => ({ baseline, value: metric === 'loss' ? baseline.loss : baseline.atDefault[metric] }))
    .filter((b): b is { baseline: ClassifierAnalysis; value: number } => b.value !== null);
}

/** One rule per displayed value: baselines that score the same share it ("Genre priors = Always Drama"). */
function baselineRules(analysis: AnalysisArtifact, metric: CurveMetric): { label: string; value: number; dash: string }[] {
  const rules: { label: string; value: number; dash: string }[] = [];
  for (const { baseline, value } of baselineValues(analysis, metric)) {
    const same = rules.find((r) => formatMetric(r.value) === formatMetric(value));
    if (same) same.label += ` = ${baseline.title}`;
    else rules.push({ label: baseline.title, value, dash: baselineDash(baseline) });
  }
  return rules;
}

const baselineDash = (c: ClassifierAnalysis) => BASELINE_DASHES[c.id as keyof typeof BASELINE_DASHES] ?? '4 3';

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

/** Validation micro F1 etc. are also in comparisonCurve; this one shows training time per epoch. */
export function epochDurationChart(histories: Record<ModelKind, HistoryArtifact>, run: RunArtifact): ChartSpec {
  const data: Row[] = MODELS.flatMap((model) =>
    run.models[model].epochMs.map((ms, i) => ({ model: histories[model].title, epoch: i + 1, seconds: Math.round(ms) / 1000 })),
  );
  const epochs = Math.max(1, ...MODELS.map((m) => run.models[m].epochMs.length));
  const mean = (model: ModelKind) => {
    const ms = run.models[model].epochMs;
    return ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length / 1000 : 0;
  };
  return {
    id: 'run-epoch-durations',
    title: 'Time per epoch',
    description:
      `Wall-clock seconds per epoch (training plus evaluation on both splits) on the ${run.backend.name} backend. ` +
      MODELS.map((m) => `${histories[m].title}: mean ${mean(m).toFixed(1)} s over ${run.models[m].epochMs.length} epochs`).join('; ') +
      '.',
    data,
    legend: MODELS.map((model) => ({ label: histories[model].title, color: MODEL_COLOURS[model], line: true })),
    plot: {
      width: WIDTH,
      height: 240,
      marginLeft: 50,
      style: FONT,
      x: epochAxis(epochs),
      y: { label: 'Seconds', grid: true, zero: true, nice: true },
      marks: MODELS.flatMap((model) => {
        const rows = data.filter((row) => row.model === histories[model].title);
        return [
          Plot.lineY(rows, { x: 'epoch', y: 'seconds', stroke: MODEL_COLOURS[model], strokeWidth: 2 }),
          Plot.dot(rows, { x: 'epoch', y: 'seconds', fill: MODEL_COLOURS[model], r: 3 }),
        ];
      }),
    },
  };
}

/** Positive labels per genre, stacked by split. */
export function labelDistributionChart(dataset: DatasetArtifact): ChartSpec {
  const counts = dataset.labelCounts
    .map((row) => ({ ...row, total: row.train + row.validation }))
    .sort((a, b) => b.total - a.total || a.genre.localeCompare(b.genre));
  const data: Row[] = counts.flatMap((row) => [
    { genre: row.genre, split: 'train', films: row.train },
    { genre: row.genre, split: 'validation', films: row.validation },
  ]);
  const top = counts.slice(0, 2);
  const total = counts.reduce((sum, row) => sum + row.total, 0);
  const empty = counts.filter((row) => row.total === 0).map((row) => row.genre);
  return {
    id: 'dataset-label-distribution',
    title: 'Films per genre, by split',
    description:
      `Films labelled with each genre, split into training and validation films, most frequent first. ` +
      top.map((row) => `${row.genre}: ${row.total} (${total ? ((100 * row.total) / total).toFixed(0) : 0}% of all labels)`).join('; ') +
      '.' +
      (empty.length ? ` No film has ${empty.join(', ')}.` : ''),
    data,
    legend: [
      { label: 'train', color: 'var(--muted)' },
      { label: 'validation', color: 'var(--accent)' },
    ],
    plot: {
      width: WIDTH,
      height: 30 + counts.length * 20,
      marginLeft: 100,
      marginRight: 40,
      style: FONT,
      x: { label: null, grid: true, axis: 'top' },
      y: { label: null, domain: counts.map((row) => row.genre) },
      color: { domain: ['train', 'validation'], range: ['var(--muted)', 'var(--accent)'] },
      marks: [
        Plot.barX(data, Plot.stackX({ x: 'films', y: 'genre', fill: 'split', order: ['train', 'validation'] })),
        Plot.text(counts, { x: 'total', y: 'genre', text: (d: { total: number }) => String(d.total), textAnchor: 'start', dx: 4, fill: 'currentColor' }),
        Plot.ruleX([0], { stroke: 'currentColor' }),
      ],
    },
  };
}

/** Films sharing each pair of genres (genres with at least one film). */
export function cooccurrenceChart(dataset: DatasetArtifact): ChartSpec {
  const present = dataset.genres
    .map((genre, index) => ({ genre, index, films: dataset.cooccurrence[index]?.[index] ?? 0 }))
    .filter((g) => g.films > 0)
    .sort((a, b) => b.films - a.films || a.genre.localeCompare(b.genre));
  const data: Row[] = [];
  for (const a of present) for (const b of present) data.push({ genre: a.genre, with: b.genre, films: dataset.cooccurrence[a.index][b.index] });
  const off = data.filter((row) => row.genre !== row.with && (row.films as number) > 0);
  const max = Math.max(1, ...off.map((row) => row.films as number));
  const pairs = off.filter((row) => (row.genre as string) < (row.with as string)).sort((a, b) => (b.films as number) - (a.films as number));
  const strong = (row: Row) => (row.films as number) / max > 0.55;
  const diagonal = data.filter((row) => row.genre === row.with);
  const size = Math.max(18, Math.min(28, Math.floor(560 / Math.max(1, present.length))));
  return {
    id: 'dataset-cooccurrence',
    title: 'Genre co-occurrence',
    description:
      `How many films carry both genres of each pair (darker: more films), for the ${present.length} genres with any film; ` +
      `the diagonal (outlined) is the number of films with that genre. ` +
      (pairs.length
        ? `Most frequent pairs: ${pairs
            .slice(0, 3)
            .map((row) => `${row.genre} + ${row.with} (${row.films})`)
            .join(', ')}.`
        : 'No film has two genres.'),
    data,
    plot: {
      width: 130 + present.length * size,
      height: 110 + present.length * size,
      marginLeft: 100,
      marginBottom: 90,
      marginTop: 10,
      style: { fontSize: '11px' },
      x: { label: null, domain: present.map((g) => g.genre), tickRotate: -45, padding: 0.04 },
      y: { label: null, domain: present.map((g) => g.genre), padding: 0.04 },
      opacity: { domain: [0, max], range: [0.08, 1] },
      marks: [
        Plot.cell(off, { x: 'with', y: 'genre', fill: 'var(--accent)', fillOpacity: 'films' }),
        Plot.cell(diagonal, { x: 'with', y: 'genre', stroke: 'currentColor', fill: 'none', inset: 1 }),
        Plot.text(off.filter(strong), { x: 'with', y: 'genre', text: 'films', fill: 'var(--bg)', fontSize: 10 }),
        Plot.text([...off.filter((row) => !strong(row)), ...diagonal], { x: 'with', y: 'genre', text: 'films', fill: 'currentColor', fontSize: 10 }),
      ],
    },
  };
}

// --- Analysis (analysis.json): models, late and learned fusion, baselines on the validation films --

const classifierColour = (c: ClassifierAnalysis) => CLASSIFIER_COLOURS[c.id];
/**
 * Dashes of a curve: baselines by their pattern; the late fusion dashed too, so a model it coincides
 * with (weight 0 or 1) shows through; the models and the learned fusion solid.
 */
const curveDash = (c: ClassifierAnalysis) => (c.kind === 'baseline' ? baselineDash(c) : c.id === 'fusion' ? '6 3' : undefined);
/** Vertical offset of the i-th of n classifiers' marks on a shared row, centred on the row. */
const rowOffset = (i: number, n: number, step: number) => (i - (n - 1) / 2) * step;

/** Thresholded scores and mAP of every classifier, baselines included. */
export function analysisScoresChart(analysis: AnalysisArtifact): ChartSpec {
  const metrics = [
    { key: 'microF1', label: 'Micro F1' },
    { key: 'macroF1', label: 'Macro F1' },
    { key: 'weightedF1', label: 'Weighted F1' },
    { key: 'samplesF1', label: 'Samples F1' },
    { key: 'meanAP', label: 'mAP' },
  ] as const;
  const all = analysis.classifiers;
  const value = (c: ClassifierAnalysis, key: (typeof metrics)[number]['key']) => (key === 'meanAP' ? c.meanAP : c.atDefault[key]);
  const data: Row[] = metrics.flatMap((m) => all.map((c) => ({ metric: m.label, classifier: c.title, kind: c.kind, value: value(c, m.key) })));
  const drawn = data.filter((row) => row.value !== null);
  const best = metrics.map((m) => {
    const top = all.reduce((a, b) => ((value(b, m.key) ?? -1) > (value(a, m.key) ?? -1) ? b : a));
    return `${m.label}: ${top.title} ${formatMetric(value(top, m.key) ?? Number.NaN)}`;
  });
  return {
    id: 'analysis-scores',
    title: 'Models, fusions and baselines: validation scores',
    description:
      `Micro, macro, weighted and samples F1 at threshold 0.5 and mean average precision of the two models, their late fusion, the learned fusion (GMU) and the three baselines ` +
      `on the ${analysis.validationFilms} validation films (grey bars: baselines). Highest: ${best.join('; ')}.`,
    data,
    legend: all
      .filter((c) => c.kind !== 'baseline')
      .map((c) => ({ label: c.title, color: classifierColour(c) }))
      .concat([{ label: 'baselines', color: 'var(--muted)' }]),
    plot: {
      width: WIDTH,
      height: 40 + metrics.length * all.length * 22,
      marginLeft: 170,
      marginRight: 100,
      style: FONT,
      x: { label: null, domain: [0, 1], grid: true, axis: 'top' },
      y: { label: null, domain: all.map((c) => c.title) },
      fy: { label: null, domain: metrics.map((m) => m.label), axis: 'right', padding: 0.2, tickPadding: 12 },
      color: { domain: all.map((c) => c.title), range: all.map(classifierColour) },
      marks: [
        Plot.barX(drawn, { x: 'value', y: 'classifier', fy: 'metric', fill: 'classifier', fillOpacity: (d: Row) => (d.kind === 'baseline' ? 0.55 : 1) }),
        Plot.text(drawn, {
          x: 'value',
          y: 'classifier',
          fy: 'metric',
          text: (d: Row) => formatMetric(d.value as number),
          textAnchor: 'start',
          dx: 3,
          fill: 'currentColor',
          fontSize: 10,
        }),
        Plot.ruleX([0], { stroke: 'currentColor' }),
      ],
    },
  };
}

function curveRows(c: ClassifierAnalysis, curve: { recall: number[]; precision: number[]; threshold: (number | null)[] }, genre: string): Row[] {
  return curve.recall.map((recall, i) => ({ genre, classifier: c.title, recall, precision: curve.precision[i], threshold: curve.threshold[i] }));
}

/** Micro-averaged precision–recall curves, each classifier's operating point at 0.5 marked. */
export function microPrCurveChart(analysis: AnalysisArtifact): ChartSpec {
  const curved = [...compared(analysis), classifier(analysis, 'genre-priors')];
  const data: Row[] = curved.flatMap((c) => curveRows(c, c.curves.micro, 'all (micro)'));
  const points = analysis.classifiers.map((c) => ({
    classifier: c.title,
    recall: c.atDefault.microRecall,
    precision: c.atDefault.microPrecision,
    kind: c.kind,
  }));
  return {
    id: 'analysis-pr-micro',
    title: 'Precision–recall, all genres pooled (micro)',
    description:
      `Precision against recall as the threshold falls, every film × genre decision of the validation films pooled (at most 100 points per curve, step-wise as average precision integrates). ` +
      `Micro AP: ${curved.map((c) => `${c.title} ${formatMetric(c.microAP)}`).join(', ')}. ` +
      `Dots: each classifier at threshold 0.5 (${points.map((p) => `${p.classifier} P ${formatMetric(p.precision)} / R ${formatMetric(p.recall)}`).join('; ')}); ` +
      `the hard baselines are single points.`,
    data,
    legend: curved.map((c) => ({ label: c.title, color: classifierColour(c), line: true, dashed: curveDash(c) !== undefined })),
    plot: {
      width: HALF_WIDTH,
      height: 360,
      marginLeft: 50,
      style: FONT,
      x: { label: 'Recall', domain: [0, 1], grid: true },
      y: { label: 'Precision', domain: [0, 1], grid: true },
      marks: [
        ...curved.map((c) =>
          Plot.line(
            data.filter((row) => row.classifier === c.title),
            {
              x: 'recall',
              y: 'precision',
              stroke: classifierColour(c),
              strokeWidth: c.kind === 'baseline' ? 1.5 : 2,
              strokeDasharray: curveDash(c),
              curve: 'step-before',
            },
          ),
        ),
        Plot.dot(points, {
          x: 'recall',
          y: 'precision',
          fill: (d: { classifier: string }) => classifierColour(analysis.classifiers.find((c) => c.title === d.classifier)!),
          r: 4,
          stroke: 'var(--bg)',
        }),
        Plot.text(
          points.filter((p) => p.kind === 'baseline'),
          { x: 'recall', y: 'precision', text: 'classifier', textAnchor: 'start', dx: 6, fill: 'var(--muted)', fontSize: 10 },
        ),
      ],
    },
  };
}

const FACET_COLUMNS = 4;

/** Per-genre precision–recall curves of the models and the two fusions, one panel per genre with validation films. */
export function genrePrCurvesChart(analysis: AnalysisArtifact): ChartSpec {
  const models = compared(analysis);
  const genres = analysis.genres
    .map((genre, g) => ({ genre, g, support: models[0].perGenre[g].support }))
    .filter((x) => x.support > 0)
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre))
    .map((x, i) => ({ ...x, column: i % FACET_COLUMNS, row: Math.floor(i / FACET_COLUMNS), prevalence: x.support / analysis.validationFilms }));
  const data: Row[] = genres.flatMap(({ genre, g }) => models.flatMap((c) => (c.curves.perGenre[g] ? curveRows(c, c.curves.perGenre[g]!, genre) : [])));
  const at = new Map(genres.map((x) => [x.genre, x]));
  const facet = (row: Row) => ({ fx: at.get(row.genre as string)!.column, fy: at.get(row.genre as string)!.row });
  const rows = Math.max(1, Math.ceil(genres.length / FACET_COLUMNS));
  const ap = (c: ClassifierAnalysis, g: number) => c.perGenre[g].averagePrecision;
  const top = genres.slice(0, 3).map(({ genre, g }) => `${genre}: ${models.map((c) => `${c.title} ${formatMetric(ap(c, g) ?? Number.NaN)}`).join(', ')}`);
  return {
    id: 'analysis-pr-genres',
    title: 'Precision–recall per genre',
    description:
      `One panel per genre with validation films (${genres.length}), most films first: precision against recall of ${models.map((c) => c.title).join(', ')} as the threshold falls. ` +
      `The dashed rule is the genre's share of validation films, the precision (and the AP) of any constant baseline. AP of the three most frequent genres — ${top.join('; ')}.`,
    data,
    legend: [
      ...models.map((c) => ({ label: c.title, color: classifierColour(c), line: true, dashed: curveDash(c) !== undefined })),
      { label: 'constant baseline (share of films)', color: 'var(--muted)', line: true, dashed: true },
    ],
    plot: {
      width: WIDTH,
      height: 40 + rows * 150,
      marginLeft: 40,
      marginBottom: 36,
      style: { fontSize: '10px' },
      x: { label: 'Recall', domain: [0, 1], ticks: [0, 0.5, 1] },
      y: { label: 'Precision', domain: [0, 1], ticks: [0, 0.5, 1] },
      fx: { axis: null, padding: 0.12 },
      fy: { axis: null, padding: 0.2 },
      marks: [
        Plot.frame({ stroke: 'var(--rule)' }),
        Plot.ruleY(genres, { y: 'prevalence', fx: 'column', fy: 'row', stroke: 'var(--muted)', strokeDasharray: '3 3' }),
        ...models.map((c) =>
          Plot.line(
            data.filter((row) => row.classifier === c.title).map((row) => ({ ...row, ...facet(row) })),
            {
              x: 'recall',
              y: 'precision',
              fx: 'fx',
              fy: 'fy',
              z: 'genre',
              stroke: classifierColour(c),
              strokeWidth: 1.5,
              strokeDasharray: curveDash(c),
              curve: 'step-before',
            },
          ),
        ),
        Plot.text(genres, {
          fx: 'column',
          fy: 'row',
          frameAnchor: 'top-right',
          dx: -4,
          dy: 4,
          text: (d: { genre: string; support: number }) => `${d.genre} (${d.support})`,
          fill: 'currentColor',
          fontWeight: 600,
        }),
      ],
    },
  };
}

/** Share of validation films predicted (at 0.5) vs labelled with each genre: the "Drama bias". */
export function frequencyChart(analysis: AnalysisArtifact): ChartSpec {
  const models = compared(analysis);
  const truth = genreRows(analysis, 'cnn');
  const shown = truth.filter((row) => row.support > 0 || models.some((c) => c.perGenre[analysis.genres.indexOf(row.genre)].atDefault.predictedPositives > 0));
  const data: Row[] = shown.flatMap((row) => [
    { genre: row.genre, series: 'true', share: row.trueFrequency },
    ...models.map((c) => ({ genre: row.genre, series: c.title, share: genreRows(analysis, c.id).find((r) => r.genre === row.genre)!.predictedFrequency })),
  ]);
  const over = models.map((c) => {
    const worst = mostOverpredicted(analysis, c.id);
    return worst
      ? `${c.title} predicts ${worst.genre} for ${share(worst.predictedFrequency)} of films (true ${share(worst.trueFrequency)})`
      : `${c.title} over-predicts no genre`;
  });
  return {
    id: 'analysis-frequency',
    title: 'Predicted vs true share of films per genre',
    description:
      `For each genre, the share of the ${analysis.validationFilms} validation films labelled with it (black tick) and the share each classifier predicts at threshold 0.5 (dots). ` +
      `Largest over-prediction: ${over.join('; ')}.`,
    data,
    legend: [{ label: 'true share', color: 'currentColor', line: true }, ...models.map((c) => ({ label: c.title, color: classifierColour(c) }))],
    plot: {
      width: WIDTH,
      height: 40 + shown.length * 22,
      marginLeft: 100,
      marginRight: 30,
      style: FONT,
      x: { label: 'Share of validation films', domain: [0, 1], grid: true, axis: 'top', tickFormat: '.0%' },
      y: { label: null, domain: shown.map((row) => row.genre) },
      marks: [
        Plot.ruleY(shown, { y: 'genre', stroke: 'var(--rule)' }),
        Plot.tickX(
          data.filter((row) => row.series === 'true'),
          { x: 'share', y: 'genre', stroke: 'currentColor', strokeWidth: 3 },
        ),
        ...models.map((c, i) =>
          Plot.dot(
            data.filter((row) => row.series === c.title),
            { x: 'share', y: 'genre', fill: classifierColour(c), r: 4, dy: rowOffset(i, models.length, 4) },
          ),
        ),
      ],
    },
  };
}

/** The per-genre thresholds chosen on the training films, with their range over the folds. */
export function thresholdChart(analysis: AnalysisArtifact): ChartSpec {
  const models = compared(analysis);
  const withFilms = analysis.genres
    .map((genre, g) => ({ genre, g, support: models[0].perGenre[g].support }))
    .filter((x) => x.support > 0)
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre));
  const data: Row[] = withFilms.flatMap(({ genre, g }) =>
    models.map((c) => {
      const s = selection(analysis, c.id as TunedClassifierId);
      const folds = s.folds.map((f) => f.thresholds[g]);
      return { genre, classifier: c.title, threshold: s.thresholds[g], foldMin: Math.min(...folds), foldMax: Math.max(...folds) };
    }),
  );
  const moved = models.map((c) => `${c.title} ${data.filter((row) => row.classifier === c.title && row.threshold !== 0.5).length}`);
  return {
    id: 'analysis-thresholds',
    title: 'Per-genre thresholds chosen on the training films',
    description:
      `The threshold (grid ${analysis.thresholds.grid[0]}–${analysis.thresholds.grid[analysis.thresholds.grid.length - 1]}) that maximises each genre's F1 on the training films (dot), ` +
      `and the range chosen across the ${analysis.thresholds.folds} cross-validation folds (line), for the ${withFilms.length} genres with validation films; the rule is 0.5. ` +
      `Genres moved away from 0.5: ${moved.join(', ')}.`,
    data,
    legend: models.map((c) => ({ label: c.title, color: classifierColour(c) })),
    plot: {
      width: WIDTH,
      height: 40 + withFilms.length * (10 + 6 * models.length),
      marginLeft: 100,
      marginRight: 30,
      style: FONT,
      x: { label: 'Threshold', domain: [0, 1], grid: true, axis: 'top' },
      y: { label: null, domain: withFilms.map((x) => x.genre) },
      marks: [
        Plot.ruleX([0.5], { stroke: 'currentColor', strokeDasharray: '3 3' }),
        ...models.flatMap((c, i) => {
          const rows = data.filter((row) => row.classifier === c.title);
          return [
            Plot.link(rows, {
              x1: 'foldMin',
              x2: 'foldMax',
              y1: 'genre',
              y2: 'genre',
              stroke: classifierColour(c),
              strokeWidth: 2,
              strokeOpacity: 0.6,
              dy: rowOffset(i, models.length, 6),
            }),
            Plot.dot(rows, { x: 'threshold', y: 'genre', fill: classifierColour(c), r: 3.5, dy: rowOffset(i, models.length, 6) }),
          ];
        }),
      ],
    },
  };
}

/** Binary cross-entropy of the late fusion at each weight: training films (the choice) and validation films (shown only). */
export function fusionWeightChart(analysis: AnalysisArtifact): ChartSpec {
  const { weight, grid } = analysis.fusion;
  const data: Row[] = grid.flatMap((p) => [
    { weight: p.weight, films: 'train', loss: p.trainLoss },
    { weight: p.weight, films: 'validation', loss: p.validationLoss },
  ]);
  const chosen = grid.find((p) => p.weight === weight);
  return {
    id: 'analysis-fusion-weight',
    title: 'Late fusion: loss by CNN weight',
    description:
      `Binary cross-entropy of w·p_CNN + (1 − w)·p_LSTM for w from 0 (LSTM alone) to 1 (CNN alone): on the training films (solid), where w = ${weight.toFixed(2)} is chosen ` +
      `(loss ${formatMetric(chosen?.trainLoss ?? Number.NaN)}), and on the validation films (dashed; shown, never used to choose: ${formatMetric(chosen?.validationLoss ?? Number.NaN)} at the chosen w).`,
    data,
    legend: [
      { label: 'training films (choice)', color: 'var(--fusion)', line: true },
      { label: 'validation films (not used)', color: 'var(--fusion)', line: true, dashed: true },
    ],
    plot: {
      width: HALF_WIDTH,
      height: 260,
      marginLeft: 50,
      style: FONT,
      x: { label: 'CNN weight w', domain: [0, 1], grid: true },
      y: { label: 'Binary cross-entropy', grid: true, nice: true },
      marks: [
        Plot.ruleX([weight], { stroke: 'var(--muted)', strokeDasharray: '2 3' }),
        Plot.text([weight], {
          x: (d: number) => d,
          frameAnchor: 'top',
          dy: 2,
          text: () => `chosen w = ${weight.toFixed(2)}`,
          fill: 'var(--muted)',
          ...(weight > 0.5 ? { textAnchor: 'end', dx: -4 } : { textAnchor: 'start', dx: 4 }),
        }),
        Plot.lineY(
          data.filter((row) => row.films === 'train'),
          { x: 'weight', y: 'loss', stroke: 'var(--fusion)', strokeWidth: 2.5 },
        ),
        Plot.lineY(
          data.filter((row) => row.films === 'validation'),
          { x: 'weight', y: 'loss', stroke: 'var(--fusion)', strokeWidth: 2, strokeDasharray: '5 4' },
        ),
      ],
    },
  };
}

/** The learned fusion's final head: loss per epoch on its inner training films and on its inner holdout, the kept epoch marked. */
export function gmuTrainingChart(history: GmuHistoryArtifact, analysis: AnalysisArtifact): ChartSpec {
  const colour = CLASSIFIER_COLOURS.gmu;
  const data: Row[] = history.epochs.flatMap((e) => [
    { epoch: e.epoch + 1, films: 'inner training', loss: e.trainLoss },
    { epoch: e.epoch + 1, films: 'inner holdout', loss: e.holdoutLoss },
  ]);
  const chosen = history.chosenEpoch + 1;
  const kept = history.epochs[history.chosenEpoch];
  const last = history.epochs[history.epochs.length - 1];
  const validationLoss = classifier(analysis, 'gmu').loss;
  const { sizes } = history;
  return {
    id: 'analysis-gmu-training',
    title: 'Learned fusion (GMU): loss per epoch',
    description:
      `Binary cross-entropy of the learned fusion after each of its ${history.epochs.length} epochs, on the ${sizes.innerTrainFilms} training films it trains on (dashed) ` +
      `and on the ${sizes.holdoutFilms} training films held out to choose the epoch (solid). Epoch ${chosen} has the lowest holdout loss ` +
      `(${formatMetric(kept?.holdoutLoss ?? Number.NaN)}; training ${formatMetric(kept?.trainLoss ?? Number.NaN)}) and its weights are kept` +
      (last ? `; after the last epoch: holdout ${formatMetric(last.holdoutLoss)}, training ${formatMetric(last.trainLoss)}` : '') +
      '.' +
      (validationLoss === null ? '' : ` For comparison (not used to choose), the kept weights’ validation loss is ${formatMetric(validationLoss)}.`),
    data,
    legend: [
      { label: 'inner holdout (chooses the epoch)', color: colour, line: true },
      { label: 'inner training films', color: colour, line: true, dashed: true },
    ],
    plot: {
      ...epochPlotFrame(history.epochs.length),
      y: { label: 'Binary cross-entropy', grid: true, nice: true },
      marks: [
        ...epochMarker(chosen, history.epochs.length, `kept epoch ${chosen}`),
        Plot.lineY(
          data.filter((row) => row.films === 'inner training'),
          { x: 'epoch', y: 'loss', stroke: colour, strokeDasharray: '5 4', strokeWidth: 2 },
        ),
        Plot.lineY(
          data.filter((row) => row.films === 'inner holdout'),
          { x: 'epoch', y: 'loss', stroke: colour, strokeWidth: 2.5 },
        ),
        Plot.dot([{ epoch: chosen, loss: kept?.holdoutLoss ?? Number.NaN }], { x: 'epoch', y: 'loss', stroke: colour, r: 6, strokeWidth: 2 }),
      ],
    },
  };
}

// --- Ablations (ablations.json): the main run against each switch --------------------------------

/**
 * One model's validation loss (binary cross-entropy) per epoch in the main run and in each ablation
 * that trained it again, each line's kept epoch ringed. Ablations whose figures are the main run's
 * (the switch provably changed nothing) are not drawn: their line would be the main run's.
 */
export function ablationLossChart(artifact: AblationsArtifact, model: ModelKind, title: string): ChartSpec {
  const main = artifact.main[model];
  const lines = [
    { id: 'main', label: 'Main run', figures: main, colour: MODEL_COLOURS[model], dash: undefined as string | undefined },
    ...artifact.ablations.flatMap((a, i) =>
      a.models
        .filter((m) => m.model === model && m.source === 'trained')
        .map((m) => ({ id: a.id, label: a.title, figures: m.figures, ...ablationStyle(a.id, i) })),
    ),
  ];
  const notDrawn = artifact.ablations.filter((a) => a.models.some((m) => m.model === model && m.source === 'same-as-main')).map((a) => a.title);
  const data: Row[] = lines.flatMap((line) =>
    line.figures.validationLossCurve.map((loss, epoch) => ({ run: line.label, epoch: epoch + 1, loss, kept: epoch === line.figures.bestEpoch })),
  );
  const kept = lines.map((line) => ({
    ...line,
    epoch: line.figures.bestEpoch + 1,
    loss: line.figures.validationLossCurve[line.figures.bestEpoch] ?? Number.NaN,
  }));
  const epochs = Math.max(1, ...lines.map((line) => line.figures.validationLossCurve.length));
  return {
    id: ablationChartId(model),
    title: `${title}: validation loss per epoch, main run and ablations`,
    description:
      `Binary cross-entropy of the ${title} on the ${artifact.validationFilms} validation films after each epoch, in the main run (solid) and in each ablation that trained it again (dashed), ` +
      `whatever loss it trained with. Ringed: each run’s kept epoch (lowest validation loss) — ` +
      kept
        .map(
          (k) =>
            `${k.label} epoch ${k.epoch} (${formatMetric(k.loss)}${k.figures.epochsRun < k.figures.epochsPlanned ? `; stopped after ${k.figures.epochsRun} of ${k.figures.epochsPlanned} epochs` : ''})`,
        )
        .join(', ') +
      '.' +
      (notDrawn.length ? ` Not drawn, being the same as the main run: ${notDrawn.join(', ')}.` : ''),
    data,
    legend: lines.map((line) => ({ label: line.label, color: line.colour, line: true, dashed: line.dash !== undefined })),
    plot: {
      width: HALF_WIDTH,
      height: 280,
      marginLeft: 50,
      style: FONT,
      x: epochAxis(epochs),
      y: { label: 'Validation binary cross-entropy', grid: true, nice: true },
      marks: lines.flatMap((line) => {
        const rows = data.filter((row) => row.run === line.label);
        const ring = kept.find((k) => k.label === line.label)!;
        return [
          Plot.lineY(rows, { x: 'epoch', y: 'loss', stroke: line.colour, strokeWidth: line.dash ? 2 : 2.5, strokeDasharray: line.dash }),
          Plot.dot(rows, { x: 'epoch', y: 'loss', fill: line.colour, r: 2.5 }),
          Plot.dot([ring], { x: 'epoch', y: 'loss', stroke: line.colour, r: 7, strokeWidth: 2 }),
        ];
      }),
    },
  };
}

/** Every chart of the report, by id. */
export function allChartSpecs(input: {
  dataset: DatasetArtifact;
  histories: Record<ModelKind, HistoryArtifact>;
  run: RunArtifact;
  analysis: AnalysisArtifact;
  gmu: GmuHistoryArtifact;
  ablations: AblationsArtifact;
}): ChartSpec[] {
  const { dataset, histories, run, analysis, gmu, ablations } = input;
  const specs: ChartSpec[] = [
    labelDistributionChart(dataset),
    cooccurrenceChart(dataset),
    ...MODELS.flatMap((model) => [...CURVE_METRICS.map((m) => trainingCurve(histories[model], m.key)), learningRateChart(histories[model])]),
    ...CURVE_METRICS.map((m) => comparisonCurve(histories, m.key, analysis)),
    genreF1Chart(analysis),
    epochDurationChart(histories, run),
    analysisScoresChart(analysis),
    microPrCurveChart(analysis),
    genrePrCurvesChart(analysis),
    frequencyChart(analysis),
    thresholdChart(analysis),
    fusionWeightChart(analysis),
    gmuTrainingChart(gmu, analysis),
    // Only for the models some ablation trained again (none when the build ran no ablation).
    ...chartedModels(ablations).map((model) => ablationLossChart(ablations, model, histories[model].title)),
  ];
  const ids = new Set<string>();
  for (const spec of specs) {
    if (ids.has(spec.id)) throw new Error(`genrelens: two charts share the id ${spec.id}`);
    ids.add(spec.id);
  }
  return specs;
}
