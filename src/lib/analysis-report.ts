/**
 * The analysis page's judgements, computed from `analysis.json` (pure: no Astro imports,
 * unit-testable): whether each model beats each baseline, what the tuned thresholds, the late
 * fusion and the learned fusion (GMU, with `fusion-gmu.json`) did, and the rows of the page's tables.
 *
 * As in report.ts, comparisons are made on the numbers as displayed (three decimals): a model
 * whose score rounds to the baseline's ties with it, so the page never claims a win the reader
 * cannot see.
 */
import type {
  AnalysisArtifact,
  ClassifierAnalysis,
  ClassifierId,
  GmuHistoryArtifact,
  ThresholdSelection,
  TunedClassifierId,
} from '../../pipeline/lib/contract/contract.ts';
import { formatMetric, formatPercent } from './format.ts';

export const COMPARED: readonly TunedClassifierId[] = ['cnn', 'lstm', 'fusion', 'gmu'];
export const BASELINES = ['genre-priors', 'most-frequent', 'two-most-frequent', 'every-genre'] as const satisfies readonly ClassifierId[];

/** CSS colour of each classifier in charts and tags. */
export const CLASSIFIER_COLOURS: Record<ClassifierId, string> = {
  cnn: 'var(--cnn)',
  lstm: 'var(--lstm)',
  fusion: 'var(--fusion)',
  gmu: 'var(--gmu)',
  'text-linear': 'var(--strong-text)',
  'poster-linear': 'var(--strong-poster)',
  stacked: 'var(--strong-stacked)',
  'genre-priors': 'var(--muted)',
  'most-frequent': 'var(--muted)',
  'two-most-frequent': 'var(--muted)',
  'every-genre': 'var(--muted)',
};
/** Dash pattern of each baseline's line or rule (models are solid). */
export const BASELINE_DASHES: Record<(typeof BASELINES)[number], string> = {
  'genre-priors': '2 3',
  'most-frequent': '6 3',
  'two-most-frequent': '10 3 2 3',
  'every-genre': '1 2',
};

/** What the summary tables and score charts need of a scored set: analysis.json, or a test set's evaluation (test-set.json). */
export type ScoredSet = Pick<AnalysisArtifact, 'classifiers' | 'bootstrap' | 'validationFilms'>;

/** The props of a table over a scored set. */
export interface ScoredSetProps {
  /** analysis.json, or a test set's evaluation as a scored set. */
  analysis: ScoredSet;
  /** How the caption names the films: "validation films" (default) or "test films". */
  films?: string;
  /** The artifact the figures come from, for the source line (default analysis.json). */
  file?: string;
}

export function classifier(analysis: Pick<AnalysisArtifact, 'classifiers'>, id: ClassifierId): ClassifierAnalysis {
  const found = analysis.classifiers.find((c) => c.id === id);
  if (!found) throw new Error(`genrelens: analysis.json has no "${id}" classifier; re-run \`npm run build\`.`);
  return found;
}

export const baselines = (analysis: AnalysisArtifact) => BASELINES.map((id) => classifier(analysis, id));
/** The baselines the micro-F1 verdict compares with; labelling every film with every genre is macro F1's baseline (its own sentence). */
export const microBaselines = (analysis: AnalysisArtifact) => baselines(analysis).filter((b) => b.id !== 'every-genre');
/** The classifiers every comparison shows: the coursework's models and fusions, then the strong models when the build fitted them. */
export const compared = (analysis: Pick<AnalysisArtifact, 'classifiers'>) => [
  ...COMPARED.map((id) => classifier(analysis, id)),
  ...analysis.classifiers.filter((c) => c.kind === 'strong'),
];

export function selection(analysis: AnalysisArtifact, id: TunedClassifierId): ThresholdSelection {
  const found = analysis.thresholds.selections.find((s) => s.classifier === id);
  if (!found) throw new Error(`genrelens: analysis.json has no threshold selection for "${id}"; re-run \`npm run build\`.`);
  return found;
}

