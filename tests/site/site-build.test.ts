/**
 * Golden-path build: a generated dataset → `genrelens build` (data stage, training for one epoch,
 * site) → static HTML whose numbers match the artifacts. Also: a malformed artifact fails the site
 * build loudly; a second build reuses the trained models; `evaluate` on the validation films
 * reproduces the metrics computed independently from the published predictions.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { TestSetArtifactSchema } from '../../pipeline/lib/contract/contract.ts';
import {
  AblationsArtifactSchema,
  AnalysisArtifactSchema,
  DatasetArtifactSchema,
  GmuModelMetadataSchema,
  HistoryArtifactSchema,
  PredictionsArtifactSchema,
  RunArtifactSchema,
  ARTIFACTS,
  artifactFile,
  MODEL_KINDS,
  type ArtifactId,
} from '../../pipeline/lib/contract/contract.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { fixtureFlags, fixtureWorkspace, projectRoot, runCli, writeCsvRows } from '../helpers/fixture-build.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';

const root = projectRoot;
const paths = fixtureWorkspace('genrelens-site-');
const { work } = paths;
const cli = (...args: string[]) => runCli(args);
const common = () => fixtureFlags(paths);
const readArtifact = (name: string) => JSON.parse(readFileSync(join(paths.artifacts, name), 'utf8'));
let firstBuild = '';
/** A folder of the validation films only, in the coursework layout (made by the evaluate test). */
const validationOnly = join(work, 'validation-only');

before(async () => {
  await writeDemoDataset(paths.dataset, { films: 60, seed: 11 }, recordingEffects());
  const { stdout, stderr } = await cli('build', ...common());
  firstBuild = stdout + stderr;
});

test('the build writes exactly the artifacts of the registry, each following its schema', () => {
  // Every artifact but test-set.json, which only a build with --test-set writes.
  const written = (Object.keys(ARTIFACTS) as ArtifactId[]).filter((id) => id !== 'testSet');
  const expected = written.flatMap((id) => (typeof ARTIFACTS[id].file === 'string' ? [artifactFile(id)] : MODEL_KINDS.map((model) => artifactFile(id, model))));
  assert.deepEqual(
    readdirSync(paths.artifacts)
      .filter((name) => name.endsWith('.json'))
      .sort(),
    expected.sort(),
  );
  for (const id of written) {
    for (const file of typeof ARTIFACTS[id].file === 'string' ? [artifactFile(id)] : MODEL_KINDS.map((model) => artifactFile(id, model))) {
      const parsed = ARTIFACTS[id].schema.safeParse(readArtifact(file));
      assert.ok(parsed.success, `${file}: ${JSON.stringify(parsed.error?.issues[0])}`);
    }
  }
});

test('the build trains both models and writes valid training artifacts', () => {
  assert.match(firstBuild, /Poster CNN: training 1 epochs on 48 films/);
  assert.match(firstBuild, /Overview BiLSTM: training 1 epochs on 48 films/);
  const run = RunArtifactSchema.parse(readArtifact('run.json'));
  assert.equal(run.profile, 'quick', 'synthetic data defaults to the quick profile');
  assert.equal(run.models.cnn.params, 3_464_601);
  assert.equal(run.models.lstm.params, 4_303_129);
  for (const model of ['cnn', 'lstm']) {
    const history = HistoryArtifactSchema.parse(readArtifact(`history-${model}.json`));
    assert.equal(history.epochs.length, 1);
    const predictions = PredictionsArtifactSchema.parse(readArtifact(`predictions-${model}.json`));
    assert.equal(predictions.films.length, 12);
    for (const film of predictions.films) {
      const sorted = film.probabilities
        .map((p, g) => ({ p, g }))
        .sort((a, b) => b.p - a.p)
        .slice(0, 3);
      assert.deepEqual(
        film.top3.map((t) => t.genre),
        sorted.map(({ g }) => predictions.genres[g]),
      );
    }
    const metadata = JSON.parse(readFileSync(join(paths.public, 'models', model, 'metadata.json'), 'utf8'));
    assert.equal(metadata.input.kind, model === 'cnn' ? 'poster' : 'overview');
  }
  // The learned fusion, published for the live demo beside the two models: its metadata says which of their layers feed it.
  const gmu = GmuModelMetadataSchema.parse(JSON.parse(readFileSync(join(paths.public, 'models', 'gmu', 'metadata.json'), 'utf8')));
  assert.equal(gmu.key, readArtifact('fusion-gmu.json').key);
  assert.equal(gmu.trainingKey, run.trainingKey);
  assert.deepEqual([gmu.input.visual.layer, gmu.input.textual.layer], ['FC2', 'dense']);
});

test('the build prints no warning line and no stack trace (a new one fails here)', () => {
  const warnings = firstBuild.split('\n').filter((line) => /\bwarn(ing)?\b|^\s+at /i.test(line));
  assert.deepEqual(warnings, []);
});

