/**
 * Matrix products and convolutions on ONNX Runtime's native CPU kernels (MLAS), for the wasm backend.
 *
 * Why: on the wasm backend a training step's matrix products and convolutions already run at the
 * speed of WebAssembly's 128-bit SIMD (XNNPACK, about 20 GMAC/s on one core here); they are two
 * thirds of the BiLSTM's step and nine tenths of the CNN's. `onnxruntime-node` ships a prebuilt
 * native library for Linux, macOS and Windows inside its npm package (no download at install), whose
 * MLAS kernels use the machine's AVX2 / AVX-512: on one core here, 50–90 GMAC/s for the LSTM's
 * products and 35–70 GMAC/s for the CNN's 3×3 convolutions. The wasm backend keeps every other
 * kernel; its `BatchMatMul`, `_FusedMatMul`, `Conv2D`, `FusedConv2D` and the convolution gradients
 * (pipeline/lib/engine/wasm-kernels/) hand their products to this module, which reads and writes the tensors
 * in the wasm heap in place.
 *
 * Each operation is a small ONNX graph (`Gemm`; `Conv` between NHWC↔NCHW transposes) written by
 * ./onnx-model.ts (hand-encoded protobuf, no ONNX tooling needed), with dynamic sizes, one session per
 * attribute combination, run synchronously (tfjs kernels are synchronous) on one intra-op thread:
 * one core per backend instance, like the wasm backend. Sessions run through the package's native
 * binding (`dist/binding.js`), whose `run` is the synchronous call that the public async
 * `InferenceSession.run` wraps in `setImmediate`; the version is pinned in package.json for that.
 *
 * The same loader runs a float64 product for the strong models' fits (`loadNativeGemm64`) and whole
 * models (`loadNativeModel`: the poster backbone).
 *
 * Results equal XNNPACK's up to float32 rounding (summation order): tested against the reference
 * cpu backend to 1e-5 relative (tests/train/lstm-speed.test.ts,
 * tests/engine/wasm-kernels.test.ts). `GENRELENS_NATIVE_KERNELS=0` turns this off.
 */
import { createRequire } from 'node:module';
import { attribute, node, onnxModel, ONNX_TYPE, valueInfo } from './onnx-model.ts';

