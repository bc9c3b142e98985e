import assert from 'node:assert/strict';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { COURSEWORK_GENRES } from '../../pipeline/lib/data/csv.ts';
import { formatDataQuality, loadDataset, type LoadedDataset } from '../../pipeline/lib/data/dataset.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';
import { posterBatchToFloat32 } from '../../pipeline/lib/data/posters.ts';
import {
  blackPng,
  colourOf,
  fixtureCsv,
  makeTempDir,
  truncatedJpeg,
  writeFixtureDataset,
  type FixtureFilm,
  type FixtureOptions,
} from '../helpers/fixture-dataset.ts';

const SIZE = 16;
const PER = SIZE * SIZE * 3;
const QUOTED = 'A "heist", planned, then "re-planned".\nSecond line, with commas.';

/** Every bad input at once, next to valid rows that must all survive. */
async function mixedFilms(): Promise<FixtureFilm[]> {
  return [
    { id: 'good1', genres: ['Comedy', 'Drama'] },
    { id: 'good2', genres: ['Action'], extra: { Year: '1999' } },
    { id: 'mismatch', genres: ['Drama', 'Romance'], genreText: "['Drama']" },
    { id: 'cell2', cells: { Drama: '2' } },
    { id: 'cellx', cells: { Comedy: 'x' } },
    { id: 'good1', genres: ['Horror'] },
    { id: 'noplot', overview: '  ' },
    { id: '../../etc/passwd', posterName: 'passwd.jpg' },
    { id: 'noposter', poster: null },
    { id: 'trunc', poster: await truncatedJpeg() },
    { id: 'pngjpg', genres: ['Comedy'], poster: { format: 'png', colour: [12, 34, 56] } },
    { id: 'gray', genres: ['Drama'], poster: { space: 'b-w', colour: [80, 80, 80] } },
    { id: 'cmyk', genres: ['Drama'], poster: { space: 'cmyk' } },
    { id: 'huge', genres: ['War'], poster: blackPng(20000, 20000) },
    { id: 'quoted', genres: ['Crime', 'Thriller'], overview: QUOTED },
    { id: 'badbytes', overview: 'Caf\u0000 noir' },
    { id: 'accented', genres: ['Music'], overview: 'Café, naïve — a “musical” life.' },
    { id: 'casey', genres: ['Western'], posterName: 'CASEY.JPG' },
  ];
}

const VALID = ['good1', 'good2', 'mismatch', 'pngjpg', 'gray', 'cmyk', 'quoted', 'accented', 'casey'];

/** The mixed dataset's CSV as bytes: BOM, CRLF, and one Latin-1 byte (invalid UTF-8). */
function mixedCsvBytes(films: FixtureFilm[], options: FixtureOptions): Buffer {
  const text = fixtureCsv(films, { ...options, eol: '\r\n' });
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  bytes[bytes.indexOf(0x00)] = 0xe9;
  return bytes;
}

async function writeMixed(dir: string): Promise<void> {
  const films = await mixedFilms();
  const options: FixtureOptions = { extraColumns: ['Year'] };
  await writeFixtureDataset(dir, films, { ...options, csv: mixedCsvBytes(films, options) });
}

const reasons = (entries: { reason: string; count: number }[]) => Object.fromEntries(entries.map((e) => [e.reason, e.count]));

