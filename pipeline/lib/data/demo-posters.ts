/**
 * The demo dataset's posters: 150 x 300 RGB images drawn from each film's genres' cues
 * (./demo-cues.ts): colour bands, motifs, sometimes a decoy, a title band and pixel noise.
 */
import { pick, randomInt, shuffled, type Random } from '../core/random.ts';
import type { CourseworkGenre } from './csv.ts';
import { DEMO_CUES, DRAWABLE_GENRES, type DemoCue, type DemoGenre, type Motif, type Rgb } from './demo-cues.ts';

export const POSTER_WIDTH = 150;
export const POSTER_HEIGHT = 300;

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * A 150 x 300 RGB poster: a band of each of the film's genre background colours (in random order,
 * blended where they meet), each genre's motif in its accent colour over a random region (85% of the
 * time), sometimes a decoy motif of another genre, a title band with blocky "letters", and pixel noise.
 */
export function renderPoster(genres: readonly CourseworkGenre[], random: Random): Uint8Array {
  const W = POSTER_WIDTH;
  const H = POSTER_HEIGHT;
  const img = new Float32Array(W * H * 3);
  const jitter = (c: Rgb, amount: number): Rgb => [c[0] + (random() * 2 - 1) * amount, c[1] + (random() * 2 - 1) * amount, c[2] + (random() * 2 - 1) * amount];
  const cues = shuffled(genres as DemoGenre[], random).map((genre) => DEMO_CUES[genre]);

  // Background: a band per genre colour, blended over BLEND rows where two meet; occasionally a
  // colour is replaced by a random one.
  const stops = cues.map((c) => (random() < 0.04 ? ([random() * 255, random() * 255, random() * 255] as Rgb) : jitter(c.background, 12)));
  const brightness = 0.9 + random() * 0.2;
  const band = H / stops.length;
  const BLEND = 24;
  for (let y = 0; y < H; y++) {
    const i = Math.min(stops.length - 1, Math.floor(y / band));
    const into = y - i * band; // rows into band i
    const toNext = i < stops.length - 1 ? Math.max(0, into - (band - BLEND / 2)) / BLEND : 0;
    const fromPrevious = i > 0 ? Math.max(0, BLEND / 2 - into) / BLEND : 0;
    const a = fromPrevious > 0 ? stops[i - 1] : stops[i];
    const b = fromPrevious > 0 ? stops[i] : (stops[i + 1] ?? stops[i]);
    const f = fromPrevious > 0 ? 1 - fromPrevious : toNext;
    const shade = brightness * (1.08 - 0.16 * (y / H));
    const r = (a[0] * (1 - f) + b[0] * f) * shade;
    const g = (a[1] * (1 - f) + b[1] * f) * shade;
    const bl = (a[2] * (1 - f) + b[2] * f) * shade;
    for (let p = y * W * 3; p < (y + 1) * W * 3; p += 3) {
      img[p] = r;
      img[p + 1] = g;
      img[p + 2] = bl;
    }
  }

  const layer = (c: DemoCue, alpha: number, scale: number) => {
    const w = Math.round(W * (0.6 + random() * 0.4) * scale);
    const h = Math.round(H * (0.35 + random() * 0.35) * scale);
    const region = { x: randomInt(random, W - w + 1), y: randomInt(random, H - h + 1), w, h };
    const inside = motifMask(c.motif, region, random);
    const color = jitter(c.accent, 20);
    const keep = 1 - alpha;
    const [r, g, b] = color.map((v) => v * alpha);
    for (let y = region.y; y < region.y + region.h; y++) {
      for (let x = region.x; x < region.x + region.w; x++) {
        if (!inside(x - region.x, y - region.y)) continue;
        const p = (y * W + x) * 3;
        img[p] = img[p] * keep + r;
        img[p + 1] = img[p + 1] * keep + g;
        img[p + 2] = img[p + 2] * keep + b;
      }
    }
  };
  for (const c of cues) if (random() < 0.85) layer(c, 0.3 + random() * 0.3, 0.9);
  if (random() < 0.1) {
    const decoys = DRAWABLE_GENRES.filter((genre) => !genres.includes(genre));
    layer(DEMO_CUES[pick(random, decoys)], 0.25 + random() * 0.2, 0.6);
  }

  // Title band with blocky letters, at the top or the bottom.
  if (random() < 0.8) {
    const bandH = 26 + randomInt(random, 22);
    const top = random() < 0.5 ? 6 + randomInt(random, 10) : H - bandH - 6 - randomInt(random, 10);
    const dark = random() < 0.5;
    const band: Rgb = dark ? [15, 15, 20] : [240, 238, 230];
    const ink: Rgb = dark ? [240, 235, 220] : [20, 20, 25];
    // letterBottom[x]: the row where the letter covering column x ends (0 where there is none).
    const letterBottom = new Int32Array(W);
    for (let x = 10; x < W - 14;) {
      const w = 4 + randomInt(random, 6);
      if (random() < 0.85) letterBottom.fill(top + bandH - 6 - randomInt(random, 6), x, x + w);
      x += w + 2 + (random() < 0.15 ? 6 : 0);
    }
    for (let y = top; y < top + bandH; y++) {
      for (let x = 4; x < W - 4; x++) {
        const p = (y * W + x) * 3;
        const c = y >= top + 6 && y < letterBottom[x] ? ink : band;
        for (let k = 0; k < 3; k++) img[p + k] = img[p + k] * 0.25 + c[k] * 0.75;
      }
    }
  }

  // Pixel noise (an inline xorshift32, seeded from `random`: 135,000 draws per poster), then clamp.
  const out = new Uint8Array(W * H * 3);
  const noise = (6 + random() * 8) / 2147483648;
  let state = (random() * 4294967296) | 1;
  for (let p = 0; p < out.length; p++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const v = img[p] + state * noise; // state is a signed 32-bit integer: noise in [-amount, amount)
    out[p] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
  }
  return out;
}

