/**
 * The analysis page's charts (analysis.json, fusion-gmu.json): models, late and learned fusion and
 * baselines on the validation films; precision–recall curves; predicted vs true shares; thresholds.
 */
import * as Plot from '@observablehq/plot';
import type { AnalysisArtifact, ClassifierAnalysis, GmuHistoryArtifact, TunedClassifierId } from '../../../pipeline/lib/contract/contract.ts';
import { CLASSIFIER_COLOURS, classifier, compared, genreRows, mostOverpredicted, selection, share, summaryValue, type ScoredSet } from '../analysis-report.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { formatMetric } from '../format.ts';
import { classifierColour, curveDash, curveRows, epochMarker, epochPlotFrame, FACET_COLUMNS, FONT, HALF_WIDTH, rowOffset, WIDTH } from './common.ts';

/** Which scored set a chart shows: the validation films (analysis.json) or a test set (test-set.json). */
export interface SetChartOptions {
  id: string;
  file: string;
  films: string;
}
const VALIDATION: SetChartOptions = { id: 'analysis', file: 'analysis.json', films: 'validation films' };
export const TEST_SET_CHARTS: SetChartOptions = { id: 'test-set', file: 'test-set.json', films: 'test films' };

/** Thresholded scores and mAP of every classifier, baselines included. */
export function analysisScoresChart(analysis: ScoredSet, set: SetChartOptions = VALIDATION): ChartSpec {
  const metrics = [
    { key: 'microF1', label: 'Micro F1' },
    { key: 'macroF1', label: 'Macro F1' },
    { key: 'weightedF1', label: 'Weighted F1' },
    { key: 'samplesF1', label: 'Samples F1' },
    { key: 'meanAP', label: 'mAP' },
  ] as const;
  const all = analysis.classifiers;
  const value = (c: ClassifierAnalysis, key: (typeof metrics)[number]['key']) => summaryValue(c, key);
  const label = (c: ClassifierAnalysis) => (c.headline === 'decided' ? `${c.title} †` : c.title);
  const data: Row[] = metrics.flatMap((m) => all.map((c) => ({ metric: m.label, classifier: label(c), kind: c.kind, value: value(c, m.key) })));
  const drawn = data.filter((row) => row.value !== null);
  const best = metrics.map((m) => {
    const top = all.reduce((a, b) => ((value(b, m.key) ?? -1) > (value(a, m.key) ?? -1) ? b : a));
    return `${m.label}: ${label(top)} ${formatMetric(value(top, m.key) ?? Number.NaN)}`;
  });
  return {
    id: `${set.id}-scores`,
    source: [`${set.file} › classifiers[].atDefault.microF1, macroF1, weightedF1, samplesF1 (†: classifiers[].decided); classifiers[].meanAP`],
    title: 'Models, fusions and baselines: validation scores',
    description:
      `Micro, macro, weighted and samples F1 at threshold 0.5 (†: the strong models, with their decision rule) and mean average precision of the two models, their late fusion, the learned fusion (GMU), the strong models when they ran and the four baselines ` +
      `on the ${analysis.validationFilms} ${set.films} (grey bars: baselines). Highest: ${best.join('; ')}.`,
    data,
    legend: all
      .filter((c) => c.kind !== 'baseline')
      .map((c) => ({ label: label(c), color: classifierColour(c) }))
      .concat([{ label: 'baselines', color: 'var(--muted)' }]),
    plot: {
      width: WIDTH,
      height: 40 + metrics.length * all.length * 22,
      marginLeft: 170,
      marginRight: 100,
      style: FONT,
      x: { label: null, domain: [0, 1], grid: true, axis: 'top' },
      y: { label: null, domain: all.map(label) },
      fy: { label: null, domain: metrics.map((m) => m.label), axis: 'right', padding: 0.2, tickPadding: 12 },
      color: { domain: all.map(label), range: all.map(classifierColour) },
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

/** Micro-averaged precision–recall curves, each classifier's operating point at 0.5 marked. */
export function microPrCurveChart(analysis: ScoredSet, set: SetChartOptions = VALIDATION): ChartSpec {
  const curved = [...compared(analysis), classifier(analysis, 'genre-priors')];
  const data: Row[] = curved.flatMap((c) => curveRows(c, c.curves.micro, 'all (micro)'));
  const points = analysis.classifiers.map((c) => ({
    classifier: c.title,
    recall: c.atDefault.microRecall,
    precision: c.atDefault.microPrecision,
    kind: c.kind,
  }));
  return {
    id: `${set.id}-pr-micro`,
    source: [`${set.file} › classifiers[].curves.micro, classifiers[].microAP`],
    title: 'Precision–recall, all genres pooled (micro)',
    description:
      `Precision against recall as the threshold falls, every film × genre decision of the ${set.films} pooled (at most 100 points per curve, step-wise as average precision integrates). ` +
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
    source: ['analysis.json › classifiers[].curves.perGenre[], classifiers[].perGenre[].averagePrecision, perGenre[].support'],
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
    source: ['analysis.json › classifiers[].perGenre[].atDefault.predictedPositives, perGenre[].support, validationFilms'],
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
    source: ['analysis.json › thresholds.selections[].thresholds, selections[].folds[].thresholds'],
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
    source: ['analysis.json › fusion.grid[].trainLoss, grid[].validationLoss, fusion.weight'],
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
    source: ['fusion-gmu.json › epochs[].trainLoss, epochs[].holdoutLoss, chosenEpoch', 'analysis.json › classifiers[gmu].loss'],
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
