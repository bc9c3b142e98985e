/**
 * A compressed-sparse-row matrix (films × features), the form the strong models' features take:
 * TF-IDF rows have a few hundred non-zeros among tens of thousands of columns. Dense features (the
 * posters', the stacker's) use the same type with every column stored, so one linear model serves all.
 */
import { tfidfColumns, tfidfRow, tfidfWidth, type TfidfVectorizer } from '../contract/tfidf.ts';

export interface SparseRows {
  rows: number;
  columns: number;
  /** rowStart[r]..rowStart[r + 1] index `indices` and `values` for row r (length rows + 1). */
  rowStart: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** A sparse matrix from one `Map<column, value>` per row (columns sorted ascending within a row). */
export function sparseFromMaps(maps: readonly Map<number, number>[], columns: number): SparseRows {
  const rowStart = new Int32Array(maps.length + 1);
  maps.forEach((m, r) => (rowStart[r + 1] = rowStart[r] + m.size));
  const indices = new Int32Array(rowStart[maps.length]);
  const values = new Float32Array(rowStart[maps.length]);
  maps.forEach((m, r) => {
    let at = rowStart[r];
    for (const column of [...m.keys()].sort((a, b) => a - b)) {
      if (column < 0 || column >= columns) throw new RangeError(`column ${column} outside 0..${columns - 1}`);
      indices[at] = column;
      values[at++] = m.get(column)!;
    }
  });
  return { rows: maps.length, columns, rowStart, indices, values };
}

/** A dense row-major matrix (rows × columns) as sparse rows that store every column. */
export function sparseFromDense(values: ArrayLike<number>, rows: number, columns: number): SparseRows {
  if (values.length !== rows * columns) throw new RangeError(`${values.length} values are not ${rows} × ${columns}`);
  const rowStart = new Int32Array(rows + 1);
  for (let r = 0; r <= rows; r++) rowStart[r] = r * columns;
  const indices = new Int32Array(rows * columns);
  for (let i = 0; i < indices.length; i++) indices[i] = i % columns;
  return { rows, columns, rowStart, indices, values: Float32Array.from(values) };
}

/** The given rows, in the given order. */
export function selectSparseRows(m: SparseRows, rows: readonly number[]): SparseRows {
  const rowStart = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => {
    if (!(r >= 0 && r < m.rows)) throw new RangeError(`row ${r} outside 0..${m.rows - 1}`);
    rowStart[i + 1] = rowStart[i] + (m.rowStart[r + 1] - m.rowStart[r]);
  });
  const indices = new Int32Array(rowStart[rows.length]);
  const values = new Float32Array(rowStart[rows.length]);
  rows.forEach((r, i) => {
    indices.set(m.indices.subarray(m.rowStart[r], m.rowStart[r + 1]), rowStart[i]);
    values.set(m.values.subarray(m.rowStart[r], m.rowStart[r + 1]), rowStart[i]);
  });
  return { rows: rows.length, columns: m.columns, rowStart, indices, values };
}

/** Columns side by side: `[a | b]` (same rows). */
export function concatColumns(a: SparseRows, b: SparseRows): SparseRows {
  if (a.rows !== b.rows) throw new RangeError(`cannot join ${a.rows} rows with ${b.rows}`);
  const rowStart = new Int32Array(a.rows + 1);
  for (let r = 0; r <= a.rows; r++) rowStart[r] = a.rowStart[r] + b.rowStart[r];
  const indices = new Int32Array(rowStart[a.rows]);
  const values = new Float32Array(rowStart[a.rows]);
  for (let r = 0; r < a.rows; r++) {
    let at = rowStart[r];
    for (let k = a.rowStart[r]; k < a.rowStart[r + 1]; k++, at++) {
      indices[at] = a.indices[k];
      values[at] = a.values[k];
    }
    for (let k = b.rowStart[r]; k < b.rowStart[r + 1]; k++, at++) {
      indices[at] = a.columns + b.indices[k];
      values[at] = b.values[k];
    }
  }
  return { rows: a.rows, columns: a.columns + b.columns, rowStart, indices, values };
}

/** The TF-IDF features of `texts` as sparse rows (pipeline/lib/contract/tfidf.ts `tfidfRow`). */
export function tfidfFeatures(vectorizer: TfidfVectorizer, texts: readonly string[]): SparseRows {
  const columns = tfidfColumns(vectorizer);
  return sparseFromMaps(
    texts.map((text) => tfidfRow(vectorizer, text, columns)),
    tfidfWidth(vectorizer),
  );
}
