/**
 * Every chart of the report, as specs computed from the artifacts (pure: no Astro imports).
 * Colours are CSS variables so the charts follow the light/dark theme.
 */
import * as Plot from '@observablehq/plot';
import type { DatasetArtifact, HistoryArtifact, ModelKind, RunArtifact } from '../../pipeline/contract.ts';
import type { ChartSpec, Row } from './charts.ts';
import { formatMetric } from './format.ts';
import { genreComparison, MODELS } from './report.ts';

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
      width: HALF_WIDTH,
      height: 260,
      marginLeft: 50,
      style: FONT,
      x: epochAxis(history.epochs.length),
      y: { label: info.axis, grid: true, ...(info.unit ? { domain: [0, 1] } : { nice: true }) },
      marks: [
        Plot.ruleX([best], { stroke: 'var(--muted)', strokeDasharray: '2 3' }),
        Plot.text([best], {
          x: (d: number) => d,
          frameAnchor: 'top',
          dy: 2,
          text: () => `best epoch ${best}`,
          fill: 'var(--muted)',
          ...(best > (history.epochs.length + 1) / 2 ? { textAnchor: 'end', dx: -4 } : { textAnchor: 'start', dx: 4 }),
        }),
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

/** Both models' validation curve of one metric, on shared axes. */
export function comparisonCurve(histories: Record<ModelKind, HistoryArtifact>, metric: CurveMetric): ChartSpec {
  const info = CURVE_METRICS.find((m) => m.key === metric)!;
  const data: Row[] = MODELS.flatMap((model) =>
    histories[model].epochs.map((e) => ({ model: histories[model].title, epoch: e.epoch + 1, [metric]: e.validation[metric] })),
  );
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
      '.',
    data,
    legend: MODELS.map((model) => ({ label: histories[model].title, color: MODEL_COLOURS[model], line: true })),
    plot: {
      width: HALF_WIDTH,
      height: 260,
      marginLeft: 50,
      style: FONT,
      x: epochAxis(epochs),
      y: { label: `Validation ${lowerFirst(info.axis)}`, grid: true, ...(info.unit ? { domain: [0, 1] } : { nice: true }) },
      marks: MODELS.flatMap((model) => {
        const rows = data.filter((row) => row.model === histories[model].title);
        const best = bests.find((b) => b.model === model)!;
        return [
          Plot.lineY(rows, { x: 'epoch', y: metric, stroke: MODEL_COLOURS[model], strokeWidth: 2.5 }),
          Plot.dot(rows, { x: 'epoch', y: metric, fill: MODEL_COLOURS[model], r: 3 }),
          Plot.dot([best], { x: 'epoch', y: 'value', stroke: MODEL_COLOURS[model], r: 7, strokeWidth: 2 }),
        ];
      }),
    },
  };
}

/** Per-genre F1 of both models at their best epochs (genres with validation films). */
export function genreF1Chart(histories: Record<ModelKind, HistoryArtifact>): ChartSpec {
  const rows = genreComparison(histories);
  const data: Row[] = rows.flatMap((row) =>
    MODELS.map((model) => ({ genre: row.genre, support: row.support, model: histories[model].title, f1: row.f1[model] })),
  );
  const wins = MODELS.map((model) => `${histories[model].title} ${rows.filter((r) => r.winner === model).length}`);
  const ties = rows.filter((r) => r.winner === 'tie').length;
  return {
    id: 'compare-genre-f1',
    title: 'F1 per genre at the best epoch: both models',
    description:
      `F1 of each model per genre on the validation films, at each model's best epoch, for the ${rows.length} genres with validation films ` +
      `(sorted by how many validation films have the genre). Genres won: ${wins.join(', ')}; ties ${ties}.`,
    data,
    legend: MODELS.map((model) => ({ label: histories[model].title, color: MODEL_COLOURS[model] })),
    plot: {
      width: WIDTH,
      height: 40 + rows.length * 30,
      marginLeft: 110,
      marginRight: 40,
      style: FONT,
      x: { label: null, domain: [0, 1], grid: true, axis: 'top' },
      y: { axis: null, domain: MODELS.map((m) => histories[m].title) },
      fy: { label: null, domain: rows.map((r) => r.genre), axis: 'left', padding: 0.15 },
      color: { domain: MODELS.map((m) => histories[m].title), range: MODELS.map((m) => MODEL_COLOURS[m]) },
      marks: [
        Plot.barX(data, { x: 'f1', y: 'model', fy: 'genre', fill: 'model' }),
        Plot.text(data, { x: 'f1', y: 'model', fy: 'genre', text: (d: Row) => formatMetric(d.f1 as number), textAnchor: 'start', dx: 3, fill: 'currentColor', fontSize: 10 }),
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
        ? `Most frequent pairs: ${pairs.slice(0, 3).map((row) => `${row.genre} + ${row.with} (${row.films})`).join(', ')}.`
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

/** Every chart of the report, by id. */
export function allChartSpecs(input: {
  dataset: DatasetArtifact;
  histories: Record<ModelKind, HistoryArtifact>;
  run: RunArtifact;
}): ChartSpec[] {
  const { dataset, histories, run } = input;
  const specs: ChartSpec[] = [
    labelDistributionChart(dataset),
    cooccurrenceChart(dataset),
    ...MODELS.flatMap((model) => [...CURVE_METRICS.map((m) => trainingCurve(histories[model], m.key)), learningRateChart(histories[model])]),
    ...CURVE_METRICS.map((m) => comparisonCurve(histories, m.key)),
    genreF1Chart(histories),
    epochDurationChart(histories, run),
  ];
  const ids = new Set<string>();
  for (const spec of specs) {
    if (ids.has(spec.id)) throw new Error(`genrelens: two charts share the id ${spec.id}`);
    ids.add(spec.id);
  }
  return specs;
}
