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
  assert.throws(() => resolveConfig({ flags: { validationFraction: 1.5 } }), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /validationFraction/);
    return true;
  });
  assert.throws(() => resolveConfig({ file: { imagesize: 64 } as never, fileName: 'genrelens.config.json' }), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /imagesize/);
    assert.equal(error.file, 'genrelens.config.json');
    return true;
  });
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
  assert.throws(() => chooseDataset(resolveConfig({ flags: { dataset: 'nope' } }), root), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /dataset folder not found/);
    assert.match(error.fix ?? '', /GENRELENS_DATASET/);
    return true;
  });
});
