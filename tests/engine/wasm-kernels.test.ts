/**
 * Every kernel registered by pipeline/lib/engine/wasm-kernels/, checked numerically against the pure-JS cpu
 * backend on small shapes, plus one `fit` step of a tiny CNN and a tiny BiLSTM on wasm vs cpu, and the
 * training gradients of a small CNN (the conv weight gradient's optimised paths) at 1e-5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { selectBackend, tf } from '../../pipeline/lib/engine/backend.ts';
import { recordingEffects } from '../../pipeline/lib/core/effects.ts';
import {
  loadNativeKernels,
  MAX_OUTPUT_FLOATS_PER_CALL,
  rowsPerCall,
  TRANSPOSE_FIRST_MIN_N,
  type NativeKernels,
} from '../../pipeline/lib/engine/native-kernels.ts';
import { filterGradMethod, filterGradTuning, registerWasmTrainingKernels, WASM_KERNEL_REASONS } from '../../pipeline/lib/engine/wasm-kernels/index.ts';
import { convTuning } from '../../pipeline/lib/engine/wasm-kernels/conv.ts';
import { simd as maxPoolSimd } from '../../pipeline/lib/engine/wasm-kernels/max-pool-grad.ts';

const RTOL = 1e-4;

before(async () => {
  const info = await selectBackend({ force: 'wasm', effects: recordingEffects() });
  assert.equal(info.name, 'wasm');
  tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
});

/** A deterministic PRNG standing in for Math.random while a test builds data or runs dropout. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function withRandom<T>(seed: number, f: () => T): T {
  const saved = Math.random;
  Math.random = mulberry32(seed);
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}

async function withRandomAsync<T>(seed: number, f: () => Promise<T>): Promise<T> {
  const saved = Math.random;
  Math.random = mulberry32(seed);
  try {
    return await f();
  } finally {
    Math.random = saved;
  }
}

function values(shape: number[], seed: number): Float32Array {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 2 - 1;
  return out;
}

interface Result {
  shape: number[];
  dtype: string;
  data: number[];
}

/** Runs `f` on a backend, returning plain results and the kernels that ran. */
async function runOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<{ results: Result[]; kernels: string[] }> {
  await tf.setBackend(backend);
  let results: Result[] = [];
  const profile = await tf.profile(() => {
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    results = list.map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) }));
    tf.dispose(list);
    return [] as unknown as tf.Tensor;
  });
  return { results, kernels: profile.kernelNames };
}

function assertClose(actual: Result[], expected: Result[], label: string, rtol = RTOL): void {
  assert.equal(actual.length, expected.length, `${label}: number of outputs`);
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k];
    const e = expected[k];
    assert.deepEqual(a.shape, e.shape, `${label}[${k}]: shape`);
    let scale = 0;
    for (const v of e.data) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < e.data.length; i++) {
      const diff = Math.abs(a.data[i] - e.data[i]);
      const tol = rtol * (Math.abs(e.data[i]) + scale) + 1e-7;
      if (!(diff <= tol)) {
        assert.fail(`${label}[${k}] element ${i}: wasm ${a.data[i]} vs cpu ${e.data[i]} (|diff| ${diff} > ${tol})`);
      }
    }
  }
}

/**
 * Stricter check for the conv weight gradient: per output tensor, max|wasm − cpu| / max|cpu| ≤ rtol,
 * i.e. the error relative to the tensor's largest magnitude (∞-norm relative; the denominator is
 * floored at 1e-30 so an all-zero reference needs an exact zero). Element-wise relative error is not
 * used: entries that are sums of cancelling terms are tiny and carry the absolute rounding error of
 * their large terms, which is what float32 summation in another order (XNNPACK vs the cpu loop) gives.
 */
function assertRelClose(actual: Result[], expected: Result[], label: string, rtol: number): number {
  assert.equal(actual.length, expected.length, `${label}: number of outputs`);
  let worst = 0;
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k];
    const e = expected[k];
    assert.deepEqual(a.shape, e.shape, `${label}[${k}]: shape`);
    let scale = 0;
    let diff = 0;
    let at = 0;
    for (let i = 0; i < e.data.length; i++) {
      scale = Math.max(scale, Math.abs(e.data[i]));
      const d = Math.abs(a.data[i] - e.data[i]);
      if (!(d <= diff)) {
        diff = d; // NaN lands here too, and fails below
        at = i;
      }
    }
    const rel = diff / Math.max(scale, 1e-30);
    if (!(rel <= rtol)) {
      assert.fail(`${label}[${k}]: max |wasm − cpu| / max |cpu| = ${rel} > ${rtol} (element ${at}: wasm ${a.data[at]} vs cpu ${e.data[at]})`);
    }
    worst = Math.max(worst, rel);
  }
  return worst;
}

/** Runs `f` on wasm and cpu, checks they agree and that `kernel` ran on wasm. */
async function check(label: string, kernel: string | null, f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const wasm = await runOn('wasm', f);
  const cpu = await runOn('cpu', f);
  await tf.setBackend('wasm');
  if (kernel) assert.ok(wasm.kernels.includes(kernel), `${label}: ${kernel} did not run (ran ${wasm.kernels.join(', ')})`);
  assertClose(wasm.results, cpu.results, label);
}

test('registration lists every kernel, is idempotent and replaces the shipped kernels', () => {
  const first = registerWasmTrainingKernels();
  const second = registerWasmTrainingKernels();
  assert.deepEqual(second, first);
  for (const name of [
    'Conv2DBackpropFilter',
    'UnsortedSegmentSum',
    'Conv2DBackpropInput',
    'BatchMatMul',
    '_FusedMatMul',
    'Slice',
    'Unpack',
    'SplitV',
    'StridedSlice',
    'Reverse',
    'Identity',
    'MaxPoolGrad',
    'Sum',
    'GenrelensReluGrad',
    'GatherV2',
  ]) {
    assert.ok(first.includes(name), name);
    assert.ok(WASM_KERNEL_REASONS[name], `${name} has a reason`);
    assert.ok(tf.getKernel(name, 'wasm'), `${name} registered for wasm`);
  }
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Explicit NHWC padding: rows above and below, columns left and right (none on batch or channels). */
const explicitPad = (rows: [number, number], cols: [number, number]): Pad => [[0, 0], rows, cols, [0, 0]];
interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  format?: 'NHWC' | 'NCHW';
}

const convCases: ConvCase[] = [
  { x: [1, 5, 5, 1], f: [3, 3, 1, 1], strides: 1, pad: 'same' },
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 9, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [3, 9, 7, 2], f: [3, 3, 2, 5], strides: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], f: [3, 3, 4, 2], strides: 2, pad: 'valid' }, // last row/col never read
  { x: [2, 5, 6, 3], f: [3, 3, 3, 2], strides: 1, pad: 'valid' },
  { x: [2, 6, 6, 3], f: [1, 1, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 10, 11, 3], f: [5, 5, 3, 2], strides: 3, pad: 'same' },
  { x: [2, 7, 6, 2], f: [2, 3, 2, 3], strides: [2, 1], pad: 'valid' },
  { x: [1, 6, 7, 2], f: [3, 3, 2, 3], strides: 1, pad: explicitPad([1, 2], [0, 1]) },
  { x: [2, 3, 6, 5], f: [3, 3, 3, 2], strides: 2, pad: 'same', format: 'NCHW' },
];

function convShapes(c: ConvCase) {
  const format = c.format ?? 'NHWC';
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad, undefined, false, tf.backend_util.convertConv2DDataFormat(format));
  return { format, dyShape: info.outShape };
}