/** "the Poster CNN", "the late fusion", "the learned fusion", "Genre priors" as a sentence names them. */
export function nameOf(c: ClassifierAnalysis): string {
  if (c.id === 'fusion') return 'the late fusion';
  if (c.id === 'gmu') return 'the learned fusion';
  if (c.id === 'text-linear') return 'the overview TF-IDF model';
  if (c.id === 'poster-linear') return 'the poster-features model';
  if (c.id === 'stacked') return 'the stacked fusion';
  return c.kind === 'baseline' ? c.title : `the ${c.title}`;
}
const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export type Outcome = 'beats' | 'ties' | 'loses';

const rounded = (n: number) => Math.round(n * 1000);

/** Whether `value` beats `reference` on a metric, judged on the displayed three decimals. */
export function outcomeOf(value: number, reference: number, better: 'higher' | 'lower'): Outcome {
  const a = rounded(value);
  const b = rounded(reference);
  if (a === b) return 'ties';
  return (better === 'higher') === a > b ? 'beats' : 'loses';
}

export const OUTCOME_WORDS: Record<Outcome, string> = { beats: 'beats', ties: 'ties with', loses: 'does not beat' };

function listWords(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

export interface BaselineCell {
  model: TunedClassifierId;
  baseline: (typeof BASELINES)[number];
  outcome: Outcome;
  modelValue: number;
  baselineValue: number;
}

export interface BaselineVerdict {
  /** The baseline with the highest validation micro F1 at 0.5. */
  strongest: ClassifierAnalysis;
  /** Micro F1 at 0.5 of every model against every baseline. */
  cells: BaselineCell[];
  /** Validation loss against the genre priors (the only probabilistic baseline). */
  loss: { model: TunedClassifierId; outcome: Outcome; modelValue: number; baselineValue: number }[];
  /** One sentence: each model against the strongest baseline (the home page's summary). */
  headline: string;
  sentences: string[];
}

const COUNT_WORDS = ['none', 'one', 'both', 'three', 'four', 'five', 'six'];
/** "all three", "all four": every one of `n` classifiers. */
const allOf = (n: number) => (n === 2 ? 'both' : `all ${COUNT_WORDS[n] ?? n}`);

/** Whether each model (and the late and learned fusions) beats each baseline, in plain words. */
export function baselineVerdict(analysis: AnalysisArtifact): BaselineVerdict {
  const models = compared(analysis);
  const bases = microBaselines(analysis);
  const strongest = bases.reduce((best, b) => (b.atDefault.microF1 > best.atDefault.microF1 ? b : best));
  // Each classifier's headline figures: at 0.5, or the strong models' decision rule (summaryValue).
  const micro = (c: ClassifierAnalysis) => summaryValue(c, 'microF1')!;
  const macro = (c: ClassifierAnalysis) => summaryValue(c, 'macroF1')!;
  const cells: BaselineCell[] = models.flatMap((m) =>
    bases.map((b) => ({
      model: m.id as TunedClassifierId,
      baseline: b.id as (typeof BASELINES)[number],
      outcome: outcomeOf(micro(m), b.atDefault.microF1, 'higher'),
      modelValue: micro(m),
      baselineValue: b.atDefault.microF1,
    })),
  );
  const sentences = [
    `Baselines on the same validation films, micro F1 at threshold 0.5: ` +
      `${listWords(bases.map((b) => `${b.title} ${formatMetric(b.atDefault.microF1)}`))}; the strongest is ${strongest.title}.`,
  ];
  for (const m of models) {
    const mine = cells.filter((c) => c.model === m.id);
    const group = (outcome: Outcome) =>
      mine.filter((c) => c.outcome === outcome).map((c) => `${classifier(analysis, c.baseline).title} (${formatMetric(c.baselineValue)})`);
    const subject = `${capitalise(nameOf(m))} (micro F1 ${formatMetric(micro(m))}${m.headline === 'decided' ? ', with its decision rule' : ''})`;
    const [beats, ties, loses] = [group('beats'), group('ties'), group('loses')];
    if (beats.length === mine.length) sentences.push(`${subject} beats every baseline.`);
    else if (loses.length === mine.length) sentences.push(`${subject} beats no baseline: it is below ${listWords(loses)}.`);
    else {
      const clauses = [
        beats.length ? `beats ${listWords(beats)}` : '',
        ties.length ? `ties with ${listWords(ties)}` : '',
        loses.length ? `does not beat ${listWords(loses)}` : '',
      ];
      sentences.push(`${subject} ${clauses.filter(Boolean).join('; ')}.`);
    }
  }
  const priors = classifier(analysis, 'genre-priors');
  const loss = models.map((m) => ({
    model: m.id as TunedClassifierId,
    outcome: outcomeOf(m.loss ?? Number.POSITIVE_INFINITY, priors.loss ?? Number.POSITIVE_INFINITY, 'lower'),
    modelValue: m.loss ?? Number.NaN,
    baselineValue: priors.loss ?? Number.NaN,
  }));
  if (priors.loss !== null) {
    const words = loss.map(
      (l) =>
        `${nameOf(classifier(analysis, l.model))} ${formatMetric(l.modelValue)} (${l.outcome === 'beats' ? 'better' : l.outcome === 'ties' ? 'a tie' : 'worse'})`,
    );
    sentences.push(`Validation loss, lower is better: the genre priors score ${formatMetric(priors.loss)}; ${listWords(words)}.`);
  }
  const better = models.filter((m) => m.meanAP !== null && priors.meanAP !== null && outcomeOf(m.meanAP, priors.meanAP, 'higher') === 'beats');
  if (priors.meanAP !== null) {
    sentences.push(
      `Ranking (mean AP over the genres with validation films; any constant baseline scores each genre’s share of films, ${formatMetric(priors.meanAP)} on average): ` +
        (better.length === models.length
          ? `${allOf(models.length)} rank the films better than that.`
          : better.length === 0
            ? `none ranks the films better than that.`
            : `only ${listWords(better.map(nameOf))} ${better.length === 1 ? 'ranks' : 'rank'} the films better than that.`),
    );
  }
  const everyGenre = analysis.classifiers.find((c) => c.id === 'every-genre');
  if (everyGenre) {
    const words = models.map((m) => {
      const outcome = outcomeOf(macro(m), everyGenre.atDefault.macroF1, 'higher');
      return `${nameOf(m)} ${formatMetric(macro(m))} (${outcome === 'beats' ? 'beats it' : outcome === 'ties' ? 'a tie' : 'does not beat it'})`;
    });
    sentences.push(
      `Macro F1, where a rare genre counts as much as Drama: labelling every film with every genre scores ${formatMetric(everyGenre.atDefault.macroF1)}; ${listWords(words)}.`,
    );
  }
  const against = models.map((m) => {
    const cell = cells.find((c) => c.model === m.id && c.baseline === strongest.id)!;
    return `${nameOf(m)} ${formatMetric(micro(m))} (${cell.outcome === 'beats' ? 'beats it' : cell.outcome === 'ties' ? 'a tie' : 'does not beat it'})`;
  });
  const decided = models.some((m) => m.headline === 'decided') ? ' (the strong models with their decision rule)' : '';
  const headline = `Against the strongest baseline, ${strongest.title} (micro F1 ${formatMetric(strongest.atDefault.microF1)} at threshold 0.5): ${listWords(against)}${decided}.`;
  return { strongest, cells, loss, headline, sentences };
}

/** The best baseline F1 of each genre at 0.5 (which baseline, and its F1). */
export function bestBaselineF1(analysis: AnalysisArtifact): Map<string, { title: string; f1: number }> {
  const out = new Map<string, { title: string; f1: number }>();
  analysis.genres.forEach((genre, g) => {
    for (const b of baselines(analysis)) {
      const f1 = b.perGenre[g].atDefault.f1;
      const current = out.get(genre);
      if (!current || f1 > current.f1) out.set(genre, { title: b.title, f1 });
    }
  });
  return out;
}

// --- Per genre: which classifier has the best F1 (the comparison page) ----------------------------

/** The classifiers the comparison page compares genre by genre: both models and the learned fusion. */
export const GENRE_COMPARED = ['cnn', 'lstm', 'gmu'] as const satisfies readonly TunedClassifierId[];
export type GenreComparedId = (typeof GENRE_COMPARED)[number];

export interface GenreLeaderRow {
  genre: string;
  /** Validation films with the genre. */
  support: number;
  /** F1 at threshold 0.5 on the validation films (analysis.json `perGenre[].atDefault.f1`). */
  f1: Record<GenreComparedId, number>;
  /** The classifiers with the highest F1 on the displayed three decimals; more than one is a tie. */
  best: GenreComparedId[];
  /** The best baseline's F1 on the genre at 0.5 (0 when no baseline predicts it). */
  baseline: { title: string; f1: number };
}

/** Of `ids`, those whose F1 is the highest on the displayed three decimals (several on a tie). */
export function bestOf(f1: Record<GenreComparedId, number>, ids: readonly GenreComparedId[] = GENRE_COMPARED): GenreComparedId[] {
  const top = Math.max(...ids.map((id) => rounded(f1[id])));
  return ids.filter((id) => rounded(f1[id]) === top);
}

/**
 * Per genre with validation films (most films first, then by name): the F1 of both models and the
 * learned fusion at 0.5, which of them is best, and the best baseline — all from analysis.json.
 */
export function genreLeaders(analysis: AnalysisArtifact): GenreLeaderRow[] {
  const compared = GENRE_COMPARED.map((id) => classifier(analysis, id));
  const baseline = bestBaselineF1(analysis);
  return analysis.genres
    .map((genre, g) => {
      const f1 = Object.fromEntries(compared.map((c) => [c.id, c.perGenre[g].atDefault.f1])) as Record<GenreComparedId, number>;
      return { genre, support: compared[0].perGenre[g].support, f1, best: bestOf(f1), baseline: baseline.get(genre) ?? { title: 'none', f1: 0 } };
    })
    .filter((row) => row.support > 0)
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre));
}

