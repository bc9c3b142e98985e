/**
 * Benchmarks for the wasm training kernels (pipeline/lib/engine/wasm-kernels/).
 *
 *   node pipeline/lib/bench/bench-kernels.ts [--reps N]   kernel micro-benchmark: shipped vs genrelens, a table
 *
 * Whole training steps of the coursework models, per backend, with profiles: `npm run bench`.
 *
 * "Shipped" = @tensorflow/tfjs-backend-wasm's own kernel; kernels wasm lacks entirely show "missing".
 * Times are medians after one warm-up, single-threaded wasm; the machine's speed drifts, so compare
 * numbers from one run.
 */
import { parseArgs } from 'node:util';
import { selectBackend, tf } from '../engine/backend.ts';
import { consoleEffects } from '../core/effects.ts';
import { registerWasmTrainingKernels } from '../engine/wasm-kernels/index.ts';
import { median } from './bench.ts';

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Median ms of `reps` runs of `f` (after one warm-up); `f` returns tensors, read back to finish. */
function timeKernel(f: () => tf.Tensor | tf.Tensor[], reps: number): number {
  const once = () => {
    const start = performance.now();
    const out = f();
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) t.dataSync();
    const ms = performance.now() - start;
    tf.dispose(list);
    return ms;
  };
  once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(once());
  return median(times);
}

interface KernelCase {
  kernel: string;
  shape: string;
  /** Whether the shipped wasm backend has this kernel at all. */
  shipped: boolean;
  setup(): { run(): tf.Tensor | tf.Tensor[]; inputs: tf.Tensor[] };
}

