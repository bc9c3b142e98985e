/**
 * The ablations page's tables and sentences, computed from `ablations.json` (pure: no Astro imports,
 * unit-testable): per ablation and affected model, the main run's figures beside the ablation's, the
 * signed difference, and in words which way it went.
 *
 * Differences are judged on the numbers as displayed (three decimals), and one smaller than NOISE is
 * called within noise: each switch is one run with one seed, and another seed could move a figure by
 * a few thousandths (the artifact's notes say so).
 */
import type { AblationFigures, AblationsArtifact, ModelKind } from '../../pipeline/lib/contract/contract.ts';
import { formatEpoch, formatMetric, formatSeconds } from './format.ts';
import { MODELS } from './report.ts';

export type Ablation = AblationsArtifact['ablations'][number];
export type AblationModel = Ablation['models'][number];
/** The models' display names ("Poster CNN"), from their history artifacts. */
export type ModelTitles = Record<ModelKind, string>;
export const modelTitles = (histories: Record<ModelKind, { title: string }>): ModelTitles => ({ cnn: histories.cnn.title, lstm: histories.lstm.title });

/** A difference of a score or loss smaller than this (as displayed) is within noise. */
export const NOISE = 0.005;

/** Colour and dash of each ablation's line in the charts (the main run: its model's colour, solid). */
export const ABLATION_STYLES: Record<string, { colour: string; dash: string }> = {
  'class-weighted-loss': { colour: 'var(--accent)', dash: '6 3' },
  'focal-loss': { colour: 'var(--fusion)', dash: '2 3' },
  'poster-augmentation': { colour: 'var(--gmu)', dash: '10 3 2 3' },
  'early-stopping': { colour: 'var(--good)', dash: '4 2 1 2' },
};
const FALLBACK_STYLES = [
  { colour: 'var(--muted)', dash: '8 4' },
  { colour: 'var(--bad)', dash: '1 3' },
];

/** An ablation's line style; ids without one of their own get a fallback by position. */
export function ablationStyle(id: string, index: number): { colour: string; dash: string } {
  return ABLATION_STYLES[id] ?? FALLBACK_STYLES[index % FALLBACK_STYLES.length];
}

// --- Differences ------------------------------------------------------------------------------

export type Judgement = 'better' | 'worse' | 'noise';

type ScoreKey = keyof Pick<
  AblationFigures['validation'],
  'loss' | 'microPrecision' | 'microRecall' | 'microF1' | 'macroF1' | 'meanAP' | 'tunedMicroF1' | 'tunedMacroF1'
>;

const thousandths = (n: number) => Math.round(n * 1000);

/** Better, worse or within noise: judged on the displayed three decimals. */
export function judge(value: number, main: number, better: 'higher' | 'lower'): Judgement {
  const delta = thousandths(value) - thousandths(main);
  if (Math.abs(delta) < thousandths(NOISE)) return 'noise';
  return (better === 'higher') === delta > 0 ? 'better' : 'worse';
}

/** The difference of two numbers as displayed with `digits` decimals (what a reader computes from the page). */
export function displayedDelta(value: number, main: number, digits = 3): number {
  const scale = 10 ** digits;
  return (Math.round(value * scale) - Math.round(main * scale)) / scale;
}

const MINUS = '−';
/** "+0.037", "−0.012", "±0.000": a signed difference with `digits` decimals. */
export function signed(delta: number, digits = 3): string {
  const text = Math.abs(delta).toFixed(digits);
  if (Number(text) === 0) return `±${text}`;
  return `${delta > 0 ? '+' : MINUS}${text}`;
}
/** "+12", "−3", "±0" for counts. */
const signedInt = (delta: number) => (delta === 0 ? '±0' : `${delta > 0 ? '+' : MINUS}${Math.abs(delta)}`);
/** "+12.0 s", "−4 s", "±0.0 s" for training times. */
function signedSeconds(ms: number): string {
  const text = formatSeconds(Math.abs(ms));
  return `${Number.parseFloat(text) === 0 ? '±' : ms > 0 ? '+' : MINUS}${text}`;
}
const perFilm = (n: number) => n.toFixed(2);

// --- Tables -----------------------------------------------------------------------------------

export type ColumnKey = 'epochs' | 'keptEpoch' | 'trainingTime' | ScoreKey | 'predictedGenresPerFilm' | 'genresFound';

export interface AblationColumn {
  key: ColumnKey;
  label: string;
  /** How a score is judged; null for the descriptive columns (epochs, time, genres). */
  better: 'higher' | 'lower' | null;
}

