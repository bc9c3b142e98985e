import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { parse } from 'csv-parse/sync';
import sharp from 'sharp';

import {
  COURSEWORK_GENRES,
  DEMO_CSV_FILE,
  DEMO_DATASET_VERSION,
  DEMO_IMAGES_DIR,
  DEMO_MARKER_FILE,
  demoCsv,
  demoFilm,
  writeDemoDataset,
} from '../../pipeline/lib/data/demo-data.ts';
import { DEMO_CUES, DEMO_FILLER, NEVER_POSITIVE_GENRES, type DemoGenre } from '../../pipeline/lib/data/demo-cues.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';

const FILMS = 240;
const SEED = 1234;
const HEADER =
  'Id,Genre,Action,Adventure,Animation,Biography,Comedy,Crime,Documentary,Drama,Family,Fantasy,History,Horror,' +
  'Music,Musical,Mystery,N/A,News,Reality-TV,Romance,Sci-Fi,Short,Sport,Thriller,War,Western,Overview';

type Row = Record<string, string>;

let root: string;
let dirA: string;
let csvText: string;
let rows: Row[];
const progress: [number, number][] = [];

const genresOf = (row: Row) => COURSEWORK_GENRES.filter((genre) => row[genre] === '1');
const words = (text: string) => text.toLowerCase().match(/\p{L}+/gu) ?? [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'genrelens-demo-'));
  dirA = join(root, 'a');
  const effects = { ...recordingEffects(), progress: (_: string, done: number, total: number) => void progress.push([done, total]) };
  await writeDemoDataset(dirA, { films: FILMS, seed: SEED }, effects);
  csvText = await readFile(join(dirA, DEMO_CSV_FILE), 'utf8');
  rows = parse(csvText, { columns: true }) as Row[];
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('layout', () => {
  test('CSV header, LF line endings, one row per film, UTF-8 without BOM', () => {
    assert.equal(csvText.split('\n')[0], HEADER);
    assert.deepEqual(['Id', 'Genre', ...COURSEWORK_GENRES, 'Overview'].join(','), HEADER);
    assert.ok(!csvText.includes('\r'), 'no CR');
    assert.ok(csvText.endsWith('\n'), 'ends with a newline');
    assert.notEqual(csvText.charCodeAt(0), 0xfeff);
    assert.equal(rows.length, FILMS);
  });

  test('ids are unique, safe and not IMDb-like; every row has its poster and no poster lacks a row', async () => {
    const ids = rows.map((row) => row.Id);
    assert.equal(new Set(ids).size, FILMS);
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_-]+$/);
      assert.doesNotMatch(id, /^tt\d+$/);
    }
    assert.equal(ids[0], 'demo00001');
    const posters = (await readdir(join(dirA, DEMO_IMAGES_DIR))).sort();
    assert.deepEqual(posters, ids.map((id) => `${id}.jpg`).sort());
  });

  test('marker says synthetic, with seed and generator version', async () => {
    const marker = await readFile(join(dirA, DEMO_MARKER_FILE), 'utf8');
    assert.match(marker, /SYNTHETIC/);
    assert.match(marker, new RegExp(`^seed: ${SEED}$`, 'm'));
    assert.match(marker, new RegExp(`^generator-version: ${DEMO_DATASET_VERSION}$`, 'm'));
  });

  test('posters are 150x300 baseline RGB JPEGs', async () => {
    for (const row of rows) {
      const meta = await sharp(join(dirA, DEMO_IMAGES_DIR, `${row.Id}.jpg`)).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 150);
      assert.equal(meta.height, 300);
      assert.equal(meta.channels, 3);
      assert.equal(meta.space, 'srgb');
      assert.equal(meta.isProgressive, false);
    }
  });

  test('progress reaches total', () => {
    assert.deepEqual(progress.at(-1), [FILMS, FILMS]);
  });
});

