/**
 * Reads the coursework's `IMDB_overview_genres.csv`: `Id, Genre, <genre one-hot columns…>, Overview`.
 *
 * Header-driven: the genre columns are the columns strictly between `Genre` and `Overview`, in file
 * order. Structural problems (a required column missing, no genre columns, no data rows, a CSV that
 * cannot be parsed) stop with a `UserError`; problems in single rows skip that row and are counted
 * by reason, never silently; rows that are fine are never lost.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { UserError } from '../core/errors.ts';

/** The 25 one-hot genre columns of the coursework CSV, in file order. */
export const COURSEWORK_GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Biography',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Family',
  'Fantasy',
  'History',
  'Horror',
  'Music',
  'Musical',
  'Mystery',
  'N/A',
  'News',
  'Reality-TV',
  'Romance',
  'Sci-Fi',
  'Short',
  'Sport',
  'Thriller',
  'War',
  'Western',
] as const;
export type CourseworkGenre = (typeof COURSEWORK_GENRES)[number];
const COURSEWORK_GENRE_NAMES: readonly string[] = COURSEWORK_GENRES;

export const CSV_FILE_NAME = 'IMDB_overview_genres.csv';

/** A film id must be usable as a file stem: `Images/<Id>.jpg`. */
export const SAFE_ID = /^[A-Za-z0-9_-]+$/;
const MAX_ID_LENGTH = 200;

/** Reasons a CSV row is skipped (stable ids) and what they mean. */
export const CSV_SKIP_REASONS = {
  'empty-row': 'Row has no values at all',
  'wrong-field-count': 'Row has a different number of fields than the header (often an unquoted comma)',
  'invalid-utf8': 'Row contains bytes that are not valid UTF-8 (re-save the file as UTF-8)',
  'invalid-id': "Id is empty or not a safe file name (only letters, digits, '_' and '-')",
  'bad-one-hot-cell': 'A genre cell is not exactly 0 or 1',
  'empty-overview': 'Overview is empty',
  'duplicate-id': 'Id already used by an earlier row (the first one is kept)',
} as const;

/** Problems in a CSV row that is kept. */
export const CSV_WARNING_REASONS = {
  'genre-text-mismatch': 'Genre text disagrees with the one-hot genre columns (the one-hot columns are used)',
  'genre-text-unparseable': 'Genre text is not a list of genre names (the one-hot columns are used)',
  'no-genre-label': 'Film has no positive genre column',
} as const;

export type CsvSkipReason = keyof typeof CSV_SKIP_REASONS;
export type CsvWarningReason = keyof typeof CSV_WARNING_REASONS;

export interface RowIssue<R extends string = string> {
  reason: R;
  /** 1-based line where the row starts. */
  line: number;
  id?: string;
  detail: string;
}

export interface CsvFilmRow {
  /** 1-based line where the row starts. */
  line: number;
  id: string;
  /** Positive genres in genre-column order (from the one-hot cells). */
  genres: string[];
  /** One-hot labels in genre-column order. */
  labels: Uint8Array;
  /** Trimmed, with CRLF inside the text normalised to LF. */
  overview: string;
  warnings: RowIssue<CsvWarningReason>[];
}

export interface ParsedGenreCsv {
  file: string;
  /** Header as written (trimmed). */
  header: string[];
  /** Genre columns in file order. */
  genres: string[];
  /** Data rows read (everything after the header except blank lines). */
  rowsRead: number;
  rows: CsvFilmRow[];
  skipped: RowIssue<CsvSkipReason>[];
  columnWarnings: string[];
}

const EXPECTED_LAYOUT = `Id,Genre,<one column per genre, e.g. ${COURSEWORK_GENRES.slice(0, 3).join(',')},…>,Overview`;
const RESAVE_UTF8 = 're-save the file as UTF-8 (e.g. in a spreadsheet: "CSV UTF-8"; in Python: df.to_csv(path, encoding="utf-8"))';

