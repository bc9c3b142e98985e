/**
 * Every chart of the report, as specs computed from the artifacts (pure: no Astro imports), one file
 * per page; this registry lists them all. Colours are CSS variables so the charts follow the theme.
 */
import type {
  AblationsArtifact,
  AnalysisArtifact,
  DatasetArtifact,
  GmuHistoryArtifact,
  HistoryArtifact,
  ModelKind,
  RunArtifact,
  TestSetArtifact,
} from '../../../pipeline/lib/contract/contract.ts';
import { chartedModels } from '../ablations-report.ts';
import type { ChartSpec } from '../charts.ts';
import { MODELS } from '../report.ts';
import { CURVE_METRICS } from './common.ts';
import { trainingCurve, learningRateChart } from './model-charts.ts';
import { comparisonCurve, genreF1Chart } from './comparison-charts.ts';
import { epochDurationChart } from './run-charts.ts';
import { labelDistributionChart, cooccurrenceChart } from './dataset-charts.ts';
import {
  analysisScoresChart,
  microPrCurveChart,
  genrePrCurvesChart,
  frequencyChart,
  thresholdChart,
  fusionWeightChart,
  gmuTrainingChart,
  TEST_SET_CHARTS,
} from './analysis-charts.ts';
import { ablationLossChart } from './ablation-charts.ts';

export { ablationLossChart, analysisScoresChart, comparisonCurve, genreF1Chart, trainingCurve };

/** Every chart of the report, by id. */
export function allChartSpecs(input: {
  dataset: DatasetArtifact;
  histories: Record<ModelKind, HistoryArtifact>;
  run: RunArtifact;
  analysis: AnalysisArtifact;
  gmu: GmuHistoryArtifact;
  ablations: AblationsArtifact;
  /** Present when the build ran with --test-set. */
  testSet: TestSetArtifact | null;
}): ChartSpec[] {
  const { dataset, histories, run, analysis, gmu, ablations, testSet } = input;
  const testFilms = testSet ? { classifiers: testSet.classifiers, bootstrap: testSet.bootstrap, validationFilms: testSet.dataset.scored } : null;
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
    ...(testFilms ? [analysisScoresChart(testFilms, TEST_SET_CHARTS), microPrCurveChart(testFilms, TEST_SET_CHARTS)] : []),
  ];
  const ids = new Set<string>();
  for (const spec of specs) {
    if (ids.has(spec.id)) throw new Error(`genrelens: two charts share the id ${spec.id}`);
    ids.add(spec.id);
  }
  return specs;
}
