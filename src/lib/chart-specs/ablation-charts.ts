/** The ablations page's charts (ablations.json): each model's validation loss, main run against each switch. */
import * as Plot from '@observablehq/plot';
import type { AblationsArtifact, ModelKind } from '../../../pipeline/lib/contract/contract.ts';
import { ablationChartId, ablationStyle } from '../ablations-report.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { formatMetric } from '../format.ts';
import { epochAxis, FONT, HALF_WIDTH, MODEL_COLOURS } from './common.ts';

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
    source: [`ablations.json › main.${model}.validationLossCurve, ablations[].models[model = ${model}].figures.validationLossCurve, bestEpoch`],
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