function caseLabel(c: ConvCase): string {
  return `x${c.x.join('x')} f${c.f.join('x')} s${JSON.stringify(c.strides)} ${JSON.stringify(c.pad)} ${c.format ?? 'NHWC'}`;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: both ways of building Pᵀ (grid, dense), split over the batch or not, against
// the cpu backend at 1e-5 (relative to the largest gradient entry; see assertRelClose).

const FILTER_RTOL = 1e-5;

interface FilterCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  format?: 'NHWC' | 'NCHW';
  /** The path the default tuning takes (pins that both paths are covered by default-tuned cases). */
  defaultMethod: 'grid' | 'dense';
}

const filterCases: FilterCase[] = [
  // batch 1, one channel in and out
  { x: [1, 5, 5, 1], f: [3, 3, 1, 1], strides: 1, pad: 'same', defaultMethod: 'dense' },
  { x: [1, 5, 5, 1], f: [3, 3, 1, 1], strides: 2, pad: 'valid', defaultMethod: 'dense' },
  // odd sizes, batch 3, channels 3/5
  { x: [3, 7, 9, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same', defaultMethod: 'dense' },
  { x: [3, 9, 7, 5], f: [3, 3, 5, 3], strides: 2, pad: 'same', defaultMethod: 'dense' },
  { x: [3, 7, 6, 5], f: [3, 3, 5, 1], strides: 1, pad: 'valid', defaultMethod: 'dense' },
  { x: [1, 11, 9, 3], f: [3, 3, 3, 1], strides: 2, pad: 'valid', defaultMethod: 'dense' },
  { x: [3, 8, 8, 5], f: [3, 3, 5, 3], strides: 2, pad: 'valid', defaultMethod: 'dense' }, // last row/col never read
  { x: [3, 7, 8, 3], f: [2, 3, 3, 5], strides: [2, 1], pad: 'valid', defaultMethod: 'dense' },
  { x: [3, 8, 7, 3], f: [3, 3, 3, 5], strides: 2, pad: 1, dimRoundingMode: 'floor', defaultMethod: 'dense' },
  { x: [3, 10, 11, 3], f: [5, 5, 3, 2], strides: 3, pad: 'same', defaultMethod: 'dense' },
  { x: [3, 6, 6, 3], f: [1, 1, 3, 5], strides: 2, pad: 'same', defaultMethod: 'dense' },
  // bigger images: the grid path by default
  { x: [1, 13, 12, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same', defaultMethod: 'grid' },
  { x: [3, 26, 25, 1], f: [3, 3, 1, 3], strides: 1, pad: 'valid', defaultMethod: 'grid' },
  { x: [3, 6, 6, 3], f: [1, 1, 3, 5], strides: 1, pad: 'valid', defaultMethod: 'grid' },
  // explicit, asymmetric and wider-than-the-filter padding; a 5x5 filter
  { x: [3, 6, 7, 3], f: [2, 3, 3, 5], strides: 1, pad: explicitPad([1, 2], [0, 1]), defaultMethod: 'dense' },
  { x: [1, 5, 5, 3], f: [3, 3, 3, 2], strides: 1, pad: explicitPad([3, 3], [2, 2]), defaultMethod: 'grid' }, // dy larger than x
  { x: [3, 6, 7, 5], f: [5, 5, 5, 3], strides: 1, pad: 'same', defaultMethod: 'dense' },
  { x: [3, 7, 6, 3], f: [3, 3, 3, 5], strides: 1, pad: explicitPad([2, 1], [2, 0]), defaultMethod: 'dense' }, // more above/left
  { x: [3, 5, 6, 5], f: [2, 2, 5, 3], strides: 1, pad: 'same', defaultMethod: 'dense' }, // even filter: pads 0 above, 1 below
  // channels in fours: on the native engine the dense path builds P with the forward convolution's patchRows
  { x: [3, 7, 9, 4], f: [3, 3, 4, 5], strides: 1, pad: 'same', defaultMethod: 'dense' },
  { x: [3, 9, 7, 8], f: [3, 3, 8, 3], strides: 2, pad: 'same', defaultMethod: 'dense' },
  { x: [2, 7, 6, 4], f: [3, 2, 4, 3], strides: 1, pad: explicitPad([2, 1], [0, 2]), defaultMethod: 'dense' },
  // pixels and channels in fours: the grid path lays x on its grid in SIMD (gridChannels); border columns 1, 0 and 2
  { x: [2, 16, 12, 8], f: [3, 3, 8, 5], strides: 1, pad: 'same', defaultMethod: 'grid' },
  { x: [3, 10, 8, 4], f: [3, 3, 4, 3], strides: 1, pad: 'valid', defaultMethod: 'dense' },
  { x: [1, 8, 8, 4], f: [3, 3, 4, 2], strides: 1, pad: explicitPad([3, 3], [2, 2]), defaultMethod: 'grid' },
  // channels-first (x is [n, c, h, w])
  { x: [3, 5, 7, 6], f: [3, 3, 5, 3], strides: 1, pad: 'same', format: 'NCHW', defaultMethod: 'dense' },
  { x: [1, 3, 9, 8], f: [3, 3, 3, 5], strides: 2, pad: 'same', format: 'NCHW', defaultMethod: 'dense' },
];

function filterAttrs(c: FilterCase) {
  return {
    strides: c.strides,
    pad: c.pad,
    dataFormat: c.format ?? 'NHWC',
    dimRoundingMode: c.dimRoundingMode,
    filterShape: c.f,
  };
}

function filterDyShape(c: FilterCase): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad, c.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(c.format ?? 'NHWC'))
    .outShape;
}

/** Runs `f` with filterGradTuning changed, restoring it afterwards. */
async function withTuning<T>(change: Partial<typeof filterGradTuning>, f: () => Promise<T>): Promise<T> {
  const saved = { ...filterGradTuning };
  Object.assign(filterGradTuning, change);
  try {
    return await f();
  } finally {
    Object.assign(filterGradTuning, saved);
  }
}

/** Runs `f` on wasm and cpu; checks `kernel` ran on wasm and the results agree at `rtol` (relative). */
async function checkRel(label: string, kernel: string, rtol: number, f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const wasm = await runOn('wasm', f);
  const cpu = await runOn('cpu', f);
  await tf.setBackend('wasm');
  assert.ok(wasm.kernels.includes(kernel), `${label}: ${kernel} did not run (ran ${wasm.kernels.join(', ')})`);
  return assertRelClose(wasm.results, cpu.results, label, rtol);
}

describe('Conv2DBackpropFilter (missing on wasm; im2col + matrix product) at 1e-5 relative', () => {
  // Dense im2col builds P by runs for the native engine and gathers Pᵀ for XNNPACK: both are checked.
  const modes = [
    { name: 'dense', method: 'dense', tuning: { gridMaxExtra: -1 }, xnnpack: false },
    { name: 'dense, one image per product', method: 'dense', tuning: { gridMaxExtra: -1, denseBlockFloats: 1 }, xnnpack: false },
    { name: 'dense on XNNPACK (Pᵀ gathered)', method: 'dense', tuning: { gridMaxExtra: -1 }, xnnpack: true },
    { name: 'dense on XNNPACK, one image per product', method: 'dense', tuning: { gridMaxExtra: -1, denseBlockFloats: 1 }, xnnpack: true },
    { name: 'grid', method: 'grid', tuning: { gridMaxExtra: Infinity }, xnnpack: false },
    { name: 'grid, one image per product', method: 'grid', tuning: { gridMaxExtra: Infinity, gridBlockFloats: 1 }, xnnpack: false },
  ] as const;
  let native: NativeKernels | null = null;
  before(() => (native = nativeOrSkip()));
  for (const c of filterCases) {
    const label = `x${c.x.join('x')} f${c.f.join('x')} s${JSON.stringify(c.strides)} ${JSON.stringify(c.pad)} ${c.format ?? 'NHWC'}`;
    const stride1 = [c.strides].flat().every((s) => s === 1);
    test(`${label}: default tuning takes the ${c.defaultMethod} path`, () => {
      assert.equal(filterGradMethod(c.x, c.f, filterAttrs(c)), c.defaultMethod);
    });
    for (const mode of modes) {
      if (mode.method === 'grid' && !stride1) continue; // the grid needs stride 1
      if (mode.name.includes('one image') && c.x[0] === 1) continue; // nothing to split
      test(`${label}, ${mode.name}`, async () => {
        if (mode.xnnpack) registerWasmTrainingKernels({ native: null });
        try {
          await withTuning(mode.tuning, async () => {
            assert.equal(filterGradMethod(c.x, c.f, filterAttrs(c)), mode.method);
            const dyShape = filterDyShape(c);
            await checkRel(
              `${label}, ${mode.name}`,
              'Conv2DBackpropFilter',
              FILTER_RTOL,
              () =>
                tf
                  .engine()
                  .runKernel(
                    'Conv2DBackpropFilter',
                    { x: tf.tensor(values(c.x, 1), c.x), dy: tf.tensor(values(dyShape, 2), dyShape) },
                    filterAttrs(c) as unknown as tf.NamedAttrMap,
                  ) as tf.Tensor,
            );
          });
        } finally {
          if (mode.xnnpack) registerWasmTrainingKernels({ native });
        }
      });
    }
  }

  test('an empty batch gives a zero gradient', async () => {
    await checkRel(
      'empty batch',
      'Conv2DBackpropFilter',
      FILTER_RTOL,
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.zeros([0, 6, 6, 3]), dy: tf.zeros([0, 3, 3, 2]) }, {
          strides: 2,
          pad: 'same',
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: [3, 3, 3, 2],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    );
  });

  test('through tf.grad of conv2d, stride 2 same', async () => {
    await checkRel('grad conv2d', 'Conv2DBackpropFilter', FILTER_RTOL, () => {
      const x = tf.tensor4d(values([2, 9, 9, 3], 3), [2, 9, 9, 3]);
      const w = tf.tensor4d(values([3, 3, 3, 4], 4), [3, 3, 3, 4]);
      const r = tf.tensor4d(values([2, 5, 5, 4], 5), [2, 5, 5, 4]);
      return tf.grad((f: tf.Tensor) =>
        tf
          .conv2d(x, f as tf.Tensor4D, 2, 'same')
          .mul(r)
          .sum(),
      )(w);
    });
  });

  test('dilated convolutions have no weight gradient in tfjs (so the kernel never sees a dilation)', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(values([1, 9, 9, 2], 6), [1, 9, 9, 2]);
      const w = tf.tensor4d(values([3, 3, 2, 2], 7), [3, 3, 2, 2]);
      assert.throws(() => tf.grad((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same', 'NHWC', 2).sum())(w), /dilation rates greater than 1/, backend);
      tf.dispose([x, w]);
    }
    await tf.setBackend('wasm');
  });
});

describe('Conv2DBackpropInput (XNNPACK replacement)', () => {
  for (const c of convCases) {
    test(caseLabel(c), async () => {
      const { format, dyShape } = convShapes(c);
      await check(
        caseLabel(c),
        'Conv2DBackpropInput',
        () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(values(dyShape, 2), dyShape), filter: tf.tensor(values(c.f, 3), c.f) }, {
            strides: c.strides,
            pad: c.pad,
            dataFormat: format,
            dimRoundingMode: undefined,
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    });
  }
});

describe('MaxPoolGrad (first-maximum scatter)', () => {
  const cases: { x: [number, number, number, number]; size: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
    { x: [1, 7, 9, 2], size: 2, strides: 2, pad: 'same' }, // odd sizes: partial windows
    { x: [2, 6, 6, 4], size: 3, strides: 1, pad: 'same' }, // overlapping windows accumulate
    { x: [3, 9, 7, 1], size: [3, 2], strides: [2, 1], pad: 'valid' },
  ];
  for (const c of cases) {
    // Signed inputs: the shipped kernel loses windows whose values are all negative.
    test(`x${c.x.join('x')} pool ${JSON.stringify(c.size)} s${JSON.stringify(c.strides)} ${c.pad}`, async () => {
      await check('maxPool grad', 'MaxPoolGrad', () => {
        const x = tf.tensor4d(values(c.x, 41), c.x);
        const y = tf.maxPool(x, c.size, c.strides, c.pad);
        const r = tf.tensor(values(y.shape, 42), y.shape);
        return tf.grad((t: tf.Tensor) =>
          tf
            .maxPool(t as tf.Tensor4D, c.size, c.strides, c.pad)
            .mul(r)
            .sum(),
        )(x);
      });
    });
  }

  test('tiled 2x2 windows, 4 channels at a time in SIMD: the JavaScript loop to the last bit (ties, NaN, -Infinity) and the cpu backend', async () => {
    const shape: [number, number, number, number] = [3, 6, 8, 8];
    const raw = values(shape, 43);
    // Few distinct values (many ties), some NaN and -Infinity.
    const data = raw.map((v, i) => (i % 29 === 0 ? NaN : i % 31 === 0 ? -Infinity : Math.round(v * 2) / 2));
    await tf.setBackend('wasm');
    const gradient = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(data, shape);
        const r = tf.tensor4d(values([3, 3, 4, 8], 44), [3, 3, 4, 8]);
        return Array.from(
          tf
            .grad((t: tf.Tensor) =>
              tf
                .maxPool(t as tf.Tensor4D, 2, 2, 'valid')
                .mul(r)
                .sum(),
            )(x)
            .dataSync(),
        );
      });
    const withSimd = gradient();
    maxPoolSimd.enabled = false;
    const inJs = gradient();
    maxPoolSimd.enabled = true;
    assert.deepEqual(withSimd, inJs);
    assert.ok(withSimd.some((v) => v !== 0) && withSimd.filter((v) => v !== 0).length <= 3 * 3 * 4 * 8, 'one entry per window at most');
    await check('maxPool grad, simd', 'MaxPoolGrad', () => {
      const x = tf.tensor4d(values([2, 4, 6, 8], 45), [2, 4, 6, 8]);
      return tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(x);
    });
  });

  test('tiled 2x2 windows: NaN never wins, a window of only -Infinity and NaN gets no gradient', async () => {
    const x = tf.tensor4d([NaN, 1, 2, NaN, -Infinity, NaN, -Infinity, -Infinity, 5, 5, 5, 5, -1, -3, -2, -4], [2, 2, 2, 2]);
    await tf.setBackend('wasm');
    const dx = tf.grad((t: tf.Tensor) =>
      tf
        .maxPool(t as tf.Tensor4D, 2, 2, 'valid')
        .mul(tf.tensor4d([10, 20, 30, 40], [2, 1, 1, 2]))
        .sum(),
    )(x);
    // Channel 0 of image 0 sees NaN, 2, -Inf, -Inf: 2 wins; channel 1 sees 1, NaN, NaN, -Inf: 1 wins.
    // Image 1, channel 0: 5, 5, -1, -2: the first 5; channel 1: 5, 5, -3, -4: the first 5.
    assert.deepEqual(Array.from(dx.dataSync()), [0, 20, 10, 0, 0, 0, 0, 0, 30, 40, 0, 0, 0, 0, 0, 0]);
    const empty = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(tf.tensor4d([NaN, -Infinity, -Infinity, NaN], [1, 2, 2, 1]));
    assert.deepEqual(Array.from(empty.dataSync()), [0, 0, 0, 0]);
  });

  test('ties (relu zeros) route to the first maximum', async () => {
    await check('maxPool grad ties', 'MaxPoolGrad', () => {
      const x = tf.tensor4d([0, 0, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 3], [1, 4, 4, 1]);
      return tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(x);
    });
  });
});

describe("ReLU's gradient (one SIMD pass instead of Step, Cast and Multiply)", () => {
  test("tfjs' formula's values bit for bit: positive, zero, negative and NaN x; negative dy (−0); sizes with a tail", async () => {
    await tf.setBackend('wasm');
    for (const size of [4, 7, 1001]) {
      const xs = values([size], 61).map((v, i) => (i % 13 === 0 ? NaN : i % 11 === 0 ? 0 : i % 17 === 0 ? -0 : v));
      const dys = values([size], 62).map((v, i) => (i % 19 === 0 ? NaN : v));
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(dys);
      const info = await tf.profile(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.relu(t).mul(dy))(x)));
      assert.ok(info.kernelNames.includes('GenrelensReluGrad'), `the kernel ran (${info.kernelNames.join(', ')})`);
      const ours = tf.tidy(() =>
        Array.from(
          tf
            .grad((t: tf.Tensor) => tf.relu(t).mul(dy))(x)
            .dataSync(),
        ),
      );
      const formula = tf.tidy(() => Array.from(tf.mul(dy, tf.cast(tf.step(x), 'float32')).dataSync()));
      assert.deepEqual(ours, formula, `size ${size}`);
      if (size > 1000)
        assert.ok(
          ours.some((v) => Object.is(v, -0)),
          'a negative dy times 0 gives −0, as tfjs gives',
        );
      tf.dispose([x, dy]);
    }
  });
});

