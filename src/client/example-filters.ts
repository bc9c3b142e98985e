/**
 * `<example-filters>`: filters the example cards by genre, outcome and whether the film is
 * explained, keeps the choice in the URL (`?genre=Drama&outcome=disagree`, so a view can be linked
 * and survives a reload) and counts what it shows. Each card carries what the filters read:
 * `data-genres` (|-separated), `data-outcome`, `data-explained`.
 */

export interface Filters {
  genre: string;
  /** An outcome id, or `disagree` for either model alone being right. */
  outcome: string;
  /** `'true'` for explained films only, else empty. */
  explained: string;
}

export interface CardFacts {
  genres: string[];
  outcome: string;
  explained: boolean;
}

/** Whether a card passes the filters (an empty filter passes every card). */
export function cardMatches(card: CardFacts, filters: Filters): boolean {
  const outcomeOk =
    !filters.outcome || (filters.outcome === 'disagree' ? card.outcome === 'cnn-only' || card.outcome === 'lstm-only' : card.outcome === filters.outcome);
  const explainedOk = !filters.explained || card.explained;
  return (!filters.genre || card.genres.includes(filters.genre)) && outcomeOk && explainedOk;
}

/** The query string that records the filters (empty when none is set). */
export function filtersQuery(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.genre) params.set('genre', filters.genre);
  if (filters.outcome) params.set('outcome', filters.outcome);
  if (filters.explained) params.set('explained', filters.explained);
  return params.toString();
}

/** The line that counts the cards shown. */
export function countText(shown: number, total: number): string {
  return shown === total ? `Showing all ${total} films.` : `Showing ${shown} of ${total} films.`;
}

// Defined in a browser only (the rules above are also used by tests in Node).
if (typeof customElements !== 'undefined' && !customElements.get('example-filters')) {
  customElements.define(
    'example-filters',
    class extends HTMLElement {
      connectedCallback(): void {
        const form = this.querySelector<HTMLFormElement>('form');
        const count = form?.querySelector('output');
        if (!form || !count || this.dataset.started) return;
        this.dataset.started = 'true';
        const cards = [...document.querySelectorAll<HTMLElement>(this.dataset.cards ?? '#films .film')];
        const none = document.querySelector<HTMLElement>('.no-match');
        const select = (name: keyof Filters) => form.elements.namedItem(name) as HTMLSelectElement;
        const filters = (): Filters => ({ genre: select('genre').value, outcome: select('outcome').value, explained: select('explained').value });
        const facts = (card: HTMLElement): CardFacts => ({
          genres: (card.dataset.genres ?? '').split('|'),
          outcome: card.dataset.outcome ?? '',
          explained: card.dataset.explained === 'true',
        });
        const apply = () => {
          const chosen = filters();
          let shown = 0;
          for (const card of cards) {
            const visible = cardMatches(facts(card), chosen);
            card.hidden = !visible;
            if (visible) shown++;
          }
          count.textContent = countText(shown, cards.length);
          if (none) none.hidden = shown > 0;
          const query = filtersQuery(chosen);
          history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
        };
        // Filters survive a reload and can be linked.
        const initial = new URLSearchParams(location.search);
        for (const name of ['genre', 'outcome', 'explained'] as const) {
          const value = initial.get(name);
          if (value && [...select(name).options].some((o) => o.value === value)) select(name).value = value;
        }
        form.addEventListener('change', apply);
        form.addEventListener('reset', () => setTimeout(apply));
        form.addEventListener('submit', (event) => event.preventDefault());
        form.hidden = false;
        if (initial.has('genre') || initial.has('outcome') || initial.has('explained')) apply();
      }
    },
  );
}
