// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

// GitHub Pages: set GENRELENS_SITE (e.g. https://user.github.io) and GENRELENS_BASE (e.g. /repo/).
export default defineConfig({
  site: process.env.GENRELENS_SITE || undefined,
  base: process.env.GENRELENS_BASE || '/',
  trailingSlash: 'ignore',
  integrations: [mdx()],
  vite: {
    // The pipeline's native/ML packages are build-time only; never bundle them for the browser.
    ssr: { external: ['sharp', '@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'] },
  },
});
