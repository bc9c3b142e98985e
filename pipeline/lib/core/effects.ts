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

const interactive = Boolean(process.stderr.isTTY) && !process.env.CI;

export function consoleEffects(): Effects {
  let lastLine = 0;
  let lastLabel = '';
  return {
    info: (message) => console.log(message),
    warn: (message) => console.warn(`warning: ${message}`),
    now: () => Date.now(),
    progress(label, done, total, status = '') {
      const finished = done >= total;
      if (interactive) {
        const width = 24;
        const filled = total > 0 ? Math.round((width * done) / total) : width;
        const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
        process.stderr.write(`\r${label} [${bar}] ${done}/${total} ${status}\x1b[K${finished ? '\n' : ''}`);
        return;
      }
      // Plain log lines (CI, pipes): at most one every 10 s per label, plus the last one.
      const now = Date.now();
      if (finished || label !== lastLabel || now - lastLine > 10_000) {
        console.error(`${label}: ${done}/${total} ${status}`.trimEnd());
        lastLine = now;
        lastLabel = label;
      }
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
