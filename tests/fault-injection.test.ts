/**
 * Fault injection: hostile and careless inputs, each built in a temporary folder, run through the
 * real CLI. Each test asserts the message, the exit code, and that every file that was there before
 * is still there byte for byte. One test (or more) per class of issue 14:
 *   1 output folders that hold other things · 2 atomic replacement (the site, the artifacts and public
 *   files of a failed or killed run) · 3 damaged cache entries and leftovers of killed writes · 4 poster
 *   files that are links, devices or pipes · 5 splits too small for the stages · 6 two runs on the same folders ·
 *   7 misleading messages (encoding, positional folder, flag blame, empty numbers, config shapes).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { MARKER_FILE, lockPath, recoverFolder, replaceFolder } from '../pipeline/lib/core/workspace.ts';
import { projectRoot } from './helpers/fixture-build.ts';
import { fixtureCsv, makePoster, makeTempDir, writeFixtureDataset, type FixtureFilm } from './helpers/fixture-dataset.ts';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI and returns its exit code and output, whatever the code (never throws). */
async function cli(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['pipeline/cli.ts', ...args], {
      cwd: projectRoot,
      env: { ...process.env, CI: 'true' },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Every entry below `dir` (links not followed): path → content hash, link target or 'dir'. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = join(rel, name);
      const info = lstatSync(join(dir, path));
      if (info.isSymbolicLink()) out.set(path, `link ${readlinkSync(join(dir, path))}`);
      else if (info.isDirectory()) {
        out.set(path, 'dir');
        walk(path);
      } else if (info.isFile())
        out.set(
          path,
          createHash('sha256')
            .update(readFileSync(join(dir, path)))
            .digest('hex'),
        );
      else out.set(path, 'special');
    }
  };
  walk('');
  return out;
}

/** A one-line user message: no stack trace. */
function assertUserError(result: Result, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

const films = (n: number, prefix = 'f'): FixtureFilm[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, genres: i % 2 ? ['Drama'] : ['Comedy', 'Drama'] }));

/** Flags that point every output of the CLI into `work`. */
const outputs = (work: string) => ['--cache-dir', join(work, 'cache'), '--artifacts-dir', join(work, 'artifacts'), '--public-dir', join(work, 'public')];

test('class 1: an output folder that is the dataset, holds other files, is data/ or holds the project is refused, and nothing changes', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(4));
  const mine = join(work, 'my-files');
  mkdirSync(mine);
  writeFileSync(join(mine, 'thesis.docx'), 'years of work');
  const before = snapshot(work);
  const projectBefore = snapshot(join(projectRoot, 'data'));

  assertUserError(await cli('build', '--dataset', dataset, '--out-dir', dataset, ...outputs(work)), /--out-dir .*films is the dataset/);
  assertUserError(await cli('build', '--dataset', dataset, '--out-dir', join(dataset, 'Images'), ...outputs(work)), /--out-dir .*Images is inside the dataset/);
  assertUserError(
    await cli('build', '--dataset', dataset, '--out-dir', mine, ...outputs(work)),
    /refusing to use .*my-files for --out-dir: it holds files genrelens did not make \(thesis\.docx\)/,
  );
  assertUserError(
    await cli('build', '--dataset', dataset, '--out-dir', 'data', ...outputs(work)),
    /refusing to use .*data for --out-dir: it holds files genrelens did not make \(README\.md\)/,
  );
  assertUserError(await cli('build', '--dataset', dataset, '--out-dir', '.', ...outputs(work)), /--out-dir .* is the project/);
  assertUserError(await cli('build', '--dataset', dataset, '--out-dir', '..', ...outputs(work)), /--out-dir .* holds the project/);
  assertUserError(
    await cli(
      'build',
      '--dataset',
      dataset,
      '--artifacts-dir',
      join(dataset, 'json'),
      '--cache-dir',
      join(work, 'cache'),
      '--public-dir',
      join(work, 'public'),
      '--out-dir',
      join(work, 'site'),
    ),
    /--artifacts-dir .* is inside the dataset/,
  );
  assertUserError(await cli('build', '--dataset', dataset, '--out-dir', join(work, 'cache', 'site'), ...outputs(work)), /overlap/);

  assert.deepEqual(snapshot(work), before, 'every file under the work folder is unchanged');
  assert.deepEqual(snapshot(join(projectRoot, 'data')), projectBefore, 'data/ is unchanged');
});