describe('labels', () => {
  test('Genre text is a Python list that agrees with the one-hot cells; 1-3 genres per film', () => {
    for (const row of rows) {
      assert.match(row.Genre, /^\['[^']+'(, '[^']+')*\]$/);
      const listed = [...row.Genre.matchAll(/'([^']+)'/g)].map((m) => m[1]);
      assert.deepEqual([...listed].sort(), genresOf(row).sort(), row.Id);
      assert.ok(listed.length >= 1 && listed.length <= 3, row.Id);
      for (const genre of COURSEWORK_GENRES) assert.match(row[genre], /^[01]$/);
    }
  });

  test('Documentary, News, Reality-TV and Short are never positive', () => {
    for (const row of rows) for (const genre of NEVER_POSITIVE_GENRES) assert.equal(row[genre], '0');
    for (let i = 0; i < 3000; i++) {
      const { genres } = demoFilm(7, i);
      for (const genre of NEVER_POSITIVE_GENRES) assert.ok(!genres.includes(genre));
    }
  });

  test('label prior is shaped like the real data', () => {
    const counts = new Map<string, number>();
    const sizes = [0, 0, 0, 0];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const { genres } = demoFilm(99, i);
      sizes[genres.length]++;
      for (const genre of genres) counts.set(genre, (counts.get(genre) ?? 0) + 1);
    }
    const c = (genre: string) => counts.get(genre) ?? 0;
    assert.ok(c('Drama') > c('Comedy') && c('Comedy') > c('Romance'), 'Drama > Comedy > Romance');
    for (const genre of ['Romance', 'Action', 'Crime']) assert.ok(c(genre) > c('Horror') && c(genre) > n * 0.1, genre);
    for (const genre of ['Western', 'Musical']) assert.ok(c(genre) > 0 && c(genre) < c('Horror') / 2, genre);
    assert.ok(c('Drama') > n * 0.4);
    assert.ok(sizes[3] > sizes[2] && sizes[2] > sizes[1] && sizes[1] > n * 0.08, `sizes ${sizes}`);
  });
});

describe('overviews', () => {
  test('short loglines: 8-60 words, median 12-24', () => {
    const lengths = rows.map((row) => row.Overview.split(/\s+/).length).sort((a, b) => a - b);
    assert.ok(lengths[0] >= 8 && lengths.at(-1)! <= 60, `${lengths[0]}..${lengths.at(-1)}`);
    const median = lengths[Math.floor(lengths.length / 2)];
    assert.ok(median >= 12 && median <= 24, `median ${median}`);
  });

  test("every film's overview names each of its genres", () => {
    for (const row of rows) {
      const present = new Set(words(row.Overview));
      for (const genre of genresOf(row).filter((g): g is DemoGenre => g in DEMO_CUES)) {
        const cue = DEMO_CUES[genre];
        const vocabulary = [...cue.people, ...cue.things, ...cue.verbs, ...cue.adjectives];
        assert.ok(
          vocabulary.some((word) => present.has(word)),
          `${row.Id} ${genre}: ${row.Overview}`,
        );
      }
    }
  });

  test('commas and quoted phrases exercise CSV quoting', () => {
    assert.ok(rows.some((row) => row.Overview.includes('"')));
    assert.ok(rows.some((row) => row.Overview.includes(',')));
    assert.ok(csvText.includes('""the '), 'quotes are doubled in the file');
    const lines = csvText.trimEnd().split('\n');
    assert.equal(lines.length, FILMS + 1, 'no raw newlines inside fields');
  });

  test('genre vocabularies are disjoint from each other and from the filler', () => {
    const seen = new Map<string, string>();
    for (const word of Object.values(DEMO_FILLER).flat()) seen.set(word, 'filler');
    for (const [genre, cue] of Object.entries(DEMO_CUES)) {
      for (const word of [...cue.people, ...cue.things, ...cue.verbs, ...cue.adjectives]) {
        assert.ok(!seen.has(word), `${word} in ${genre} and ${seen.get(word)}`);
        seen.set(word, genre);
      }
    }
  });

  test("each genre's words are much more frequent in its own films", () => {
    let checked = 0;
    for (const [genre, cue] of Object.entries(DEMO_CUES) as [DemoGenre, (typeof DEMO_CUES)[DemoGenre]][]) {
      const vocabulary = new Set([...cue.people, ...cue.things, ...cue.verbs, ...cue.adjectives]);
      const hit = (row: Row) => words(row.Overview).some((word) => vocabulary.has(word));
      const own = rows.filter((row) => row[genre] === '1');
      const others = rows.filter((row) => row[genre] !== '1');
      if (own.length < 5) continue;
      checked++;
      const ownRate = own.filter(hit).length / own.length;
      const otherRate = others.filter(hit).length / others.length;
      // Not every film mentions all of its genres (short overviews, three genres): noisy, like real text.
      assert.ok(ownRate >= 0.55 && ownRate > 4 * otherRate, `${genre}: ${ownRate.toFixed(2)} vs ${otherRate.toFixed(2)}`);
    }
    assert.ok(checked >= 10, `checked ${checked} genres`);
  });
});

