/**
 * Compares two runs' outputs (artifacts and public folders) file by file, to show that a refactor
 * preserved behaviour: every file must be byte-identical, except that JSON files may differ in
 * timestamps and durations (`generatedAt`, and numbers under keys ending in `Ms`). Prints one line
 * per file and a summary; exits 1 when anything else differs.
 *
 *   node pipeline/lib/bench/compare-outputs.ts <before> <after>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from '../core/files.ts';

/** Timestamps and durations: they differ between any two runs. */
const VOLATILE = (key: string) => key === 'generatedAt' || /Ms$/.test(key);

function withoutVolatile(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVolatile);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !VOLATILE(key))
        .map(([key, v]) => [key, withoutVolatile(v)]),
    );
  }
  return value;
}

/** 'identical', 'same apart from timestamps and durations', or why they differ. */
export function compareFiles(a: Buffer, b: Buffer, name: string): { same: boolean; how: string } {
  if (a.equals(b)) return { same: true, how: 'identical' };
  if (name.endsWith('.json')) {
    try {
      const same = JSON.stringify(withoutVolatile(JSON.parse(a.toString('utf8')))) === JSON.stringify(withoutVolatile(JSON.parse(b.toString('utf8'))));
      if (same) return { same: true, how: 'same apart from timestamps and durations' };
    } catch {
      // not JSON after all: compared as bytes
    }
  }
  return { same: false, how: `DIFFERENT (${a.length} vs ${b.length} bytes)` };
}

if (import.meta.main) {
  const [before, after] = process.argv.slice(2);
  if (!before || !after) {
    console.error('usage: node pipeline/lib/bench/compare-outputs.ts <before> <after>');
    process.exit(2);
  }
  const names = [...new Set([...(await filesUnder(before)), ...(await filesUnder(after))])].sort();
  let different = 0;
  const counts = new Map<string, number>();
  for (const name of names) {
    let how: string;
    try {
      const result = compareFiles(readFileSync(join(before, name)), readFileSync(join(after, name)), name);
      how = result.how;
      if (!result.same) different++;
    } catch {
      how = 'MISSING on one side';
      different++;
    }
    const label = how.startsWith('DIFFERENT') || how.startsWith('MISSING') ? 'different' : how;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    if (how !== 'identical') console.log(`${name}: ${how}`);
  }
  console.log(`${names.length} files: ${[...counts].map(([how, n]) => `${n} ${how}`).join(', ')}`);
  process.exit(different === 0 ? 0 : 1);
}
