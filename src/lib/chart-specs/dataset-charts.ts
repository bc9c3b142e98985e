/** The dataset page's charts (dataset.json): labels per genre, genre co-occurrence. */
import * as Plot from '@observablehq/plot';
import type { DatasetArtifact } from '../../../pipeline/lib/contract/contract.ts';
import type { ChartSpec, Row } from '../charts.ts';
import { FONT, WIDTH } from './common.ts';

/** Positive labels per genre, stacked by split. */
export function labelDistributionChart(dataset: DatasetArtifact): ChartSpec {
  const counts = dataset.labelCounts
    .map((row) => ({ ...row, total: row.train + row.validation }))
    .sort((a, b) => b.total - a.total || a.genre.localeCompare(b.genre));
  const data: Row[] = counts.flatMap((row) => [
    { genre: row.genre, split: 'train', films: row.train },
    { genre: row.genre, split: 'validation', films: row.validation },
  ]);
  const top = counts.slice(0, 2);
  const total = counts.reduce((sum, row) => sum + row.total, 0);
  const empty = counts.filter((row) => row.total === 0).map((row) => row.genre);
  return {
    id: 'dataset-label-distribution',
    source: ['dataset.json › labelCounts[].train, labelCounts[].validation'],
    title: 'Films per genre, by split',
    description:
      `Films labelled with each genre, split into training and validation films, most frequent first. ` +
      top.map((row) => `${row.genre}: ${row.total} (${total ? ((100 * row.total) / total).toFixed(0) : 0}% of all labels)`).join('; ') +
      '.' +
      (empty.length ? ` No film has ${empty.join(', ')}.` : ''),
    data,
    legend: [
      { label: 'train', color: 'var(--muted)' },
      { label: 'validation', color: 'var(--accent)' },
    ],
    plot: {
      width: WIDTH,
      height: 30 + counts.length * 20,
      marginLeft: 100,
      marginRight: 40,
      style: FONT,
      x: { label: null, grid: true, axis: 'top' },
      y: { label: null, domain: counts.map((row) => row.genre) },
      color: { domain: ['train', 'validation'], range: ['var(--muted)', 'var(--accent)'] },
      marks: [
        Plot.barX(data, Plot.stackX({ x: 'films', y: 'genre', fill: 'split', order: ['train', 'validation'] })),
        Plot.text(counts, { x: 'total', y: 'genre', text: (d: { total: number }) => String(d.total), textAnchor: 'start', dx: 4, fill: 'currentColor' }),
        Plot.ruleX([0], { stroke: 'currentColor' }),
      ],
    },
  };
}

/** Films sharing each pair of genres (genres with at least one film). */
export function cooccurrenceChart(dataset: DatasetArtifact): ChartSpec {
  const present = dataset.genres
    .map((genre, index) => ({ genre, index, films: dataset.cooccurrence[index]?.[index] ?? 0 }))
    .filter((g) => g.films > 0)
    .sort((a, b) => b.films - a.films || a.genre.localeCompare(b.genre));
  const data: Row[] = [];
  for (const a of present) for (const b of present) data.push({ genre: a.genre, with: b.genre, films: dataset.cooccurrence[a.index][b.index] });
  const off = data.filter((row) => row.genre !== row.with && (row.films as number) > 0);
  const max = Math.max(1, ...off.map((row) => row.films as number));
  const pairs = off.filter((row) => (row.genre as string) < (row.with as string)).sort((a, b) => (b.films as number) - (a.films as number));
  const strong = (row: Row) => (row.films as number) / max > 0.55;
  const diagonal = data.filter((row) => row.genre === row.with);
  const size = Math.max(18, Math.min(28, Math.floor(560 / Math.max(1, present.length))));
  return {
    id: 'dataset-cooccurrence',
    source: ['dataset.json › cooccurrence'],
    title: 'Genre co-occurrence',
    description:
      `How many films carry both genres of each pair (darker: more films), for the ${present.length} genres with any film; ` +
      `the diagonal (outlined) is the number of films with that genre. ` +
      (pairs.length
        ? `Most frequent pairs: ${pairs
            .slice(0, 3)
            .map((row) => `${row.genre} + ${row.with} (${row.films})`)
            .join(', ')}.`
        : 'No film has two genres.'),
    data,
    plot: {
      width: 130 + present.length * size,
      height: 110 + present.length * size,
      marginLeft: 100,
      marginBottom: 90,
      marginTop: 10,
      style: { fontSize: '11px' },
      x: { label: null, domain: present.map((g) => g.genre), tickRotate: -45, padding: 0.04 },
      y: { label: null, domain: present.map((g) => g.genre), padding: 0.04 },
      opacity: { domain: [0, max], range: [0.08, 1] },
      marks: [
        Plot.cell(off, { x: 'with', y: 'genre', fill: 'var(--accent)', fillOpacity: 'films' }),
        Plot.cell(diagonal, { x: 'with', y: 'genre', stroke: 'currentColor', fill: 'none', inset: 1 }),
        Plot.text(off.filter(strong), { x: 'with', y: 'genre', text: 'films', fill: 'var(--bg)', fontSize: 10 }),
        Plot.text([...off.filter((row) => !strong(row)), ...diagonal], { x: 'with', y: 'genre', text: 'films', fill: 'currentColor', fontSize: 10 }),
      ],
    },
  };
}