export interface LeaderCounts {
  /** Genres on which this classifier alone has the highest F1 (of `ids`). */
  alone: Record<GenreComparedId, number>;
  /** Genres on which two or more of `ids` share the highest F1 (on three decimals). */
  shared: number;
}

/** How many genres each of `ids` leads alone, and how many are shared. */
export function leaderCounts(rows: readonly GenreLeaderRow[], ids: readonly GenreComparedId[] = GENRE_COMPARED): LeaderCounts {
  const alone = { cnn: 0, lstm: 0, gmu: 0 };
  let shared = 0;
  for (const row of rows) {
    const best = bestOf(row.f1, ids);
    if (best.length === 1) alone[best[0]]++;
    else shared++;
  }
  return { alone, shared };
}

/** Genres on which every one of `ids` is below the best baseline (three decimals). */
export const belowBaseline = (rows: readonly GenreLeaderRow[], ids: readonly GenreComparedId[] = GENRE_COMPARED) =>
  rows.filter((row) => ids.every((id) => rounded(row.f1[id]) < rounded(row.baseline.f1)));

/**
 * The comparison page's per-genre sentences: who has the highest F1 alone, how many genres are
 * shared, and the two models against each other (as before the learned fusion joined).
 */
export function genreLeaderSentences(analysis: AnalysisArtifact, rows: readonly GenreLeaderRow[] = genreLeaders(analysis)): string[] {
  const [cnn, lstm, gmu] = GENRE_COMPARED.map((id) => classifier(analysis, id));
  const all = leaderCounts(rows);
  const pair = leaderCounts(rows, ['cnn', 'lstm']);
  const genres = (n: number) => `${n} genre${n === 1 ? '' : 's'}`;
  const are = (n: number) => (n === 1 ? 'is' : 'are');
  return [
    `Of the ${genres(rows.length)} with validation films, the highest F1 at 0.5 belongs to ${nameOf(cnn)} alone on ${all.alone.cnn}, ` +
      `to ${nameOf(lstm)} alone on ${all.alone.lstm} and to ${nameOf(gmu)} alone on ${all.alone.gmu}; ` +
      `${all.shared} ${are(all.shared)} shared by two or all three (equal to three decimals, often all 0).`,
    `Between the two models only, ${nameOf(cnn)} has the higher F1 on ${pair.alone.cnn}, ${nameOf(lstm)} on ${pair.alone.lstm}, ` +
      `and ${pair.shared} ${are(pair.shared)} ${pair.shared === 1 ? 'a tie' : 'ties'}.`,
  ];
}

