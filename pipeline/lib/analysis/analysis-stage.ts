/**
 * The analysis stage (after training): reads the models' probabilities on the training films
 * (`train-probabilities-<m>.json`) and the validation films (`predictions-<m>.json`), takes the true
 * labels from the loaded dataset, and writes `analysis.json` — baselines, AP and precision–recall
 * curves, per-genre thresholds and the late fusion, every choice made on the training films only
 * (see pipeline/lib/analysis/analysis.ts). The learned fusion (GMU) is read the same way, from the fusion
 * stage's `predictions-gmu.json` and (out-of-fold) `train-probabilities-gmu.json`.
 */
import {
  chooseOnTraining,
  validationResults,
  fusionLossCurve,
  type ClassifierResults,
  type PrCurve,
  type ScoringChoices,
  type SplitScores,
  type TrainingChoices,
} from './analysis.ts';
import {
  ARTIFACT_FILES,
  CONTRACT_VERSION,
  TUNED_CLASSIFIER_IDS,
  type AnalysisArtifact,
  type ClassifierAnalysis,
  type ClassifierId,
  type ModelKind,
  type StrongArtifact,
  type StrongClassifierId,
} from '../contract/contract.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { UserError } from '../core/errors.ts';
import type { PredictionMetrics } from '../core/metrics.ts';
import type { StageContext } from '../core/context.ts';
import { BOOTSTRAP, THRESHOLD_GRID } from '../settings.ts';
import { bootstrapF1, type BootstrapResult, type Interval } from './bootstrap.ts';

const TRAIN_FIX = 'run `npm run genrelens -- train` (or `npm run build`): the train stage writes it';

/** A films × genres matrix of the given films' probabilities, checked to be the expected films in order. */
function probabilityMatrix(file: string, films: { id: string; probabilities: number[] }[], ids: readonly string[], genreCount: number): Float64Array {
  if (films.length !== ids.length || films.some((film, i) => film.id !== ids[i])) {
    const at = films.findIndex((film, i) => film.id !== ids[i]);
    throw new UserError(
      `${file} lists different films than this dataset's split (${films.length} vs ${ids.length} films` +
        (at === -1 ? '' : `; first difference at position ${at}: ${JSON.stringify(films[at]?.id)} vs ${JSON.stringify(ids[at] ?? null)}`) +
        '); it comes from another run',
      { fix: `${TRAIN_FIX} again with the same dataset and settings` },
    );
  }
  const out = new Float64Array(ids.length * genreCount);
  films.forEach((film, i) => {
    if (film.probabilities.length !== genreCount)
      throw new UserError(`${file}: film ${film.id} has ${film.probabilities.length} probabilities for ${genreCount} genres`, { fix: TRAIN_FIX });
    out.set(film.probabilities, i * genreCount);
  });
  return out;
}

interface ProbabilityRows {
  genres: string[];
  films: { id: string; probabilities: number[] }[];
}