export const ABLATION_COLUMNS: readonly AblationColumn[] = [
  { key: 'epochs', label: 'Epochs run / planned', better: null },
  { key: 'keptEpoch', label: 'Kept epoch', better: null },
  { key: 'trainingTime', label: 'Training time', better: null },
  { key: 'loss', label: 'Val BCE', better: 'lower' },
  { key: 'microPrecision', label: 'Micro P', better: 'higher' },
  { key: 'microRecall', label: 'Micro R', better: 'higher' },
  { key: 'microF1', label: 'Micro F1', better: 'higher' },
  { key: 'macroF1', label: 'Macro F1', better: 'higher' },
  { key: 'meanAP', label: 'mAP', better: 'higher' },
  { key: 'tunedMicroF1', label: 'Tuned micro F1', better: 'higher' },
  { key: 'tunedMacroF1', label: 'Tuned macro F1', better: 'higher' },
  { key: 'predictedGenresPerFilm', label: 'Genres / film', better: null },
  { key: 'genresFound', label: 'Genres found', better: null },
];

export interface AblationCell {
  key: ColumnKey;
  /** The number as displayed ("—" when undefined). */
  display: string;
  /** Signed difference from the main run as displayed; null in the main run's row, for a model whose figures are the main run's, or when undefined. */
  delta: string | null;
  /** For scores: better, worse or within noise; null where there is no delta or nothing to judge. */
  judgement: Judgement | null;
}

export interface AblationRow {
  ablation: string;
  model: ModelKind;
  title: string;
  source: AblationModel['source'];
  note: string | null;
  cached: boolean;
  /** The main run's figures for the same model (no deltas). */
  main: AblationCell[];
  /** The ablation's, with their signed difference from the main run. */
  cells: AblationCell[];
}

function cell(key: ColumnKey, figures: AblationFigures, main: AblationFigures | null): AblationCell {
  const column = ABLATION_COLUMNS.find((c) => c.key === key)!;
  const v = figures.validation;
  switch (key) {
    case 'epochs':
      return {
        key,
        display: `${figures.epochsRun} / ${figures.epochsPlanned}`,
        delta: main ? signedInt(figures.epochsRun - main.epochsRun) : null,
        judgement: null,
      };
    case 'keptEpoch':
      return { key, display: formatEpoch(figures.bestEpoch), delta: main ? signedInt(figures.bestEpoch - main.bestEpoch) : null, judgement: null };
    case 'trainingTime':
      return { key, display: formatSeconds(figures.trainingMs), delta: main ? signedSeconds(figures.trainingMs - main.trainingMs) : null, judgement: null };
    case 'predictedGenresPerFilm':
      return {
        key,
        display: perFilm(v.predictedGenresPerFilm),
        delta: main ? signed(displayedDelta(v.predictedGenresPerFilm, main.validation.predictedGenresPerFilm, 2), 2) : null,
        judgement: null,
      };
    case 'genresFound':
      return { key, display: String(v.genresFound), delta: main ? signedInt(v.genresFound - main.validation.genresFound) : null, judgement: null };
    default: {
      const value = v[key];
      const reference = main ? main.validation[key] : null;
      if (value === null) return { key, display: '—', delta: null, judgement: null };
      if (reference === null || reference === undefined) return { key, display: formatMetric(value), delta: null, judgement: null };
      return { key, display: formatMetric(value), delta: signed(displayedDelta(value, reference)), judgement: judge(value, reference, column.better!) };
    }
  }
}

const cells = (figures: AblationFigures, main: AblationFigures | null) => ABLATION_COLUMNS.map((column) => cell(column.key, figures, main));

export function ablation(artifact: AblationsArtifact, id: string): Ablation {
  const found = artifact.ablations.find((a) => a.id === id);
  if (!found) throw new Error(`genrelens: ablations.json has no "${id}" ablation; re-run \`npm run build\`.`);
  return found;
}

/** One row per model the ablation affects: the main run's figures and the ablation's, with signed differences. */
export function ablationRows(artifact: AblationsArtifact, a: Ablation, titles: ModelTitles): AblationRow[] {
  return a.models.map((m) => {
    const main = artifact.main[m.model];
    const same = m.source === 'same-as-main';
    return {
      ablation: a.id,
      model: m.model,
      title: titles[m.model],
      source: m.source,
      note: m.note ?? null,
      cached: m.cached,
      main: cells(main, null),
      cells: cells(m.figures, same ? null : main),
    };
  });
}

// --- Sentences --------------------------------------------------------------------------------

const JUDGEMENT_WORDS: Record<Judgement, string> = { better: 'better', worse: 'worse', noise: 'within noise' };

/** "from 0.364 to 0.401 (+0.037, better)". */
function change(value: number, main: number, better: 'higher' | 'lower'): string {
  const judgement = judge(value, main, better);
  const words = JUDGEMENT_WORDS[judgement] + (better === 'lower' && judgement !== 'noise' ? ': lower is better' : '');
  return `from ${formatMetric(main)} to ${formatMetric(value)} (${signed(displayedDelta(value, main))}, ${words})`;
}

