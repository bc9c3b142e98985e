/**
 * The report's judgements, computed from the artifacts (pure: no Astro imports, unit-testable):
 * the verdict table and sentence, per-genre winners, and the example cards' outcomes.
 *
 * Comparisons are made on the numbers as displayed (three decimals): two models whose metric
 * rounds to the same value tie, so the report never claims a win the reader cannot see.
 */
import type {
  ExamplesArtifact,
  ExplanationsArtifact,
  FilmExplanation,
  HistoryArtifact,
  ModelKind,
  PredictionsArtifact,
  RunArtifact,
} from '../../pipeline/lib/contract/contract.ts';
import { formatMetric, formatSeconds } from './format.ts';

export const MODELS: readonly ModelKind[] = ['cnn', 'lstm'];
export type Winner = ModelKind | 'tie';

const rounded = (n: number) => Math.round(n * 1000);

/** Which model is better on one number; `lower` when smaller is better (loss). */
export function winnerOf(values: Record<ModelKind, number>, better: 'higher' | 'lower'): Winner {
  const cnn = rounded(values.cnn);
  const lstm = rounded(values.lstm);
  if (cnn === lstm) return 'tie';
  return (better === 'higher') === cnn > lstm ? 'cnn' : 'lstm';
}

export interface VerdictRow {
  key: string;
  label: string;
  /** What the number means, for the table. */
  note: string;
  values: Record<ModelKind, number>;
  display: Record<ModelKind, string>;
  /** null for rows that are facts, not scores (epochs, training time). */
  winner: Winner | null;
}

export interface Verdict {
  rows: VerdictRow[];
  sentences: string[];
  /** Winner on the primary metric, validation micro F1. */
  overall: Winner;
}

const QUALITY_METRICS = [
  { key: 'loss', label: 'Best validation loss', note: 'binary cross-entropy, lower is better', better: 'lower' },
  { key: 'microPrecision', label: 'Micro precision', note: 'of the predicted labels, the share that are true', better: 'higher' },
  { key: 'microRecall', label: 'Micro recall', note: 'of the true labels, the share predicted', better: 'higher' },
  { key: 'microF1', label: 'Micro F1', note: 'primary metric: F1 over all film × genre decisions', better: 'higher' },
  { key: 'macroF1', label: 'Macro F1', note: 'mean of per-genre F1: rare genres count as much as common ones', better: 'higher' },
] as const;

function listWords(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

export function verdict(histories: Record<ModelKind, HistoryArtifact>, run: RunArtifact): Verdict {
  const title = (m: ModelKind) => histories[m].title;
  const rows: VerdictRow[] = QUALITY_METRICS.map((metric) => {
    const values = { cnn: histories.cnn.best[metric.key], lstm: histories.lstm.best[metric.key] };
    return {
      key: metric.key,
      label: metric.label,
      note: metric.note,
      values,
      display: { cnn: formatMetric(values.cnn), lstm: formatMetric(values.lstm) },
      winner: winnerOf(values, metric.better),
    };
  });
  const fact = (key: string, label: string, note: string, values: Record<ModelKind, number>, show: (n: number) => string): VerdictRow => ({
    key,
    label,
    note,
    values,
    display: { cnn: show(values.cnn), lstm: show(values.lstm) },
    winner: null,
  });
  rows.push(
    fact('epochs', 'Epochs trained', 'as scheduled', { cnn: histories.cnn.epochs.length, lstm: histories.lstm.epochs.length }, String),
    fact('bestEpoch', 'Best epoch', 'lowest validation loss; its weights are kept', { cnn: histories.cnn.bestEpoch + 1, lstm: histories.lstm.bestEpoch + 1 }, String),
    fact('trainingMs', 'Training time', `${run.backend.name} backend`, { cnn: run.models.cnn.trainingMs, lstm: run.models.lstm.trainingMs }, formatSeconds),
  );

  const byKey = Object.fromEntries(rows.map((row) => [row.key, row]));
  const primary = byKey.microF1;
  const overall = primary.winner ?? 'tie';
  const sentences: string[] = [];
  const lowercase = (label: string) => label.replace(/^Best validation loss$/, 'validation loss').replace(/^Micro |^Macro /, (m) => m.toLowerCase());
  if (overall === 'tie') {
    sentences.push(`On the validation films the two models tie on micro F1, the primary metric (${primary.display.cnn} each).`);
  } else {
    const loser: ModelKind = overall === 'cnn' ? 'lstm' : 'cnn';
    sentences.push(
      `On the validation films the ${title(overall)} predicts genres better than the ${title(loser)}: micro F1 ${primary.display[overall]} vs ${primary.display[loser]} (the primary metric).`,
    );
  }
  const others = rows.filter((row) => row.winner !== null && row.key !== 'microF1');
  // The overall winner's other wins first, so "It also" refers to it.
  const order: ModelKind[] = overall === 'lstm' ? ['lstm', 'cnn'] : ['cnn', 'lstm'];
  for (const model of order) {
    const won = others.filter((row) => row.winner === model).map((row) => `${lowercase(row.label)} (${row.display[model]} vs ${row.display[model === 'cnn' ? 'lstm' : 'cnn']})`);
    if (won.length === 0) continue;
    const also = model === overall ? 'It also wins on' : `The ${title(model)} wins on`;
    sentences.push(`${also} ${listWords(won)}.`);
  }
  const ties = others.filter((row) => row.winner === 'tie').map((row) => lowercase(row.label));
  if (ties.length) sentences.push(`They tie on ${listWords(ties)}.`);
  const time = byKey.trainingMs;
  sentences.push(
    `Training took ${time.display.cnn} (CNN) and ${time.display.lstm} (LSTM) on the ${run.backend.name} backend` +
      (run.training?.parallel ? `, at the same time (${formatSeconds(run.training.wallMs)} of wall time)` : '') +
      `; best epochs ${byKey.bestEpoch.display.cnn} of ${byKey.epochs.display.cnn} and ${byKey.bestEpoch.display.lstm} of ${byKey.epochs.display.lstm}.`,
  );
  return { rows, sentences, overall };
}

export interface GenreRow {
  genre: string;
  support: number;
  f1: Record<ModelKind, number>;
  precision: Record<ModelKind, number>;
  recall: Record<ModelKind, number>;
  winner: Winner;
}

/** Per-genre F1 of both models at their best epochs, for genres with validation films. */
export function genreComparison(histories: Record<ModelKind, HistoryArtifact>): GenreRow[] {
  const lstm = new Map(histories.lstm.perGenre.map((g) => [g.genre, g]));
  return histories.cnn.perGenre
    .filter((g) => g.support > 0 && lstm.has(g.genre))
    .map((c) => {
      const l = lstm.get(c.genre)!;
      const f1 = { cnn: c.f1, lstm: l.f1 };
      return {
        genre: c.genre,
        support: c.support,
        f1,
        precision: { cnn: c.precision, lstm: l.precision },
        recall: { cnn: c.recall, lstm: l.recall },
        winner: winnerOf(f1, 'higher'),
      };
    })
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre));
}

