/**
 * Winograd's F(2×2, 3×3) convolutions (pipeline/lib/engine/wasm-kernels/winograd.ts) against
 * independent computations: the filter transforms against G·g·Gᵀ and Gᵀ·dU·G by plain matrix
 * products, and the convolution, its input gradient and its weight gradient on the wasm backend
 * against the cpu backend's direct loops, at 1e-5 relative to each tensor's largest entry, with
 * one block of tiles and with many (the last one short). Shapes Winograd does not take keep the
 * direct path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { selectBackend, tf } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import { seededValues as values } from '../helpers/seeded-values.ts';
import { assertCloseToScale } from '../helpers/assert-close.ts';
import { engines } from '../../pipeline/lib/engine/wasm-kernels/kernel-calls.ts';
import { winogradApplies, winogradTuning } from '../../pipeline/lib/engine/wasm-kernels/winograd.ts';
import { simdKernelsFor } from '../../pipeline/lib/engine/simd-kernels.ts';
import { filterGradMethod } from '../../pipeline/lib/engine/wasm-kernels/index.ts';

const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];

/** P·Q of plain nested arrays. */
function product(p: number[][], q: number[][]): number[][] {
  return p.map((row) => q[0].map((_, j) => row.reduce((sum, v, k) => sum + v * q[k][j], 0)));
}

const transposed = (p: number[][]) => p[0].map((_, j) => p.map((row) => row[j]));

/** Channel pair p's rows × cols matrix from planes `pairs` floats apart starting at `base` (row-major planes). */
const pairMatrix = (array: ArrayLike<number>, base: number, rows: number, cols: number, pairs: number, p: number): number[][] =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => array[base + (cols * i + j) * pairs + p]));

describe('the filter transforms (SIMD, on a scratch memory)', () => {
  const pairs = 8;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernels = simdKernelsFor(memory);
  const heap = new Float32Array(memory.buffer);
  const [filterAt, planesAt] = [0, 4096]; // byte offsets

  test('U = G·g·Gᵀ for every channel pair', () => {
    const filter = values(9 * pairs, 1);
    heap.set(filter, filterAt / 4);
    kernels.winogradFilter(filterAt, planesAt, pairs / 4, 4 * pairs);
    for (let p = 0; p < pairs; p++) {
      const expected = product(product(G, pairMatrix(filter, 0, 3, 3, pairs, p)), transposed(G));
      assertCloseToScale(pairMatrix(heap, planesAt / 4, 4, 4, pairs, p).flat(), expected.flat(), `pair ${p}`, 1e-6);
    }
  });

  test('dg = Gᵀ·dU·G for every channel pair', () => {
    const planes = values(16 * pairs, 2);
    heap.set(planes, planesAt / 4);
    kernels.winogradFilterGrad(planesAt, filterAt, pairs / 4, 4 * pairs);
    for (let p = 0; p < pairs; p++) {
      const expected = product(product(transposed(G), pairMatrix(planes, 0, 4, 4, pairs, p)), G);
      assertCloseToScale(pairMatrix(heap, filterAt / 4, 3, 3, pairs, p).flat(), expected.flat(), `pair ${p}`, 1e-6);
    }
  });
});

test('borderedCopy: the images in the middle, zeros around them (over memory full of NaN)', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernels = simdKernelsFor(memory);
  const heap = new Float32Array(memory.buffer);
  heap.fill(NaN);
  const [n, h, w, c] = [2, 3, 5, 8];
  const x = values(n * h * w * c, 7);
  const dst = 4096; // bytes
  heap.set(x, 0);
  kernels.borderedCopy(0, dst, n, h, w, 4 * c);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < h + 2; r++)
      for (let q = 0; q < w + 2; q++)
        for (let k = 0; k < c; k++) {
          const inside = r >= 1 && r <= h && q >= 1 && q <= w;
          const expected = inside ? x[((b * h + r - 1) * w + q - 1) * c + k] : 0;
          assert.equal(heap[dst / 4 + ((b * (h + 2) + r) * (w + 2) + q) * c + k], expected, `image ${b} row ${r} column ${q} channel ${k}`);
        }
  assert.ok(Number.isNaN(heap[dst / 4 + n * (h + 2) * (w + 2) * c]), 'nothing written past the end');
});

