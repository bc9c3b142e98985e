/**
 * What a worker thread running pipeline work tells the main thread, and the two ends of it: the
 * worker's effects (log lines and progress become messages) and its outcome (a result, or an error
 * rebuilt on the main thread as the same kind, so a user's mistake still prints without a stack).
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Effects } from './effects.ts';
import { UserError } from './errors.ts';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
  fix?: string;
}

export type WorkerMessage<R> =
  | { type: 'info' | 'warn'; message: string }
  | { type: 'progress'; label: string; done: number; total: number; status?: string }
  | { type: 'done'; result: R }
  | { type: 'failed'; error: SerializedError };

/** In a worker: effects that send each log line and progress update to the main thread. */
export function portEffects(port: MessagePort): Effects {
  const send = (message: WorkerMessage<never>) => port.postMessage(message);
  return {
    info: (message) => send({ type: 'info', message }),
    warn: (message) => send({ type: 'warn', message }),
    progress: (label, done, total, status) => send({ type: 'progress', label, done, total, status }),
    now: () => Date.now(),
  };
}

/**
 * In a worker: runs `work` and sends its result, or its error. Then the port no longer keeps the
 * thread alive (the message is already on its way), so the thread ends by itself (see `endWorker`).
 */
export async function reportOutcome<R>(port: MessagePort, work: () => Promise<R>): Promise<void> {
  try {
    port.postMessage({ type: 'done', result: await work() } satisfies WorkerMessage<R>);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const where = e instanceof UserError ? { file: e.file, line: e.line, fix: e.fix } : {};
    port.postMessage({ type: 'failed', error: { name: e.name, message: e.message, stack: e.stack, ...where } } satisfies WorkerMessage<R>);
  } finally {
    port.unref();
  }
}

/** How long `endWorker` waits for a thread to end by itself before terminating it. */
export const WORKER_EXIT_MS = 5000;

/**
 * On the main thread: lets a worker whose work is over end by itself, and terminates it only if it
 * has not within `ms`. Terminating a thread that holds ONNX Runtime sessions (every thread on the wasm
 * backend with the native products does) can throw from native code while the thread is torn down,
 * which aborts the whole process: seen once in `npm run bench`, closing a CNN shard helper.
 */
export async function endWorker(worker: Worker, ms = WORKER_EXIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms).unref())),
  ]);
  clearTimeout(timer);
  if (!ended) await worker.terminate();
}

/**
 * On the main thread: the result a worker reports ('done'), or its error ('failed', rebuilt as the same
 * kind; an 'error' event; an exit before either), settled once, after which the worker is ended
 * (`endWorker`). Its other messages go to `onMessage`. `what` names it in errors ("the learned
 * fusion's worker").
 */
export function workerResult<R, M extends { type: string } = WorkerMessage<R>>(worker: Worker, what: string, onMessage?: (message: M) => void): Promise<R> {
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
      void endWorker(worker);
    };
    worker.on('message', (message: M | WorkerMessage<R>) => {
      if (message.type === 'done') settle(() => resolvePromise((message as Extract<WorkerMessage<R>, { type: 'done' }>).result));
      else if (message.type === 'failed') settle(() => reject(workerError((message as Extract<WorkerMessage<R>, { type: 'failed' }>).error)));
      else onMessage?.(message as M);
    });
    worker.once('error', (error) => settle(() => reject(new Error(`${what} failed: ${error.message}`, { cause: error }))));
    worker.once('exit', (code) => settle(() => reject(new Error(`${what} stopped (exit code ${code}) before it finished`))));
  });
}

/** On the main thread: a worker's error as the error it was, its message prefixed with `title` when given. */
export function workerError(error: SerializedError, title?: string): Error {
  const text = title ? `${title}: ${error.message}` : error.message;
  return error.name === 'UserError'
    ? new UserError(text, { file: error.file, line: error.line, fix: error.fix })
    : Object.assign(new Error(text), { stack: error.stack });
}
