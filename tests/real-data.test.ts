/**
 * Runs `check-data` on the real coursework dataset when it is present beside the project
 * (../shared/datasets/imdb-multimodal). Skipped elsewhere.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));
const realDataset = fileURLToPath(new URL('../../shared/datasets/imdb-multimodal', import.meta.url));

test('check-data on the real coursework dataset', { skip: !existsSync(realDataset) && 'real dataset not present' }, async () => {
  const cache = mkdtempSync(join(tmpdir(), 'genrelens-real-'));
  const { stdout } = await promisify(execFile)(process.execPath, ['pipeline/cli.ts', 'check-data', realDataset, '--cache-dir', cache], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  assert.match(stdout, /Films: 5693 rows read, 5693 valid, 0 skipped/);
  assert.match(stdout, /Genre columns: 25\n/);
  assert.match(stdout, /Never-positive genres \(no film has them\): Documentary, News, Reality-TV, Short\n/);
  assert.match(stdout, /Split \(seed 42, iterative stratification\): 4554 train \/ 1139 validation/);
  // Label counts published in the dataset's SOURCE.md.
  assert.match(stdout, /Drama +3076 /);
  assert.match(stdout, /Western +46 /);
});
