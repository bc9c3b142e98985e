/**
 * The poster preprocessing of the pipeline (pipeline/lib/data/posters.ts `decodePoster`), reproduced without
 * sharp so that the browser demo feeds the CNN exactly what training fed it: an RGB(A) image at its
 * natural size → nearest-neighbour "fill" resize to `width` x `height` → RGB uint8 → value / 255.
 *
 * The pipeline resizes with `sharp(raw).resize(w, h, { fit: 'fill', kernel: 'nearest' })`. Which
 * source pixel lands where is decided by sharp's and libvips' own arithmetic, not by a textbook
 * formula, so `nearestFillMaps` replays it step by step, in the same floating-point operations
 * (JavaScript numbers are IEEE doubles, as libvips' `double`s):
 *
 * 1. sharp `ResolveShrink` (fit 'fill' = `Canvas::IGNORE_ASPECT`): `hshrink = inW / outW`,
 *    `vshrink = inH / outH` (each at most the input size); no resize at all when both are 1.
 *    Then `vips_resize(scale = 1 / hshrink, vscale = 1 / vshrink, kernel = nearest)`; its default
 *    reducing `gap` is 2.
 * 2. libvips `vips_resize`, nearest: an integer point-subsample first, by
 *    `max(1, floor(in / round(in * scale) / gap))` per axis (`vips_subsample`: output size
 *    `floor(in / factor)`, output pixel i = input pixel i * factor, the top-left one of its
 *    block); the scales are multiplied by the factors; neither axis below 1 px.
 * 3. Residual shrink (scale < 1) per axis, vertical first: `vips_reducev` / `vips_reduceh` with the
 *    one-point nearest kernel and factor `s = 1 / scale`: `n = round(in / s)` pixels,
 *    `extra = n * s - in`, `offset = (1 + extra) / 2 - 1`; output i takes input `trunc(X_i)`,
 *    `X_i ≈ (i + 0.5) * s - 0.5 - offset` (centre sampling, the left-over input split evenly
 *    between both ends). Exactly: `X` is computed at the first pixel of a run and then grows by `s`
 *    pixel by pixel, which moves its last bit and so the pixel picked wherever `X` is a whole
 *    number (e.g. 448 rows → 64). `reduceh` makes one run per row; `reducev` one per region it is
 *    asked for: the 16-row output strips, or, when an affine enlargement of the other axis follows,
 *    that affine's strips plus one row of margin (runs start at rows 16k − 1).
 * 4. Residual enlargement (scale > 1): `vips_zoom` (source `floor(i / k)`) when both scales are
 *    whole numbers, else `vips_affine(a, 0, 0, d)` with the nearest interpolator and no input
 *    offset. Its inverse matrix is `tmp = 1 / (a·d)`, `ia = tmp·d`, `id = tmp·a` (so `id` can be
 *    1 − 2⁻⁵³, which repeats a row); input coordinates include a one-pixel border: the row of
 *    output row i is `trunc(i·id + 1) − 1`, the column a running sum `1 + ia + ia + …`, truncated,
 *    minus 1.
 *
 * The steps follow the libvips sources (resize.c, reduceh/reducev, affine.c, transform.c,
 * interpolate.c); the run boundaries, the border and the floating-point order were pinned down
 * against the installed sharp 0.35.5 / libvips 8.18 with images whose pixels encode their own
 * coordinates: resized by sharp, they tell exactly which source pixel each output pixel took.
 * `tests/site/poster-preprocess.test.ts` checks every width and height from 1 to 400 and hundreds of
 * random sizes (both axes shrunk, both enlarged, one of each, other output sizes), whole images
 * pixel for pixel, and `decodePoster` itself; a sharp or libvips upgrade that changes any of this
 * fails that test.
 *
 * Browser-safe: no Node or sharp imports.
 */

/**
 * Posters with more pixels are rejected, as the pipeline rejects them by default
 * (pipeline/lib/data/posters.ts `DEFAULT_MAX_POSTER_PIXELS`; a test keeps the two equal).
 */
export const MAX_POSTER_PIXELS = 50_000_000;

/** The preprocessing recorded in the CNN's metadata.json (`input`, kind 'poster'). */
export interface PosterInputSpec {
  width: number;
  height: number;
  channels?: number;
  fit: string;
  kernel: string;
  normalisation?: string;
}

/** Source column of every output column and source row of every output row; -1 = black (outside). */
export interface NearestMaps {
  x: Int32Array;
  y: Int32Array;
}

/** libvips `VIPS_ROUND_UINT`: `(unsigned int) (v + 0.5)`. */
const roundUint = (v: number) => Math.trunc(v + 0.5);
/** Output rows per region that `vips_reducev` is asked for (libvips' thin strips). */
const STRIP_HEIGHT = 16;
/** The border `vips_affine` adds around its input. */
const AFFINE_BORDER = 1;

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** `vips_subsample` along one axis: every `factor`-th pixel, starting with the first. */
function subsample(map: Int32Array, factor: number): Int32Array {
  if (factor <= 1) return map;
  return Int32Array.from({ length: Math.floor(map.length / factor) }, (_, i) => map[i * factor]);
}