function listWords(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Epochs and time: said when the run stopped before its schedule ended, or for the early-stopping ablation. */
function epochSentence(a: Ablation, f: AblationFigures, main: AblationFigures, subject: string): string | null {
  const saved = f.epochsPlanned - f.epochsRun;
  if (saved <= 0) return a.id === 'early-stopping' ? `Early stopping never stopped ${subject}: all ${plural(f.epochsPlanned, 'epoch')} ran.` : null;
  const time = main.trainingMs - f.trainingMs;
  const timeWords =
    time > 0
      ? `training took ${formatSeconds(f.trainingMs)} instead of the main run’s ${formatSeconds(main.trainingMs)}, ${formatSeconds(time)} less`
      : `training took ${formatSeconds(f.trainingMs)} (the main run: ${formatSeconds(main.trainingMs)})`;
  return (
    `Training of ${subject} stopped after epoch ${f.epochsRun} of ${f.epochsPlanned}: ${plural(saved, 'epoch')} saved, and ${timeWords}. ` +
    `The kept epoch is ${formatEpoch(f.bestEpoch)} (the main run’s: ${formatEpoch(main.bestEpoch)}).`
  );
}

/** "closer to", "further from", "as far from" the truth's genres per film, on the displayed two decimals. */
function closeness(value: number, main: number, truth: number): string {
  const a = Math.abs(Math.round(value * 100) - Math.round(truth * 100));
  const b = Math.abs(Math.round(main * 100) - Math.round(truth * 100));
  return a < b ? 'closer to' : a > b ? 'further from' : 'as far from';
}

/**
 * What the switch did, in words: per affected model, its scores at 0.5, its ranking (mAP), its
 * validation loss, its tuned scores and how many genres it predicts, each against the main run;
 * for early stopping (or any run that stopped early), the epochs and time saved. A model whose
 * figures are the main run's says so, with the artifact's reason.
 */
export function ablationSentences(artifact: AblationsArtifact, a: Ablation, titles: ModelTitles): string[] {
  return ablationParagraphs(artifact, a, titles).flat();
}

/** The same sentences grouped: one group per affected model, then (when every difference is noise) the summary. */
export function ablationParagraphs(artifact: AblationsArtifact, a: Ablation, titles: ModelTitles): string[][] {
  const paragraphs: string[][] = [];
  a.models.forEach((m, i) => {
    const sentences: string[] = [];
    paragraphs.push(sentences);
    const main = artifact.main[m.model];
    const f = m.figures;
    const title = titles[m.model];
    const lead = i === 0 ? `${a.title}: the ${title}’s` : `The ${title}’s`;
    if (m.source === 'same-as-main') {
      sentences.push(
        `${lead} figures are the main run’s (micro F1 ${formatMetric(main.validation.microF1)}, ` +
          `validation loss ${formatMetric(main.validation.loss)}). ${m.note ?? 'The switch changes nothing for this model.'}`,
      );
      return;
    }
    const v = f.validation;
    const r = main.validation;
    const ranking = v.meanAP !== null && r.meanAP !== null ? `, its mAP ${change(v.meanAP, r.meanAP, 'higher')}` : '';
    sentences.push(
      `${lead} micro F1 at 0.5 goes ${change(v.microF1, r.microF1, 'higher')}, its macro F1 ${change(v.macroF1, r.macroF1, 'higher')}${ranking}; ` +
        `its validation loss goes ${change(v.loss, r.loss, 'lower')}.`,
    );
    sentences.push(
      `With thresholds tuned on the training films, its micro F1 goes ${change(v.tunedMicroF1, r.tunedMicroF1, 'higher')} ` +
        `and its macro F1 ${change(v.tunedMacroF1, r.tunedMacroF1, 'higher')}.`,
    );
    sentences.push(
      `At 0.5 it predicts ${perFilm(v.predictedGenresPerFilm)} genres per film (main run ${perFilm(r.predictedGenresPerFilm)}), ` +
        `${closeness(v.predictedGenresPerFilm, r.predictedGenresPerFilm, artifact.truthGenresPerFilm)} the ${perFilm(artifact.truthGenresPerFilm)} the validation films carry, ` +
        `and makes at least one correct prediction in ${plural(v.genresFound, 'genre')} (main run ${r.genresFound}).`,
    );
    const epochs = epochSentence(a, f, main, `the ${title}`);
    if (epochs) sentences.push(epochs);
  });
  const judged = a.models.filter((m) => m.source === 'trained');
  if (judged.length > 0) {
    const noisy = judged.every((m) =>
      (['loss', 'microF1', 'macroF1', 'tunedMicroF1', 'tunedMacroF1'] as const).every((key) => {
        const better = key === 'loss' ? 'lower' : 'higher';
        return judge(m.figures.validation[key], artifact.main[m.model].validation[key], better) === 'noise';
      }),
    );
    if (noisy) {
      paragraphs.push([
        `Every difference in loss and F1 is within noise (under ${NOISE}) for ${listWords(judged.map((m) => `the ${titles[m.model]}`))}: with one run per switch, this switch made no measurable difference.`,
      ]);
    }
  }
  return paragraphs;
}

/** The models at least one ablation trained: each gets a validation-loss chart. */
export function chartedModels(artifact: AblationsArtifact): ModelKind[] {
  const trained = new Set(artifact.ablations.flatMap((a) => a.models.filter((m) => m.source === 'trained').map((m) => m.model)));
  return MODELS.filter((model) => trained.has(model));
}

export const ablationChartId = (model: ModelKind) => `ablations-loss-${model}`;
