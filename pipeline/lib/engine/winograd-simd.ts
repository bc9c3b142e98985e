/**
 * The SIMD transforms of Winograd's F(2×2, 3×3) convolution (./wasm-kernels/winograd.ts), four
 * channels per step, over blocks of 2×2 output tiles; the products between them are ONNX Runtime's.
 * A block holds 16 planes (one per position ξ of the 4×4 transformed tile), each [tiles, channels],
 * `planeBytes` apart, so that the 16 products are one batched matrix product. Tile t of a block is
 * tile `first + t` of the batch: image ⌊tile / tilesPerImage⌋, tile row and column within it.
 * - `winogradInput`: V = Bᵀ·d·B of each 4×4 input patch d (read from the zero-bordered input);
 * - `winogradOutput`: Y = Aᵀ·M·A (+ bias), each tile's 2×2 outputs from its 16 products;
 * - `winogradGradOutput`: A·dY·Aᵀ of each tile's 2×2 output gradient (the weight gradient's right operand);
 * - `winogradFilter`, `winogradFilterGrad`: G·g·Gᵀ and Gᵀ·dU·G per channel pair, four pairs per step;
 * - `borderedCopy`: NHWC images with a border of zeros one pixel wide (what the input transform reads).
 * Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], Aᵀ = [1 1 1 0; 0 1 −1 −1] (Lavin & Gray, 2016).
 */
import { countedLoop, I32, op, V128, type ValueType, type WasmFunction } from './wasm-encoder.ts';

const get = op.localGet;
const set = op.localSet;

// The parameters every transform takes, in order (a block's geometry), then its own.
const [SRC, DST, FIRST, COUNT, TILES_W, TILES_PER_IMAGE, ROW_BYTES, IMAGE_BYTES, CHANNEL_BYTES, PLANE_BYTES] = Array.from({ length: 10 }, (_, k) => k);
const COMMON_PARAMS = 10;

/** Locals after the parameters: the loop's i32s, then `vectors` v128s. */
function layout(params: number, vectors: number) {
  const [t, tile, pixel, block, c] = Array.from({ length: 5 }, (_, k) => params + k);
  const v = (k: number) => params + 5 + k;
  return { t, tile, pixel, block, c, v, locals: [...Array<ValueType>(5).fill(I32), ...Array<ValueType>(vectors).fill(V128)] };
}

/**
 * For each tile t of the block (tile = first + t): `pixel` = the byte offset (in the image data,
 * without its base) of the tile's top-left pixel at `stride` pixels per tile, `block` = t·channelBytes;
 * then for each 16 bytes c of the channels: `inner`.
 */
function tileLoops(l: ReturnType<typeof layout>, stride: number, inner: number[][]): number[][] {
  const perTile = [
    ...[get(FIRST), get(l.t), op.i32Add, set(l.tile)],
    // image·imageBytes + (row·stride)·rowBytes + (col·stride)·channelBytes, row/col = (tile mod tilesPerImage) ÷/mod tilesW
    ...[get(l.tile), get(TILES_PER_IMAGE), op.i32DivU, get(IMAGE_BYTES), op.i32Mul],
    ...[get(l.tile), get(TILES_PER_IMAGE), op.i32RemU, set(l.tile)],
    ...[get(l.tile), get(TILES_W), op.i32DivU, op.i32Const(stride), op.i32Mul, get(ROW_BYTES), op.i32Mul, op.i32Add],
    ...[get(l.tile), get(TILES_W), op.i32RemU, op.i32Const(stride), op.i32Mul, get(CHANNEL_BYTES), op.i32Mul, op.i32Add, set(l.pixel)],
    ...[get(l.t), get(CHANNEL_BYTES), op.i32Mul, set(l.block)],
    ...countedLoop(l.c, [op.i32Const(0)], [get(CHANNEL_BYTES)], 16, inner),
  ];
  return countedLoop(l.t, [op.i32Const(0)], [get(COUNT)], 1, perTile);
}

/** Address of the image data's vector at row r, column s of the tile: base + pixel + c + r·rowBytes + s·channelBytes. */
function imageAt(l: ReturnType<typeof layout>, base: number, r: number, s: number): number[][] {
  const terms: number[][] = [get(base), get(l.pixel), op.i32Add, get(l.c), op.i32Add];
  if (r > 0) terms.push(get(ROW_BYTES), ...(r > 1 ? [op.i32Const(r), op.i32Mul] : []), op.i32Add);
  if (s > 0) terms.push(get(CHANNEL_BYTES), ...(s > 1 ? [op.i32Const(s), op.i32Mul] : []), op.i32Add);
  return terms;
}

/** Address of plane ξ's vector for the current tile and channels: base + block + c + ξ·planeBytes. */
function planeAt(l: ReturnType<typeof layout>, base: number, xi: number): number[][] {
  const terms: number[][] = [get(base), get(l.block), op.i32Add, get(l.c), op.i32Add];
  if (xi > 0) terms.push(get(PLANE_BYTES), ...(xi > 1 ? [op.i32Const(xi), op.i32Mul] : []), op.i32Add);
  return terms;
}

