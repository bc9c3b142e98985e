/**
 * Ending worker threads (pipeline/lib/core/worker-messages.ts): a worker whose work is over ends by
 * itself once it has reported (`reportOutcome` lets go of its port), and `endWorker` waits for that
 * rather than terminating it; a worker that does not end is terminated after the wait; `workerResult`
 * settles on its result, its failure (as the same kind) or an early exit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { endWorker, workerResult } from '../../pipeline/lib/core/worker-messages.ts';
import { UserError } from '../../pipeline/lib/core/errors.ts';

const reporting = new URL('../../pipeline/lib/core/worker-messages.ts', import.meta.url).href;

/** A worker that listens on its port (as the training worker does) and reports one outcome. */
function reportingWorker(): Worker {
  const code = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', () => {});
    import(${JSON.stringify(reporting)}).then(({ reportOutcome }) => reportOutcome(parentPort, async () => 42));
  `;
  return new Worker(code, { eval: true });
}

test('a worker that has reported its outcome ends by itself; endWorker does not terminate it', async () => {
  const worker = reportingWorker();
  const message = await new Promise((resolve) => worker.once('message', resolve));
  assert.deepEqual(message, { type: 'done', result: 42 });
  let exitCode: number | null = null;
  worker.once('exit', (code) => (exitCode = code));
  const started = Date.now();
  await endWorker(worker, 20_000);
  assert.ok(Date.now() - started < 10_000, 'it ended well before the wait ran out');
  assert.equal(exitCode, 0, 'it exited by itself (a terminated worker exits with code 1)');
});

test('endWorker terminates a worker that does not end within the wait', async () => {
  const worker = new Worker(`setInterval(() => {}, 1000); require('node:worker_threads').parentPort.postMessage('up');`, { eval: true });
  await new Promise((resolve) => worker.once('message', resolve));
  let exitCode: number | null = null;
  worker.once('exit', (code) => (exitCode = code));
  await endWorker(worker, 200);
  assert.equal(exitCode, 1, 'terminated');
});

test("workerResult: the worker's result with its other messages passed on; its failure as the same kind; an early exit named", async () => {
  const seen: unknown[] = [];
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    parentPort.postMessage({ type: 'info', message: 'working' });
    import(${JSON.stringify(reporting)}).then(({ reportOutcome }) => reportOutcome(parentPort, async () => 7));
  `,
    { eval: true },
  );
  assert.equal(await workerResult<number>(worker, 'the test worker', (message) => seen.push(message)), 7);
  assert.deepEqual(seen, [{ type: 'info', message: 'working' }]);

  const failing = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    parentPort.postMessage({ type: 'failed', error: { name: 'UserError', message: 'bad row', file: 'a.csv', line: 3, fix: 'mend it' } });
  `,
    { eval: true },
  );
  const error = await workerResult(failing, 'the test worker').catch((e: unknown) => e);
  assert.ok(error instanceof UserError && error.message === 'bad row' && error.file === 'a.csv' && error.line === 3);

  const quitting = new Worker(`process.exit(3)`, { eval: true });
  await assert.rejects(workerResult(quitting, 'the test worker'), /the test worker stopped \(exit code 3\) before it finished/);
});
