/**
 * Golden test of the site, on Observable Framework's `test/input → test/output` pattern: the site is
 * built from fixed artifacts (tests/site/golden/artifacts/, made by the pipeline from a 60-film demo
 * dataset, one epoch), and every page's figures — each table's cells and each chart's source and
 * data — are compared with the stored expectation in tests/site/golden/output/<page>.json, byte for
 * byte. A missing expectation is written (delete one to regenerate it after an intended change, and
 * read its diff before committing).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseHTML } from 'linkedom';
import { projectRoot } from '../helpers/fixture-build.ts';

const GOLDEN = join(projectRoot, 'tests', 'site', 'golden');
const PAGES = ['index', 'models/cnn', 'models/lstm', 'comparison', 'analysis', 'strong', 'ablations', 'test-set', 'examples', 'dataset', 'run', 'demo'];
const text = (element: Element | null) => (element?.textContent ?? '').replace(/\s+/g, ' ').trim();

/** A page's figures: its tables (caption, header and body cells) and its charts (title, source, data). */
export function pageFigures(html: string, chartData: (id: string) => unknown) {
  const { document } = parseHTML(html);
  const tables = [...document.querySelectorAll('main table')].map((table) => ({
    caption: text(table.querySelector('caption')),
    rows: [...table.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('th, td')].map(text)),
  }));
  const charts = [...document.querySelectorAll('figure.chart')].map((figure) => {
    const id = figure.getAttribute('id')!;
    return { id, title: text(figure.querySelector('.chart-title')).replace(/ #$/, ''), source: text(figure.querySelector('.source')), data: chartData(id) };
  });
  return { tables, charts };
}

test('the built pages show the expected figures for fixed artifacts (tests/site/golden)', { timeout: 240_000 }, async () => {
  const outDir = join(projectRoot, '.astro', 'builds', `golden-${process.pid}`);
  rmSync(outDir, { recursive: true, force: true });
  process.env.GENRELENS_ARTIFACTS_DIR = join(GOLDEN, 'artifacts');
  const { build } = await import('astro');
  try {
    await build({ root: projectRoot, outDir, cacheDir: join(outDir, '..', `golden-cache-${process.pid}`), logLevel: 'error' });
    mkdirSync(join(GOLDEN, 'output', 'models'), { recursive: true });
    const written: string[] = [];
    for (const page of PAGES) {
      const html = readFileSync(join(outDir, page === 'index' ? 'index.html' : `${page}/index.html`), 'utf8');
      const figures = pageFigures(html, (id) => JSON.parse(readFileSync(join(outDir, 'charts', `${id}.json`), 'utf8')).data);
      const actual = `${JSON.stringify(figures, null, 1)}\n`;
      const file = join(GOLDEN, 'output', `${page}.json`);
      if (!existsSync(file)) {
        writeFileSync(file, actual);
        written.push(page);
        continue;
      }
      assert.equal(actual, readFileSync(file, 'utf8'), `${page}: the figures differ from tests/site/golden/output/${page}.json`);
    }
    if (written.length) console.log(`wrote the golden figures of ${written.join(', ')}`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(join(outDir, '..', `golden-cache-${process.pid}`), { recursive: true, force: true });
  }
});
