import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { COURSEWORK_GENRES, parseGenreCsv, parseGenreList, readGenreCsv, type ParsedGenreCsv } from '../../pipeline/lib/data/csv.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';
import { fixtureCsv, makeTempDir, type FixtureFilm } from '../helpers/fixture-dataset.ts';

const FILE = '/data/IMDB_overview_genres.csv';
const parseText = (text: string | Uint8Array) => parseGenreCsv(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, FILE);
const ids = (parsed: ParsedGenreCsv) => parsed.rows.map((r) => r.id);

/** Asserts `fn` throws a UserError naming the CSV file, with a fix, whose message matches. */
function assertUserError(fn: () => unknown, message: RegExp, line?: number): UserError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UserError, `expected a UserError, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(caught.file, FILE);
  assert.ok(caught.fix && caught.fix.length > 10, 'the error says how to fix it');
  if (line !== undefined) assert.equal(caught.line, line);
  const printed = caught.format();
  assert.ok(printed.startsWith(FILE), printed);
  assert.doesNotMatch(printed, /\n\s+at /, 'no stack trace in the printed message');
  return caught;
}

const films: FixtureFilm[] = [
  { id: 'film_a', genres: ['Comedy', 'Drama'] },
  { id: 'film-b', genres: ['Action', 'Sci-Fi', 'Thriller'] },
  { id: 'FilmC9', genres: ['N/A'] },
];

test('a well-formed coursework CSV: genres from the header, one-hot labels, lines', () => {
  const parsed = parseText(fixtureCsv(films));
  assert.deepEqual(parsed.genres, [...COURSEWORK_GENRES]);
  assert.equal(parsed.rowsRead, 3);
  assert.deepEqual(ids(parsed), ['film_a', 'film-b', 'FilmC9']);
  assert.deepEqual(parsed.skipped, []);
  assert.deepEqual(parsed.columnWarnings, []);
  const [a, b, c] = parsed.rows;
  assert.deepEqual(a.genres, ['Comedy', 'Drama']);
  assert.deepEqual(b.genres, ['Action', 'Sci-Fi', 'Thriller']);
  assert.deepEqual(c.genres, ['N/A']);
  assert.equal(a.labels.length, 25);
  assert.equal(a.labels[COURSEWORK_GENRES.indexOf('Comedy')], 1);
  assert.equal(
    a.labels.reduce((s, v) => s + v, 0),
    2,
  );
  assert.deepEqual([a.line, b.line, c.line], [2, 3, 4]);
  assert.equal(a.overview, 'A film called film_a, with a plot.');
  assert.deepEqual(a.warnings, []);
});

test('genre columns are header-driven: whatever lies between Genre and Overview, in file order', () => {
  const text = 'Overview,Genre,Zed,Alpha,Id,Mid\nA plot.,"[\'Alpha\']",0,1,x1,0\n';
  // Id inside the block is not a genre; Overview before Genre means no block at all.
  assertUserError(() => parseText(text), /no genre columns: "Overview" comes before "Genre"/);
  const parsed = parseText("Id,Genre,Zed,Alpha,Mid,Overview\nx1,\"['Alpha', 'Mid']\",0,1,1,A plot.\n");
  assert.deepEqual(parsed.genres, ['Zed', 'Alpha', 'Mid']);
  assert.deepEqual([...parsed.rows[0].labels], [0, 1, 1]);
  assert.deepEqual(parsed.rows[0].genres, ['Alpha', 'Mid']);
  assert.equal(parsed.columnWarnings.length, 1);
  assert.match(parsed.columnWarnings[0], /differ from the coursework's 25 genres: missing Action.*; extra Zed, Alpha, Mid/);
});

test('a genre block missing coursework genres or in another order is a warning, not a failure', () => {
  const fewer = COURSEWORK_GENRES.filter((g) => g !== 'News' && g !== 'Short');
  const parsed = parseText(fixtureCsv(films, { genres: [...fewer, 'Noir'] }));
  assert.equal(parsed.rows.length, 3);
  assert.deepEqual(parsed.columnWarnings, ["the 24 genre columns differ from the coursework's 25 genres: missing News, Short; extra Noir"]);
  const reordered = parseText(fixtureCsv(films, { genres: [...COURSEWORK_GENRES].reverse() }));
  assert.equal(reordered.rows.length, 3);
  assert.match(reordered.columnWarnings[0], /different order/);
});

test('UTF-8 BOM and CRLF line endings are read like plain LF UTF-8', () => {
  const plain = parseText(fixtureCsv(films));
  const crlf = fixtureCsv(films, { eol: '\r\n' });
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf, 'utf8')]);
  const parsed = parseText(withBom);
  assert.deepEqual(parsed.header, plain.header, 'the BOM is not part of the first column name');
  assert.equal(parsed.header[0], 'Id');
  assert.deepEqual(ids(parsed), ids(plain));
  assert.deepEqual(
    parsed.rows.map((r) => [r.line, r.overview, [...r.labels]]),
    plain.rows.map((r) => [r.line, r.overview, [...r.labels]]),
  );
  assert.ok(!parsed.rows.some((r) => r.overview.includes('\r')));
});

test('a quoted overview with commas, doubled quotes and line breaks; line numbers stay right', () => {
  const overview = 'He said "no", then "yes, fine".\nA second line, with commas.';
  for (const eol of ['\n', '\r\n'] as const) {
    const parsed = parseText(fixtureCsv([{ id: 'q1', overview }, { id: 'q2' }, { id: 'q3', cells: { Drama: 'x' } }], { eol }));
    assert.deepEqual(ids(parsed), ['q1', 'q2'], eol);
    assert.equal(parsed.rows[0].overview, overview);
    assert.equal(parsed.rows[0].line, 2);
    assert.equal(parsed.rows[1].line, 4, 'the row after a two-line record starts on line 4');
    assert.equal(parsed.skipped[0].line, 5);
  }
});

test('invalid UTF-8 bytes skip that row with the line and a fix; other rows are kept', () => {
  const text = fixtureCsv([{ id: 'ok1' }, { id: 'bad1', overview: 'Caf\u0000 society' }, { id: 'ok2', overview: 'Café society, accented' }]);
  const bytes = Buffer.from(text, 'utf8');
  const at = bytes.indexOf(0x00);
  bytes[at] = 0xe9; // Latin-1 "é": not valid UTF-8
  const parsed = parseText(bytes);
  assert.deepEqual(ids(parsed), ['ok1', 'ok2']);
  assert.equal(parsed.rows[1].overview, 'Café society, accented');
  assert.equal(parsed.skipped.length, 1);
  const [issue] = parsed.skipped;
  assert.equal(issue.reason, 'invalid-utf8');
  assert.equal(issue.line, 3);
  assert.equal(issue.id, 'bad1');
  assert.match(issue.detail, /"Overview" has bytes that are not valid UTF-8.*re-save the file as UTF-8/);
});

test('a missing required column stops with the file, the column and the fix', () => {
  const text = fixtureCsv(films).replace('Overview', 'Plot');
  const error = assertUserError(() => parseText(text), /required column "Overview" missing/, 1);
  assert.match(error.fix!, /Id,Genre,.*Overview/);
  const lower = fixtureCsv(films).replace('Genre,', 'genre,');
  const hinted = assertUserError(() => parseText(lower), /"Genre" missing/);
  assert.match(hinted.fix!, /rename column "genre" to "Genre"/);
  const both = fixtureCsv(films).replace('Id,', 'Key,').replace('Overview', 'Plot');
  assertUserError(() => parseText(both), /required columns "Id", "Overview" missing/);
});

test('no genre columns, no data rows, an empty file and UTF-16 stop with a UserError', () => {
  assertUserError(() => parseText('Id,Genre,Overview\nx1,[],A plot.\n'), /no genre columns/);
  assertUserError(() => parseText(`Id,Genre,${COURSEWORK_GENRES.join(',')},Overview\n\n`), /header but no data rows/);
  assertUserError(() => parseText('\n\n'), /empty/);
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(fixtureCsv(films), 'utf16le')]);
  assertUserError(() => parseText(utf16), /UTF-16/);
  assertUserError(() => parseText('Id,Genre,Drama,Drama,Overview\nx,[],0,0,p\n'), /"Drama" appears more than once/);
});

test('unparseable CSV (an unclosed quote) stops with the line where the record starts', () => {
  const text = fixtureCsv([{ id: 'a1' }, { id: 'a2' }, { id: 'a3', overview: 'plain text' }]).replace('plain text', '"plain text');
  const error = assertUserError(() => parseText(text), /cannot be parsed: a quoted field is never closed \(in the record starting at line 4\)/, 4);
  assert.match(error.fix!, /two quotes/);
  // Same with CRLF and a multi-line record before it.
  const crlf = fixtureCsv(
    [
      { id: 'a1', overview: 'two\nlines' },
      { id: 'a2', overview: 'plain text' },
    ],
    { eol: '\r\n' },
  ).replace('plain text', '"plain text');
  assertUserError(() => parseText(crlf), /starting at line 4/, 4);
});

test('an unknown extra column outside the genre block is named in a warning and ignored', () => {
  const parsed = parseText(
    fixtureCsv(
      films.map((f, i) => ({ ...f, extra: { Year: String(1990 + i) } })),
      { extraColumns: ['Year'] },
    ),
  );
  assert.deepEqual(ids(parsed), ['film_a', 'film-b', 'FilmC9']);
  assert.deepEqual(parsed.genres, [...COURSEWORK_GENRES]);
  assert.equal(parsed.columnWarnings.length, 1);
  assert.match(parsed.columnWarnings[0], /ignoring column outside the genre block.*"Year" \(column 29\)/);
});

test('"2" or "x" in a genre cell skips the row, naming the column; other rows are kept', () => {
  const parsed = parseText(
    fixtureCsv([{ id: 'g1' }, { id: 'g2', cells: { Drama: '2' } }, { id: 'g3', cells: { Comedy: 'x', Horror: '' } }, { id: 'g4', cells: { Drama: ' 1 ' } }]),
  );
  assert.deepEqual(ids(parsed), ['g1', 'g4'], 'surrounding spaces are tolerated');
  assert.deepEqual(
    parsed.skipped.map((s) => [s.reason, s.line, s.id]),
    [
      ['bad-one-hot-cell', 3, 'g2'],
      ['bad-one-hot-cell', 4, 'g3'],
    ],
  );
  assert.match(parsed.skipped[0].detail, /column "Drama" has "2"/);
  assert.match(parsed.skipped[1].detail, /column "Comedy" has "x", column "Horror" has ""/);
});

test('Genre text disagreeing with the one-hot keeps the row, trusts the one-hot, and warns', () => {
  const parsed = parseText(
    fixtureCsv([
      { id: 'm1', genres: ['Comedy', 'Drama'], genreText: "['Comedy']" },
      { id: 'm2', genres: ['Drama', 'Romance'], genreText: '["Romance", "Drama"]' },
      { id: 'm3', genres: ['Horror'], genreText: "['Horror', 'Slasher']" },
      { id: 'm4', genres: ['Drama'], genreText: 'not a list]' },
      { id: 'm5', genres: [], genreText: '[]' },
    ]),
  );
  assert.deepEqual(ids(parsed), ['m1', 'm2', 'm3', 'm4', 'm5'], 'nothing is lost');
  const [m1, m2, m3, m4, m5] = parsed.rows;
  assert.deepEqual(m1.genres, ['Comedy', 'Drama']);
  assert.deepEqual(
    m1.warnings.map((w) => w.reason),
    ['genre-text-mismatch'],
  );
  assert.match(m1.warnings[0].detail, /Genre says \[Comedy\] but the one-hot columns say \[Comedy, Drama\]; using the one-hot columns/);
  assert.equal(m1.warnings[0].line, 2);
  assert.deepEqual(m2.warnings, [], 'order and quote style do not matter');
  assert.match(m3.warnings[0].detail, /no column for Slasher/);
  assert.deepEqual(
    m4.warnings.map((w) => w.reason),
    ['genre-text-unparseable'],
  );
  assert.deepEqual(
    m5.warnings.map((w) => w.reason),
    ['no-genre-label'],
  );
});

test('a duplicate id keeps the first row and says which line had it first', () => {
  const parsed = parseText(fixtureCsv([{ id: 'd1', overview: 'first' }, { id: 'd2' }, { id: 'd1', overview: 'second' }, { id: 'd1', overview: 'third' }]));
  assert.deepEqual(ids(parsed), ['d1', 'd2']);
  assert.equal(parsed.rows[0].overview, 'first');
  assert.deepEqual(
    parsed.skipped.map((s) => [s.reason, s.line]),
    [
      ['duplicate-id', 4],
      ['duplicate-id', 5],
    ],
  );
  assert.match(parsed.skipped[0].detail, /already used on line 2/);
  // A bad first row does not claim the id: the later valid row is kept.
  const again = parseText(
    fixtureCsv([
      { id: 'e1', overview: ' ' },
      { id: 'e1', overview: 'valid' },
    ]),
  );
  assert.deepEqual(
    again.rows.map((r) => [r.id, r.line]),
    [['e1', 3]],
  );
});

test('an empty overview, an unsafe id and a wrong field count are skipped rows', () => {
  const text =
    fixtureCsv([{ id: 'ok' }, { id: 'blank', overview: '   ' }, { id: '../../etc/passwd' }, { id: 'has space' }, { id: '' }]) +
    'short,"[\'Drama\']",1,0\n' +
    ',,,\n';
  const parsed = parseText(text);
  assert.deepEqual(ids(parsed), ['ok']);
  assert.equal(parsed.rowsRead, 7);
  assert.deepEqual(
    parsed.skipped.map((s) => [s.reason, s.line]),
    [
      ['empty-overview', 3],
      ['invalid-id', 4],
      ['invalid-id', 5],
      ['invalid-id', 6],
      ['wrong-field-count', 7],
      ['empty-row', 8],
    ],
  );
  assert.match(parsed.skipped[1].detail, /"\.\.\/\.\.\/etc\/passwd" is not a safe file name/);
  assert.match(parsed.skipped[3].detail, /id is empty/);
  assert.match(parsed.skipped[4].detail, /expected 28 fields as in the header, found 4/);
});

test('parseGenreList reads Python list strings robustly', () => {
  assert.deepEqual(parseGenreList("['Comedy', 'Drama']"), ['Comedy', 'Drama']);
  assert.deepEqual(parseGenreList('["Sci-Fi","N/A"]'), ['Sci-Fi', 'N/A']);
  assert.deepEqual(parseGenreList('[]'), []);
  assert.deepEqual(parseGenreList('  [ ]  '), []);
  assert.deepEqual(parseGenreList(''), []);
  assert.deepEqual(parseGenreList("['Drama',]"), ['Drama']);
  assert.deepEqual(parseGenreList('[Comedy, Drama]'), ['Comedy', 'Drama']);
  assert.deepEqual(parseGenreList('Comedy|Drama'), ['Comedy', 'Drama']);
  assert.deepEqual(parseGenreList("['It\\'s']"), ["It's"]);
  assert.equal(parseGenreList("['Comedy'"), null);
  assert.equal(parseGenreList("['Comedy' 'Drama']"), null);
  assert.equal(parseGenreList("['unterminated]"), null);
});

test('readGenreCsv: a missing file is a UserError naming the path', async (t) => {
  const dir = await makeTempDir(t);
  const file = join(dir, 'IMDB_overview_genres.csv');
  await assert.rejects(readGenreCsv(file), (error: unknown) => error instanceof UserError && error.file === file && /does not exist/.test(error.message));
  await writeFile(file, fixtureCsv(films));
  const parsed = await readGenreCsv(file);
  assert.equal(parsed.rows.length, 3);
  assert.equal(parsed.bytes.length, Buffer.byteLength(fixtureCsv(films)));
});
