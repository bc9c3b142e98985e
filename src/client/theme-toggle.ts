/**
 * `<theme-toggle>`: the light/dark switch around the header's button (as Astro's ThemeToggle
 * example). The theme follows the system until the visitor picks one, which is remembered in
 * localStorage (an inline script in the layout applies it before the first paint).
 */
export const THEME_KEY = 'genrelens-theme';

/** Whether the page shows the dark theme: the one picked, else the system's. */
export function isDark(picked: string | undefined, systemDark: boolean): boolean {
  return picked ? picked === 'dark' : systemDark;
}

// Defined in a browser only (the rules above are also used by tests in Node).
if (typeof customElements !== 'undefined' && !customElements.get('theme-toggle')) {
  customElements.define(
    'theme-toggle',
    class extends HTMLElement {
      connectedCallback(): void {
        const button = this.querySelector<HTMLButtonElement>('button');
        if (!button || this.dataset.started) return;
        this.dataset.started = 'true';
        const root = document.documentElement;
        const dark = () => isDark(root.dataset.theme, matchMedia('(prefers-color-scheme: dark)').matches);
        const show = () => button.setAttribute('aria-pressed', String(dark()));
        button.hidden = false;
        show();
        button.addEventListener('click', () => {
          root.dataset.theme = dark() ? 'light' : 'dark';
          show();
          try {
            localStorage.setItem(THEME_KEY, root.dataset.theme);
          } catch {
            // Not remembered when storage is blocked.
          }
        });
      }
    },
  );
}
