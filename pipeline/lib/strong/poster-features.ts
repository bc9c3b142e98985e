/**
 * Weight-free poster features: what colour and layout say about a genre without any pretrained
 * network (dark Horror, bright Comedy and Family, saturated Animation). From each poster as the
 * dataset loads it (size × size RGB):
 * - a joint HSV histogram (8 hues × 3 saturations × 3 values, fractions of the pixels);
 * - per cell of a 4 × 4 grid: mean and spread of luminance, mean saturation, the saturation-weighted
 *   mean hue as (sin, cos), and edge density;
 * - whole-poster colourfulness (Hasler & Süsstrunk 2003), near-black and near-white fractions,
 *   luminance mean and spread, edge density.
 * The linear model takes them standardised with the training films' mean and spread.
 */
export const POSTER_GRID = 4;
const HUES = 8;
const SATURATIONS = 3;
const VALUES = 3;
const EDGE_THRESHOLD = 0.15;

export const POSTER_FEATURE_NAMES: readonly string[] = [
  ...Array.from({ length: HUES * SATURATIONS * VALUES }, (_, i) => {
    const h = Math.floor(i / (SATURATIONS * VALUES));
    const s = Math.floor(i / VALUES) % SATURATIONS;
    return `hsv hue ${h} sat ${s} val ${i % VALUES}`;
  }),
  ...Array.from({ length: POSTER_GRID * POSTER_GRID }, (_, c) =>
    ['luminance mean', 'luminance spread', 'saturation mean', 'hue sin', 'hue cos', 'edge density'].map((f) => `cell ${c} ${f}`),
  ).flat(),
  'colourfulness',
  'near-black fraction',
  'near-white fraction',
  'luminance mean',
  'luminance spread',
  'edge density',
];

/** HSV of one RGB pixel (each in [0, 1]; hue in turns). */
function hsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const delta = max - min;
  let h = 0;
  if (delta > 0) {
    if (max === r) h = ((g - b) / delta + 6) % 6;
    else if (max === g) h = (b - r) / delta + 2;
    else h = (r - g) / delta + 4;
    h /= 6;
  }
  return [h, max === 0 ? 0 : delta / max, max];
}

/** The features of every poster: films × POSTER_FEATURE_NAMES.length, row-major. */
export function posterFeatures(pixels: Uint8Array, films: number, size: number): Float64Array {
  const area = size * size;
  if (pixels.length !== films * area * 3) throw new RangeError(`${pixels.length} bytes are not ${films} posters of ${size} × ${size} RGB`);
  const width = POSTER_FEATURE_NAMES.length;
  const out = new Float64Array(films * width);
  const luminance = new Float64Array(area);
  const cells = POSTER_GRID * POSTER_GRID;
  const cellOf = new Int32Array(area);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) cellOf[y * size + x] = Math.floor((y * POSTER_GRID) / size) * POSTER_GRID + Math.floor((x * POSTER_GRID) / size);
  const cellPixels = new Float64Array(cells);
  for (let i = 0; i < area; i++) cellPixels[cellOf[i]]++;
  for (let f = 0; f < films; f++) {
    const row = out.subarray(f * width, (f + 1) * width);
    const base = f * area * 3;
    const cell = {
      lum: new Float64Array(cells),
      lum2: new Float64Array(cells),
      sat: new Float64Array(cells),
      sin: new Float64Array(cells),
      cos: new Float64Array(cells),
      edges: new Float64Array(cells),
    };
    let [black, white, lumSum, lum2Sum] = [0, 0, 0, 0];
    let [rgSum, rg2Sum, ybSum, yb2Sum] = [0, 0, 0, 0];
    for (let i = 0; i < area; i++) {
      const r = pixels[base + i * 3] / 255;
      const g = pixels[base + i * 3 + 1] / 255;
      const b = pixels[base + i * 3 + 2] / 255;
      const [h, s, v] = hsv(r, g, b);
      const bin =
        Math.min(HUES - 1, Math.floor(h * HUES)) * SATURATIONS * VALUES +
        Math.min(SATURATIONS - 1, Math.floor(s * SATURATIONS)) * VALUES +
        Math.min(VALUES - 1, Math.floor(v * VALUES));
      row[bin] += 1 / area;
      const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      luminance[i] = l;
      const c = cellOf[i];
      cell.lum[c] += l;
      cell.lum2[c] += l * l;
      cell.sat[c] += s;
      cell.sin[c] += s * Math.sin(2 * Math.PI * h);
      cell.cos[c] += s * Math.cos(2 * Math.PI * h);
      if (v < 0.12) black++;
      if (v > 0.9 && s < 0.1) white++;
      lumSum += l;
      lum2Sum += l * l;
      const rg = r - g;
      const yb = 0.5 * (r + g) - b;
      rgSum += rg;
      rg2Sum += rg * rg;
      ybSum += yb;
      yb2Sum += yb * yb;
    }
    let edgeCount = 0;
    for (let y = 1; y < size - 1; y++) {
      for (let x = 1; x < size - 1; x++) {
        const at = (dy: number, dx: number) => luminance[(y + dy) * size + x + dx];
        const gx = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1);
        const gy = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1);
        if (Math.hypot(gx, gy) / 4 > EDGE_THRESHOLD) {
          edgeCount++;
          cell.edges[cellOf[y * size + x]]++;
        }
      }
    }
    let at = HUES * SATURATIONS * VALUES;
    for (let c = 0; c < cells; c++) {
      const n = cellPixels[c];
      const mean = cell.lum[c] / n;
      row[at++] = mean;
      row[at++] = Math.sqrt(Math.max(0, cell.lum2[c] / n - mean * mean));
      row[at++] = cell.sat[c] / n;
      row[at++] = cell.sin[c] / n;
      row[at++] = cell.cos[c] / n;
      row[at++] = cell.edges[c] / n;
    }
    const spread = (sum: number, sum2: number) => Math.sqrt(Math.max(0, sum2 / area - (sum / area) ** 2));
    const rgMean = rgSum / area;
    const ybMean = ybSum / area;
    row[at++] = Math.hypot(spread(rgSum, rg2Sum), spread(ybSum, yb2Sum)) + 0.3 * Math.hypot(rgMean, ybMean);
    row[at++] = black / area;
    row[at++] = white / area;
    row[at++] = lumSum / area;
    row[at++] = spread(lumSum, lum2Sum);
    row[at++] = edgeCount / ((size - 2) * (size - 2));
  }
  return out;
}

export interface Standardisation {
  mean: number[];
  scale: number[];
}

/** Mean and spread of each column over the given rows (a constant column gets spread 1). */
export function fitStandardisation(values: Float64Array, columns: number, rows: readonly number[]): Standardisation {
  const mean = new Array<number>(columns).fill(0);
  const scale = new Array<number>(columns).fill(0);
  for (const r of rows) for (let j = 0; j < columns; j++) mean[j] += values[r * columns + j] / rows.length;
  for (const r of rows) for (let j = 0; j < columns; j++) scale[j] += (values[r * columns + j] - mean[j]) ** 2 / rows.length;
  return { mean, scale: scale.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

/** The given rows, standardised (rows × columns, row-major). */
export function standardise(values: Float64Array, columns: number, rows: readonly number[], s: Standardisation): Float64Array {
  const out = new Float64Array(rows.length * columns);
  rows.forEach((r, i) => {
    for (let j = 0; j < columns; j++) out[i * columns + j] = (values[r * columns + j] - s.mean[j]) / s.scale[j];
  });
  return out;
}
