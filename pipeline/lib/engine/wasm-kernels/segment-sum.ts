/**
 * `UnsortedSegmentSum` (the gradient of Gather, i.e. of Embedding; missing on wasm): one pass over
 * heap views.
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf, type Kernel, type WasmKernelConfig } from './kernel-calls.ts';

const unsortedSegmentSumKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const outer = sizeOf(segmentIds.shape);
  const inner = outer === 0 ? 0 : sizeOf(x.shape) / outer;
  if (!Number.isInteger(inner)) {
    throw new Error(`UnsortedSegmentSum: x ${JSON.stringify(x.shape)} does not start with segmentIds ${JSON.stringify(segmentIds.shape)}`);
  }
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype === 'int32' ? 'int32' : 'float32');
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < outer; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) continue; // dropped, as on the cpu backend
    const o = id * inner;
    const s = i * inner;
    for (let j = 0; j < inner; j++) ov[o + j] += xv[s + j];
  }
  return out;
};

export const unsortedSegmentSumConfig: WasmKernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  kernel: unsortedSegmentSumKernel,
  kind: 'missing',
  why: 'missing on wasm: Gather/Embedding gradient',
};
