/**
 * Every setting genrelens' results depend on, in one place, one commented line each (as nanoGPT's
 * train.py opens). Two parts:
 * 1. The user's settings (genrelens.config.json < GENRELENS_DATASET < command-line flags): the config
 *    schema with its defaults, the flags and the --help lines are all generated from USER_SETTINGS.
 * 2. The method's fixed constants (schedules, decision threshold, grids, folds, model dimensions),
 *    which the stages import from here.
 * Cache versions are not here: each lives beside the code whose output it invalidates.
 */
import { z } from 'zod';
import { ABLATION_IDS, type ModelKind } from './contract/contract.ts';

export const RESIZE_KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;
export const PROFILES = ['coursework', 'quick'] as const;
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** Training losses (pipeline/lib/train/losses.ts); `bce` is the coursework's. */
export const LOSSES = ['bce', 'class-weighted-bce', 'focal'] as const;
export type Profile = (typeof PROFILES)[number];
export type LossName = (typeof LOSSES)[number];
export type AblationId = (typeof ABLATION_IDS)[number];

// ---------------------------------------------------------------------------------------------
// 1. The user's settings

/** How a setting is given on the command line: its value's kind and, for --help, its argument and text. */
interface Flag {
  /** `number`/`string`: --flag <value>; `switch`: --flag turns it on; `off-switch`: --flag turns it off; `list`: a,b or "all". */
  kind: 'number' | 'string' | 'switch' | 'off-switch' | 'list';
  /** The flag without its dashes, when it is not the setting's name in kebab case. */
  name?: string;
  /** The argument's name in --help, e.g. `<n>`. */
  arg?: string;
  /** The --help text; "(default …)" is appended from the schema unless `defaultText` says otherwise. */
  help: string;
  /** What --help says the default is, when the schema has none or it needs words. */
  defaultText?: string;
}

interface Setting<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Absent: settable in the config file only. */
  flag?: Flag;
}

const setting = <S extends z.ZodType>(schema: S, flag?: Flag): Setting<S> => ({ schema, flag });