describe('Sum over leading axes (one pass; other reductions go to the shipped kernel)', () => {
  const cases: { shape: number[]; axis: number | number[]; keepDims?: boolean }[] = [
    { shape: [4, 5, 6, 3], axis: [0, 1, 2] }, // a conv bias gradient
    { shape: [4, 5, 6, 8], axis: [0, 1, 2] }, // channels a multiple of 4: the SIMD loop
    { shape: [4, 5, 6, 3], axis: [2, 0, 1], keepDims: true },
    { shape: [7, 9], axis: 0 }, // a dense bias gradient
    { shape: [3, 4, 5], axis: [-3] },
    { shape: [3, 4, 5], axis: [1, 2] }, // trailing: shipped
    { shape: [3, 4, 5], axis: [0, 2] }, // not a prefix: shipped
    { shape: [3, 4], axis: [0, 1] }, // everything: shipped
  ];
  for (const c of cases) {
    test(`sum ${c.shape.join('x')} axis ${JSON.stringify(c.axis)}${c.keepDims ? ' keepDims' : ''}`, async () => {
      await check('sum', 'Sum', () => tf.sum(tf.tensor(values(c.shape, 51), c.shape), c.axis, c.keepDims));
    });
  }

  test('a large sum over rows is accurate (float64 accumulation) and int32 sums stay int32', async () => {
    await tf.setBackend('wasm');
    const rows = 100_000;
    for (const columns of [2, 8]) {
      const x = tf.fill([rows, columns], 0.1);
      const s = tf.sum(x, 0).dataSync();
      for (const v of s) assert.ok(Math.abs(v - rows * 0.1) < 1e-3, `sum ${v}`);
    }
    const ints = tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0);
    assert.equal(ints.dtype, 'int32');
    assert.deepEqual(Array.from(ints.dataSync()), [4, 6]);
  });
});

