/**
 * The report site: unit tests of its pure parts (CSV export guard, chart SVG, verdict, examples),
 * then one fixture build — a generated demo dataset, some overviews carrying HTML/script, one
 * training epoch, `genrelens build` — checked page by page: every page, every chart (accessible
 * SVG + valid downloads), every example card (one per validation film, overview escaped),
 * thumbnails and models published under generated/, the explained cards (the CNN's occlusion map over
 * the poster, the LSTM's word importance on the overview; a config file limits the explained films so
 * that some cards have none), the ablations page (the config asks for two ablations: poster
 * augmentation retrains the CNN for one epoch, early stopping is provably the main run), and a stale
 * examples artifact failing loudly.
 */
import { CONTRACT_VERSION } from '../../pipeline/lib/contract/contract.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { parseHTML } from 'linkedom';
import sharp from 'sharp';
import {
  AblationsArtifactSchema,
  AnalysisArtifactSchema,
  type AnalysisArtifact,
  DatasetArtifactSchema,
  ExamplesArtifactSchema,
  ExplanationsArtifactSchema,
  GmuHistoryArtifactSchema,
  HistoryArtifactSchema,
  PredictionsArtifactSchema,
  RunArtifactSchema,
  SplitArtifactSchema,
  type ExamplesArtifact,
  type HistoryArtifact,
  type PredictionsArtifact,
} from '../../pipeline/lib/contract/contract.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { tokenize } from '../../pipeline/lib/contract/vectorizer.ts';
import { fixtureFlags, fixtureWorkspace, runCli, writeCsvRows } from '../helpers/fixture-build.ts';
import { allChartSpecs, genreF1Chart } from '../../src/lib/chart-specs/index.ts';
import { csvCell, LIGHT_THEME, neutraliseFormula, renderChartSvg, standaloneSvg, toCsv, type ChartSpec, type Row } from '../../src/lib/charts.ts';
import { buildExamples, curatedExamples, filmAnchor, genreComparison, imdbTitleUrl, verdict, winnerOf } from '../../src/lib/report.ts';
import { baselineVerdict, genreLeaders, genreLeaderSentences, leaderCounts } from '../../src/lib/analysis-report.ts';
import { ablationChartId, ablationParagraphs, ablationRows, modelTitles } from '../../src/lib/ablations-report.ts';
import * as Plot from '@observablehq/plot';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

// --- Unit tests: no build needed -----------------------------------------------------------------

describe('CSV export guard against spreadsheet formula injection', () => {
  test('text starting with = + - @ tab or CR is prefixed with a quote', () => {
    for (const dangerous of ['=SUM(A1:A2)', '+1+1', '-2+3', '@cmd', '\tindent', '\rreturn', '=HYPERLINK("http://x","y")']) {
      assert.equal(neutraliseFormula(dangerous), `'${dangerous}`, JSON.stringify(dangerous));
    }
    for (const safe of ['Drama', 'Sci-Fi', 'N/A', ' =spaced', '', "'quoted"]) assert.equal(neutraliseFormula(safe), safe);
  });

  test('cells are RFC 4180 quoted after the guard; numbers stay numbers', () => {
    assert.equal(csvCell('=1+2'), "'=1+2");
    assert.equal(csvCell('=A1,"B"'), `"'=A1,""B"""`);
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    assert.equal(csvCell(-0.25), '-0.25', 'a negative number is data, not a formula');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(Number.NaN), '');
    assert.equal(csvCell(true), 'true');
  });

  test('toCsv round-trips through a CSV parser with the guard applied', () => {
    const rows: Row[] = [
      { genre: '=cmd|" /C calc"!A0', f1: 0.5 },
      { genre: 'Drama, "quoted"', f1: -1, extra: '@x' },
    ];
    const parsed = parse(toCsv(rows), { columns: true }) as Record<string, string>[];
    assert.deepEqual(parsed, [
      { genre: `'=cmd|" /C calc"!A0`, f1: '0.5', extra: '' },
      { genre: 'Drama, "quoted"', f1: '-1', extra: "'@x" },
    ]);
  });
});