export const USER_SETTINGS = {
  /** Dataset folder in the coursework layout. Unset: data/Multimodal_IMDB_dataset/, else demo data. */
  dataset: setting(z.string().min(1).optional(), {
    kind: 'string',
    arg: '<folder>',
    help: 'dataset in the coursework layout (IMDB_overview_genres.csv + Images/)',
  }),
  /** Seed for the split, weight initialisation, dropout and shuffling. */
  seed: setting(
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    { kind: 'number', arg: '<n>', help: 'seed for split, initialisation and shuffling' },
  ),
  /** Share of films held out for validation, stratified by genre. */
  validationFraction: setting(z.number().gt(0).lt(1).default(0.2), { kind: 'number', arg: '<f>', help: 'validation share, stratified' }),
  /** Poster input side in pixels (the coursework's 64). */
  imageSize: setting(z.number().int().min(8).max(512).default(64), { kind: 'number', arg: '<px>', help: 'poster input size' }),
  /** Keras `load_img(target_size=…)` resizes with nearest-neighbour; so does the coursework. */
  resizeKernel: setting(z.enum(RESIZE_KERNELS).default('nearest'), {
    kind: 'string',
    arg: '<k>',
    help: `${RESIZE_KERNELS.join(' | ')}`,
    defaultText: 'nearest, as Keras load_img',
  }),
  /** Posters larger than this (width × height) are rejected before decoding. */
  maxPosterPixels: setting(z.number().int().positive().default(50_000_000), { kind: 'number', arg: '<n>', help: 'reject larger posters before decoding' }),
  /** Vocabulary size, including '' and [UNK] (Keras TextVectorization's max_tokens). */
  maxTokens: setting(z.number().int().min(3).default(10_000), { kind: 'number', arg: '<n>', help: "vocabulary size incl. '' and [UNK]" }),
  /** Tokens per overview (Keras TextVectorization's output_sequence_length). */
  sequenceLength: setting(z.number().int().min(1).max(2000).default(100), { kind: 'number', arg: '<n>', help: 'tokens per overview' }),
  /**
   * `coursework`: the coursework's full schedule; `quick`: a few epochs, for CI and the demo data.
   * Unset: `quick` on the demo dataset, `coursework` on real data.
   */
  profile: setting(z.enum(PROFILES).optional(), {
    kind: 'string',
    arg: '<p>',
    help: `${PROFILES.join(' | ')}: the schedules of PROFILE_SCHEDULES`,
    defaultText: 'quick on the demo data, coursework on real data',
  }),
  /** Override the profile's epochs for both models. */
  epochs: setting(z.number().int().positive().optional(), { kind: 'number', arg: '<n>', help: "override the profile's epochs" }),
  /** Force a backend instead of the best that loads. */
  backend: setting(z.enum(BACKENDS).optional(), {
    kind: 'string',
    arg: '<b>',
    help: `force a backend: ${BACKENDS.join(' | ')}`,
    defaultText: 'the best that loads',
  }),
  /** Ignore cached trained models. */
  retrain: setting(z.boolean().default(false), { kind: 'switch', help: 'ignore cached trained models' }),
  /** Training loss of both models (pipeline/lib/train/losses.ts). */
  loss: setting(z.enum(LOSSES).default('bce'), {
    kind: 'string',
    arg: '<l>',
    help: `training loss: ${LOSSES.join(' | ')}`,
    defaultText: "bce, the coursework's",
  }),
  /** Random mirror and shifts of the CNN's training posters (pipeline/lib/train/poster-augmentation.ts). */
  posterAugmentation: setting(z.boolean().default(false), { kind: 'switch', help: "mirror and shift the CNN's training posters at random" }),
  /**
   * Stop a model's training once its validation loss has not improved for this many epochs (the
   * kept weights are its best epoch's, as always). Unset: the whole schedule.
   */
  earlyStoppingPatience: setting(z.number().int().min(1).max(1000).optional(), {
    kind: 'number',
    name: 'early-stopping',
    arg: '<patience>',
    help: 'stop a model after this many epochs without a better validation loss',
    defaultText: 'off',
  }),
  /** Ablations to train and report beside the main run; none by default (each retrains models). */
  ablations: setting(z.array(z.enum(ABLATION_IDS)).default([]), {
    kind: 'list',
    arg: '<list>',
    help: `also train and report these ablations, comma-separated, or "all": ${ABLATION_IDS.join(', ')}`,
    defaultText: 'none',
  }),
  /**
   * Train the two models at the same time, each in its own worker thread (the wasm and cpu
   * backends use one core each), and give the CNN's shards the cores that fall free. Off, or on a
   * one-core machine: one after the other, in one thread.
   */
  parallel: setting(z.boolean().default(true), {
    kind: 'off-switch',
    name: 'sequential',
    help: 'train the models one after the other',
    defaultText: 'both at once, a core each',
  }),
  /**
   * The poster CNN's batches are split into this many shards, each shard's gradient computed on its
   * own (the batch's gradient is their films-weighted mean; pipeline/lib/train/sharded-steps.ts). With
   * `parallel`, a shard runs in a helper thread once a core is free, which changes no number. Part of
   * the training key; 1 (whole batches) keeps the key runs had before sharding existed. No shard is
   * smaller than MIN_SHARD_POSTERS posters (the quick profile's batches of 16 train whole).
   */
  cnnShards: setting(z.number().int().min(1).max(8).default(2), {
    kind: 'number',
    arg: '<n>',
    help: "split the CNN's batches into n shards (a free core computes one)",
  }),
  /** The strong profile: linear models on TF-IDF and poster features, and their stacked fusion (pipeline/lib/strong/). */
  strongModels: setting(z.boolean().default(true), {
    kind: 'off-switch',
    name: 'no-strong',
    help: 'skip the strong models (TF-IDF and poster-feature linear models, stacked fusion)',
    defaultText: 'on',
  }),
  /**
   * The strong poster model takes a pretrained backbone's features instead of the weight-free ones
   * (pipeline/lib/strong/backbone.ts: the MobileNetV2 inside the optional package nsfwjs). Unset: on for
   * real data when the package is installed, off for the demo data (its synthetic posters need no
   * pretrained features, and its build stays short).
   */
  posterBackbone: setting(z.enum(['on', 'off']).optional(), {
    kind: 'string',
    arg: '<on|off>',
    help: "the strong poster model's pretrained backbone (MobileNetV2 from the optional package nsfwjs, about 11 ms per poster on 2 cores, once)",
    defaultText: 'on for real data when nsfwjs is installed, off on the demo data',
  }),
  /**
   * A folder in the coursework layout to score every classifier on after the analysis, with the
   * decisions fixed on the training films: the Test set page (pipeline/lib/analysis/evaluate.ts).
   */
  testSet: setting(z.string().min(1).optional(), {
    kind: 'string',
    arg: '<folder>',
    help: 'also score every classifier on this held-out folder (a Test set page)',
    defaultText: 'none',
  }),
  /** The explain stage explains the curated example films plus the first this many validation films. */
  explainFilms: setting(z.number().int().min(0).max(1_000_000).default(48), {
    kind: 'number',
    arg: '<n>',
    help: 'validation films explained besides the curated examples (about 1 s each)',
  }),
  /** How many films the generated demo dataset has. */
  demoFilms: setting(z.number().int().min(20).max(100_000).default(600), { kind: 'number', arg: '<n>', help: 'size of the generated demo dataset' }),
  /** Cached posters, trained models, fusions and explanations. */
  cacheDir: setting(z.string().default('.cache/genrelens'), { kind: 'string', arg: '<folder>', help: 'cache' }),
  /** Where the pipeline writes the artifacts the site reads (the data contract). */
  artifactsDir: setting(z.string().default('src/content/artifacts'), {
    kind: 'string',
    arg: '<folder>',
    help: 'where the pipeline writes the JSON the site reads',
  }),
  /** Where the pipeline writes files served as-is by the site (models, thumbnails). */
  publicDir: setting(z.string().default('public/generated'), {
    kind: 'string',
    arg: '<folder>',
    help: 'where trained models and thumbnails are published for the site',
  }),
  /** Where the built static site goes. */
  outDir: setting(z.string().default('dist'), { kind: 'string', arg: '<folder>', help: 'built site' }),
};