test('the SIMD column sums equal float64 sums in row order, rounded once to float32 (bit for bit)', async () => {
  await tf.setBackend('wasm');
  const [rows, columns] = [1000, 12];
  const data = Float32Array.from({ length: rows * columns }, (_, i) => Math.fround(Math.sin(i * 1.7) * 10 ** ((i % 7) - 3)));
  data[5] = -0;
  const got = tf.sum(tf.tensor2d(data, [rows, columns]), 0).dataSync();
  const want = new Float32Array(columns);
  for (let c = 0; c < columns; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += data[r * columns + c];
    want[c] = sum;
  }
  assert.deepEqual(Array.from(got), Array.from(want));
});

describe('GatherV2 of rows (block copies; other gathers go to the shipped kernel)', () => {
  const cases: { x: number[]; dtype?: 'int32'; indices: number[]; indexShape: number[]; axis?: number; batchDims?: number }[] = [
    { x: [7, 5], indices: [3, 0, 6, 3], indexShape: [4] }, // short rows, a repeated index
    { x: [9, 40], indices: [8, 1, 1, 4, 0, 7], indexShape: [2, 3] }, // long rows (block copies), 2-D indices: an embedding lookup
    { x: [6, 3, 4], indices: [5, 2], indexShape: [2] }, // rows of a 3-D tensor
    { x: [6, 3], dtype: 'int32', indices: [1, 5, 0], indexShape: [3] },
    { x: [5, 4], indices: [], indexShape: [0] }, // no index
    { x: [4, 6], indices: [5, 0, 2], indexShape: [3], axis: 1 }, // another axis: shipped
    { x: [2, 4, 3], indices: [1, 0, 3, 3], indexShape: [2, 2], axis: 1, batchDims: 1 }, // batch dimensions: shipped
  ];
  for (const c of cases) {
    test(`gather x${c.x.join('x')}${c.dtype ? ' int32' : ''} indices ${c.indexShape.join('x')} axis ${c.axis ?? 0}${c.batchDims ? ' batchDims' : ''}`, async () => {
      await check('gather', 'GatherV2', () =>
        tf.gather(
          c.dtype ? tf.tensor(values(c.x, 61).map(Math.round), c.x, 'int32') : tf.tensor(values(c.x, 61), c.x),
          tf.tensor(c.indices, c.indexShape, 'int32'),
          c.axis ?? 0,
          c.batchDims ?? 0,
        ),
      );
    });
  }
});

describe('UnsortedSegmentSum (missing on wasm)', () => {
  const cases: { x: number[]; ids: number[]; n: number }[] = [
    { x: [6], ids: [2, 0, 2, 1, 4, 0], n: 5 },
    { x: [6, 3], ids: [3, 3, 0, 1, 3, 0], n: 4 }, // repeated, out of order, segment 2 empty
    { x: [5, 2, 3], ids: [1, 0, 1, 1, 0], n: 3 },
    { x: [7, 4], ids: [6, 5, 4, 3, 2, 1, 0], n: 7 },
    { x: [4, 2], ids: [0, 9, 1, 0], n: 2 }, // id beyond numSegments is dropped
  ];
  for (const c of cases) {
    test(`x${c.x.join('x')} ids ${c.ids.join(',')} n${c.n}`, async () => {
      await check('segment sum', 'UnsortedSegmentSum', () => tf.unsortedSegmentSum(tf.tensor(values(c.x, 7), c.x), tf.tensor1d(c.ids, 'int32'), c.n));
    });
  }

  test('through tf.grad of gather (the embedding gradient)', async () => {
    await check('grad gather', 'UnsortedSegmentSum', () => {
      const table = tf.tensor2d(values([10, 4], 8), [10, 4]);
      const ids = tf.tensor2d(
        [
          [1, 2, 0, 0],
          [9, 2, 2, 5],
        ],
        [2, 4],
        'int32',
      );
      const r = tf.tensor3d(values([2, 4, 4], 9), [2, 4, 4]);
      return tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(r).sum())(table);
    });
  });
});

