/**
 * How an example card shows a film's explanations (pure: no Astro imports, unit-testable):
 *
 * - the CNN's occlusion map as an SVG grid of rects laid over the poster thumbnail. The SVG's
 *   viewBox is the poster file's pixel grid and `preserveAspectRatio="xMidYMid slice"` crops it
 *   exactly as the thumbnail's centred `cover` crop does, so each patch sits on the part of the
 *   poster it covered;
 * - the LSTM's word importance as a background tint per word of the overview, with the value in
 *   the word's title and the strongest words listed in a sentence (readable without colour).
 *
 * Red: removing the patch / word lowers the model's probability of its top genre (it supported the
 * prediction); blue: removing it raises it. Intensity is relative to the film's largest |drop|.
 */
import type { ExampleExplanation } from './report.ts';

const CELL_MAX_OPACITY = 0.65;
const WORD_MAX_ALPHA = 0.6;
/** Cells and words fainter than this (relative to the strongest) are not tinted. */
const FAINTEST = 0.04;

const round2 = (value: number) => Math.round(value * 100) / 100;

/** A probability change in percentage points: 0.0412 → "4.1 pts"; below 0.1 pts, one significant digit (0.00004 → "0.004 pts"). */
export function formatPoints(change: number): string {
  const points = Math.abs(change) * 100;
  if (points >= 0.1 || points === 0) return `${points.toFixed(1)} pts`;
  return `${points.toFixed(Math.min(6, -Math.floor(Math.log10(points))))} pts`;
}

const percent = (p: number) => `${(p * 100).toFixed(1)}%`;

function place(row: number, col: number, rows: number, cols: number): string {
  const third = (i: number, n: number) => Math.min(2, Math.floor((3 * i) / n));
  const vertical = ['top', 'middle', 'bottom'][third(row, rows)];
  const horizontal = ['left', 'centre', 'right'][third(col, cols)];
  return vertical === 'middle' && horizontal === 'centre' ? 'centre' : `${vertical} ${horizontal}`;
}

export type Tint = 'support' | 'oppose';

export interface HeatmapCell {
  /** Patch corner in patch units (the SVG group's transform maps them onto the poster). */
  x: number;
  y: number;
  tint: Tint;
  opacity: number;
  drop: number;
  title: string;
}

export interface HeatmapView {
  viewBox: string;
  preserveAspectRatio: 'xMidYMid slice' | 'none';
  /** Maps patch units (a patch is 1 × 1) onto the viewBox. */
  transform: string;
  cells: HeatmapCell[];
  /** The SVG's accessible name: what is shown and where the strongest patch is. */
  label: string;
  /** Short text under the poster. */
  caption: string;
}

/** A probability change with its sign: −drop (the probability falls by `drop`). */
const change = (drop: number) => `${drop > 0 ? '−' : drop < 0 ? '+' : '±'}${formatPoints(drop)}`;

export function heatmapView(explanation: ExampleExplanation): HeatmapView {
  const { poster } = explanation;
  const { ys, xs, patch, imageSize } = explanation.method.poster;
  const frame = poster.frame;
  const region = frame?.input ?? { x: 0, y: 0, width: imageSize, height: imageSize };
  const maxAbs = Math.max(0, ...poster.drops.map(Math.abs));
  const cells: HeatmapCell[] = [];
  let strongest = -1;
  poster.drops.forEach((drop, k) => {
    if (strongest === -1 || drop > poster.drops[strongest]) strongest = k;
    const strength = maxAbs > 0 ? Math.abs(drop) / maxAbs : 0;
    if (strength < FAINTEST) return;
    const row = Math.floor(k / xs.length);
    const col = k % xs.length;
    cells.push({
      x: Math.round((xs[col] / patch) * 1000) / 1000,
      y: Math.round((ys[row] / patch) * 1000) / 1000,
      tint: drop > 0 ? 'support' : 'oppose',
      opacity: round2(CELL_MAX_OPACITY * strength),
      drop,
      title: `Row ${row + 1}, column ${col + 1} covered: ${poster.genre} ${change(drop)}`,
    });
  });
  const top = strongest >= 0 ? poster.drops[strongest] : 0;
  const where = strongest >= 0 ? place(Math.floor(strongest / xs.length), strongest % xs.length, ys.length, xs.length) : '';
  const label =
    `Occlusion map of the CNN’s ${poster.genre} probability (${percent(poster.probability)}): ` +
    (top > 0 ? `covering the ${where} of the poster lowers it most, by ${formatPoints(top)}.` : 'covering no single patch lowers it.');
  const unit = (size: number) => Math.round(((size * patch) / imageSize) * 10000) / 10000;
  return {
    viewBox: frame ? `0 0 ${frame.width} ${frame.height}` : `0 0 ${imageSize} ${imageSize}`,
    preserveAspectRatio: frame ? 'xMidYMid slice' : 'none',
    transform: `translate(${region.x} ${region.y}) scale(${unit(region.width)} ${unit(region.height)})`,
    cells,
    label,
    caption: `CNN map: ${poster.genre} ${percent(poster.probability)}${top > 0 ? `, up to −${formatPoints(top)}` : ''}`,
  };
}

export interface WordView {
  text: string;
  /** Null for whitespace, punctuation and unscored words. */
  score: number | null;
  /** Background tint and its alpha; absent when not tinted. */
  tint?: Tint;
  alpha?: number;
  /** Hover text; absent for whitespace and punctuation. */
  title?: string;
}

export interface WordsView {
  words: WordView[];
  scored: number;
  /** A sentence naming the words that matter most, with their values. */
  summary: string;
}

export function wordsView(explanation: ExampleExplanation): WordsView {
  const { overview } = explanation;
  const { sequenceLength } = explanation.method.overview;
  const maxAbs = Math.max(0, ...overview.segments.map((s) => Math.abs(s.score ?? 0)));
  const words = overview.segments.map((segment): WordView => {
    if (segment.token === null) return { text: segment.text, score: null };
    if (segment.score === null) {
      const why = segment.position === null ? `beyond the first ${sequenceLength} tokens, which the LSTM reads` : 'not in the LSTM’s vocabulary';
      return { text: segment.text, score: null, title: `not scored: ${why}` };
    }
    const strength = maxAbs > 0 ? Math.abs(segment.score) / maxAbs : 0;
    return {
      text: segment.text,
      score: segment.score,
      title: `without it: ${overview.genre} ${change(segment.score)}`,
      ...(strength >= FAINTEST ? { tint: segment.score > 0 ? 'support' : 'oppose', alpha: round2(WORD_MAX_ALPHA * strength) } : {}),
    };
  });
  const scoredWords = words.filter((w) => w.score !== null) as (WordView & { score: number })[];
  const list = (picked: (WordView & { score: number })[], sign: string) => picked.map((w) => `“${w.text}” ${sign}${formatPoints(w.score)}`).join(', ');
  const supporting = scoredWords
    .filter((w) => w.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, 3);
  const opposing = scoredWords
    .filter((w) => w.score < 0)
    .sort((a, b) => a.score - b.score)
    .slice(0, 2);
  const head = `LSTM, ${overview.genre} (${percent(overview.probability)})`;
  const summary = scoredWords.length
    ? `${head} — removing a word lowers it most: ${supporting.length ? list(supporting, '−') : 'none'}` +
      `${opposing.length ? `; raises it: ${list(opposing, '+')}` : ''}.`
    : `${head} — no word could be scored.`;
  return { words, scored: scoredWords.length, summary };
}
