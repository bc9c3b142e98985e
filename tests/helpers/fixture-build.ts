/**
 * A throw-away workspace for tests that run the real CLI end to end (data stage, one epoch of
 * training, site build) on a generated dataset, without touching the repository's own folders.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface FixtureWorkspace {
  work: string;
  dataset: string;
  cache: string;
  artifacts: string;
  public: string;
  out: string;
}

export function fixtureWorkspace(prefix: string): FixtureWorkspace {
  const work = mkdtempSync(join(tmpdir(), prefix));
  return {
    work,
    dataset: join(work, 'films'),
    cache: join(work, 'cache'),
    artifacts: join(work, 'artifacts'),
    public: join(work, 'public'),
    out: join(work, 'dist'),
  };
}

/** Flags pointing every output of the CLI into the workspace; one short epoch, short sequences. */
export function fixtureFlags(paths: FixtureWorkspace): string[] {
  return [
    '--dataset',
    paths.dataset,
    '--cache-dir',
    paths.cache,
    '--artifacts-dir',
    paths.artifacts,
    '--public-dir',
    paths.public,
    '--out-dir',
    paths.out,
    '--epochs',
    '1',
    '--sequence-length',
    '24',
  ];
}

/** Runs `node pipeline/cli.ts ...args` from the project root, with CI-style (plain) progress. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return promisify(execFile)(process.execPath, ['pipeline/cli.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, CI: 'true', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Writes rows (as csv-parse `columns: true` returns them) back as a CSV with standard quoting. */
export function writeCsvRows(file: string, header: string, rows: Record<string, string>[]): void {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  writeFileSync(file, [header, ...rows.map((row) => Object.values(row).map(quote).join(','))].join('\n') + '\n');
}
