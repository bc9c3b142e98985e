/** The run page's chart (run.json): seconds per epoch of each model. */
import * as Plot from '@observablehq/plot';
import type { HistoryArtifact, ModelKind, RunArtifact } from '../../../pipeline/lib/contract/contract.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { MODELS } from '../report.ts';
import { epochAxis, FONT, MODEL_COLOURS, WIDTH } from './common.ts';

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
    source: ['run.json › models.cnn.epochMs, models.lstm.epochMs'],
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