test('the build writes analysis.json: baselines from the training films, every classifier on the validation films', () => {
  assert.match(firstBuild, /Analysis: validation micro F1 at 0\.5 — Poster CNN \d\.\d{3}, Overview BiLSTM \d\.\d{3}, Late fusion/);
  const analysis = AnalysisArtifactSchema.parse(readArtifact('analysis.json'));
  const dataset = DatasetArtifactSchema.parse(readArtifact('dataset.json'));
  assert.equal(analysis.trainFilms, dataset.split.trainCount);
  assert.equal(analysis.validationFilms, dataset.split.validationCount);
  // The priors and the most frequent genres agree with the dataset artifact's training label counts.
  assert.deepEqual(
    analysis.baselines.priors,
    dataset.labelCounts.map((row) => row.train / dataset.split.trainCount),
  );
  const byTrain = dataset.labelCounts.map((row, i) => ({ ...row, i })).sort((a, b) => b.train - a.train || a.i - b.i);
  assert.deepEqual(analysis.baselines.mostFrequent, [byTrain[0].genre, byTrain[1].genre]);
  assert.deepEqual(
    analysis.classifiers.map((c) => c.id),
    ['cnn', 'lstm', 'fusion', 'gmu', 'text-linear', 'poster-linear', 'stacked', 'genre-priors', 'most-frequent', 'two-most-frequent', 'every-genre'],
  );
  for (const c of analysis.classifiers) {
    // Support per genre is the validation label count, whatever the classifier.
    assert.deepEqual(
      c.perGenre.map((g) => g.support),
      dataset.labelCounts.map((row) => row.validation),
      c.id,
    );
    assert.equal(c.tuned === null, c.kind === 'baseline', c.id);
    for (const curve of [c.curves.micro, ...c.curves.perGenre]) if (curve) assert.ok(curve.recall.length <= 100, `${c.id}: ${curve.recall.length} points`);
  }
});

test('a second build reuses the trained models', async () => {
  const first = RunArtifactSchema.parse(readArtifact('run.json'));
  assert.equal(first.training.parallel, availableParallelism() > 1, 'two models train at the same time when there are two cores');
  const { stdout } = await cli('train', ...common());
  assert.match(stdout, /Poster CNN: reusing the trained model from the cache/);
  assert.match(stdout, /Overview BiLSTM: reusing the trained model from the cache/);
  assert.match(stdout, /Learned fusion \(GMU\): reusing the trained fusion from the cache/);
  assert.match(stdout, /Explanations: reusing explanations\.json/);
  const again = RunArtifactSchema.parse(readArtifact('run.json'));
  assert.equal(again.models.cnn.cached, true);
  assert.deepEqual(again.training, first.training, 'the reused models report the run that trained them');
});

test('evaluate on the validation films matches metrics computed from the published predictions, and analysis.json for every classifier', async () => {
  // A dataset folder holding only the validation films, in the same layout.
  const predictions = { cnn: readArtifact('predictions-cnn.json'), lstm: readArtifact('predictions-lstm.json') };
  const validation = new Set<string>(predictions.cnn.films.map((f: { id: string }) => f.id));
  const csvText = readFileSync(join(paths.dataset, 'IMDB_overview_genres.csv'), 'utf8');
  const rows = parse(csvText, { columns: true }) as Record<string, string>[];
  const header = csvText.slice(0, csvText.indexOf('\n'));
  const subset = validationOnly;
  mkdirSync(join(subset, 'Images'), { recursive: true });
  const kept = rows.filter((row) => validation.has(row.Id));
  writeCsvRows(join(subset, 'IMDB_overview_genres.csv'), header, kept);
  for (const row of kept) copyFileSync(join(paths.dataset, 'Images', `${row.Id}.jpg`), join(subset, 'Images', `${row.Id}.jpg`));

  const out = join(work, 'evaluation.json');
  await cli('evaluate', subset, '--models', join(paths.public, 'models'), '--artifacts-dir', paths.artifacts, '--out', out, '--cache-dir', paths.cache);
  const evaluation = TestSetArtifactSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.equal(evaluation.dataset.films, validation.size);
  assert.equal(evaluation.dataset.scored, validation.size);
  assert.equal(evaluation.dataset.inTraining.count, 0);
  assert.equal(evaluation.dataset.inValidation.count, validation.size, 'every film is reported as a validation film');
  // The same films with the same decisions: every classifier's figures are analysis.json's.
  const analysis = readArtifact('analysis.json');
  assert.deepEqual(
    evaluation.classifiers.map((c) => c.id),
    analysis.classifiers.map((c: { id: string }) => c.id),
  );
  for (const c of evaluation.classifiers) {
    const expected = analysis.classifiers.find((a: { id: string }) => a.id === c.id);
    // The learned fusion runs from its published (float32) model here and from the fitted head in the stage: equal to rounding.
    const tolerance = c.id === 'gmu' ? 0.02 : 1e-12;
    for (const key of ['microF1', 'macroF1'] as const) {
      assert.ok(Math.abs(c.atDefault[key] - expected.atDefault[key]) <= tolerance, `${c.id} ${key} at 0.5: ${c.atDefault[key]} vs ${expected.atDefault[key]}`);
      if (c.decided) assert.ok(Math.abs(c.decided.shared[key] - expected.decided.shared[key]) <= tolerance, `${c.id} decided ${key}`);
    }
    assert.ok(Math.abs((c.meanAP ?? 0) - (expected.meanAP ?? 0)) <= tolerance, `${c.id} mAP`);
  }
  const models = Object.fromEntries(evaluation.classifiers.map((c) => [c.id, c]));

  for (const model of ['cnn', 'lstm'] as const) {
    // Independent micro-F1 and BCE from the published probabilities (threshold: strictly above 0.5).
    const genres: string[] = predictions[model].genres;
    let tp = 0,
      fp = 0,
      fn = 0,
      bce = 0,
      n = 0;
    for (const film of predictions[model].films) {
      const row = kept.find((r) => r.Id === film.id)!;
      film.probabilities.forEach((p: number, g: number) => {
        const truth = row[genres[g]] === '1';
        const predicted = p > 0.5;
        if (predicted && truth) tp++;
        else if (predicted) fp++;
        else if (truth) fn++;
        const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
        bce -= truth ? Math.log(q) : Math.log(1 - q);
        n++;
      });
    }
    const microF1 = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    assert.ok(Math.abs(models[model].atDefault.microF1 - microF1) < 1e-9, `${model} micro F1`);
    assert.ok(Math.abs(models[model].loss! - bce / n) < 1e-4, `${model} loss`);
  }
});