// --- Tables ----------------------------------------------------------------------------------

export interface SummaryColumn {
  key: 'microPrecision' | 'microRecall' | 'microF1' | 'macroF1' | 'weightedF1' | 'samplesF1' | 'microAP' | 'meanAP' | 'loss';
  label: string;
  better: 'higher' | 'lower';
}

export const SUMMARY_COLUMNS: readonly SummaryColumn[] = [
  { key: 'microPrecision', label: 'Micro P', better: 'higher' },
  { key: 'microRecall', label: 'Micro R', better: 'higher' },
  { key: 'microF1', label: 'Micro F1', better: 'higher' },
  { key: 'macroF1', label: 'Macro F1', better: 'higher' },
  { key: 'weightedF1', label: 'Weighted F1', better: 'higher' },
  { key: 'samplesF1', label: 'Samples F1', better: 'higher' },
  { key: 'microAP', label: 'Micro AP', better: 'higher' },
  { key: 'meanAP', label: 'mAP', better: 'higher' },
  { key: 'loss', label: 'BCE', better: 'lower' },
];

/**
 * A classifier's headline figure: at 0.5 for the coursework's models, fusions and the baselines; with
 * the decision rule for the strong models (micro figures at the shared threshold, macro F1 at the
 * per-genre thresholds; analysis.json `decided`).
 */