export interface GemmCall {
  /** Row-major operands as stored: A is [m, k], or [k, m] when transA; B is [k, n], or [n, k] when transB. */
  a: Float32Array;
  b: Float32Array;
  /** Added to every row: length n. */
  bias?: Float32Array;
  /** Receives the [m, n] product. */
  out: Float32Array;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

export interface BatchedGemmCall {
  /** Row-major stacks of `batch` matrices: A is [batch, m, k], or [batch, k, m] when transA; B is [batch, k, n]. */
  a: Float32Array;
  b: Float32Array;
  /** Added to the product when given: [batch, m, n]. */
  addend?: Float32Array;
  /** Receives the [batch, m, n] products (not one of the operands). */
  out: Float32Array;
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
}

export interface Conv2DCall {
  /** NHWC input [n, h, w, c]. */
  x: Float32Array;
  xShape: [number, number, number, number];
  /** HWIO filter [fh, fw, c, o] (tfjs' layout). */
  filter: Float32Array;
  filterShape: [number, number, number, number];
  /** Added to every output channel: length o. */
  bias?: Float32Array;
  /** Receives the NHWC output [n, oh, ow, o]. */
  out: Float32Array;
  pads: { top: number; bottom: number; left: number; right: number };
  strides: [number, number];
  dilations: [number, number];
}

export interface NativeKernels {
  /** For logs and run.json, e.g. "onnxruntime-node 1.30.0 (MLAS)". */
  name: string;
  gemm(call: GemmCall): void;
  /** `batch` products in one call (Winograd's 16, ./wasm-kernels/winograd.ts), in one call whatever their size. */
  batchedGemm(call: BatchedGemmCall): void;
  conv2d(call: Conv2DCall): void;
}

// ---------------------------------------------------------------------------------------------
// The one-operation graphs (./onnx-model.ts writes them).

/**
 * Y = op(A)·op(B) (+ C) with ONNX Gemm. `transposeFirst` (with transA): A is transposed by its own
 * Transpose node and the Gemm takes it as it is (see TRANSPOSE_FIRST_MIN_N); the session must then
 * run without graph optimisations, which would fold the Transpose back into transA.
 */
export function gemmModel(transA: boolean, transB: boolean, bias: boolean, transposeFirst = false): Uint8Array {
  const first = transA && transposeFirst;
  const gemm = node(
    'Gemm',
    [first ? 'At' : 'A', 'B', ...(bias ? ['C'] : [])],
    ['Y'],
    [attribute('transA', transA && !first ? 1 : 0), attribute('transB', transB ? 1 : 0)],
  );
  return onnxModel('genrelens_gemm', {
    nodes: first ? [node('Transpose', ['A'], ['At'], [attribute('perm', [1, 0])]), gemm] : [gemm],
    inputs: [valueInfo('A', transA ? ['k', 'm'] : ['m', 'k']), valueInfo('B', transB ? ['n', 'k'] : ['k', 'n']), ...(bias ? [valueInfo('C', ['n'])] : [])],
    outputs: [valueInfo('Y', ['m', 'n'])],
  });
}

/**
 * A transposed left operand is transposed whole first (its own Transpose node) when the product is
 * at least this wide. MLAS' Gemm transposes A's blocks itself, more slowly for wide products: with the
 * Transpose first, the LSTM's weight gradients ([256, 1792]ᵀ·[1792, 1024] and the like) took 0.83–0.89×
 * the time, with the same bits; 128 columns wide (the CNN's 8×8 weight gradients) it took 1.1× the
 * time, and 32 wide the bits differed (measured here, one thread).
 */
export const TRANSPOSE_FIRST_MIN_N = 256;

/** Y[i] = op(A[i])·B[i] (+ C[i]) with ONNX MatMul over stacks of matrices (transA: a Transpose node first). */
export function batchedGemmModel(transA: boolean, addend: boolean): Uint8Array {
  const product = node('MatMul', [transA ? 'At' : 'A', 'B'], [addend ? 'P' : 'Y']);
  return onnxModel('genrelens_batched_gemm', {
    nodes: [
      ...(transA ? [node('Transpose', ['A'], ['At'], [attribute('perm', [0, 2, 1])])] : []),
      product,
      ...(addend ? [node('Add', ['P', 'C'], ['Y'])] : []),
    ],
    inputs: [valueInfo('A', transA ? ['b', 'k', 'm'] : ['b', 'm', 'k']), valueInfo('B', ['b', 'k', 'n']), ...(addend ? [valueInfo('C', ['b', 'm', 'n'])] : [])],
    outputs: [valueInfo('Y', ['b', 'm', 'n'])],
  });
}

/** Y = A·B in float64 with ONNX Gemm (MLAS' double-precision kernels). */
export function gemm64Model(): Uint8Array {
  return onnxModel('genrelens_gemm64', {
    nodes: [node('Gemm', ['A', 'B'], ['Y'])],
    inputs: [valueInfo('A', ['m', 'k'], ONNX_TYPE.double), valueInfo('B', ['k', 'n'], ONNX_TYPE.double)],
    outputs: [valueInfo('Y', ['m', 'n'], ONNX_TYPE.double)],
  });
}

/** NHWC Y = conv(X, W) (+ B) for an HWIO filter: ONNX Conv (NCHW, OIHW) between transposes. */
export function conv2dModel(pads: Conv2DCall['pads'], strides: [number, number], dilations: [number, number], bias: boolean): Uint8Array {
  return onnxModel('genrelens_conv2d', {
    nodes: [
      node('Transpose', ['X'], ['Xt'], [attribute('perm', [0, 3, 1, 2])]),
      node('Transpose', ['W'], ['Wt'], [attribute('perm', [3, 2, 0, 1])]),
      node(
        'Conv',
        ['Xt', 'Wt', ...(bias ? ['B'] : [])],
        ['Yt'],
        [attribute('pads', [pads.top, pads.left, pads.bottom, pads.right]), attribute('strides', strides), attribute('dilations', dilations)],
      ),
      node('Transpose', ['Yt'], ['Y'], [attribute('perm', [0, 2, 3, 1])]),
    ],
    inputs: [valueInfo('X', ['n', 'h', 'w', 'c']), valueInfo('W', ['fh', 'fw', 'c', 'o']), ...(bias ? [valueInfo('B', ['o'])] : [])],
    outputs: [valueInfo('Y', ['n', 'oh', 'ow', 'o'])],
  });
}

// ---------------------------------------------------------------------------------------------
// Loading

interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): unknown;
  new (type: 'float64', data: Float64Array, dims: readonly number[]): unknown;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: object): Record<string, unknown>;
  dispose(): void;
}

