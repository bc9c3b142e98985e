/**
 * `npm run bench:backbone`: does a pretrained image backbone pay, over the weight-free poster
 * features, for the strong poster model? The only candidate whose weights ship inside an npm package
 * is the MobileNetV2 of `nsfwjs` (ImageNet-initialised, fine-tuned from block 11 on for another
 * task; its own classes are never used here). This script loads it from the package folder, pools
 * three blocks' activations (block_9_add, block_12_add, block_15_add: less specialised than the
 * last layer) for every poster at 224 × 224, and compares by 5-fold cross-validation on the
 * training films only — out-of-fold loss and mAP of the strong poster model's logistic regression
 * on the weight-free features, on the backbone features, and on both — and what each does to the
 * stacked fusion with the overview model (its out-of-fold loss and mAP), with the time per poster.
 * nsfwjs is not a dependency: unpack it anywhere and pass its folder.
 *
 *   npm pack nsfwjs@4.4.0 && tar xzf nsfwjs-4.4.0.tgz
 *   npm run bench:backbone -- --nsfwjs package --dataset ../shared/datasets/imdb-multimodal
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../config.ts';
import { kFolds, selectRows } from '../analysis/analysis.ts';
import { loadConfiguredDataset, splitDataset } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { consoleEffects } from '../core/effects.ts';
import { selectBackend } from '../engine/backend.ts';
import { availableParallelism } from 'node:os';
import { fitTfidf } from '../contract/tfidf.ts';
import { crossValidateLogistic } from '../strong/cross-validation.ts';
import { stackInputs, stackRows } from '../strong/stacking.ts';
import { createPathPool } from '../strong/workers/path-pool.ts';
import { fitStandardisation, POSTER_FEATURE_NAMES, posterFeatures, standardise } from '../strong/poster-features.ts';
import { concatColumns, sparseFromDense, tfidfFeatures } from '../strong/sparse.ts';
import { STRONG_SETTINGS } from '../settings.ts';

const BLOCKS = ['block_9_add', 'block_12_add', 'block_15_add'];
const SIZE = 224;
const BATCH = 16;

const { values } = parseArgs({
  options: { nsfwjs: { type: 'string' }, dataset: { type: 'string' }, films: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help || !values.nsfwjs) {
  console.log('usage: npm run bench:backbone -- --nsfwjs <unpacked nsfwjs package folder> [--dataset <folder>] [--films <n, for a quick run>]');
  process.exit(values.help ? 0 : 1);
}
const modelDir = join(resolve(values.nsfwjs), 'dist', 'models', 'mobilenet_v2');
if (!existsSync(join(modelDir, 'model.min.js'))) {
  console.error(`genrelens: no MobileNetV2 in ${modelDir}\n  fix: npm pack nsfwjs@4.4.0 && tar xzf nsfwjs-4.4.0.tgz, then pass --nsfwjs package`);
  process.exit(1);
}

const effects = consoleEffects();
const backend = await selectBackend({ effects });
const require = createRequire(import.meta.url);
const modelJson = require(join(modelDir, 'model.min.js')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
const shard = require(join(modelDir, 'group1-shard1of1.min.js')) as string;
const bytes = Buffer.from(shard, 'base64');
const network = await tf.loadLayersModel(
  tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
    weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  }),
);
const pooled = tf.model({
  inputs: network.inputs,
  outputs: BLOCKS.map((name) => tf.layers.globalAveragePooling2d({}).apply(network.getLayer(name).output) as tf.SymbolicTensor),
});

const config = resolveConfig({ flags: { dataset: values.dataset ?? '../shared/datasets/imdb-multimodal', imageSize: SIZE, resizeKernel: 'linear' } });
const { dataset } = await loadConfiguredDataset(config, process.cwd(), effects);
const limit = values.films ? Number(values.films) : dataset.films.length;
const films = Math.min(limit, dataset.films.length);
const split = splitDataset(dataset, config);
const train = split.train.filter((r) => r < films);
const widths = pooled.outputs.map((o) => o.shape[1] as number);
const width = widths.reduce((a, b) => a + b, 0);
const features = new Float64Array(films * width);
const started = performance.now();
for (let start = 0; start < films; start += BATCH) {
  const count = Math.min(BATCH, films - start);
  const batch = tf.tidy(() =>
    tf
      .tensor4d(dataset.posterPixels.subarray(start * SIZE * SIZE * 3, (start + count) * SIZE * SIZE * 3), [count, SIZE, SIZE, 3], 'int32')
      .toFloat()
      .div(255),
  );
  const outs = pooled.predict(batch) as tf.Tensor[];
  const data = await Promise.all(outs.map((o) => o.data()));
  for (let i = 0; i < count; i++) {
    let at = (start + i) * width;
    data.forEach((d, k) => {
      for (let j = 0; j < widths[k]; j++) features[at++] = d[i * widths[k] + j];
    });
  }
  tf.dispose([batch, ...outs]);
  effects.progress('Backbone features', start + count, films);
}
const perPoster = (performance.now() - started) / films;

// The weight-free features of the same posters, at the size the strong poster model takes them (64).
const small = new Uint8Array(films * 64 * 64 * 3);
const sharp = (await import('sharp')).default;
for (let f = 0; f < films; f++) {
  const out = await sharp(Buffer.from(dataset.posterPixels.subarray(f * SIZE * SIZE * 3, (f + 1) * SIZE * SIZE * 3)), {
    raw: { width: SIZE, height: SIZE, channels: 3 },
  })
    .resize(64, 64, { kernel: 'nearest' })
    .raw()
    .toBuffer();
  small.set(out, f * 64 * 64 * 3);
}
const free = posterFeatures(small, films, 64);
const G = dataset.genres.length;
const y = Uint8Array.from(selectRows(filmLabels(dataset), G, train));
const folds = kFolds(train.length, STRONG_SETTINGS.folds, config.seed);
const rows = (values: Float64Array, columns: number) => {
  const s = fitStandardisation(values, columns, train);
  return sparseFromDense(standardise(values, columns, train, s), train.length, columns);
};
const sets = {
  'weight-free': rows(free, POSTER_FEATURE_NAMES.length),
  backbone: rows(features, width),
  both: concatColumns(rows(free, POSTER_FEATURE_NAMES.length), rows(features, width)),
};
console.log(`\nMobileNetV2 (nsfwjs) on ${backend.name}: ${perPoster.toFixed(1)} ms per poster at ${SIZE}², pooled ${BLOCKS.join(', ')} → ${width} features`);
console.log(
  `${STRONG_SETTINGS.folds}-fold cross-validation on ${train.length} training films (seed ${config.seed}); C from ${STRONG_SETTINGS.poster.cGrid.join(', ')}:`,
);
// The overview model's out-of-fold scores, as the strong stage computes them, for the stacking below.
const settings = STRONG_SETTINGS.text;
const vectorizer = fitTfidf(
  train.map((r) => dataset.films[r].overview),
  { wordNgrams: settings.wordNgrams, charNgrams: settings.charNgrams, minDf: settings.minDf },
);
const textRows = tfidfFeatures(
  vectorizer,
  train.map((r) => dataset.films[r].overview),
);
const pool = createPathPool(availableParallelism(), y, G);
pool.register('text', textRows);
const text = await crossValidateLogistic(pool.run, 'text', train.length, y, G, folds, settings.cGrid);
for (const [name, x] of Object.entries(sets)) {
  const t = performance.now();
  pool.register(name, x);
  const { cv } = await crossValidateLogistic(pool.run, name, train.length, y, G, folds, STRONG_SETTINGS.poster.cGrid);
  const best = cv.grid.find((p) => p.c === cv.c)!;
  const stack = stackRows(stackInputs([text.cv.outOfFold, cv.outOfFold], train.length, G), train.length, 2 * G).rows;
  pool.register(`${name}-stacked`, stack);
  const stacked = (await crossValidateLogistic(pool.run, `${name}-stacked`, train.length, y, G, folds, STRONG_SETTINGS.stacked.cGrid)).cv;
  const stackedBest = stacked.grid.find((p) => p.c === stacked.c)!;
  console.log(
    `  ${name.padEnd(12)} ${String(x.columns).padStart(4)} features: C ${cv.c}, out-of-fold BCE ${best.loss.toFixed(4)}, mAP ${best.meanAP?.toFixed(4)}; ` +
      `stacked with the overview model: BCE ${stackedBest.loss.toFixed(4)}, mAP ${stackedBest.meanAP?.toFixed(4)} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
}
await pool.close();