describe('BatchMatMul and _FusedMatMul (transposes materialised, XNNPACK path)', () => {
  const shapes: { m: number; k: number; n: number; batchA: number[]; batchB: number[] }[] = [
    { m: 3, k: 5, n: 4, batchA: [], batchB: [] },
    { m: 1, k: 7, n: 2, batchA: [], batchB: [] },
    { m: 6, k: 1, n: 5, batchA: [], batchB: [] },
    { m: 4, k: 30, n: 50, batchA: [], batchB: [] }, // big right operand: computed as (op(B)ᵀ·op(A)ᵀ)ᵀ
    { m: 3, k: 5, n: 4, batchA: [2], batchB: [1] }, // batched left operand folded into rows
    { m: 2, k: 3, n: 4, batchA: [2, 3], batchB: [1, 1] },
    { m: 3, k: 4, n: 2, batchA: [3], batchB: [3] }, // batched right operand: shipped kernel
  ];
  for (const s of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const label = `a${[...s.batchA, s.m, s.k].join('x')} b${[...s.batchB, s.k, s.n].join('x')} tA=${ta} tB=${tb}`;
        const aShape = [...s.batchA, ...(ta ? [s.k, s.m] : [s.m, s.k])];
        const bShape = [...s.batchB, ...(tb ? [s.n, s.k] : [s.k, s.n])];
        test(`matMul ${label}`, async () => {
          await check(label, 'BatchMatMul', () => tf.matMul(tf.tensor(values(aShape, 11), aShape), tf.tensor(values(bShape, 12), bShape), ta, tb));
        });
        test(`fused matMul + bias + relu ${label}`, async () => {
          await check(label, '_FusedMatMul', () =>
            tf.fused.matMul({
              a: tf.tensor(values(aShape, 13), aShape),
              b: tf.tensor(values(bShape, 14), bShape),
              transposeA: ta,
              transposeB: tb,
              bias: tf.tensor1d(values([s.n], 15)),
              activation: 'relu',
            }),
          );
        });
      }
    }
  }

  test('gradient of a dense layer (both transpose flags used)', async () => {
    await check('dense grad', 'BatchMatMul', () => {
      const x = tf.tensor2d(values([8, 6], 16), [8, 6]);
      const w = tf.tensor2d(values([6, 5], 17), [6, 5]);
      const r = tf.tensor2d(values([8, 5], 18), [8, 5]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf
          .matMul(a as tf.Tensor2D, b as tf.Tensor2D)
          .mul(r)
          .sum(),
      );
      return g([x, w]);
    });
  });
});

describe('Slice, Unpack, SplitV, StridedSlice (no whole-input copies)', () => {
  const sliceCases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [10], begin: [3], size: [4] },
    { shape: [4, 5], begin: [1, 0], size: [2, 5] },
    { shape: [4, 5], begin: [0, 2], size: [4, 3] },
    { shape: [3, 4, 5], begin: [1, 1, 1], size: [2, 2, 3] },
    { shape: [3, 4, 5], begin: [0, 2, 0], size: [3, 1, 5] },
    { shape: [2, 3, 4, 5], begin: [1, 0, 1, 2], size: [1, 3, 2, -1] },
    { shape: [2, 3, 2, 3, 2], begin: [0, 1, 0, 1, 1], size: [2, 2, 2, 2, 1] },
  ];
  for (const c of sliceCases) {
    test(`slice ${c.shape.join('x')} begin ${c.begin} size ${c.size}`, async () => {
      await check('slice', 'Slice', () => tf.slice(tf.tensor(values(c.shape, 21), c.shape), c.begin, c.size));
    });
  }

  test('slice of int32 and bool tensors', async () => {
    await check('slice int32', 'Slice', () =>
      tf.slice(
        tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [2, 3],
          'int32',
        ),
        [0, 1],
        [2, 2],
      ),
    );
    await check('slice bool', 'Slice', () =>
      tf
        .slice(
          tf.tensor2d(
            [
              [1, 0, 1],
              [0, 1, 1],
            ],
            [2, 3],
            'bool',
          ),
          [1, 0],
          [1, 3],
        )
        .cast('int32'),
    );
  });

  for (const [shape, axis] of [
    [[4, 3], 0],
    [[4, 3], 1],
    [[3, 5, 4], 1],
    [[3, 5, 4], 2],
    [[2, 3, 4], -1],
    [[5, 1, 2], 0],
  ] as [number[], number][]) {
    test(`unstack ${shape.join('x')} axis ${axis}`, async () => {
      await check('unstack', 'Unpack', () => tf.unstack(tf.tensor(values(shape, 22), shape), axis));
    });
  }

  for (const [shape, splits, axis] of [
    [[3, 8], 4, 1],
    [[6, 5], [1, 2, 3], 0],
    [[2, 6, 3], [2, 4], 1],
    [[2, 3, 8], [3, 5], -1],
  ] as [number[], number | number[], number][]) {
    test(`split ${shape.join('x')} ${JSON.stringify(splits)} axis ${axis}`, async () => {
      await check('split', 'SplitV', () => tf.split(tf.tensor(values(shape, 23), shape), splits, axis));
    });
  }

  for (const [shape, begin, end, strides] of [
    [
      [6, 4],
      [1, 0],
      [4, 4],
      [1, 1],
    ], // contiguous in dim 0
    [
      [3, 4, 5],
      [0, 1, 0],
      [3, 3, 5],
      [1, 1, 1],
    ], // simple slice
    [
      [6, 4],
      [0, 0],
      [6, 4],
      [2, 3],
    ], // strided: shipped C++ kernel
  ] as number[][][]) {
    test(`stridedSlice ${shape.join('x')} ${begin}..${end} by ${strides}`, async () => {
      await check('stridedSlice', 'StridedSlice', () => tf.stridedSlice(tf.tensor(values(shape, 24), shape), begin, end, strides));
    });
  }

  for (const [shape, axes] of [
    [[7], [0]],
    [[4, 5], [0]],
    [[4, 5], [1]],
    [
      [4, 5],
      [0, 1],
    ],
    [[3, 6, 4], [1]], // Bidirectional's time reversal
    [
      [3, 6, 4],
      [0, 2],
    ],
    [
      [2, 3, 4, 5],
      [1, 3],
    ],
  ] as [number[], number[]][]) {
    test(`reverse ${shape.join('x')} axes ${axes}`, async () => {
      await check('reverse', 'Reverse', () => tf.reverse(tf.tensor(values(shape, 27), shape), axes));
    });
  }

  test('reverse of an int32 tensor', async () => {
    await check('reverse int32', 'Reverse', () =>
      tf.reverse(
        tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [2, 3],
          'int32',
        ),
        1,
      ),
    );
  });

  test('identity shares the buffer and survives disposing the source', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const y = tf.clone(x);
    assert.equal(backend.numDataIds(), before, 'clone allocated no new buffer');
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
    y.dispose();
  });

  test('gradient of unstack/stack and slice', async () => {
    await check('unstack grad', 'Unpack', () => {
      const x = tf.tensor3d(values([2, 5, 3], 25), [2, 5, 3]);
      const r = tf.tensor2d(values([2, 3], 26), [2, 3]);
      return tf.grad((t: tf.Tensor) => tf.addN(tf.unstack(t, 1).map((s, i) => s.mul(r).mul(i + 1))).sum())(x);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: one fit step on wasm vs cpu from the same initial weights.

function tinyCnn(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.dropout({ rate: 0.2 }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 8, activation: 'relu' }));
  m.add(tf.layers.dropout({ rate: 0.5 }));
  m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
  return m;
}

function tinyBiLstm(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 7, maskZero: true }));
  m.add(
    tf.layers.bidirectional({
      layer: tf.layers.lstm({ units: 5, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2 }) as unknown as tf.layers.RNN,
      mergeMode: 'concat',
    }),
  );
  m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4 }) as unknown as tf.layers.RNN }));
  m.add(tf.layers.dense({ units: 8, activation: 'relu' }));
  m.add(tf.layers.dropout({ rate: 0.5 }));
  m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
  return m;
}