const round = (digits: number) => (n: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const r4 = round(4);
const r6 = round(6);

function curveData(curve: PrCurve) {
  return { recall: curve.recall.map(r4), precision: curve.precision.map(r4), threshold: curve.threshold.map((t) => (t === null ? null : r6(t))) };
}

/** The mean F1 over the genres with at least one film in the set (0 when none has). */
function macroWithFilms(m: PredictionMetrics): number {
  const present = m.perGenre.filter((g) => g.support > 0);
  return present.length === 0 ? 0 : present.reduce((sum, g) => sum + g.f1, 0) / present.length;
}

function thresholded(m: PredictionMetrics) {
  const { microPrecision, microRecall, microF1, macroF1, weightedF1, samplesF1 } = m;
  return { microPrecision, microRecall, microF1, macroF1, weightedF1, samplesF1 };
}

export interface ClassifierText {
  title: string;
  description: string;
}

/** Each classifier's figures as analysis.json (and a test set's evaluation) holds them (pure). */
export function classifierAnalyses(
  genres: readonly string[],
  evaluations: ClassifierResults[],
  texts: Partial<Record<ClassifierResults['id'], ClassifierText>>,
  choices: ScoringChoices,
): ClassifierAnalysis[] {
  return evaluations.map((e) => {
    const thresholds = e.tuned ? choices.thresholds[e.id as keyof TrainingChoices['thresholds']]!.thresholds : null;
    const text = texts[e.id];
    if (!text) throw new RangeError(`no title for classifier ${e.id}`);
    return {
      id: e.id,
      kind: e.kind,
      headline: e.headline,
      ...text,
      loss: e.scores.loss,
      microAP: e.scores.microAP,
      meanAP: e.scores.meanAP,
      atDefault: thresholded(e.atDefault),
      tuned: e.tuned ? thresholded(e.tuned) : null,
      decided: e.decided
        ? {
            sharedThreshold: e.decided.rule.shared,
            thresholds: e.decided.rule.perGenre,
            shared: thresholded(e.decided.shared),
            perGenre: thresholded(e.decided.perGenre),
            macroF1WithFilms: macroWithFilms(e.decided.perGenre),
          }
        : null,
      perGenre: genres.map((genre, g) => {
        const decisions = (m: PredictionMetrics) => {
          const { precision, recall, f1, predictedPositives, truePositives } = m.perGenre[g];
          return { precision, recall, f1, predictedPositives, truePositives };
        };
        return {
          genre,
          support: e.scores.perGenre[g].support,
          averagePrecision: e.scores.perGenre[g].averagePrecision,
          meanProbability: e.scores.perGenre[g].meanProbability,
          atDefault: decisions(e.atDefault),
          tuned: e.tuned && thresholds ? { ...decisions(e.tuned), threshold: thresholds[g] } : null,
        };
      }),
      curves: { micro: curveData(e.scores.curves.micro), perGenre: e.scores.curves.perGenre.map((c) => (c ? curveData(c) : null)) },
    };
  });
}

/** The artifact from the training choices and the validation evaluations (pure). */
export function analysisArtifact(input: {
  genres: readonly string[];
  trainFilms: number;
  validationFilms: number;
  seed: number;
  generatedAt: string;
  choices: TrainingChoices;
  evaluations: ClassifierResults[];
  text: Partial<Record<ClassifierResults['id'], ClassifierText>>;
  validationFusionLoss: { weight: number; loss: number }[];
  /** Intervals over the validation films (./bootstrap.ts). */
  bootstrap: BootstrapResult;
}): AnalysisArtifact {
  const { genres, choices, evaluations } = input;
  const classifiers = classifierAnalyses(genres, evaluations, input.text, choices);
  return {
    contractVersion: CONTRACT_VERSION,
    generatedAt: input.generatedAt,
    genres: [...genres],
    trainFilms: input.trainFilms,
    validationFilms: input.validationFilms,
    conventions: [
      'A genre is predicted when its probability is strictly above the threshold (0.5, or the tuned per-genre threshold), as Keras’ Precision and Recall count it.',
      'Zero division: a precision, recall or F1 whose denominator is 0 counts as 0 (scikit-learn zero_division=0); F1 is 2·TP / (2·TP + FP + FN).',
      `Micro: every film × genre decision pooled. Macro: the plain mean of the per-genre F1 over all ${genres.length} genres, genres without validation films included (their F1 is 0). ` +
        'Weighted: per-genre F1 weighted by validation support. Samples: the mean over films of each film’s own F1 (scikit-learn average="samples").',
      'Average precision (AP): scikit-learn’s average_precision_score, Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct scores taken as thresholds (tied scores are one threshold). ' +
        'mAP is the mean AP over the genres with validation films; micro AP pools every film × genre cell.',
      'Loss: binary cross-entropy with Keras’ clipping (ε = 1e-7), averaged over every film × genre cell; not given for the hard 0/1 baselines, which are not probabilities.',
      'Model probabilities are those published in predictions-<m>.json (six decimals), so a score can differ from the training log in the last digit shown.',
      'The baselines’ genres and priors, the per-genre thresholds and the fusion weight are chosen on the training films only (train-probabilities-<m>.json); the validation films are only scored.',
      'The learned fusion (GMU) is trained on the training films only, each head’s epoch chosen on a holdout of training films; its training-film probabilities, on which its thresholds are tuned, are out-of-fold ' +
        '(cross-fitted, train-probabilities-gmu.json). The two models’ activations it takes as input are still in-sample on the training films (the models were fitted to them), so its training-side numbers are optimistic.',
      'Decision rule (every classifier with probabilities; the strong models’ headline): 1 to 3 genres per film, the highest-scoring above the threshold, the top one when none is; ' +
        'micro figures at one shared threshold, macro F1 at per-genre thresholds shrunk towards it by their training positives; all chosen on the training films. ' +
        'The strong models’ training-film probabilities are out-of-fold (5-fold cross-validation, strong-probabilities.json), so their rules are chosen on honest scores; the coursework models’ are in-sample.',
    ],
    classifiers,
    baselines: { priors: choices.priors, mostFrequent: choices.mostFrequent.map((g) => genres[g]) },
    thresholds: {
      grid: [...THRESHOLD_GRID],
      folds: choices.folds,
      seed: input.seed,
      selections: TUNED_CLASSIFIER_IDS.flatMap((id) => {
        const choice = choices.thresholds[id];
        if (!choice) return [];
        return {
          classifier: id,
          thresholds: choice.thresholds,
          trainF1: choice.f1,
          trainF1AtDefault: choice.f1AtDefault,
          folds: choice.crossValidation.folds,
          outOfFold: choice.crossValidation.outOfFold,
        };
      }),
    },
    fusion: {
      weight: choices.fusion.weight,
      grid: choices.fusion.curve.map((point, i) => ({ weight: point.weight, trainLoss: point.loss, validationLoss: input.validationFusionLoss[i].loss })),
      foldWeights: choices.fusion.foldWeights,
    },
    bootstrap: bootstrapArtifact(input.bootstrap),
  };
}

const roundedInterval = (i: Interval) => ({ estimate: r6(i.estimate), low: r6(i.low), high: r6(i.high) });

/** The bootstrap's intervals as analysis.json holds them (six decimals). */
export function bootstrapArtifact(result: BootstrapResult): AnalysisArtifact['bootstrap'] {
  return {
    resamples: result.resamples,
    level: result.level,
    seed: result.seed,
    classifiers: Object.entries(result.classifiers).map(([id, f1]) => ({
      id: id as ClassifierId,
      microF1: roundedInterval(f1.microF1),
      macroF1: roundedInterval(f1.macroF1),
    })),
    differences: result.differences.map((d) => ({
      a: d.a as ClassifierId,
      b: d.b as ClassifierId,
      microF1: roundedInterval(d.microF1),
      macroF1: roundedInterval(d.macroF1),
    })),
  };
}

/** Intervals of every classifier's headline figures (its `headline` decisions) and of the BOOTSTRAP pairs present. */
export function headlineBootstrap(evaluations: ClassifierResults[], labels: ArrayLike<number>, genreCount: number, seed: number): BootstrapResult {
  return bootstrapF1({
    probabilities: Object.fromEntries(evaluations.filter((e) => e.headline === 'default').map((e) => [e.id, e.probabilities])),
    decisions: Object.fromEntries(evaluations.flatMap((e) => (e.headline === 'decided' && e.decided ? [[e.id, e.decided.decisions]] : []))),
    labels,
    genreCount,
    pairs: BOOTSTRAP.pairs.filter((pair) => pair.every((id) => evaluations.some((e) => e.id === id))),
    resamples: BOOTSTRAP.resamples,
    level: BOOTSTRAP.level,
    seed,
  });
}

/** Reads the prediction artifacts, analyses them and writes `analysis.json`. */
export async function runAnalysisStage(stage: DataStageResult, ctx: StageContext): Promise<AnalysisArtifact> {
  const { config, effects } = ctx;
  const { genres } = stage.dataset;
  const { train, validation, histories, strong } = readScores(stage, ctx);
  const choices = chooseOnTraining(train, genres, config.seed);
  const evaluations = validationResults(validation, genres, choices);
  const artifact = analysisArtifact({
    genres,
    trainFilms: stage.split.train.length,
    validationFilms: stage.split.validation.length,
    seed: config.seed,
    generatedAt: new Date(effects.now()).toISOString(),
    choices,
    evaluations,
    text: classifierTexts(choices, genres, histories, strong),
    validationFusionLoss: fusionLossCurve(validation.cnn, validation.lstm, validation.labels),
    bootstrap: headlineBootstrap(evaluations, validation.labels, genres.length, config.seed),
  });
  await ctx.artifacts.write('analysis', artifact);
  warnWhenRoundingShows(artifact, histories, ctx);
  const scores = artifact.classifiers.map((c) => `${c.title} ${c.atDefault.microF1.toFixed(3)}`).join(', ');
  effects.info(`Analysis: validation micro F1 at 0.5 — ${scores} (fusion weight ${choices.fusion.weight.toFixed(2)}); wrote ${ARTIFACT_FILES.analysis}`);
  return artifact;
}

/**
 * The three classifiers' published probabilities on the training and validation films (checked
 * against this split and its genres) with the true labels, and their training histories.
 */
function readScores(stage: DataStageResult, ctx: StageContext) {
  const { genres, films } = stage.dataset;
  const genreCount = genres.length;
  const trainIds = stage.split.train.map((i) => films[i].id);
  const validationIds = stage.split.validation.map((i) => films[i].id);
  const probabilities = (predictionsFile: string, predictions: ProbabilityRows, trainFile: string, train: ProbabilityRows) => {
    for (const [file, listed] of [
      [predictionsFile, predictions.genres],
      [trainFile, train.genres],
    ] as const) {
      if (listed.join('\n') !== genres.join('\n'))
        throw new UserError(`${file} lists different genres than the dataset; it comes from another run`, { fix: TRAIN_FIX });
    }
    return {
      validation: probabilityMatrix(predictionsFile, predictions.films, validationIds, genreCount),
      train: probabilityMatrix(trainFile, train.films, trainIds, genreCount),
    };
  };
  const read = (model: ModelKind) =>
    // The probabilities first: a missing artifact is reported in the order the train stage writes them.
    probabilities(
      ARTIFACT_FILES.predictions(model),
      ctx.artifacts.read('predictions', model),
      ARTIFACT_FILES.trainProbabilities(model),
      ctx.artifacts.read('trainProbabilities', model),
    );
  const cnn = { ...read('cnn'), history: ctx.artifacts.read('history', 'cnn') };
  const lstm = { ...read('lstm'), history: ctx.artifacts.read('history', 'lstm') };
  const gmuScores = probabilities(
    ARTIFACT_FILES.gmuPredictions,
    ctx.artifacts.read('gmuPredictions'),
    ARTIFACT_FILES.gmuTrainProbabilities,
    ctx.artifacts.read('gmuTrainProbabilities'),
  );
  const gmu = { ...gmuScores, history: ctx.artifacts.read('gmuHistory') };
  const strong = ctx.config.strongModels ? readStrongScores(ctx, trainIds, validationIds, genres) : null;
  const train: SplitScores = { labels: filmLabels(stage.dataset, stage.split.train), cnn: cnn.train, lstm: lstm.train, gmu: gmu.train, strong: strong?.train };
  const validation: SplitScores = {
    labels: filmLabels(stage.dataset, stage.split.validation),
    cnn: cnn.validation,
    lstm: lstm.validation,
    gmu: gmu.validation,
    strong: strong?.validation,
  };
  return { train, validation, histories: { cnn: cnn.history, lstm: lstm.history, gmu: gmu.history }, strong: strong?.artifact ?? null };
}

/** The strong profile's probabilities (strong-probabilities.json), checked against this split and its genres. */
function readStrongScores(ctx: StageContext, trainIds: readonly string[], validationIds: readonly string[], genres: readonly string[]) {
  const file = ARTIFACT_FILES.strongProbabilities;
  const fix = 'run `npm run build` again: the strong stage writes it (or turn the strong models off with --no-strong)';
  const read = ctx.artifacts.read('strongProbabilities');
  if (read.genres.join('\n') !== genres.join('\n')) throw new UserError(`${file} lists different genres than the dataset; it comes from another run`, { fix });
  const rows = (ids: readonly string[], values: number[][]) => ids.map((id, i) => ({ id, probabilities: values[i] ?? [] }));
  const train: Partial<Record<StrongClassifierId, Float64Array>> = {};
  const validation: Partial<Record<StrongClassifierId, Float64Array>> = {};
  for (const c of read.classifiers) {
    train[c.id] = probabilityMatrix(file, rows(read.trainIds, c.train), trainIds, genres.length);
    validation[c.id] = probabilityMatrix(file, rows(read.validationIds, c.validation), validationIds, genres.length);
  }
  return { train, validation, artifact: ctx.artifacts.read('strong') };
}

type Histories = ReturnType<typeof readScores>['histories'];

/** The title and description of each classifier, as the report shows them. */
function classifierTexts(
  choices: TrainingChoices,
  genres: readonly string[],
  histories: Histories,
  strong: StrongArtifact | null,
): Partial<Record<ClassifierResults['id'], ClassifierText>> {
  const { cnn, lstm, gmu } = histories;
  const [first, second] = choices.mostFrequent.map((g) => genres[g]);
  const w = choices.fusion.weight;
  const topPriors = choices.priors
    .map((p, g) => ({ p, genre: genres[g] }))
    .sort((a, b) => b.p - a.p)
    .slice(0, 3)
    .map(({ p, genre }) => `${genre} ${p.toFixed(2)}`)
    .join(', ');
  const strongTexts = strong
    ? {
        'text-linear': {
          title: 'Overview TF-IDF model',
          description:
            `One-vs-rest logistic regression on TF-IDF of word ${strong.text.wordNgrams.join('–')}-grams and character ${strong.text.charNgrams.join('–')}-grams ` +
            `(${strong.text.features.toLocaleString('en')} features), C = ${strong.text.c} chosen by ${strong.folds}-fold cross-validation on the training films.`,
        },
        'poster-linear': {
          title: 'Poster features model',
          description: strong.poster.backbone
            ? `One-vs-rest logistic regression on the ${strong.poster.features} pooled channels of a pretrained ${strong.poster.backbone.model} (from the npm package ${strong.poster.backbone.package}), C = ${strong.poster.c} chosen by cross-validation.`
            : `One-vs-rest logistic regression on ${strong.poster.features} weight-free colour and layout features of the poster, C = ${strong.poster.c} chosen by cross-validation.`,
        },
        stacked: {
          title: 'Stacked fusion',
          description: `A logistic regression per genre on both strong models’ out-of-fold log-odds for every genre (C = ${strong.stacked.c}): per-genre modality weights and genre co-occurrence.`,
        },
      }
    : {};
  return {
    ...strongTexts,
    cnn: { title: cnn.title, description: `The ${cnn.title}’s probabilities (kept weights).` },
    lstm: { title: lstm.title, description: `The ${lstm.title}’s probabilities (kept weights).` },
    fusion: {
      title: 'Late fusion',
      description: `${w.toFixed(2)} × CNN + ${(1 - w).toFixed(2)} × LSTM probabilities; the weight has the lowest binary cross-entropy on the training films.`,
    },
    gmu: {
      title: gmu.title,
      description:
        `A gated multimodal unit on the CNN’s ${gmu.method.inputs.visual.layer} and the BiLSTM’s ${gmu.method.inputs.textual.layer} activations, ` +
        `trained on the training films (epoch ${gmu.chosenEpoch + 1} of ${gmu.method.maxEpochs}, chosen on a holdout of them).`,
    },
    'genre-priors': {
      title: 'Genre priors',
      description: `Every film gets each genre’s training frequency as its probability (${topPriors}, …).`,
    },
    'most-frequent': { title: `Always ${first}`, description: `Every film is labelled ${first}, the most frequent training genre, and nothing else.` },
    'two-most-frequent': {
      title: second ? `Always ${first} + ${second}` : `Always ${first}`,
      description: second
        ? `Every film is labelled ${first} and ${second}, the two most frequent training genres, and nothing else.`
        : `Only one genre occurs in the training films.`,
    },
    'every-genre': {
      title: 'Every genre',
      description: `Every film is labelled with all ${genres.length} genres: recall 1, and on macro F1 the strongest a constant answer gets when genres are rare.`,
    },
  };
}

/** The published probabilities are rounded; says so when that shows in the verdict's precision. */
function warnWhenRoundingShows(artifact: AnalysisArtifact, histories: Histories, ctx: StageContext): void {
  for (const model of ['cnn', 'lstm'] as const) {
    const history = histories[model];
    const recomputed = artifact.classifiers.find((c) => c.id === model)!.atDefault.microF1;
    if (recomputed.toFixed(3) !== history.best.microF1.toFixed(3)) {
      ctx.effects.warn(
        `${history.title}: micro F1 from the published (rounded) probabilities is ${recomputed.toFixed(3)}, the training log's ${history.best.microF1.toFixed(3)}`,
      );
    }
  }
}