test('every bad input at once: each is skipped or warned with a clear message, nothing valid is lost', async (t) => {
  const root = await makeTempDir(t);
  const dir = join(root, 'dataset');
  await writeMixed(dir);
  const effects = recordingEffects();
  const dataset = await loadDataset(dir, { cacheDir: join(root, 'cache'), imageSize: SIZE }, effects);
  const { quality } = dataset;

  assert.deepEqual(
    dataset.films.map((f) => f.id),
    VALID,
  );
  assert.deepEqual(dataset.genres, [...COURSEWORK_GENRES]);
  assert.equal(dataset.synthetic, false);
  assert.equal(quality.rowsRead, 18);
  assert.equal(quality.validFilms, 9);
  assert.equal(quality.skippedRows, 9);
  assert.deepEqual(reasons(quality.skipped), {
    'invalid-utf8': 1,
    'invalid-id': 1,
    'bad-one-hot-cell': 2,
    'empty-overview': 1,
    'duplicate-id': 1,
    'missing-poster': 1,
    'unreadable-poster': 1,
    'poster-too-large': 1,
  });
  assert.deepEqual(reasons(quality.warnings), {
    'genre-text-mismatch': 1,
    'poster-format-mismatch': 1,
    'poster-grayscale': 1,
    'poster-cmyk': 1,
    'poster-file-name': 1,
  });
  const example = (list: typeof quality.skipped, reason: string) => list.find((e) => e.reason === reason)!.examples;
  // Lines: header is line 1, "quoted" spans two lines.
  assert.deepEqual(
    example(quality.skipped, 'bad-one-hot-cell').map((e) => [e.line, e.id]),
    [
      [5, 'cell2'],
      [6, 'cellx'],
    ],
  );
  assert.match(example(quality.skipped, 'bad-one-hot-cell')[0].detail, /column "Drama" has "2"/);
  assert.match(example(quality.skipped, 'duplicate-id')[0].detail, /already used on line 2/);
  assert.equal(example(quality.skipped, 'duplicate-id')[0].line, 7);
  assert.match(example(quality.skipped, 'invalid-id')[0].detail, /etc\/passwd/);
  assert.deepEqual(
    example(quality.skipped, 'empty-overview').map((e) => e.id),
    ['noplot'],
  );
  assert.match(example(quality.skipped, 'missing-poster')[0].detail, /no poster file Images\/noposter\.jpg/);
  assert.match(example(quality.skipped, 'unreadable-poster')[0].detail, /Images\/trunc\.jpg: cannot decode the JPEG image: the file is truncated or corrupt/);
  assert.match(example(quality.skipped, 'poster-too-large')[0].detail, /20000x20000/);
  assert.deepEqual(
    example(quality.skipped, 'invalid-utf8').map((e) => [e.line, e.id]),
    [[18, 'badbytes']],
  );
  assert.match(example(quality.skipped, 'invalid-utf8')[0].detail, /re-save the file as UTF-8/);
  assert.match(example(quality.warnings, 'genre-text-mismatch')[0].detail, /using the one-hot columns/);
  assert.match(example(quality.warnings, 'poster-file-name')[0].detail, /used Images\/CASEY\.JPG/);
  for (const entry of [...quality.skipped, ...quality.warnings]) {
    assert.ok(entry.description.length > 10, entry.reason);
    assert.ok(entry.examples.length <= 5 && entry.examples.length >= 1);
  }
  assert.equal(quality.columnWarnings.length, 1);
  assert.match(quality.columnWarnings[0], /"Year"/);
  assert.deepEqual(quality.posterCache, { hits: 0, misses: 11 });

  // Valid films: the one-hot is trusted, text survives intact, posters line up with films.
  const byId = new Map(dataset.films.map((f) => [f.id, f]));
  assert.deepEqual(byId.get('mismatch')!.genres, ['Drama', 'Romance']);
  assert.equal(byId.get('quoted')!.overview, QUOTED);
  assert.equal(byId.get('accented')!.overview, 'Café, naïve — a “musical” life.');
  assert.equal(byId.get('casey')!.posterFile, 'Images/CASEY.JPG');
  assert.equal(byId.get('good1')!.posterFile, 'Images/good1.jpg');
  assert.equal(byId.get('good1')!.line, 2);
  assert.equal(dataset.posterPixels.length, 9 * PER);
  assert.deepEqual(dataset.posterPreprocessing, { width: SIZE, height: SIZE, channels: 3, fit: 'fill', kernel: 'nearest', normalisation: 'divide-by-255' });
  const pixelsOf = (id: string) => dataset.posterPixels.subarray(VALID.indexOf(id) * PER, (VALID.indexOf(id) + 1) * PER);
  const near = (pixels: Uint8Array, [r, g, b]: readonly number[], tolerance: number) => pixels.every((v, i) => Math.abs(v - [r, g, b][i % 3]) <= tolerance);
  assert.ok(near(pixelsOf('good1'), colourOf('good1'), 4));
  assert.ok(near(pixelsOf('quoted'), colourOf('quoted'), 4));
  assert.ok(near(pixelsOf('pngjpg'), [12, 34, 56], 0));
  assert.ok(near(pixelsOf('gray'), [80, 80, 80], 2));
  const floats = posterBatchToFloat32(dataset.posterPixels, [VALID.indexOf('pngjpg')], SIZE);
  assert.ok(floats.every((v, i) => v === Math.fround([12, 34, 56][i % 3] / 255)));

  // Never-positive: the genres no valid film has (Horror and War only had skipped rows).
  const present = new Set(['Comedy', 'Drama', 'Action', 'Romance', 'Crime', 'Thriller', 'Music', 'Western']);
  assert.deepEqual(
    quality.neverPositiveGenres,
    COURSEWORK_GENRES.filter((g) => !present.has(g)),
  );
  assert.ok(quality.neverPositiveGenres.includes('Horror') && quality.neverPositiveGenres.includes('War'));

  // The run says what it skipped.
  assert.ok(
    effects.lines.some((l) => /warning: .*skipped 9 of 18 rows \(1 invalid-utf8, 1 invalid-id, 2 bad-one-hot-cell/.test(l)),
    effects.lines.join('\n'),
  );
  assert.ok(effects.lines.some((l) => /warning: .*"Year"/.test(l)));

  const text = formatDataQuality(dataset);
  for (const expected of [
    /Films: 18 rows read, 9 valid, 9 skipped/,
    /Genre columns: 25/,
    /cache 0 hits, 11 misses/,
    /Labels per genre:\n {2}Drama +4 +44\.4%/,
    /Labels per film:\n {2}1 genre: 6 films\n {2}2 genres: 3 films/,
    /Never-positive genres \(no film has them\): Adventure, Animation/,
    /Skipped rows \(9\):/,
    /bad-one-hot-cell \(2\): A genre cell is not exactly 0 or 1\n {4}line 5 \(cell2\): column "Drama" has "2"/,
    /poster-too-large \(1\)/,
    /Warnings on kept rows \(5\):/,
    /genre-text-mismatch \(1\)/,
    /Column warnings:\n {2}- ignoring column/,
  ]) {
    assert.match(text, expected);
  }
});

test('a second load decodes nothing and yields identical pixels and content hash', async (t) => {
  const root = await makeTempDir(t);
  const dir = join(root, 'dataset');
  await writeMixed(dir);
  const options = { cacheDir: join(root, 'cache'), imageSize: SIZE };
  const first = await loadDataset(dir, options, recordingEffects());
  const second = await loadDataset(dir, options, recordingEffects());
  assert.equal(second.quality.posterCache.misses, 0);
  assert.equal(second.quality.posterCache.hits, first.quality.posterCache.misses);
  assert.deepEqual(second.posterPixels, first.posterPixels);
  assert.equal(second.contentHash, first.contentHash);
  const withoutCache = (d: LoadedDataset) => ({ ...d.quality, posterCache: null });
  assert.deepEqual(withoutCache(second), withoutCache(first), 'cached failures and warnings are reported the same');
  assert.deepEqual(second.films, first.films);
});

test('the content hash follows the CSV, the posters and the preprocessing', async (t) => {
  const root = await makeTempDir(t);
  const dir = join(root, 'dataset');
  const films: FixtureFilm[] = [{ id: 'h1' }, { id: 'h2', genres: ['Comedy'] }];
  await writeFixtureDataset(dir, films);
  const cacheDir = join(root, 'cache');
  const base = await loadDataset(dir, { cacheDir, imageSize: SIZE }, recordingEffects());
  assert.match(base.contentHash, /^[0-9a-f]{64}$/);
  const other = await loadDataset(dir, { cacheDir, imageSize: SIZE * 2 }, recordingEffects());
  assert.notEqual(other.contentHash, base.contentHash);
  await writeFixtureDataset(dir, [{ id: 'h1', poster: { colour: [1, 2, 3] } }, films[1]]);
  const repainted = await loadDataset(dir, { cacheDir, imageSize: SIZE }, recordingEffects());
  assert.notEqual(repainted.contentHash, base.contentHash);
  assert.equal(repainted.quality.posterCache.misses, 1);
});

test('BOM + CRLF dataset loads exactly like the LF one', async (t) => {
  const root = await makeTempDir(t);
  const films: FixtureFilm[] = [
    { id: 'c1', overview: 'one,\n"two"' },
    { id: 'c2', genres: ['Sci-Fi'] },
  ];
  await writeFixtureDataset(join(root, 'lf'), films);
  await writeFixtureDataset(join(root, 'crlf'), films, { eol: '\r\n', bom: true });
  const cacheDir = join(root, 'cache');
  const lf = await loadDataset(join(root, 'lf'), { cacheDir, imageSize: SIZE }, recordingEffects());
  const crlf = await loadDataset(join(root, 'crlf'), { cacheDir, imageSize: SIZE }, recordingEffects());
  assert.deepEqual(crlf.films, lf.films);
  assert.deepEqual(crlf.posterPixels, lf.posterPixels);
  assert.equal(crlf.quality.posterCache.misses, 0, 'same poster bytes: served from the cache');
  assert.equal(crlf.quality.skippedRows, 0);
});

async function assertUserError(promise: Promise<unknown>, message: RegExp, file: string, fix: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, message);
    assert.equal(error.file, file);
    assert.match(error.fix ?? '', fix);
    assert.doesNotMatch(error.format(), /\n\s+at /);
    return true;
  });
}