test('class 1: a mistyped --test-set is refused before anything trains', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(4));
  assertUserError(
    await cli('train', '--dataset', dataset, '--test-set', join(work, 'nowhere'), ...outputs(work)),
    /the test set folder .*nowhere has no IMDB_overview_genres\.csv\n {2}fix: pass --test-set a folder in the coursework layout/,
  );
  assert.equal(existsSync(join(work, 'cache', 'training')), false, 'no model was trained');
});

test('class 2: a folder is replaced only once its new version is complete; an interrupted swap is recovered', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const site = join(work, 'site');
  await replaceFolder(site, 'a test site', async (dir) => {
    await mkdir(dir);
    await writeFile(join(dir, 'index.html'), 'first');
  });
  assert.equal(await readFile(join(site, 'index.html'), 'utf8'), 'first');
  assert.ok(existsSync(join(site, MARKER_FILE)), 'marked as made by genrelens');

  // A build that fails half-way leaves the old site whole and nothing beside it.
  await assert.rejects(
    replaceFolder(site, 'a test site', async (dir) => {
      await mkdir(dir);
      await writeFile(join(dir, 'half.html'), 'half');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(site).sort(), [MARKER_FILE, 'index.html'].sort());
  assert.deepEqual(readdirSync(work), ['site']);

  // Killed between the two renames: the old site is aside and none in place; the next run puts it back.
  const aside = join(work, '.site.genrelens-old-123-abc');
  execFileSync('mv', [site, aside]);
  mkdirSync(join(work, '.site.genrelens-new-123-abc'));
  const lines: string[] = [];
  await recoverFolder(site, (line) => lines.push(line));
  assert.equal(await readFile(join(site, 'index.html'), 'utf8'), 'first');
  assert.deepEqual(readdirSync(work), ['site']);
  assert.equal(lines.length, 2, lines.join('\n'));
});

test('class 2: a run that fails or is killed after writing some artifacts leaves the artifacts and public files of the last complete run', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(60));
  const prepared = await cli('prepare', '--dataset', dataset, ...outputs(work));
  assert.equal(prepared.code, 0, prepared.stderr);
  const artifacts = join(work, 'artifacts');
  const before = snapshot(artifacts);
  assert.ok(before.has('dataset.json') && before.has('split.json'));

  // Fails after the data stage wrote its artifacts (a split too small to train on): none of them lands.
  const failed = await cli('train', '--dataset', dataset, '--validation-fraction', '0.01', ...outputs(work));
  assert.equal(failed.code, 1, failed.stderr);
  assert.deepEqual(snapshot(artifacts), before);
  assert.deepEqual(readdirSync(work).sort(), ['artifacts', 'cache', 'films', 'public'].sort(), 'no staged copy left behind');

  // Killed (kill -9) once the data stage has written: the artifacts are untouched; the next run removes the staged copy.
  const child = spawn(process.execPath, ['pipeline/cli.ts', 'train', '--dataset', dataset, '--validation-fraction', '0.3', ...outputs(work)], {
    cwd: projectRoot,
    env: { ...process.env, CI: 'true' },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/^Data: /m.test(out)) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`exited before its data stage: ${out}`)));
  });
  await new Promise((resolve) => child.on('close', resolve));
  assert.deepEqual(snapshot(artifacts), before);
  assert.ok(
    readdirSync(work).some((name) => name.startsWith('.artifacts.genrelens-new-')),
    'the killed run wrote into a staged copy',
  );
  const next = await cli('prepare', '--dataset', dataset, '--validation-fraction', '0.3', ...outputs(work));
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stdout, /Removed .*\.artifacts\.genrelens-new-.*, left by an interrupted run/);
  assert.deepEqual(readdirSync(work).sort(), ['artifacts', 'cache', 'films', 'public'].sort());
  assert.notDeepEqual(snapshot(artifacts).get('split.json'), before.get('split.json'), 'a complete run does replace them');
});