describe('Winograd convolutions on wasm against the cpu backend', () => {
  let batched = 0;
  let restore: (() => void) | null = null;
  before(async () => {
    await selectBackend({ force: 'wasm', effects: recordingEffects() });
    tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
    const engine = engines.native;
    assert.ok(engine, 'the native engine (onnxruntime-node) loads');
    const original = engine.batchedGemm;
    engine.batchedGemm = (call) => {
      batched++;
      original.call(engine, call);
    };
    restore = () => (engine.batchedGemm = original);
  });
  after(async () => {
    restore?.();
    await tf.setBackend('wasm');
  });

  const cases: { x: [number, number, number, number]; cout: number; blockFloats?: number }[] = [
    { x: [1, 2, 2, 4], cout: 4 }, // one tile
    { x: [2, 4, 6, 4], cout: 8 },
    { x: [3, 8, 6, 8], cout: 4, blockFloats: 16 * 8 * 5 }, // 36 tiles in blocks of 5, the last one of 1
    { x: [2, 16, 16, 16], cout: 32 },
    { x: [2, 8, 8, 32], cout: 12, blockFloats: 1 }, // one tile per block
  ];
  for (const c of cases) {
    const [n, h, w, cin] = c.x;
    const label = `x ${c.x.join('×')}, ${c.cout} filters${c.blockFloats ? `, blocks of at most ${c.blockFloats} floats` : ''}`;
    test(`${label}: output (with bias, fused ReLU), input gradient, weight gradient`, async () => {
      const xv = values(n * h * w * cin, 3);
      const fv = values(9 * cin * c.cout, 4);
      const bv = values(c.cout, 5);
      const dyv = values(n * h * w * c.cout, 6);
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.tensor4d(xv, c.x);
          const filter = tf.tensor4d(fv, [3, 3, cin, c.cout]);
          const bias = tf.tensor1d(bv);
          const fused = tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' });
          const [dx, df] = tf.grads((a, f) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'))([x, filter], tf.tensor4d(dyv, [n, h, w, c.cout]));
          return [fused, dx, df].map((t) => t.dataSync().slice());
        });
      };
      const saved = { ...winogradTuning };
      winogradTuning.minChannelPairs = 0; // small shapes, for the test's speed
      if (c.blockFloats) winogradTuning.blockFloats = c.blockFloats;
      batched = 0;
      try {
        const wasm = await run('wasm');
        const products = batched;
        const cpu = await run('cpu');
        ['output', 'input gradient', 'weight gradient'].forEach((what, k) => assertCloseToScale(wasm[k], cpu[k], `${label}: ${what}`));
        const tiles = n * (h / 2) * (w / 2);
        // Four convolutions: the fused one, and the plain one with its two gradients.
        if (!c.blockFloats) assert.equal(products, 4, 'one batched product in each convolution');
        else if (c.blockFloats === 1) assert.equal(products, 4 * tiles, 'one tile per block');
        else assert.ok(products > 4 && products < 4 * tiles, `several blocks of tiles (${products} products)`);
      } finally {
        Object.assign(winogradTuning, saved);
      }
    });
  }

  test('the shapes it does not take keep direct convolution', () => {
    const same = { top: 1, bottom: 1, left: 1, right: 1 };
    const attrs = { pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    // The CNN's layers: Conv1 (16 → 32) and Conv2 (32 → 32) have too few channel pairs to gain; Conv3–Conv6 take it.
    assert.equal(winogradApplies([2, 32, 32, 16], [3, 3, 16, 32], [1, 1], [1, 1], same), false);
    assert.equal(winogradApplies([2, 32, 32, 32], [3, 3, 32, 32], [1, 1], [1, 1], same), false);
    assert.equal(winogradApplies([2, 16, 16, 32], [3, 3, 32, 64], [1, 1], [1, 1], same), true);
    assert.equal(winogradApplies([2, 8, 8, 128], [3, 3, 128, 128], [1, 1], [1, 1], same), true);
    assert.equal(filterGradMethod([2, 16, 16, 32], [3, 3, 32, 64], { ...attrs, strides: 1 }), 'winograd');
    assert.equal(filterGradMethod([2, 16, 16, 32], [3, 3, 32, 64], { ...attrs, strides: 2 }), 'dense');
    const saved = { ...winogradTuning };
    winogradTuning.minChannelPairs = 0;
    try {
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 8], [1, 1], [1, 1], same), true);
      assert.equal(winogradApplies([2, 7, 8, 4], [3, 3, 4, 8], [1, 1], [1, 1], same), false); // odd height
      assert.equal(winogradApplies([2, 8, 8, 3], [3, 3, 3, 8], [1, 1], [1, 1], same), false); // channels not in fours
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 6], [1, 1], [1, 1], same), false);
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 8], [2, 2], [1, 1], same), false); // stride 2 (Conv0)
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 8], [1, 1], [2, 2], same), false);
      assert.equal(winogradApplies([2, 8, 8, 4], [5, 5, 4, 8], [1, 1], [1, 1], same), false);
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 8], [1, 1], [1, 1], { ...same, left: 0 }), false);
      winogradTuning.enabled = false;
      assert.equal(winogradApplies([2, 8, 8, 4], [3, 3, 4, 8], [1, 1], [1, 1], same), false);
    } finally {
      Object.assign(winogradTuning, saved);
    }
  });
});
