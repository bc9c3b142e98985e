/**
 * metadata.json of a trained model is read through the contract's schema: the pipeline's stages get
 * it typed by model, and a file that breaks the contract stops with one message naming it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ModelMetadataOf } from '../../pipeline/lib/contract/contract.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';
import { readTrainedModelMetadata } from '../../pipeline/lib/train/model-io.ts';

const lstm: ModelMetadataOf<'lstm'> = {
  model: 'lstm',
  title: 'Overview BiLSTM',
  genres: ['Comedy', 'Drama'],
  threshold: 0.5,
  input: {
    kind: 'overview',
    maxTokens: 10,
    sequenceLength: 4,
    standardize: 'lower_and_strip_punctuation',
    split: 'whitespace',
    vocabulary: ['', '[UNK]', 'a'],
  },
  seed: 42,
  trainingKey: 'k',
  datasetHash: 'h',
  tfjsVersion: '4.22.0',
};

test('a valid metadata.json is read, typed by its model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-meta-'));
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify(lstm));
  const meta = await readTrainedModelMetadata(dir, 'lstm');
  assert.deepEqual(meta, lstm);
  assert.equal(meta.input.vocabulary.length, 3);
});

test('a missing, malformed, off-contract or other-model metadata.json stops naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-meta-'));
  const file = join(dir, 'metadata.json');
  const fails = async (pattern: RegExp, model: 'cnn' | 'lstm' = 'lstm') =>
    assert.rejects(
      readTrainedModelMetadata(dir, model),
      (error: unknown) => error instanceof UserError && pattern.test(error.message) && error.message.includes(file),
    );
  await fails(/is missing/);
  writeFileSync(file, '{');
  await fails(/is not valid JSON/);
  writeFileSync(file, JSON.stringify({ ...lstm, input: { ...lstm.input, vocabulary: undefined } }));
  await fails(/is not the metadata of a trained lstm model \(input\.vocabulary: /);
  writeFileSync(file, JSON.stringify(lstm));
  await fails(/is not the metadata of a trained cnn model \(model: /, 'cnn');
});