test('class 2: an output folder that cannot be written in is refused before anything is written; the previous site stays whole', async (t) => {
  // Root writes anywhere: the CLI runs without the capabilities that let it ignore permissions
  // (setpriv drops DAC override from its bounding set), so a read-only folder is read-only to it too.
  const root = process.getuid?.() === 0;
  if (root && !existsSync('/usr/bin/setpriv')) {
    t.skip('as root, needs setpriv (util-linux) to run the CLI without permission overrides');
    return;
  }
  const dropDac = root ? ['/usr/bin/setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search'] : [];
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(60));
  const www = join(work, 'www');
  mkdirSync(join(www, 'site'), { recursive: true });
  writeFileSync(join(www, 'site', MARKER_FILE), 'made by genrelens');
  writeFileSync(join(www, 'site', 'index.html'), 'the previous site');
  // The site itself stays writable; the folder it would be swapped in is not.
  chmodSync(www, 0o555);
  const before = snapshot(www);
  const result = await new Promise<Result>((resolve) => {
    const [command, ...args] = [...dropDac, process.execPath, 'pipeline/cli.ts'];
    execFile(
      command,
      [...args, 'build', '--dataset', dataset, ...outputs(work), '--out-dir', join(www, 'site')],
      { cwd: projectRoot, env: { ...process.env, CI: 'true', TMPDIR: work } },
      (error, stdout, stderr) => resolve({ code: error ? (error as { code: number }).code : 0, stdout, stderr }),
    );
  });
  assertUserError(
    result,
    new RegExp(`--out-dir ${join(www, 'site')}: genrelens cannot write in ${www} \\(EACCES\\); nothing was changed\n {2}fix: choose a folder you can write to`),
  );
  assert.deepEqual(snapshot(www), before);
  assert.ok(!existsSync(join(work, 'cache')) && !existsSync(join(work, 'artifacts')), 'nothing else was written either');
});

test('class 3: a damaged cache entry (model weights, cached poster) is reported in one line and recomputed, never published; evaluate names a damaged model', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(60));
  const first = await cli('train', '--dataset', dataset, '--epochs', '1', ...outputs(work));
  assert.equal(first.code, 0, first.stderr);
  const [key] = readdirSync(join(work, 'cache', 'training'));
  const cached = join(work, 'cache', 'training', key, 'cnn', 'model', 'weights.bin');
  const published = join(work, 'public', 'models', 'cnn', 'weights.bin');
  const good = readFileSync(cached);
  assert.deepEqual(readFileSync(published), good);

  // Truncated cached weights: reported, the CNN trained again (to the same bytes: same seed), the LSTM reused.
  writeFileSync(cached, good.subarray(0, 1000));
  const second = await cli('train', '--dataset', dataset, '--epochs', '1', ...outputs(work));
  assert.equal(second.code, 0, second.stderr);
  const warnings = second.stderr.split('\n').filter((line) => /damaged/.test(line));
  assert.deepEqual(warnings, [
    `warning: Poster CNN: the cached model in ${join(work, 'cache', 'training', key, 'cnn')} is damaged (model/weights.bin is 1,000 bytes, ${good.length.toLocaleString('en')} when it was written); training it again`,
  ]);
  assert.match(second.stdout, /Overview BiLSTM: reusing the trained model from the cache/);
  assert.doesNotMatch(second.stdout, /Poster CNN: reusing/);
  assert.deepEqual(readFileSync(cached), good);
  assert.deepEqual(readFileSync(published), good);

  // A cached poster with other bytes: reported once, decoded again; the same pixels reach the models.
  const posters = join(work, 'cache', 'posters');
  const entry = join(
    posters,
    readdirSync(posters).find((name) => name.endsWith('.rgb'))!,
  );
  const bytes = readFileSync(entry);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(entry, bytes);
  const third = await cli('prepare', '--dataset', dataset, ...outputs(work));
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /^warning: posters: 1 cached poster was damaged in .* and decoded again from the dataset$/m);
  bytes[bytes.length - 1] ^= 0xff;
  assert.deepEqual(readFileSync(entry), bytes, 'the entry was rewritten whole');

  // evaluate on a published model whose weights were cut short: one line naming the file, no RangeError.
  writeFileSync(published, good.subarray(0, 1000));
  const evaluated = await cli(
    'evaluate',
    dataset,
    '--models',
    join(work, 'public', 'models'),
    '--artifacts-dir',
    join(work, 'artifacts'),
    '--out',
    join(work, 'evaluation.json'),
    '--cache-dir',
    join(work, 'cache'),
  );
  assertUserError(evaluated, /the model in .*cnn is damaged: .*weights\.bin is 1,000 bytes; model\.json describes [\d,]+\n {2}fix: train it again/);
  assert.doesNotMatch(evaluated.stderr, /RangeError/);
});

