/**
 * `<genrelens-demo>`: the live demo as a custom element (as Astro's ThemeToggle example wraps its
 * script), started when the page puts it in the document. Its configuration (genres, fusion weight,
 * model URLs) is the JSON of its `data-config` attribute.
 */
import { startDemo } from './demo.ts';

class GenrelensDemo extends HTMLElement {
  connectedCallback(): void {
    if (this.dataset.started) return;
    this.dataset.started = 'true';
    void startDemo(this);
  }
}

if (!customElements.get('genrelens-demo')) customElements.define('genrelens-demo', GenrelensDemo);