export function summaryValue(c: ClassifierAnalysis, key: SummaryColumn['key']): number | null {
  if (key === 'microAP' || key === 'meanAP' || key === 'loss') return c[key];
  if (c.headline === 'decided' && c.decided) return key === 'macroF1' ? c.decided.perGenre.macroF1 : c.decided.shared[key];
  return c.atDefault[key];
}

/** The best displayed value of each column (null where no classifier has one). */
export function columnBests(classifiers: readonly ClassifierAnalysis[]): Record<SummaryColumn['key'], number | null> {
  const out = {} as Record<SummaryColumn['key'], number | null>;
  for (const column of SUMMARY_COLUMNS) {
    const values = classifiers
      .map((c) => summaryValue(c, column.key))
      .filter((v): v is number => v !== null)
      .map(rounded);
    out[column.key] = values.length ? (column.better === 'higher' ? Math.max(...values) : Math.min(...values)) / 1000 : null;
  }
  return out;
}

export const isBest = (value: number | null, best: number | null) => value !== null && best !== null && rounded(value) === rounded(best);

export interface GenreAnalysisRow {
  genre: string;
  support: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  averagePrecision: number | null;
  trueFrequency: number;
  predictedFrequency: number;
  meanProbability: number;
}

/**
 * Per-genre rows of one classifier at 0.5, most validation films first. Precision is null when the
 * genre is never predicted, recall/F1 when no validation film has it (shown as "—").
 */
export function genreRows(analysis: AnalysisArtifact, id: ClassifierId): GenreAnalysisRow[] {
  const c = classifier(analysis, id);
  const n = analysis.validationFilms;
  return c.perGenre
    .map((g) => ({
      genre: g.genre,
      support: g.support,
      precision: g.atDefault.predictedPositives === 0 ? null : g.atDefault.precision,
      recall: g.support === 0 ? null : g.atDefault.recall,
      f1: g.support === 0 ? null : g.atDefault.f1,
      averagePrecision: g.averagePrecision,
      trueFrequency: n ? g.support / n : 0,
      predictedFrequency: n ? g.atDefault.predictedPositives / n : 0,
      meanProbability: g.meanProbability,
    }))
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre));
}