test('class 3: leftovers of killed atomic folder writes are removed; a folder moved aside just before the kill is put back', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const { writeFolderAtomic } = await import('../pipeline/lib/core/files.ts');
  const dead = 2 ** 22 + 12_345; // above Linux's default pid_max: no such process
  const target = join(work, 'checkpoint');
  mkdirSync(join(work, `checkpoint.tmp-${dead}.0a1b2c`));
  writeFileSync(join(work, `checkpoint.tmp-${dead}.0a1b2c`, 'tensors.bin'), Buffer.alloc(1 << 20));
  mkdirSync(join(work, `checkpoint.old-${dead}.3d4e5f`));
  writeFileSync(join(work, `checkpoint.old-${dead}.3d4e5f`, 'state.json'), 'previous');
  const live = join(work, `checkpoint.tmp-${process.ppid}.0a1b2c`); // another live process's write in progress
  mkdirSync(live);
  mkdirSync(join(work, `other.tmp-${dead}.0a1b2c`)); // another folder's: not ours to judge here

  await writeFolderAtomic(target, async (temp) => writeFile(join(temp, 'state.json'), 'new'));
  assert.equal(readFileSync(join(target, 'state.json'), 'utf8'), 'new');
  assert.deepEqual(readdirSync(work).sort(), ['checkpoint', `checkpoint.tmp-${process.ppid}.0a1b2c`, `other.tmp-${dead}.0a1b2c`].sort());
  assert.ok(existsSync(live));

  // Killed between moving the old folder aside and renaming the new one in: the old one comes back.
  const moved = join(work, `state.old-${dead}.999999`);
  mkdirSync(moved);
  writeFileSync(join(moved, 'state.json'), 'whole');
  await writeFolderAtomic(join(work, 'state'), async () => {
    assert.equal(readFileSync(join(work, 'state', 'state.json'), 'utf8'), 'whole', 'restored before the new write');
    throw new Error('stop');
  }).catch(() => undefined);
  assert.equal(readFileSync(join(work, 'state', 'state.json'), 'utf8'), 'whole');
});

test('class 4: posters that are links out of the dataset, devices or pipes are skipped under named reasons, never read', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  const list = films(6);
  await writeFixtureDataset(dataset, list);
  const outside = join(work, 'private.jpg');
  await writeFile(outside, await makePoster({ colour: [200, 10, 10] }));
  const images = join(dataset, 'Images');
  await rm(join(images, 'f0.jpg'));
  symlinkSync('/dev/zero', join(images, 'f0.jpg'));
  await rm(join(images, 'f1.jpg'));
  symlinkSync(outside, join(images, 'f1.jpg'));
  await rm(join(images, 'f2.jpg'));
  execFileSync('mkfifo', [join(images, 'f2.jpg')]);
  await rm(join(images, 'f3.jpg'));
  mkdirSync(join(images, 'f3.jpg'));
  const before = snapshot(dataset);
  const privateBefore = readFileSync(outside);

  const result = await cli('check-data', dataset, '--cache-dir', join(work, 'cache'));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /poster-not-a-file \(2\): .*\n.*f2.jpg is not a regular file\n.*f3.jpg is a folder/, result.stdout);
  assert.match(result.stdout, /poster-outside-dataset \(2\): .*\n.*leads to \/dev\/zero, outside the dataset folder/, result.stdout);
  assert.match(result.stdout, /6 rows read, 2 valid, 4 skipped/, result.stdout);
  assert.deepEqual(snapshot(dataset), before);
  assert.deepEqual(readFileSync(outside), privateBefore);

  // A symlinked Images/ folder is a legitimate layout: its posters are read.
  const elsewhere = join(work, 'posters-elsewhere');
  await writeFixtureDataset(elsewhere, list);
  const linked = join(work, 'linked');
  mkdirSync(linked);
  writeFileSync(join(linked, 'IMDB_overview_genres.csv'), fixtureCsv(list));
  symlinkSync(join(elsewhere, 'Images'), join(linked, 'Images'));
  const ok = await cli('check-data', linked, '--cache-dir', join(work, 'cache'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /6 rows read, 6 valid, 0 skipped/, ok.stdout);
});

