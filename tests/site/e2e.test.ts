/**
 * The built report in a real browser (playwright-core driving Debian's Chromium), served under a
 * non-root base as on GitHub Pages (`GENRELENS_BASE=/genrelens/`): every page loads with no console
 * error and no failed request, every internal link and asset honours the base, the example filters
 * work, the theme toggle recolours the charts, the site works with JavaScript off, and the live demo
 * gives the pipeline's own probabilities for the same poster and overview — the two models', the late
 * fusion's and the learned fusion's (GMU: on the models' activations, standardised as the pipeline does).
 * Skipped, with the reason, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { fuse } from '../../pipeline/lib/analysis/analysis.ts';
import { GmuModelMetadataSchema, GmuPredictionsArtifactSchema, type AnalysisArtifact, type ExamplesArtifact } from '../../pipeline/lib/contract/contract.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { standardisationFromJson } from '../../pipeline/lib/contract/gmu-standardisation.ts';
import { extractActivations } from '../../pipeline/lib/gmu/activations.ts';
import { loadStrongModels } from '../../pipeline/lib/strong/strong-model-io.ts';
import { logisticProbabilities } from '../../pipeline/lib/strong/logistic.ts';
import { tfidfFeatures } from '../../pipeline/lib/strong/sparse.ts';
import { gmuForward, gmuWeightsOf, standardise } from '../../pipeline/lib/gmu/gmu.ts';
import { posterInputs, tokenInputs, tokenLengths } from '../../pipeline/lib/train/model-inputs.ts';
import { loadModel } from '../../pipeline/lib/train/model-io.ts';
import { decodePoster, posterPreprocessing, type PosterFit, type PosterKernel } from '../../pipeline/lib/data/posters.ts';
import { vectorizeAll, type VectorizerConfig } from '../../pipeline/lib/contract/vectorizer.ts';

const CHROMIUM = process.env.GENRELENS_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set GENRELENS_CHROMIUM)`;
const BASE = '/genrelens/';
const PAGES = ['', 'models/cnn/', 'models/lstm/', 'comparison/', 'analysis/', 'ablations/', 'examples/', 'demo/', 'dataset/', 'run/'];
/** Pages without charts (the ablations page has none when the build ran no ablation, as this one). */
const NO_CHARTS = new Set(['ablations/', 'examples/', 'demo/']);
const root = fileURLToPath(new URL('../..', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.bin': 'application/octet-stream',
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
      [
        'pipeline/cli.ts',
        'build',
        '--dataset',
        dataset,
        '--cache-dir',
        join(work, 'cache'),
        '--artifacts-dir',
        join(work, 'artifacts'),
        '--public-dir',
        join(work, 'public'),
        '--out-dir',
        join(work, 'dist'),
        '--epochs',
        '1',
        '--sequence-length',
        '24',
      ],
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
    // A reload cancels the images still loading (net::ERR_ABORTED); a missing file is a 404 below.
    page.on('requestfailed', (request) => {
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`failed: ${request.url()} (${request.failure()?.errorText})`);
    });
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
      assert.ok((await page.locator('svg[role="img"]').count()) > 0 || NO_CHARTS.has(path), `${path}: charts render`);
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
        return {
          cnn: getComputedStyle(line).stroke || getComputedStyle(line).fill,
          text: getComputedStyle(text).fill,
          theme: document.documentElement.dataset.theme ?? '',
        };
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

  // --- The live demo -----------------------------------------------------------------------------

  /** Opens the demo and waits until the models have loaded (or failed to). */
  async function openDemo(page: Page): Promise<void> {
    await page.goto(`${origin}${BASE}demo/`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('#demo')?.getAttribute('data-state') !== 'loading', undefined, { timeout: 120_000 });
  }

  test('the live demo gives the pipeline\u2019s CNN, BiLSTM, late fusion and learned fusion probabilities for the same poster and overview', async (t) => {
    // A validation film's own poster (a JPEG written by the dataset generator, as the dataset's
    // posters are) and its overview, plus capitals, punctuation and words the model never saw.
    const artifacts = join(work, 'artifacts');
    const examples = JSON.parse(readFileSync(join(artifacts, 'examples.json'), 'utf8')) as ExamplesArtifact;
    const analysis = JSON.parse(readFileSync(join(artifacts, 'analysis.json'), 'utf8')) as AnalysisArtifact;
    const film = examples.films[0];
    const posterFile = join(work, 'films', 'Images', `${film.id}.jpg`);
    const overview = `${film.overview} MEANWHILE, an unheard-of zorblax (truly!) appears… don't ask.`;

    // The pipeline, in Node: its own modules and the published model files, on the cpu backend.
    tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
    await tf.setBackend('cpu');
    const modelsDir = join(work, 'public', 'models');
    type PosterMeta = { input: { width: number; kernel: PosterKernel; fit: PosterFit } };
    const cnnMeta = JSON.parse(readFileSync(join(modelsDir, 'cnn', 'metadata.json'), 'utf8')) as PosterMeta;
    const lstmMeta = JSON.parse(readFileSync(join(modelsDir, 'lstm', 'metadata.json'), 'utf8')) as { input: VectorizerConfig };
    const posterBytes = readFileSync(posterFile);
    const preprocessing = posterPreprocessing({ imageSize: cnnMeta.input.width, resizeKernel: cnnMeta.input.kernel, fit: cnnMeta.input.fit });
    const decoded = await decodePoster(posterBytes, preprocessing);
    assert.ok(decoded.ok, 'the pipeline decodes the poster');
    const predictOne = async (model: tf.LayersModel, x: tf.Tensor) => {
      const y = model.predict(x) as tf.Tensor;
      const values = Array.from(await y.data());
      tf.dispose([x, y]);
      model.dispose();
      return values;
    };
    // The learned fusion as the pipeline computes it: the activations of the layers its metadata names
    // (gmu/activations.ts extractActivations), standardised with its statistics, through pipeline/lib/gmu/gmu.ts's
    // own forward pass on the published weights.
    const gmuMeta = GmuModelMetadataSchema.parse(JSON.parse(readFileSync(join(modelsDir, 'gmu', 'metadata.json'), 'utf8')));
    const activations = async (model: tf.LayersModel, side: 'visual' | 'textual', data: Parameters<typeof extractActivations>[2]) => {
      const { layer, units, standardisation } = gmuMeta.input[side];
      const { values } = await extractActivations(model, layer, data, [0]);
      return standardise(values, units, [0], standardisationFromJson(standardisation, units, 'models/gmu/metadata.json'));
    };
    const gmuWeights = await (async () => {
      const model = await loadModel(join(modelsDir, 'gmu'));
      const weights = gmuWeightsOf(model);
      model.dispose();
      return weights;
    })();
    const cnn = await loadModel(join(modelsDir, 'cnn'));
    const posterData = { inputs: posterInputs(decoded.pixels, preprocessing.width) };
    const visual = await activations(cnn, 'visual', posterData);
    const expectedCnn = await predictOne(cnn, posterData.inputs([0]));
    const lstm = await loadModel(join(modelsDir, 'lstm'));
    const { vocabulary, sequenceLength } = lstmMeta.input;
    const fixedLength = lstm.inputs[0].shape[1];
    const overviewData = (text: string) => {
      const ids = vectorizeAll([text], vocabulary, sequenceLength);
      const lengths = typeof fixedLength === 'number' ? Int32Array.of(fixedLength) : tokenLengths(ids, sequenceLength);
      return { inputs: tokenInputs(ids, sequenceLength, lengths), lengthOf: (film: number) => lengths[film] };
    };
    const textual = await activations(lstm, 'textual', overviewData(overview));
    const expectedGmu = Array.from(gmuForward(gmuWeights, visual, textual, 1));
    const expectedLstm = await predictOne(lstm, overviewData(overview).inputs([0]));
    const expectedFusion = Array.from(fuse(expectedCnn, expectedLstm, analysis.fusion.weight));
    // The strong overview model as the pipeline computes it: its saved float64 weights on the sparse TF-IDF row.
    const strong = (await loadStrongModels(join(modelsDir, 'strong'))).models;
    const expectedStrong = Array.from(logisticProbabilities(strong.text, tfidfFeatures(strong.vectorizer, [overview])));

    // The browser: the built site, the same poster file and text.
    const context = await browser.newContext();
    const { page, problems } = await open(context, 'demo/');
    await page.waitForFunction(() => document.querySelector('#demo')?.getAttribute('data-state') !== 'loading', undefined, { timeout: 120_000 });
    assert.equal(await page.getAttribute('#demo', 'data-state'), 'ready', (await page.textContent('.demo-status')) ?? '');
    await page.setInputFiles('#demo input[type="file"]', posterFile);
    await page.fill('#demo textarea', overview);
    const allShown = () =>
      page.waitForFunction(
        () =>
          ['cnn', 'lstm', 'fusion', 'gmu', 'strong-text'].every((m) =>
            document.querySelector(`.demo-model[data-model="${m}"]`)?.hasAttribute('data-probabilities'),
          ),
        undefined,
        { timeout: 120_000 },
      );
    await allShown();
    const shown = async (model: string) => JSON.parse((await page.getAttribute(`.demo-model[data-model="${model}"]`, 'data-probabilities'))!) as number[];
    const maxDiff = (a: number[], b: number[]) => {
      assert.equal(a.length, b.length);
      return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    };
    const diffs = {
      cnn: maxDiff(await shown('cnn'), expectedCnn),
      lstm: maxDiff(await shown('lstm'), expectedLstm),
      fusion: maxDiff(await shown('fusion'), expectedFusion),
      gmu: maxDiff(await shown('gmu'), expectedGmu),
      strong: maxDiff(await shown('strong-text'), expectedStrong),
    };
    const backend = await page.getAttribute('#demo', 'data-backend');
    t.diagnostic(
      `browser (${backend}) vs pipeline (Node, cpu): max |Δp| CNN ${diffs.cnn.toExponential(2)}, BiLSTM ${diffs.lstm.toExponential(2)}, ` +
        `fusion ${diffs.fusion.toExponential(2)} (fusion weight ${analysis.fusion.weight}), learned fusion ${diffs.gmu.toExponential(2)}, ` +
        `strong overview model ${diffs.strong.toExponential(2)}`,
    );
    for (const [model, diff] of Object.entries(diffs)) assert.ok(diff < 1e-4, `${model}: browser and pipeline differ by ${diff} (${backend} backend)`);

    // On the validation film's own poster and overview, the browser's learned fusion gives what the
    // pipeline published for that film (predictions-gmu.json, computed in batches during the build).
    await page.fill('#demo textarea', '');
    await page.waitForFunction(() => !document.querySelector('.demo-model[data-model="gmu"]')?.hasAttribute('data-probabilities'), undefined, {
      timeout: 120_000,
    });
    assert.match((await page.textContent('.demo-model[data-model="gmu"] .demo-model-status'))!, /needs both a poster and an overview/);
    await page.fill('#demo textarea', film.overview);
    await allShown();
    const published = GmuPredictionsArtifactSchema.parse(JSON.parse(readFileSync(join(artifacts, 'predictions-gmu.json'), 'utf8'))).films.find(
      (f) => f.id === film.id,
    )!;
    const ownDiff = maxDiff(await shown('gmu'), published.probabilities);
    t.diagnostic(`learned fusion on validation film ${film.id}: browser vs predictions-gmu.json max |Δp| ${ownDiff.toExponential(2)}`);
    assert.ok(ownDiff < 1e-4, `the browser's learned fusion differs from predictions-gmu.json by ${ownDiff} on film ${film.id}`);

    // The CNN's input in the browser is the pipeline's, byte for byte: Chromium decodes this JPEG
    // exactly as sharp does, and the nearest-neighbour resize is libvips'.
    const seen = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('.demo-model-input')!;
      return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
    });
    const seenRgb = seen.filter((_, i) => i % 4 !== 3);
    assert.equal(seenRgb.length, decoded.pixels.length);
    assert.deepEqual(seenRgb, Array.from(decoded.pixels), 'the 64x64 poster the CNN saw in the browser is the pipeline\u2019s');

    // Measured, for the record: Chromium's decoders against sharp's at full size. sRGB JPEGs decode
    // identically; with an embedded profile (Display P3) colour management differs by at most 1 level
    // (lcms vs skcms), which is why the page decodes with colorSpaceConversion 'default'.
    const decodeInBrowser = (bytes: Buffer) =>
      page.evaluate(async (b64) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([data]), { colorSpaceConversion: 'default', premultiplyAlpha: 'none' });
        const canvas = document.createElement('canvas');
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        const context = canvas.getContext('2d', { colorSpace: 'srgb' })!;
        context.drawImage(bitmap, 0, 0);
        return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
      }, bytes.toString('base64'));
    const decodeDifference = async (bytes: Buffer) => {
      const browserRgba = await decodeInBrowser(bytes);
      const ours = await sharp(bytes).toColourspace('srgb').removeAlpha().raw().toBuffer();
      let max = 0;
      let differing = 0;
      for (let p = 0; p < ours.length / 3; p++) {
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(browserRgba[p * 4 + c] - ours[p * 3 + c]);
          if (d > 0) differing++;
          max = Math.max(max, d);
        }
      }
      return { max, differing, values: ours.length };
    };
    const jpeg = await decodeDifference(posterBytes);
    const noise = Buffer.from(Array.from({ length: 182 * 268 * 3 }, (_, i) => (i * 7919 + (i >> 7) * 31) & 255));
    const p3 = await decodeDifference(
      await sharp(noise, { raw: { width: 182, height: 268, channels: 3 } })
        .withIccProfile('p3')
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    t.diagnostic(
      `JPEG decode, Chromium vs sharp: dataset poster max ${jpeg.max} (${jpeg.differing}/${jpeg.values} values differ); Display-P3 JPEG max ${p3.max} (${p3.differing}/${p3.values})`,
    );
    assert.equal(jpeg.max, 0, 'Chromium decodes the dataset\u2019s JPEG exactly as sharp');
    assert.ok(p3.max <= 2, `a Display-P3 JPEG: Chromium and sharp differ by ${p3.max} levels`);

    // The page shows each model's genres as a sorted list with the top 3 marked.
    for (const model of ['cnn', 'lstm', 'fusion', 'gmu', 'strong-text']) {
      const items = page.locator(`.demo-model[data-model="${model}"] .demo-bars li`);
      assert.equal(await items.count(), examples.genres.length, model);
      assert.equal(await page.locator(`.demo-model[data-model="${model}"] .demo-bars li.top3`).count(), 3, model);
      const values = (await items.evaluateAll((lis) => lis.map((li) => Number((li as HTMLElement).dataset.probability)))) as number[];
      assert.deepEqual(
        values,
        [...values].sort((a, b) => b - a),
        `${model}: sorted by probability`,
      );
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the live demo says when model files are missing and when an image cannot be read', async () => {
    const context = await browser.newContext();
    await context.route(`**${BASE}generated/models/lstm/**`, (route) => route.fulfill({ status: 404, body: 'not found' }));
    const page = await context.newPage();
    await openDemo(page);
    assert.equal(await page.getAttribute('#demo', 'data-state'), 'ready', 'the CNN still works');
    const lstm = page.locator('.demo-model[data-model="lstm"]');
    assert.equal(await lstm.getAttribute('data-state'), 'unavailable');
    assert.match((await lstm.locator('.demo-model-status').textContent())!, /model files are missing \(HTTP 404 .*metadata\.json\).*npm run build/);
    assert.match((await page.textContent('.demo-model[data-model="fusion"] .demo-model-status'))!, /needs both models/i);
    assert.match((await page.textContent('.demo-model[data-model="gmu"] .demo-model-status'))!, /needs both models/i);
    assert.equal(await page.getAttribute('.demo-model[data-model="gmu"]', 'data-state'), 'unavailable');
    // The strong overview model still reads the overview.
    assert.ok(await page.locator('#demo textarea').isEnabled());
    await page.fill('#demo textarea', 'A detective hunts a killer in the city.');
    await page.waitForFunction(() => document.querySelector('.demo-model[data-model="strong-text"]')?.hasAttribute('data-probabilities'));
    assert.equal(await lstm.getAttribute('data-state'), 'unavailable');

    await page.setInputFiles('#demo input[type="file"]', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not a JPEG') });
    await page.waitForFunction(() => document.querySelector('.demo-poster-status')?.classList.contains('demo-error'));
    assert.match((await page.textContent('.demo-poster-status'))!, /Cannot read this file as an image/);
    assert.equal(await page.getAttribute('.demo-model[data-model="cnn"]', 'data-probabilities'), null);
    await context.close();

    // Without the learned fusion's files, the two models and the late fusion still work, and the page says what is missing.
    const noGmu = await browser.newContext();
    await noGmu.route(`**${BASE}generated/models/gmu/**`, (route) => route.fulfill({ status: 404, body: 'not found' }));
    const second = await noGmu.newPage();
    await openDemo(second);
    assert.equal(await second.getAttribute('#demo', 'data-state'), 'ready');
    assert.equal(await second.getAttribute('.demo-model[data-model="gmu"]', 'data-state'), 'unavailable');
    assert.match(
      (await second.textContent('.demo-model[data-model="gmu"] .demo-model-status'))!,
      /model files are missing \(HTTP 404 .*gmu\/metadata\.json\).*npm run build/,
    );
    assert.match((await second.textContent('.demo-status'))!, /Learned fusion: the model files are missing/);
    assert.ok(await second.locator('#demo textarea').isEnabled());
    await noGmu.close();

    // Without the strong model's files, its section says so and names the fix; the coursework models are unaffected.
    const noStrong = await browser.newContext();
    await noStrong.route(`**${BASE}generated/models/strong/**`, (route) => route.fulfill({ status: 404, body: 'not found' }));
    const third = await noStrong.newPage();
    await openDemo(third);
    assert.equal(await third.getAttribute('#demo', 'data-state'), 'ready');
    assert.equal(await third.getAttribute('.demo-model[data-model="strong-text"]', 'data-state'), 'unavailable');
    assert.match(
      (await third.textContent('.demo-model[data-model="strong-text"] .demo-model-status'))!,
      /strong model’s files are missing \(HTTP 404 .*strong\/.*\).*npm run build/,
    );
    await noStrong.close();
  });
});
