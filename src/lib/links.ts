/** Links inside the built site, which may be served under a base path (GitHub Pages project sites). */

/** A site-internal link that honours Astro's `base` (GitHub Pages project sites). */
export function href(path: string): string {
  const base = import.meta.env.BASE_URL.replace(/\/$/, '');
  return `${base}/${path.replace(/^\//, '')}`;
}

/** A file the pipeline published (models, thumbnails): served under `<base>/generated/`. */
export const generatedHref = (path: string) => href(`generated/${path.replace(/^\//, '')}`);
