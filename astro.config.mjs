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
    build: {
      rolldownOptions: {
        output: {
          // TensorFlow.js reaches the browser only on the live-demo page, by a dynamic import when the
          // page starts; as one chunk it is over 1 MB. One chunk per package (core, layers, each
          // backend) keeps every chunk under Vite's 500 kB advice and lets the browser fetch them at once.
          codeSplitting: {
            groups: [{ name: (id) => /node_modules[\\/]@tensorflow[\\/](tfjs-[a-z-]+)[\\/]/.exec(id)?.[1] ?? null }],
          },
        },
      },
    },
    // The pipeline's native/ML packages are build-time only; never bundle them for the browser.
    ssr: { external: ['sharp', '@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm'] },
  },
});
