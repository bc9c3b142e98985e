/**
 * The artifact registry and its store: every artifact is validated on the way out as well as in,
 * written as the stage built it, and read back naming the stage that writes it when it is missing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, artifactFile, CONTRACT_VERSION, MODEL_KINDS, type ArtifactId, type SplitArtifact } from '../../pipeline/lib/contract/contract.ts';
import { readArtifact, writeArtifact } from '../../pipeline/lib/core/artifact-store.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';

const split: SplitArtifact = {
  contractVersion: CONTRACT_VERSION,
  seed: 42,
  validationFraction: 0.2,
  method: 'iterative-stratification',
  train: ['a', 'b'],
  validation: ['c'],
};

test('the registry names each file once, each collection once, and the per-model files for both models', () => {
  const files = (Object.keys(ARTIFACTS) as ArtifactId[]).flatMap((id) =>
    typeof ARTIFACTS[id].file === 'string' ? [artifactFile(id)] : MODEL_KINDS.map((model) => artifactFile(id, model)),
  );
  assert.equal(new Set(files).size, files.length, files.join(', '));
  assert.ok(files.every((file) => file.endsWith('.json')));
  const collections = Object.values(ARTIFACTS).flatMap((entry) => ('collection' in entry ? [entry.collection] : []));
  assert.equal(new Set(collections).size, collections.length);
  assert.deepEqual(artifactFile('history', 'lstm'), 'history-lstm.json');
  assert.throws(() => artifactFile('history'), /once per model/);
});

test('writeArtifact writes the value as built (2-space JSON), readArtifact reads it back validated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-artifacts-'));
  await writeArtifact(dir, 'split', split);
  assert.equal(readFileSync(join(dir, 'split.json'), 'utf8'), `${JSON.stringify(split, null, 2)}\n`);
  assert.deepEqual(readArtifact(dir, 'split'), split);
});

test('a value that breaks its schema is refused on write, naming the file and the field, and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-artifacts-'));
  const broken = { ...split, validation: [3] } as unknown as SplitArtifact;
  await assert.rejects(writeArtifact(dir, 'split', broken), /split\.json breaks the data contract \(validation\.0: .*\); nothing was written/);
  assert.ok(!existsSync(join(dir, 'split.json')));
});

test('reading a missing, malformed or off-contract artifact stops naming the file and the stage that writes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'genrelens-artifacts-'));
  assert.throws(
    () => readArtifact(dir, 'analysis'),
    (error: unknown) => error instanceof UserError && /analysis\.json is missing/.test(error.message) && /the analysis stage writes it/.test(error.fix ?? ''),
  );
  writeFileSync(join(dir, 'history-cnn.json'), '{ nope');
  assert.throws(() => readArtifact(dir, 'history', 'cnn'), /history-cnn\.json is not valid JSON/);
  writeFileSync(join(dir, 'split.json'), JSON.stringify({ ...split, seed: 'x' }));
  assert.throws(() => readArtifact(dir, 'split'), /split\.json: seed: /);
});
