/**
 * The side effects a pipeline stage may have besides reading its inputs: logging, progress and the
 * clock. Stages take an `Effects` argument so tests can capture output and freeze time.
 */
export interface Effects {
  info(message: string): void;
  warn(message: string): void;
  /** Progress of long work: `done` of `total` units, with an optional short status. */
  progress(label: string, done: number, total: number, status?: string): void;
  now(): number;
}

/** Where consoleEffects' progress goes: a terminal's status line, or plain lines (CI, pipes). */
export interface ProgressOutput {
  interactive: boolean;
  /** Writes to stderr. */
  write(text: string): void;
  /** The terminal's width (interactive). */
  columns: number;
  now(): number;
}

const stderrOutput = (): ProgressOutput => ({
  interactive: Boolean(process.stderr.isTTY) && !process.env.CI,
  write: (text) => void process.stderr.write(text),
  columns: process.stderr.columns || 80,
  now: () => Date.now(),
});

/**
 * Effects that print. Progress: on a terminal, one status line with every unfinished label (two
 * stages may run at once: training and the strong models beside it), each finished one left on its
 * own line; in plain output, at most one line every 10 s per label, plus its last one.
 */
export function consoleEffects(output: ProgressOutput = stderrOutput()): Effects {
  const lastLine = new Map<string, number>();
  const unfinished = new Map<string, string>();
  return {
    info: (message) => console.log(message),
    warn: (message) => console.warn(`warning: ${message}`),
    now: () => Date.now(),
    progress(label, done, total, status = '') {
      const finished = done >= total;
      if (output.interactive) {
        const width = 24;
        const filled = total > 0 ? Math.round((width * done) / total) : width;
        const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${status}`.trimEnd();
        // A label keeps its place on the line while it runs.
        if (finished) {
          unfinished.delete(label);
          output.write(`\r${line}\x1b[K\n`);
        } else unfinished.set(label, line);
        if (unfinished.size > 0) output.write(`\r${[...unfinished.values()].join(' | ').slice(0, output.columns - 1)}\x1b[K`);
        return;
      }
      const now = output.now();
      const last = lastLine.get(label);
      if (finished || last === undefined || now - last > 10_000) {
        output.write(`${label}: ${done}/${total} ${status}`.trimEnd() + '\n');
        lastLine.set(label, now);
      }
      if (finished) lastLine.delete(label);
    },
  };
}

/** Effects that say nothing (helper threads whose results, not their lines, matter); the clock is real. */
export function quietEffects(): Effects {
  return { info: () => {}, warn: () => {}, progress: () => {}, now: () => Date.now() };
}

/** Effects that record everything, for tests. */
export function recordingEffects(start = 0): Effects & { lines: string[] } {
  const lines: string[] = [];
  let clock = start;
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warning: ${message}`),
    progress: () => {},
    now: () => clock++,
  };
}