test('a rebuild with --test-set, every model cached, scores the folder as evaluate does', async () => {
  const { stdout } = await cli('train', ...common(), '--test-set', validationOnly);
  assert.match(stdout, /Poster CNN: reusing the trained model from the cache/);
  assert.match(stdout, /Strong models: reusing the fitted models from the cache/);
  assert.match(stdout, /Test set: scoring every classifier on /);
  const testSet = TestSetArtifactSchema.parse(readArtifact('test-set.json'));
  const evaluation = TestSetArtifactSchema.parse(JSON.parse(readFileSync(join(work, 'evaluation.json'), 'utf8')));
  assert.deepEqual(testSet.classifiers, evaluation.classifiers);
  assert.deepEqual(testSet.bootstrap, evaluation.bootstrap);
  // Without --test-set, the next run removes it: no stale Test set page.
  await cli('train', ...common());
  assert.throws(() => readArtifact('test-set.json'), /ENOENT/);
});

test('the dataset page shows the artifact numbers and says the data is synthetic', () => {
  const artifact = JSON.parse(readFileSync(join(paths.artifacts, 'dataset.json'), 'utf8'));
  const html = readFileSync(join(paths.out, 'dataset/index.html'), 'utf8');
  assert.match(html, /Synthetic data\./);
  assert.match(html, new RegExp(`>${artifact.films}<`));
  assert.match(html, new RegExp(`>${artifact.split.trainCount}<`));
  assert.match(html, new RegExp(`>${artifact.split.validationCount}<`));
  for (const row of artifact.labelCounts) {
    if (row.train + row.validation === 0) continue;
    const cells = new RegExp(`${row.genre.replace(/[-/]/g, '\\$&')}</th>\\s*<td class="num">${row.train}</td>\\s*<td class="num">${row.validation}</td>`);
    assert.match(html, cells, `label counts row for ${row.genre}`);
  }
  assert.match(html, new RegExp(`Genres with no positive example: ${artifact.quality.neverPositiveGenres.join(', ')}\\.`));
  assert.match(html, new RegExp(`${artifact.films} rows read, ${artifact.films} valid, 0 skipped\\.`));
  const home = readFileSync(join(paths.out, 'index.html'), 'utf8');
  assert.match(home, /Synthetic data\./);
});

test('with no ablations configured, the ablations page says the build ran none and how to run them', () => {
  const ablations = AblationsArtifactSchema.parse(readArtifact('ablations.json'));
  assert.deepEqual(ablations.ablations, []);
  const html = readFileSync(join(paths.out, 'ablations/index.html'), 'utf8');
  assert.match(html, /This build ran no ablations/);
  assert.match(html, /<code>npm run build -- --ablations all<\/code>/);
  assert.match(html, /<code>"ablations": \[\.\.\.\]<\/code> in <code>genrelens\.config\.json<\/code>/);
  assert.doesNotMatch(html, /<figure class="chart"/, 'no ablation, no chart');
  assert.match(readFileSync(join(paths.out, 'index.html'), 'utf8'), /<a href="\/ablations\/">Ablations<\/a>/, 'the navigation lists the page');
});

test('a malformed artifact fails the site build with a message naming the field', async () => {
  const saved = readFileSync(join(paths.artifacts, 'dataset.json'));
  const artifact = JSON.parse(readFileSync(join(paths.artifacts, 'dataset.json'), 'utf8'));
  artifact.films = 'many';
  writeFileSync(join(paths.artifacts, 'dataset.json'), JSON.stringify(artifact));
  const { build } = await import('astro');
  process.env.GENRELENS_ARTIFACTS_DIR = paths.artifacts;
  await assert.rejects(() => build({ root, outDir: join(work, 'dist-bad'), logLevel: 'silent' }), /films/);
  writeFileSync(join(paths.artifacts, 'dataset.json'), saved);
});
