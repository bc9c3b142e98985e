/**
 * The coursework's overview LSTM ("2.b. LSTM model"), a Sequential model with the names Keras
 * gave its layers in the coursework's summary:
 *
 * ```
 * (text_vectorization: done outside the model, by pipeline/lib/contract/vectorizer.ts; 0 params)
 * embedding (Embedding)              (None, L, 256)   2,560,000   10,000 × 256, mask_zero
 * bidirectional (Bidirectional)      (None, L, 512)   1,050,624   LSTM 256, return_sequences,
 *                                                                 dropout 0.5, recurrent_dropout 0.2
 * bidirectional_1 (Bidirectional)    (None, 256)        656,384   LSTM 128, same dropouts
 * dense (Dense)                      (None, 128)         32,896   relu
 * dropout (Dropout)                  (None, 128)              0   rate 0.8
 * dense_1 (Dense)                    (None, 25)           3,225   sigmoid
 * Total params: 4,303,129
 * ```
 *
 * The input has no fixed length (shape [batch, null]). The coursework vectorised overviews to 200
 * tokens; genrelens pads to 100 (config `sequenceLength`, recorded in metadata.json), and training
 * and evaluation cut each batch to its longest overview (`pipeline/lib/train/model-inputs.ts`): the padding
 * is masked (`mask_zero`), so the cut changes neither outputs nor gradients, only the timesteps the
 * LSTMs run. The length changes speed, not the parameter count.
 *
 * tfjs' LSTM defaults differ from Keras', so Keras' are set explicitly: recurrent activation
 * sigmoid (tfjs: hard sigmoid), kernel glorot-uniform (tfjs: glorot-normal), `unitForgetBias`
 * (forget-gate bias starts at 1; tfjs: off). The recurrent kernels are Keras' orthogonal matrices,
 * computed in plain JS (`orthogonalMatrix`): tfjs' own orthogonal initialiser factorises with
 * `tf.linalg.qr`, which takes about two minutes for one 256×1024 kernel on the cpu backend, and
 * would run again whenever a saved model is loaded. So the layers are declared with a zero
 * recurrent initialiser (also what a loaded model.json builds before its weights arrive) and the
 * seeded orthogonal matrices are written in right after building.
 *
 * Bidirectional clones its wrapped LSTM from the LSTM's config for both directions, so seeded
 * initialisers would give the backward LSTM exactly the forward LSTM's initial weights; the
 * backward kernels are therefore redrawn with their own seeds after building.
 *
 * Dropout (the Dropout layer, and the LSTMs' input and recurrent dropout) is not seeded: see
 * cnn.ts. tfjs' LSTM cells cannot take a seed at all (their optional `dropoutFunc` hook is not
 * part of the config, so Bidirectional's clones lose it); their masks draw from `Math.random`,
 * which the training loop seeds.
 */
import * as tf from '@tensorflow/tfjs';
import { assertSeed, deriveSeed, glorotUniformFor } from './cnn.ts';
import { LSTM_DIMENSIONS } from '../../settings.ts';

const { embedding: EMBEDDING_DIM, lstmUnits: LSTM_UNITS, inputDropout: INPUT_DROPOUT, denseUnits: DENSE_UNITS, denseDropout: DENSE_DROPOUT } = LSTM_DIMENSIONS;

export { compileForCoursework } from './cnn.ts';

export interface LstmOptions {
  /** Embedding rows: the vectoriser's vocabulary size, padding (0) and OOV (1) included. */
  vocabularySize?: number;
  genreCount?: number;
  /** Seed of every initial weight. */
  seed: number;
  /** The LSTMs' recurrent dropout (coursework: 0.2); 0 turns it off. */
  recurrentDropout?: number;
}

/**
 * A `rows × cols` matrix (row-major) drawn like Keras' / tfjs' `Orthogonal` initialiser: QR of a
 * seeded standard-normal `max × min` matrix, Q with its columns' signs fixed by R's diagonal, and
 * transposed when `rows < cols`. The normal draws are tfjs' own (`tf.randomNormal` with `seed`), so
 * the result equals `tf.initializers.orthogonal({ seed, gain })` up to rounding; the factorisation
 * is a twice-iterated modified Gram–Schmidt in float64 (R's diagonal is then positive, so Q needs
 * no sign fix).
 */