test('structure: no CSV, no Images/ folder, no folder at all are UserErrors naming the path and the fix', async (t) => {
  const root = await makeTempDir(t);
  const cacheDir = join(root, 'cache');
  const dir = join(root, 'dataset');
  const load = () => loadDataset(dir, { cacheDir }, recordingEffects());

  await assertUserError(load(), /does not exist/, dir, /IMDB_overview_genres\.csv/);

  await writeFixtureDataset(dir, [{ id: 'x1' }], { writeCsv: false });
  const csvFile = join(dir, 'IMDB_overview_genres.csv');
  await assertUserError(
    load(),
    /no IMDB_overview_genres\.csv .*expected .*dataset\/IMDB_overview_genres\.csv/,
    csvFile,
    /put the coursework's IMDB_overview_genres\.csv/,
  );
  await writeFile(join(dir, 'films.csv'), fixtureCsv([{ id: 'x1' }]));
  await assertUserError(load(), /no IMDB_overview_genres\.csv/, csvFile, /rename the dataset CSV \(found: films\.csv\)/);
  await rename(join(dir, 'films.csv'), csvFile);

  await rename(join(dir, 'Images'), join(dir, 'images'));
  await assertUserError(load(), /no Images\/ folder/, join(dir, 'Images'), /rename the folder images\/ to Images\//);
  await rename(join(dir, 'images'), join(dir, 'posters'));
  await assertUserError(load(), /no Images\/ folder/, join(dir, 'Images'), /put the posters in .*Images\/<Id>\.jpg/);
  await mkdir(join(dir, 'Images'));

  // Every row skipped (all posters missing now): a UserError that says why.
  await assertUserError(load(), /no usable film.*all 1 rows were skipped \(1 missing-poster\)/, csvFile, /line 2: no poster file Images\/x1\.jpg/);

  // A CSV problem is reported with the CSV's path.
  await writeFile(csvFile, 'Id,Genre,Overview\nx1,[],A plot.\n');
  await assertUserError(load(), /no genre columns/, csvFile, /Id,Genre,/);
});

test('the GENRELENS_DEMO_DATASET marker makes the dataset synthetic', async (t) => {
  const root = await makeTempDir(t);
  const dir = join(root, 'demo');
  await writeFixtureDataset(dir, [{ id: 's1' }, { id: 's2' }], { demo: true });
  const dataset = await loadDataset(dir, { cacheDir: join(root, 'cache'), imageSize: SIZE }, recordingEffects());
  assert.equal(dataset.synthetic, true);
  assert.match(formatDataQuality(dataset), /\(synthetic demo data\)/);
  assert.equal(dataset.dir, dir);
});
