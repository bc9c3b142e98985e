/**
 * The report's judgements, computed from the artifacts (pure: no Astro imports, unit-testable):
 * the verdict table and sentence, per-genre winners, and the example cards' outcomes.
 *
 * Comparisons are made on the numbers as displayed (three decimals): two models whose metric
 * rounds to the same value tie, so the report never claims a win the reader cannot see.
 */
import type { HistoryArtifact, ModelKind, RunArtifact } from '../../pipeline/lib/contract/contract.ts';
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
  /** The paired bootstrap's interval of the CNN − BiLSTM difference, when it includes 0 (the higher figure is not clearly better). */
  unsure?: { low: number; high: number };
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

/**
 * The verdict of the two models on their kept epochs. With `differences` (the paired bootstrap's
 * intervals of CNN − BiLSTM micro and macro F1, analysis.json), one model is said to predict better
 * only when the interval excludes 0 and agrees with the figures shown; a row whose interval includes
 * 0 is marked unsure.
 */
export function verdict(
  histories: Record<ModelKind, HistoryArtifact>,
  run: RunArtifact,
  differences?: Partial<Record<'microF1' | 'macroF1', { low: number; high: number }>>,
): Verdict {
  const difference = differences?.microF1;
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
  for (const row of rows) {
    const interval = differences?.[row.key as 'microF1' | 'macroF1'];
    if (!interval || (row.winner !== 'cnn' && row.winner !== 'lstm')) continue;
    if (!(row.winner === 'cnn' ? interval.low > 0 : interval.high < 0)) row.unsure = interval;
  }
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
    fact(
      'bestEpoch',
      'Best epoch',
      'lowest validation loss; its weights are kept',
      { cnn: histories.cnn.bestEpoch + 1, lstm: histories.lstm.bestEpoch + 1 },
      String,
    ),
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
    const shown = `micro F1 ${primary.display[overall]} vs ${primary.display[loser]} (the primary metric)`;
    const interval = difference && `[${formatMetric(difference.low)}, ${formatMetric(difference.high)}]`;
    const sure = difference && (overall === 'cnn' ? difference.low > 0 : difference.high < 0);
    sentences.push(
      !difference || sure
        ? `On the validation films the ${title(overall)} predicts genres better than the ${title(loser)}: ${shown}` +
            (interval ? `; the 95% interval of the CNN − BiLSTM difference, ${interval}, excludes 0.` : '.')
        : `On the validation films the ${title(overall)} scores higher than the ${title(loser)}: ${shown}; but the 95% interval of the ` +
            `CNN − BiLSTM difference, ${interval}, includes 0, so these films cannot tell the two apart.`,
    );
  }
  const others = rows.filter((row) => row.winner !== null && row.key !== 'microF1');
  // The overall winner's other wins first, so "It also" refers to it.
  const order: ModelKind[] = overall === 'lstm' ? ['lstm', 'cnn'] : ['cnn', 'lstm'];
  for (const model of order) {
    const won = others
      .filter((row) => row.winner === model)
      .map((row) => `${lowercase(row.label)} (${row.display[model]} vs ${row.display[model === 'cnn' ? 'lstm' : 'cnn']})`);
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

export * from '../../pipeline/lib/contract/examples.ts';

export const filmAnchor = (id: string) => `film-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** IMDb's title page for an id that looks like an IMDb title id (`tt` and digits); none for other ids. */
export const imdbTitleUrl = (id: string): string | undefined => (/^tt\d+$/.test(id) ? `https://www.imdb.com/title/${id}/` : undefined);