test('class 5: a split too small for training or the learned fusion stops before training, saying the minimum and the fix', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(60));
  const tiny = await cli('train', '--dataset', dataset, '--validation-fraction', '0.001', ...outputs(work));
  assertUserError(tiny, /the split gives \d validation films .* needs at least 10\n {2}fix: use --validation-fraction 0\.167 or more/);
  assert.doesNotMatch(tiny.stdout, /training/i);

  const three = join(work, 'three');
  await writeFixtureDataset(three, films(3));
  assertUserError(await cli('train', '--dataset', three, ...outputs(work)), /validation films .*\n {2}fix: use a dataset with at least 50 usable films/);
});

test('class 6: a second run on the same folders stops naming the running one; a lock left by a killed run is taken over', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  await writeFixtureDataset(dataset, films(4));
  mkdirSync(join(work, 'cache'));
  const lock = lockPath(realpathSync(join(work, 'cache')));
  mkdirSync(join(lock, '..'), { recursive: true });
  t.after(() => rm(lock, { force: true }));

  const running = spawn('sleep', ['60']);
  t.after(() => running.kill());
  writeFileSync(lock, JSON.stringify({ pid: running.pid, command: 'genrelens build', started: '2026-01-01T00:00:00.000Z' }));
  assertUserError(await cli('prepare', '--dataset', dataset, ...outputs(work)), new RegExp(`another genrelens run \\(PID ${running.pid}, \`genrelens build\``));
  assert.ok(existsSync(lock), 'the running build keeps its lock');
  assert.ok(!existsSync(join(work, 'artifacts')), 'nothing was written');

  running.kill();
  await new Promise((resolve) => running.once('exit', resolve));
  const taken = await cli('prepare', '--dataset', dataset, ...outputs(work));
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stdout, new RegExp(`Taking over the lock of a genrelens run that is gone \\(PID ${running.pid}\\)`));
  assert.ok(!existsSync(lock), 'released when the run ends');
});

test('class 7: a Latin-1 CSV, a folder given as an argument, bad flags, empty numbers and config files that are not objects', async (t) => {
  const work = await makeTempDir(t, 'genrelens-fault-');
  const dataset = join(work, 'films');
  const list = films(20).map((film, i) => ({ ...film, overview: `Un film très étrange numéro ${i}, où l'été est brûlant.` }));
  await writeFixtureDataset(dataset, list, { csv: Buffer.from(fixtureCsv(list), 'latin1') });
  const before = snapshot(work);
  assertUserError(
    await cli('check-data', dataset, '--cache-dir', join(work, 'cache')),
    /the CSV file is not UTF-8: 20 of its \d+ lines .*\n {2}fix: .*iconv -f windows-1252 -t utf-8/,
  );
  assert.deepEqual(snapshot(work), before);

  // `prepare <folder>` uses the folder as the dataset (not the demo data).
  const good = join(work, 'good');
  await writeFixtureDataset(good, films(8));
  const prepared = await cli('prepare', good, ...outputs(work));
  assert.equal(prepared.code, 0, prepared.stderr);
  assert.match(prepared.stdout, /Data: 8 films/);
  assertUserError(await cli('prepare', good, 'extra', ...outputs(work)), /prepare takes at most one folder \(the dataset\)/);

  // A bad flag is named as the flag, not as a config file that does not exist.
  const flag = await cli('prepare', good, '--validation-fraction', '7', ...outputs(work));
  assertUserError(flag, /^genrelens: invalid value for the flag --validation-fraction/);
  assert.doesNotMatch(flag.stderr, /genrelens\.config\.json/);
  assertUserError(await cli('prepare', good, '--seed=', ...outputs(work)), /--seed expects a number, got an empty value/);

  for (const [text, shape] of [
    ['[]', 'an array'],
    ['null', 'null'],
    ['42', 'a number'],
  ]) {
    const config = join(work, `config-${shape.replace(' ', '-')}.json`);
    writeFileSync(config, text);
    assertUserError(
      await cli('prepare', good, '--config', config, ...outputs(work)),
      new RegExp(`config file must hold a JSON object of settings, not ${shape}`),
    );
  }
  const bom = join(work, 'bom.json');
  writeFileSync(bom, `\uFEFF${JSON.stringify({ seed: 7 })}`);
  const withBom = await cli('prepare', good, '--config', bom, ...outputs(work));
  assert.equal(withBom.code, 0, withBom.stderr);
  assert.equal(JSON.parse(readFileSync(join(work, 'artifacts', 'split.json'), 'utf8')).seed, 7);
});