/** A linear combination: (value index, coefficient) terms. */
type Combination = readonly (readonly [number, number])[];

/** A matrix's rows as combinations of the values they multiply: zeros left out, a positive term first where there is one (no negation). */
function rows(matrix: readonly (readonly number[])[]): Combination[] {
  return matrix.map((row) => {
    const terms = row.flatMap((coefficient, i) => (coefficient === 0 ? [] : [[i, coefficient] as const]));
    const positive = terms.findIndex(([, coefficient]) => coefficient > 0);
    const first = positive < 0 ? 0 : positive;
    return [terms[first], ...terms.filter((_, k) => k !== first)];
  });
}

/** The sum of `terms` as instructions, left to right; `value(i)` pushes value i (coefficients ±1 add or subtract, others multiply first). */
function combine(terms: Combination, value: (i: number) => number[][]): number[][] {
  const code: number[][] = [];
  terms.forEach(([i, coefficient], k) => {
    code.push(...value(i));
    const size = Math.abs(coefficient);
    if (size !== 1) code.push(op.f32Const(size), op.f32x4Splat, op.f32x4Mul);
    if (k === 0 && coefficient < 0) code.push(op.f32x4Neg);
    if (k > 0) code.push(coefficient > 0 ? op.f32x4Add : op.f32x4Sub);
  });
  return code;
}

// The transforms' matrices (V = Bᵀ·d·B, Y = Aᵀ·M·A, Z = A·dY·Aᵀ, U = G·g·Gᵀ, dg = Gᵀ·dU·G), row by row.
const B_T = rows([
  [1, 0, -1, 0],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, 1, 0, -1],
]);
const A_T = rows([
  [1, 1, 1, 0],
  [0, 1, -1, -1],
]);
const A = rows([
  [1, 0],
  [1, 1],
  [1, -1],
  [0, -1],
]);
const G = rows([
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
]);
const G_T = rows([
  [1, 0.5, 0.5, 0],
  [0, 0.5, -0.5, 0],
  [0, 0.5, 0.5, 1],
]);

/**
 * out = L·X·Lᵀ for the matrix of combinations L (rows × n) and an n×n matrix X of vectors at
 * locals x(r, s): the column pass into locals mid(r, s), then `store(i, j, value)` per output.
 */
function sandwich(
  L: readonly Combination[],
  n: number,
  x: (r: number, s: number) => number,
  mid: (r: number, s: number) => number,
  store: (i: number, j: number, value: number[][]) => number[][],
): number[][] {
  const code: number[][] = [];
  for (let i = 0; i < L.length; i++) for (let s = 0; s < n; s++) code.push(...combine(L[i], (r) => [get(x(r, s))]), set(mid(i, s)));
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < L.length; j++) {
      const value = combine(L[j], (s) => [get(mid(i, s))]);
      code.push(...store(i, j, value));
    }
  }
  return code;
}

/**
 * L·X·Lᵀ of each tile's n×n image data X (L: m rows of n), into the block's m² planes [tiles, channels]:
 * the input transform (Bᵀ, 4×4 patches of the zero-bordered input) and the output gradient's (A, 2×2).
 */
function imageToPlanesFunction(exportName: string, L: readonly Combination[], n: number): WasmFunction {
  const m = L.length;
  const l = layout(COMMON_PARAMS, n * n + m * n);
  const x = (r: number, s: number) => l.v(n * r + s);
  const mid = (r: number, s: number) => l.v(n * n + n * r + s);
  const inner: number[][] = [];
  for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) inner.push(...imageAt(l, SRC, r, s), op.v128Load(), set(x(r, s)));
  inner.push(...sandwich(L, n, x, mid, (i, j, value) => [...planeAt(l, DST, m * i + j), ...value, op.v128Store()]));
  return { exportName, params: Array<ValueType>(COMMON_PARAMS).fill(I32), locals: l.locals, body: tileLoops(l, 2, inner) };
}

/** V = Bᵀ·d·B: src is the zero-bordered input ((h+2)×(w+2) per image), dst the block's 16 planes [tiles, cin]. */
export const winogradInputFunction = (): WasmFunction => imageToPlanesFunction('winogradInput', B_T, 4);

/** Z = A·dY·Aᵀ: src the NHWC output gradient (h×w per image), dst the block's 16 planes [tiles, cout]. */
export const winogradGradOutputFunction = (): WasmFunction => imageToPlanesFunction('winogradGradOutput', A, 2);

