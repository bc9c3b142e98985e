/** The before/after comparison of two runs' outputs: only timestamps and durations may differ. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareFiles } from '../../pipeline/lib/bench/compare-outputs.ts';

const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2));

test('identical bytes, JSON differing only in timestamps and durations, and real differences', () => {
  assert.deepEqual(compareFiles(Buffer.from('ab'), Buffer.from('ab'), 'x.bin'), { same: true, how: 'identical' });
  const run = { generatedAt: '2026-01-01', models: { cnn: { trainingMs: 5, epochMs: [1, 2], params: 3 } } };
  assert.equal(
    compareFiles(json(run), json({ ...run, generatedAt: '2026-02-02', models: { cnn: { trainingMs: 9, epochMs: [3], params: 3 } } }), 'run.json').same,
    true,
  );
  assert.equal(compareFiles(json(run), json({ ...run, models: { cnn: { ...run.models.cnn, params: 4 } } }), 'run.json').same, false);
  assert.equal(compareFiles(Buffer.from('a'), Buffer.from('b'), 'weights.bin').same, false);
});
