/**
 * `npm run bench:backbone`: does the pretrained poster backbone (pipeline/lib/strong/backbone.ts: the
 * MobileNetV2 inside the optional package `nsfwjs`) pay, over the weight-free poster features, for the
 * strong poster model? It computes every poster's backbone features as the strong stage does (folded
 * network, at BACKBONE.inputSize unless --size), and compares by 5-fold cross-validation on the training films
 * only — out-of-fold loss and mAP of the strong poster model's logistic regression on the weight-free
 * features, on the backbone features, and on both — and what each does to the stacked fusion with
 * the overview model, with the time per poster; and the folded network's time against the network as
 * shipped, on the same random batches.
 *
 *   npm run bench:backbone -- --dataset ../shared/datasets/imdb-multimodal [--size 160] [--films 800]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config.ts';
import { kFolds, selectRows } from '../analysis/analysis.ts';
import { loadConfiguredDataset, splitDataset } from '../data/data-stage.ts';
import { filmLabels } from '../data/dataset.ts';
import { consoleEffects } from '../core/effects.ts';
import { selectBackend } from '../engine/backend.ts';
import { fitTfidf } from '../contract/tfidf.ts';
import { crossValidateLogistic } from '../strong/cross-validation.ts';
import { stackInputs, stackRows } from '../strong/stacking.ts';
import { createPathPool } from '../strong/workers/path-pool.ts';
import { fitStandardisation, POSTER_FEATURE_NAMES, posterFeatures, standardise } from '../strong/poster-features.ts';
import { concatColumns, sparseFromDense, tfidfFeatures } from '../strong/sparse.ts';
import * as tf from '@tensorflow/tfjs';
import { BACKBONE, loadBackboneNetwork } from '../strong/backbone.ts';
import { foldedNetwork } from '../strong/folded-network.ts';
import { BACKBONE_BATCH, backboneFeatures, datasetPosterFiles } from '../strong/backbone-features.ts';
import { STRONG_SETTINGS } from '../settings.ts';

const { values } = parseArgs({
  options: { dataset: { type: 'string' }, films: { type: 'string' }, size: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(`usage: npm run bench:backbone -- [--dataset <folder>] [--size <px, default ${BACKBONE.inputSize}>] [--films <n, for a quick run>]`);
  process.exit(0);
}
const size = values.size ? Number(values.size) : BACKBONE.inputSize;
/** The input size the shipped network's model.json fixes. */
const SHIPPED_INPUT = 224;

const effects = consoleEffects();
const backend = await selectBackend({ effects });

// Folded against shipped (whose input is fixed at 224²), in this thread: median ms per poster over 5 batches (after one warm-up).
{
  const { network } = await loadBackboneNetwork();
  const blocks = [...BACKBONE.blocks];
  const shipped = tf.model({ inputs: network.inputs, outputs: blocks.map((name) => network.getLayer(name).output as tf.SymbolicTensor) });
  const folded = foldedNetwork(network, blocks);
  const x = tf.randomUniform([BACKBONE_BATCH, SHIPPED_INPUT, SHIPPED_INPUT, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const median = (run: () => tf.Tensor[]) => {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = performance.now();
      const outs = run();
      outs.forEach((o) => o.dataSync());
      tf.dispose(outs);
      if (i > 0) times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[2] / BACKBONE_BATCH;
  };
  const a = median(() => shipped.predict(x) as tf.Tensor[]);
  const b = median(() => folded.apply(x));
  console.log(
    `network as shipped ${a.toFixed(1)} ms per poster, folded ${b.toFixed(1)} ms (${(a / b).toFixed(2)}×), batches of ${BACKBONE_BATCH} at ${SHIPPED_INPUT}², one thread`,
  );
  folded.dispose();
  network.dispose();
  x.dispose();
}
const config = resolveConfig({ flags: { dataset: values.dataset ?? '../shared/datasets/imdb-multimodal' } });
const { dataset } = await loadConfiguredDataset(config, process.cwd(), effects);
const limit = values.films ? Number(values.films) : dataset.films.length;
const films = Math.min(limit, dataset.films.length);
const split = splitDataset(dataset, config);
const train = split.train.filter((r) => r < films);
const started = performance.now();
const backbone = await backboneFeatures(
  datasetPosterFiles(
    dataset,
    Array.from({ length: films }, (_, i) => i),
  ),
  { workers: availableParallelism(), inputSize: size, progress: (done, total) => effects.progress('Backbone features (batches)', done, total) },
);
const perPoster = (performance.now() - started) / films;
const width = backbone.provenance.features;
const features = Float64Array.from(backbone.values);

// The weight-free features, as the strong stage computes them (the data stage's posters).
const free = posterFeatures(dataset.posterPixels.subarray(0, films * config.imageSize * config.imageSize * 3), films, config.imageSize);
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
const { provenance } = backbone;
console.log(
  `\n${provenance.model} (${provenance.package} ${provenance.version}) on ${backend.name}, ${availableParallelism()} threads: ` +
    `${perPoster.toFixed(1)} ms per poster (decoding included) at ${size}², pooled ${provenance.blocks.join(', ')} → ${width} features`,
);
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