/** Y = Aᵀ·M·A (+ bias when hasBias): src the block's 16 planes [tiles, cout], dst the NHWC output (h×w per image). */
export function winogradOutputFunction(): WasmFunction {
  const [BIAS, HAS_BIAS] = [COMMON_PARAMS, COMMON_PARAMS + 1];
  const l = layout(COMMON_PARAMS + 2, 25);
  const m = (r: number, s: number) => l.v(4 * r + s);
  const mid = (r: number, s: number) => l.v(16 + 4 * r + s);
  const y = l.v(24);
  const inner: number[][] = [];
  for (let xi = 0; xi < 16; xi++) inner.push(...planeAt(l, SRC, xi), op.v128Load(), set(m(xi >> 2, xi & 3)));
  inner.push(
    ...sandwich(A_T, 4, m, mid, (i, j, value) => [
      ...value,
      set(y),
      ...[get(HAS_BIAS), op.if, get(y), get(BIAS), get(l.c), op.i32Add, op.v128Load(), op.f32x4Add, set(y), op.end],
      ...imageAt(l, DST, i, j),
      get(y),
      op.v128Store(),
    ]),
  );
  return { exportName: 'winogradOutput', params: Array<ValueType>(COMMON_PARAMS + 2).fill(I32), locals: l.locals, body: tileLoops(l, 2, inner) };
}

/**
 * `transform` (L·X·Lᵀ, X n×n) of each channel pair's planes, four pairs per step: from n² planes at src
 * to m² planes at dst (m = L's rows), planes pairBytes apart, `groups` groups of four pairs.
 */
function planesFunction(exportName: string, L: readonly Combination[], n: number): WasmFunction {
  const [src, dst, groups, pairBytes] = [0, 1, 2, 3];
  const [k, end] = [4, 5];
  const x = (r: number, s: number) => 6 + n * r + s;
  const mid = (r: number, s: number) => 6 + n * n + n * r + s;
  const at = (base: number, plane: number) => [get(base), get(k), op.i32Add, ...(plane > 0 ? [get(pairBytes), op.i32Const(plane), op.i32Mul, op.i32Add] : [])];
  const body: number[][] = [get(groups), op.i32Const(4), op.i32Shl, set(end), op.i32Const(0), set(k)];
  body.push(op.block, op.loop, get(k), get(end), op.i32GeU, op.brIf(1));
  for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) body.push(...at(src, n * r + s), op.v128Load(), set(x(r, s)));
  body.push(...sandwich(L, n, x, mid, (i, j, value) => [...at(dst, L.length * i + j), ...value, op.v128Store()]));
  body.push(get(k), op.i32Const(16), op.i32Add, set(k), op.br(0), op.end, op.end);
  return { exportName, params: [I32, I32, I32, I32], locals: [I32, I32, ...Array<ValueType>(n * n + L.length * n).fill(V128)], body };
}

/** U = G·g·Gᵀ: the HWIO filter's 9 planes [pairs] to 16 planes [pairs]. */
export const winogradFilterFunction = (): WasmFunction => planesFunction('winogradFilter', G, 3);

/** dg = Gᵀ·dU·G: 16 planes [pairs] to the HWIO gradient's 9 planes [pairs]. */
export const winogradFilterGradFunction = (): WasmFunction => planesFunction('winogradFilterGrad', G_T, 4);

/** NHWC images (h × w pixels of `pixelBytes`, pixelBytes a multiple of 16) copied into the middle of (h + 2) × (w + 2) images, the border zeros. */
export function borderedCopyFunction(): WasmFunction {
  const [src, dst, images, h, w, pixelBytes] = [0, 1, 2, 3, 4, 5];
  const [image, r, k, end, from, to] = [6, 7, 8, 9, 10, 11];
  const zero = 12;
  const loop = countedLoop;
  /** Zeros from `to` for `count` pixels, advancing `to`. */
  const zeros = (count: number[][]) => [
    ...[get(to), ...count, get(pixelBytes), op.i32Mul, op.i32Add, set(end)],
    ...loop(k, [get(to)], [get(end)], 16, [get(k), get(zero), op.v128Store()]),
    ...[get(end), set(to)],
  ];
  const body: number[][] = [op.f32Const(0), op.f32x4Splat, set(zero), get(src), set(from), get(dst), set(to)];
  const rowCopy = [
    ...zeros([op.i32Const(1)]),
    ...[get(w), get(pixelBytes), op.i32Mul, set(end)],
    ...loop(k, [op.i32Const(0)], [get(end)], 16, [get(to), get(k), op.i32Add, get(from), get(k), op.i32Add, op.v128Load(), op.v128Store()]),
    ...[get(to), get(end), op.i32Add, set(to), get(from), get(end), op.i32Add, set(from)],
    ...zeros([op.i32Const(1)]),
  ];
  const perImage = [
    ...zeros([get(w), op.i32Const(2), op.i32Add]),
    ...loop(r, [op.i32Const(0)], [get(h)], 1, rowCopy),
    ...zeros([get(w), op.i32Const(2), op.i32Add]),
  ];
  body.push(...loop(image, [op.i32Const(0)], [get(images)], 1, perImage));
  return { exportName: 'borderedCopy', params: Array<ValueType>(6).fill(I32), locals: [...Array<ValueType>(6).fill(I32), V128], body };
}