/** Reads and parses the CSV file. Structural problems throw `UserError`. */
export async function readGenreCsv(file: string): Promise<ParsedGenreCsv & { bytes: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? 'the CSV file does not exist' : `cannot read the CSV file (${code ?? String(error)})`, {
      file,
      fix: `put the dataset's ${CSV_FILE_NAME} at this path`,
    });
  }
  return { ...parseGenreCsv(bytes, file), bytes };
}

/**
 * Parses the CSV bytes. `file` is only used in messages. Structural problems throw `UserError`;
 * bad rows are returned in `skipped`.
 */
export function parseGenreCsv(input: Uint8Array, file: string): ParsedGenreCsv {
  let bytes = input;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new UserError('the CSV file is UTF-16 encoded, not UTF-8', { file, line: 1, fix: RESAVE_UTF8 });
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  if (isBlank(bytes)) {
    throw new UserError('the CSV file is empty', { file, fix: `the first line must be the header ${EXPECTED_LAYOUT}, followed by one row per film` });
  }

  const lines = new LineIndex(bytes);
  checkWholeFileEncoding(bytes, file, lines);
  const records = parseRecords(bytes, file, lines);

  // ---- Header ---------------------------------------------------------------------------------
  const headerRecord = records[0];
  const header = headerRecord.fields.map((field, index) => {
    const text = decodeUtf8(field);
    if (text === null) {
      throw new UserError(`the header has bytes that are not valid UTF-8 (column ${index + 1})`, { file, line: headerRecord.line, fix: RESAVE_UTF8 });
    }
    return text;
  });
  const columnWarnings: string[] = [];
  const padded = header.filter((name) => name !== name.trim());
  if (padded.length > 0) columnWarnings.push(`column names with surrounding spaces were trimmed: ${padded.map((name) => JSON.stringify(name)).join(', ')}`);
  const names = header.map((name) => name.trim());

  const positions = (name: string) => names.flatMap((n, i) => (n === name ? [i] : []));
  const missing = ['Id', 'Genre', 'Overview'].filter((name) => positions(name).length === 0);
  if (missing.length > 0) {
    const hints = missing.flatMap((name) => {
      const near = names.find((n) => n.toLowerCase() === name.toLowerCase());
      return near ? [`rename column "${near}" to "${name}" (names are case-sensitive)`] : [];
    });
    throw new UserError(`required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} missing from the header`, {
      file,
      line: headerRecord.line,
      fix: [...hints, `the header must be ${EXPECTED_LAYOUT} (found: ${names.join(',')})`].join('; '),
    });
  }
  for (const name of ['Id', 'Genre', 'Overview']) {
    const at = positions(name);
    if (at.length > 1) {
      throw new UserError(`column "${name}" appears ${at.length} times (columns ${at.map((i) => i + 1).join(', ')})`, {
        file,
        line: headerRecord.line,
        fix: 'keep one column of that name',
      });
    }
  }
  const idCol = positions('Id')[0];
  const genreCol = positions('Genre')[0];
  const overviewCol = positions('Overview')[0];

  const genreCols: number[] = [];
  for (let i = genreCol + 1; i < overviewCol; i++) if (i !== idCol) genreCols.push(i);
  if (genreCols.length === 0) {
    throw new UserError(
      overviewCol < genreCol
        ? 'no genre columns: "Overview" comes before "Genre", but the genre one-hot columns must be between them'
        : 'no genre columns: there are no columns between "Genre" and "Overview"',
      { file, line: headerRecord.line, fix: `the header must be ${EXPECTED_LAYOUT}` },
    );
  }
  const genres = genreCols.map((i) => names[i]);
  const unnamed = genreCols.filter((i) => names[i] === '');
  if (unnamed.length > 0) {
    throw new UserError(`genre column${unnamed.length > 1 ? 's' : ''} ${unnamed.map((i) => i + 1).join(', ')} ha${unnamed.length > 1 ? 've' : 's'} no name`, {
      file,
      line: headerRecord.line,
      fix: 'give every column between "Genre" and "Overview" a genre name',
    });
  }
  const dupGenre = genres.find((g, i) => genres.indexOf(g) !== i);
  if (dupGenre !== undefined) {
    throw new UserError(`genre column "${dupGenre}" appears more than once`, { file, line: headerRecord.line, fix: 'keep one column per genre' });
  }
  const used = new Set([idCol, genreCol, overviewCol, ...genreCols]);
  const extras = names.flatMap((name, i) => (used.has(i) ? [] : [name === '' ? `(unnamed column ${i + 1})` : `"${name}" (column ${i + 1})`]));
  if (extras.length > 0) {
    columnWarnings.push(`ignoring column${extras.length > 1 ? 's' : ''} outside the genre block (between "Genre" and "Overview"): ${extras.join(', ')}`);
  }
  const courseworkMissing = COURSEWORK_GENRES.filter((g) => !genres.includes(g));
  const courseworkExtra = genres.filter((g) => !COURSEWORK_GENRE_NAMES.includes(g));
  if (courseworkMissing.length > 0 || courseworkExtra.length > 0) {
    const parts = [];
    if (courseworkMissing.length > 0) parts.push(`missing ${courseworkMissing.join(', ')}`);
    if (courseworkExtra.length > 0) parts.push(`extra ${courseworkExtra.join(', ')}`);
    columnWarnings.push(`the ${genres.length} genre columns differ from the coursework's ${COURSEWORK_GENRES.length} genres: ${parts.join('; ')}`);
  } else if (genres.some((g, i) => g !== COURSEWORK_GENRES[i])) {
    columnWarnings.push("the genre columns are the coursework's 25 genres but in a different order (labels follow the file's order)");
  }

  const dataRecords = records.slice(1);
  if (dataRecords.length === 0) {
    throw new UserError('the CSV file has a header but no data rows', { file, line: headerRecord.line, fix: 'add one row per film below the header' });
  }

  // ---- Rows -----------------------------------------------------------------------------------
  const rows: CsvFilmRow[] = [];
  const skipped: RowIssue<CsvSkipReason>[] = [];
  const firstLineOfId = new Map<string, number>();
  const genreIndex = new Map(genres.map((g, i) => [g, i]));
  const columnName = (i: number) => (names[i] === '' ? `column ${i + 1}` : `"${names[i]}"`);

  for (const { fields, line } of dataRecords) {
    const skip = (reason: CsvSkipReason, detail: string, id?: string) => skipped.push({ reason, line, ...(id !== undefined ? { id } : {}), detail });
    const rawId = displayText(fields[idCol]);

    if (fields.every((field) => isBlank(field))) {
      skip('empty-row', 'every field is empty');
      continue;
    }
    if (fields.length !== names.length) {
      skip(
        'wrong-field-count',
        `expected ${names.length} fields as in the header, found ${fields.length}${fields.length > names.length ? ' (an unquoted comma in a text field? quote it)' : ''}`,
        rawId,
      );
      continue;
    }
    const text = new Map<number, string>();
    let badColumn = -1;
    for (const i of used) {
      const value = decodeUtf8(fields[i]);
      if (value === null) {
        badColumn = i;
        break;
      }
      text.set(i, value);
    }
    if (badColumn >= 0) {
      skip('invalid-utf8', `column ${columnName(badColumn)} has bytes that are not valid UTF-8; fix: ${RESAVE_UTF8}`, rawId);
      continue;
    }
    const id = text.get(idCol)!.trim();
    if (!SAFE_ID.test(id) || id.length > MAX_ID_LENGTH) {
      skip(
        'invalid-id',
        id === '' ? 'id is empty' : `id ${JSON.stringify(truncate(id, 60))} is not a safe file name (allowed: letters, digits, "_", "-")`,
        id === '' ? undefined : truncate(id, 60),
      );
      continue;
    }
    const labels = new Uint8Array(genres.length);
    const badCells: string[] = [];
    genreCols.forEach((col, g) => {
      const cell = text.get(col)!.trim();
      if (cell === '1') labels[g] = 1;
      else if (cell !== '0') badCells.push(`column "${genres[g]}" has ${JSON.stringify(truncate(cell, 20))}`);
    });
    if (badCells.length > 0) {
      skip(
        'bad-one-hot-cell',
        `${badCells.slice(0, 3).join(', ')}${badCells.length > 3 ? ` and ${badCells.length - 3} more` : ''} (genre cells must be exactly 0 or 1)`,
        id,
      );
      continue;
    }
    const overview = text.get(overviewCol)!.replace(/\r\n?/g, '\n').trim();
    if (overview === '') {
      skip('empty-overview', 'the Overview field is empty', id);
      continue;
    }
    const first = firstLineOfId.get(id);
    if (first !== undefined) {
      skip('duplicate-id', `id ${id} was already used on line ${first}; this later row is skipped`, id);
      continue;
    }
    firstLineOfId.set(id, line);

    const positive = genres.filter((_, g) => labels[g] === 1);
    const warnings: RowIssue<CsvWarningReason>[] = [];
    const genreText = text.get(genreCol)!;
    const listed = parseGenreList(genreText);
    if (listed === null) {
      warnings.push({
        reason: 'genre-text-unparseable',
        line,
        id,
        detail: `Genre is ${JSON.stringify(truncate(genreText, 60))}; using the one-hot columns [${positive.join(', ')}]`,
      });
    } else {
      const listedSet = new Set(listed);
      const agree = listedSet.size === positive.length && positive.every((g) => listedSet.has(g));
      if (!agree) {
        const unknown = [...listedSet].filter((g) => !genreIndex.has(g));
        warnings.push({
          reason: 'genre-text-mismatch',
          line,
          id,
          detail: `Genre says [${[...listedSet].join(', ')}] but the one-hot columns say [${positive.join(', ')}]${unknown.length > 0 ? ` (no column for ${unknown.join(', ')})` : ''}; using the one-hot columns`,
        });
      }
    }
    if (positive.length === 0) warnings.push({ reason: 'no-genre-label', line, id, detail: 'every genre column is 0' });
    rows.push({ line, id, genres: positive, labels, overview, warnings });
  }

  return { file, header: names, genres, rowsRead: dataRecords.length, rows, skipped, columnWarnings };
}

