import { decodeFitsStamp } from '../../../datasets/index.ts';
import { encode } from 'fast-png';

export type Stretch = 'zscale' | 'asinh' | 'linear';

/** Display limits by IRAF's zscale: a line fitted to the sorted sample, with rejection, scaled by 1/contrast. */
export function zscaleLimits(pixels: Float32Array, contrast = 0.25, maxSamples = 1000, rejectSigma = 2.5, iterations = 5): [number, number] {
  const finite: number[] = [];
  const stride = Math.max(1, Math.floor(pixels.length / maxSamples));
  for (let i = 0; i < pixels.length; i += stride) if (Number.isFinite(pixels[i])) finite.push(pixels[i]);
  if (finite.length === 0) return [0, 1];
  const s = Float64Array.from(finite).sort();
  const n = s.length;
  const lo = s[0];
  const hi = s[n - 1];
  if (n < 5) return [lo, hi];
  const median = n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  const keep = new Uint8Array(n).fill(1);
  let slope = 0;
  let intercept = median;
  for (let it = 0; it < iterations; it++) {
    let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let i = 0; i < n; i++) if (keep[i]) {
      sw++; sx += i; sy += s[i]; sxx += i * i; sxy += i * s[i];
    }
    // IRAF stops when fewer than half the samples (or 5) survive rejection.
    if (sw < Math.max(5, n / 2)) break;
    const det = sw * sxx - sx * sx;
    if (det === 0) break;
    slope = (sw * sxy - sx * sy) / det;
    intercept = (sy - slope * sx) / sw;
    let ss = 0;
    for (let i = 0; i < n; i++) if (keep[i]) ss += (s[i] - (intercept + slope * i)) ** 2;
    const sigma = Math.sqrt(ss / sw);
    let rejected = 0;
    for (let i = 0; i < n; i++) if (keep[i] && Math.abs(s[i] - (intercept + slope * i)) > rejectSigma * sigma) {
      keep[i] = 0;
      rejected++;
    }
    if (rejected === 0) break;
  }
  const center = (n - 1) / 2;
  const z1 = Math.max(lo, median - (center * slope) / contrast);
  const z2 = Math.min(hi, median + ((n - 1 - center) * slope) / contrast);
  return z1 < z2 ? [z1, z2] : [lo, hi];
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const x = q * (sorted.length - 1);
  const i = Math.floor(x);
  return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/** Pixel values mapped to [0, 1] by the stretch; NaN stays NaN (masked pixels). */
export function stretchPixels(pixels: Float32Array, stretch: Stretch): Float32Array {
  const out = new Float32Array(pixels.length);
  let z1: number;
  let z2: number;
  if (stretch === 'zscale') [z1, z2] = zscaleLimits(pixels);
  else {
    const s = Float64Array.from(pixels.filter(Number.isFinite)).sort();
    z1 = percentile(s, 0.005);
    z2 = percentile(s, 0.995);
  }
  const range = z2 > z1 ? z2 - z1 : 1;
  // asinh with a softening of a tenth of the range: faint structure visible, bright cores not saturated.
  const beta = 0.1;
  const norm = Math.asinh(1 / beta);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (!Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    const x = Math.min(1, Math.max(0, (v - z1) / range));
    out[i] = stretch === 'asinh' ? Math.asinh(x / beta) / norm : x;
  }
  return out;
}

/**
 * A FITS stamp as a grey PNG: stretched, magnified `scale` times (nearest neighbour, so pixels stay
 * pixels), north up as FITS stores the first row at the bottom; masked pixels are dark red.
 */
export function cutoutPng(fits: Uint8Array, stretch: Stretch, source: string, scale = 4): Buffer {
  const img = decodeFitsStamp(fits, source);
  const v = stretchPixels(img.data, stretch);
  const W = img.width * scale;
  const H = img.height * scale;
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
    const p = v[y * img.width + x];
    const g = Math.round(255 * p);
    const c = Number.isNaN(p) ? [110, 0, 0] : [g, g, g];
    // FITS row 1 is the bottom of the image
    const py = (img.height - 1 - y) * scale;
    for (let a = 0; a < scale; a++) for (let b = 0; b < scale; b++) rgb.set(c, ((py + b) * W + x * scale + a) * 3);
  }
  return Buffer.from(encode({ width: W, height: H, data: rgb, channels: 3, depth: 8 }));
}
