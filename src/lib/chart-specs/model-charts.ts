/** The model pages' charts (history-<model>.json): each metric per epoch, train vs validation, and the learning rate. */
import * as Plot from '@observablehq/plot';
import type { HistoryArtifact } from '../../../pipeline/lib/contract/contract.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { formatMetric } from '../format.ts';
import { CURVE_METRICS, type CurveMetric, epochAxis, epochMarker, epochPlotFrame, FONT, HALF_WIDTH, lowerFirst, MODEL_COLOURS } from './common.ts';

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
    source: [`history-${history.model}.json › epochs[].train.${metric}, epochs[].validation.${metric}, bestEpoch`],
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
    source: [`history-${history.model}.json › epochs[].learningRate`],
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
