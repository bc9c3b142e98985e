/**
 * Every chart's downloads, written at build time: `charts/<id>.csv|json|svg|png`.
 * CSV cells are guarded against formula injection; SVG and PNG use the light theme's colours.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { EXPORT_FORMATS, EXPORT_TYPES, exportFile, standaloneSvg, svgToPng, type ExportFormat } from '../../lib/charts.ts';
import { reportCharts } from '../../lib/report-charts.ts';

export const getStaticPaths = (async () => {
  const charts = await reportCharts();
  return charts.ids().flatMap((id) => EXPORT_FORMATS.map((format) => ({ params: { file: `${id}.${format}` }, props: { id, format } })));
}) satisfies GetStaticPaths;

export const GET: APIRoute = async ({ props }) => {
  const { id, format } = props as { id: string; format: ExportFormat };
  const chart = (await reportCharts()).get(id);
  const body = format === 'png' ? await svgToPng(standaloneSvg(chart.svg)) : exportFile(chart, chart.svg, format);
  return new Response(body as BodyInit, { headers: { 'Content-Type': EXPORT_TYPES[format] } });
};
