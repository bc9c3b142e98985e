/**
 * Ending worker threads (pipeline/lib/core/worker-messages.ts): a worker whose work is over ends by
 * itself once it has reported (`reportOutcome` lets go of its port), and `endWorker` waits for that
 * rather than terminating it; a worker that does not end is terminated after the wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { endWorker } from '../../pipeline/lib/core/worker-messages.ts';

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
