/**
 * The ablations page's computations (src/lib/ablations-report.ts) and its chart, on a literal
 * artifact: signed differences against the main run as displayed, better / worse / within noise,
 * the sentences (epochs saved by early stopping, a model whose figures are the main run's), and
 * the validation-loss chart per retrained model.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHTML } from 'linkedom';
import { AblationsArtifactSchema, CONTRACT_VERSION, type AblationFigures, type AblationsArtifact } from '../../pipeline/lib/contract/contract.ts';
import {
  ABLATION_COLUMNS,
  ablation,
  ablationChartId,
  ablationParagraphs,
  ablationRows,
  ablationSentences,
  chartedModels,
  displayedDelta,
  judge,
  signed,
  type AblationCell,
} from '../../src/lib/ablations-report.ts';
import { ablationLossChart } from '../../src/lib/chart-specs/index.ts';
import { renderChartSvg } from '../../src/lib/charts.ts';

const titles = { cnn: 'Poster CNN', lstm: 'Overview BiLSTM' };

function figures(overrides: Partial<Omit<AblationFigures, 'validation'>> & { validation?: Partial<AblationFigures['validation']> } = {}): AblationFigures {
  const { validation, ...rest } = overrides;
  return {
    epochsPlanned: 10,
    epochsRun: 10,
    bestEpoch: 7,
    stoppedEarlyAfterEpoch: null,
    trainingMs: 600_000,
    validationLossCurve: [0.6, 0.5, 0.45, 0.42, 0.4, 0.39, 0.385, 0.38, 0.382, 0.39],
    ...rest,
    validation: {
      loss: 0.38,
      microPrecision: 0.5,
      microRecall: 0.3,
      microF1: 0.364,
      macroF1: 0.12,
      meanAP: 0.3,
      tunedMicroF1: 0.41,
      tunedMacroF1: 0.25,
      predictedGenresPerFilm: 1.2,
      genresFound: 6,
      ...validation,
    },
  };
}

const MAIN_LSTM = figures({
  epochsPlanned: 5,
  epochsRun: 5,
  bestEpoch: 4,
  trainingMs: 300_000,
  validationLossCurve: [0.5, 0.45, 0.43, 0.42, 0.41],
  validation: { loss: 0.41, microF1: 0.3, macroF1: 0.1 },
});
const NOTE = 'The main run’s validation loss never went 3 epochs without improving, so early stopping would not have stopped it.';

const artifact: AblationsArtifact = AblationsArtifactSchema.parse({
  contractVersion: CONTRACT_VERSION,
  generatedAt: '2026-01-01T00:00:00.000Z',
  mainTrainingKey: 'main-key',
  validationFilms: 200,
  truthGenresPerFilm: 2.3,
  main: { cnn: figures(), lstm: MAIN_LSTM },
  ablations: [
    {
      id: 'class-weighted-loss',
      title: 'Class-weighted loss',
      setting: '"loss": "class-weighted-bce"',
      description: 'Rare genres count more.',
      models: [
        {
          model: 'cnn',
          source: 'trained',
          cached: false,
          trainingKey: 'cw',
          figures: figures({
            bestEpoch: 5,
            trainingMs: 612_000,
            validation: { loss: 0.395, microF1: 0.401, macroF1: 0.15, meanAP: 0.31, predictedGenresPerFilm: 2.1, genresFound: 9 },
          }),
        },
        {
          model: 'lstm',
          source: 'trained',
          cached: true,
          trainingKey: 'cw',
          figures: { ...MAIN_LSTM, validation: { ...MAIN_LSTM.validation, microF1: 0.297, loss: 0.4128 } },
        },
      ],
    },
    {
      id: 'poster-augmentation',
      title: 'Poster augmentation',
      setting: '"posterAugmentation": true',
      description: 'Mirrored and shifted posters.',
      models: [
        {
          model: 'cnn',
          source: 'trained',
          cached: false,
          trainingKey: 'pa',
          figures: figures({ validation: { microF1: 0.366, macroF1: 0.118, tunedMicroF1: 0.412, loss: 0.3791 } }),
        },
      ],
    },
    {
      id: 'early-stopping',
      title: 'Early stopping',
      setting: '"earlyStoppingPatience": 3',
      description: 'Stops after 3 epochs without improvement.',
      models: [
        {
          model: 'cnn',
          source: 'trained',
          cached: false,
          trainingKey: 'es',
          figures: figures({
            epochsRun: 6,
            bestEpoch: 2,
            stoppedEarlyAfterEpoch: 5,
            trainingMs: 360_000,
            validationLossCurve: [0.6, 0.5, 0.45, 0.46, 0.47, 0.48],
            validation: { loss: 0.45, microF1: 0.33 },
          }),
        },
        { model: 'lstm', source: 'same-as-main', cached: true, trainingKey: 'main-key', note: NOTE, figures: MAIN_LSTM },
      ],
    },
  ],
  notes: ['One run per switch and seed.'],
});

const byKey = (cells: AblationCell[], key: string) => cells.find((c) => c.key === key)!;

test('differences are signed and judged on the displayed three decimals; under 0.005 is within noise', () => {
  assert.equal(signed(0.037), '+0.037');
  assert.equal(signed(-0.012), '−0.012');
  assert.equal(signed(0.0004), '±0.000');
  assert.equal(signed(-0.25, 2), '−0.25');
  assert.equal(displayedDelta(0.4094, 0.2966), 0.112, 'the difference of 0.409 and 0.297 as shown');
  assert.equal(judge(0.304, 0.3, 'higher'), 'noise');
  assert.equal(judge(0.305, 0.3, 'higher'), 'better');
  assert.equal(judge(0.2954, 0.3, 'higher'), 'worse', '0.295 vs 0.300');
  assert.equal(judge(0.37, 0.38, 'lower'), 'better', 'a lower loss is better');
  assert.equal(judge(0.39, 0.38, 'lower'), 'worse');
});

test('table rows: per affected model, the main run’s figures and the ablation’s with signed deltas', () => {
  const rows = ablationRows(artifact, ablation(artifact, 'class-weighted-loss'), titles);
  assert.deepEqual(
    rows.map((r) => [r.model, r.title, r.source]),
    [
      ['cnn', 'Poster CNN', 'trained'],
      ['lstm', 'Overview BiLSTM', 'trained'],
    ],
  );
  const [cnn, lstm] = rows;
  assert.equal(cnn.main.length, ABLATION_COLUMNS.length);
  assert.ok(
    cnn.main.every((c) => c.delta === null && c.judgement === null),
    'the main run’s row has no deltas',
  );
  assert.deepEqual(byKey(cnn.cells, 'microF1'), { key: 'microF1', display: '0.401', delta: '+0.037', judgement: 'better' });
  assert.deepEqual(byKey(cnn.cells, 'loss'), { key: 'loss', display: '0.395', delta: '+0.015', judgement: 'worse' });
  assert.deepEqual(byKey(cnn.cells, 'microRecall'), { key: 'microRecall', display: '0.300', delta: '±0.000', judgement: 'noise' });
  assert.equal(byKey(cnn.cells, 'keptEpoch').display, '6', 'the kept epoch counted from 1');
  assert.equal(byKey(cnn.main, 'keptEpoch').display, '8');
  assert.equal(byKey(cnn.cells, 'keptEpoch').delta, '−2');
  assert.equal(byKey(cnn.cells, 'trainingTime').delta, '+12.0 s');
  assert.equal(byKey(ablationRows(artifact, ablation(artifact, 'poster-augmentation'), titles)[0].cells, 'trainingTime').delta, '±0.0 s');
  assert.deepEqual(byKey(cnn.cells, 'predictedGenresPerFilm'), { key: 'predictedGenresPerFilm', display: '2.10', delta: '+0.90', judgement: null });
  assert.equal(byKey(cnn.cells, 'genresFound').delta, '+3');
  assert.deepEqual(byKey(lstm.cells, 'loss'), { key: 'loss', display: '0.413', delta: '+0.003', judgement: 'noise' }, '0.4128 shows as 0.413');

  const [stopped, same] = ablationRows(artifact, ablation(artifact, 'early-stopping'), titles);
  assert.equal(byKey(stopped.cells, 'epochs').display, '6 / 10');
  assert.equal(byKey(stopped.cells, 'epochs').delta, '−4');
  assert.equal(byKey(stopped.main, 'epochs').display, '10 / 10');
  assert.equal(same.source, 'same-as-main');
  assert.equal(same.note, NOTE);
  assert.ok(
    same.cells.every((c) => c.delta === null),
    'a model whose figures are the main run’s shows no deltas',
  );
  assert.deepEqual(
    same.cells.map((c) => c.display),
    same.main.map((c) => c.display),
  );
  assert.throws(() => ablation(artifact, 'focal-loss'), /no "focal-loss" ablation/);
});

test('sentences: from → to with the signed change and which way is better, per affected model', () => {
  const sentences = ablationSentences(artifact, ablation(artifact, 'class-weighted-loss'), titles);
  assert.equal(
    sentences[0],
    'Class-weighted loss: the Poster CNN’s micro F1 at 0.5 goes from 0.364 to 0.401 (+0.037, better), its macro F1 from 0.120 to 0.150 (+0.030, better), ' +
      'its mAP from 0.300 to 0.310 (+0.010, better); its validation loss goes from 0.380 to 0.395 (+0.015, worse: lower is better).',
  );
  assert.equal(
    sentences[1],
    'With thresholds tuned on the training films, its micro F1 goes from 0.410 to 0.410 (±0.000, within noise) and its macro F1 from 0.250 to 0.250 (±0.000, within noise).',
  );
  assert.equal(
    sentences[2],
    'At 0.5 it predicts 2.10 genres per film (main run 1.20), closer to the 2.30 the validation films carry, and makes at least one correct prediction in 9 genres (main run 6).',
  );
  const lstm = sentences.find((s) => s.startsWith('The Overview BiLSTM’s'))!;
  assert.match(lstm, /micro F1 at 0\.5 goes from 0\.300 to 0\.297 \(−0\.003, within noise\)/);
  assert.match(lstm, /validation loss goes from 0\.410 to 0\.413 \(\+0\.003, within noise\)\.$/);
  assert.ok(!sentences.some((s) => /epochs? saved/.test(s)), 'no epochs sentence when every epoch ran');
  assert.ok(!sentences.some((s) => s.startsWith('Every difference')), 'not all within noise');
  const paragraphs = ablationParagraphs(artifact, ablation(artifact, 'class-weighted-loss'), titles);
  assert.deepEqual(
    paragraphs.map((p) => p.length),
    [3, 3],
    'one group of sentences per model',
  );
  assert.deepEqual(paragraphs.flat(), sentences);
});

test('sentences: a switch whose every loss and F1 difference is under 0.005 says so', () => {
  const sentences = ablationSentences(artifact, ablation(artifact, 'poster-augmentation'), titles);
  assert.match(sentences[0], /^Poster augmentation: the Poster CNN’s micro F1 at 0\.5 goes from 0\.364 to 0\.366 \(\+0\.002, within noise\)/);
  assert.equal(
    sentences[sentences.length - 1],
    'Every difference in loss and F1 is within noise (under 0.005) for the Poster CNN: with one run per switch, this switch made no measurable difference.',
  );
  assert.deepEqual(
    ablationParagraphs(artifact, ablation(artifact, 'poster-augmentation'), titles).map((p) => p.length),
    [3, 1],
    'the summary is a group of its own',
  );
});

test('sentences: early stopping says how many epochs and how much time it saved; a model that is the main run says so with the reason', () => {
  const sentences = ablationSentences(artifact, ablation(artifact, 'early-stopping'), titles);
  assert.ok(
    sentences.includes(
      'Training of the Poster CNN stopped after epoch 6 of 10: 4 epochs saved, and training took 360 s instead of the main run’s 600 s, 240 s less. ' +
        'The kept epoch is 3 (the main run’s: 8).',
    ),
    sentences.join('\n'),
  );
  assert.match(sentences.join(' '), /its validation loss goes from 0\.380 to 0\.450 \(\+0\.070, worse: lower is better\)/);
  assert.equal(sentences[sentences.length - 1], `The Overview BiLSTM’s figures are the main run’s (micro F1 0.300, validation loss 0.410). ${NOTE}`);
  // Nothing is fixed text: other numbers, other sentence.
  const changed = structuredClone(artifact);
  changed.ablations[2].models[0].figures.epochsRun = 9;
  assert.match(ablationSentences(changed, changed.ablations[2], titles).join(' '), /stopped after epoch 9 of 10: 1 epoch saved/);
  // An early-stopping run that ran every epoch says it never stopped.
  changed.ablations[2].models[0].figures.epochsRun = 10;
  assert.match(ablationSentences(changed, changed.ablations[2], titles).join(' '), /Early stopping never stopped the Poster CNN: all 10 epochs ran\./);
});

test('chart: per retrained model, the main run’s and each retraining ablation’s validation loss, kept epochs ringed', () => {
  assert.deepEqual(chartedModels(artifact), ['cnn', 'lstm']);
  assert.deepEqual(chartedModels({ ...artifact, ablations: [] }), [], 'no ablation: no chart');
  assert.deepEqual(chartedModels({ ...artifact, ablations: [artifact.ablations[1]] }), ['cnn'], 'poster augmentation retrains the CNN only');

  const cnn = ablationLossChart(artifact, 'cnn', 'Poster CNN');
  assert.equal(cnn.id, ablationChartId('cnn'));
  assert.deepEqual(
    cnn.legend!.map((l) => [l.label, l.dashed]),
    [
      ['Main run', false],
      ['Class-weighted loss', true],
      ['Poster augmentation', true],
      ['Early stopping', true],
    ],
  );
  assert.equal(new Set(cnn.legend!.map((l) => l.color)).size, 4, 'one colour per line');
  assert.equal(cnn.data.length, 10 + 10 + 10 + 6, 'one row per epoch of each run');
  assert.deepEqual(
    cnn.data.filter((row) => row.kept).map((row) => [row.run, row.epoch]),
    [
      ['Main run', 8],
      ['Class-weighted loss', 6],
      ['Poster augmentation', 8],
      ['Early stopping', 3],
    ],
  );
  assert.match(cnn.description, /Early stopping epoch 3 \(0\.450; stopped after 6 of 10 epochs\)/);

  const lstm = ablationLossChart(artifact, 'lstm', 'Overview BiLSTM');
  assert.deepEqual(
    lstm.legend!.map((l) => l.label),
    ['Main run', 'Class-weighted loss'],
    'the same-as-main early stopping is not drawn',
  );
  assert.match(lstm.description, /Not drawn, being the same as the main run: Early stopping\./);

  const svg = parseHTML(`<html><body>${renderChartSvg(cnn)}</body></html>`).document.querySelector('svg')!;
  assert.equal(svg.getAttribute('role'), 'img');
  assert.ok(svg.querySelectorAll('path').length >= 4, 'a line per run');
});