async function fitStep(
  backend: string,
  build: () => tf.LayersModel,
  initial: { shape: number[]; data: Float32Array }[],
  x: () => tf.Tensor,
  y: () => tf.Tensor,
): Promise<{ weights: Result[]; kernels: string[] }> {
  await tf.setBackend(backend);
  const model = withRandom(99, build);
  model.setWeights(initial.map((w) => tf.tensor(w.data, w.shape)));
  // SGD: the step is lr x gradient, so matching weights means matching gradients. (Adam's first step
  // is about lr x sign(gradient), which turns float rounding in near-zero gradients into lr-sized
  // differences and compares nothing about the kernels.)
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
  const xs = x();
  const ys = y();
  let kernels: string[] = [];
  // Same Math.random stream on both backends, so dropout masks are identical.
  await withRandomAsync(7, async () => {
    const profile = await tf.profile(async () => {
      await model.fit(xs, ys, { epochs: 1, batchSize: xs.shape[0], shuffle: false, verbose: 0 });
      return [] as unknown as tf.Tensor;
    });
    kernels = profile.kernelNames;
  });
  const weights = model.getWeights().map((w) => ({ shape: w.shape, dtype: w.dtype, data: Array.from(w.dataSync()) }));
  tf.dispose([xs, ys]);
  model.dispose();
  return { weights, kernels };
}

async function compareFit(label: string, build: () => tf.LayersModel, x: () => tf.Tensor, y: () => tf.Tensor, mustRun: string[]): Promise<void> {
  await tf.setBackend('cpu');
  const model = withRandom(99, build);
  const initial = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));
  model.dispose();
  const wasm = await fitStep('wasm', build, initial, x, y);
  const cpu = await fitStep('cpu', build, initial, x, y);
  await tf.setBackend('wasm');
  for (const k of mustRun) assert.ok(wasm.kernels.includes(k), `${label}: ${k} did not run on wasm`);
  // The step moved the weights (otherwise the comparison would prove nothing).
  const moved = wasm.weights.some((w, i) => w.data.some((v, j) => Math.abs(v - initial[i].data[j]) > 1e-5));
  assert.ok(moved, `${label}: weights did not change`);
  assertClose(wasm.weights, cpu.weights, label, 1e-4);
}

test('end to end: one fit step of a tiny CNN on wasm matches cpu', async () => {
  await compareFit(
    'cnn',
    tinyCnn,
    () => tf.tensor4d(values([4, 12, 12, 3], 31), [4, 12, 12, 3]),
    () =>
      tf.tensor2d([
        [1, 0, 1],
        [0, 0, 1],
        [1, 1, 0],
        [0, 1, 0],
      ]),
    ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul'],
  );
});

test('end to end: one fit step of a tiny BiLSTM on wasm matches cpu', async () => {
  await compareFit(
    'bilstm',
    tinyBiLstm,
    () =>
      tf.tensor2d(
        [
          [1, 2, 3, 0, 0, 0, 0],
          [4, 5, 6, 7, 8, 9, 10],
          [3, 3, 3, 3, 0, 0, 0],
          [19, 1, 2, 0, 0, 0, 0],
        ],
        [4, 7],
        'float32',
      ),
    () =>
      tf.tensor2d([
        [1, 0, 1],
        [0, 0, 1],
        [1, 1, 0],
        [0, 1, 0],
      ]),
    ['UnsortedSegmentSum', 'Unpack', 'BatchMatMul'],
  );
});

// ---------------------------------------------------------------------------------------------
// Regression test (issue: "the optimised conv path must give the same gradients as the reference
// path"): the gradients of one training step of a small 2-conv CNN, tf.variableGrads of its loss, on
// wasm (the optimised Conv2DBackpropFilter, both of its paths) vs the cpu backend's reference kernels.
//
// Smooth activations (tanh, sigmoid) and no max-pooling: relu's kink and max's ties would let a
// last-bit difference in the forward pass flip a mask and move a gradient by far more than rounding.

function twoConvCnn(): tf.LayersModel {
  const m = tf.sequential();
  // 24x24 → 12x12 (stride 2: the dense path), then 12x12 → 12x12 (stride 1: the grid path).
  m.add(tf.layers.conv2d({ inputShape: [24, 24, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 1, padding: 'same', activation: 'tanh' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
  return m;
}

interface GradientCase {
  build: () => tf.LayersModel;
  xs: () => tf.Tensor;
  ys: () => tf.Tensor;
}

const twoConvCase: GradientCase = {
  build: twoConvCnn,
  xs: () => tf.tensor4d(values([3, 24, 24, 3], 41), [3, 24, 24, 3]),
  ys: () =>
    tf.tensor2d([
      [1, 0, 1],
      [0, 0, 1],
      [1, 1, 0],
    ]),
};

async function trainingGradients(
  backend: string,
  initial: { shape: number[]; data: Float32Array }[],
  gradientCase: GradientCase = twoConvCase,
): Promise<{ loss: Result; grads: Result[]; kernels: string[] }> {
  await tf.setBackend(backend);
  const model = withRandom(5, gradientCase.build);
  model.setWeights(initial.map((w) => tf.tensor(w.data, w.shape)));
  const xs = gradientCase.xs();
  const ys = gradientCase.ys();
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
  const profile = await tf.profile(() => {
    out = tf.variableGrads(() => tf.metrics.binaryCrossentropy(ys, model.apply(xs) as tf.Tensor).mean() as tf.Scalar, varList);
    return [] as unknown as tf.Tensor;
  });
  const { value, grads } = out!;
  const plain = (t: tf.Tensor): Result => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) });
  const result = { loss: plain(value), grads: varList.map((v) => plain(grads[v.name])), kernels: profile.kernels.map((k) => k.name) };
  tf.dispose([value, ...Object.values(grads), xs, ys]);
  model.dispose();
  return result;
}

test('regression: optimised conv weight-gradient paths give the reference (cpu) training gradients, 1e-5 relative', async () => {
  // Both conv layers' weight gradients take the paths the coursework CNN's do: dense (stride 2) and grid.
  const conv = { pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  assert.equal(filterGradMethod([3, 24, 24, 3], [3, 3, 3, 4], { ...conv, strides: 2 }), 'dense');
  assert.equal(filterGradMethod([3, 12, 12, 4], [3, 3, 4, 6], { ...conv, strides: 1 }), 'grid');
  await tf.setBackend('cpu');
  const model = withRandom(5, twoConvCnn);
  const initial = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));
  model.dispose();
  const wasm = await trainingGradients('wasm', initial);
  const cpu = await trainingGradients('cpu', initial);
  await tf.setBackend('wasm');
  const filterCalls = wasm.kernels.filter((k) => k === 'Conv2DBackpropFilter').length;
  assert.equal(filterCalls, 2, `Conv2DBackpropFilter ran ${filterCalls} times on wasm (ran ${wasm.kernels.join(', ')})`);
  assert.equal(wasm.grads.length, 6); // 2 conv kernels + biases, dense kernel + bias
  for (const g of cpu.grads)
    assert.ok(
      g.data.some((v) => v !== 0),
      'every reference gradient is non-zero',
    );
  assertRelClose([wasm.loss], [cpu.loss], 'loss', FILTER_RTOL);
  wasm.grads.forEach((g, i) => assertRelClose([g], [cpu.grads[i]], `gradient ${i} (${g.shape.join('x')})`, FILTER_RTOL));
});

// ---------------------------------------------------------------------------------------------
// Both engines for matrix products and convolutions: onnxruntime-node's native kernels (used when
// that optional package loads, as in CI) and the wasm backend's XNNPACK. The tests above run on
// whichever selectBackend chose; here each engine is registered in turn and checked against the
// cpu backend, and the native engine's own products against plain loops.

function nativeOrSkip(): NativeKernels | null {
  try {
    return loadNativeKernels();
  } catch {
    return null;
  }
}

/** C = op(A)·op(B) + bias by plain loops (the independent reference). */
function referenceGemm(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean, bias?: Float32Array) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = bias ? bias[j] : 0;
      for (let p = 0; p < k; p++) sum += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = sum;
    }
  }
  return out;
}

