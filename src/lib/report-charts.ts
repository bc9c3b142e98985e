/** The report's charts rendered once per build, by id (reads the artifacts through the collections). */
import { ablationsArtifact, analysisArtifact, datasetArtifact, gmuHistoryArtifact, histories, runArtifact, testSetArtifact } from './artifacts.ts';
import { allChartSpecs } from './chart-specs/index.ts';
import { renderChartSvg, type ChartSpec } from './charts.ts';

export interface RenderedChart extends ChartSpec {
  /** The inline, theme-aware SVG. */
  svg: string;
}

/** The report's charts by id; `get` throws for an id no chart has (a typo in a page). */
export interface ReportCharts {
  get(id: string): RenderedChart;
  ids(): string[];
}

let rendered: Promise<ReportCharts> | undefined;

/** Every chart of the report, rendered once per build from the artifacts (pages call this, then pass charts to `<Chart>`). */
export function reportCharts(): Promise<ReportCharts> {
  rendered ??= (async () => {
    const [dataset, run, models, analysis, gmu, ablations, testSet] = await Promise.all([
      datasetArtifact(),
      runArtifact(),
      histories(),
      analysisArtifact(),
      gmuHistoryArtifact(),
      ablationsArtifact(),
      testSetArtifact(),
    ]);
    const specs = allChartSpecs({ dataset, histories: models, run, analysis, gmu, ablations, testSet });
    const byId = new Map(specs.map((spec) => [spec.id, { ...spec, svg: renderChartSvg(spec) }]));
    return {
      get(id) {
        const chart = byId.get(id);
        if (!chart) throw new Error(`genrelens: no chart with id "${id}" (known: ${[...byId.keys()].join(', ')})`);
        return chart;
      },
      ids: () => [...byId.keys()],
    };
  })();
  return rendered;
}