function conv2dGradCases(): KernelCase[] {
  const convs: { name: string; x: [number, number, number, number]; f: [number, number, number, number]; s: number }[] = [
    { name: 'conv0', x: [64, 64, 64, 3], f: [3, 3, 3, 16], s: 2 },
    { name: 'conv1', x: [64, 32, 32, 16], f: [3, 3, 16, 32], s: 1 },
    { name: 'conv3', x: [64, 16, 16, 32], f: [3, 3, 32, 64], s: 1 },
    { name: 'conv6', x: [64, 8, 8, 128], f: [3, 3, 128, 128], s: 1 },
  ];
  const cases: KernelCase[] = [];
  for (const c of convs) {
    const oh = Math.ceil(c.x[1] / c.s);
    const dyShape = [c.x[0], oh, oh, c.f[3]];
    const attrs = { strides: c.s, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    cases.push({
      kernel: 'Conv2DBackpropFilter',
      shape: `${c.name} x${c.x.join('x')} s${c.s}`,
      shipped: false,
      setup() {
        const x = randn(c.x, 1);
        const dy = randn(dyShape, 2);
        return {
          inputs: [x, dy],
          run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
    if (c.name === 'conv0') continue; // the image's gradient is never computed
    cases.push({
      kernel: 'Conv2DBackpropInput',
      shape: `${c.name} dy${dyShape.join('x')} s${c.s}`,
      shipped: true,
      setup() {
        const dy = randn(dyShape, 2);
        const filter = randn(c.f, 3);
        return {
          inputs: [dy, filter],
          run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x } as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    });
  }
  return cases;
}

function matMulCase(label: string, aShape: number[], bShape: number[], ta: boolean, tb: boolean): KernelCase {
  return {
    kernel: 'BatchMatMul',
    shape: `${label} ${aShape.join('x')}${ta ? 'ᵀ' : ''}·${bShape.join('x')}${tb ? 'ᵀ' : ''}`,
    shipped: true,
    setup() {
      const a = randn(aShape, 4);
      const b = randn(bShape, 5);
      return { inputs: [a, b], run: () => tf.matMul(a, b, ta, tb) };
    },
  };
}

function kernelCases(): KernelCase[] {
  return [
    ...conv2dGradCases(),
    matMulCase('dense1 dW', [64, 2048], [64, 1024], true, false),
    matMulCase('dense1 dx', [64, 1024], [2048, 1024], false, true),
    matMulCase('lstm dh', [64, 1024], [256, 1024], false, true),
    matMulCase('lstm dW', [64, 256], [64, 1024], true, false),
    {
      kernel: '_FusedMatMul',
      shape: 'dense1 fwd 64x2048·2048x1024 +bias relu',
      shipped: true,
      setup() {
        const a = randn([64, 2048], 6);
        const b = randn([2048, 1024], 7);
        const bias = randn([1024], 8);
        return { inputs: [a, b, bias], run: () => tf.fused.matMul({ a, b, bias, activation: 'relu' }) };
      },
    },
    {
      kernel: 'MaxPoolGrad',
      shape: 'pool1 64x32x32x32 2x2',
      shipped: true,
      setup() {
        const input = tf.relu(randn([64, 32, 32, 32], 15));
        const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
        const dy = randn(output.shape, 16);
        const attrs = { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined };
        return {
          inputs: [input, output, dy],
          run: () => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
        };
      },
    },
    {
      kernel: 'Sum',
      shape: 'conv2 bias grad 64x32x32x32 → 32',
      shipped: true,
      setup() {
        const x = randn([64, 32, 32, 32], 17);
        return { inputs: [x], run: () => tf.sum(x, [0, 1, 2]) };
      },
    },
    {
      kernel: 'Reverse',
      shape: 'Bidirectional 64x100x256 axis 1',
      shipped: true,
      setup() {
        const x = randn([64, 100, 256], 17);
        return { inputs: [x], run: () => tf.reverse(x, 1) };
      },
    },
    {
      kernel: 'Unpack',
      shape: 'unstack 64x100x256 axis 1',
      shipped: true,
      setup() {
        const x = randn([64, 100, 256], 9);
        return { inputs: [x], run: () => tf.unstack(x, 1) };
      },
    },
    {
      kernel: 'Slice',
      shape: '64x100x256 → one timestep',
      shipped: true,
      setup() {
        const x = randn([64, 100, 256], 10);
        return { inputs: [x], run: () => tf.slice(x, [0, 50, 0], [64, 1, 256]) };
      },
    },
    {
      kernel: 'SplitV',
      shape: 'LSTM gates 64x1024 → 4',
      shipped: true,
      setup() {
        const x = randn([64, 1024], 11);
        return { inputs: [x], run: () => tf.split(x, 4, 1) };
      },
    },
    {
      kernel: 'Identity',
      shape: 'clone 256x1024 (recurrent kernel)',
      shipped: true,
      setup() {
        const x = randn([256, 1024], 12);
        return { inputs: [x], run: () => tf.clone(x) };
      },
    },
    {
      kernel: 'UnsortedSegmentSum',
      shape: 'embedding grad 6400x100 → 10000',
      shipped: false,
      setup() {
        const x = randn([6400, 100], 13);
        const ids = tf.randomUniform([6400], 0, 10000, 'int32', 14) as tf.Tensor1D;
        return { inputs: [x, ids], run: () => tf.unsortedSegmentSum(x, ids, 10000) };
      },
    },
  ];
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function benchKernels(reps: number): void {
  const cases = kernelCases();
  const rows: string[][] = [];
  for (const c of cases) {
    const { run, inputs } = c.setup();
    let shippedMs: number | null = null;
    if (c.shipped) {
      registerWasmTrainingKernels({ speedFixes: false });
      shippedMs = timeKernel(run, Math.max(1, Math.min(reps, 3)));
    }
    registerWasmTrainingKernels();
    const oursMs = timeKernel(run, reps);
    tf.dispose(inputs);
    rows.push([
      c.kernel,
      c.shape,
      shippedMs === null ? 'missing' : shippedMs.toFixed(1),
      oursMs.toFixed(1),
      shippedMs === null ? '' : `${(shippedMs / oursMs).toFixed(1)}x`,
    ]);
  }
  const header = ['kernel', 'case (batch 64)', 'shipped ms', 'genrelens ms', 'speed-up'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => (i >= 2 ? lpad(cell, widths[i]) : pad(cell, widths[i]))).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
  const info = await selectBackend({ force: 'wasm', effects: consoleEffects() });
  console.log(`backend ${info.name}, ${info.device}, SIMD ${info.simd}, ${info.threads} thread(s)\n`);
  benchKernels(Number(values.reps));
  console.log('\nWhole training steps of the coursework models, with profiles: npm run bench (-- --before for the shipped kernels).');
}

if (import.meta.main) await main();