/** NHWC conv of an HWIO filter with explicit pads, strides and dilations, by plain loops. */
function referenceConv(
  x: Float32Array,
  [n, h, w, c]: number[],
  f: Float32Array,
  [fh, fw, , o]: number[],
  pads: { top: number; bottom: number; left: number; right: number },
  [sh, sw]: number[],
  [dh, dw]: number[],
) {
  const oh = Math.floor((h + pads.top + pads.bottom - dh * (fh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pads.left + pads.right - dw * (fw - 1) - 1) / sw) + 1;
  const out = new Float32Array(n * oh * ow * o);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let co = 0; co < o; co++) {
          let sum = 0;
          for (let i = 0; i < fh; i++)
            for (let j = 0; j < fw; j++) {
              const y = r * sh + i * dh - pads.top;
              const z = q * sw + j * dw - pads.left;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              for (let ci = 0; ci < c; ci++) sum += x[((b * h + y) * w + z) * c + ci] * f[((i * fw + j) * c + ci) * o + co];
            }
          out[((b * oh + r) * ow + q) * o + co] = sum;
        }
  return { out, shape: [n, oh, ow, o] };
}

function assertArrayClose(actual: Float32Array, expected: Float32Array, label: string): void {
  assertRelClose(
    [{ shape: [actual.length], dtype: 'float32', data: Array.from(actual) }],
    [{ shape: [expected.length], dtype: 'float32', data: Array.from(expected) }],
    label,
    FILTER_RTOL,
  );
}

describe('native engine (onnxruntime-node): products against plain loops', () => {
  test('gemm, every transpose combination, with and without bias', (t) => {
    const engine = nativeOrSkip();
    if (!engine) return t.skip('onnxruntime-node is not installed');
    // A literal case first: [[1,2,3],[4,5,6]]·[[1,0],[0,1],[0,1]] = [[1,5],[4,11]].
    const literal = new Float32Array(4);
    engine.gemm({ a: Float32Array.of(1, 2, 3, 4, 5, 6), b: Float32Array.of(1, 0, 0, 1, 0, 1), out: literal, m: 2, k: 3, n: 2, transA: false, transB: false });
    assert.deepEqual(Array.from(literal), [1, 5, 4, 11]);
    const [m, k, n] = [5, 7, 3];
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const withBias of [false, true]) {
          const a = values([m * k], 61);
          const b = values([k * n], 62);
          const bias = withBias ? values([n], 63) : undefined;
          const out = new Float32Array(m * n);
          engine.gemm({ a, b, bias, out, m, k, n, transA, transB });
          assertArrayClose(out, referenceGemm(a, b, m, k, n, transA, transB, bias), `gemm transA ${transA} transB ${transB} bias ${withBias}`);
        }
  });

  test('a transposed left operand of a wide product is transposed first (its own graph): the same product', (t) => {
    const engine = nativeOrSkip();
    if (!engine) return t.skip('onnxruntime-node is not installed');
    const [m, k] = [5, 7];
    for (const n of [TRANSPOSE_FIRST_MIN_N - 1, TRANSPOSE_FIRST_MIN_N, TRANSPOSE_FIRST_MIN_N + 3])
      for (const transB of [false, true])
        for (const withBias of [false, true]) {
          const a = values([m * k], 71);
          const b = values([k * n], 72);
          const bias = withBias ? values([n], 73) : undefined;
          const out = new Float32Array(m * n);
          engine.gemm({ a, b, bias, out, m, k, n, transA: true, transB });
          assertArrayClose(out, referenceGemm(a, b, m, k, n, true, transB, bias), `gemm transA, n ${n}, transB ${transB}, bias ${withBias}`);
        }
  });

  test('products and convolutions larger than one call writes run in blocks with the same result', (t) => {
    const engine = nativeOrSkip();
    if (!engine) return t.skip('onnxruntime-node is not installed');
    assert.equal(rowsPerCall(1000, 10_000), Math.floor(MAX_OUTPUT_FLOATS_PER_CALL / 1000));
    assert.equal(rowsPerCall(MAX_OUTPUT_FLOATS_PER_CALL * 2, 3), 1, 'at least one row');
    assert.equal(rowsPerCall(1, 7), 7, 'never more rows than there are');
    const [m, k, n] = [3000, 6, 200];
    assert.ok(m * n > MAX_OUTPUT_FLOATS_PER_CALL, 'the case needs more than one call');
    for (const transA of [false, true]) {
      const a = values([m * k], 64);
      const b = values([k * n], 65);
      const bias = values([n], 66);
      const out = new Float32Array(m * n);
      engine.gemm({ a, b, bias, out, m, k, n, transA, transB: false });
      assertArrayClose(out, referenceGemm(a, b, m, k, n, transA, false, bias), `large gemm transA ${transA}`);
    }
    const xShape = [3, 40, 40, 2];
    const fShape = [3, 3, 2, 150];
    assert.ok(40 * 40 * 150 * 3 > MAX_OUTPUT_FLOATS_PER_CALL && rowsPerCall(40 * 40 * 150, 3) < 3, 'the images need more than one call');
    const x = values(xShape, 67);
    const filter = values(fShape, 68);
    const pads = { top: 1, bottom: 1, left: 1, right: 1 };
    const reference = referenceConv(x, xShape, filter, fShape, pads, [1, 1], [1, 1]);
    const out = new Float32Array(reference.out.length);
    engine.conv2d({
      x,
      xShape: xShape as [number, number, number, number],
      filter,
      filterShape: fShape as [number, number, number, number],
      out,
      pads,
      strides: [1, 1],
      dilations: [1, 1],
    });
    assertArrayClose(out, reference.out, 'large conv2d');
  });

  test('conv2d with asymmetric pads, strides, dilations and bias', (t) => {
    const engine = nativeOrSkip();
    if (!engine) return t.skip('onnxruntime-node is not installed');
    const cases = [
      { xShape: [2, 6, 5, 3], fShape: [3, 3, 3, 4], pads: { top: 1, bottom: 1, left: 1, right: 1 }, strides: [1, 1], dilations: [1, 1] },
      { xShape: [1, 7, 7, 2], fShape: [3, 2, 2, 3], pads: { top: 0, bottom: 1, left: 1, right: 0 }, strides: [2, 1], dilations: [1, 1] },
      { xShape: [2, 8, 6, 1], fShape: [2, 3, 1, 2], pads: { top: 2, bottom: 0, left: 0, right: 2 }, strides: [1, 2], dilations: [2, 1] },
    ];
    for (const [index, c] of cases.entries()) {
      const x = values(c.xShape, 70 + index);
      const filter = values(c.fShape, 80 + index);
      const bias = index === 1 ? values([c.fShape[3]], 90) : undefined;
      const reference = referenceConv(x, c.xShape, filter, c.fShape, c.pads, c.strides, c.dilations);
      if (bias) for (let i = 0; i < reference.out.length; i++) reference.out[i] += bias[i % c.fShape[3]];
      const out = new Float32Array(reference.out.length);
      engine.conv2d({
        x,
        xShape: c.xShape as [number, number, number, number],
        filter,
        filterShape: c.fShape as [number, number, number, number],
        bias,
        out,
        pads: c.pads,
        strides: c.strides as [number, number],
        dilations: c.dilations as [number, number],
      });
      assertArrayClose(out, reference.out, `conv2d case ${index}`);
    }
  });
});

