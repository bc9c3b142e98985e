/**
 * `MaxPoolGrad`: dx[argmax of each window] += dy, the argmax being the first maximum (as on the cpu backend).
 * Replaces the shipped kernel, which starts each window's search at FLT_MIN (the smallest positive
 * float), so windows with no positive value lose their gradient, and which is slower than this loop.
 * 2×2 windows of stride 2 that tile the input (the CNN's pools), with channels a multiple of four, take
 * a faster path that writes every dx entry once, with no zero fill, four channels at a time in
 * WebAssembly SIMD (../simd-kernels.ts): the CNN's three pools took 16.5 → 2.3 ms per step at batch 64.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOffset, zeros, type Kernel, type WasmKernelConfig } from './kernel-calls.ts';
import { backendSimdKernels } from '../simd-kernels.ts';

/** Whether tiled windows use the SIMD kernel (tests turn it off to check it against the loop below). */
export const simd = { enabled: true };

const maxPoolGradKernel: Kernel = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const kernels = simd.enabled && c % 4 === 0 ? backendSimdKernels(backend) : null;
  if (kernels && fh === 2 && fw === 2 && sh === 2 && sw === 2 && oh * 2 === h && ow * 2 === w && top === 0 && left === 0) {
    const dx = backend.makeOutput(input.shape, 'float32');
    kernels.maxPoolGrad2x2(heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, dx), n * oh * ow, ow, c * 4);
    return dx;
  }
  const dx = zeros(backend, input.shape);
  const xv = backend.typedArrayFromHeap(input);
  const dyv = backend.typedArrayFromHeap(dy);
  const dxv = backend.typedArrayFromHeap(dx);
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const r0 = Math.max(0, r * sh - top);
      const r1 = Math.min(h, r * sh - top + fh);
      for (let q = 0; q < ow; q++) {
        const c0 = Math.max(0, q * sw - left);
        const c1 = Math.min(w, q * sw - left + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let i = r0; i < r1; i++) {
          for (let j = c0; j < c1; j++) {
            const base = ((b * h + i) * w + j) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > best[k]) {
                best[k] = v;
                pos[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) if (pos[k] >= 0) dxv[pos[k]] += dyv[dyBase + k];
      }
    }
  }
  return dx;
};

export const maxPoolGradConfig: WasmKernelConfig = {
  kernelName: tf.MaxPoolGrad,
  kernel: maxPoolGradKernel,
  kind: 'speed',
  why: 'shipped one drops the gradient of windows with no positive value, and is slower',
};