describe('poster signal', () => {
  test('mean colour differs clearly between Drama and Comedy posters, and between Horror and Comedy', async () => {
    const mean = async (filter: (row: Row) => boolean) => {
      const sum = [0, 0, 0];
      const chosen = rows.filter(filter);
      for (const row of chosen) {
        const pixels = await sharp(join(dirA, DEMO_IMAGES_DIR, `${row.Id}.jpg`))
          .raw()
          .toBuffer();
        for (let p = 0; p < pixels.length; p++) sum[p % 3] += pixels[p] / (pixels.length / 3);
      }
      assert.ok(chosen.length >= 5, `${chosen.length} films`);
      return sum.map((s) => s / chosen.length);
    };
    const only = (yes: string, no: string) => (row: Row) => row[yes] === '1' && row[no] !== '1';
    const distance = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    const drama = await mean(only('Drama', 'Comedy'));
    const comedy = await mean(only('Comedy', 'Drama'));
    // Comedy posters are yellow/orange: more red and less blue than the blue Drama posters.
    assert.ok(comedy[0] - drama[0] > 30 && drama[2] - comedy[2] > 15, `drama ${drama} comedy ${comedy}`);
    const horror = await mean(only('Horror', 'Comedy'));
    assert.ok(distance(horror, comedy) > 60, `horror ${horror} comedy ${comedy}`);
  });
});

describe('determinism and safety', () => {
  test('same seed gives byte-identical CSV and posters; the first N films do not depend on the total', async () => {
    const dirB = join(root, 'b');
    await writeDemoDataset(dirB, { films: FILMS, seed: SEED }, recordingEffects());
    assert.equal(await readFile(join(dirB, DEMO_CSV_FILE), 'utf8'), csvText);
    for (const row of rows.filter((_, i) => i % 20 === 0)) {
      const poster = `${DEMO_IMAGES_DIR}/${row.Id}.jpg`;
      assert.ok((await readFile(join(dirB, poster))).equals(await readFile(join(dirA, poster))), poster);
    }

    // Regenerating a smaller dataset in place: a prefix of the larger one, stale posters removed.
    await writeDemoDataset(dirB, { films: 30, seed: SEED }, recordingEffects());
    const small = await readFile(join(dirB, DEMO_CSV_FILE), 'utf8');
    assert.equal(small, csvText.split('\n').slice(0, 31).join('\n') + '\n');
    assert.equal((await readdir(join(dirB, DEMO_IMAGES_DIR))).length, 30);
    assert.match(await readFile(join(dirB, DEMO_MARKER_FILE), 'utf8'), /^films: 30$/m);
  });

  test('a different seed gives different data', () => {
    const films = (seed: number) => Array.from({ length: 20 }, (_, i) => demoFilm(seed, i));
    assert.equal(demoCsv(films(1)), demoCsv(films(1)));
    assert.notEqual(demoCsv(films(1)), demoCsv(films(2)));
  });

  test('refuses a non-empty directory without the marker and leaves it untouched', async () => {
    const dir = join(root, 'real');
    await mkdir(dir);
    await writeFile(join(dir, DEMO_CSV_FILE), 'real data\n');
    await assert.rejects(writeDemoDataset(dir, { films: 3 }, recordingEffects()), UserError);
    assert.deepEqual(await readdir(dir), [DEMO_CSV_FILE]);
    assert.equal(await readFile(join(dir, DEMO_CSV_FILE), 'utf8'), 'real data\n');
  });

  test('an interrupted run leaves the marker and no CSV', async () => {
    const dir = join(root, 'interrupted');
    await mkdir(dir);
    await writeFile(join(dir, DEMO_MARKER_FILE), 'old marker\n');
    await writeFile(join(dir, DEMO_CSV_FILE), 'old csv\n');
    await writeFile(join(dir, DEMO_IMAGES_DIR), 'a file where the Images folder should be');
    await assert.rejects(writeDemoDataset(dir, { films: 3, seed: 5 }, recordingEffects()));
    assert.ok(!(await readdir(dir)).includes(DEMO_CSV_FILE), 'no CSV');
    assert.match(await readFile(join(dir, DEMO_MARKER_FILE), 'utf8'), /^seed: 5$/m);
  });

  test('rejects bad options', async () => {
    for (const options of [{ films: 0 }, { films: 2.5 }, { seed: 1.5 }]) {
      await assert.rejects(writeDemoDataset(join(root, 'bad'), options, recordingEffects()), UserError);
    }
  });
});
