/** The report's charts rendered once per build, by id (reads the artifacts through the collections). */
import { ablationsArtifact, analysisArtifact, datasetArtifact, gmuHistoryArtifact, histories, runArtifact } from './artifacts.ts';
import { allChartSpecs } from './chart-specs.ts';
import { renderChartSvg, type ChartSpec } from './charts.ts';

export interface RenderedChart extends ChartSpec {
  /** The inline, theme-aware SVG. */
  svg: string;
}

let rendered: Promise<Map<string, RenderedChart>> | undefined;

export function reportCharts(): Promise<Map<string, RenderedChart>> {
  rendered ??= (async () => {
    const [dataset, run, models, analysis, gmu, ablations] = await Promise.all([
      datasetArtifact(),
      runArtifact(),
      histories(),
      analysisArtifact(),
      gmuHistoryArtifact(),
      ablationsArtifact(),
    ]);
    const specs = allChartSpecs({ dataset, histories: models, run, analysis, gmu, ablations });
    return new Map(specs.map((spec) => [spec.id, { ...spec, svg: renderChartSvg(spec) }]));
  })();
  return rendered;
}

export async function reportChart(id: string): Promise<RenderedChart> {
  const chart = (await reportCharts()).get(id);
  if (!chart) throw new Error(`genrelens: no chart with id "${id}" (known: ${[...(await reportCharts()).keys()].join(', ')})`);
  return chart;
}
