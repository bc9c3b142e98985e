/**
 * Drawing one demo section (a model or a fusion): its ranked genres as bars, or the note saying
 * what it needs, or an error. Every probability is also in the DOM at full precision
 * (`data-probabilities` on the section, `data-probability` on each genre), for tests.
 */
import { formatProbability, rankGenres } from '../../lib/demo.ts';

/** The section's ranked genres (`probabilities` in `genres` order), or its idle note when there are none. */
export function showProbabilities(section: HTMLElement, genres: readonly string[], probabilities: number[] | null, threshold: number, note?: string): void {
  const statusLine = section.querySelector<HTMLElement>('.demo-model-status')!;
  const list = section.querySelector<HTMLOListElement>('.demo-bars')!;
  statusLine.classList.remove('demo-error');
  if (!probabilities) {
    delete section.dataset.probabilities;
    section.dataset.state = 'idle';
    statusLine.textContent = note ?? statusLine.dataset.needs ?? '';
    list.replaceChildren();
    return;
  }
  section.dataset.probabilities = JSON.stringify(probabilities);
  section.dataset.state = 'done';
  const ranked = rankGenres([...genres], probabilities, threshold);
  statusLine.textContent =
    note ??
    `Top 3: ${ranked
      .slice(0, 3)
      .map((r) => `${r.genre} ${formatProbability(r.probability)}`)
      .join(', ')}.`;
  const document = section.ownerDocument;
  list.replaceChildren(
    ...ranked.map((r) => {
      const li = document.createElement('li');
      li.className = r.top3 ? 'top3' : '';
      if (r.predicted) li.classList.add('predicted');
      li.dataset.genre = r.genre;
      li.dataset.probability = String(r.probability);
      const name = document.createElement('span');
      name.className = 'demo-genre';
      name.textContent = r.genre;
      const bar = document.createElement('span');
      bar.className = 'demo-bar';
      const fill = document.createElement('span');
      fill.style.width = `${Math.max(0, Math.min(1, r.probability)) * 100}%`;
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'demo-value';
      value.textContent = formatProbability(r.probability);
      li.append(name, bar, value);
      li.title = `${r.genre}: ${r.probability}${r.predicted ? ` (above the ${threshold} threshold)` : ''}`;
      return li;
    }),
  );
}

/** The section is computing: `text` says what. */
export function showRunning(section: HTMLElement, text: string): void {
  section.dataset.state = 'running';
  section.querySelector<HTMLElement>('.demo-model-status')!.textContent = text;
}

/** The section failed: `text` says why (capitalised), its bars are cleared. */
export function showError(section: HTMLElement, text: string): void {
  section.dataset.state = 'error';
  delete section.dataset.probabilities;
  const line = section.querySelector<HTMLElement>('.demo-model-status')!;
  line.textContent = text.charAt(0).toUpperCase() + text.slice(1);
  line.classList.add('demo-error');
  section.querySelector('.demo-bars')?.replaceChildren();
}