/**
 * `vips_reduceh` / `vips_reducev` with the nearest kernel (one point) and shrink factor `shrink`
 * (> 1) over `size` pixels: `n` output pixels; output pixel i takes input pixel `trunc(X_i)`.
 * libvips computes `X` at the first pixel of a run, `(start + 0.5) * shrink - 0.5 - offset`, and
 * then adds `shrink` pixel by pixel, so the last bit of `X` — and the pixel picked where `X` falls
 * on a whole number — depends on where the run started: `reduceh` runs over the whole row,
 * `reducev` starts again at the first row of every region it is asked for.
 */
function reducer(size: number, shrink: number) {
  const n = roundUint(size / shrink);
  const extra = n * shrink - size;
  const offset = (1 + extra) / 2.0 - 1;
  return {
    n,
    /** The input pixel of output pixel `i` in a run starting at output pixel `start` (<= i); -1 outside. */
    at(i: number, start: number): number {
      let X = (start + 0.5) * shrink - 0.5 - offset;
      for (let j = start; j < i; j++) X += shrink;
      const ix = Math.trunc(X);
      return ix >= 0 && ix < size ? ix : -1;
    },
  };
}

const through = (map: Int32Array, i: number) => (i < 0 ? -1 : map[i]);

/** `vips_zoom` along one axis by a whole factor. */
function zoom(map: Int32Array, factor: number): Int32Array {
  return Int32Array.from({ length: map.length * factor }, (_, i) => map[Math.floor(i / factor)]);
}

/** `vips_affine`'s nearest sampling along one axis: input coordinate `coordinate(i)` (border included). */
function affineAxis(map: Int32Array, outSize: number, coordinate: (i: number) => number): Int32Array {
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // The nearest interpolator's `(int) x`, back to the input without its border.
    const v = Math.trunc(coordinate(i)) - AFFINE_BORDER;
    out[i] = v >= 0 && v < map.length ? map[v] : -1;
  }
  return out;
}

/**
 * Which source pixel sharp's `resize(outWidth, outHeight, { fit: 'fill', kernel: 'nearest' })`
 * puts at each output position, for an `inWidth` x `inHeight` input (see the module comment).
 * Nearest-neighbour resizing with these steps is separable: output pixel (x, y) is source pixel
 * (maps.x[x], maps.y[y]).
 */
