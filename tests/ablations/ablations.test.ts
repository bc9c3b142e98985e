/**
 * The ablation stage: its figures against a hand computation, when early stopping provably changes
 * nothing, and end to end on generated data (train only the affected models, cache, report).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ablationFigures, earlyStoppingNeverStops, type ModelRunResult } from '../../pipeline/lib/ablations/ablation-stage.ts';
import { AblationsArtifactSchema, PredictionsArtifactSchema } from '../../pipeline/lib/contract/contract.ts';
import { writeDemoDataset } from '../../pipeline/lib/data/demo-data.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { fixtureFlags, fixtureWorkspace, runCli } from '../helpers/fixture-build.ts';

const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

test('early stopping leaves a run untouched only when its loss never went `patience` epochs without improving', () => {
  const schedule = (epochs: number, patience: number) => ({ epochs, batchSize: 64, learningRate: 1e-4, earlyStoppingPatience: patience });
  assert.equal(earlyStoppingNeverStops([0.5, 0.4, 0.3], schedule(3, 1)), true);
  assert.equal(earlyStoppingNeverStops([0.5, 0.6, 0.4], schedule(3, 1)), false, 'epoch 2 did not improve: patience 1 stops before epoch 3');
  assert.equal(earlyStoppingNeverStops([0.5, 0.6, 0.4], schedule(3, 2)), true);
  assert.equal(earlyStoppingNeverStops([0.5, 0.6, 0.7, 0.8], schedule(4, 3)), true, 'the stop would come only after the last epoch');
  assert.equal(earlyStoppingNeverStops([0.5, 0.6, 0.7, 0.8, 0.9], schedule(5, 3)), false);
  assert.equal(earlyStoppingNeverStops([0.5, 0.4], schedule(3, 1)), false, 'a run shorter than its schedule proves nothing');
});

test('ablation figures: loss, F1 at 0.5 and at thresholds tuned on the training films, mAP, genres per film (by hand)', () => {
  // Validation: 3 films × genres A, B. Training: 2 films, used only for the thresholds.
  const result: ModelRunResult = {
    history: { epochs: [{ validation: { loss: 0.7 } }, { validation: { loss: 0.6 } }], bestEpoch: 1 },
    predictions: {
      films: [
        { id: 'v0', probabilities: [0.9, 0.45] },
        { id: 'v1', probabilities: [0.6, 0.7] },
        { id: 'v2', probabilities: [0.1, 0.4] },
      ],
    },
    trainProbabilities: {
      films: [
        { id: 't0', probabilities: [0.3, 0.3] },
        { id: 't1', probabilities: [0.1, 0.1] },
      ],
    },
    run: { epochs: 4, trainingMs: 1234, stoppedEarlyAfterEpoch: 1 },
  };
  const figures = ablationFigures(result, ['A', 'B'], Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([1, 0, 0, 1, 0, 1]));
  assert.equal(figures.epochsPlanned, 4);
  assert.equal(figures.epochsRun, 2);
  assert.equal(figures.stoppedEarlyAfterEpoch, 1);
  assert.deepEqual(figures.validationLossCurve, [0.7, 0.6]);
  const v = figures.validation;
  // −mean(ln .9, ln .55, ln .4, ln .7, ln .9, ln .4)
  close(v.loss, -(Math.log(0.9) + Math.log(0.55) + Math.log(0.4) + Math.log(0.7) + Math.log(0.9) + Math.log(0.4)) / 6, 'loss');
  // At 0.5: A on v0 (TP), v1 (FP); B on v1 (TP), missed on v2 (FN). TP 2, FP 1, FN 1.
  close(v.microPrecision, 2 / 3, 'micro precision');
  close(v.microRecall, 2 / 3, 'micro recall');
  close(v.microF1, 2 / 3, 'micro F1');
  close(v.macroF1, 2 / 3, 'macro F1 (A: 2/3, B: 2/3)');
  close(v.predictedGenresPerFilm, 1, 'genres per film');
  assert.equal(v.genresFound, 2);
  // AP: A's positive ranks first (1); B: positive at rank 1, negative, positive at rank 3 → ½·1 + ½·⅔.
  close(v.meanAP, (1 + (0.5 + 0.5 * (2 / 3))) / 2, 'mAP');
  // Training films: each genre is on for t0 (0.3) and off for t1 (0.1): the grid's best threshold closest
  // to 0.5 is 0.25. At 0.25, A as at 0.5 (F1 2/3); B on every film: TP 2, FP 1 → F1 4/5. Micro: TP 3, FP 2, FN 0.
  close(v.tunedMacroF1, (2 / 3 + 4 / 5) / 2, 'tuned macro F1');
  close(v.tunedMicroF1, 6 / 8, 'tuned micro F1');
});

describeEndToEnd();

function describeEndToEnd(): void {
  const paths = fixtureWorkspace('genrelens-ablations-');
  const flags = () => [...fixtureFlags(paths), '--ablations', 'poster-augmentation,early-stopping'];
  const readArtifact = (name: string) => JSON.parse(readFileSync(join(paths.artifacts, name), 'utf8'));
  let firstRun = '';

  before(async () => {
    await writeDemoDataset(paths.dataset, { films: 60, seed: 11 }, recordingEffects());
    const { stdout, stderr } = await runCli(['train', ...flags()]);
    firstRun = stdout + stderr;
  });

  test('end to end: an ablation trains only the models its switch affects, and reports them against the main run', () => {
    assert.match(firstRun, /Ablations: training 1 model \(CNN for poster-augmentation\)/);
    const ablations = AblationsArtifactSchema.parse(readArtifact('ablations.json'));
    const run = readArtifact('run.json');
    assert.equal(ablations.mainTrainingKey, run.trainingKey);
    assert.deepEqual(
      ablations.ablations.map((a) => a.id),
      ['poster-augmentation', 'early-stopping'],
    );
    const [augmentation, earlyStopping] = ablations.ablations;
    assert.deepEqual(
      augmentation.models.map((m) => [m.model, m.source, m.cached]),
      [['cnn', 'trained', false]],
    );
    assert.notEqual(augmentation.models[0].trainingKey, run.trainingKey);
    assert.equal(augmentation.setting, '"posterAugmentation": true');
    // One epoch: early stopping cannot stop anything, so both models are the main run's.
    assert.deepEqual(
      earlyStopping.models.map((m) => [m.model, m.source]),
      [
        ['cnn', 'same-as-main'],
        ['lstm', 'same-as-main'],
      ],
    );
    for (const m of earlyStopping.models) assert.deepEqual(m.figures, ablations.main[m.model]);
    // The main run's micro F1, counted here from the published predictions and the split's labels.
    const predictions = PredictionsArtifactSchema.parse(readArtifact('predictions-cnn.json'));
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const truth = truthById(paths.dataset, predictions.genres);
    for (const film of predictions.films) {
      film.probabilities.forEach((p, g) => {
        const actual = truth.get(film.id)![g] === 1;
        if (p > 0.5 && actual) tp++;
        else if (p > 0.5) fp++;
        else if (actual) fn++;
      });
    }
    close(ablations.main.cnn.validation.microF1, tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn), 'main CNN micro F1');
    // Augmentation changed what the CNN was trained on.
    assert.notDeepEqual(augmentation.models[0].figures.validationLossCurve, ablations.main.cnn.validationLossCurve);
  });

  test('end to end: a second run trains nothing and reports the same figures', async () => {
    const before = AblationsArtifactSchema.parse(readArtifact('ablations.json'));
    const { stdout, stderr } = await runCli(['train', ...flags()]);
    assert.doesNotMatch(stdout + stderr, /Ablations: training/);
    const after = AblationsArtifactSchema.parse(readArtifact('ablations.json'));
    assert.equal(after.ablations[0].models[0].cached, true);
    assert.deepEqual(
      after.ablations.map((a) => a.models.map((m) => m.figures)),
      before.ablations.map((a) => a.models.map((m) => m.figures)),
    );
  });
}

/** Film id → its one-hot genre row, read from the dataset CSV's genre columns. */
function truthById(datasetDir: string, genres: readonly string[]): Map<string, number[]> {
  const rows = parse(readFileSync(join(datasetDir, 'IMDB_overview_genres.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  return new Map(rows.map((row) => [row.Id, genres.map((genre) => Number(row[genre]))]));
}