type SettingKey = keyof typeof USER_SETTINGS;

export const ConfigSchema = z
  .object(
    Object.fromEntries(Object.entries(USER_SETTINGS).map(([key, s]) => [key, s.schema])) as {
      [K in SettingKey]: (typeof USER_SETTINGS)[K]['schema'];
    },
  )
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** The command-line flag of a setting (with its dashes). */
export function flagOf(key: string): string {
  const flag = (USER_SETTINGS as Record<string, Setting>)[key]?.flag;
  return `--${flag?.name ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** parseArgs options for every setting that has a flag. */
export function settingOptions(): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(
    Object.entries(USER_SETTINGS as Record<string, Setting>)
      .filter(([, s]) => s.flag)
      .map(([key, s]) => [flagOf(key).slice(2), { type: s.flag!.kind === 'switch' || s.flag!.kind === 'off-switch' ? 'boolean' : 'string' }]),
  );
}

/**
 * The settings given on the command line, from parseArgs' values: numbers parsed (`number(flag,
 * text)` throws the user's error), switches as true, off-switches as false, lists split.
 */
export function settingsFromFlags(values: Record<string, string | boolean | undefined>, number: (flag: string, text: string) => number): ConfigInput {
  const flags: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(USER_SETTINGS as Record<string, Setting>)) {
    if (!s.flag) continue;
    const name = flagOf(key).slice(2);
    const value = values[name];
    if (value === undefined) continue;
    switch (s.flag.kind) {
      case 'number':
        flags[key] = number(name, String(value));
        break;
      case 'string':
        flags[key] = value;
        break;
      case 'switch':
        if (value) flags[key] = true;
        break;
      case 'off-switch':
        if (value) flags[key] = false;
        break;
      case 'list':
        flags[key] =
          String(value).trim() === 'all'
            ? [...ABLATION_IDS]
            : String(value)
                .split(',')
                .map((item) => item.trim())
                .filter(Boolean);
        break;
    }
  }
  return flags as ConfigInput;
}

/** The --help lines of the settings' flags, in USER_SETTINGS order, aligned at `column`, wrapped at `width`. */
export function settingsHelp(column = 32, width = 104): string[] {
  const lines: string[] = [];
  for (const [key, s] of Object.entries(USER_SETTINGS as Record<string, Setting>)) {
    if (!s.flag) continue;
    const head = `  ${flagOf(key)}${s.flag.arg ? ` ${s.flag.arg}` : ''}`;
    const fallback = s.schema.safeParse(undefined);
    const defaultValue = fallback.success && fallback.data !== undefined && s.flag.kind !== 'switch' ? String(fallback.data) : undefined;
    const defaultText = s.flag.defaultText ?? defaultValue;
    const text = wrap(`${s.flag.help}${defaultText ? ` (default ${defaultText})` : ''}`, width - column).join(`\n${' '.repeat(column)}`);
    lines.push(head.length < column ? head.padEnd(column) + text : `${head}\n${' '.repeat(column)}${text}`);
  }
  return lines;
}

/** `text` cut at spaces into lines of at most `width` characters (a longer word keeps its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

// ---------------------------------------------------------------------------------------------
// 2. The method's constants

/** A genre is predicted when its probability is above this, wherever a fixed threshold is used (the coursework's). */
export const DECISION_THRESHOLD = 0.5;

/** Epochs, batch size and learning rate of one model in one profile. */
export interface ProfileSchedule {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

/**
 * `coursework`: the coursework's schedules (Adam 1e-4, batches of 64). `quick`: the same models, with
 * enough steps at a high enough rate to learn the demo data's cues (about 45 s of training here, the
 * two at once; the CNN's last epochs run alone). Measured on the demo data: with 3 and
 * 2 epochs of the coursework's schedule both stayed at the label priors, below "always Drama +
 * Comedy"; at 1e-3 the CNN leaves the priors only after 100-200 steps and passes Drama + Comedy's
 * 0.391 micro F1 for good only from its 7th epoch (0.529, 0.434, 0.499, 0.560, then 0.587 at the 11th;
 * on so few films the figure moves with float rounding: 0.632 with float32 bias-gradient sums and two
 * shards per batch, 0.592 with double-precision sums; 2e-3 was
 * noisier and lower, 3e-3 did not learn, batches of 8 or 32 learnt less per second), and the BiLSTM needs 3e-3 (5e-3 and 1e-2 did not learn) and
 * reaches 0.539 at its 7th epoch.
 */
export const PROFILE_SCHEDULES: Record<Profile, Record<ModelKind, ProfileSchedule>> = {
  coursework: {
    cnn: { epochs: 40, batchSize: 64, learningRate: 1e-4 },
    lstm: { epochs: 20, batchSize: 64, learningRate: 1e-4 },
  },
  quick: {
    cnn: { epochs: 11, batchSize: 16, learningRate: 1e-3 },
    lstm: { epochs: 7, batchSize: 32, learningRate: 3e-3 },
  },
};

/**
 * A CNN shard has at least this many posters: with fewer, a shard's step is mostly fixed costs. On the
 * demo's batches of 16, two shards with a helper thread took 3.4–3.9 s per epoch, whole batches in one
 * thread 2.5–3.1 s; the demo build took 75.2 s against 72.3 s (medians of three alternating runs).
 */
export const MIN_SHARD_POSTERS = 16;

/** The coursework's learning-rate scheduler: the rate is constant for this many epochs… */
export const CONSTANT_EPOCHS = 10;
/** …then multiplied by exp(−this) each epoch. */
export const DECAY_PER_EPOCH = 0.01;
/** LSTM batches are grouped by overview length within pools of this many batches (pipeline/lib/train/batching.ts). */
export const LENGTH_POOL_BATCHES = 16;
/** Early stopping's patience in the `early-stopping` ablation when `earlyStoppingPatience` is unset. */
export const DEFAULT_PATIENCE = 3;
/** The focal loss's α (weight of positives) and γ (focusing), as in Lin et al. 2017. */
export const FOCAL_ALPHA = 0.25;
export const FOCAL_GAMMA = 2;
/** Poster augmentation shifts by up to this fraction of the side, each way. */
export const SHIFT_FRACTION = 0.1;

/** The coursework CNN: a stride-2 conv, three blocks of two 3×3 convs + pooling, two dense layers. */
export const CNN_DIMENSIONS = {
  /** Filters of the first (stride-2) convolution. */
  stemFilters: 16,
  /** Filters of each block's two convolutions. */
  blockFilters: [32, 64, 128],
  /** Dropout after the stem and after each block's convolutions. */
  convDropout: 0.2,
  /** Units of each of the two hidden dense layers. */
  denseUnits: 1024,
  /** Dropout after each hidden dense layer. */
  denseDropout: 0.5,
} as const;

/** The coursework BiLSTM: embedding, two bidirectional LSTMs, one hidden dense layer. */
export const LSTM_DIMENSIONS = {
  /** Width of the token embedding. */
  embedding: 256,
  /** Units per direction of the first and second LSTM. */
  lstmUnits: [256, 128],
  /** Dropout on each LSTM's inputs. */
  inputDropout: 0.5,
  /** Dropout on each LSTM's recurrent state. */
  recurrentDropout: 0.2,
  /** Units of the hidden dense layer. */
  denseUnits: 128,
  /** Dropout after the hidden dense layer. */
  denseDropout: 0.8,
} as const;

/**
 * Where the GMU's inputs come from: a layer of each trained model (layer names of train/models/cnn.ts,
 * train/models/lstm.ts). Training keeps these layers' activations of every film for it (train/train.ts
 * `finishRun`).
 */
export const GMU_INPUTS = {
  visual: { model: 'cnn', layer: 'FC2' },
  textual: { model: 'lstm', layer: 'dense' },
} as const;

/** The learned fusion (a gated multimodal unit, Arevalo et al. 2017) on the two models' features. */
export const GMU_SETTINGS = {
  /** Width of the fused representation h. */
  hiddenUnits: 128,
  /** Dropout rate on h while training. */
  dropout: 0.5,
  /** Adam's rate. */
  learningRate: 1e-3,
  /** Films per step. */
  batchSize: 64,
  /** Epochs each head trains; the kept epoch is the one with the lowest inner-holdout loss. */
  maxEpochs: 40,
  /** Share of a head's films held out to choose its epoch. */
  holdoutFraction: 0.1,
  /** Folds of the cross-fitting that gives the training films' out-of-fold probabilities. */
  folds: 5,
};

/** The strong profile (pipeline/lib/strong/): features, the C grids its cross-validation chooses from, folds. */
export const STRONG_SETTINGS = {
  /** Folds of the cross-validation on the training films (C, and the out-of-fold scores stacking learns from). */
  folds: 5,
  /** TF-IDF of the overviews: word 1–2-grams and character 3–5-grams, terms in at least 2 training overviews. */
  text: { wordNgrams: [1, 2], charNgrams: [3, 5], minDf: 2, cGrid: [1, 3, 10] },
  /** Weight-free poster features (pipeline/lib/strong/poster-features.ts), standardised. */
  poster: { cGrid: [0.0001, 0.001, 0.01, 0.1] },
  /** The stacker on both models' out-of-fold log-odds. */
  stacked: { cGrid: [0.001, 0.01, 0.1, 1] },
  /** N-grams and poster features listed per genre on the Strong models page. */
  topTerms: 12,
} as const;

/** 0.05, 0.10, …, 0.95: the per-genre threshold candidates. */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);
/** 0, 0.05, …, 1: the CNN's weight in the late fusion. */
export const FUSION_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);
/** Folds of the cross-validation of the threshold choice on the training films. */
export const THRESHOLD_FOLDS = 5;
/** Points kept per precision–recall curve for the report. */
export const CURVE_POINTS = 100;
/** The bootstrap over validation films behind every interval the report gives (pipeline/lib/analysis/bootstrap.ts). */
export const BOOTSTRAP = {
  /** Resamples of the validation films. */
  resamples: 1000,
  /** Coverage of the percentile intervals. */
  level: 0.95,
  /** Paired differences reported (a − b): the two models; each model and fusion against the best constant for micro F1; the models against every genre (macro F1's); those of the strong profile's classifiers that ran. */
  pairs: [
    ['cnn', 'lstm'],
    ['cnn', 'two-most-frequent'],
    ['lstm', 'two-most-frequent'],
    ['fusion', 'two-most-frequent'],
    ['gmu', 'two-most-frequent'],
    ['cnn', 'every-genre'],
    ['lstm', 'every-genre'],
    // The strong profile (when it ran): each model against the best constants, text against posters, stacking against text alone.
    ['text-linear', 'two-most-frequent'],
    ['poster-linear', 'two-most-frequent'],
    ['stacked', 'two-most-frequent'],
    ['text-linear', 'every-genre'],
    ['poster-linear', 'every-genre'],
    ['stacked', 'every-genre'],
    ['text-linear', 'poster-linear'],
    ['stacked', 'text-linear'],
  ],
} as const;
/** Patches per side of the explanations' occlusion grid (8 × 8-pixel patches on the 64-pixel input). */
export const OCCLUSION_GRID = 8;
/** The example cards' poster thumbnails. */
export const THUMBNAIL = { width: 100, height: 150, fit: 'cover', position: 'centre', format: 'webp', quality: 72 } as const;