export function genreWins(rows: GenreRow[]): Record<Winner, number> {
  const wins: Record<Winner, number> = { cnn: 0, lstm: 0, tie: 0 };
  for (const row of rows) wins[row.winner]++;
  return wins;
}

// --- Examples --------------------------------------------------------------------------------

export type Outcome = 'both-right' | 'both-wrong' | 'cnn-only' | 'lstm-only';

export const OUTCOMES: Record<Outcome, string> = {
  'both-right': 'Both right',
  'both-wrong': 'Both wrong',
  'cnn-only': 'Only the CNN right',
  'lstm-only': 'Only the LSTM right',
};

/** The page's definition of "right", shown wherever outcomes are. */
export const RIGHT_DEFINITION =
  'A model is “right” on a film when its top-1 genre (the genre it gives the highest probability) is one of the film’s true genres.';

export interface ModelGuess {
  top3: { genre: string; probability: number; hit: boolean }[];
  right: boolean;
  /** Mean probability the model gives the film's true genres (0 when it has none). */
  truthScore: number;
}

export interface Example {
  id: string;
  overview: string;
  genres: string[];
  thumbnail: string | null;
  models: Record<ModelKind, ModelGuess>;
  outcome: Outcome;
  /** Poster occlusion map and word importance, for the films explanations.json covers. */
  explanation?: ExampleExplanation;
}

/** A film's explanations with the method that made them (the card needs the occlusion grid). */
export type ExampleExplanation = FilmExplanation & { method: ExplanationsArtifact['method'] };

/** Joins examples.json with both predictions files, failing loudly when they come from different runs. */
export function buildExamples(films: ExamplesArtifact, predictions: Record<ModelKind, PredictionsArtifact>): Example[] {
  for (const model of MODELS) {
    const p = predictions[model];
    const file = `predictions-${model}.json`;
    if (p.genres.join('\n') !== films.genres.join('\n')) {
      throw new Error(`genrelens: examples.json and ${file} list different genres; they come from different runs. Re-run \`npm run build\`.`);
    }
    const mismatch = films.films.findIndex((film, i) => p.films[i]?.id !== film.id);
    if (mismatch !== -1 || p.films.length !== films.films.length) {
      const at = mismatch === -1 ? films.films.length : mismatch;
      throw new Error(
        `genrelens: examples.json and ${file} list different validation films (first difference at position ${at}: ` +
          `${JSON.stringify(films.films[at]?.id ?? null)} vs ${JSON.stringify(p.films[at]?.id ?? null)}); they come from different runs. Re-run \`npm run build\`.`,
      );
    }
  }
  const index = new Map(films.genres.map((genre, i) => [genre, i]));
  return films.films.map((film, row) => {
    const truth = new Set(film.genres);
    const guess = (model: ModelKind): ModelGuess => {
      const prediction = predictions[model].films[row];
      const top3 = prediction.top3.map((t) => ({ ...t, hit: truth.has(t.genre) }));
      const scores = film.genres.map((g) => prediction.probabilities[index.get(g) ?? -1] ?? 0);
      return {
        top3,
        right: top3.length > 0 && top3[0].hit,
        truthScore: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 0,
      };
    };
    const models = { cnn: guess('cnn'), lstm: guess('lstm') };
    const outcome: Outcome = models.cnn.right
      ? models.lstm.right ? 'both-right' : 'cnn-only'
      : models.lstm.right ? 'lstm-only' : 'both-wrong';
    return { id: film.id, overview: film.overview, genres: film.genres, thumbnail: film.thumbnail, models, outcome };
  });
}

