/**
 * Turning a loaded dataset into model inputs, shared by training and `evaluate` so both feed the
 * models exactly the same way.
 */
import * as tf from '@tensorflow/tfjs';
import { filmLabels } from '../data/dataset.ts';
import { augmentPosterBatch } from './poster-augmentation.ts';
import { posterBatchToFloat32 } from '../data/posters.ts';
import type { Random } from '../core/random.ts';
import type { ModelKind } from '../contract/contract.ts';
import { buildVocabulary, vectorizeAll, type VectorizerConfig } from '../contract/vectorizer.ts';
import type { DataStageResult } from '../data/data-stage.ts';
import type { Config } from '../settings.ts';
import type { TrainingData } from './train.ts';

/** CNN input for some films: posters as float32 in [0, 1], [films, size, size, 3]. */
export function posterInputs(pixels: Uint8Array, size: number): (films: readonly number[]) => tf.Tensor {
  return (films) => tf.tensor4d(posterBatchToFloat32(pixels, films, size), [films.length, size, size, 3]);
}

/** Augmented CNN training input: `posterInputs`' posters, each mirrored and shifted at random (pipeline/lib/train/poster-augmentation.ts). */
export function augmentedPosterInputs(pixels: Uint8Array, size: number): (films: readonly number[], random: Random) => tf.Tensor {
  return (films, random) => tf.tensor4d(augmentPosterBatch(posterBatchToFloat32(pixels, films, size), size, random), [films.length, size, size, 3]);
}

/** Tokens per film before the padding: one past the last non-zero id of each row of `tokenIds`. */
export function tokenLengths(tokenIds: Int32Array, length: number): Int32Array {
  const films = Math.floor(tokenIds.length / length);
  const out = new Int32Array(films);
  for (let film = 0; film < films; film++) {
    let last = 0;
    for (let t = 0; t < length; t++) if (tokenIds[film * length + t] !== 0) last = t + 1;
    out[film] = last;
  }
  return out;
}

/**
 * LSTM input for some films: rows of `tokenIds` (films × length), int32. The columns are cut to the
 * longest overview among `films` (at least 1): the rest is padding, which the model masks, so the
 * outputs are those of the full-length rows while the LSTM runs only the timesteps that exist.
 */
export function tokenInputs(tokenIds: Int32Array, length: number, lengths = tokenLengths(tokenIds, length)): (films: readonly number[]) => tf.Tensor {
  return (films) => {
    const width = Math.max(1, ...films.map((film) => lengths[film]));
    const out = new Int32Array(films.length * width);
    films.forEach((film, row) => out.set(tokenIds.subarray(film * length, film * length + width), row * width));
    return tf.tensor2d(out, [films.length, width], 'int32');
  };
}

/** The inputs both models are trained on: posters for the CNN, token ids for the LSTM. */
export interface ModelInputs {
  vectorizer: VectorizerConfig;
  tokenIds: Int32Array;
  data: Record<ModelKind, TrainingData>;
}

export function prepareModelInputs(stage: DataStageResult, config: Config): ModelInputs {
  const { dataset, split } = stage;
  const labels = filmLabels(dataset);

  const vocabulary = buildVocabulary(
    split.train.map((i) => dataset.films[i].overview),
    config.maxTokens,
  );
  const length = config.sequenceLength;
  const tokenIds = vectorizeAll(
    dataset.films.map((film) => film.overview),
    vocabulary,
    length,
  );
  const lengths = tokenLengths(tokenIds, length);
  const size = config.imageSize;
  const common = { labels, genres: dataset.genres, train: split.train, validation: split.validation };
  return {
    vectorizer: {
      maxTokens: config.maxTokens,
      sequenceLength: length,
      standardize: 'lower_and_strip_punctuation',
      split: 'whitespace',
      vocabulary,
    },
    tokenIds,
    data: {
      cnn: {
        ...common,
        inputs: posterInputs(dataset.posterPixels, size),
        ...(config.posterAugmentation ? { trainingInputs: augmentedPosterInputs(dataset.posterPixels, size) } : {}),
      },
      lstm: { ...common, inputs: tokenInputs(tokenIds, length, lengths), lengthOf: (film: number) => lengths[film] },
    },
  };
}
