import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chooseDataset, resolveConfig } from '../pipeline/lib/config.ts';
import { UserError } from '../pipeline/lib/core/errors.ts';

test('defaults are the coursework settings', () => {
  const config = resolveConfig({});
  assert.equal(config.imageSize, 64);
  assert.equal(config.maxTokens, 10_000);
  assert.equal(config.sequenceLength, 100);
  assert.equal(config.validationFraction, 0.2);
  assert.equal(config.profile, undefined, 'unset: chosen by the dataset (quick for demo data)');
  assert.equal(config.resizeKernel, 'nearest');
  assert.equal(config.dataset, undefined);
});

test('layers override in order: file < environment < flags', () => {
  const file = { dataset: 'from-file', seed: 1 };
  assert.equal(resolveConfig({ file }).dataset, 'from-file');
  assert.equal(resolveConfig({ file, env: { GENRELENS_DATASET: 'from-env' } }).dataset, 'from-env');
  const config = resolveConfig({ file, env: { GENRELENS_DATASET: 'from-env' }, flags: { dataset: 'from-flag', seed: undefined } });
  assert.equal(config.dataset, 'from-flag');
  assert.equal(config.seed, 1, 'an unset flag does not erase the file value');
});

test('bad values and unknown keys are rejected with the setting named', () => {
  assert.throws(
    () => resolveConfig({ flags: { validationFraction: 1.5 } }),
    (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /validationFraction/);
      return true;
    },
  );
  assert.throws(
    () => resolveConfig({ file: { imagesize: 64 } as never, fileName: 'genrelens.config.json' }),
    (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /imagesize/);
      assert.equal(error.file, 'genrelens.config.json');
      return true;
    },
  );
  assert.throws(() => resolveConfig({ flags: { profile: 'fast' as never } }), /profile/);
});

test('dataset lookup: configured path, then data/Multimodal_IMDB_dataset, then demo', () => {
  const root = mkdtempSync(join(tmpdir(), 'genrelens-config-'));
  assert.equal(chooseDataset(resolveConfig({}), root).kind, 'demo');
  mkdirSync(join(root, 'data/Multimodal_IMDB_dataset'), { recursive: true });
  const fallback = chooseDataset(resolveConfig({}), root);
  assert.deepEqual(fallback, { kind: 'default-folder', dir: join(root, 'data/Multimodal_IMDB_dataset') });
  mkdirSync(join(root, 'mine'));
  assert.deepEqual(chooseDataset(resolveConfig({ flags: { dataset: 'mine' } }), root), { kind: 'configured', dir: join(root, 'mine') });
  assert.throws(
    () => chooseDataset(resolveConfig({ flags: { dataset: 'nope' } }), root),
    (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /dataset folder not found/);
      assert.match(error.fix ?? '', /GENRELENS_DATASET/);
      return true;
    },
  );
});

test('settings: every flag is in --help, and each flag sets its own setting', async () => {
  const { USER_SETTINGS, flagOf, settingsHelp } = await import('../pipeline/lib/settings.ts');
  const { parseCommandLine } = await import('../pipeline/lib/cli.ts');
  const help = settingsHelp().join('\n');
  for (const line of help.split('\n')) assert.ok(line.length <= 104, `help line over 104 characters: ${line}`);
  // A value each setting accepts that differs from its default (flag text, expected config value).
  const samples: Record<string, [string[], unknown]> = {
    dataset: [['--dataset', 'films'], 'films'],
    seed: [['--seed', '7'], 7],
    validationFraction: [['--validation-fraction', '0.25'], 0.25],
    imageSize: [['--image-size', '32'], 32],
    resizeKernel: [['--resize-kernel', 'cubic'], 'cubic'],
    maxPosterPixels: [['--max-poster-pixels', '1000'], 1000],
    maxTokens: [['--max-tokens', '500'], 500],
    sequenceLength: [['--sequence-length', '20'], 20],
    profile: [['--profile', 'quick'], 'quick'],
    epochs: [['--epochs', '3'], 3],
    backend: [['--backend', 'cpu'], 'cpu'],
    retrain: [['--retrain'], true],
    loss: [['--loss', 'focal'], 'focal'],
    posterAugmentation: [['--poster-augmentation'], true],
    posterBackbone: [['--poster-backbone', 'off'], 'off'],
    earlyStoppingPatience: [['--early-stopping', '4'], 4],
    ablations: [
      ['--ablations', 'focal-loss, early-stopping'],
      ['focal-loss', 'early-stopping'],
    ],
    parallel: [['--sequential'], false],
    cnnShards: [['--cnn-shards', '3'], 3],
    strongModels: [['--no-strong'], false],
    testSet: [['--test-set', 'held-out'], 'held-out'],
    explainFilms: [['--explain-films', '5'], 5],
    demoFilms: [['--demo-films', '40'], 40],
    cacheDir: [['--cache-dir', 'c'], 'c'],
    artifactsDir: [['--artifacts-dir', 'a'], 'a'],
    publicDir: [['--public-dir', 'p'], 'p'],
    outDir: [['--out-dir', 'o'], 'o'],
  };
  const root = mkdtempSync(join(tmpdir(), 'genrelens-settings-'));
  const defaults = resolveConfig({});
  assert.deepEqual(Object.keys(samples).sort(), Object.keys(USER_SETTINGS).sort(), 'a sample per setting');
  for (const [key, [argv, expected]] of Object.entries(samples)) {
    assert.ok(help.includes(`${flagOf(key)} `) || help.includes(`${flagOf(key)}\n`), `--help lists ${flagOf(key)}`);
    assert.equal(argv[0], flagOf(key));
    const { config } = parseCommandLine(['build', ...argv], {}, root);
    assert.deepEqual(config[key as keyof typeof config], expected, `${argv.join(' ')} sets ${key}`);
    for (const other of Object.keys(samples)) {
      if (other !== key) assert.deepEqual(config[other as keyof typeof config], defaults[other as keyof typeof defaults], `${argv[0]} leaves ${other} alone`);
    }
  }
  const { ABLATION_IDS } = await import('../pipeline/lib/contract/contract.ts');
  assert.deepEqual(parseCommandLine(['build', '--ablations', 'all'], {}, root).config.ablations, [...ABLATION_IDS]);
});
