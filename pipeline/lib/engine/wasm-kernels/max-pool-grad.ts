/**
 * `MaxPoolGrad`: dx[argmax of each window] += dy, the argmax being the first maximum (as on the cpu backend).
 * Replaces the shipped kernel, which starts each window's search at FLT_MIN (the smallest positive
 * float), so windows with no positive value lose their gradient, and which is slower than this loop.
 */
import * as tf from '@tensorflow/tfjs';
import { zeros, type Kernel, type WasmKernelConfig } from './kernel-calls.ts';

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
