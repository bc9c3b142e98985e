/**
 * Charts rendered at build time: Observable Plot draws into a linkedom document, and the SVG is
 * inlined into the page (visible with JavaScript off). Pure: no Astro imports, unit-testable.
 *
 * - Inline SVG: `role="img"`, `aria-labelledby` → its `<title>` and `<desc>`; colours are CSS
 *   variables (`currentColor`, `var(--cnn)`, …) moved into `style`, so the theme toggle recolours
 *   them.
 * - Downloads: the chart's data as CSV (guarded against spreadsheet formula injection) and JSON, a
 *   standalone SVG with the light theme's colours resolved, and a PNG of it rendered by sharp.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface LegendItem {
  label: string;
  /** A CSS colour, usually `var(--cnn)` etc. */
  color: string;
  /** Drawn as a dashed line sample instead of a swatch. */
  dashed?: boolean;
  /** A line sample (for line charts) instead of a filled swatch. */
  line?: boolean;
}

export interface ChartSpec {
  /** Unique across the site: the permalink anchor and the download files' name. */
  id: string;
  title: string;
  /** The text alternative: what the chart shows and what it says. */
  description: string;
  /** Tidy rows: exactly the numbers drawn, for the CSV and JSON downloads. */
  data: Row[];
  /** Where the numbers come from: artifact › field, one entry per artifact read (shown beside the downloads). */
  source: string[];
  legend?: LegendItem[];
  /** Plot options without `document` (added at render time). */
  plot: Plot.PlotOptions;
}

export const EXPORT_FORMATS = ['csv', 'json', 'svg', 'png'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The light theme's colours (mirrors `:root` in src/styles/global.css): used for the downloaded SVG/PNG. */
export const LIGHT_THEME: Readonly<Record<string, string>> = {
  '--bg': '#fbfaf7',
  '--fg': '#1d1d1f',
  '--muted': '#5f6368',
  '--rule': '#deddd8',
  '--panel': '#ffffff',
  '--accent': '#b4442c',
  '--cnn': '#2f6db5',
  '--lstm': '#c47a12',
  '--fusion': '#7a4fb0',
  '--gmu': '#0e7c86',
  '--strong-text': '#8a4b08',
  '--strong-poster': '#6b6f00',
  '--strong-stacked': '#b0136b',
  '--good': '#2e7d4f',
  '--bad': '#b3261e',
};

const COLOUR_ATTRIBUTES = ['fill', 'stroke'];
const SVG_NS = 'http://www.w3.org/2000/svg';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The inline SVG of a chart (accessible, theme-aware). */
export function renderChartSvg(spec: ChartSpec): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const node = Plot.plot({ ...spec.plot, document } as Plot.PlotOptions) as unknown as Element;
  const svg = node.tagName.toLowerCase() === 'svg' ? node : node.querySelector('svg');
  if (!svg) throw new Error(`genrelens: chart ${spec.id} rendered no SVG`);
  // CSS variables in presentation attributes are not portable: move colours into `style`.
  for (const element of [svg, ...svg.querySelectorAll('*')]) {
    const styles: string[] = [];
    for (const name of COLOUR_ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (value && value.startsWith('var(')) {
        styles.push(`${name}:${value}`);
        element.removeAttribute(name);
      }
    }
    if (styles.length) {
      const existing = element.getAttribute('style');
      element.setAttribute('style', [existing, ...styles].filter(Boolean).join(';'));
    }
  }
  const titleId = `${spec.id}-svg-title`;
  const descId = `${spec.id}-svg-desc`;
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', `${titleId} ${descId}`);
  svg.setAttribute('class', `${svg.getAttribute('class') ?? ''} chart-plot`.trim());
  // Plot's own <style> only sets sizing; the site's CSS does that.
  for (const style of svg.querySelectorAll('style')) style.remove();
  const markup = svg.outerHTML;
  const open = markup.indexOf('>') + 1;
  return `${markup.slice(0, open)}<title id="${titleId}">${escapeXml(spec.title)}</title><desc id="${descId}">${escapeXml(spec.description)}</desc>${markup.slice(open)}`;
}

/**
 * A self-contained SVG file: XML namespace, a background, and the light theme's colours in place
 * of the CSS variables (image viewers and sharp know nothing of the page's stylesheet).
 */
export function standaloneSvg(inlineSvg: string, theme: Readonly<Record<string, string>> = LIGHT_THEME): string {
  let svg = inlineSvg.replace(/var\((--[a-z0-9-]+)\)/g, (match, name: string) => theme[name] ?? match);
  svg = svg.replace(/currentColor/g, theme['--fg']);
  svg = svg.replace(/^<svg\b/, `<svg xmlns="${SVG_NS}"`);
  const viewBox = /viewBox="([\d.\s-]+)"/.exec(svg)?.[1]?.split(/\s+/).map(Number);
  const [x, y, width, height] = viewBox && viewBox.length === 4 ? viewBox : [0, 0, 0, 0];
  const background = `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="#ffffff"/>`;
  // After <title>/<desc>, before the marks.
  svg = svg.replace(/(<\/desc>)/, `$1${background}`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`;
}

/** PNG of a standalone SVG at twice its size (sharp/librsvg). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const png = await sharp(Buffer.from(svg), { density: 144 }).png({ compressionLevel: 9 }).toBuffer();
  return new Uint8Array(png);
}

// --- Data exports --------------------------------------------------------------------------------

/**
 * A text cell made safe for spreadsheets: a value starting with `=`, `+`, `-`, `@`, tab or carriage
 * return would be run as a formula by Excel/LibreOffice/Sheets, so it is prefixed with `'` (OWASP's
 * CSV-injection advice). Numbers are written as numbers and never prefixed.
 */
export function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** One CSV field (RFC 4180 quoting) with the formula guard applied to text. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = neutraliseFormula(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV with a header row; columns are the union of the rows' keys in first-seen order. */
export function toCsv(rows: readonly Row[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const lines = [columns.map(csvCell), ...rows.map((row) => columns.map((column) => csvCell(row[column] ?? null)))];
  return lines.map((cells) => cells.join(',')).join('\r\n') + '\r\n';
}

export function toJson(spec: ChartSpec): string {
  return `${JSON.stringify({ id: spec.id, title: spec.title, description: spec.description, data: spec.data }, null, 2)}\n`;
}

export function exportFile(spec: ChartSpec, inlineSvg: string, format: Exclude<ExportFormat, 'png'>): string {
  if (format === 'csv') return toCsv(spec.data);
  if (format === 'json') return toJson(spec);
  return standaloneSvg(inlineSvg);
}

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
};
