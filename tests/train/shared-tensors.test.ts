/**
 * Tensors through shared memory (pipeline/lib/train/shared-tensors.ts), as the sharded steps hand
 * weights and gradients to their helpers: what is read equals what was written, on the wasm backend
 * (read in place from its heap) and on cpu; a tensor read stays as it was when the memory is written
 * again; a read of another write, or tensors of other sizes, are refused; every tensor's values start
 * on a 64-byte boundary (copies to and from misaligned shared memory are byte by byte).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { SHARED_ALIGNMENT, SharedTensors, sharedLayout } from '../../pipeline/lib/train/shared-tensors.ts';
import { selectBackend } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';

tf.env().set('IS_TEST', true);

const shapes = [[2, 3], [4], [1, 1, 5]];
const valuesOf = (seed: number) =>
  shapes.map((shape, i) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => seed * 100 + i * 10 + k + 0.25));

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: the tensors read are the tensors written, and keep their values when the memory is written again`, async () => {
    if (backend === 'wasm') await selectBackend({ force: 'wasm', effects: recordingEffects() });
    else await tf.setBackend('cpu');
    const writer = new SharedTensors(shapes);
    const reader = new SharedTensors(shapes, writer.buffer);
    const first = valuesOf(1).map((v, i) => tf.tensor(v, shapes[i]));
    writer.write(first, 1);
    const read = reader.read(1);
    assert.deepEqual(
      read.map((t) => t.shape),
      shapes,
    );
    assert.deepEqual(
      read.map((t) => Array.from(t.dataSync())),
      valuesOf(1).map((v) => Array.from(v)),
    );
    writer.write(
      valuesOf(2).map((v, i) => tf.tensor(v, shapes[i])),
      2,
    );
    assert.deepEqual(
      read.map((t) => Array.from(t.dataSync())),
      valuesOf(1).map((v) => Array.from(v)),
      'a tensor read before is not changed by the next write',
    );
    assert.deepEqual(
      reader.read(2).map((t) => Array.from(t.dataSync())),
      valuesOf(2).map((v) => Array.from(v)),
    );
  });
}

test('a read of another write than the one published, or tensors of other sizes, are refused', async () => {
  await tf.setBackend('cpu');
  const writer = new SharedTensors(shapes);
  writer.write(
    valuesOf(1).map((v, i) => tf.tensor(v, shapes[i])),
    7,
  );
  assert.throws(() => new SharedTensors(shapes, writer.buffer).read(8), /expected write 8, found 7/);
  assert.throws(() => writer.write([tf.zeros([2, 3])], 8), /1 tensors for 3 places/);
  assert.throws(() => writer.write([tf.zeros([6]), tf.zeros([4]), tf.zeros([6])], 8), /tensor 2 has 6 values, its place 5/);
  assert.throws(() => new SharedTensors([[3]], writer.buffer), /256 bytes given for 128/);
});

test('another thread reads what this one wrote', async () => {
  await tf.setBackend('cpu');
  const writer = new SharedTensors(shapes);
  writer.write(
    valuesOf(3).map((v, i) => tf.tensor(v, shapes[i])),
    1,
  );
  // The worker sees the buffer, not a copy: it reads the values and writes the sums back, as write 2.
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const seq = new Int32Array(workerData.buffer, 0, 1);
    if (Atomics.load(seq, 0) !== 1) throw new Error('not published');
    const views = workerData.offsets.map((offset, i) => new Float32Array(workerData.buffer, offset, workerData.sizes[i]));
    let sum = 0;
    for (const view of views) for (const v of view) sum += v;
    for (const view of views) view.fill(sum);
    Atomics.store(seq, 0, 2);
    parentPort.postMessage(sum);
  `;
  const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
  const worker = new Worker(source, { eval: true, workerData: { buffer: writer.buffer, sizes, offsets: sharedLayout(sizes).offsets } });
  const sum = await new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  const expected = valuesOf(3).reduce((s, v) => s + v.reduce((a, b) => a + Math.fround(b), 0), 0);
  assert.equal(sum, expected);
  const back = writer.read(2);
  assert.ok(back.every((t) => Array.from(t.dataSync()).every((v) => v === Math.fround(expected))));
  await worker.terminate();
});

test('every tensor starts on a 64-byte boundary, past the sequence number, without overlapping the next', () => {
  const sizes = [6, 4, 5, 16, 25, 1];
  const { offsets, bytes } = sharedLayout(sizes);
  assert.deepEqual(offsets, [64, 128, 192, 256, 320, 448]);
  assert.equal(bytes, 512);
  assert.ok(offsets.every((offset) => offset % SHARED_ALIGNMENT === 0));
  sizes.forEach((size, i) => assert.ok(offsets[i] + 4 * size <= (offsets[i + 1] ?? bytes)));
});
