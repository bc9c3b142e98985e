/**
 * consoleEffects' progress when two stages report at once (training, and the strong models beside
 * it): plain output keeps one line every 10 s per label, not one per call; a terminal's status line
 * shows both labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleEffects, type ProgressOutput } from '../../pipeline/lib/core/effects.ts';

function capture(interactive: boolean): { output: ProgressOutput; written: string[]; clock: { ms: number } } {
  const written: string[] = [];
  const clock = { ms: 0 };
  return { output: { interactive, write: (text) => void written.push(text), columns: 60, now: () => clock.ms }, written, clock };
}

test('plain progress: at most one line every 10 s per label, and each label’s last line, however the labels interleave', () => {
  const { output, written, clock } = capture(false);
  const effects = consoleEffects(output);
  for (let step = 1; step <= 30; step++) {
    clock.ms = step * 1000;
    effects.progress('Training', step, 30);
    if (step % 3 === 0) effects.progress('Strong models', step / 3, 10);
  }
  assert.deepEqual(written, [
    'Training: 1/30\n',
    'Strong models: 1/10\n',
    'Training: 12/30\n',
    'Strong models: 5/10\n',
    'Training: 23/30\n',
    'Strong models: 9/10\n',
    'Training: 30/30\n',
    'Strong models: 10/10\n',
  ]);
});

test('plain progress: a label that finished starts again with its first line', () => {
  const { output, written, clock } = capture(false);
  const effects = consoleEffects(output);
  effects.progress('Epoch', 2, 2);
  clock.ms = 1;
  effects.progress('Epoch', 1, 2, 'second');
  assert.deepEqual(written, ['Epoch: 2/2\n', 'Epoch: 1/2 second\n']);
});

test('terminal progress: one status line with every unfinished label in a steady order, cut to the width; a finished label gets its own line', () => {
  const { output, written } = capture(true);
  const effects = consoleEffects(output);
  effects.progress('A', 1, 4);
  effects.progress('B', 0, 2, 'x');
  assert.equal(written.at(-1), `\r${'A [######..................] 1/4 | B [........................] 0/2 x'.slice(0, 59)}\x1b[K`);
  effects.progress('A', 2, 4);
  assert.equal(written.at(-1), `\r${'A [############............] 2/4 | B [........................] 0/2 x'.slice(0, 59)}\x1b[K`, 'a label keeps its place');
  effects.progress('A', 4, 4);
  assert.deepEqual(written.slice(-2), ['\rA [########################] 4/4\x1b[K\n', '\rB [........................] 0/2 x\x1b[K']);
  effects.progress('B', 2, 2);
  assert.equal(written.at(-1), '\rB [########################] 2/2\x1b[K\n');
});