const PACKAGE = 'onnxruntime-node';

/**
 * Outputs per call: ONNX Runtime's kernels slow down by up to 15 times when one call writes more than
 * about 10 MB (measured here: a [200704, 16] × [16, 96] product took 225 ms whole and 15 ms in
 * blocks of 4,096 rows; `npm run bench -- --kernels` prints the comparison).
 */
export const MAX_OUTPUT_FLOATS_PER_CALL = 1 << 19;

/** Rows (or images) per call so that each call writes at most MAX_OUTPUT_FLOATS_PER_CALL floats (at least one row). */
export function rowsPerCall(floatsPerRow: number, rows: number): number {
  return Math.max(1, Math.min(rows, Math.floor(MAX_OUTPUT_FLOATS_PER_CALL / Math.max(1, floatsPerRow))));
}

/** The installed onnxruntime-node: its version, tensor class, and new sessions on one intra-op thread. */
interface Ort {
  version: string;
  Tensor: OrtTensorConstructor;
  newSession(model: Uint8Array, optimise?: boolean): NativeSession;
}

let loaded: Ort | Error | undefined;

/** onnxruntime-node, loaded once per thread, or an Error saying why it cannot be used (thrown). */
function loadOrt(): Ort {
  loaded ??= (() => {
    const require = createRequire(import.meta.url);
    try {
      const version = (require(`${PACKAGE}/package.json`) as { version: string }).version;
      const Tensor = (require(PACKAGE) as { Tensor: OrtTensorConstructor }).Tensor;
      const internals = require(`${PACKAGE}/dist/binding`) as { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void };
      internals.initOrt();
      const { binding } = internals;
      const newSession = (model: Uint8Array, optimise = true): NativeSession => {
        const session = new binding.InferenceSession();
        session.loadModel(model.buffer, model.byteOffset, model.byteLength, {
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: optimise ? 'all' : 'disabled',
        });
        return session;
      };
      return { version, Tensor, newSession };
    } catch (error) {
      const text = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return new Error(
        /Cannot find (module|package)/.test(text) && text.includes(PACKAGE) ? `${PACKAGE} is not installed` : `${PACKAGE} failed to load: ${text}`,
      );
    }
  })();
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** One session per model id, built on first use (`optimise`: ONNX Runtime's graph optimisations). */
function sessionCache(ort: Ort): (id: string, build: () => Uint8Array, optimise?: boolean) => NativeSession {
  const sessions = new Map<string, NativeSession>();
  return (id, build, optimise = true) => {
    let session = sessions.get(id);
    if (!session) sessions.set(id, (session = ort.newSession(build(), optimise)));
    return session;
  };
}

/**
 * Loads onnxruntime-node and checks one product, or throws an Error saying why it cannot be used
 * (not installed, no binary for this platform, a failed self-check).
 */
export function loadNativeKernels(): NativeKernels {
  const ort = loadOrt();
  const { version, Tensor } = ort;
  const sessionFor = sessionCache(ort);
  const engine: NativeKernels = {
    name: `${PACKAGE} ${version} (MLAS)`,
    gemm({ a, b, bias, out, m, k, n, transA, transB }) {
      if (a.length !== m * k || b.length !== k * n || out.length !== m * n || (bias && bias.length !== n)) {
        throw new RangeError(`gemm: operand sizes ${a.length}, ${b.length}, ${out.length} do not match m=${m} k=${k} n=${n}`);
      }
      const transposeFirst = transA && n >= TRANSPOSE_FIRST_MIN_N;
      const session = sessionFor(
        `gemm ${transA} ${transB} ${Boolean(bias)} ${transposeFirst}`,
        () => gemmModel(transA, transB, Boolean(bias), transposeFirst),
        !transposeFirst,
      );
      // Rows of A (when not transposed) and of the product are contiguous: large products run in row blocks.
      const block = transA ? m : rowsPerCall(n, m);
      for (let row = 0; row < m; row += block) {
        const rows = Math.min(block, m - row);
        const feeds: Record<string, unknown> = {
          A: new Tensor('float32', transA ? a : a.subarray(row * k, (row + rows) * k), transA ? [k, m] : [rows, k]),
          B: new Tensor('float32', b, transB ? [n, k] : [k, n]),
        };
        if (bias) feeds.C = new Tensor('float32', bias, [n]);
        // The output tensor wraps `out`: ONNX Runtime writes the product there (no copy back).
        session.run(feeds, { Y: new Tensor('float32', out.subarray(row * n, (row + rows) * n), [rows, n]) }, {});
      }
    },
    batchedGemm({ a, b, addend, out, batch, m, k, n, transA }) {
      if (a.length !== batch * m * k || b.length !== batch * k * n || out.length !== batch * m * n || (addend && addend.length !== out.length)) {
        throw new RangeError(`batchedGemm: operand sizes ${a.length}, ${b.length}, ${out.length} do not match batch=${batch} m=${m} k=${k} n=${n}`);
      }
      const session = sessionFor(`batched ${transA} ${Boolean(addend)}`, () => batchedGemmModel(transA, Boolean(addend)));
      const feeds: Record<string, unknown> = {
        A: new Tensor('float32', a, transA ? [batch, k, m] : [batch, m, k]),
        B: new Tensor('float32', b, [batch, k, n]),
      };
      if (addend) feeds.C = new Tensor('float32', addend, [batch, m, n]);
      session.run(feeds, { Y: new Tensor('float32', out, [batch, m, n]) }, {});
    },
    conv2d({ x, xShape, filter, filterShape, bias, out, pads, strides, dilations }) {
      const [n, h, w, c] = xShape;
      const [fh, fw, fc, o] = filterShape;
      const oh = Math.floor((h + pads.top + pads.bottom - dilations[0] * (fh - 1) - 1) / strides[0]) + 1;
      const ow = Math.floor((w + pads.left + pads.right - dilations[1] * (fw - 1) - 1) / strides[1]) + 1;
      if (fc !== c || x.length !== n * h * w * c || filter.length !== fh * fw * c * o || out.length !== n * oh * ow * o || (bias && bias.length !== o)) {
        throw new RangeError(`conv2d: sizes do not match x [${xShape}], filter [${filterShape}], output ${out.length}`);
      }
      const id = `conv2d ${JSON.stringify([pads, strides, dilations])} ${Boolean(bias)}`;
      const session = sessionFor(id, () => conv2dModel(pads, strides, dilations, Boolean(bias)));
      // Images are independent: large batches run in blocks of images.
      const block = rowsPerCall(oh * ow * o, n);
      for (let image = 0; image < n; image += block) {
        const count = Math.min(block, n - image);
        const feeds: Record<string, unknown> = {
          X: new Tensor('float32', x.subarray(image * h * w * c, (image + count) * h * w * c), [count, h, w, c]),
          W: new Tensor('float32', filter, filterShape),
        };
        if (bias) feeds.B = new Tensor('float32', bias, [o]);
        session.run(feeds, { Y: new Tensor('float32', out.subarray(image * oh * ow * o, (image + count) * oh * ow * o), [count, oh, ow, o]) }, {});
      }
    },
  };
  // Self-check: [[1,2,3],[4,5,6]] · [[1,0],[0,1],[0,1]] + [10, 20] = [[11, 25], [14, 31]].
  const out = new Float32Array(4);
  engine.gemm({
    a: Float32Array.of(1, 2, 3, 4, 5, 6),
    b: Float32Array.of(1, 0, 0, 1, 0, 1),
    bias: Float32Array.of(10, 20),
    out,
    m: 2,
    k: 3,
    n: 2,
    transA: false,
    transB: false,
  });
  if (out.join() !== '11,25,14,31') throw new Error(`${PACKAGE} ${version}: Gemm self-check gave [${out.join(', ')}]`);
  return engine;
}

/** out [m, n] = a [m, k] · b [k, n], row-major float64. */
export type Gemm64 = (a: Float64Array, b: Float64Array, out: Float64Array, m: number, k: number, n: number) => void;

/**
 * A float64 matrix product on ONNX Runtime (MLAS' double kernels, one thread), checked once, or an
 * Error saying why it cannot be used. For the strong models' products (pipeline/lib/strong/span-logistic.ts).
 */
export function loadNativeGemm64(): Gemm64 {
  const { version, Tensor, newSession } = loadOrt();
  const session = newSession(gemm64Model());
  const gemm: Gemm64 = (a, b, out, m, k, n) => {
    if (a.length !== m * k || b.length !== k * n || out.length !== m * n) {
      throw new RangeError(`gemm64: operand sizes ${a.length}, ${b.length}, ${out.length} do not match m=${m} k=${k} n=${n}`);
    }
    session.run({ A: new Tensor('float64', a, [m, k]), B: new Tensor('float64', b, [k, n]) }, { Y: new Tensor('float64', out, [m, n]) }, {});
  };
  // Self-check: [[1,2,3],[4,5,6]] · [[1,0],[0,1],[0,1]] = [[1, 5], [4, 11]].
  const out = new Float64Array(4);
  gemm(Float64Array.of(1, 2, 3, 4, 5, 6), Float64Array.of(1, 0, 0, 1, 0, 1), out, 2, 3, 2);
  if (out.join() !== '1,5,4,11') throw new Error(`${PACKAGE} ${version}: float64 Gemm self-check gave [${out.join(', ')}]`);
  return gemm;
}

/** Whether onnxruntime-node loads here (installed, with a binary for this platform). */
export function onnxRuntimeLoads(): boolean {
  try {
    loadOrt();
    return true;
  } catch {
    return false;
  }
}

/** A whole ONNX model with one float32 input and one float32 output, run on ONNX Runtime (one thread). */
export interface NativeModel {
  /** Runs the model on `input` ([dims]) into `output` ([outputDims]), written in place. */
  run(input: Float32Array, dims: readonly number[], output: Float32Array, outputDims: readonly number[]): void;
  /** Frees the session (its weights). */
  dispose(): void;
}

/** Loads `model` (input `inputName`, output `outputName`) into a session, or throws an Error saying why ONNX Runtime cannot be used. */
export function loadNativeModel(model: Uint8Array, inputName: string, outputName: string): NativeModel {
  const { Tensor, newSession } = loadOrt();
  const session = newSession(model);
  return {
    run(input, dims, output, outputDims) {
      session.run({ [inputName]: new Tensor('float32', input, dims) }, { [outputName]: new Tensor('float32', output, outputDims) }, {});
    },
    dispose: () => session.dispose(),
  };
}

/** `GENRELENS_NATIVE_KERNELS=0` keeps the wasm backend's own XNNPACK kernels (benchmarks, comparisons). */
export function nativeKernelsWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !['0', 'false', 'off', 'no'].includes((env.GENRELENS_NATIVE_KERNELS ?? '').toLowerCase());
}
