/**
 * genrelens' wasm kernels read and write tensors by their place in the wasm heap, which grows past
 * 2 GiB (the bench's padded per-timestep LSTM takes it to 2.4 GiB). Above 2 GiB a byte offset no
 * longer fits a signed 32-bit integer: `offset >> 2` turns negative there, and a negative start to
 * `copyWithin` or `fill` counts from the heap's end, so the embedding lookup wrote its rows over the
 * allocator's memory at the top of the heap and `npm run bench` crashed in `malloc`. Each kernel here
 * runs once with its tensors low in the heap and once with them above 2 GiB: the same bits. Offsets
 * handed to the SIMD kernels as int32 keep their bits (the module's addresses are unsigned).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { selectBackend, tf } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { filterGradMethod } from '../../pipeline/lib/engine/wasm-kernels/index.ts';
import { simdAdamStatus } from '../../pipeline/lib/engine/simd-adam.ts';
import { weightedSum } from '../../pipeline/lib/engine/weighted-sum.ts';
import { heapOffset, type WasmBackendLike } from '../../pipeline/lib/engine/wasm-kernels/kernel-calls.ts';
import { seededValues as values } from '../helpers/seeded-values.ts';

const TWO_GIB = 2 ** 31;

/** The backend, with the heap's allocator (tfjs-backend-wasm's Emscripten module) besides what the kernels use. */
type HeapBackend = WasmBackendLike & { wasm: { _malloc(bytes: number): number; _free(at: number): void; HEAPU8: Uint8Array } };

const backend = () => tf.backend() as unknown as HeapBackend;
const offsetOf = (t: tf.Tensor) => heapOffset(backend(), t);

before(async () => {
  const info = await selectBackend({ force: 'wasm', effects: recordingEffects() });
  assert.equal(info.name, 'wasm');
});

type Shape4 = [number, number, number, number];

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Conv weight-gradient cases on the grid path (in SIMD and not), on the dense path and by Winograd (its forward and input gradient too). */
const convCases: { x: Shape4; f: Shape4; strides: number; method: 'grid' | 'dense' | 'winograd' }[] = [
  { x: [2, 32, 32, 4], f: [3, 3, 4, 8], strides: 1, method: 'grid' },
  { x: [2, 33, 33, 3], f: [3, 3, 3, 4], strides: 1, method: 'grid' },
  { x: [2, 9, 9, 4], f: [3, 3, 4, 4], strides: 2, method: 'dense' },
  { x: [2, 8, 6, 32], f: [3, 3, 32, 64], strides: 1, method: 'winograd' },
];

/**
 * Every kernel that places its work by heap offsets (pipeline/lib/engine/wasm-kernels/, the SIMD
 * weighted sum and Adam update), on fresh tensors; their inputs' offsets too.
 */
function workload(): { results: Float32Array[]; inputOffsets: number[] } {
  const indices = tf.tensor2d([3, 0, 7, 7, 1, 5, 2, 6], [2, 4], 'int32');
  const tables = [32, 8].map((width) => tf.tensor2d(values(8 * width, width), [8, width]));
  const convs = convCases.map((c) => ({
    c,
    x: tf.tensor4d(values(sizeOf(c.x), 11), c.x),
    f: tf.tensor4d(values(sizeOf(c.f), 12), c.f),
  }));
  const pooled = tf.tensor4d(values(2 * 8 * 8 * 8, 21), [2, 8, 8, 8]);
  const summed = tf.tensor3d(values(6 * 5 * 8, 31), [6, 5, 8]);
  const [a, b] = [tf.tensor2d(values(16 * 12, 41), [16, 12]), tf.tensor2d(values(8 * 12, 42), [8, 12])];
  const summands = [0, 1, 2].map((k) => tf.tensor1d(values(22, 61 + k)));
  const inputs = [indices, ...tables, ...convs.flatMap(({ x, f }) => [x, f]), pooled, summed, a, b, ...summands];
  const results = tf.tidy(() => {
    const out: tf.Tensor[] = tables.map((table) => tf.gather(table, indices));
    for (const { c, x, f } of convs) {
      const attrs = { strides: c.strides, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined, filterShape: c.f };
      assert.equal(filterGradMethod(c.x, c.f, attrs), c.method);
      const loss = (xv: tf.Tensor, fv: tf.Tensor) =>
        tf
          .conv2d(xv as tf.Tensor4D, fv as tf.Tensor4D, c.strides, 'same')
          .square()
          .sum();
      out.push(...tf.grads(loss)([x, f]));
    }
    out.push(
      tf.grad((v: tf.Tensor) =>
        tf
          .maxPool(tf.relu(v) as tf.Tensor4D, 2, 2, 'valid')
          .square()
          .sum(),
      )(pooled),
    );
    out.push(tf.sum(summed, [0, 1]), tf.matMul(a, b, false, true), weightedSum(summands, [0.25, -1.5, 3]));
    return out;
  });
  // One Adam update (one SIMD pass over the weight and its moments, ../../pipeline/lib/engine/simd-adam.ts).
  const weights = tf.variable(tf.tensor1d(values(64, 51)));
  const adam = tf.train.adam(0.01);
  const updated = simdAdamStatus().variables;
  adam.minimize(() => weights.square().sum());
  assert.equal(simdAdamStatus().variables, updated + 1, 'the update ran in SIMD');
  const inputOffsets = [...inputs, weights].map(offsetOf);
  const arrays = [...results, weights].map((t) => t.dataSync() as Float32Array);
  tf.dispose([...results, ...inputs, weights]);
  adam.dispose();
  return { results: arrays, inputOffsets };
}

/**
 * Takes every free byte below 2 GiB (blocks from 1 GiB down to 16 bytes, then the block across the
 * line), so that what is allocated next lies above; returns the blocks, to free.
 */
function fillBelowTwoGib(): number[] {
  const { wasm } = backend();
  const blocks: number[] = [];
  for (let size = 2 ** 30; size >= 16; size /= 2) {
    for (;;) {
      const at = wasm._malloc(size) >>> 0;
      if (at === 0) break;
      if (at + size > TWO_GIB) {
        wasm._free(at);
        break;
      }
      blocks.push(at);
    }
  }
  // What is left below 2 GiB is less than 16 bytes at the start of the free space across the line:
  // a block there starts below 2 GiB and ends above it, so keep it too.
  for (;;) {
    const at = wasm._malloc(16) >>> 0;
    if (at === 0 || at >= TWO_GIB) {
      if (at !== 0) wasm._free(at);
      break;
    }
    blocks.push(at);
  }
  return blocks;
}

test('the wasm kernels give the same bits for tensors above 2 GiB in the heap as below it', () => {
  const low = workload();
  assert.ok(
    low.inputOffsets.every((at) => at < TWO_GIB),
    'the first run is below 2 GiB',
  );
  const blocks = fillBelowTwoGib();
  try {
    const high = workload();
    assert.ok(backend().wasm.HEAPU8.length > TWO_GIB, 'the heap grew past 2 GiB');
    assert.ok(
      high.inputOffsets.every((at) => at >= TWO_GIB),
      `every input lies above 2 GiB (offsets ${high.inputOffsets.join(', ')})`,
    );
    assert.equal(high.results.length, low.results.length);
    high.results.forEach((values, i) => assert.deepEqual(values, low.results[i], `result ${i}`));
  } finally {
    for (const at of blocks) backend().wasm._free(at);
  }
});
