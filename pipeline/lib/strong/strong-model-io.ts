/**
 * The strong models on disk, so `evaluate` can score another dataset with them: `strong-model.json`
 * (the TF-IDF vocabulary and idf, the standardisations, the shapes, the training key) and
 * `weights.bin` (float64, little-endian, so `evaluate` reproduces the fitted models' probabilities
 * exactly: each model's weights then its intercepts, text, poster, stacked in that order). Published as `<publicDir>/models/strong/`.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { readCheckedJson, checkedJsonProblem } from '../core/files.ts';
import type { LogisticModel } from './logistic.ts';
import { BackboneProvenanceSchema } from '../contract/contract.ts';
import type { StrongModels } from './strong-models.ts';

export const STRONG_MODEL_DIR = 'strong';
export const STRONG_MODEL_FILE = 'strong-model.json';
export const STRONG_WEIGHTS_FILE = 'weights.bin';
/** The overview model alone, float32 (its weights, feature-major, then its intercepts): what the live demo downloads. */
export const STRONG_TEXT_WEIGHTS_FILE = 'text-weights.bin';

const StandardisationSchema = z.object({ mean: z.array(z.number()), scale: z.array(z.number()) });
const BlockSchema = z.object({ terms: z.array(z.string()), idf: z.array(z.number()) });
const ShapeSchema = z.object({ features: z.number().int().min(1), genres: z.number().int().min(1) });

export const StrongModelFileSchema = z.object({
  format: z.literal('genrelens-strong-models-v3'),
  key: z.string(),
  datasetHash: z.string(),
  genres: z.array(z.string()),
  posterSize: z.number().int().min(1),
  /** The backbone whose features the poster model takes (instead of the weight-free ones), or null. */
  backbone: BackboneProvenanceSchema.nullable(),
  tfidf: z.object({
    settings: z.object({ wordNgrams: z.tuple([z.number(), z.number()]), charNgrams: z.tuple([z.number(), z.number()]), minDf: z.number() }),
    word: BlockSchema,
    char: BlockSchema,
  }),
  posterStandardisation: StandardisationSchema,
  stackStandardisation: StandardisationSchema,
  shapes: z.object({ text: ShapeSchema, poster: ShapeSchema, stacked: ShapeSchema }),
});
export type StrongModelFile = z.infer<typeof StrongModelFileSchema>;

const MODELS = ['text', 'poster', 'stacked'] as const;

export async function saveStrongModels(
  dir: string,
  models: StrongModels,
  meta: { key: string; datasetHash: string; genres: readonly string[]; posterSize: number },
): Promise<void> {
  const file: StrongModelFile = {
    format: 'genrelens-strong-models-v3',
    key: meta.key,
    datasetHash: meta.datasetHash,
    genres: [...meta.genres],
    posterSize: meta.posterSize,
    backbone: models.backbone,
    tfidf: {
      settings: {
        wordNgrams: [...models.vectorizer.settings.wordNgrams],
        charNgrams: [...models.vectorizer.settings.charNgrams],
        minDf: models.vectorizer.settings.minDf,
      },
      word: { terms: models.vectorizer.word.terms, idf: Array.from(models.vectorizer.word.idf) },
      char: { terms: models.vectorizer.char.terms, idf: Array.from(models.vectorizer.char.idf) },
    },
    posterStandardisation: models.posterStandardisation,
    stackStandardisation: models.stackStandardisation,
    shapes: Object.fromEntries(MODELS.map((m) => [m, { features: models[m].features, genres: models[m].genres }])) as StrongModelFile['shapes'],
  };
  const size = MODELS.reduce((n, m) => n + models[m].weights.length + models[m].bias.length, 0);
  const weights = new Float64Array(size);
  let at = 0;
  for (const m of MODELS) {
    weights.set(models[m].weights, at);
    at += models[m].weights.length;
    weights.set(models[m].bias, at);
    at += models[m].bias.length;
  }
  await writeFile(join(dir, STRONG_WEIGHTS_FILE), new Uint8Array(weights.buffer));
  const text = new Float32Array(models.text.weights.length + models.text.bias.length);
  text.set(models.text.weights);
  text.set(models.text.bias, models.text.weights.length);
  await writeFile(join(dir, STRONG_TEXT_WEIGHTS_FILE), new Uint8Array(text.buffer));
  await writeFile(join(dir, STRONG_MODEL_FILE), JSON.stringify(file));
}

/** The saved models, or a UserError naming the folder and the fix. */
export async function loadStrongModels(dir: string): Promise<{ meta: StrongModelFile; models: StrongModels }> {
  const fix = 'run `npm run build` (the strong models are on unless --no-strong), or pass --models <folder>';
  const file = join(dir, STRONG_MODEL_FILE);
  if (!existsSync(file)) throw new UserError(`no strong models in ${dir}`, { file, fix });
  const read = readCheckedJson(file, StrongModelFileSchema);
  if (!read.ok) throw new UserError(checkedJsonProblem(read, STRONG_MODEL_FILE), { file, fix });
  const meta = read.value;
  const bytes = await readFile(join(dir, STRONG_WEIGHTS_FILE));
  if (bytes.byteLength % 8 !== 0) throw new UserError(`${STRONG_WEIGHTS_FILE} in ${dir} is ${bytes.byteLength} bytes, not whole float64 values`, { file, fix });
  const weights = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expected = MODELS.reduce((n, m) => n + (meta.shapes[m].features + 1) * meta.shapes[m].genres, 0);
  if (weights.length !== expected) throw new UserError(`${STRONG_WEIGHTS_FILE} in ${dir} holds ${weights.length} weights, ${expected} expected`, { file, fix });
  let at = 0;
  const take = (m: (typeof MODELS)[number]): LogisticModel => {
    const { features, genres } = meta.shapes[m];
    const w = weights.slice(at, at + features * genres);
    at += features * genres;
    const b = weights.slice(at, at + genres);
    at += genres;
    return { weights: w, bias: b, features, genres };
  };
  const [text, poster, stacked] = MODELS.map(take);
  const { settings, word, char } = meta.tfidf;
  return {
    meta,
    models: {
      vectorizer: { settings, word: { terms: word.terms, idf: Float64Array.from(word.idf) }, char: { terms: char.terms, idf: Float64Array.from(char.idf) } },
      text,
      backbone: meta.backbone,
      posterStandardisation: meta.posterStandardisation,
      poster,
      stackStandardisation: meta.stackStandardisation,
      stacked,
    },
  };
}
