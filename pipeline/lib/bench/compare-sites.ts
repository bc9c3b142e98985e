/**
 * Compares two builds of the site from the same artifacts, page by page, to show that a redesign of
 * the site kept what it shows: each page's text content (whitespace collapsed; the `.source` lines
 * that name a figure's artifact field are listed apart, as they are new) and every chart's data
 * download (`charts/*.csv|json`, byte for byte). Prints one line per page or file and a summary;
 * exits 1 when anything else differs.
 *
 *   node pipeline/lib/bench/compare-sites.ts <before dist> <after dist>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { filesUnder } from '../core/files.ts';

/** A page's visible text, whitespace collapsed, without its source lines; and the source lines. */
export function pageText(html: string): { text: string; sources: string[] } {
  const { document } = parseHTML(html);
  for (const element of document.querySelectorAll('script, style, template')) element.remove();
  const sources = [...document.querySelectorAll('.source')].map((element) => (element.textContent ?? '').replace(/\s+/g, ' ').trim());
  for (const element of document.querySelectorAll('.source')) element.remove();
  return { text: (document.body?.textContent ?? '').replace(/\s+/g, ' ').trim(), sources };
}

/** The first place two texts differ, with some context. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at character ${i}: before «${a.slice(Math.max(0, i - 60), i + 60)}» after «${b.slice(Math.max(0, i - 60), i + 60)}»`;
}

if (import.meta.main) {
  const [before, after] = process.argv.slice(2);
  if (!before || !after) {
    console.error('usage: node pipeline/lib/bench/compare-sites.ts <before dist> <after dist>');
    process.exit(2);
  }
  const compared = (name: string) => name.endsWith('.html') || /^charts\/.*\.(csv|json)$/.test(name);
  const names = [...new Set([...(await filesUnder(before)), ...(await filesUnder(after))])].filter(compared).sort();
  let different = 0;
  let sourceLines = 0;
  for (const name of names) {
    let a: Buffer;
    let b: Buffer;
    try {
      a = readFileSync(join(before, name));
      b = readFileSync(join(after, name));
    } catch {
      console.log(`${name}: MISSING on one side`);
      different++;
      continue;
    }
    if (!name.endsWith('.html')) {
      if (!a.equals(b)) {
        console.log(`${name}: DIFFERENT data`);
        different++;
      }
      continue;
    }
    const was = pageText(a.toString('utf8'));
    const now = pageText(b.toString('utf8'));
    const added = now.sources.length - was.sources.length;
    sourceLines += added;
    if (was.text === now.text) console.log(`${name}: same text${added ? ` (+${added} source lines)` : ''}`);
    else {
      console.log(`${name}: DIFFERENT text ${firstDifference(was.text, now.text)}`);
      different++;
    }
  }
  const pages = names.filter((name) => name.endsWith('.html')).length;
  console.log(`${pages} pages and ${names.length - pages} chart data files compared: ${different} different; ${sourceLines} source lines added`);
  process.exit(different === 0 ? 0 : 1);
}