export function nearestFillMaps(inWidth: number, inHeight: number, outWidth: number, outHeight: number): NearestMaps {
  for (const [name, v] of [
    ['inWidth', inWidth],
    ['inHeight', inHeight],
    ['outWidth', outWidth],
    ['outHeight', outHeight],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  // sharp: ResolveShrink with Canvas::IGNORE_ASPECT.
  const hshrink = Math.min(inWidth / outWidth, inWidth);
  const vshrink = Math.min(inHeight / outHeight, inHeight);
  let x = identity(inWidth);
  let y = identity(inHeight);
  if (hshrink === 1.0 && vshrink === 1.0) return { x, y };
  let hscale = 1.0 / hshrink;
  let vscale = 1.0 / vshrink;

  // vips_resize, kernel nearest, gap 2.0: integer subsample first.
  const gap = 2.0;
  const targetWidth = roundUint(x.length * hscale);
  const targetHeight = roundUint(y.length * vscale);
  const intH = Math.max(1, Math.floor(x.length / targetWidth / gap));
  const intV = Math.max(1, Math.floor(y.length / targetHeight / gap));
  if (intV > 1 || intH > 1) {
    x = subsample(x, intH);
    y = subsample(y, intV);
    hscale *= intH;
    vscale *= intV;
  }
  // Don't let either axis drop below 1 px.
  hscale = Math.max(hscale, 1.0 / x.length);
  vscale = Math.max(vscale, 1.0 / y.length);

  // What follows the reduce: an enlargement with vips_zoom (both scales whole numbers) or vips_affine.
  const enlarge = hscale > 1.0 || vscale > 1.0;
  const useZoom = enlarge && hscale === Math.floor(hscale) && vscale === Math.floor(vscale);
  const a = hscale > 1.0 ? hscale : 1.0;
  const d = vscale > 1.0 ? vscale : 1.0;
  // vips__transform_calc_inverse of [a 0; 0 d].
  const tmp = 1.0 / (a * d - 0.0 * 0.0);
  const ia = tmp * d;
  const id = tmp * a;

  // Residual downsizing: reducev, then reduceh (one run over the whole row).
  let yRows: Int32Array | null = null;
  if (vscale < 1.0) {
    const reduce = reducer(y.length, 1.0 / vscale);
    const from = y;
    if (enlarge && !useZoom) {
      // The affine enlarges x and reads this image through its 1-px border: for its output strip k
      // (rows 16k .. 16k + 15) it asks for rows 16k - 1 .. 16k + 16 (one row of margin), so each
      // strip's reducev run starts one row early; output row r reads input row trunc(r * id + 1) - 1.
      yRows = Int32Array.from({ length: reduce.n }, (_, r) => {
        const start = Math.max(0, STRIP_HEIGHT * Math.floor(r / STRIP_HEIGHT) - 1);
        const row = Math.trunc(id * r + AFFINE_BORDER) - AFFINE_BORDER;
        return row < start || row >= reduce.n ? -1 : through(from, reduce.at(row, start));
      });
    }
    // Otherwise the output is written in strips of 16 rows, each one reducev run.
    y = Int32Array.from({ length: reduce.n }, (_, r) => through(from, reduce.at(r, STRIP_HEIGHT * Math.floor(r / STRIP_HEIGHT))));
  }
  if (hscale < 1.0) {
    const reduce = reducer(x.length, 1.0 / hscale);
    const from = x;
    x = Int32Array.from({ length: reduce.n }, (_, i) => through(from, reduce.at(i, 0)));
  }

  // Any upsizing.
  if (useZoom) {
    x = zoom(x, Math.floor(hscale));
    y = zoom(y, Math.floor(vscale));
  } else if (enlarge) {
    // vips_affine(a, 0, 0, d), a = hscale or 1, d = vscale or 1 as vips_resize picks them, the
    // nearest interpolator, no input offset. The output extent is the transformed input's, rounded.
    // Input coordinates include the one-pixel border libvips adds around the input: the column is a
    // running sum along the row, the row is computed for each output row.
    const width = Math.round(x.length * a);
    const height = Math.round(y.length * d);
    const xs = new Float64Array(width);
    let ix = AFFINE_BORDER;
    for (let i = 0; i < width; i++, ix += ia) xs[i] = ix;
    x = affineAxis(x, width, (i) => xs[i]);
    y = yRows ?? affineAxis(y, height, (i) => id * i + AFFINE_BORDER);
  }
  return { x, y };
}

/**
 * Resizes interleaved 8-bit pixels (`channels` 3 = RGB or 4 = RGBA; alpha is dropped, as the
 * pipeline's `removeAlpha()` does) to `outWidth` x `outHeight` RGB like sharp's nearest 'fill'.
 */
export function resizeNearestFill(pixels: ArrayLike<number>, width: number, height: number, channels: 3 | 4, outWidth: number, outHeight: number): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`expected ${width}x${height}x${channels} = ${width * height * channels} values, got ${pixels.length}`);
  }
  const maps = nearestFillMaps(width, height, outWidth, outHeight);
  if (maps.x.length !== outWidth || maps.y.length !== outHeight) {
    throw new Error(`nearest resize of ${width}x${height} gave ${maps.x.length}x${maps.y.length}, expected ${outWidth}x${outHeight}`);
  }
  const out = new Uint8Array(outWidth * outHeight * 3);
  let o = 0;
  for (let oy = 0; oy < outHeight; oy++) {
    const sy = maps.y[oy];
    for (let ox = 0; ox < outWidth; ox++, o += 3) {
      const sx = maps.x[ox];
      if (sx < 0 || sy < 0) continue; // black, as libvips' clipping
      const s = (sy * width + sx) * channels;
      out[o] = pixels[s];
      out[o + 1] = pixels[s + 1];
      out[o + 2] = pixels[s + 2];
    }
  }
  return out;
}

/** The model input: value / 255 as float32, the pipeline's `posterBatchToFloat32`. */
export function toUnitFloat32(rgb: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = rgb[i] / 255;
  return out;
}

/** Throws, naming the setting, when a model's poster preprocessing is one this module does not reproduce. */
export function checkPosterSpec(spec: PosterInputSpec): void {
  const problems: string[] = [];
  if (spec.kernel !== 'nearest') problems.push(`resize kernel '${spec.kernel}' (only 'nearest' is reproduced in the browser)`);
  if (spec.fit !== 'fill') problems.push(`fit '${spec.fit}' (only 'fill' is reproduced in the browser)`);
  if (spec.channels !== undefined && spec.channels !== 3) problems.push(`${spec.channels} channels (expected 3)`);
  if (spec.normalisation !== undefined && spec.normalisation !== 'divide-by-255') problems.push(`normalisation '${spec.normalisation}'`);
  if (!Number.isInteger(spec.width) || !Number.isInteger(spec.height) || spec.width < 1 || spec.height < 1) {
    problems.push(`poster size ${spec.width}x${spec.height}`);
  }
  if (problems.length > 0) throw new Error(`the poster model was trained with preprocessing this demo cannot reproduce: ${problems.join('; ')}`);
}

/**
 * RGBA at natural size (as canvas `getImageData` returns it) → the CNN's input values,
 * `height` x `width` x 3, float32 in [0, 1]; also the resized RGB bytes.
 */
export function posterInput(rgba: ArrayLike<number>, width: number, height: number, spec: PosterInputSpec): { rgb: Uint8Array; values: Float32Array } {
  checkPosterSpec(spec);
  const rgb = resizeNearestFill(rgba, width, height, 4, spec.width, spec.height);
  return { rgb, values: toUnitFloat32(rgb) };
}