export function orthogonalMatrix(rows: number, cols: number, seed: number, gain = 1): Float32Array {
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  // Not through tf.tidy: tidy walks what it returns, a typed array element by element (0.3 s per model).
  const draws = tf.randomNormal([m, n], 0, 1, 'float32', seed);
  const normal = draws.dataSync().slice();
  draws.dispose();
  // Column-major copy: column j is q[j*m .. (j+1)*m).
  const q = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[j * m + i] = normal[i * n + j];
  for (let j = 0; j < n; j++) {
    const vj = j * m;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const vk = k * m;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[vk + i] * q[vj + i];
        for (let i = 0; i < m; i++) q[vj + i] -= dot * q[vk + i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[vj + i] * q[vj + i];
    norm = Math.sqrt(norm);
    if (!(norm > 0)) throw new Error('orthogonalMatrix: rank-deficient random matrix');
    for (let i = 0; i < m; i++) q[vj + i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  if (rows >= cols) {
    // Q itself (m = rows, n = cols).
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * q[j * m + i];
  } else {
    // Qᵀ (n = rows, m = cols): row i of the result is column i of Q.
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * q[i * m + j];
  }
  return out;
}

function lstmLayer(name: string, units: number, returnSequences: boolean, seed: number, recurrentDropout: number) {
  return tf.layers.lstm({
    name,
    units,
    returnSequences,
    activation: 'tanh',
    recurrentActivation: 'sigmoid',
    useBias: true,
    unitForgetBias: true,
    kernelInitializer: glorotUniformFor(seed, name),
    // Placeholder: overwritten with seeded orthogonal matrices after building (see above).
    recurrentInitializer: 'zeros',
    biasInitializer: 'zeros',
    dropout: INPUT_DROPOUT,
    recurrentDropout,
  });
}

/**
 * Writes the seeded initial weights a Bidirectional(LSTM) cannot get from its config: both
 * directions' orthogonal recurrent kernels and a backward input kernel of its own.
 * Weight order: forward [kernel, recurrent_kernel, bias], then backward [same].
 */
function initialiseBidirectional(layer: tf.layers.Layer, units: number, seed: number): void {
  const weights = layer.getWeights();
  if (weights.length !== 6) throw new Error(`${layer.name}: expected 6 weights, got ${weights.length}`);
  const [forwardKernel, , forwardBias, backwardKernel, , backwardBias] = weights;
  const recurrent = (direction: string) =>
    tf.tensor2d(orthogonalMatrix(units, 4 * units, deriveSeed(seed, `${layer.name}/${direction}/recurrent_kernel`)), [units, 4 * units]);
  const fresh = [
    recurrent('forward'),
    tf.initializers.glorotUniform({ seed: deriveSeed(seed, `${layer.name}/backward/kernel`) }).apply(backwardKernel.shape, 'float32'),
    recurrent('backward'),
  ];
  layer.setWeights([forwardKernel, fresh[0], forwardBias, fresh[1], fresh[2], backwardBias]);
  tf.dispose(fresh);
}

/**
 * Builds the coursework BiLSTM (uncompiled). Input: int32 token ids, shape [batch, any length],
 * 0 = padding (masked). With the defaults it has 4,303,129 parameters.
 */
export function buildLstm(options: LstmOptions): tf.LayersModel {
  const { vocabularySize = 10_000, genreCount = 25, seed, recurrentDropout = LSTM_DIMENSIONS.recurrentDropout } = options;
  for (const [name, value] of Object.entries({ vocabularySize, genreCount })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  assertSeed(seed);
  if (!(recurrentDropout >= 0 && recurrentDropout < 1)) throw new RangeError(`recurrentDropout must be in [0, 1), got ${recurrentDropout}`);

  const model = tf.sequential({ name: 'sequential' });
  model.add(tf.layers.inputLayer({ name: 'input_layer', inputShape: [null], dtype: 'int32' }));
  model.add(
    tf.layers.embedding({
      name: 'embedding',
      inputDim: vocabularySize,
      outputDim: EMBEDDING_DIM,
      maskZero: true,
      // Keras' Embedding default: uniform in [-0.05, 0.05].
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: deriveSeed(seed, 'embedding/embeddings') }),
    }),
  );
  model.add(
    tf.layers.bidirectional({
      name: 'bidirectional',
      mergeMode: 'concat',
      layer: lstmLayer('lstm', LSTM_UNITS[0], true, seed, recurrentDropout),
    }),
  );
  model.add(
    tf.layers.bidirectional({
      name: 'bidirectional_1',
      mergeMode: 'concat',
      layer: lstmLayer('lstm_1', LSTM_UNITS[1], false, seed, recurrentDropout),
    }),
  );
  model.add(
    tf.layers.dense({ name: 'dense', units: DENSE_UNITS, activation: 'relu', kernelInitializer: glorotUniformFor(seed, 'dense'), biasInitializer: 'zeros' }),
  );
  model.add(tf.layers.dropout({ name: 'dropout', rate: DENSE_DROPOUT }));
  model.add(
    tf.layers.dense({
      name: 'dense_1',
      units: genreCount,
      activation: 'sigmoid',
      kernelInitializer: glorotUniformFor(seed, 'dense_1'),
      biasInitializer: 'zeros',
    }),
  );

  initialiseBidirectional(model.getLayer('bidirectional'), LSTM_UNITS[0], seed);
  initialiseBidirectional(model.getLayer('bidirectional_1'), LSTM_UNITS[1], seed);
  return model;
}