/** The motif as an inside-test on region coordinates; its parameters are drawn from `random`. */
function motifMask(motif: Motif, region: Region, random: Random): (x: number, y: number) => boolean {
  const p = 10 + randomInt(random, 12);
  const off = randomInt(random, p);
  const mod = (v: number, m: number) => v - Math.floor(v / m) * m;
  const cx = region.w * (0.25 + random() * 0.5);
  const cy = region.h * (0.25 + random() * 0.5);
  switch (motif) {
    case 'diagonal':
      return (x, y) => mod(x + y + off, p) < p * 0.45;
    case 'antidiagonal':
      return (x, y) => mod(x - y + off, p) < p * 0.45;
    case 'hstripes':
      return (_x, y) => mod(y + off, p) < p / 2;
    case 'vstripes':
      return (x, _y) => mod(x + off, p) < p / 2;
    case 'triangles': {
      const s = p * 2;
      return (x, y) => {
        const t = mod(y, s) / s;
        return Math.abs(mod(x + off, s) - s / 2) <= (t * s) / 2;
      };
    }
    case 'zigzag':
      return (x, y) => mod(y + Math.abs(mod(x + off, p) - p / 2), p) < p * 0.4;
    case 'dots': {
      const r2 = (p * 0.28) ** 2;
      return (x, y) => (mod(x + off, p) - p / 2) ** 2 + (mod(y, p) - p / 2) ** 2 < r2;
    }
    case 'circles': {
      const circles = Array.from({ length: 3 + randomInt(random, 4) }, () => ({
        x: random() * region.w,
        y: random() * region.h,
        r2: (8 + random() * 16) ** 2,
      }));
      return (x, y) => circles.some((c) => (x - c.x) ** 2 + (y - c.y) ** 2 < c.r2);
    }
    case 'rings':
      return (x, y) => mod(Math.hypot(x - cx, y - cy) + off, p) < p / 2;
    case 'checker':
      return (x, y) => ((Math.floor((x + off) / p) + Math.floor(y / p)) & 1) === 0;
    case 'grid':
      return (x, y) => mod(x + off, p) < 3 || mod(y, p) < 3;
    case 'bars': {
      const heights = Array.from({ length: Math.ceil(region.w / p) + 1 }, () => region.h * (0.2 + random() * 0.8));
      return (x, y) => mod(x, p) < p * 0.6 && region.h - y < heights[Math.floor(x / p)];
    }
    case 'waves': {
      const amplitude = 3 + random() * 5;
      const length = 20 + random() * 20;
      return (x, y) => mod(y + amplitude * Math.sin((2 * Math.PI * x) / length) + off, p) < p / 2;
    }
    case 'diamonds':
      return (x, y) => Math.abs(mod(x + off, p) - p / 2) + Math.abs(mod(y, p) - p / 2) < p * 0.35;
    case 'starburst': {
      const rays = 8 + randomInt(random, 8);
      return (x, y) => mod((Math.atan2(y - cy, x - cx) / (2 * Math.PI)) * rays + off / p, 1) < 0.5;
    }
    case 'disc': {
      const r2 = (25 + random() * 25) ** 2;
      return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 < r2;
    }
    case 'frame': {
      const t = 5 + randomInt(random, 5);
      return (x, y) => {
        const edge = Math.min(x, y, region.w - 1 - x, region.h - 1 - y);
        return edge < t || (edge >= 2 * t && edge < 2 * t + 3);
      };
    }
    case 'crosses':
      return (x, y) => {
        const dx = Math.abs(mod(x + off, p) - p / 2);
        const dy = Math.abs(mod(y, p) - p / 2);
        return (dx < p * 0.12 && dy < p * 0.4) || (dy < p * 0.12 && dx < p * 0.4);
      };
  }
}
