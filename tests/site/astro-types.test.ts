/**
 * Type-checks the TypeScript inside the site's .astro files: each file's frontmatter and its
 * <script> blocks, with `Astro` typed by the file's own `Props`, by tsc with the project's strict
 * settings. `astro check` would do this and the templates too, but it needs TypeScript 5 or 6 and
 * the Go compiler's TSX output, which this project's TypeScript 7 and Astro 7 (whose Rust compiler
 * has no `convertToTSX`) do not offer; the template expressions stay unchecked here. The .ts files
 * under src/ are checked by `tsc` in `npm test` itself.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../helpers/fixture-build.ts';

const OUT = join(projectRoot, '.cache', 'astro-types');

/** The TypeScript of one .astro file as modules of their own (the frontmatter, then each script), relative imports pointing back at src/. */
export function astroToTypeScript(source: string, file: string, outFile: string): string[] {
  const frontmatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(source)?.[1] ?? '';
  const scripts = [...source.matchAll(/<script(?![^>]*is:inline)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  const fromHere = relative(dirname(outFile), dirname(file));
  const repoint = (code: string) =>
    code.replace(
      /(from\s*|import\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g,
      (_, head, quote, path) => `${head}${quote}${join(fromHere, path).replace(/^(?!\.)/, './')}${quote}`,
    );
  const props = /\binterface Props\b/.test(frontmatter) ? 'Props' : 'Record<string, unknown>';
  return [
    ['/// <reference types="astro/client" />', `declare const Astro: import('astro').AstroGlobal<${props}>;`, repoint(frontmatter), 'export {};'].join('\n'),
    // Each script is a module of its own in the browser.
    ...scripts.map((code) => `${repoint(code)}\nexport {};`),
  ];
}

test("the TypeScript in every .astro file type-checks (frontmatter and scripts, with the file's Props)", () => {
  const files = execFileSync('git', ['ls-files', 'src'], { cwd: projectRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file.endsWith('.astro'));
  assert.ok(files.length > 20, `found ${files.length} .astro files`);
  rmSync(OUT, { recursive: true, force: true });
  const generated: string[] = [];
  for (const file of files) {
    const outFile = join(OUT, `${file}.ts`);
    mkdirSync(dirname(outFile), { recursive: true });
    astroToTypeScript(readFileSync(join(projectRoot, file), 'utf8'), resolve(projectRoot, file), outFile).forEach((code, i) => {
      const name = i === 0 ? outFile : outFile.replace(/\.ts$/, `.script${i}.ts`);
      writeFileSync(name, code);
      generated.push(name);
    });
  }
  // Components are typed by their own checked frontmatter; an import of one gives a component of any props.
  const declarations = join(OUT, 'astro-modules.d.ts');
  writeFileSync(declarations, "declare module '*.astro' {\n  const Component: (props: Record<string, unknown>) => unknown;\n  export default Component;\n}\n");
  generated.push(declarations);
  writeFileSync(
    join(OUT, 'tsconfig.json'),
    JSON.stringify({
      extends: join(projectRoot, 'tsconfig.json'),
      // Names used only by the template (not checked here) are not unused.
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false, noEmit: true },
      // `files`, not `include`: the project excludes .cache/, and `[model].astro` is not a glob.
      files: generated,
      include: [],
    }),
  );
  const tsc = spawnSync(join(projectRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(OUT, 'tsconfig.json')], { cwd: projectRoot, encoding: 'utf8' });
  const report = `${tsc.stdout}${tsc.stderr}`.replaceAll(`${OUT}/`, '').replace(/\.astro(\.script\d+)?\.ts/g, '.astro$1');
  assert.equal(tsc.status, 0, `type errors in .astro files:\n${report}`);
});
