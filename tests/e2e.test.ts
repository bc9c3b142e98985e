/**
 * The built report in a real browser (playwright-core driving Debian's Chromium), served under a
 * non-root base as on GitHub Pages (`GENRELENS_BASE=/genrelens/`): every page loads with no console
 * error and no failed request, every internal link and asset honours the base, the example filters
 * work, the theme toggle recolours the charts, and the site works with JavaScript off.
 * Skipped, with the reason, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { writeDemoDataset } from '../pipeline/demo-data.ts';
import { recordingEffects } from '../pipeline/effects.ts';

const CHROMIUM = process.env.GENRELENS_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set GENRELENS_CHROMIUM)`;
const BASE = '/genrelens/';
const PAGES = ['', 'models/cnn/', 'models/lstm/', 'comparison/', 'analysis/', 'examples/', 'dataset/', 'run/'];
const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.webp': 'image/webp', '.json': 'application/json', '.csv': 'text/csv', '.bin': 'application/octet-stream',
};

/** A static server like GitHub Pages for a project site: only paths under BASE exist. */
function serve(dist: string): Promise<Server> {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(BASE)) {
      response.writeHead(404).end('outside the base');
      return;
    }
    let file = join(dist, normalize(decodeURIComponent(url.pathname.slice(BASE.length))));
    if (!file.startsWith(dist)) {
      response.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('the report in a browser, under a non-root base', { skip, timeout: 240_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'genrelens-e2e-'));
  let server: Server;
  let browser: Browser;
  let origin = '';

  before(async () => {
    const dataset = join(work, 'films');
    await writeDemoDataset(dataset, { films: 60, seed: 5 }, recordingEffects());
    await promisify(execFile)(
      process.execPath,
      ['pipeline/cli.ts', 'build', '--dataset', dataset, '--cache-dir', join(work, 'cache'), '--artifacts-dir', join(work, 'artifacts'),
        '--public-dir', join(work, 'public'), '--out-dir', join(work, 'dist'), '--epochs', '1', '--sequence-length', '24'],
      { cwd: root, env: { ...process.env, CI: 'true', GENRELENS_BASE: BASE, GENRELENS_SITE: 'https://example.github.io' }, maxBuffer: 64 * 1024 * 1024 },
    );
    server = await serve(join(work, 'dist'));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    server?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** A page that records console errors, page errors and failed requests. */
  async function open(context: BrowserContext, path: string): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    await page.goto(`${origin}${BASE}${path}`, { waitUntil: 'load' });
    return { page, problems };
  }

  test('every page loads without errors, and every internal link and asset is under the base and exists', async () => {
    const context = await browser.newContext();
    const targets = new Set<string>();
    for (const path of PAGES) {
      const { page, problems } = await open(context, path);
      // Load every lazy thumbnail and inline chart, then check nothing failed.
      await page.evaluate(() => document.querySelectorAll('img').forEach((img) => (img.loading = 'eager')));
      await page.waitForLoadState('networkidle');
      assert.deepEqual(problems, [], `${path || 'home'}: ${problems.join('; ')}`);
      assert.ok(await page.locator('svg[role="img"]').count() > 0 || path === 'examples/', `${path}: charts render`);
      const urls: string[] = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('a[href], img[src], link[href], script[src]')].map(
          (el) => el.getAttribute('href') ?? el.getAttribute('src') ?? '',
        ),
      );
      for (const url of urls) {
        if (/^(https?:|data:|mailto:|#)/.test(url)) continue;
        assert.ok(url.startsWith(BASE), `${path || 'home'}: ${url} honours the base`);
        targets.add(url.split('#')[0]);
      }
      await page.close();
    }
    for (const url of targets) {
      const response = await fetch(`${origin}${url}`);
      assert.equal(response.status, 200, url);
    }
    await context.close();
  });

  test('the example filters show exactly the matching cards and survive a reload', async () => {
    const context = await browser.newContext();
    const { page, problems } = await open(context, 'examples/');
    const cards = page.locator('#films article.film');
    const total = await cards.count();
    assert.ok(total > 0);
    assert.ok(await page.locator('#example-filters').isVisible());
    const visible = () => page.locator('#films article.film:visible').count();
    const expected = (outcomes: string[], genre?: string) =>
      page.evaluate(
        ([outcomes, genre]) =>
          [...document.querySelectorAll<HTMLElement>('#films article.film')].filter(
            (card) => (outcomes as string[]).includes(card.dataset.outcome!) && (!genre || card.dataset.genres!.split('|').includes(genre as string)),
          ).length,
        [outcomes, genre ?? ''] as const,
      );

    await page.selectOption('select[name="outcome"]', 'both-wrong');
    assert.equal(await visible(), await expected(['both-wrong']));
    await page.selectOption('select[name="outcome"]', 'disagree');
    const disagree = await expected(['cnn-only', 'lstm-only']);
    assert.equal(await visible(), disagree);
    assert.match((await page.locator('.filter-count').textContent())!, new RegExp(`Showing (${disagree} of ${total}|all ${total}) films`));

    const genre = await page.locator('select[name="genre"] option').nth(1).getAttribute('value');
    await page.selectOption('select[name="outcome"]', '');
    await page.selectOption('select[name="genre"]', genre!);
    const withGenre = await expected(['both-right', 'both-wrong', 'cnn-only', 'lstm-only'], genre!);
    assert.ok(withGenre > 0);
    assert.equal(await visible(), withGenre);
    assert.match(page.url(), new RegExp(`genre=${encodeURIComponent(genre!)}`));

    await page.reload();
    assert.equal(await page.locator('select[name="genre"]').inputValue(), genre, 'the filter comes back from the URL');
    assert.equal(await visible(), withGenre);
    await page.click('button[type="reset"]');
    await page.waitForFunction((n) => document.querySelectorAll('#films article.film:not([hidden])').length === n, total);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the theme toggle recolours the charts', async () => {
    const context = await browser.newContext({ colorScheme: 'light' });
    const { page, problems } = await open(context, 'comparison/');
    const colours = () =>
      page.evaluate(() => {
        const svg = document.querySelector('#compare-loss svg')!;
        const line = [...svg.querySelectorAll<SVGElement>('[style*="--cnn"]')][0];
        const text = svg.querySelector('text')!;
        return { cnn: getComputedStyle(line).stroke || getComputedStyle(line).fill, text: getComputedStyle(text).fill, theme: document.documentElement.dataset.theme ?? '' };
      });
    const light = await colours();
    await page.click('.theme-toggle');
    const dark = await colours();
    assert.equal(dark.theme, 'dark');
    assert.notEqual(dark.cnn, light.cnn, 'the CNN colour changes');
    assert.notEqual(dark.text, light.text, 'axis text (currentColor) changes');
    assert.equal(await page.getAttribute('.theme-toggle', 'aria-pressed'), 'true');
    await page.reload();
    assert.deepEqual(await colours(), dark, 'the choice is remembered');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('with JavaScript off, charts and every example card are there; printing hides the navigation', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const { page } = await open(context, 'examples/');
    const cards = await page.locator('#films article.film').count();
    assert.ok(cards > 0);
    assert.equal(await page.locator('#films article.film:visible').count(), cards);
    assert.equal(await page.locator('#example-filters').isVisible(), false, 'filters need JavaScript and stay hidden');
    await page.goto(`${origin}${BASE}`);
    assert.ok(await page.locator('svg[role="img"]').first().isVisible());
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.site-header').isVisible(), false);
    assert.equal(await page.locator('.downloads').first().isVisible(), false);
    await context.close();
  });
});
