/** Typed access to the pipeline's artifacts for pages and components. */
import { getEntry } from 'astro:content';
import type { DatasetArtifact } from '../../pipeline/contract.ts';

export async function datasetArtifact(): Promise<DatasetArtifact> {
  const entry = await getEntry('dataset', 'current');
  if (!entry) throw new Error('genrelens: the dataset artifact is missing; run `npm run build`.');
  return entry.data as DatasetArtifact;
}

/** A site-internal link that honours Astro's `base` (GitHub Pages project sites). */
export function href(path: string): string {
  const base = import.meta.env.BASE_URL.replace(/\/$/, '');
  return `${base}/${path.replace(/^\//, '')}`;
}

export const formatInt = (n: number) => n.toLocaleString('en-GB');
export const formatPercent = (n: number, digits = 1) => `${(n * 100).toFixed(digits)}%`;
