/**
 * A tensor's values without a copy where the backend allows it: on the wasm backend a view of its
 * heap (valid until the next allocation there, so read it at once); elsewhere `dataSync()`.
 *
 * Why: each copy of a large tensor out of the wasm backend (`dataSync` slices its heap) lands in
 * fresh memory, and this machine's first write to a fresh page costs about 14 µs (≈ 50 ms for the
 * CNN's 13.6 MB of weights). Checkpoints and the shard helpers' exchange read their tensors in place.
 */
import * as tf from '@tensorflow/tfjs';

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/** The values of `tensor` (float32 or int32): a view of the wasm heap, or `dataSync()`'s array. */
export function tensorValues(tensor: tf.Tensor): Float32Array | Int32Array {
  if (tf.getBackend() === 'wasm') return (tf.backend() as unknown as HeapBackend).typedArrayFromHeap(tensor);
  return tensor.dataSync() as Float32Array | Int32Array;
}

/**
 * A tensor of `values`, which the caller may overwrite afterwards: the wasm backend copies them into
 * its heap; other backends may keep the array itself, so they get a copy.
 */
export function tensorOfCopy(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32');
}
