/**
 * The example cards' outcomes and the curated examples: which films the report shows, and why.
 * Shared by the site (the example cards) and the pipeline (the explain stage explains the curated
 * films first), so it lives in the contract, the only pipeline code the site imports.
 */
import {
  MODEL_KINDS as MODELS,
  type ExamplesArtifact,
  type ExplanationsArtifact,
  type FilmExplanation,
  type ModelKind,
  type PredictionsArtifact,
} from './contract.ts';

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
    const outcome: Outcome = models.cnn.right ? (models.lstm.right ? 'both-right' : 'cnn-only') : models.lstm.right ? 'lstm-only' : 'both-wrong';
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
  if (unknown)
    throw new Error(`genrelens: explanations.json explains film ${JSON.stringify(unknown.id)}, which is not a validation film. Re-run \`npm run build\`.`);
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
  const worst = pick(
    (e) => e.outcome === 'both-wrong',
    (e) => -mean(e),
  );
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