/** The genre a classifier over-predicts most (predicted minus true share of films), if any. */
export function mostOverpredicted(analysis: AnalysisArtifact, id: ClassifierId): GenreAnalysisRow | null {
  const rows = genreRows(analysis, id).filter((r) => r.predictedFrequency > r.trueFrequency);
  return rows.reduce<GenreAnalysisRow | null>(
    (worst, r) => (!worst || r.predictedFrequency - r.trueFrequency > worst.predictedFrequency - worst.trueFrequency ? r : worst),
    null,
  );
}

export interface MeanSd {
  mean: number;
  sd: number;
}

/** Mean and (population) standard deviation. */
export function meanSd(values: readonly number[]): MeanSd {
  if (values.length === 0) return { mean: Number.NaN, sd: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, sd: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

export interface ThresholdGenreRow {
  genre: string;
  support: number;
  threshold: number;
  foldMin: number;
  foldMax: number;
  trainF1: { atDefault: number; tuned: number };
  outOfFoldF1: { atDefault: number; tuned: number };
  validationF1: { atDefault: number; tuned: number };
}

/** Per genre: the threshold chosen on the training films, its spread over the folds, and F1 at 0.5 vs tuned. */
export function thresholdRows(analysis: AnalysisArtifact, id: TunedClassifierId): ThresholdGenreRow[] {
  const c = classifier(analysis, id);
  const s = selection(analysis, id);
  return analysis.genres
    .map((genre, g) => {
      const folds = s.folds.map((f) => f.thresholds[g]);
      const tuned = c.perGenre[g].tuned;
      return {
        genre,
        support: c.perGenre[g].support,
        threshold: s.thresholds[g],
        foldMin: Math.min(...folds),
        foldMax: Math.max(...folds),
        trainF1: { atDefault: s.trainF1AtDefault[g], tuned: s.trainF1[g] },
        outOfFoldF1: { atDefault: s.outOfFold.atDefault.perGenreF1[g], tuned: s.outOfFold.tuned.perGenreF1[g] },
        validationF1: { atDefault: c.perGenre[g].atDefault.f1, tuned: tuned ? tuned.f1 : Number.NaN },
      };
    })
    .sort((a, b) => b.support - a.support || a.genre.localeCompare(b.genre));
}

export interface ThresholdSummary {
  id: TunedClassifierId;
  title: string;
  /** Held-out micro / macro F1 over the cross-validation folds (training films). */
  folds: { microF1: { atDefault: MeanSd; tuned: MeanSd }; macroF1: { atDefault: MeanSd; tuned: MeanSd } };
  validation: { atDefault: ClassifierAnalysis['atDefault']; tuned: NonNullable<ClassifierAnalysis['tuned']> };
  /** Micro F1 on the validation films: did the tuned thresholds help? */
  outcome: Outcome;
  /** Held-out micro F1 on the training folds: did they help there? */
  foldOutcome: Outcome;
}

export function thresholdSummaries(analysis: AnalysisArtifact): ThresholdSummary[] {
  return COMPARED.map((id) => {
    const c = classifier(analysis, id);
    const s = selection(analysis, id);
    if (!c.tuned) throw new Error(`genrelens: analysis.json has no tuned metrics for "${id}"; re-run \`npm run build\`.`);
    const folds = {
      microF1: { atDefault: meanSd(s.folds.map((f) => f.atDefault.microF1)), tuned: meanSd(s.folds.map((f) => f.tuned.microF1)) },
      macroF1: { atDefault: meanSd(s.folds.map((f) => f.atDefault.macroF1)), tuned: meanSd(s.folds.map((f) => f.tuned.macroF1)) },
    };
    return {
      id,
      title: c.title,
      folds,
      validation: { atDefault: c.atDefault, tuned: c.tuned },
      outcome: outcomeOf(c.tuned.microF1, c.atDefault.microF1, 'higher'),
      foldOutcome: outcomeOf(folds.microF1.tuned.mean, folds.microF1.atDefault.mean, 'higher'),
    };
  });
}

const CHANGE_WORDS: Record<Outcome, string> = { beats: 'raise', ties: 'leave unchanged', loses: 'lower' };

/** What the tuned thresholds did, in words: on the held-out training folds, then on the validation films. */
export function thresholdSentences(analysis: AnalysisArtifact): string[] {
  return thresholdSummaries(analysis).map((s) => {
    const c = classifier(analysis, s.id);
    const v = s.validation;
    return (
      `For ${nameOf(c)}, thresholds tuned on the training films ${CHANGE_WORDS[s.foldOutcome]} held-out micro F1 in the ` +
      `${analysis.thresholds.folds}-fold cross-validation (${formatMetric(s.folds.microF1.atDefault.mean)} → ${formatMetric(s.folds.microF1.tuned.mean)}, mean over folds) ` +
      `and ${CHANGE_WORDS[s.outcome]} validation micro F1 (${formatMetric(v.atDefault.microF1)} → ${formatMetric(v.tuned.microF1)}; ` +
      `macro F1 ${formatMetric(v.atDefault.macroF1)} → ${formatMetric(v.tuned.macroF1)}).`
    );
  });
}

/** The late fusion's weight, its stability over the folds and how it compares with its two parts. */
export function fusionSentences(analysis: AnalysisArtifact): string[] {
  const { weight, foldWeights, grid } = analysis.fusion;
  const [cnn, lstm, fusion] = (['cnn', 'lstm', 'fusion'] as const).map((id) => classifier(analysis, id));
  const validationBest = grid.reduce((best, p) => (p.validationLoss < best.validationLoss ? p : best));
  const spread = foldWeights.length ? `${Math.min(...foldWeights).toFixed(2)}–${Math.max(...foldWeights).toFixed(2)}` : 'n/a';
  const parts = [cnn, lstm].map((m) => `${nameOf(m)} ${formatMetric(m.atDefault.microF1)}`);
  const edge = weight === 1 ? ' — that is the CNN alone' : weight === 0 ? ' — that is the LSTM alone' : '';
  return [
    `The weight w in p = w·p_CNN + (1 − w)·p_LSTM with the lowest binary cross-entropy on the training films is ${weight.toFixed(2)}${edge}; ` +
      `chosen on each cross-validation fold's other folds it ranges over ${spread}.`,
    `On the validation films the late fusion reaches micro F1 ${formatMetric(fusion.atDefault.microF1)} at 0.5 (${listWords(parts)}) ` +
      `and loss ${formatMetric(fusion.loss ?? Number.NaN)}. For information only (not used to choose), the weight with the lowest validation loss would be ${validationBest.weight.toFixed(2)}.`,
  ];
}

const BETTER_WORDS: Record<Outcome, string> = { beats: 'better than', ties: 'level with', loses: 'worse than' };

/**
 * The learned fusion (GMU) in words, every number from `analysis.json` and `fusion-gmu.json`: what
 * it is, how its epoch was chosen, how it compares with the late fusion and the two models on the
 * validation films (judged on the displayed three decimals), what its gate does, and the caveat of
 * in-sample activations.
 */
export function learnedFusionSentences(analysis: AnalysisArtifact, history: GmuHistoryArtifact): string[] {
  const gmu = classifier(analysis, 'gmu');
  const late = classifier(analysis, 'fusion');
  const models = (['cnn', 'lstm'] as const).map((id) => classifier(analysis, id));
  const { method, sizes, chosenEpoch, epochs, folds, gate } = history;
  const chosen = epochs[chosenEpoch];
  const foldEpochs = folds.map((f) => f.chosenEpoch + 1);
  const range = foldEpochs.length
    ? Math.min(...foldEpochs) === Math.max(...foldEpochs)
      ? `${foldEpochs[0]}`
      : `${Math.min(...foldEpochs)}–${Math.max(...foldEpochs)}`
    : 'n/a';
  const f1 = outcomeOf(gmu.atDefault.microF1, late.atDefault.microF1, 'higher');
  const loss = outcomeOf(gmu.loss ?? Number.POSITIVE_INFINITY, late.loss ?? Number.POSITIVE_INFINITY, 'lower');
  const ap = gmu.meanAP !== null && late.meanAP !== null ? outcomeOf(gmu.meanAP, late.meanAP, 'higher') : null;
  const beatsModels = models.filter((m) => outcomeOf(gmu.atDefault.microF1, m.atDefault.microF1, 'higher') === 'beats');
  const other = models.find((m) => !beatsModels.includes(m));
  const modelWords =
    beatsModels.length === models.length
      ? `is above both models (${listWords(models.map((m) => `${nameOf(m)} ${formatMetric(m.atDefault.microF1)}`))})`
      : beatsModels.length === 0
        ? `is not above either model (${listWords(models.map((m) => `${nameOf(m)} ${formatMetric(m.atDefault.microF1)}`))})`
        : `is above ${nameOf(beatsModels[0])} (${formatMetric(beatsModels[0].atDefault.microF1)}) but not ${nameOf(other!)} (${formatMetric(other!.atDefault.microF1)})`;
  const validationLoss = gmu.loss ?? Number.NaN;
  const gap = validationLoss - chosen.holdoutLoss;
  return [
    `The learned fusion is a gated multimodal unit (Arevalo et al., 2017) on the two models’ penultimate activations — the CNN’s ${method.inputs.visual.layer} ` +
      `(${method.inputs.visual.units} values) and the BiLSTM’s ${method.inputs.textual.layer} (${method.inputs.textual.units}): each is mapped through tanh to ` +
      `${method.hiddenUnits} hidden units, and a gate z computed from both decides, unit by unit, how much of the poster (z) and of the overview (1 − z) to take, ` +
      `before a sigmoid per genre (${method.params.toLocaleString('en')} parameters, trained; the two models stay frozen).`,
    `It was trained on ${sizes.innerTrainFilms} of the ${sizes.trainFilms} training films for up to ${method.maxEpochs} epochs; epoch ${chosenEpoch + 1} had the lowest loss ` +
      `on the other ${sizes.holdoutFilms} (${formatMetric(chosen.holdoutLoss)}) and its weights are kept. Its training-film probabilities, on which its thresholds are tuned, ` +
      `are out-of-fold: ${folds.length} more copies, each trained without one fold of the training films, predict that fold (their epochs: ${range}). The validation films chose nothing.`,
    `On the validation films it reaches micro F1 ${formatMetric(gmu.atDefault.microF1)} at 0.5, which ${OUTCOME_WORDS[f1]} the late fusion (${formatMetric(late.atDefault.microF1)}) and ${modelWords}. ` +
      `Its loss is ${formatMetric(validationLoss)}, ${BETTER_WORDS[loss]} the late fusion’s ${formatMetric(late.loss ?? Number.NaN)}` +
      (ap === null ? '.' : `, and its mAP ${formatMetric(gmu.meanAP!)}, ${BETTER_WORDS[ap]} the late fusion’s ${formatMetric(late.meanAP!)}.`),
    `On average the gate gives the poster a share of ${formatMetric(gate.validation)} of each hidden unit on the validation films (${formatMetric(gate.train)} on the training films).`,
    `Caveat: the activations of the training films come from models fitted to those films, so the GMU learns from features that separate the genres better than on new films. ` +
      `Its holdout loss (${formatMetric(chosen.holdoutLoss)}) is ${gap > 0 ? `${formatMetric(gap)} below` : gap < 0 ? `${formatMetric(-gap)} above` : 'equal to'} its validation loss (${formatMetric(validationLoss)}).`,
  ];
}

/** "48.2% of films" for the frequency columns. */
export const share = (n: number) => formatPercent(n, 1);