/**
 * Adds each film's explanations (explanations.json covers a subset of the films), failing loudly
 * when they come from another training run than run.json's or name films the examples do not have.
 */
export function attachExplanations(examples: Example[], explanations: ExplanationsArtifact, trainingKey: string): Example[] {
  if (explanations.trainingKey !== trainingKey) {
    throw new Error(
      `genrelens: explanations.json explains the models of training ${explanations.trainingKey}, run.json describes training ${trainingKey}; ` +
        'they come from different runs. Re-run `npm run build`.',
    );
  }
  const byId = new Map(explanations.films.map((film) => [film.id, film]));
  const known = new Set(examples.map((example) => example.id));
  const unknown = explanations.films.find((film) => !known.has(film.id));
  if (unknown) throw new Error(`genrelens: explanations.json explains film ${JSON.stringify(unknown.id)}, which is not a validation film. Re-run \`npm run build\`.`);
  return examples.map((example) => {
    const film = byId.get(example.id);
    return film ? { ...example, explanation: { ...film, method: explanations.method } } : example;
  });
}

export function outcomeCounts(examples: Example[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { 'both-right': 0, 'both-wrong': 0, 'cnn-only': 0, 'lstm-only': 0 };
  for (const example of examples) counts[example.outcome]++;
  return counts;
}

export interface CuratedExample {
  kind: 'best' | 'worst' | 'disagreement';
  title: string;
  why: string;
  example: Example;
}

export const CURATED_DEFINITION =
  'Best: of the films both models get right, the one whose true genres get the highest mean probability from the two models. ' +
  'Worst: of the films both get wrong, the lowest. Biggest disagreement: of the films exactly one model gets right, ' +
  'the largest gap between the two models’ mean probability on the true genres.';

/** Best, worst and biggest-disagreement films (distinct when there are at least three). */
export function curatedExamples(examples: Example[]): CuratedExample[] {
  if (examples.length === 0) return [];
  const mean = (e: Example) => (e.models.cnn.truthScore + e.models.lstm.truthScore) / 2;
  const gap = (e: Example) => Math.abs(e.models.cnn.truthScore - e.models.lstm.truthScore);
  const used = new Set<string>();
  /** The highest-scoring film of the preferred pool; `fallback` when that pool is empty. */
  const pick = (preferred: (e: Example) => boolean, score: (e: Example) => number) => {
    const fresh = examples.filter((e) => !used.has(e.id));
    const pool = fresh.filter(preferred);
    const candidates = pool.length ? pool : fresh.length ? fresh : examples;
    const chosen = candidates.reduce((a, b) => (score(b) > score(a) ? b : a));
    used.add(chosen.id);
    return { example: chosen, fallback: pool.length === 0 };
  };
  const best = pick((e) => e.outcome === 'both-right', mean);
  const worst = pick((e) => e.outcome === 'both-wrong', (e) => -mean(e));
  const split = pick((e) => e.outcome === 'cnn-only' || e.outcome === 'lstm-only', gap);
  const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
  const onTruth = (e: Example) => `mean probability on the true genres ${pct(mean(e))}`;
  return [
    {
      kind: 'best',
      title: 'Best',
      why: best.fallback ? `no film is right for both models; the highest ${onTruth(best.example)}` : onTruth(best.example),
      example: best.example,
    },
    {
      kind: 'worst',
      title: 'Worst',
      why: worst.fallback ? `no film is wrong for both models; the lowest ${onTruth(worst.example)}` : onTruth(worst.example),
      example: worst.example,
    },
    {
      kind: 'disagreement',
      title: 'Biggest disagreement',
      why:
        (split.fallback ? 'the models never split right/wrong; the largest gap: ' : '') +
        `CNN ${pct(split.example.models.cnn.truthScore)} vs LSTM ${pct(split.example.models.lstm.truthScore)} on the true genres`,
      example: split.example,
    },
  ];
}

/** A film id made safe for an HTML id attribute and a URL fragment. */
export const filmAnchor = (id: string) => `film-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** IMDb's title page for an id that looks like an IMDb title id (`tt` and digits); none for other ids. */
export const imdbTitleUrl = (id: string): string | undefined => (/^tt\d+$/.test(id) ? `https://www.imdb.com/title/${id}/` : undefined);
