/**
 * After the Astro build: copies `publicDir` (models, thumbnails) into `<outDir>/generated/`, so the
 * built site serves them under `<base>/generated/` whatever `--public-dir` is.
 */
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The folder of the built site that serves `publicDir`. */
export const GENERATED_DIR = 'generated';

/**
 * Copies `publicDir` into `<outDir>/generated/`. Skipped when `publicDir` is `<root>/public/generated`,
 * which Astro already copied there.
 */
export async function publishGeneratedFiles(publicDir: string, outDir: string, root: string): Promise<void> {
  const from = resolve(publicDir);
  if (from === resolve(root, 'public', GENERATED_DIR)) return;
  const to = join(resolve(outDir), GENERATED_DIR);
  await rm(to, { recursive: true, force: true });
  if (existsSync(from)) await cp(from, to, { recursive: true });
}
