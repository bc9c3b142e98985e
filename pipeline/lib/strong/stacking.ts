/**
 * Stacked fusion (Wolpert 1992; Godbole & Sarawagi 2004): a second-stage logistic regression per
 * genre whose inputs are every first-stage model's scores for every genre, as log-odds, standardised
 * on the training films. It learns each genre's modality weights (posters count for Animation, not
 * for Drama) and the genres' co-occurrence (Animation → Family). It is fitted on the first stage's
 * out-of-fold training scores, the only scores of training films that are honest.
 */
import { fitStandardisation, standardise, type Standardisation } from './poster-features.ts';
import { sparseFromDense, type SparseRows } from './sparse.ts';

const EPSILON = 1e-6;
const logit = (p: number) => {
  const q = Math.min(1 - EPSILON, Math.max(EPSILON, p));
  return Math.log(q / (1 - q));
};

/** Films × (models × genres): each model's log-odds side by side. */
export function stackInputs(scores: readonly Float64Array[], films: number, genres: number): Float64Array {
  const width = scores.length * genres;
  const out = new Float64Array(films * width);
  scores.forEach((s, m) => {
    if (s.length !== films * genres) throw new RangeError(`model ${m}: ${s.length} scores for ${films} films × ${genres} genres`);
    for (let f = 0; f < films; f++) for (let g = 0; g < genres; g++) out[f * width + m * genres + g] = logit(s[f * genres + g]);
  });
  return out;
}

/** The stacker's rows, standardised with the training films' statistics (fitted when not given). */
export function stackRows(
  inputs: Float64Array,
  films: number,
  width: number,
  standardisation?: Standardisation,
): { rows: SparseRows; standardisation: Standardisation } {
  const all = Array.from({ length: films }, (_, i) => i);
  const s = standardisation ?? fitStandardisation(inputs, width, all);
  return { rows: sparseFromDense(standardise(inputs, width, all, s), films, width), standardisation: s };
}