/**
 * Parses the `Genre` text: a Python list string such as `['Comedy', 'Drama']` (also `[]`, double
 * quotes, unquoted names), or a plain `Comedy, Drama` / `Comedy|Drama` list. Returns the names in
 * order, or null when the text is not a list.
 */
export function parseGenreList(text: string): string[] | null {
  const s = text.trim();
  if (s === '') return [];
  if (!s.startsWith('[')) {
    if (s.endsWith(']')) return null;
    return s
      .split(/[,|]/)
      .map((part) =>
        part
          .trim()
          .replace(/^(['"])(.*)\1$/, '$2')
          .trim(),
      )
      .filter((part) => part !== '');
  }
  if (!s.endsWith(']')) return null;
  const inner = s.slice(1, -1);
  const out: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < inner.length && /\s/.test(inner[i])) i++;
  };
  while (true) {
    skipSpace();
    if (i >= inner.length) break;
    const quote = inner[i];
    let item: string;
    if (quote === "'" || quote === '"') {
      i++;
      let value = '';
      let closed = false;
      while (i < inner.length) {
        const c = inner[i];
        if (c === '\\' && i + 1 < inner.length) {
          value += inner[i + 1];
          i += 2;
          continue;
        }
        if (c === quote) {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) return null;
      item = value.trim();
    } else {
      const end = inner.indexOf(',', i);
      const raw = inner.slice(i, end < 0 ? inner.length : end).trim();
      if (/['"[\]]/.test(raw)) return null;
      item = raw;
      i = end < 0 ? inner.length : end;
    }
    if (item !== '') out.push(item);
    skipSpace();
    if (i >= inner.length) break;
    if (inner[i] !== ',') return null;
    i++;
  }
  return out;
}

// ---- Internals ----------------------------------------------------------------------------------

interface RawRecord {
  fields: Uint8Array[];
  /** 1-based line where the record starts. */
  line: number;
}

function parseRecords(bytes: Uint8Array, file: string, lines: LineIndex): RawRecord[] {
  const records: RawRecord[] = [];
  let lastEnd = 0;
  try {
    parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      bom: false,
      encoding: null,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      // csv-parse's own line counter is not reliable across LF/CRLF; the record's byte range is.
      on_record: (record: unknown, context: { bytes: number }) => {
        records.push({ fields: record as Uint8Array[], line: lines.lineAt(skipLineBreaks(bytes, lastEnd)) });
        lastEnd = context.bytes;
        return null;
      },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const isCsvError = typeof code === 'string' && (code.startsWith('CSV_') || code === 'INVALID_OPENING_QUOTE');
    if (!isCsvError) throw error;
    // The failing record starts right after the last record csv-parse accepted.
    const line = lines.lineAt(skipLineBreaks(bytes, lastEnd));
    throw new UserError(`the CSV cannot be parsed: ${describeCsvError(code, (error as Error).message)} (in the record starting at line ${line})`, {
      file,
      line,
      fix: 'check the quotes in that record: a field with commas, quotes or line breaks must be wrapped in double quotes, and a quote inside it written as two quotes ("")',
    });
  }
  return records;
}

function describeCsvError(code: string, message: string): string {
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed';
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'unexpected characters after a closing quote';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote appears inside an unquoted field';
    default:
      return message.replace(/\s+at line \d+.*$/s, '');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A row or two with broken bytes is skipped and counted (`invalid-utf8`); but when at least 1% of
 * the lines are not UTF-8, the file as a whole is in another encoding (a spreadsheet's Latin-1 or
 * Windows-1252 export) and skipping those rows would silently lose that share of the films.
 */
function checkWholeFileEncoding(bytes: Uint8Array, file: string, lines: LineIndex): void {
  if (decodeUtf8(bytes) !== null) return;
  const bad = new Set<number>();
  let total = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (i > start && decodeUtf8(bytes.subarray(start, i)) === null) bad.add(lines.lineAt(start));
      if (i < bytes.length) total++;
      start = i + 1;
    }
  }
  if (bad.size >= 2 && bad.size >= total * 0.01) {
    const first = Math.min(...bad);
    throw new UserError(
      `the CSV file is not UTF-8: ${bad.size} of its ${total} lines have bytes that are not (the first is line ${first}); it looks like a Latin-1 or Windows-1252 export, and reading it would lose those films`,
      {
        file,
        line: first,
        fix: `${RESAVE_UTF8}; or convert it: iconv -f windows-1252 -t utf-8 ${CSV_FILE_NAME} > utf8.csv, then use utf8.csv as ${CSV_FILE_NAME}`,
      },
    );
  }
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** For naming a row in a message even when its bytes are broken. */
function displayText(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  const text = (decodeUtf8(bytes) ?? Buffer.from(bytes).toString('latin1')).trim();
  return text === '' ? undefined : truncate(text, 60);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return true;
}

function skipLineBreaks(bytes: Uint8Array, offset: number): number {
  let i = offset;
  while (i < bytes.length && (bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i;
}

/** Byte offset → 1-based line number; a line break is LF, CRLF or a lone CR. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(bytes: Uint8Array) {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x0a) this.starts.push(i + 1);
      else if (b === 0x0d && bytes[i + 1] !== 0x0a) this.starts.push(i + 1);
    }
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}