for (const engineName of ['native', 'xnnpack'] as const) {
  describe(`wasm products on ${engineName === 'native' ? 'the native engine (onnxruntime-node)' : 'XNNPACK'} match the cpu backend`, () => {
    const calls = { gemm: 0, conv2d: 0 };
    let available = true;
    before(() => {
      const loaded = engineName === 'native' ? nativeOrSkip() : null;
      available = engineName === 'xnnpack' || loaded !== null;
      const counting: NativeKernels | null = loaded && {
        name: loaded.name,
        gemm: (call) => (calls.gemm++, loaded.gemm(call)),
        batchedGemm: (call) => loaded.batchedGemm(call),
        conv2d: (call) => (calls.conv2d++, loaded.conv2d(call)),
      };
      registerWasmTrainingKernels({ native: counting });
    });
    after(() => registerWasmTrainingKernels({ native: nativeOrSkip() }));

    test('matMul, every transpose combination and a batched left operand; fused bias + relu', async (t) => {
      if (!available) return t.skip('onnxruntime-node is not installed');
      const before = calls.gemm;
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        await check(`matMul ${ta} ${tb}`, 'BatchMatMul', () =>
          tf.matMul(
            tf.tensor2d(values([6, 6], 1), [6, 6]).slice([0, 0], [ta ? 4 : 5, ta ? 5 : 4]),
            tf.tensor2d(values([4, 3], 2), tb ? [3, 4] : [4, 3]),
            ta,
            tb,
          ),
        );
      }
      await check('batched left', 'BatchMatMul', () => tf.matMul(tf.tensor3d(values([2, 5, 4], 3), [2, 5, 4]), tf.tensor2d(values([4, 3], 4), [4, 3])));
      await check('fused bias relu', '_FusedMatMul', () =>
        tf.fused.matMul({
          a: tf.tensor2d(values([5, 4], 5), [5, 4]),
          b: tf.tensor2d(values([4, 3], 6), [4, 3]),
          bias: tf.tensor1d(values([3], 7)),
          activation: 'relu',
        }),
      );
      if (engineName === 'native') assert.ok(calls.gemm > before, 'the native gemm ran');
    });

    test('conv2d and fused conv2d (bias + relu), same / valid / stride 2', async (t) => {
      if (!available) return t.skip('onnxruntime-node is not installed');
      const before = calls.conv2d;
      const x = () => tf.tensor4d(values([2, 9, 8, 3], 11), [2, 9, 8, 3]);
      const f = () => tf.tensor4d(values([3, 3, 3, 4], 12), [3, 3, 3, 4]);
      await check('conv2d same', 'Conv2D', () => tf.conv2d(x(), f(), 1, 'same'));
      await check('conv2d valid stride 2', 'Conv2D', () => tf.conv2d(x(), f(), 2, 'valid'));
      await check('fused conv2d', 'FusedConv2D', () =>
        tf.fused.conv2d({ x: x(), filter: f(), strides: 2, pad: 'same', bias: tf.tensor1d(values([4], 13)), activation: 'relu' }),
      );
      if (engineName === 'native') assert.ok(calls.conv2d > before, 'the native conv2d ran');
    });

    test('convolutions of channels in fours: patch-matrix products on the native engine (same / valid / stride 2 / explicit pads, fused, in blocks)', async (t) => {
      if (!available) return t.skip('onnxruntime-node is not installed');
      const before = { ...calls };
      const x = () => tf.tensor4d(values([2, 9, 8, 8], 21), [2, 9, 8, 8]);
      const f = () => tf.tensor4d(values([3, 3, 8, 5], 22), [3, 3, 8, 5]);
      const cases = async () => {
        await check('patches same', 'Conv2D', () => tf.conv2d(x(), f(), 1, 'same'));
        await check('patches valid stride 2', 'Conv2D', () => tf.conv2d(x(), f(), 2, 'valid'));
        await check('patches stride [2, 1], explicit pads', 'Conv2D', () =>
          tf.conv2d(
            x(),
            f(),
            [2, 1],
            [
              [0, 0],
              [2, 0],
              [1, 3],
              [0, 0],
            ],
          ),
        );
        await check('patches 2x3 filter', 'Conv2D', () => tf.conv2d(x(), tf.tensor4d(values([2, 3, 8, 3], 23), [2, 3, 8, 3]), 1, 'same'));
        await check('patches fused bias relu', 'FusedConv2D', () =>
          tf.fused.conv2d({ x: x(), filter: f(), strides: 1, pad: 'same', bias: tf.tensor1d(values([5], 24)), activation: 'relu' }),
        );
        await check('patches input gradient', 'Conv2DBackpropInput', () =>
          tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, tf.tensor4d(values([3, 3, 8, 8], 25), [3, 3, 8, 8]), 1, 'same').sum())(x()),
        );
      };
      await cases();
      const saved = convTuning.patchBlockFloats;
      convTuning.patchBlockFloats = 100; // about one output position per product
      try {
        await cases();
      } finally {
        convTuning.patchBlockFloats = saved;
      }
      if (engineName === 'native') {
        assert.ok(calls.gemm - before.gemm > 100, 'the convolutions were matrix products');
        assert.equal(calls.conv2d, before.conv2d, "ONNX Runtime's Conv did not run");
      }
    });

    test('pointwise (1×1) convolutions: one matrix product on the native engine', async (t) => {
      if (!available) return t.skip('onnxruntime-node is not installed');
      const before = { ...calls };
      const x = () => tf.tensor4d(values([2, 9, 8, 3], 14), [2, 9, 8, 3]);
      const f = () => tf.tensor4d(values([1, 1, 3, 5], 15), [1, 1, 3, 5]);
      await check('conv2d 1x1', 'Conv2D', () => tf.conv2d(x(), f(), 1, 'valid'));
      await check('fused conv2d 1x1 (bias + relu6)', 'FusedConv2D', () =>
        tf.fused.conv2d({ x: x(), filter: f(), strides: 1, pad: 'same', bias: tf.tensor1d(values([5], 16)), activation: 'relu6' }),
      );
      await check('conv2d 1x1 stride 2 (not a plain product)', 'Conv2D', () => tf.conv2d(x(), f(), 2, 'valid'));
      if (engineName === 'native') {
        assert.equal(calls.gemm - before.gemm, 2, 'the two stride-1 pointwise convolutions were matrix products');
        assert.equal(calls.conv2d - before.conv2d, 1, 'the strided one stayed a convolution');
      }
    });

    test('training gradients of a conv net and of a BiLSTM, 1e-5 relative to cpu', async (t) => {
      if (!available) return t.skip('onnxruntime-node is not installed');
      const smoothLstm = (): tf.LayersModel => {
        const m = tf.sequential();
        m.add(tf.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 7, maskZero: true }));
        m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 5, returnSequences: true }) as unknown as tf.layers.RNN }));
        m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4 }) as unknown as tf.layers.RNN }));
        m.add(tf.layers.dense({ units: 3, activation: 'sigmoid' }));
        return m;
      };
      const lstmCase: GradientCase = {
        build: smoothLstm,
        xs: () =>
          tf.tensor2d(
            [
              [1, 2, 3, 0, 0, 0, 0],
              [4, 5, 6, 7, 8, 9, 10],
              [3, 3, 3, 3, 0, 0, 0],
            ],
            [3, 7],
            'float32',
          ),
        ys: () =>
          tf.tensor2d([
            [1, 0, 1],
            [0, 0, 1],
            [1, 1, 0],
          ]),
      };
      const before = { ...calls };
      for (const [label, gradientCase] of [
        ['conv net', twoConvCase],
        ['BiLSTM', lstmCase],
      ] as const) {
        await tf.setBackend('cpu');
        const model = withRandom(5, gradientCase.build);
        const initial = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));
        model.dispose();
        const wasm = await trainingGradients('wasm', initial, gradientCase);
        const cpu = await trainingGradients('cpu', initial, gradientCase);
        await tf.setBackend('wasm');
        assertRelClose([wasm.loss], [cpu.loss], `${label} loss`, FILTER_RTOL);
        wasm.grads.forEach((g, i) => assertRelClose([g], [cpu.grads[i]], `${label} gradient ${i} (${g.shape.join('x')})`, FILTER_RTOL));
      }
      if (engineName === 'native') assert.ok(calls.gemm > before.gemm && calls.conv2d > before.conv2d, 'the native engine computed them');
    });
  });
}
