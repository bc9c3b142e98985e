/**
 * A fixed list of float32 tensors in one SharedArrayBuffer, written by one thread and read by
 * another: how the sharded steps (./sharded-steps.ts) hand the weights to their helper threads and
 * take their gradients back, instead of posting fresh copies every step.
 *
 * Why: the CNN's weights and gradients are 13.6 MB each. Posted, every step allocated and filled
 * four such arrays (two in each thread), and this machine's first write to a fresh page costs about
 * 14 µs: tens of ms per step, more than a tenth of a shard's work. Here the memory is allocated once,
 * the writer copies straight from the wasm heap (engine/tensor-values.ts), and the reader makes
 * tensors from views of it.
 *
 * Each write ends by storing its sequence number with Atomics (a release), and a read checks it with
 * Atomics (an acquire), so the reader sees every value written before it; the messages that say
 * "written" carry only the number.
 *
 * Every tensor starts on a 64-byte boundary (`SHARED_ALIGNMENT`): V8 copies into and out of shared
 * memory word by word only when both sides are aligned alike, else byte by byte. With the values
 * packed after a 4-byte header, a copy of the CNN's weights between the wasm heap and this memory
 * took 4–6 ms against 1.2–1.6 ms aligned (14 MB, medians of 15), four such copies per step.
 */
import * as tf from '@tensorflow/tfjs';
import { tensorOfCopy, tensorValues } from '../engine/tensor-values.ts';

/** Byte alignment of the sequence number's slot and of every tensor's values. */
export const SHARED_ALIGNMENT = 64;

/** Where each tensor's values start (bytes), after the sequence number's slot, and the buffer's size. */
export function sharedLayout(sizes: readonly number[]): { offsets: number[]; bytes: number } {
  const align = (bytes: number) => Math.ceil(bytes / SHARED_ALIGNMENT) * SHARED_ALIGNMENT;
  let bytes = SHARED_ALIGNMENT;
  const offsets = sizes.map((size) => {
    const offset = bytes;
    bytes = align(offset + 4 * size);
    return offset;
  });
  return { offsets, bytes };
}

export class SharedTensors {
  readonly buffer: SharedArrayBuffer;
  readonly shapes: number[][];
  private readonly sequence: Int32Array;
  private readonly views: Float32Array[];

  /** New shared memory for tensors of `shapes`, or (in the reading thread) the writer's `buffer`. */
  constructor(shapes: number[][], buffer?: SharedArrayBuffer) {
    const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
    const { offsets, bytes } = sharedLayout(sizes);
    if (buffer && buffer.byteLength !== bytes) throw new RangeError(`shared tensors: ${buffer.byteLength} bytes given for ${bytes}`);
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    this.shapes = shapes;
    this.sequence = new Int32Array(this.buffer, 0, 1);
    this.views = sizes.map((size, i) => new Float32Array(this.buffer, offsets[i], size));
  }

  /** Copies `tensors` (float32, of this list's shapes, in order) in, then publishes them as `sequence`. */
  write(tensors: tf.Tensor[], sequence: number): void {
    if (tensors.length !== this.views.length) throw new RangeError(`shared tensors: ${tensors.length} tensors for ${this.views.length} places`);
    tensors.forEach((tensor, i) => {
      if (tensor.size !== this.views[i].length)
        throw new RangeError(`shared tensors: tensor ${i} has ${tensor.size} values, its place ${this.views[i].length}`);
      this.views[i].set(tensorValues(tensor));
    });
    Atomics.store(this.sequence, 0, sequence);
  }

  /** The tensors published as `sequence` (new tensors; the shared memory may be overwritten after). */
  read(sequence: number): tf.Tensor[] {
    const published = Atomics.load(this.sequence, 0);
    if (published !== sequence) throw new Error(`shared tensors: expected write ${sequence}, found ${published}`);
    return this.views.map((view, i) => tensorOfCopy(view, this.shapes[i]));
  }
}