describe('chart rendering', () => {
  const spec: ChartSpec = {
    id: 'test-chart',
    title: 'Loss <script>alert(1)</script> & more',
    description: 'A "description" with <tags>.',
    source: ['history-cnn.json › epochs[].validation.loss'],
    data: [
      { epoch: 1, loss: 0.5 },
      { epoch: 2, loss: 0.4 },
    ],
    plot: {
      marks: [
        Plot.lineY(
          [
            { epoch: 1, loss: 0.5 },
            { epoch: 2, loss: 0.4 },
          ],
          { x: 'epoch', y: 'loss', stroke: 'var(--cnn)' },
        ),
      ],
    },
  };

  test('inline SVG: role=img, labelled by its escaped <title> and <desc>, colours as CSS variables in style', () => {
    const svg = renderChartSvg(spec);
    const { document } = parseHTML(`<html><body>${svg}</body></html>`);
    const element = document.querySelector('svg')!;
    assert.equal(element.getAttribute('role'), 'img');
    const [titleId, descId] = element.getAttribute('aria-labelledby')!.split(' ');
    assert.equal(document.getElementById(titleId)!.tagName.toLowerCase(), 'title');
    assert.equal(document.getElementById(titleId)!.textContent, spec.title);
    assert.equal(document.getElementById(descId)!.textContent, spec.description);
    assert.ok(!svg.includes('<script>'), 'the title is escaped');
    assert.match(svg, /style="[^"]*stroke:var\(--cnn\)/);
    assert.ok(!/ stroke="var\(/.test(svg), 'no CSS variable left in a presentation attribute');
  });

  test('standalone SVG resolves the theme variables and renders to PNG', async () => {
    const file = standaloneSvg(renderChartSvg(spec));
    assert.match(file, /^<\?xml/);
    assert.match(file, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(!file.includes('var(--') && !file.includes('currentColor'));
    assert.ok(file.includes(LIGHT_THEME['--cnn']));
    const meta = await sharp(Buffer.from(file)).metadata();
    assert.equal(meta.format, 'svg');
  });

  test('the light theme used for downloads matches the stylesheet', () => {
    const css = readFileSync(join(root, 'src/styles/global.css'), 'utf8');
    const block = css.slice(css.indexOf(':root {'), css.indexOf('}', css.indexOf(':root {')));
    for (const [name, value] of Object.entries(LIGHT_THEME)) {
      assert.match(block, new RegExp(`${name}: ${value};`), `${name} in :root`);
    }
  });
});

describe('verdict and examples logic', () => {
  const metrics = (microF1: number, loss: number) => ({ loss, microPrecision: 0.5, microRecall: 0.4, microF1, macroF1: 0.1 });
  const history = (model: 'cnn' | 'lstm', microF1: number, loss: number): HistoryArtifact => ({
    contractVersion: CONTRACT_VERSION,
    model,
    title: model === 'cnn' ? 'Poster CNN' : 'Overview BiLSTM',
    epochs: [
      { epoch: 0, learningRate: 1e-4, trainMs: 1000, evaluationMs: 100, runningLoss: loss, train: metrics(microF1, loss), validation: metrics(microF1, loss) },
    ],
    bestEpoch: 0,
    best: metrics(microF1, loss),
    perGenre: [
      { genre: 'Drama', precision: 0.5, recall: 0.5, f1: model === 'cnn' ? 0.3 : 0.6, support: 4, predictedPositives: 4, truePositives: 2 },
      { genre: 'War', precision: 0, recall: 0, f1: 0, support: 0, predictedPositives: 0, truePositives: 0 },
    ],
    architecture: { rows: [], totalParams: 1, trainableParams: 1 },
  });
  const run = { backend: { name: 'cpu' }, models: { cnn: { trainingMs: 2000 }, lstm: { trainingMs: 3000 } } } as unknown as Parameters<typeof verdict>[1];

  test('winners are judged on the displayed (three-decimal) numbers', () => {
    assert.equal(winnerOf({ cnn: 0.4121, lstm: 0.4124 }, 'higher'), 'tie');
    assert.equal(winnerOf({ cnn: 0.3, lstm: 0.4 }, 'higher'), 'lstm');
    assert.equal(winnerOf({ cnn: 0.3, lstm: 0.4 }, 'lower'), 'cnn');
  });

  test('the verdict sentence names the computed winner, never a fixed one', () => {
    const a = verdict({ cnn: history('cnn', 0.2, 0.6), lstm: history('lstm', 0.4, 0.7) }, run);
    assert.equal(a.overall, 'lstm');
    assert.match(a.sentences[0], /the Overview BiLSTM predicts genres better than the Poster CNN: micro F1 0\.400 vs 0\.200/);
    assert.match(a.sentences.join(' '), /The Poster CNN wins on validation loss \(0\.600 vs 0\.700\)/);
    const lstm = history('lstm', 0.4, 0.7);
    lstm.best.microRecall = 0.9;
    const mixed = verdict({ cnn: history('cnn', 0.2, 0.6), lstm }, run);
    assert.match(mixed.sentences[1], /^It also wins on micro recall \(0\.900 vs 0\.400\)\.$/, '"It" is the overall winner');
    assert.match(mixed.sentences[2], /^The Poster CNN wins on validation loss/);
    const b = verdict({ cnn: history('cnn', 0.5, 0.6), lstm: history('lstm', 0.4, 0.7) }, run);
    assert.equal(b.overall, 'cnn');
    const c = verdict({ cnn: history('cnn', 0.4, 0.6), lstm: history('lstm', 0.4, 0.6) }, run);
    assert.equal(c.overall, 'tie');
    assert.match(c.sentences[0], /tie on micro F1/);
  });

  test('with the paired bootstrap, "better" only when the interval of the difference excludes 0', () => {
    const histories = { cnn: history('cnn', 0.2, 0.6), lstm: history('lstm', 0.4, 0.7) };
    const sure = verdict(histories, run, { microF1: { low: -0.3, high: -0.1 } });
    assert.match(sure.sentences[0], /the Overview BiLSTM predicts genres better than the Poster CNN: .*\[-0\.300, -0\.100\], excludes 0\.$/);
    const unsure = verdict(histories, run, { microF1: { low: -0.3, high: 0.05 } });
    assert.match(unsure.sentences[0], /the Overview BiLSTM scores higher than the Poster CNN: .* includes 0, so these films cannot tell the two apart\.$/);
    assert.doesNotMatch(unsure.sentences[0], /better/);
    // An interval on the other side of the figures shown (rounding) is no evidence for the one shown higher.
    const against = verdict(histories, run, { microF1: { low: 0.01, high: 0.2 } });
    assert.match(against.sentences[0], /cannot tell the two apart/);
    // The table's rows: a winner whose interval includes 0 is marked unsure, one whose interval excludes 0 is not.
    const rows = verdict(histories, run, { microF1: { low: -0.3, high: 0.05 }, macroF1: { low: -0.1, high: 0.1 } }).rows;
    assert.deepEqual(rows.find((r) => r.key === 'microF1')!.unsure, { low: -0.3, high: 0.05 });
    assert.equal(rows.find((r) => r.key === 'macroF1')!.winner, 'tie');
    assert.equal(rows.find((r) => r.key === 'macroF1')!.unsure, undefined, 'a tie is no winner to doubt');
    assert.equal(verdict(histories, run, { microF1: { low: -0.3, high: -0.1 } }).rows.find((r) => r.key === 'microF1')!.unsure, undefined);
  });

  test('per-genre comparison skips genres without validation films', () => {
    const rows = genreComparison({ cnn: history('cnn', 0.2, 0.6), lstm: history('lstm', 0.4, 0.7) });
    assert.deepEqual(
      rows.map((r) => [r.genre, r.winner]),
      [['Drama', 'lstm']],
    );
  });

  test('examples: right means the top-1 genre is a true genre; mismatched artifacts fail loudly', () => {
    const genres = ['Drama', 'Comedy', 'War'];
    const films: ExamplesArtifact = {
      contractVersion: CONTRACT_VERSION,
      genres,
      thumbnail: { width: 100, height: 150, format: 'webp' },
      films: [
        { id: 'a', overview: 'x', genres: ['Drama'], thumbnail: null },
        { id: 'b', overview: 'y', genres: ['War', 'Comedy'], thumbnail: null },
      ],
    };
    const predictions = (model: 'cnn' | 'lstm', rows: number[][]): PredictionsArtifact => ({
      contractVersion: CONTRACT_VERSION,
      model,
      genres,
      threshold: 0.5,
      films: rows.map((probabilities, i) => ({
        id: films.films[i].id,
        probabilities,
        top3: probabilities.map((probability, g) => ({ genre: genres[g], probability })).sort((x, y) => y.probability - x.probability),
      })),
    });
    const examples = buildExamples(films, {
      cnn: predictions('cnn', [
        [0.9, 0.1, 0.1],
        [0.9, 0.2, 0.1],
      ]),
      lstm: predictions('lstm', [
        [0.1, 0.8, 0.1],
        [0.1, 0.2, 0.7],
      ]),
    });
    assert.deepEqual(
      examples.map((e) => e.outcome),
      ['cnn-only', 'lstm-only'],
    );
    assert.deepEqual(
      examples[1].models.lstm.top3.map((t) => t.hit),
      [true, true, false],
    );
    assert.equal(curatedExamples(examples).length, 3);
    const stale = predictions('cnn', [
      [0.9, 0.1, 0.1],
      [0.9, 0.2, 0.1],
    ]);
    stale.films[1].id = 'zzz';
    assert.throws(
      () =>
        buildExamples(films, {
          cnn: stale,
          lstm: predictions('lstm', [
            [1, 0, 0],
            [1, 0, 0],
          ]),
        }),
      /different validation films .*"b" vs "zzz"/,
    );
    assert.equal(filmAnchor('tt01/"x"'), 'film-tt01__x_');
    assert.equal(imdbTitleUrl('tt0111161'), 'https://www.imdb.com/title/tt0111161/');
    for (const id of ['demo00001', 'tt', 'tt12a', 'xtt123', 'TT0111161', 'tt0111161/']) assert.equal(imdbTitleUrl(id), undefined, id);
  });
});

describe('per genre: both models and the learned fusion (comparison page)', () => {
  // 4 genres, the last without validation films; F1 at 0.5 per genre of every classifier, by hand.
  const genres = ['Drama', 'Comedy', 'War', 'News'];
  const support = [5, 3, 2, 0];
  const f1s: Record<string, { kind: string; title: string; f1: number[] }> = {
    cnn: { kind: 'model', title: 'Poster CNN', f1: [0.6, 0.3, 0.1, 0] },
    lstm: { kind: 'model', title: 'Overview BiLSTM', f1: [0.5, 0.3004, 0, 0] },
    fusion: { kind: 'fusion', title: 'Late fusion', f1: [0.9, 0.9, 0.9, 0] },
    gmu: { kind: 'fusion', title: 'Learned fusion (GMU)', f1: [0.7, 0.2, 0.1, 0] },
    'genre-priors': { kind: 'baseline', title: 'Genre priors', f1: [0, 0, 0, 0] },
    'most-frequent': { kind: 'baseline', title: 'Always Drama', f1: [0.65, 0, 0, 0] },
    'two-most-frequent': { kind: 'baseline', title: 'Always Drama + Comedy', f1: [0.62, 0.4, 0, 0] },
    // Below the other baselines here, so the best baseline of each genre is as before it existed.
    'every-genre': { kind: 'baseline', title: 'Every genre', f1: [0.6, 0.3, 0, 0] },
  };
  /** Only the fields these functions read (genres, classifiers' id/kind/title and per-genre support and F1 at 0.5). */
  const analysis = {
    genres,
    classifiers: Object.entries(f1s).map(([id, c]) => ({
      id,
      kind: c.kind,
      title: c.title,
      perGenre: genres.map((genre, g) => ({ genre, support: support[g], atDefault: { f1: c.f1[g] } })),
    })),
  } as unknown as AnalysisArtifact;

  test('the highest F1 per genre among the three, ties on the displayed three decimals shared; genres without films left out', () => {
    const rows = genreLeaders(analysis);
    assert.deepEqual(
      rows.map((r) => [r.genre, r.support, r.best]),
      [
        ['Drama', 5, ['gmu']],
        ['Comedy', 3, ['cnn', 'lstm']],
        ['War', 2, ['cnn', 'gmu']],
      ],
    );
    assert.deepEqual(
      rows.map((r) => r.baseline),
      [
        { title: 'Always Drama', f1: 0.65 },
        { title: 'Always Drama + Comedy', f1: 0.4 },
        { title: 'Genre priors', f1: 0 },
      ],
    );
    assert.deepEqual(leaderCounts(rows), { alone: { cnn: 0, lstm: 0, gmu: 1 }, shared: 2 });
    assert.deepEqual(
      leaderCounts(rows, ['cnn', 'lstm']),
      { alone: { cnn: 2, lstm: 0, gmu: 0 }, shared: 1 },
      'the late fusion (0.9 everywhere) is not among them',
    );
    assert.deepEqual(genreLeaderSentences(analysis), [
      'Of the 3 genres with validation films, the highest F1 at 0.5 belongs to the Poster CNN alone on 0, to the Overview BiLSTM alone on 0 ' +
        'and to the learned fusion alone on 1; 2 are shared by two or all three (equal to three decimals, often all 0).',
      'Between the two models only, the Poster CNN has the higher F1 on 2, the Overview BiLSTM on 0, and 1 is a tie.',
    ]);
  });

  test('the chart draws the three per genre with the best baseline as a tick, and its description counts as computed', () => {
    const spec = genreF1Chart(analysis);
    assert.equal(spec.title, 'F1 per genre: both models and the learned fusion');
    assert.deepEqual(
      spec.data.filter((row) => !String(row.model).startsWith('best baseline')).map((row) => [row.genre, row.model, row.f1]),
      [
        ['Drama', 'Poster CNN', 0.6],
        ['Drama', 'Overview BiLSTM', 0.5],
        ['Drama', 'Learned fusion (GMU)', 0.7],
        ['Comedy', 'Poster CNN', 0.3],
        ['Comedy', 'Overview BiLSTM', 0.3004],
        ['Comedy', 'Learned fusion (GMU)', 0.2],
        ['War', 'Poster CNN', 0.1],
        ['War', 'Overview BiLSTM', 0],
        ['War', 'Learned fusion (GMU)', 0.1],
      ],
    );
    assert.deepEqual(
      spec.data.filter((row) => String(row.model).startsWith('best baseline')).map((row) => row.model),
      ['best baseline: Always Drama', 'best baseline: Always Drama + Comedy', 'best baseline: none predicts the genre'],
    );
    assert.match(
      spec.description,
      /Highest F1 alone: Poster CNN 0, Overview BiLSTM 0, Learned fusion \(GMU\) 1; shared by two or more \(equal to three decimals\) 2\./,
    );
    assert.match(spec.description, /all three are below it on 1 genre \(Comedy\)\.$/);
  });
});

// --- Fixture build -------------------------------------------------------------------------------

const paths = fixtureWorkspace('genrelens-pages-');
after(() => rm(paths.work, { recursive: true, force: true }));
/** Overview text that would run or break the page if it were not escaped. */
const HOSTILE = ' </p><script>alert("pwned")</script><img src=x onerror="alert(1)"> & done';
const PAGES = [
  'index.html',
  'models/cnn/index.html',
  'models/lstm/index.html',
  'comparison/index.html',
  'analysis/index.html',
  'ablations/index.html',
  'examples/index.html',
  'dataset/index.html',
  'run/index.html',
];
/** Cheap on the fixture: one CNN epoch for poster augmentation; early stopping cannot stop a one-epoch run, so it is the main run. */
const ABLATIONS = ['poster-augmentation', 'early-stopping'];

const EXPLAIN_FIRST = 4;
/** fixtureFlags' --sequence-length. */
const SEQUENCE_LENGTH = 24;

let built: Promise<void> | undefined;
function fixtureBuild(): Promise<void> {
  built ??= (async () => {
    await writeDemoDataset(paths.dataset, { films: 60, seed: 11 }, recordingEffects());
    // Every third film's overview carries markup.
    const csvFile = join(paths.dataset, 'IMDB_overview_genres.csv');
    const text = readFileSync(csvFile, 'utf8');
    const header = text.slice(0, text.indexOf('\n'));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    rows.forEach((row, i) => {
      if (i % 3 === 0) row.Overview += HOSTILE;
      // Every other film gets an IMDb-style id (its cards link to IMDb); the rest keep demo ids.
      if (i % 2 === 0) {
        const id = `tt${String(1_000_000 + i)}`;
        renameSync(join(paths.dataset, 'Images', `${row.Id}.jpg`), join(paths.dataset, 'Images', `${id}.jpg`));
        row.Id = id;
      }
    });
    writeCsvRows(csvFile, header, rows);
    // Explain the curated films and the first EXPLAIN_FIRST others only, so that some cards have no explanation.
    const config = join(paths.work, 'genrelens.config.json');
    writeFileSync(config, JSON.stringify({ explainFilms: EXPLAIN_FIRST, ablations: ABLATIONS }));
    await runCli(['build', ...fixtureFlags(paths), '--config', config], { GENRELENS_BASE: '' });
  })();
  return built;
}
const artifact = (name: string) => JSON.parse(readFileSync(join(paths.artifacts, name), 'utf8'));
const html = (page: string) => readFileSync(join(paths.out, page), 'utf8');
const dom = (page: string) => parseHTML(html(page)).document;
function specs(): ChartSpec[] {
  return allChartSpecs({
    dataset: DatasetArtifactSchema.parse(artifact('dataset.json')),
    histories: { cnn: HistoryArtifactSchema.parse(artifact('history-cnn.json')), lstm: HistoryArtifactSchema.parse(artifact('history-lstm.json')) },
    run: RunArtifactSchema.parse(artifact('run.json')),
    analysis: AnalysisArtifactSchema.parse(artifact('analysis.json')),
    gmu: GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json')),
    ablations: AblationsArtifactSchema.parse(artifact('ablations.json')),
    testSet: null,
  });
}

describe('the built site', { timeout: 240_000 }, () => {
  test('every page is built, says the data is synthetic, and links every section', async () => {
    await fixtureBuild();
    for (const page of PAGES) {
      const document = dom(page);
      assert.ok(document.querySelector('title')!.textContent!.endsWith('· genrelens'), page);
      assert.match(html(page), /Synthetic data\./, page);
      const nav = [...document.querySelectorAll('nav a')].map((a) => a.getAttribute('href'));
      for (const target of ['/', '/models/cnn/', '/models/lstm/', '/comparison/', '/analysis/', '/ablations/', '/examples/', '/dataset/', '/run/']) {
        assert.ok(nav.includes(target), `${page} links ${target}`);
      }
      assert.equal(document.querySelectorAll('[aria-current="page"]').length, 1, `${page} marks the current page`);
    }
  });

  test('the home verdict is the one computed from the artifacts', async () => {
    await fixtureBuild();
    const histories = { cnn: HistoryArtifactSchema.parse(artifact('history-cnn.json')), lstm: HistoryArtifactSchema.parse(artifact('history-lstm.json')) };
    const analysis = AnalysisArtifactSchema.parse(artifact('analysis.json'));
    const difference = analysis.bootstrap.differences.find((d) => d.a === 'cnn' && d.b === 'lstm')!.microF1;
    const expected = verdict(histories, RunArtifactSchema.parse(artifact('run.json')), { microF1: difference });
    const document = dom('index.html');
    const sentence = document.querySelector('.verdict-sentence')!.textContent!.replace(/\s+/g, ' ').trim();
    assert.equal(sentence, expected.sentences.join(' '));
    const microF1 = document.querySelector('tr[data-metric="microF1"]')!;
    const cells = [...microF1.querySelectorAll('td')].map((td) => td.textContent!.trim());
    assert.deepEqual(cells.slice(0, 2), [histories.cnn.best.microF1.toFixed(3), histories.lstm.best.microF1.toFixed(3)]);
    assert.equal(document.querySelectorAll('.curated .film').length, 3, 'best, worst and biggest disagreement');
  });

  test('the analysis page: baselines, models, fusion and thresholds recomputed independently from the published files', async () => {
    await fixtureBuild();
    const analysis = AnalysisArtifactSchema.parse(artifact('analysis.json'));
    const split = SplitArtifactSchema.parse(artifact('split.json'));
    const genres = analysis.genres;
    const csv = parse(readFileSync(join(paths.dataset, 'IMDB_overview_genres.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const labelled = new Map(csv.map((row) => [row.Id, genres.map((genre) => row[genre] === '1')]));
    const probabilities = (file: string) => new Map((artifact(file).films as { id: string; probabilities: number[] }[]).map((f) => [f.id, f.probabilities]));
    const microF1 = (ids: string[], predicted: (id: string, g: number) => boolean) => {
      let tp = 0,
        fp = 0,
        fn = 0;
      for (const id of ids) {
        genres.forEach((_, g) => {
          const p = predicted(id, g);
          const t = labelled.get(id)![g];
          if (p && t) tp++;
          else if (p) fp++;
          else if (t) fn++;
        });
      }
      return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    };
    const bce = (ids: string[], p: (id: string, g: number) => number) => {
      let sum = 0;
      for (const id of ids) {
        genres.forEach((_, g) => {
          const q = Math.min(Math.fround(1 - 1e-7), Math.max(Math.fround(1e-7), p(id, g)));
          sum -= labelled.get(id)![g] ? Math.log(q) : Math.log(1 - q);
        });
      }
      return sum / (ids.length * genres.length);
    };

    // Baselines from the training films' labels.
    const counts = genres.map((_, g) => split.train.filter((id) => labelled.get(id)![g]).length);
    const order = genres.map((_, g) => g).sort((a, b) => counts[b] - counts[a] || a - b);
    assert.deepEqual(analysis.baselines.mostFrequent, [genres[order[0]], genres[order[1]]]);
    const priors = counts.map((c) => c / split.train.length);
    const top2F1 = microF1(split.validation, (_, g) => g === order[0] || g === order[1]);
    const top1F1 = microF1(split.validation, (_, g) => g === order[0]);
    const priorsBce = bce(split.validation, (_, g) => priors[g]);
    // The models and the fusion from the published probabilities; the fusion weight from the training films only.
    const cnn = probabilities('predictions-cnn.json');
    const lstm = probabilities('predictions-lstm.json');
    const cnnF1 = microF1(split.validation, (id, g) => cnn.get(id)![g] > 0.5);
    const trainCnn = probabilities('train-probabilities-cnn.json');
    const trainLstm = probabilities('train-probabilities-lstm.json');
    const trainLoss = (w: number) => bce(split.train, (id, g) => w * trainCnn.get(id)![g] + (1 - w) * trainLstm.get(id)![g]);
    const weights = Array.from({ length: 21 }, (_, i) => i / 20);
    const losses = weights.map(trainLoss);
    const lowest = Math.min(...losses);
    const chosen = weights.filter((_, i) => losses[i] === lowest).sort((a, b) => Math.abs(a - 0.5) - Math.abs(b - 0.5) || a - b)[0];
    assert.equal(analysis.fusion.weight, chosen, 'the fusion weight has the lowest training loss');
    const w = analysis.fusion.weight;
    const fusionF1 = microF1(split.validation, (id, g) => w * cnn.get(id)![g] + (1 - w) * lstm.get(id)![g] > 0.5);
    const thresholds = analysis.thresholds.selections.find((s) => s.classifier === 'cnn')!.thresholds;
    const tunedF1 = microF1(split.validation, (id, g) => cnn.get(id)![g] > thresholds[g]);

    const document = dom('analysis/index.html');
    const cell = (id: string, metric: string) =>
      document.querySelector(`.analysis-summary tr[data-classifier="${id}"] td[data-metric="${metric}"]`)!.textContent!.trim();
    assert.equal(cell('two-most-frequent', 'microF1'), top2F1.toFixed(3));
    assert.equal(cell('most-frequent', 'microF1'), top1F1.toFixed(3));
    assert.equal(cell('genre-priors', 'loss'), priorsBce.toFixed(3));
    assert.equal(cell('two-most-frequent', 'loss'), '—', 'hard baselines have no loss');
    assert.equal(cell('cnn', 'microF1'), cnnF1.toFixed(3));
    assert.equal(cell('fusion', 'microF1'), fusionF1.toFixed(3));
    // The learned fusion from its published probabilities, its thresholds from its out-of-fold training probabilities.
    const gmu = probabilities('predictions-gmu.json');
    const gmuF1 = microF1(split.validation, (id, g) => gmu.get(id)![g] > 0.5);
    assert.equal(cell('gmu', 'microF1'), gmuF1.toFixed(3));
    assert.equal(cell('gmu', 'loss'), bce(split.validation, (id, g) => gmu.get(id)![g]).toFixed(3));
    const trainGmu = probabilities('train-probabilities-gmu.json');
    const gmuThresholds = analysis.thresholds.selections.find((s) => s.classifier === 'gmu')!.thresholds;
    genres.forEach((_, g) => {
      const f1At = (t: number) => {
        let tp = 0,
          fp = 0,
          fn = 0;
        for (const id of split.train) {
          const p = trainGmu.get(id)![g] > t;
          const y = labelled.get(id)![g];
          if (p && y) tp++;
          else if (p) fp++;
          else if (y) fn++;
        }
        return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
      };
      const grid = analysis.thresholds.grid;
      const best = Math.max(...grid.map(f1At));
      assert.equal(f1At(gmuThresholds[g]), best, `GMU threshold of ${genres[g]} has the best out-of-fold training F1`);
    });
    const gmuTuned = microF1(split.validation, (id, g) => gmu.get(id)![g] > gmuThresholds[g]);
    assert.equal(
      document.querySelector('.threshold-summary tr[data-classifier="gmu"] td[data-metric="microF1-tuned"]')!.textContent!.trim(),
      gmuTuned.toFixed(3),
    );
    const tuned = document.querySelector('.threshold-summary tr[data-classifier="cnn"] td[data-metric="microF1-tuned"]')!.textContent!.trim();
    assert.equal(tuned, tunedF1.toFixed(3));

    // The verdict against the baselines: computed, and consistent with the independent numbers.
    const expected = baselineVerdict(analysis);
    const sentences = [...document.querySelectorAll('.baseline-sentences li')].map((li) => li.textContent!.replace(/\s+/g, ' ').trim());
    assert.deepEqual(sentences, expected.sentences);
    const outcome = Math.round(cnnF1 * 1000) > Math.round(top2F1 * 1000) ? 'beats' : Math.round(cnnF1 * 1000) === Math.round(top2F1 * 1000) ? 'ties' : 'loses';
    assert.equal(document.querySelector('.baseline-matrix tr[data-model="cnn"] td[data-baseline="two-most-frequent"]')!.getAttribute('data-outcome'), outcome);
    const cnnSentence = sentences.find((s) => s.startsWith(`The ${analysis.classifiers[0].title} (micro F1 ${cnnF1.toFixed(3)})`));
    assert.ok(cnnSentence, sentences.join('\n'));
    const top2Title = analysis.classifiers.find((c) => c.id === 'two-most-frequent')!.title;
    assert.ok(cnnSentence.includes(`${top2Title} (${top2F1.toFixed(3)})`), cnnSentence);
    const home = dom('index.html').querySelector('.baseline-headline')!.textContent!.replace(/\s+/g, ' ');
    assert.ok(home.includes(expected.headline), home);

    // Per-genre tables of both models and the fusion, every genre; every chart of the page present.
    for (const id of ['cnn', 'lstm', 'fusion', 'gmu']) {
      assert.equal(document.querySelectorAll(`.analysis-genres[data-classifier="${id}"] tbody tr`).length, genres.length, id);
      assert.equal(document.querySelectorAll(`.threshold-genres[data-classifier="${id}"] tbody tr`).length, genres.length, id);
    }
    for (const id of [
      'analysis-scores',
      'analysis-pr-micro',
      'analysis-pr-genres',
      'analysis-frequency',
      'analysis-thresholds',
      'analysis-fusion-weight',
      'analysis-gmu-training',
    ]) {
      assert.ok(document.querySelector(`figure.chart#${id}`), id);
    }
    // The learned fusion in every comparison: the verdict matrix, the charts' data, its own section.
    assert.ok(document.querySelector('.baseline-matrix tr[data-model="gmu"]'), 'GMU row in the baseline matrix');
    assert.ok(
      sentences.some((s) => s.startsWith(`The learned fusion (micro F1 ${gmuF1.toFixed(3)})`)),
      sentences.join('\n'),
    );
    const charted = new Map(specs().map((spec) => [spec.id, spec]));
    const title = analysis.classifiers.find((c) => c.id === 'gmu')!.title;
    for (const id of ['analysis-scores', 'analysis-pr-micro', 'analysis-pr-genres', 'analysis-frequency', 'analysis-thresholds']) {
      assert.ok(
        charted.get(id)!.data.some((row) => row.classifier === title || row.series === title),
        `${id} draws the learned fusion`,
      );
    }
    const gmuHistory = GmuHistoryArtifactSchema.parse(artifact('fusion-gmu.json'));
    const learned = document.querySelector('.gmu-sentences')!.textContent!.replace(/\s+/g, ' ');
    assert.match(learned, new RegExp(`epoch ${gmuHistory.chosenEpoch + 1} had the lowest loss`));
    assert.match(
      learned,
      new RegExp(`micro F1 ${gmuF1.toFixed(3)} at 0\\.5, which (beats|ties with|does not beat) the late fusion \\(${fusionF1.toFixed(3)}\\)`),
    );
    // The comparison page carries the baselines too: table rows and rules on the validation curves.
    const comparison = dom('comparison/index.html');
    // The coursework's four, the three strong models and the four baselines.
    assert.equal(comparison.querySelectorAll('.analysis-summary tbody tr').length, 11);
    assert.ok(comparison.querySelector('.analysis-summary tr[data-classifier="gmu"]'));
    assert.match(
      comparison.querySelector('#compare-f1 .chart-description')!.textContent!,
      new RegExp(`${top2Title.replace(/[+]/g, '\\+')} ${top2F1.toFixed(3)}`),
    );
    // Per genre on the comparison page: both models and the learned fusion, F1 at 0.5 recomputed from the published probabilities.
    const genreF1 = (p: Map<string, number[]>, g: number) => {
      let tp = 0,
        fp = 0,
        fn = 0;
      for (const id of split.validation) {
        const predicted = p.get(id)![g] > 0.5;
        const truth = labelled.get(id)![g];
        if (predicted && truth) tp++;
        else if (predicted) fp++;
        else if (truth) fn++;
      }
      return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    };
    const compared = { cnn, lstm, gmu } as const;
    const ids = ['cnn', 'lstm', 'gmu'] as const;
    const withFilms = genres
      .map((genre, g) => ({ genre, g, support: split.validation.filter((id) => labelled.get(id)![g]).length }))
      .filter((x) => x.support > 0);
    const alone = { cnn: 0, lstm: 0, gmu: 0 };
    let shared = 0;
    const bestOfGenre = new Map<string, string[]>();
    for (const { genre, g } of withFilms) {
      const f = ids.map((id) => Math.round(genreF1(compared[id], g) * 1000));
      const best = ids.filter((_, i) => f[i] === Math.max(...f));
      bestOfGenre.set(genre, [...best]);
      if (best.length === 1) alone[best[0]]++;
      else shared++;
    }
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const titleOf = (id: string) => analysis.classifiers.find((c) => c.id === id)!.title;
    const genreChart = comparison.querySelector('#compare-genre-f1 .chart-description')!.textContent!;
    assert.match(
      genreChart,
      new RegExp(
        `Highest F1 alone: ${ids.map((id) => `${escape(titleOf(id))} ${alone[id]}`).join(', ')}; shared by two or more \\(equal to three decimals\\) ${shared}\\.`,
      ),
      genreChart,
    );
    const tableRows = [...comparison.querySelectorAll('table.genre-comparison tbody tr')];
    assert.deepEqual(
      tableRows.map((tr) => tr.getAttribute('data-genre')),
      withFilms.sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre)).map((x) => x.genre),
    );
    for (const tr of tableRows)
      assert.deepEqual(tr.getAttribute('data-best')!.split(' '), bestOfGenre.get(tr.getAttribute('data-genre')!), tr.getAttribute('data-genre')!);
    assert.equal(comparison.querySelector('.genre-leaders')!.textContent!.replace(/\s+/g, ' ').trim(), genreLeaderSentences(analysis).join(' '));
    assert.match(
      comparison.querySelector('.genre-leaders')!.textContent!,
      new RegExp(`to the learned fusion alone on ${alone.gmu}; ${shared} (is|are) shared`),
    );
  });

  test('the ablations page: each ablation’s setting, sentences and table as computed from ablations.json; the CNN’s loss chart', async () => {
    await fixtureBuild();
    const ablations = AblationsArtifactSchema.parse(artifact('ablations.json'));
    const titles = modelTitles({
      cnn: HistoryArtifactSchema.parse(artifact('history-cnn.json')),
      lstm: HistoryArtifactSchema.parse(artifact('history-lstm.json')),
    });
    assert.deepEqual(
      ablations.ablations.map((a) => a.id),
      ABLATIONS,
    );
    const document = dom('ablations/index.html');
    const text = (element: Element) => element.textContent!.replace(/\s+/g, ' ').trim();
    assert.equal(document.querySelector('.ablations-none'), null, 'this build ran ablations');
    for (const a of ablations.ablations) {
      const section = document.querySelector(`section#ablation-${a.id}`)!;
      assert.ok(section, a.id);
      assert.equal(text(section.querySelector('h2')!), a.title);
      assert.equal(section.querySelector('.ablation-setting code')!.textContent, a.setting);
      const items = [...section.querySelectorAll('.ablation-sentences li')].map(text);
      assert.deepEqual(
        items,
        ablationParagraphs(ablations, a, titles).map((sentences) => sentences.join(' ')),
        `${a.id}: one item per model`,
      );
      assert.equal(section.querySelectorAll('table.ablation-table tbody tr').length, 2 * a.models.length, 'the main run and the ablation per model');
    }
    // The CNN retrained with augmented posters: its micro F1 and difference from the main run, as in the artifact.
    const augmented = ablations.ablations[0].models[0];
    assert.equal(augmented.source, 'trained');
    const row = document.querySelector(`table[data-ablation="poster-augmentation"] tr[data-model="cnn"][data-run="poster-augmentation"]`)!;
    const microF1 = row.querySelector('td[data-metric="microF1"]')!;
    assert.equal(microF1.firstChild!.textContent!.trim(), augmented.figures.validation.microF1.toFixed(3));
    const expected = ablationRows(ablations, ablations.ablations[0], titles)[0].cells.find((c) => c.key === 'microF1')!;
    assert.equal(microF1.querySelector('.delta')!.textContent, expected.delta);
    const main = document.querySelector(`table[data-ablation="poster-augmentation"] tr[data-model="cnn"][data-run="main"] td[data-metric="microF1"]`)!;
    assert.equal(main.textContent!.trim(), ablations.main.cnn.validation.microF1.toFixed(3));
    // One epoch: early stopping is the main run for both models, and the page says why.
    const same = [...document.querySelectorAll('table[data-ablation="early-stopping"] tr[data-source="same-as-main"]')];
    assert.equal(same.length, 2);
    for (const tr of same) assert.equal(tr.querySelector('td.run .note')!.textContent, 'same as the main run');
    const why = [...document.querySelectorAll('#ablation-early-stopping .ablation-sentences li')].map(text);
    assert.match(
      why[0],
      /^Early stopping: the Poster CNN’s figures are the main run’s \(micro F1 \d\.\d{3}, validation loss \d\.\d{3}\)\. The main run’s validation loss never went \d+ epochs without improving/,
    );
    // Charts: the CNN (retrained), not the LSTM (only ever the main run here).
    assert.ok(document.querySelector(`figure.chart#${ablationChartId('cnn')}`));
    assert.equal(document.querySelector(`figure.chart#${ablationChartId('lstm')}`), null);
    assert.ok(text(dom('index.html').querySelector('.section-links')!).includes('Ablations —'), 'the home page lists the page');
  });

  test('every chart and table names its source (an artifact that exists › its fields); a figure shown twice agrees', async () => {
    await fixtureBuild();
    const published = new Set(readdirSync(paths.artifacts));
    const checkSource = (source: Element | null, where: string) => {
      assert.ok(source?.classList.contains('source'), `${where} has a source line`);
      const fields = [...source!.querySelectorAll('code')].map((code) => code.textContent!);
      assert.ok(fields.length > 0, `${where} names at least one field`);
      for (const field of fields) {
        const [files, path] = field.split(' › ');
        assert.ok(path && path.length > 0, `${where}: "${field}" names a field`);
        for (const file of files.split(', ')) assert.ok(published.has(file), `${where}: ${file} is a published artifact`);
      }
    };
    for (const page of PAGES.filter((p) => p !== 'demo/index.html')) {
      const document = dom(page);
      for (const figure of document.querySelectorAll('figure.chart')) checkSource(figure.querySelector('.source'), `${page} #${figure.getAttribute('id')}`);
      for (const table of document.querySelectorAll('table')) {
        // The source line follows the table, or the element that wraps it (a scrolling box, a section).
        let element: Element | null = table;
        while (element && !element.nextElementSibling?.classList.contains('source') && element.parentElement?.tagName !== 'MAIN')
          element = element.parentElement;
        checkSource(element?.nextElementSibling ?? null, `${page} table “${table.querySelector('caption')?.textContent?.trim().slice(0, 40) ?? ''}”`);
      }
    }
    // The verdict's micro F1 (history-*.json › best) and the summary table's (analysis.json › classifiers[].atDefault) agree.
    const verdictCells = [...dom('index.html').querySelector('tr[data-metric="microF1"]')!.querySelectorAll('td')].map((td) => td.textContent!.trim());
    for (const [i, model] of (['cnn', 'lstm'] as const).entries()) {
      const row = dom('comparison/index.html').querySelector(`.analysis-summary tr[data-classifier="${model}"] td[data-metric="microF1"]`)!;
      assert.equal(row.textContent!.trim(), verdictCells[i], `${model}: the verdict and the summary table show the same micro F1`);
    }
  });

  test('every chart is an accessible inline SVG with a permalink and valid downloads', async () => {
    await fixtureBuild();
    const expected = specs();
    const seen = new Set<string>();
    for (const page of PAGES) {
      const document = dom(page);
      for (const figure of document.querySelectorAll('figure.chart')) {
        const id = figure.getAttribute('id')!;
        seen.add(id);
        const svg = figure.querySelector('svg')!;
        assert.ok(svg, `${page} #${id} has an inline SVG`);
        assert.equal(svg.getAttribute('role'), 'img', `${id} role`);
        const [titleId, descId] = svg.getAttribute('aria-labelledby')!.split(' ');
        const title = svg.querySelector('title')!;
        assert.equal(title.getAttribute('id'), titleId);
        assert.ok(title.textContent!.length > 3, `${id} title`);
        assert.ok(svg.querySelector(`desc[id="${descId}"]`)!.textContent!.length > 20, `${id} desc`);
        assert.equal(figure.querySelector(`a.permalink`)!.getAttribute('href'), `#${id}`);
        const downloads = [...figure.querySelectorAll('.downloads a')].map((a) => a.getAttribute('href'));
        assert.deepEqual(
          downloads,
          ['csv', 'json', 'svg', 'png'].map((ext) => `/charts/${id}.${ext}`),
        );
      }
    }
    assert.deepEqual([...seen].sort(), expected.map((s) => s.id).sort(), 'every chart appears on some page');

    for (const spec of expected) {
      const file = (ext: string) => readFileSync(join(paths.out, 'charts', `${spec.id}.${ext}`));
      const rows = parse(file('csv'), { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, spec.data.length, `${spec.id}.csv rows`);
      assert.deepEqual(Object.keys(rows[0]), Object.keys(spec.data[0]), `${spec.id}.csv columns`);
      const json = JSON.parse(file('json').toString('utf8'));
      assert.equal(json.id, spec.id);
      assert.deepEqual(json.data, JSON.parse(JSON.stringify(spec.data)));
      const svg = file('svg').toString('utf8');
      assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${spec.id}.svg`);
      assert.ok(!svg.includes('var(--'), `${spec.id}.svg has concrete colours`);
      const png = file('png');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${spec.id}.png signature`);
      const meta = await sharp(png).metadata();
      assert.ok(meta.width! >= 300 && meta.height! >= 150, `${spec.id}.png size`);
    }
  });

  test('one example card per validation film, overview escaped, thumbnails and models published', async () => {
    await fixtureBuild();
    const split = SplitArtifactSchema.parse(artifact('split.json'));
    const examples = ExamplesArtifactSchema.parse(artifact('examples.json'));
    PredictionsArtifactSchema.parse(artifact('predictions-cnn.json'));
    assert.deepEqual(
      examples.films.map((f) => f.id),
      split.validation,
    );

    const page = html('examples/index.html');
    assert.ok(!page.includes('<script>alert'), 'no overview markup reaches the page as markup');
    assert.ok(!/<img src=x/.test(page));
    const document = dom('examples/index.html');
    const cards = [...document.querySelectorAll('#films article.film')];
    assert.equal(cards.length, split.validation.length);
    const hostile = examples.films.filter((film) => film.overview.includes('<script>'));
    assert.ok(hostile.length > 0, 'some validation film carries markup in its overview');
    for (const [i, film] of examples.films.entries()) {
      const card = cards[i];
      assert.equal(card.getAttribute('id'), filmAnchor(film.id));
      const idLink = card.querySelector('.film-title a');
      if (/^tt\d+$/.test(film.id)) {
        assert.equal(idLink?.getAttribute('href'), `https://www.imdb.com/title/${film.id}/`, `${film.id}: links to IMDb`);
        assert.equal(idLink?.getAttribute('target'), '_blank');
        assert.equal(idLink?.getAttribute('rel'), 'noopener noreferrer');
        assert.equal(idLink?.textContent, film.id);
      } else {
        assert.equal(idLink, null, `${film.id}: not an IMDb id, so plain text`);
      }
      assert.equal(card.querySelector('.overview')!.textContent, film.overview, `${film.id}: the overview shows as text`);
      assert.match(card.getAttribute('data-outcome')!, /^(both-right|both-wrong|cnn-only|lstm-only)$/);
      assert.deepEqual(card.getAttribute('data-genres')!.split('|'), film.genres);
      assert.equal(card.querySelectorAll('.guess').length, 2);
      assert.equal(card.querySelectorAll('.guess li').length, 6);
      const src = card.querySelector('img')!.getAttribute('src')!;
      assert.equal(src, `/generated/${film.thumbnail}`);
      const thumbnail = await sharp(join(paths.out, src)).metadata();
      assert.deepEqual([thumbnail.format, thumbnail.width, thumbnail.height], ['webp', 100, 150]);
    }
    assert.ok(examples.films.some((f) => /^tt\d+$/.test(f.id)) && examples.films.some((f) => !/^tt\d+$/.test(f.id)), 'both kinds of id among the cards');
    assert.match(page, /&lt;script&gt;alert\(/, 'the markup is shown escaped');
    for (const model of ['cnn', 'lstm', 'gmu']) {
      for (const file of ['model.json', 'weights.bin', 'metadata.json']) {
        assert.ok(existsSync(join(paths.out, 'generated', 'models', model, file)), `${model}/${file} published under generated/ (the live demo loads it)`);
      }
    }
  });

  test('explained cards show the CNN’s occlusion map over the poster and the LSTM’s word importance on the overview', async () => {
    await fixtureBuild();
    const examples = ExamplesArtifactSchema.parse(artifact('examples.json'));
    const explanations = ExplanationsArtifactSchema.parse(artifact('explanations.json'));
    const predictions = {
      cnn: PredictionsArtifactSchema.parse(artifact('predictions-cnn.json')),
      lstm: PredictionsArtifactSchema.parse(artifact('predictions-lstm.json')),
    };
    assert.equal(explanations.trainingKey, RunArtifactSchema.parse(artifact('run.json')).trainingKey);
    // Which films: the home page's curated three and the first EXPLAIN_FIRST, in example order.
    const curated = curatedExamples(buildExamples(examples, predictions)).map((pick) => pick.example.id);
    assert.deepEqual(explanations.selection.curated, curated);
    const ids = examples.films.map((film) => film.id);
    const chosen = new Set([...curated, ...ids.slice(0, EXPLAIN_FIRST)]);
    assert.deepEqual(
      explanations.films.map((film) => film.id),
      ids.filter((id) => chosen.has(id)),
    );
    assert.ok(explanations.films.length < ids.length, 'some films are not explained');
    const vocabulary = new Set<string>(JSON.parse(readFileSync(join(paths.public, 'models', 'lstm', 'metadata.json'), 'utf8')).input.vocabulary);
    const byId = new Map(explanations.films.map((film) => [film.id, film]));
    const document = dom('examples/index.html');
    let beyond = 0;
    for (const [row, film] of examples.films.entries()) {
      const card = document.querySelector(`#${filmAnchor(film.id)}`)!;
      const explanation = byId.get(film.id);
      if (!explanation) {
        assert.equal(card.getAttribute('data-explained'), null, film.id);
        assert.equal(card.querySelectorAll('svg.heatmap, .overview .w, .word-summary').length, 0, `${film.id}: no explanation shown`);
        continue;
      }
      assert.equal(card.getAttribute('data-explained'), 'true', film.id);
      // The models were fed as in training: their top genre and probability are the published predictions'.
      for (const [model, part] of [
        ['cnn', explanation.poster],
        ['lstm', explanation.overview],
      ] as const) {
        const published = predictions[model].films[row];
        assert.equal(part.genre, published.top3[0].genre, `${film.id}: ${model} top genre`);
        assert.ok(
          Math.abs(part.probability - published.top3[0].probability) < 1e-4,
          `${film.id}: ${model} probability ${part.probability} vs ${published.top3[0].probability}`,
        );
      }
      // The heatmap lies over the thumbnail, in the poster file's pixels, one rect per patch worth drawing.
      const svg = card.querySelector('.poster svg.heatmap')!;
      assert.ok(svg, `${film.id}: heatmap`);
      assert.equal(card.querySelector('.poster img')!.getAttribute('src'), `/generated/${film.thumbnail}`);
      const poster = await sharp(join(paths.dataset, 'Images', `${film.id}.jpg`)).metadata();
      assert.equal(svg.getAttribute('viewBox'), `0 0 ${poster.width} ${poster.height}`);
      assert.equal(svg.getAttribute('preserveAspectRatio'), 'xMidYMid slice', 'cropped like the cover thumbnail');
      assert.match(svg.getAttribute('aria-label')!, new RegExp(`^Occlusion map of the CNN’s ${explanation.poster.genre} probability`));
      assert.equal(explanation.poster.drops.length, 64, '8 × 8 patches');
      const maxDrop = Math.max(...explanation.poster.drops.map(Math.abs));
      const drawn = explanation.poster.drops.filter((d) => maxDrop > 0 && Math.abs(d) / maxDrop >= 0.04);
      const rects = [...svg.querySelectorAll('rect')];
      assert.equal(rects.length, drawn.length, `${film.id}: rects`);
      assert.ok(rects.length > 0);
      rects.forEach((rect, k) => {
        assert.equal(rect.getAttribute('class'), drawn[k] > 0 ? 'support' : 'oppose');
        assert.match(rect.querySelector('title')!.textContent!, new RegExp(`covered: ${explanation.poster.genre} [−+]\\d+\\.\\d+ pts$`));
      });
      // The overview still reads as its text; each scored word carries its value in its title.
      assert.equal(card.querySelector('.overview')!.textContent, film.overview, `${film.id}: the overview shows as text`);
      const segments = explanation.overview.segments;
      assert.equal(segments.map((s) => s.text).join(''), film.overview);
      const tokens = tokenize(film.overview);
      assert.deepEqual(
        segments.flatMap((s) => (s.token === null ? [] : [s.token])),
        tokens,
      );
      assert.deepEqual(
        segments.flatMap((s) => (s.position === null ? [] : [s.position])),
        [...Array(Math.min(tokens.length, SEQUENCE_LENGTH)).keys()],
      );
      const scored = segments.filter((s) => s.score !== null);
      for (const s of segments) {
        if (s.token === null) continue;
        const shouldScore = s.position !== null && vocabulary.has(s.token);
        assert.equal(
          s.score !== null,
          shouldScore,
          `${film.id}: "${s.text}" (${s.token}, position ${s.position}) scored only inside the sequence and the vocabulary`,
        );
        if (s.position === null) beyond++;
      }
      const spans = [...card.querySelectorAll('.overview .w')].filter((span) => span.getAttribute('title')!.startsWith('without it'));
      assert.deepEqual(
        spans.map((span) => span.textContent),
        scored.map((s) => s.text),
      );
      spans.forEach((span, k) => {
        const score = scored[k].score!;
        const sign = score > 0 ? '−' : score < 0 ? '\\+' : '±';
        assert.match(span.getAttribute('title')!, new RegExp(`^without it: ${explanation.overview.genre} ${sign}\\d+\\.\\d+ pts$`));
      });
      assert.equal(
        card.querySelectorAll('.overview .w.support, .overview .w.oppose').length > 0,
        scored.some((s) => s.score !== 0),
        `${film.id}: words are tinted`,
      );
      assert.match(card.querySelector('.word-summary')!.textContent!, new RegExp(`^LSTM, ${explanation.overview.genre} \\(`));
    }
    assert.ok(beyond > 0, `some overview is longer than ${SEQUENCE_LENGTH} tokens: its later words are not scored`);
    // The home page's curated cards are always explained.
    assert.equal(dom('index.html').querySelectorAll('.curated .film[data-explained="true"] svg.heatmap').length, 3);
    assert.match(html('examples/index.html'), /<strong>Explanations\.<\/strong> The 3 curated films/);
  });

  test('artifacts from different runs fail the site build with a clear message', async () => {
    await fixtureBuild();
    const file = join(paths.artifacts, 'examples.json');
    const saved = readFileSync(file);
    const examples = JSON.parse(saved.toString('utf8'));
    examples.films.reverse();
    writeFileSync(file, JSON.stringify(examples));
    // An outDir inside the project, so Astro's prerender bundle is private to this build.
    const outDir = join(root, '.astro', 'builds', `stale-${process.pid}`);
    try {
      await assert.rejects(
        run(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `
          process.env.GENRELENS_ARTIFACTS_DIR = ${JSON.stringify(paths.artifacts)};
          const { build } = await import('astro');
          await build({ root: ${JSON.stringify(root)}, outDir: ${JSON.stringify(outDir)}, cacheDir: ${JSON.stringify(join(paths.cache, 'astro-stale'))}, logLevel: 'error' });
        `,
          ],
          { cwd: root, maxBuffer: 64 * 1024 * 1024 },
        ),
        (error: Error & { stderr?: string }) => {
          assert.match(`${error.message}\n${error.stderr}`, /examples\.json and predictions-cnn\.json list different validation films/);
          return true;
        },
      );
    } finally {
      writeFileSync(file, saved);
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
