/**
 * The standardisation of the learned fusion's inputs (the two models' activations): per feature,
 * subtract the mean and divide by the standard deviation of the films the GMU head was fitted on.
 *
 * Pure, no imports (browser-safe): the pipeline (pipeline/lib/gmu/gmu.ts, when it fits and predicts) and
 * the live demo (src/lib/demo.ts, on a visitor's poster and overview) run this same code, the demo
 * with the statistics the pipeline published in the GMU's metadata.json — so the browser feeds the
 * GMU exactly what the pipeline fed it.
 */

/** Per-feature mean and standard deviation (1 where a feature is constant, e.g. a dead relu unit). */
export interface Standardisation {
  mean: Float32Array;
  sd: Float32Array;
}

/** Statistics of the given rows of `values` (row-major, rows × dim). */
export function fitStandardisation(values: Float32Array, dim: number, rows: readonly number[]): Standardisation {
  if (rows.length === 0) throw new RangeError('cannot standardise on no films');
  const mean = new Float64Array(dim);
  const square = new Float64Array(dim);
  for (const row of rows) {
    for (let j = 0; j < dim; j++) {
      const x = values[row * dim + j];
      mean[j] += x;
      square[j] += x * x;
    }
  }
  const sd = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j] /= rows.length;
    const variance = Math.max(0, square[j] / rows.length - mean[j] * mean[j]);
    sd[j] = Math.sqrt(variance) > 1e-6 ? Math.sqrt(variance) : 1;
  }
  return { mean: Float32Array.from(mean), sd };
}

/** The given rows, standardised, as a new rows × dim matrix (float32, rounded once). */
export function standardise(values: ArrayLike<number>, dim: number, rows: readonly number[], s: Standardisation): Float32Array {
  if (s.mean.length !== dim || s.sd.length !== dim) {
    throw new RangeError(`standardisation has ${s.mean.length} means and ${s.sd.length} standard deviations for ${dim} features`);
  }
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    for (let j = 0; j < dim; j++) out[i * dim + j] = (values[row * dim + j] - s.mean[j]) / s.sd[j];
  });
  return out;
}

/** As metadata.json carries it: plain arrays (float32 values written as JSON numbers, so they read back exactly). */
export interface StandardisationJson {
  mean: number[];
  sd: number[];
}

export const standardisationToJson = (s: Standardisation): StandardisationJson => ({ mean: Array.from(s.mean), sd: Array.from(s.sd) });

/**
 * The published statistics back as float32 arrays (the very values the pipeline used), checked:
 * `units` finite means and positive standard deviations. `where` names the file in the error.
 */
export function standardisationFromJson(json: unknown, units: number, where: string): Standardisation {
  const s = json as Partial<StandardisationJson> | null;
  const ok = (a: unknown, positive: boolean): a is number[] =>
    Array.isArray(a) && a.length === units && a.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0));
  if (!s || typeof s !== 'object' || !ok(s.mean, false) || !ok(s.sd, true)) {
    throw new RangeError(`${where} does not hold ${units} means and ${units} positive standard deviations`);
  }
  return { mean: Float32Array.from(s.mean), sd: Float32Array.from(s.sd) };
}
