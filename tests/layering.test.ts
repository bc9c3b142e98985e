/**
 * The layering the folders promise, checked on the import statements of every tracked source file:
 * the site imports only the contract from the pipeline, the pipeline never imports the site, and
 * the pipeline's modules import each other without cycles.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from './helpers/fixture-build.ts';

const files = execFileSync('git', ['ls-files', 'pipeline', 'src'], { cwd: projectRoot, encoding: 'utf8' })
  .split('\n')
  .filter((file) => /\.(ts|mts|mjs|astro)$/.test(file));
const SPECIFIER = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;
/** file → the files it imports (relative specifiers, resolved against it). */
const imports = new Map(
  files.map((file) => [file, [...readFileSync(join(projectRoot, file), 'utf8').matchAll(SPECIFIER)].map((m) => normalize(join(dirname(file), m[1])))]),
);

test('the site imports from the pipeline only its contract (pipeline/lib/contract/)', () => {
  const wrong = [...imports].flatMap(([file, targets]) =>
    file.startsWith('src/') ? targets.filter((t) => t.startsWith('pipeline/') && !t.startsWith('pipeline/lib/contract/')).map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(wrong, []);
});

test('the pipeline never imports the site', () => {
  const wrong = [...imports].flatMap(([file, targets]) =>
    file.startsWith('pipeline/') ? targets.filter((t) => t.startsWith('src/')).map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(wrong, []);
});

test("the pipeline's modules import each other without cycles", () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const target of imports.get(file) ?? []) if (target.startsWith('pipeline/') && imports.has(target)) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of imports.keys()) if (file.startsWith('pipeline/')) visit(file, []);
  assert.deepEqual(cycles, []);
});

/** What `file` imports as values (type-only imports left out): resolved paths for relative specifiers, others as written. */
function valueImports(file: string): string[] {
  const VALUE_IMPORT = /^import\s+(?!type\b)[^;]*?from\s*['"]([^'"]+)['"]/gm;
  return [...readFileSync(join(projectRoot, file), 'utf8').matchAll(VALUE_IMPORT)].map((m) =>
    m[1].startsWith('.') ? normalize(join(dirname(file), m[1])) : m[1],
  );
}

test("stages use each other's results, not their orchestrators: a stage folder imports another's *-stage.ts for types only", () => {
  const STAGE_FOLDERS = ['data', 'train', 'gmu', 'analysis', 'ablations', 'explain', 'publish'].map((folder) => `pipeline/lib/${folder}/`);
  /** The stage folder a file is in (its workers' subfolders included). */
  const stageOf = (path: string) => path.split('/')[2];
  const wrong = files
    .filter((file) => STAGE_FOLDERS.some((folder) => file.startsWith(folder)))
    .flatMap((file) =>
      valueImports(file)
        .filter((target) => target.endsWith('-stage.ts') && stageOf(target) !== stageOf(file))
        .map((target) => `${file} → ${target}`),
    );
  assert.deepEqual(wrong, []);
});

test('pages load the data, components take props: no component imports an artifact loader', () => {
  const LOADERS = ['src/lib/artifacts', 'src/lib/report-charts', 'astro:content'];
  const wrong = files
    .filter((file) => file.startsWith('src/components/'))
    .flatMap((file) =>
      valueImports(file)
        .map((target) => target.replace(/\.ts$/, ''))
        .filter((target) => LOADERS.includes(target))
        .map((target) => `${file} → ${target}`),
    );
  assert.deepEqual(wrong, []);
});
